"""Typed DataFrames of a resource's list: the resource reader behind :func:`milekit.frame`.

>>> import milekit
>>> with milekit.Sandbox(tasks=40) as sb:
...     client = milekit.Client(sb.token, sb.url, limiter="process")
...     df = milekit.tasks_frame(client=client, status="DONE", progress=False)
...     client.close()
>>> df.index.name, str(df["startTime"].dtype), set(df["status"])
('_id', 'datetime64[us, UTC]', {'DONE'})

:func:`read_resource` reads every page (:mod:`milekit.reads.pages`) with the columns its
plan says (:mod:`milekit.reads.plan`), one row per id, and remembers the snapshot that
``diff``/``push`` compare edits against; an interrupted read keeps what arrived and can be
resumed. The frame's custom-column map is read back by :func:`custom_columns`.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from milekit import errors
from milekit.errors import UsageError
from milekit.reads.filters import encode_filters
from milekit.reads.pages import iter_pages
from milekit.reads.plan import PlanAhead, ReadPlan, frame_attrs
from milekit.reads.snapshots import remember
from milekit.reads.table import Out, ReadOptions, gc_paused, may_repeat, one_per_id
from milekit.types import registry, schema
from milekit.types.kinds import KINDS
from milekit.types.registry import ResourceSpec, RowSchema
from milekit.wire.context import get_client
from milekit.wire.paging import CPU_WORKERS
from milekit.wire.response import Page


def read_resource(name: str, options: ReadOptions) -> Any:
    """Every row of resource ``name`` matching ``options.filters``, as ``options.out``
    says (:func:`milekit.frame` of a resource's name; a :class:`~milekit.reads.table.Reader`).

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     hubs = read_resource("hubs", ReadOptions(Out("arrow"), client=c, progress=False))
    >>> hubs.column_names[0]
    '_id'
    """
    spec = registry.get(name)
    params = encode_filters(spec.query, spec.rows, dict(options.filters), spec.custom)
    limit, out, resume = options.limit, options.out, options.resume
    earlier: list[Page] = []
    if resume is not None:
        params, limit, earlier = _resumed(spec, params, limit, resume)
    client = options.client or get_client()
    ahead = PlanAhead(spec, params, client)
    with gc_paused():
        pages = list(earlier)
        try:
            for p in iter_pages(
                spec.listing, spec.rows, params, client=client, progress=options.progress,
                limit=limit, cells=out.cells, plan=ahead, resume=resume, lookahead=None,
            ):  # fmt: skip
                if p.table.num_columns:
                    pages.append(p)
        except errors.IncompleteReadError as e:
            e.partial = _assemble(spec, params, ahead, pages, out)
            e.state = _ReadState(spec.name, params, limit, pages)
            raise
        return _assemble(spec, params, ahead, pages, out)


@dataclass(frozen=True)
class _ReadState:
    """What an interrupted read had: its filters, page size and the pages received."""

    resource: str
    params: dict[str, str]
    limit: int | None
    pages: list[Page]


def _resumed(
    spec: ResourceSpec,
    params: dict[str, str],
    limit: int | None,
    resume: errors.IncompleteReadError,
) -> tuple[dict[str, str], int | None, list[Page]]:
    """The filters, page size and pages of the read ``resume`` ends."""
    state = getattr(resume, "state", None)
    if not isinstance(resume, errors.IncompleteReadError) or not isinstance(state, _ReadState):
        raise UsageError("resume= takes the IncompleteReadError of an earlier milekit.frame()")
    if state.resource != spec.name:
        raise UsageError(f"resume= is a read of {state.resource}, not of {spec.name}")
    if params and params != state.params:
        raise UsageError(
            f"resume= continues a read with other filters ({state.params}); give the same "
            "filters or none"
        )
    if limit is not None and limit != state.limit:
        raise UsageError(f"resume= continues a read of limit={state.limit}")
    return dict(state.params), state.limit, list(state.pages)


def _assemble(
    spec: ResourceSpec,
    params: Mapping[str, str],
    ahead: PlanAhead,
    pages: list[Page],
    out: Out,
) -> Any:
    """The typed frame (or table) of ``pages`` (in page order; repeated ids dropped)."""
    pages = sorted(pages, key=lambda p: p.number)
    plan = ahead.plan()
    ahead.warn()
    rows = plan.rows
    tables = [p.table for p in pages]
    table = schema.unify(tables) if tables else plan.empty()
    if not out.cells:
        attrs = frame_attrs(spec, params, plan, table.column_names)
        return out.arrow(one_per_id(table, rows.id_field), spec.name, attrs, spec.id_field)
    cells = schema.join_cells(tables, [p.cells for p in pages], table.schema)
    with ThreadPoolExecutor(
        CPU_WORKERS if table.num_rows >= _PARALLEL_ROWS else 1, "milekit-frame"
    ) as pool:
        # the id check (Arrow, outside the GIL) runs beside the column conversions
        repeat = pool.submit(may_repeat, table, rows.id_field)
        df = schema.to_pandas(table, index=rows.id_field, cells=cells, pool=pool)
        repeats = repeat.result()
    if rows.id_field in (df.index.name,) and repeats and df.index.has_duplicates:
        # offset pagination shifts while data changes: a row can come twice
        df = df[~df.index.duplicated(keep="first")]
    df.attrs["milekit"] = _attrs(spec, params, plan, df)
    remember(df, table, spec)  # the snapshot milekit.diff/push compare edits against
    return out.shaped(df, rows)


#: frames from this many rows on are converted column by column on all cores
_PARALLEL_ROWS = 20_000


def _attrs(
    spec: ResourceSpec, params: Mapping[str, str], plan: ReadPlan, df: pd.DataFrame
) -> dict[str, Any]:
    return frame_attrs(spec, params, plan, df.columns)


def custom_columns(df: pd.DataFrame) -> dict[str, list[str]]:
    """The custom columns of each group of a frame: each flow's component columns in a
    tasks frame, each data type's field columns in a data-source frame.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=30) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False, flow="Pickup")
    >>> milekit.custom_columns(df)
    {'Pickup': ['senderName', 'parcelCount', 'pickupNotes']}
    """
    meta = df.attrs.get("milekit") or {}
    got = meta.get("custom_columns")
    if got is None:
        raise UsageError(
            "this frame has no custom-column map: it was not read by milekit.frame() from "
            "tasks or data (or the map was lost on the way)"
        )
    return {g: list(cols) for g, cols in got.items()}


def flow_columns(df: pd.DataFrame) -> dict[str, list[str]]:
    """{flow name: its component columns} of a tasks frame (the map is kept in
    ``df.attrs``; the flows' definitions come from ``GET /flows``).

    >>> import milekit
    >>> with milekit.Sandbox(tasks=60) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False)
    >>> delivery = milekit.flow_columns(df)["Delivery"]
    >>> delivery[:3]
    ['receiverName', 'receiverPhone', 'packageWeight']
    """
    meta = df.attrs.get("milekit") or {}
    spec = registry.RESOURCES.get(str(meta.get("resource")))
    if spec is None or spec.custom is not registry.FLOW_COMPONENTS:
        raise UsageError("flow_columns() needs a tasks frame read by milekit (tasks_frame())")
    return custom_columns(df)


def dtypes_of(rows: RowSchema) -> dict[str, str]:
    """The pandas dtype each documented field gets (for docs and tests).

    >>> tasks = registry.TASKS.rows
    >>> dtypes_of(tasks)["startTime"], dtypes_of(tasks)["assignee"]
    ('datetime64[us, UTC]', 'object')
    """
    return {f.name: str(KINDS[f.type].dtype) for f in rows.fields}
