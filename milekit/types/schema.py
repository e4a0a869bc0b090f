"""API data types -> Arrow -> pandas, applied from the registry: a page's rows typed into
an Arrow table (the Python path, :func:`rows_to_table`, and the fast path,
:class:`PageParser`), pages unified, and the frame made (:mod:`milekit.types.dtypes`).
What each API type is in Arrow and pandas is its row in :data:`milekit.types.kinds.KINDS`.

>>> import pandas as pd
>>> import milekit.types.schema as S
>>> from milekit.types.registry import TASKS
>>> rows = [{"_id": "a", "status": "DONE", "startTime": "2024-10-07 07:44:18", "eta": "8:34"},
...         {"_id": "b", "startTime": "2024-10-07T14:44:18.000+07:00", "eta": "08:34:00"}]
>>> df = S.to_pandas(S.rows_to_table(rows, TASKS.rows), index="_id")
>>> df["startTime"].tolist() == [pd.Timestamp("2024-10-07 07:44:18", tz="UTC")] * 2
True
>>> df["eta"].iloc[0] == df["eta"].iloc[1], str(df["status"].dtype)
(True, 'category')

The Arrow schema is the canonical typed form: frames are built from it, Parquet files
store it, and every field carries its API type in field metadata (``b"milekit"``), so
``milekit.read_parquet`` rebuilds exactly the dtypes ``tasks_frame()`` returns.

=================  ==========================  ===================================
API type           Arrow                       pandas
=================  ==========================  ===================================
String             string                      ``string`` (pd.NA)
Integer            int64                       ``Int64``
Float              float64                     ``Float64``
Boolean            bool                        ``boolean``
Datetime           timestamp[us, UTC]          ``datetime64[us, UTC]``
Time               time64[us]                  ``time64[us][pyarrow]``
Date               date32                      ``date32[day][pyarrow]``
Enum               dictionary<int32, string>   ``category`` (documented values first)
Array of String    list<string>                object: Python ``list`` (None if missing)
Object / Array     struct / list<struct>       object: ``dict`` / ``list`` of dicts
JSON (free-form)   string (JSON text)          object: decoded Python values
=================  ==========================  ===================================

Rules: every documented Datetime spelling is parsed (``Y-m-d H:i:s`` naive = UTC, ISO 8601
with any offset, ms or µs, ``Z``; epoch seconds or milliseconds); ``08:00`` and
``08:00:00`` are the same Time. A value that does not fit its documented type never
disappears: the column falls back to the narrowest type that holds every value (at worst
text) and a :class:`MileTypeWarning` says so. Columns the registry does not know (custom
flow fields) are inferred once per column: bool, int, float, text, list or object —
never a column of mixed Python types.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from milekit.errors import MileWarning
from milekit.types.dtypes import (
    cell_values,
    column_to_pandas,
    enum_ordered,
    from_pandas,
    join_cells,
    json_cells,
    none_for_na,
    pandas_metadata,
    python_cells,
    series_to_arrow,
    to_pandas,
    to_python,
)
from milekit.types.kinds import KINDS, META, field_meta, meta_of
from milekit.types.limits import PageLimitError, check_page, page_number
from milekit.types.parse import (
    has_empty_struct,
    infer,
    json_text,
    parse_datetimes,
    parse_time,
    parse_times,
    texts,
)
from milekit.types.registry import PAGE_ROWS, Field, FieldType, Listing, RowSchema

_SLOWER = "pages take Arrow's JSON reader: the same frames, about twice the CPU"
try:  # the page decoder in C (setup.py): optional, pages take Arrow's reader without it
    from milekit.types import _pagejson

    #: Whether pages go through the C page decoder (``milekit.types._pagejson``): built,
    #: and not turned off with ``MILEKIT_NATIVE=0`` (an escape hatch; same frames).
    NATIVE = os.environ.get("MILEKIT_NATIVE", "1") != "0"
    _NOT_NATIVE = "turned off with MILEKIT_NATIVE=0"
except ImportError as e:  # pragma: no cover - a build without a C compiler
    NATIVE = False
    _NOT_NATIVE = f"not built ({e}): the install had no C compiler"

__all__ = [  # the typing's names, wherever they live (parse, dtypes, kinds)
    "META",
    "NATIVE",
    "FastPathMiss",
    "MileTypeWarning",
    "Misfit",
    "PageParser",
    "cell_values",
    "column_to_pandas",
    "conform",
    "convert",
    "enum_ordered",
    "field_meta",
    "from_pandas",
    "infer",
    "join_cells",
    "meta_of",
    "native_status",
    "none_for_na",
    "pandas_metadata",
    "parse_datetimes",
    "parse_time",
    "parse_times",
    "python_cells",
    "rows_to_table",
    "series_to_arrow",
    "to_pandas",
    "to_python",
    "typed_nulls",
    "unified_schema",
    "unify",
]

F = FieldType


def native_status() -> tuple[bool, str]:
    """Whether pages go through the C page decoder, and why not when they do not (the
    extension was not built, or ``MILEKIT_NATIVE=0``): what ``milekit.show_versions()``
    reports. Without it pages take Arrow's JSON reader: the same frames, about 2x the CPU.

    >>> active, why = native_status()
    >>> active == NATIVE and (why == "") == NATIVE
    True
    """
    return (True, "") if NATIVE else (False, _NOT_NATIVE)


class MileTypeWarning(MileWarning):
    """A column's values did not fit its documented type; it was kept in a wider one."""


#: Told (column name, message) when a column's values do not fit its documented type:
#: by default a :class:`MileTypeWarning` each time; a :class:`PageParser` warns once per
#: column per read (:meth:`PageParser.misfit`).
Misfit = Callable[[str, str], None]


def convert(
    values: Sequence[Any] | pa.Array, f: Field, misfit: Misfit | None = None
) -> tuple[pa.Array, FieldType]:
    """Values of a documented field -> (Arrow array, the API type it ended up as).

    Values that do not fit the field's type are kept in the narrowest type that holds them
    all, and ``misfit`` is told (default: a :class:`MileTypeWarning`).

    >>> from milekit.types.registry import Field
    >>> said = []
    >>> arr, got = convert([1, "two"], Field("n", F.INTEGER), lambda *a: said.append(a[0]))
    >>> arr.to_pylist(), got, said
    (['1', 'two'], <FieldType.STRING: 'String'>, ['n'])
    """
    t = f.type
    try:
        return KINDS[t].parse(values)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as e:
        arr, got = infer(values.to_pylist() if isinstance(values, pa.Array) else values)
        message = f"column {f.name!r}: values do not fit {t.value} ({e}); kept as {got.value}"
        if misfit is None:
            warnings.warn(message, MileTypeWarning, stacklevel=3)
        else:
            misfit(f.name, message)
        return arr, got


@functools.lru_cache(maxsize=1024)
def typed_nulls(f: Field | None, n: int) -> tuple[pa.Array, FieldType]:
    """``n`` nulls of a column, typed as its field says (an unknown column: untyped text),
    the same on every parse path; made once per field and length (Arrow arrays are
    immutable, and pages repeat them: typing 70 columns of nulls costs ~8 ms a page).

    >>> from milekit.types.registry import Field
    >>> [str(typed_nulls(Field("t", ft), 2)[0].type) for ft in (F.DATETIME, F.OBJECT)]
    ['timestamp[us, tz=UTC]', 'null']
    """
    if f is None:
        return pa.nulls(n), F.STRING
    if KINDS[f.type].raw is None:  # no values to tell their keys (or their JSON type)
        return pa.nulls(n), f.type
    return convert([None] * n, f)


def rows_to_table(
    rows: Sequence[dict[str, Any]],
    schema: RowSchema,
    columns: Iterable[str] | None = None,
    misfit: Misfit | None = None,
) -> pa.Table:
    """One page of API rows -> an Arrow table typed by the registry.

    Columns: the documented fields present in the rows (in registry order), then the
    undocumented ones (custom flow fields) in order of first appearance. ``columns``
    forces a set (e.g. a ``fields=`` projection), present or not. ``misfit``: see
    :func:`convert`.
    """
    present: dict[str, None] = {}
    for r in rows:
        present.update(dict.fromkeys(r))
    if columns is not None:
        present.update(dict.fromkeys(columns))
    names = [n for n in schema.field_names if n in present]
    names += [n for n in present if n not in schema]
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    forced = set(columns or ())
    for name in names:
        values = [r.get(name) for r in rows]
        f = schema.get(name)
        if f is not None and all(v is None for v in values):
            if name not in forced:
                continue  # documented, and null on every row of this page: nothing to type
            arr, got = typed_nulls(f, len(values))
        elif f is not None:
            arr, got = convert(values, f, misfit)
        else:
            arr, got = infer(values)
        enum = f.enum if f is not None and got == F.ENUM else ()
        arrays.append(arr)
        fields.append(pa.field(name, arr.type, metadata=field_meta(got, enum)))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# --- the fast path: Arrow's JSON reader on the raw page -------------------------------------

#: The documented fields a page reader reads with their raw JSON type (the others: inferred)
_RAW: dict[FieldType, pa.DataType] = {t: k.raw for t, k in KINDS.items() if k.raw is not None}


def _hint(kind: str) -> int:
    """The C decoder's code for a hint kind (``STRING`` -> ``_pagejson.KIND_STRING``)."""
    return int(getattr(_pagejson, f"KIND_{kind}"))


#: why a page was not decoded in C: no decoder, or text yyjson does not take as JSON (its
#: second pass then counted the brackets only: the page limits check the rest)
_NO_DECODER, _NOT_JSON = "no decoder", "not JSON"


class FastPathMiss(Exception):
    """This page cannot go through Arrow's JSON reader; use the Python path.

    ``checked``: the page already passed :func:`~milekit.types.limits.check_page`.
    """

    def __init__(self, why: str, checked: bool = False) -> None:
        super().__init__(why)
        self.checked = checked


def _detimestamp(t: pa.DataType) -> pa.DataType:
    """The same type with every (inferred) timestamp replaced by string."""
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(c.name, _detimestamp(c.type)) for c in t])
    if pa.types.is_list(t):
        return pa.list_(_detimestamp(t.value_type))
    return t


def _has_timestamp(t: pa.DataType) -> bool:
    return bool(_detimestamp(t) != t)


class PageParser:
    """Parses raw list pages into typed Arrow tables, without Python objects per value.

    The C decoder (``_pagejson``, yyjson) reads the page into Arrow columns; what it
    refuses, and every page on an install without it, goes to Arrow's JSON reader (C++).
    Both release the GIL. Documented fields are read with their raw JSON types and typed
    with Arrow compute; the rest are inferred. Arrow's reader would infer date-like text
    as timestamps (dropping the original spelling), so such columns are re-read as text;
    the set of those is learnt once per parser and shared by the threads. A row field
    whose values do not fit one column (its JSON type changes within the page, a value of
    another type than documented) costs that field alone: the decoder hands it over as
    JSON text and it is typed from its values, as the Python path types it. Anything
    neither takes (a row that is not an object, an unexpected envelope) raises
    :class:`FastPathMiss`.

    A parser serves one read: a column whose values do not fit its documented type is
    told once per read (one :class:`MileTypeWarning` per column, :meth:`misfit`).
    """

    def __init__(
        self,
        schema: RowSchema,
        listing: Listing,
        columns: Iterable[str] | None = None,
        native: bool = NATIVE,
    ) -> None:
        self.schema = schema
        self.listing = listing
        self.columns = list(columns) if columns is not None else None
        self.native = native and NATIVE
        self._all = {f.name: f for f in schema.fields}
        self._known = {n: f for n, f in self._all.items() if f.type in _RAW}
        # a projection's pages hold its columns: the decoder is told those alone (4 fields
        # of 1,000 tasks decode in 0.3 ms, not the 1.1 ms of 56 more columns of nulls);
        # a documented field the server sends beyond them is inferred, then typed alike
        told = set(self.columns) if self.columns is not None else self._known
        self._hints = (
            tuple((n, _hint(KINDS[f.type].native)) for n, f in self._known.items() if n in told)
            if self.native
            else ()
        )
        self._text: dict[str, pa.DataType] = {}
        self._lock = threading.Lock()
        self._read_schema: pa.Schema | None = None  #: built once per change of ``_text``
        self._fields: dict[tuple[str, pa.DataType, FieldType, tuple[str, ...]], pa.Field] = {}
        self._warned: set[str] = set()

    def misfit(self, name: str, message: str) -> None:
        """A :class:`MileTypeWarning` for column ``name``, the first time in this read."""
        with self._lock:
            if name in self._warned:
                return
            self._warned.add(name)
        warnings.warn(message, MileTypeWarning, stacklevel=2)

    def _schema(self) -> pa.Schema:
        with self._lock:
            if self._read_schema is None:
                fields = [pa.field(n, _RAW[f.type]) for n, f in self._known.items()]
                fields += [pa.field(n, t) for n, t in self._text.items() if n not in self._known]
                rows = pa.list_(pa.struct(fields))
                envelope = pa.struct([(PAGE_ROWS, rows)])
                self._read_schema = pa.schema([pa.field(self.listing.envelope, envelope)])
            return self._read_schema

    def parse(self, content: bytes) -> tuple[pa.Table, int | None, int | None]:
        """Raw page bytes -> (typed table, total, last_page).

        A page the C decoder refuses has been held to the page limits by the decoder
        itself (its second pass); without the decoder, a page passes
        :func:`~milekit.types.limits.check_page` before Arrow's reader (or the caller's
        Python path) is given it. A page that breaks a limit raises
        :class:`~milekit.types.limits.PageLimitError`.
        """
        if self.listing.shape != "laravel" or not self.listing.envelope:
            raise FastPathMiss("not a Laravel paginator")
        got = self._decode(content) if self.native else _NO_DECODER
        if isinstance(got, str):  # refused: why
            if got in (_NO_DECODER, _NOT_JSON):  # the decoder did not read it through
                check_page(content)
            elif not content.lstrip()[:1] == b"{":  # (a `null` body kills Arrow's reader)
                raise PageLimitError("the answer is not a JSON object")
            got = (*self._read(content), ())
        rows, total, last, demoted = got
        table = self._typed(rows, demoted)
        return table, page_number(total, "total"), page_number(last, "last_page")

    def _decode(self, content: bytes) -> tuple[pa.Table, Any, Any, tuple[str, ...]] | str:
        """The C decoder's raw table (and the fields it left as JSON text), or why it
        refuses the page."""
        try:
            caps = _pagejson.decode(content, self.listing.envelope, PAGE_ROWS, self._hints)
        except _pagejson.PageError as e:
            raise PageLimitError(str(e)) from None  # no reader may have it
        except ValueError as e:
            return str(e)  # Arrow's reader decides: it takes some pages this decoder refuses
        try:
            batch = pa.RecordBatch._import_from_c_capsule(caps[0], caps[1])
        except pa.ArrowException as e:  # the decoder's depth limit keeps this away
            raise PageLimitError(f"a page Arrow cannot import ({e})") from None
        return pa.Table.from_batches([batch]), caps[2], caps[3], caps[4]

    def _read(self, content: bytes) -> tuple[pa.Table, Any, Any]:
        """Arrow's JSON reader's raw table (date-like text kept as text)."""
        for _ in range(3):
            try:
                env = self._envelope(content)
                rows = pa.Table.from_struct_array(env.field(PAGE_ROWS).flatten())
            except pa.ArrowException as e:
                # refusals, and the reader's own slips: a list of objects whose first item
                # is null and whose numbers widen fails to concatenate (pyarrow 26)
                raise FastPathMiss(str(e), checked=True) from None
            stamped = {
                f.name: _detimestamp(f.type)
                for f in rows.schema
                if f.name not in self._known and _has_timestamp(f.type)
            }
            if not stamped:
                return rows, _scalar(env, "total"), _scalar(env, "last_page")
            with self._lock:
                self._text.update(stamped)
                self._read_schema = None
        raise FastPathMiss("timestamp inference did not settle", checked=True)

    def _envelope(self, content: bytes) -> pa.StructArray:
        import pyarrow.json as pj

        raw = pj.read_json(
            pa.BufferReader(content),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(content) + 64),
            parse_options=pj.ParseOptions(explicit_schema=self._schema(), newlines_in_values=True),
        )
        if raw.num_rows != 1:
            raise FastPathMiss("more than one JSON document", checked=True)
        env = raw.column(self.listing.envelope).combine_chunks()
        if not pa.types.is_struct(env.type) or env.null_count:
            raise FastPathMiss("no paginator", checked=True)
        if env.field(PAGE_ROWS).null_count:
            raise FastPathMiss("no data list", checked=True)
        return env

    def _field(self, name: str, t: pa.DataType, got: FieldType, enum: Sequence[str]) -> pa.Field:
        """The typed column's field, made once per parser (pages repeat them)."""
        key = (name, t, got, tuple(enum))
        f = self._fields.get(key)
        if f is None:
            f = self._fields[key] = pa.field(name, t, metadata=field_meta(got, enum))
        return f

    def _typed(self, rows: pa.Table, demoted: Sequence[str] = ()) -> pa.Table:
        known = self._all
        forced = set(self.columns or ())
        misfit = self.misfit
        arrays: list[pa.Array] = []
        fields: list[pa.Field] = []
        have = set(rows.column_names)
        order = [n for n in self.schema.field_names if n in have or n in forced]
        order += [n for n in rows.column_names if n not in known]
        order += [n for n in self.columns or () if n not in have and n not in known]
        batched = {n: f for n, f in known.items() if n not in demoted} if demoted else known
        together = _convert_together(rows, batched, forced)
        for name in order:
            f = known.get(name)
            if name not in have:
                arr, got = typed_nulls(f, rows.num_rows)
            elif name in demoted:  # JSON text: typed from its values, as the Python path does
                values = json_cells(rows.column(name))
                if f is None:
                    arr, got = infer(values)
                elif any(v is not None for v in values):
                    arr, got = convert(values, f, misfit)
                else:  # pragma: no cover - a field is demoted by a value
                    arr, got = typed_nulls(f, rows.num_rows)
            else:
                chunked = rows.column(name)
                col = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
                if f is None:
                    arr, got = _kind_of_inferred(col)
                elif col.null_count < len(col):
                    arr, got = together[name] if name in together else _type_arrow(col, f, misfit)
                elif name in forced:
                    arr, got = typed_nulls(f, rows.num_rows)
                else:
                    continue  # documented, null on every row, not asked for: nothing to type
            enum = f.enum if f is not None and got == F.ENUM else ()
            arrays.append(arr)
            fields.append(self._field(name, arr.type, got, enum))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


#: The kinds whose text columns a page converts in one pass (:func:`_convert_together`)
_BATCHED = tuple(k for k in KINDS.values() if k.batched)


def _convert_together(
    rows: pa.Table, known: Mapping[str, Field], forced: set[str]
) -> dict[str, tuple[pa.Array, FieldType]]:
    """The text columns of each batched API type (Datetime, Time) converted in one Arrow
    pass over all of them: one call's fixed cost instead of one per column (a task page
    has eight datetime columns). On any failure nothing is returned for that type, and
    each column is converted alone (with its own fallback and warning).

    >>> t = pa.table({"a": ["2024-01-01 00:00:00", None], "b": ["2024-01-01T07:00:00+07:00", None]})
    >>> from milekit.types.registry import Field
    >>> got = _convert_together(t, {n: Field(n, F.DATETIME) for n in "ab"}, set())
    >>> got["a"][0].equals(got["b"][0]), got["a"][1]
    (True, <FieldType.DATETIME: 'Datetime'>)
    """
    out: dict[str, tuple[pa.Array, FieldType]] = {}
    for kind in _BATCHED:
        ftype = kind.type
        cols: dict[str, pa.Array] = {}
        for name in rows.column_names:
            f = known.get(name)
            if f is None or f.type != ftype:
                continue
            col = rows.column(name).combine_chunks()
            if pa.types.is_string(col.type) and (name in forced or col.null_count < len(col)):
                cols[name] = col
        if len(cols) < 2:
            continue
        try:
            typed, _ = kind.parse(pa.concat_arrays(list(cols.values())))
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, OverflowError):
            continue
        at = 0
        for name, col in cols.items():
            out[name] = (typed.slice(at, len(col)), ftype)
            at += len(col)
    return out


def _scalar(struct: pa.StructArray, name: str) -> Any:
    try:
        return struct.field(name)[0].as_py()
    except KeyError:
        return None


def _type_arrow(
    col: pa.Array, f: Field, misfit: Misfit | None = None
) -> tuple[pa.Array, FieldType]:
    """A documented field read by Arrow (raw JSON type) -> its typed array."""
    t = f.type
    kind = KINDS[t]
    if kind.json_text and pa.types.is_nested(col.type):
        # Arrow read free-form objects as structs, filling every row with every key any
        # row has: the original objects are lost. Only the Python path keeps them.
        raise FastPathMiss(f"{f.name}: free-form JSON objects", checked=True)
    if kind.raw is None:  # the values tell the type: structs, lists of them, JSON
        arr, got = _kind_of_inferred(col, json=kind.json_text)
        if got == F.ARRAY_STRING:  # as convert() types them: lists are lists of objects
            return arr, F.ARRAY_OBJECT
        if not KINDS[got].cells:  # text, numbers (note 51): JSON
            return json_text(col.to_pylist()), F.JSON
        return arr, got
    if kind.arrow != kind.raw:  # read as text: typed now
        return convert(col, f, misfit)
    return col, t


def _kind_of_inferred(col: pa.Array, json: bool = False) -> tuple[pa.Array, FieldType]:
    t = col.type
    if pa.types.is_null(t):
        return col, F.JSON if json else F.STRING
    if json or has_empty_struct(t):
        return json_text(col.to_pylist()), F.JSON
    if pa.types.is_struct(t):
        return col, F.OBJECT
    if pa.types.is_list(t):
        return col, F.ARRAY_STRING if pa.types.is_string(t.value_type) else F.ARRAY_OBJECT
    if pa.types.is_boolean(t):
        return col, F.BOOLEAN
    if pa.types.is_integer(t):
        return col.cast(pa.int64()), F.INTEGER
    if pa.types.is_floating(t):
        return col.cast(pa.float64()), F.FLOAT
    if pa.types.is_string(t):
        return col, F.STRING
    return texts(col.to_pylist()), F.STRING


# --- many pages -> one table ---------------------------------------------------------------

_WIDEN = {
    frozenset({F.INTEGER, F.FLOAT}): F.FLOAT,
}


def unify(tables: Sequence[pa.Table]) -> pa.Table:
    """Concatenate page tables whose column sets/types may differ (a custom field that is
    all-null on one page, an object with an extra key on another)."""
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({})
    target = unified_schema([t.schema for t in tables])
    return pa.concat_tables([conform(t, target) for t in tables])


def unified_schema(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The schema that holds every page: the column union, each column's widest type."""
    order: dict[str, list[pa.Field]] = {}
    for s in _distinct(schemas):
        for f in s:
            order.setdefault(f.name, []).append(f)
    out: list[pa.Field] = []
    for name, fs in order.items():
        out.append(_unify_field(name, fs))
    return pa.schema(out)


def _distinct(schemas: Sequence[pa.Schema]) -> list[pa.Schema]:
    """``schemas`` without repeats (metadata included), in order of first appearance:
    the pages of one read mostly share one schema (a comparison costs well under a
    microsecond; a schema's hash, 30).

    >>> a = pa.schema([pa.field("x", pa.int64(), metadata={b"t": b"1"})])
    >>> b = pa.schema([pa.field("x", pa.int64(), metadata={b"t": b"2"})])
    >>> [s is a for s in _distinct([a, a, b, a.remove(0), b])]
    [True, False, False]
    """
    out: list[pa.Schema] = []
    for s in schemas:
        if not any(s.equals(d, check_metadata=True) for d in out):
            out.append(s)
    return out


def _unify_field(name: str, fs: list[pa.Field]) -> pa.Field:
    # A page where the column is entirely null has no say in its type.
    fs = [f for f in fs if not pa.types.is_null(f.type)] or fs[:1]
    kinds: list[tuple[FieldType | None, list[str]]] = [meta_of(f) for f in fs]
    types = {f.type for f in fs}
    ftypes = {k[0] for k in kinds}
    enum = next((k[1] for k in kinds if k[1]), [])
    if len(types) == 1 and len(ftypes) == 1:
        return fs[0]
    ft = next(iter(ftypes)) if len(ftypes) == 1 else None
    if ft is None:
        ft = _WIDEN.get(frozenset(x for x in ftypes if x is not None))
    at = KINDS[ft].arrow if ft is not None and not KINDS[ft].cells else None
    if ft is not None and at is not None:
        if ft == F.ENUM:
            return pa.field(name, at, metadata=field_meta(ft, enum))
        return pa.field(name, at, metadata=field_meta(ft))
    try:
        s = pa.unify_schemas(
            [pa.schema([pa.field(name, f.type)]) for f in fs], promote_options="permissive"
        )
        t = s.field(name).type
        if ft is None or KINDS[ft].cells:
            kind = F.ARRAY_OBJECT if pa.types.is_list(t) else F.OBJECT
            if pa.types.is_list(t) and pa.types.is_string(t.value_type):
                kind = F.ARRAY_STRING
            if not has_empty_struct(t) and (pa.types.is_struct(t) or pa.types.is_list(t)):
                return pa.field(name, t, metadata=field_meta(kind))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    if all(k[0] is None or KINDS[k[0]].cells for k in kinds):
        return pa.field(name, pa.string(), metadata=field_meta(F.JSON))
    return pa.field(name, pa.string(), metadata=field_meta(F.STRING))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast/extend one page table to ``schema`` (missing columns become nulls)."""
    if table.schema.equals(schema, check_metadata=True):
        return table
    have_fields = {f.name: (i, f) for i, f in enumerate(table.schema)}
    arrays = []
    n = table.num_rows
    for f in schema:
        got = have_fields.get(f.name)
        if got is None:
            arrays.append(pa.nulls(n, f.type))
            continue
        i, hf = got
        col = table.column(i)
        if hf.equals(f, check_metadata=True):
            arrays.append(col)
            continue
        have, _ = meta_of(hf)
        want, _ = meta_of(f)
        if col.type == f.type and have == want:
            arrays.append(col)
        elif want is not None and KINDS[want].json_text and have != want:
            arrays.append(json_text(col.to_pylist()))
        elif want == F.STRING and not pa.types.is_string(col.type):
            arrays.append(texts(col.to_pylist()))
        else:
            arrays.append(pc.cast(col, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
