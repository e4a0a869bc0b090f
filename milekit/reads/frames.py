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

import gc
import numbers
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, overload

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit import errors
from milekit.errors import MileWarning, UsageError
from milekit.notebook.progress import page_progress
from milekit.reads import custom
from milekit.reads import flat as _flat
from milekit.reads.filters import encode_filters, unknown_fields
from milekit.reads.snapshots import remember
from milekit.types import limits, registry, schema
from milekit.types.kinds import KINDS
from milekit.types.registry import CustomFields, Listing, ResourceSpec, RowSchema
from milekit.wire import envelope
from milekit.wire.client import Client
from milekit.wire.context import get_client
from milekit.wire.paging import CPU_WORKERS
from milekit.wire.response import Page, Response

#: the metadata key of the frame's ``df.attrs["milekit"]`` in a table or a file's footer
#: (its snapshot token left out)
ATTRS_KEY = b"milekit.attrs"
#: the metadata key of the resource a table or file holds
RESOURCE_KEY = b"milekit.resource"
#: what a read returns (``frame(to=...)``)
Output = Literal["pandas", "arrow", "polars"]
#: how a pandas frame holds its columns (``frame(dtype_backend=...)``)
Backend = Literal["numpy_nullable", "pyarrow"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a frame's cells are built.

    A big read creates millions of lists and dicts (list and object cells) and none of
    them in a reference cycle: the collector would re-scan the growing heap again and
    again for nothing (about a fifth of the CPU of a 200k-row read). Refcounting still
    frees everything as usual; the previous state is restored on exit (objects made
    meanwhile join the oldest generation, unless the process froze objects itself).

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
            if gc.get_freeze_count() == 0:
                # Hand what was allocated meanwhile to the oldest generation (freeze, then
                # unfreeze: two list splices). Re-enabled as it is, the collector would
                # first scan all of it as "young" (~0.15 s for 200k rows) for nothing;
                # in the oldest generation it is looked at by the rare full collections
                # only, and anything cyclic in it is still collected then.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@dataclass(frozen=True)
class ReadPlan:
    """How a list is read: its rows' schema extended by the custom columns (flow
    components, data-type fields), the columns every page must carry, and the definitions
    used.

    >>> plan = ReadPlan(registry.get("hubs").rows, None, None, ())
    >>> plan.rows.name, plan.columns
    ('hubs', None)
    """

    rows: RowSchema
    #: columns forced onto every page: the ``fields=`` projection, else every documented
    #: and custom column (present in the frame even where no row has a value)
    columns: tuple[str, ...] | None
    definitions: custom.Definitions | None
    groups: tuple[str, ...]  #: the flows / data types the filters select

    def empty(self) -> pa.Table:
        """The table of no rows: the columns a read by this plan would have had."""
        return empty_table(self.rows, self.columns)


class DefinitionsWarning(MileWarning):
    """The flows / data types could not be read: custom columns are typed from the data."""


def definitions_or_warn(
    fields: CustomFields, owner: str, client: Client
) -> custom.Definitions | None:
    """The definitions of ``owner``'s custom columns (flows, data types), or None with a
    :class:`DefinitionsWarning` when they cannot be read (the columns are then typed from
    the data)."""
    defs, error = _definitions_or_error(fields, client)
    if error is not None:
        _warn_definitions(owner, error)
    return defs


_UNREADABLE = (errors.ForbiddenError, errors.NotFoundError, errors.ResponseError)


def _definitions_or_error(
    fields: CustomFields, client: Client
) -> tuple[custom.Definitions | None, errors.MileError | None]:
    try:
        return custom.definitions(fields, client), None
    except _UNREADABLE as e:
        return None, e


def _warn_definitions(owner: str, error: errors.MileError) -> None:
    warnings.warn(
        f"{owner}: cannot read the definitions of the custom columns ({error}); "
        "they are typed from the data",
        DefinitionsWarning,
        stacklevel=errors.caller_stacklevel(),
    )


def _needs_definitions(spec: ResourceSpec, projection: tuple[str, ...] | None) -> bool:
    if spec.custom is None:
        return False
    return projection is None or not all(n in spec.rows for n in projection)


def _projection(params: Mapping[str, str]) -> tuple[str, ...] | None:
    return tuple(params["fields"].split(",")) if "fields" in params else None


def check_limit(limit: object) -> None:
    """``limit=`` is rows per page: None (the list's most) or a whole number of at least 1
    (more than the list's ``max_limit`` is lowered to it); else a UsageError, before
    anything is sent.

    >>> check_limit(0)
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: limit= is rows per page, a whole number of at least 1 ...
    """
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
        raise UsageError(
            f"limit= is rows per page, a whole number of at least 1 (default and most: the "
            f"list's maximum), got {limit!r}"
        )


def _check_projection(
    spec: ResourceSpec, projection: tuple[str, ...] | None, defs: custom.Definitions
) -> None:
    """A ``fields=`` name neither documented nor a custom field of any group (flow, data
    type) is a UsageError: the API would leave it out and the column be all nulls."""
    if projection is None:
        return
    names = {n for group in defs.raw.values() for n in group}
    names |= {f.name for group in defs.groups.values() for f in group}
    unknown = [n for n in projection if n not in spec.rows and n not in names]
    if unknown:
        raise UsageError(unknown_fields(spec.rows, unknown, names))


def read_plan(spec: ResourceSpec, params: Mapping[str, str], client: Client) -> ReadPlan:
    """The plan for reading ``spec`` with ``params``: where the resource has custom columns
    (``spec.custom``), those of the selected groups (flows, data types), typed from their
    definitions (one cached ``GET /flows`` / ``GET /data-types``)."""
    if spec.custom is None or not _needs_definitions(spec, _projection(params)):
        return _plan_from(spec, params, None)
    return _plan_from(spec, params, definitions_or_warn(spec.custom, spec.name, client))


def _plan_from(
    spec: ResourceSpec, params: Mapping[str, str], defs: custom.Definitions | None
) -> ReadPlan:
    projection = _projection(params)
    if defs is None or spec.custom is None:
        # unreadable definitions: custom names in a projection are accepted
        return ReadPlan(spec.rows, _every(spec.rows, projection), None, ())
    _check_projection(spec, projection, defs)
    groups = tuple(custom.selected_groups(spec.custom, params, defs))
    rows = spec.rows.extended(defs.fields_for(groups, spec.field_names))
    return ReadPlan(rows, _every(rows, projection), defs, groups)


def _every(rows: RowSchema, projection: tuple[str, ...] | None) -> tuple[str, ...]:
    """The columns every page of a read carries, whatever its rows hold: the ``fields=``
    projection, else every documented and custom field (a quiet day's report has the
    same columns as a busy day's); never a secret."""
    names = list(projection) if projection is not None else list(rows.field_names)
    if rows.id_field and rows.id_field not in names:
        names.insert(0, rows.id_field)
    return tuple(n for n in names if n not in rows.secret_fields)


class PlanAhead:
    """:func:`read_plan` with its definitions request (``GET /flows``) sent beside page
    1's, instead of one round trip before it: the plan is needed only once page 1 is
    parsed. A failed definitions read warns in :meth:`warn`, from the caller's thread.

    A ``fields=`` projection naming undocumented fields is checked against the
    definitions before page 1 is sent (they are read first then): a name that is no
    custom field either is a UsageError.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     ahead = PlanAhead(registry.TASKS, {"flow": "Pickup"}, c)
    ...     ahead.plan().columns[-3:]
    ('senderName', 'parcelCount', 'pickupNotes')
    """

    def __init__(self, spec: ResourceSpec, params: Mapping[str, str], client: Client) -> None:
        self._spec = spec
        self._params = dict(params)
        self._plan: ReadPlan | None = None
        self._error: errors.MileError | None = None
        self._lock = threading.Lock()
        self._future: Future[tuple[custom.Definitions | None, errors.MileError | None]] | None
        self._future = None
        if spec.custom is None or not _needs_definitions(spec, _projection(params)):
            return
        if _projection(params) is not None:  # names to check before a page is sent
            defs, self._error = _definitions_or_error(spec.custom, client)
            self._plan = _plan_from(spec, self._params, defs)
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="milekit-plan")
        self._future = pool.submit(_definitions_or_error, spec.custom, client)
        pool.shutdown(wait=False)

    def plan(self) -> ReadPlan:
        """The plan (waits for the definitions; any thread may ask, once or often)."""
        with self._lock:
            if self._plan is None:
                defs = None
                if self._future is not None:
                    defs, self._error = self._future.result()
                self._plan = _plan_from(self._spec, self._params, defs)
            return self._plan

    def warn(self) -> None:
        """Warn (:class:`DefinitionsWarning`) if the definitions could not be read."""
        if self._error is not None:
            _warn_definitions(self._spec.name, self._error)


def iter_pages(
    listing: Listing,
    rows: RowSchema,
    params: Mapping[str, str],
    *,
    client: Client,
    progress: bool | None = None,
    limit: int | None = None,
    cells: bool = False,
    columns: Sequence[str] | None = None,
    plan: PlanAhead | None = None,
    resume: errors.IncompleteReadError | None = None,
    lookahead: int | None = 256,
) -> Iterator[Page]:
    """Parsed pages of ``listing`` in page order, each typed with ``rows`` (``page.table``)
    in the fetching thread that got it; with ``cells=True`` also the Python values of its
    nested columns.

    ``columns`` are forced onto every page (default: the ``fields=`` projection). With
    ``plan``, the typed rows and the columns are the plan's, taken when page 1 is parsed
    (its definitions are read while page 1 is on the wire). Secret keys
    (``rows.secret_fields``) are dropped from every page before anything else sees them.
    """
    check_limit(limit)
    if columns is None and "fields" in params:
        columns = params["fields"].split(",")
    parsers: list[tuple[schema.PageParser, RowSchema, Sequence[str] | None]] = []
    lock = threading.Lock()

    def parser_for() -> tuple[schema.PageParser, RowSchema, Sequence[str] | None]:
        with lock:
            if not parsers:
                typed, cols = rows, columns
                if plan is not None:
                    p = plan.plan()
                    typed, cols = p.rows, p.columns
                parsers.append((schema.PageParser(typed, listing, cols), typed, cols))
            return parsers[0]

    def parse(resp: Response, number: int) -> Page:
        parser, typed, cols = parser_for()
        page = parse_page(parser, typed, cols, resp.content, number)
        page.table = _drop(page.table, rows.secret_fields)
        if cells:
            page.cells = schema.python_cells(page.table)
        return page

    with page_progress(listing.name, enabled=progress, client=client) as bar:
        yield from client.pages(
            listing, params, limit=limit, parse=parse, on_page=bar, resume=resume,
            lookahead=lookahead,
        )  # fmt: skip


#: What a malformed answer can raise from the readers and converters (a crash of the
#: process is kept out by the page limits, docs/performance.md): each becomes a
#: ResponseError naming the page, so the rest of the read is kept and ``resume=`` works.
_MALFORMED = (
    ValueError, TypeError, ArithmeticError, LookupError, RecursionError, NotImplementedError,
    pa.ArrowException,
)  # fmt: skip


def parse_page(
    parser: schema.PageParser,
    typed: RowSchema,
    columns: Sequence[str] | None,
    content: bytes,
    number: int,
) -> Page:
    """One raw list page -> a typed page, or :class:`~milekit.errors.ResponseError`
    naming the page, whatever the bytes are.

    >>> from milekit.types.registry import TASKS
    >>> parser = schema.PageParser(TASKS.rows, TASKS.listing)
    >>> parse_page(parser, TASKS.rows, None, b"null", 2)
    Traceback (most recent call last):
    ...
    milekit.errors.ResponseError: page 2 of tasks: the answer is not a JSON object
    """
    name = parser.listing.name
    try:
        try:
            table, total, last = parser.parse(content)
            return Page(number, [], total, last, table=table)
        except schema.FastPathMiss as miss:  # Python's path: orjson, then the rows typed
            if not miss.checked:
                limits.check_page(content)
        page = envelope.list_page(orjson.loads(content), parser.listing, number)
        rows = _without(page.rows, typed.secret_fields)
        page.table = schema.rows_to_table(rows, typed, columns, misfit=parser.misfit)
        page.rows = []  # the Arrow copy is all we keep
        return page
    except (errors.MileError, limits.PageLimitError) as e:
        message = e.message if isinstance(e, errors.MileError) else str(e)
        raise errors.ResponseError(f"page {number} of {name}: {message}") from e
    except _MALFORMED as e:
        why = f"{type(e).__name__}: {str(e)[:200]}"
        raise errors.ResponseError(f"page {number} of {name} cannot be read ({why})") from e


def _without(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """``rows`` without the keys ``keys`` (secrets), copied only where they hold one."""
    if not keys:
        return rows
    return [r if not any(k in r for k in keys) else {k: v for k, v in r.items() if k not in keys}
            for r in rows]  # fmt: skip


def _drop(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    gone = [c for c in columns if c in table.column_names]
    return table.drop_columns(gone) if gone else table


def iter_tables(
    spec: ResourceSpec,
    params: Mapping[str, str],
    *,
    client: Client,
    progress: bool | None = None,
    limit: int | None = None,
    plan: ReadPlan | None = None,
) -> Iterator[pa.Table]:
    """Typed Arrow tables of ``spec``'s list, one per page, in page order (parsed in the
    fetching threads); with ``plan``, typed and columned as the plan says."""
    rows, columns = (plan.rows, plan.columns) if plan is not None else (spec.rows, None)
    for page in iter_pages(
        spec.listing, rows, params, client=client, progress=progress, limit=limit,
        columns=columns,
    ):  # fmt: skip
        yield page.table


@overload
def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Literal["pandas"] = "pandas",
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> pd.DataFrame: ...


@overload
def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Literal["arrow"],
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> pa.Table: ...


@overload
def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Literal["polars"],
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> Any: ...


def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Output = "pandas",
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> Any:
    """Every row of ``resource`` matching ``filters``, as a typed DataFrame indexed by id.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     tasks = milekit.frame("tasks", client=c, progress=False)
    ...     hubs = milekit.frame("hubs", client=c, progress=False)
    >>> len(tasks), hubs.index.name, str(hubs["lat"].dtype)
    (5, '_id', 'Float64')

    Args:
        resource: a registry name (``milekit.types.registry.RESOURCES``: ``tasks``, ``hubs``,
            ``users``, ``routing_results`` …); the named helpers (``hubs_frame()`` …) call
            this with their own keyword filters.
        client: default the one from :func:`milekit.use` / the environment.
        progress: a progress bar (default: when in a terminal or notebook).
        limit: rows per request, a whole number of at least 1 (default and maximum: the
            resource's ``max_limit``; more is lowered to it).
        flatten: object columns become ``parent.child`` columns, typed from the registry
            (:func:`milekit.flatten`; :func:`milekit.unflatten` reverses it).
        split_coordinates: ``"lat,lng"`` text columns become float ``<col>.lat`` /
            ``<col>.lng`` columns.
        resume: the :class:`~milekit.errors.IncompleteReadError` of an earlier read of the
            same list: only its missing pages are fetched, and the frame holds every row
            (its filters are the earlier read's; give none, or the same).
        to: ``"pandas"`` (a DataFrame), ``"arrow"`` (a ``pyarrow.Table``, the id a
            column, built without any pandas or Python objects) or ``"polars"`` (a Polars
            DataFrame, from that table without a copy). Views and child tables too
            (a view's index is then the table's first column).
        dtype_backend: ``"numpy_nullable"`` (``Int64``, ``string``, ``category`` …) or
            ``"pyarrow"``: every column an ``ArrowDtype`` over the Arrow table, no copy.
        filters: the resource's list filters, checked before anything is sent. A
            ``fields=`` name the resource does not document is a UsageError, except that
            tasks (and data-source records) also have custom fields: such a name is looked
            up in their definitions (``GET /flows``, read first then, before any page).

    Every documented field gets its registry type (``schema`` module); tasks' custom flow
    columns (and data-source records' data-type fields) are typed from their definitions
    (:func:`flow_columns` gives the columns of each flow); other undocumented keys are
    typed from the data. Secret keys (users' ``personalToken``) are never kept.

    A read survives what a network does to it: every page is retried (any 5xx, 429,
    dropped connections) within the client's time budget, and pages that still fail do
    not stop the others. Then :class:`~milekit.errors.IncompleteReadError` is raised,
    with ``err.partial`` (a frame of every row that did arrive) and ``resume=err`` to
    fetch only the rest.
    """
    check_limit(limit)
    out = Out(to, dtype_backend, flatten, split_coordinates)
    if resource not in registry.RESOURCES and (
        resource in registry.VIEWS or resource in registry.CHILDREN
    ):
        return _other_rows(resource, client, progress, limit, out, resume, filters)
    spec = registry.get(resource)
    params = encode_filters(spec.query, spec.rows, filters, spec.custom)
    earlier: list[Page] = []
    if resume is not None:
        params, limit, earlier = _resumed(spec, params, limit, resume)
    client = client or get_client()
    ahead = PlanAhead(spec, params, client)
    with gc_paused():
        pages = list(earlier)
        try:
            for p in iter_pages(
                spec.listing, spec.rows, params, client=client, progress=progress, limit=limit,
                cells=out.cells, plan=ahead, resume=resume, lookahead=None,
            ):  # fmt: skip
                if p.table.num_columns:
                    pages.append(p)
        except errors.IncompleteReadError as e:
            e.partial = _assemble(spec, params, ahead, pages, out)
            e.state = _ReadState(spec.name, params, limit, pages)
            raise
        return _assemble(spec, params, ahead, pages, out)


def _other_rows(
    name: str,
    client: Client | None,
    progress: bool | None,
    limit: int | None,
    out: Out,
    resume: errors.IncompleteReadError | None,
    filters: dict[str, Any],
) -> Any:
    """:func:`frame` of a view (:func:`milekit.view`) or a child table
    (:func:`milekit.child_frame`), with the same output options."""
    if resume is not None:
        raise UsageError(f"resume= continues a read of a resource's list, not of {name}")
    options: dict[str, Any] = {
        "to": out.to, "dtype_backend": out.backend, "flatten": out.flatten,
        "split_coordinates": out.split_coordinates,
    }  # fmt: skip
    if name in registry.VIEWS:
        if limit is not None:
            raise UsageError(f"{name} is a view: it takes no limit=")
        from milekit.reads.views import view

        return view(name, client=client, progress=progress, **options, **filters)
    from milekit.reads.children import child_frame

    return child_frame(name, client=client, progress=progress, limit=limit, **options, **filters)


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


@dataclass(frozen=True)
class Out:
    """What a read returns: the output kind and how a pandas frame is built; checked
    when made (a bad option is a UsageError before anything is sent). Resources, views
    and child tables all end in :meth:`deliver`.

    >>> Out("arrow").deliver(pa.table({"k": ["a"]}), "me", {"view": "me"}).column_names
    ['k']
    >>> Out("excel")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: to= is 'pandas', 'arrow' or 'polars', not 'excel'
    """

    to: Output = "pandas"
    backend: Backend = "numpy_nullable"
    flatten: bool = False
    split_coordinates: bool = False

    def __post_init__(self) -> None:
        if self.to not in ("pandas", "arrow", "polars"):
            raise UsageError(f"to= is 'pandas', 'arrow' or 'polars', not {self.to!r}")
        if self.backend not in ("numpy_nullable", "pyarrow"):
            raise UsageError(
                f"dtype_backend= is 'numpy_nullable' or 'pyarrow', not {self.backend!r}"
            )
        if self.to != "pandas" and (self.flatten or self.split_coordinates):
            raise UsageError("flatten= and split_coordinates= shape pandas frames: use to='pandas'")

    @property
    def cells(self) -> bool:
        """Whether pages keep Python values of nested columns (numpy-backed pandas only)."""
        return self.to == "pandas" and self.backend == "numpy_nullable"

    def deliver(
        self,
        table: pa.Table,
        name: str,
        attrs: dict[str, Any],
        index: str | None = None,
        rows: RowSchema | None = None,
    ) -> Any:
        """The finished typed ``table`` of ``name`` (a resource, view or child table) as
        asked: a pandas frame indexed by ``index`` with ``attrs``, flattened by ``rows``;
        else :meth:`arrow`."""
        if not self.cells:
            return self.arrow(table, name, attrs, index)
        df = schema.to_pandas(table, index=index)
        df.attrs["milekit"] = attrs
        return self.shaped(df, rows)

    def shaped(self, df: pd.DataFrame, rows: RowSchema | None) -> pd.DataFrame:
        """``df`` flattened as asked (``flatten=``, ``split_coordinates=``)."""
        if not (self.flatten or self.split_coordinates):
            return df
        objects, coordinates = self.flatten, self.split_coordinates
        return _flat.flatten(df, objects=objects, coordinates=coordinates, rows=rows)

    def arrow(self, table: pa.Table, name: str, attrs: dict[str, Any], index: str | None) -> Any:
        """The read as an Arrow table, a Polars frame or an ArrowDtype-backed pandas
        frame (indexed by ``index``); the frame's attrs travel in the table's metadata
        (``milekit.attrs``), its name in ``milekit.resource``."""
        table = table.replace_schema_metadata(
            {RESOURCE_KEY: name.encode(), ATTRS_KEY: orjson.dumps(attrs)}
        )
        if self.to == "arrow":
            return table
        if self.to == "polars":
            try:
                import polars as pl
            except ImportError:
                raise UsageError("to='polars' needs Polars: pip install polars") from None
            return pl.from_arrow(table)
        df = table.to_pandas(types_mapper=pd.ArrowDtype)
        if index is not None and index in df.columns:
            df = df.set_index(index)
        df.attrs["milekit"] = attrs
        return df


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
        repeat = pool.submit(_may_repeat, table, rows.id_field)
        df = schema.to_pandas(table, index=rows.id_field, cells=cells, pool=pool)
        may_repeat = repeat.result()
    if rows.id_field in (df.index.name,) and may_repeat and df.index.has_duplicates:
        # offset pagination shifts while data changes: a row can come twice
        df = df[~df.index.duplicated(keep="first")]
    df.attrs["milekit"] = _attrs(spec, params, plan, df)
    remember(df, table, spec)  # the snapshot milekit.diff/push compare edits against
    return out.shaped(df, rows)


def one_per_id(
    table: pa.Table, id_field: str, keep: Literal["first", "last"] = "first"
) -> pa.Table:
    """``table`` with one row per id, the ``keep`` one of each (offset pagination while the
    data changes repeats rows; the lists of one sync run overlap); the order is kept.

    >>> t = pa.table({"_id": ["a", "b", "a"], "n": [1, 2, 3]})
    >>> [one_per_id(t, "_id", keep)["n"].to_pylist() for keep in ("first", "last")]
    [[1, 2], [2, 3]]
    """
    if id_field not in table.column_names or not _may_repeat(table, id_field):
        return table
    ids = table.column(id_field).to_pylist()
    order = range(len(ids)) if keep == "first" else range(len(ids) - 1, -1, -1)
    seen: set[Any] = set()
    chosen = []
    for i in order:
        if ids[i] not in seen:
            seen.add(ids[i])
            chosen.append(i)
    return table.take(pa.array(sorted(chosen), pa.int64()))


#: frames from this many rows on are converted column by column on all cores
_PARALLEL_ROWS = 20_000


def _may_repeat(table: pa.Table, column: str) -> bool:
    """Could ``column`` hold a value twice? Arrow's hash count answers "no" for a 200k-row
    read in a fifth of the time pandas takes to build the index's hash table.

    >>> [_may_repeat(pa.table({"_id": ids}), "_id") for ids in (["a", "b"], ["a", "a"])]
    [False, True]
    """
    if column not in table.column_names:
        return True
    return bool(pc.count_distinct(table.column(column), mode="all").as_py() != table.num_rows)


def empty_table(rows: RowSchema, columns: Sequence[str] | None = None) -> pa.Table:
    """The typed table of a list without rows: every documented (or asked-for) column.

    >>> t = empty_table(registry.get("hubs").rows)
    >>> t.num_rows, t.schema.field("lat").type
    (0, DataType(double))
    """
    names = list(columns) if columns is not None else [*rows.field_names]
    if rows.id_field and rows.id_field not in names:
        names.insert(0, rows.id_field)
    names = [n for n in names if n not in rows.secret_fields]
    return schema.rows_to_table([], rows, names)


def _attrs(
    spec: ResourceSpec, params: Mapping[str, str], plan: ReadPlan, df: pd.DataFrame
) -> dict[str, Any]:
    return frame_attrs(spec, params, plan, df.columns)


def frame_attrs(
    spec: ResourceSpec, params: Mapping[str, str], plan: ReadPlan, columns: Iterable[str]
) -> dict[str, Any]:
    """``df.attrs["milekit"]`` of a frame of ``columns`` read with ``params`` (a file
    written by export() keeps it, and ``milekit.read_parquet`` gives it back)."""
    columns = list(columns)
    out: dict[str, Any] = {"resource": spec.name, "filters": dict(params)}
    out.update(custom_attrs(spec, plan.definitions, plan.groups, columns))
    coords = [c for c in columns if (f := plan.rows.get(c)) and _flat.is_coordinate(f)]
    if coords:
        out["coordinate_columns"] = coords
    return out


def custom_attrs(
    spec: ResourceSpec,
    defs: custom.Definitions | None,
    groups: Sequence[str],
    columns: Iterable[str],
) -> dict[str, Any]:
    """``group_by`` and the custom-column map of a frame of ``spec`` (none without custom
    columns; an empty map when no definitions were read)."""
    if spec.custom is None:
        return {}
    if defs is None:
        return {"group_by": spec.custom.group_by, "custom_columns": {}}
    return {
        "group_by": defs.group_by,
        "custom_columns": custom.column_map(defs, groups, columns, spec.field_names),
    }


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
