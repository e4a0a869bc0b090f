"""A list's pages, fetched concurrently and each typed in the thread that fetched it.

>>> import milekit
>>> from milekit.types import registry
>>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
...     tables = list(iter_tables(registry.TASKS, {}, client=c, progress=False, limit=2))
>>> [t.num_rows for t in tables]
[2, 2, 1]

:func:`iter_pages` is what every list read is built on (a resource's, a paged view's,
export's and sync's): :meth:`~milekit.wire.client.Client.pages` fetches, :func:`parse_page`
types each page (the C decoder, else orjson and the Python path) or names it in a
:class:`~milekit.errors.ResponseError`; secret keys never leave the page.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa

from milekit import errors
from milekit.errors import UsageError
from milekit.notebook.progress import page_progress
from milekit.reads.plan import PlanAhead, ReadPlan
from milekit.types import limits, schema
from milekit.types.registry import Listing, ResourceSpec, RowSchema
from milekit.wire import envelope
from milekit.wire.client import Client, Page, Response
from milekit.wire.paging import LOOKAHEAD


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
    lookahead: int | None = LOOKAHEAD,
    expect: int | None = None,
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
            lookahead=lookahead, expect=expect,
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
    plan: ReadPlan | PlanAhead | None = None,
    lookahead: int | None = LOOKAHEAD,
    expect: int | None = None,
) -> Iterator[pa.Table]:
    """Typed Arrow tables of ``spec``'s list, one per page, in page order (parsed in the
    fetching threads); with ``plan``, typed and columned as the plan says (a
    :class:`PlanAhead` is waited for only once page 1 is on the wire). ``lookahead``:
    pages fetched at most ahead of the one the caller takes next, ``expect`` the pages an
    earlier read had (both :meth:`milekit.wire.client.Client.pages`'s)."""
    ahead = plan if isinstance(plan, PlanAhead) else None
    rows, columns = (plan.rows, plan.columns) if isinstance(plan, ReadPlan) else (spec.rows, None)
    for page in iter_pages(
        spec.listing, rows, params, client=client, progress=progress, limit=limit,
        columns=columns, plan=ahead, lookahead=lookahead, expect=expect,
    ):  # fmt: skip
        yield page.table
