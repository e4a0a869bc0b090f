"""Typed DataFrames from list endpoints.

>>> import milekit
>>> with milekit.Sandbox(tasks=40) as sb:
...     client = milekit.Client(sb.token, sb.url, limiter="process")
...     df = milekit.tasks_frame(client=client, status="DONE", progress=False)
...     client.close()
>>> df.index.name, str(df["startTime"].dtype), set(df["status"])
('_id', 'datetime64[us, UTC]', {'DONE'})
"""

from __future__ import annotations

import datetime as dt
import difflib
import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from milekit import envelope, registry, schema
from milekit.client import Client, Page, Response
from milekit.context import get_client
from milekit.diff import remember
from milekit.errors import UsageError
from milekit.progress import page_progress
from milekit.registry import FieldType, ResourceSpec

_TIME_PARAMS = {"timeFrom", "timeTo", "dateFrom", "dateTo", "startDate", "endDate"}


def encode_filters(spec: ResourceSpec, filters: Mapping[str, Any]) -> dict[str, str]:
    """Validate and encode list filters; raise :class:`UsageError` before anything is sent.

    >>> encode_filters(registry.TASKS, {"status": "done", "flow": ["Delivery", "Pickup"],
    ...     "timeFrom": dt.datetime(2026, 9, 1, 7, tzinfo=dt.timezone(dt.timedelta(hours=7)))})
    {'status': 'DONE', 'flow': 'Delivery,Pickup', 'timeFrom': '2026-09-01 00:00:00'}
    >>> encode_filters(registry.TASKS, {"stauts": "DONE"})
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: unknown filter for tasks: 'stauts' (did you mean 'status'?); ...
    """
    problems: list[str] = []
    out: dict[str, str] = {}
    for key, value in filters.items():
        if key not in spec.filters:
            hint = difflib.get_close_matches(key, list(spec.filters), n=1)
            problems.append(
                f"unknown filter for {spec.name}: {key!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
            continue
        if value is None:
            continue
        try:
            out[key] = _encode_value(spec, key, value)
        except (TypeError, ValueError) as e:
            problems.append(f"{key}: {e}")
    if problems:
        known = ", ".join(sorted(spec.filters))
        raise UsageError("; ".join(problems) + f"; known filters: {known}")
    return out


def _encode_value(spec: ResourceSpec, key: str, value: Any) -> str:
    if key in _TIME_PARAMS:
        return _encode_time(value)
    if key == "fields":
        names = value.split(",") if isinstance(value, str) else list(value)
        names = [n.strip() for n in names if n.strip()]
        if spec.id_field not in names:
            names.insert(0, spec.id_field)
        return ",".join(names)
    if key == "sortOrder" or key == "sort_order":
        v = str(value).lower()
        if v not in ("asc", "desc"):
            raise ValueError(f"must be 'asc' or 'desc', got {value!r}")
        return v
    if key == "timeBy":
        allowed = ("createdTime", "startTime", "doneTime")
        if value not in allowed:
            raise ValueError(f"must be one of {allowed}, got {value!r}")
        return str(value)
    if key == "status" and "status" in spec._by_name and spec.field("status").enum:
        enum = spec.field("status").enum
        values = [value] if isinstance(value, str) else list(value)
        up = [str(v).strip().upper() for v in values]
        bad = [v for v, u in zip(values, up, strict=True) if u not in enum]
        if bad:
            raise ValueError(f"must be one of {', '.join(enum)}, got {bad[0]!r}")
        return ",".join(up)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"unsupported value {value!r}")


def _encode_time(value: Any) -> str:
    """Datetimes and strings -> 'Y-m-d H:i:s' in UTC (naive values are taken as UTC)."""
    if isinstance(value, str):
        try:
            ts = pd.Timestamp(value)
        except ValueError:
            raise ValueError(f"not a date/time: {value!r}") from None
    elif isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        ts = pd.Timestamp(value)
    else:
        raise TypeError(f"expected a datetime or 'Y-m-d H:i:s' string, got {value!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return str(ts.strftime("%Y-%m-%d %H:%M:%S"))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a frame's cells are built.

    A big read creates millions of lists and dicts (list and object cells) and none of
    them in a reference cycle: the collector would re-scan the growing heap again and
    again for nothing (about a fifth of the CPU of a 200k-row read). Refcounting still
    frees everything as usual; the previous state is restored on exit.

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def iter_pages(
    spec: ResourceSpec,
    params: Mapping[str, str],
    *,
    client: Client,
    progress: bool | None = None,
    limit: int | None = None,
    cells: bool = False,
) -> Iterator[Page]:
    """Parsed pages in page order, each typed (``page.table``) in the fetching thread that
    got it; with ``cells=True`` also the Python values of its nested columns."""
    columns = params["fields"].split(",") if "fields" in params else None
    parser = schema.PageParser(spec, columns)

    def parse(resp: Response, number: int) -> Page:
        try:
            table, total, last = parser.parse(resp.content)
            page = Page(number, [], total, last, response=resp, table=table)
        except schema.FastPathMiss:
            body = orjson.loads(resp.content) if resp.content else None
            page = envelope.list_page(body, spec, number)
            page.table = schema.rows_to_table(page.rows, spec, columns)
            page.rows = []  # the Arrow copy is all we keep
            page.response = resp
        if cells:
            page.cells = schema.python_cells(page.table)
        return page

    with page_progress(spec.name, enabled=progress, client=client) as bar:
        yield from client.pages(spec, params, limit=limit, parse=parse, on_page=bar)


def iter_tables(
    spec: ResourceSpec,
    params: Mapping[str, str],
    *,
    client: Client,
    progress: bool | None = None,
    limit: int | None = None,
) -> Iterator[pa.Table]:
    """Typed Arrow tables, one per page, in page order (parsed in the fetching threads)."""
    for page in iter_pages(spec, params, client=client, progress=progress, limit=limit):
        yield page.table


def frame(
    resource: str = "tasks",
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Every row of ``resource`` matching ``filters``, as a typed DataFrame indexed by id.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     len(milekit.frame("tasks", client=c, progress=False))
    5
    """
    spec = registry.get(resource)
    params = encode_filters(spec, filters)
    client = client or get_client()
    with gc_paused():
        pages = [
            p
            for p in iter_pages(
                spec, params, client=client, progress=progress, limit=limit, cells=True
            )
            if p.table.num_columns
        ]
        tables = [p.table for p in pages]
        table = schema.unify(tables)
        cells = schema.join_cells(tables, [p.cells for p in pages], table.schema)
        df = schema.to_pandas(table, index=spec.id_field, cells=cells)
    if spec.id_field in (df.index.name,) and df.index.has_duplicates:
        # offset pagination shifts while data changes: a row can come twice
        df = df[~df.index.duplicated(keep="first")]
    df.attrs["milekit"] = {"resource": spec.name, "filters": dict(params)}
    remember(df, table, spec.name)  # the snapshot milekit.diff/push compare edits against
    return df


def tasks_frame(
    *,
    client: Client | None = None,
    progress: bool | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Every task (matching ``filters``) as a typed DataFrame indexed by ``_id``.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=20) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False, fields=["title", "status"])
    >>> list(df.columns), df.index.name
    (['title', 'status'], '_id')

    Filters (validated before any request): ``status``, ``hubId``, ``flow``, ``flowId``,
    ``assignee``, ``doneBy``, ``routingResultId``, ``active``, ``isVisit``, ``timeBy`` with
    ``timeFrom``/``timeTo`` (strings or datetimes; naive = UTC), ``fields`` (list or CSV),
    ``sortBy``, ``sortOrder``.
    """
    return frame("tasks", client=client, progress=progress, **filters)


def dtypes_of(spec: ResourceSpec) -> dict[str, str]:
    """The pandas dtype each documented field gets (for docs and tests).

    >>> dtypes_of(registry.TASKS)["startTime"], dtypes_of(registry.TASKS)["assignee"]
    ('datetime64[us, UTC]', 'object')
    """
    names = {
        FieldType.STRING: "string",
        FieldType.INTEGER: "Int64",
        FieldType.FLOAT: "Float64",
        FieldType.BOOLEAN: "boolean",
        FieldType.DATETIME: "datetime64[us, UTC]",
        FieldType.TIME: "time64[us][pyarrow]",
        FieldType.DATE: "date32[day][pyarrow]",
        FieldType.ENUM: "category",
    }
    return {f.name: names.get(f.type, "object") for f in spec.fields}
