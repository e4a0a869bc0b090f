"""API data types -> Arrow -> pandas: one table per direction, applied from the registry.

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

import datetime as dt
import functools
import itertools
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit.errors import MileWarning
from milekit.types.limits import PageLimitError, check_page, page_number
from milekit.types.registry import PAGE_ROWS, Field, FieldType, Listing, RowSchema

try:  # the page decoder in C (setup.py): optional, pages take Arrow's reader without it
    from milekit.types import _pagejson

    #: Whether pages go through the C page decoder (``milekit.types._pagejson``): built,
    #: and not turned off with ``MILEKIT_NATIVE=0`` (an escape hatch; same frames).
    NATIVE = os.environ.get("MILEKIT_NATIVE", "1") != "0"
except ImportError:  # pragma: no cover - a build without a C compiler
    NATIVE = False

F = FieldType
META = b"milekit"

_SCALAR_ARROW: dict[FieldType, pa.DataType] = {
    F.STRING: pa.string(),
    F.INTEGER: pa.int64(),
    F.FLOAT: pa.float64(),
    F.BOOLEAN: pa.bool_(),
    F.DATETIME: pa.timestamp("us", tz="UTC"),
    F.TIME: pa.time64("us"),
    F.DATE: pa.date32(),
    F.ENUM: pa.dictionary(pa.int32(), pa.string()),
    F.ARRAY_STRING: pa.list_(pa.string()),
    F.JSON: pa.string(),
}

_PANDAS_MAPPER: dict[pa.DataType, Any] = {
    pa.string(): pd.StringDtype("pyarrow", na_value=pd.NA),
    pa.large_string(): pd.StringDtype("pyarrow", na_value=pd.NA),
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.time64("us"): pd.ArrowDtype(pa.time64("us")),
    pa.date32(): pd.ArrowDtype(pa.date32()),
}

_NESTED = (F.OBJECT, F.ARRAY_OBJECT, F.ARRAY_STRING, F.JSON)
_EMPTY: np.ndarray[Any, Any] = np.empty(0, dtype=object)


class MileTypeWarning(MileWarning):
    """A column's values did not fit its documented type; it was kept in a wider one."""


#: Told (column name, message) when a column's values do not fit its documented type:
#: by default a :class:`MileTypeWarning` each time; a :class:`PageParser` warns once per
#: column per read (:meth:`PageParser.misfit`).
Misfit = Callable[[str, str], None]


def field_meta(ftype: FieldType, enum: Sequence[str] = ()) -> dict[bytes, bytes]:
    return {META: orjson.dumps({"type": ftype.value, "enum": list(enum)})}


def meta_of(f: pa.Field) -> tuple[FieldType | None, list[str]]:
    """The API type recorded on an Arrow field (None for a foreign file)."""
    raw = (f.metadata or {}).get(META)
    if raw is None:
        return None, []
    ft, enum = _meta(raw)
    return ft, list(enum)


@functools.lru_cache(maxsize=1024)
def _meta(raw: bytes) -> tuple[FieldType, tuple[str, ...]]:
    d = orjson.loads(raw)
    return FieldType(d["type"]), tuple(d.get("enum") or ())


# --- values -> Arrow ---------------------------------------------------------------------

_HAS_ZONE = r"(Z|z|[+-]\d{2}:?\d{2})$"
_NAIVE = pa.timestamp("us")


def parse_datetimes(values: Sequence[Any] | pa.Array) -> pa.Array:
    """Every documented Datetime spelling -> ``timestamp[us, UTC]`` (naive = UTC).

    >>> parse_datetimes(["2022-07-13 03:16:40", "2022-07-13T10:16:40.000+07:00", None,
    ...                  1657682200, 1657682200000]).to_pylist()[0] == \
            dt.datetime(2022, 7, 13, 3, 16, 40, tzinfo=dt.timezone.utc)
    True
    """
    target = _SCALAR_ARROW[F.DATETIME]
    if isinstance(values, pa.Array):
        if pa.types.is_timestamp(values.type):
            return (
                values.cast(pa.timestamp("us")).cast(target)
                if values.type.tz is None
                else values.cast(target)
            )
        if not pa.types.is_string(values.type) and not pa.types.is_null(values.type):
            return _parse_mixed_datetimes(values.to_pylist())
        arr = values.cast(pa.string())
    else:
        if any(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return _parse_mixed_datetimes(values)
        arr = pa.array(values, pa.string())
    # Arrow's ISO-8601 cast reads zoned text only into a zoned type and naive text (space or
    # 'T', bare dates, minutes) only into a naive one: split by a zone test, never by a
    # failing cast (an Arrow cast error costs ~1 ms, twenty times a cast of 1000 values).
    zoned = pc.match_substring_regex(arr, _HAS_ZONE)
    n_zoned = pc.sum(zoned).as_py() or 0
    try:
        if n_zoned == len(arr) - arr.null_count:
            return pc.cast(arr, target)
        naive = pc.cast(pc.if_else(zoned, None, arr) if n_zoned else arr, _NAIVE).cast(target)
        if not n_zoned:
            return naive
        return pc.if_else(zoned, pc.cast(pc.if_else(zoned, arr, None), target), naive)
    except pa.ArrowInvalid:
        return _parse_mixed_datetimes(arr.to_pylist())


def _parse_mixed_datetimes(values: Sequence[Any]) -> pa.Array:
    out: list[Any] = []
    for v in values:
        if v is None or v == "":
            out.append(None)
        elif isinstance(v, bool):
            raise ValueError(f"not a datetime: {v!r}")
        elif isinstance(v, int | float):
            seconds = v / 1000 if abs(v) >= 1e11 else v  # epoch ms vs s (note 6)
            out.append(pd.Timestamp(seconds, unit="s", tz="UTC"))
        else:
            ts = pd.Timestamp(str(v))
            out.append(ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"))
    return pa.array(out, _SCALAR_ARROW[F.DATETIME])


_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*$")


@functools.lru_cache(maxsize=4096)
def _parse_time_text(v: str) -> dt.time:
    m = _TIME.match(v)
    if not m:
        raise ValueError(f"not a time of day: {v!r}")
    h, mi, s, frac = m.groups()
    micro = int((frac or "0").ljust(6, "0"))
    return dt.time(int(h), int(mi), int(s or 0), micro)


def parse_time(v: Any) -> dt.time | None:
    """``"8:00"``, ``"08:00"``, ``"08:00:00"``, ``"08:00:00.5"`` -> a time of day.

    >>> parse_time("8:05"), parse_time("08:05:00") == parse_time("8:05")
    (datetime.time(8, 5), True)
    """
    if v is None or v == "":
        return None
    if isinstance(v, dt.time):
        return v
    return _parse_time_text(str(v))


@functools.lru_cache(maxsize=16384)
def _time_micros(v: str) -> int:
    t = _parse_time_text(v)
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def parse_times(values: Sequence[Any] | pa.Array) -> pa.Array:
    """Time-of-day text -> ``time64[us]``; each distinct spelling is parsed once.

    >>> parse_times(["08:00", "8:00:00", "", None]).to_pylist()
    [datetime.time(8, 0), datetime.time(8, 0), None, None]
    """
    if isinstance(values, pa.Array):
        if pa.types.is_time(values.type):
            return values.cast(pa.time64("us"))
        arr = values.cast(pa.string())
    elif any(isinstance(v, dt.time) for v in values):
        return pa.array([parse_time(v) for v in values], pa.time64("us"))
    else:
        arr = pa.array(values, pa.string())
    arr = pc.if_else(pc.equal(arr, ""), None, arr)
    uniq = pc.unique(arr)
    micros = [None if u is None else _time_micros(str(u)) for u in uniq.to_pylist()]
    parsed = pa.array(micros, pa.int64()).cast(pa.time64("us"))
    return pc.take(parsed, pc.index_in(arr, uniq))


def _json_text(values: Sequence[Any]) -> pa.Array:
    return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())


def _text(values: Sequence[Any]) -> pa.Array:
    """Text, JSON-encoding whatever is not already a string (lossless)."""
    return pa.array(
        [v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
        pa.string(),
    )


def _has_empty_struct(t: pa.DataType) -> bool:
    if pa.types.is_struct(t):
        return t.num_fields == 0 or any(
            _has_empty_struct(t.field(i).type) for i in range(t.num_fields)
        )
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_empty_struct(t.value_type)
    return False


def _nested(values: Sequence[Any]) -> tuple[pa.Array, FieldType]:
    """Lists and objects: Arrow-inferred list/struct, or JSON text if they do not fit one."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return _json_text(values), F.JSON
    t = arr.type
    if pa.types.is_null(t):
        return arr, F.JSON
    if _has_empty_struct(t) or not (
        pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t)
    ):
        return _json_text(values), F.JSON
    if pa.types.is_list(t) and pa.types.is_string(t.value_type):
        return arr, F.ARRAY_STRING
    return arr, F.OBJECT if pa.types.is_struct(t) else F.ARRAY_OBJECT


def infer(values: Sequence[Any]) -> tuple[pa.Array, FieldType]:
    """Type a column the registry does not know, from all of its values at once."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.nulls(len(values)), F.STRING
    if kinds <= {str}:
        return pa.array(values, pa.string()), F.STRING
    if kinds <= {bool}:
        return pa.array(values, pa.bool_()), F.BOOLEAN
    if kinds <= {int}:
        try:
            return pa.array(values, pa.int64()), F.INTEGER
        except (OverflowError, pa.ArrowInvalid):
            return _text(values), F.STRING
    if kinds <= {int, float}:
        return pa.array(values, pa.float64()), F.FLOAT
    if kinds <= {list, dict}:
        return _nested(values)
    return _text(values), F.STRING


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
        if t == F.DATETIME:
            return parse_datetimes(values), t
        if t == F.TIME:
            return parse_times(values), t
        if t == F.DATE:
            return pc.cast(parse_datetimes(values), pa.date32()), t
        if t == F.ENUM:
            if isinstance(values, pa.Array):
                return values.cast(pa.string()).dictionary_encode(), t
            return pa.array(values, pa.string()).dictionary_encode(), t
        if t == F.STRING:
            return pa.array(values, pa.string()), t
        if t == F.JSON:
            return _json_text(values), t
        if t in (F.OBJECT, F.ARRAY_OBJECT):
            arr, got = _nested(values)
            return arr, got if got != F.ARRAY_STRING else F.ARRAY_OBJECT
        if t == F.ARRAY_STRING:
            return _text_lists(values), t
        if t == F.BOOLEAN:
            return pa.array(values, pa.bool_()), t
        if t in (F.INTEGER, F.FLOAT):
            target = _SCALAR_ARROW[t]
            if all(v is None or type(v) is int for v in values) or t == F.FLOAT:
                kinds = {type(v) for v in values if v is not None}
                if kinds <= {int, float}:
                    return pa.array(values, target), t
            inferred = pa.array(values)
            return pc.cast(inferred, target, safe=True), t  # 5.0 -> 5 ok, 5.5 -> error
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as e:
        arr, got = infer(values.to_pylist() if isinstance(values, pa.Array) else values)
        message = f"column {f.name!r}: values do not fit {t.value} ({e}); kept as {got.value}"
        if misfit is None:
            warnings.warn(message, MileTypeWarning, stacklevel=3)
        else:
            misfit(f.name, message)
        return arr, got
    raise AssertionError(t)  # pragma: no cover


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
    if f.type in (F.OBJECT, F.ARRAY_OBJECT, F.JSON):  # no values to tell their keys
        return pa.nulls(n), f.type
    return convert([None] * n, f)


def _text_lists(values: Sequence[Any] | pa.Array) -> pa.Array:
    """A list-of-text field; one text sent where a list was documented is a list of one
    item (Arrow would take the text as a sequence of characters)."""
    if not isinstance(values, pa.Array) and any(isinstance(v, str) for v in values):
        values = [[v] if isinstance(v, str) else v for v in values]
    return pa.array(values, pa.list_(pa.string()))


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

_RAW: dict[FieldType, pa.DataType] = {
    F.STRING: pa.string(),
    F.DATETIME: pa.string(),
    F.TIME: pa.string(),
    F.DATE: pa.string(),
    F.ENUM: pa.string(),
    F.INTEGER: pa.int64(),
    F.FLOAT: pa.float64(),
    F.BOOLEAN: pa.bool_(),
    F.ARRAY_STRING: pa.list_(pa.string()),
}


#: The C decoder's kind codes for the raw types of documented fields (see pagejson.c).
_NATIVE_KIND: dict[pa.DataType, int] = {
    pa.bool_(): 1,
    pa.int64(): 2,
    pa.float64(): 3,
    pa.string(): 4,
    pa.list_(pa.string()): 5,
}


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
        import threading

        self.schema = schema
        self.listing = listing
        self.columns = list(columns) if columns is not None else None
        self.native = native and NATIVE
        self._all = {f.name: f for f in schema.fields}
        self._known = {n: f for n, f in self._all.items() if f.type in _RAW}
        self._hints = tuple((n, _NATIVE_KIND[_RAW[f.type]]) for n, f in self._known.items())
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
                values = _json_cells(rows.column(name))
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
    for ftype, convert_all in ((F.DATETIME, parse_datetimes), (F.TIME, parse_times)):
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
            typed = convert_all(pa.concat_arrays(list(cols.values())))
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
    if t == F.JSON and pa.types.is_nested(col.type):
        # Arrow read free-form objects as structs, filling every row with every key any
        # row has: the original objects are lost. Only the Python path keeps them.
        raise FastPathMiss(f"{f.name}: free-form JSON objects", checked=True)
    if t in (F.OBJECT, F.ARRAY_OBJECT, F.JSON):
        arr, got = _kind_of_inferred(col, json=t == F.JSON)
        if got == F.ARRAY_STRING:  # as convert() types them: lists are lists of objects
            return arr, F.ARRAY_OBJECT
        if got not in (F.OBJECT, F.ARRAY_OBJECT, F.JSON):  # text, numbers (note 51): JSON
            return _json_text(col.to_pylist()), F.JSON
        return arr, got
    if t in (F.DATETIME, F.TIME, F.DATE, F.ENUM):
        return convert(col, f, misfit)
    return col, t


def _kind_of_inferred(col: pa.Array, json: bool = False) -> tuple[pa.Array, FieldType]:
    t = col.type
    if pa.types.is_null(t):
        return col, F.JSON if json else F.STRING
    if json or _has_empty_struct(t):
        return _json_text(col.to_pylist()), F.JSON
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
    return _text(col.to_pylist()), F.STRING


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
    if ft is not None and ft not in _NESTED and ft in _SCALAR_ARROW:
        at = _SCALAR_ARROW[ft]
        if ft == F.ENUM:
            return pa.field(name, at, metadata=field_meta(ft, enum))
        return pa.field(name, at, metadata=field_meta(ft))
    try:
        s = pa.unify_schemas(
            [pa.schema([pa.field(name, f.type)]) for f in fs], promote_options="permissive"
        )
        t = s.field(name).type
        if ft is None or ft in _NESTED:
            kind = F.ARRAY_OBJECT if pa.types.is_list(t) else F.OBJECT
            if pa.types.is_list(t) and pa.types.is_string(t.value_type):
                kind = F.ARRAY_STRING
            if not _has_empty_struct(t) and (pa.types.is_struct(t) or pa.types.is_list(t)):
                return pa.field(name, t, metadata=field_meta(kind))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    if all(k[0] in _NESTED or k[0] is None for k in kinds):
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
        elif want == F.JSON and have != F.JSON:
            arrays.append(_json_text(col.to_pylist()))
        elif want == F.STRING and not pa.types.is_string(col.type):
            arrays.append(_text(col.to_pylist()))
        else:
            arrays.append(pc.cast(col, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


# --- Arrow -> pandas -----------------------------------------------------------------------


def to_pandas(
    table: pa.Table,
    index: str | None = None,
    cells: Mapping[str, Sequence[np.ndarray[Any, Any]]] | None = None,
    pool: Executor | None = None,
) -> pd.DataFrame:
    """An Arrow table (from the wire or a Parquet file) -> the typed frame.

    ``cells``: Python values of nested/JSON columns computed ahead (:func:`python_cells`
    per page, gathered by :func:`join_cells`), as object arrays joined here, used instead
    of converting those columns now.
    ``pool``: converts the columns side by side (most of a column's conversion runs in
    Arrow and numpy, outside the GIL).

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> t = pa.table({"n": [1, None]}, schema=pa.schema([pa.field("n", pa.int64())]))
    >>> with ThreadPoolExecutor(2) as pool:
    ...     str(to_pandas(t, pool=pool)["n"].dtype)
    'Int64'
    """

    def convert(i: int) -> Any:
        f = table.schema.field(i)
        ft, enum = meta_of(f)
        if cells is not None and f.name in cells:
            parts = cells[f.name]
            values = parts[0] if len(parts) == 1 else np.concatenate([_EMPTY, *parts])
            return pd.array(values, dtype="O") if ft == F.JSON else values
        return column_to_pandas(table.column(i), f, ft, enum)

    columns = range(table.num_columns)
    converted = list(pool.map(convert, columns)) if pool is not None else map(convert, columns)
    data = dict(zip(table.schema.names, converted, strict=True))
    df = pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))
    if index is not None and index in df.columns:
        df = df.set_index(index)
    return df


def enum_ordered(table: pa.Table) -> pa.Table:
    """Enum columns with the whole enum, in its order, as their dictionary (values outside
    it after): every page and file then has one category order, the frame's, also for a
    reader (plain pandas, Polars) that takes categories from the dictionary.

    >>> meta = field_meta(F.STRING, ["A", "B", "C"])
    >>> f = pa.field("s", pa.dictionary(pa.int32(), pa.string()), metadata=meta)
    >>> t = pa.table([pa.array(["C", "A"]).dictionary_encode()], schema=pa.schema([f]))
    >>> enum_ordered(t).column("s").chunk(0).dictionary.to_pylist()
    ['A', 'B', 'C']
    """
    for i, f in enumerate(table.schema):
        enum = meta_of(f)[1] if pa.types.is_dictionary(f.type) else []
        if not enum:
            continue
        col = table.column(i).combine_chunks()
        values = col.dictionary.to_pylist()
        if values == list(enum):
            continue
        full = list(enum) + [v for v in values if v not in enum]
        where = {v: j for j, v in enumerate(full)}
        remap = pa.array([where[v] for v in values], f.type.index_type)
        indices = pc.take(remap, col.indices)
        arr = pa.DictionaryArray.from_arrays(indices, pa.array(full, f.type.value_type))
        table = table.set_column(i, f, arr)
    return table


def pandas_metadata(s: pa.Schema, index: str | None) -> bytes:
    """The ``pandas`` footer entry of a file of schema ``s``: with it, plain
    ``pd.read_parquet`` gives the frame's dtypes (``Int64``, ``string``, ``boolean``,
    ``category`` …) and its index, as pandas does for files it writes itself.

    >>> import orjson
    >>> s = pa.schema([pa.field("_id", pa.string()), pa.field("n", pa.int64())])
    >>> meta = orjson.loads(pandas_metadata(s, "_id"))
    >>> meta["index_columns"], [c["numpy_type"] for c in meta["columns"]]
    (['_id'], ['Int64', 'string'])
    """
    keep = index is not None and index in s.names
    empty = to_pandas(s.remove_metadata().empty_table(), index=index if keep else None)
    got = pa.Schema.from_pandas(empty, preserve_index=keep).metadata[b"pandas"]
    return bytes(got)


def _is_cells(f: pa.Field, ft: FieldType | None) -> bool:
    """Does this column become Python objects (lists, dicts) in pandas?"""
    return ft == F.JSON or (pa.types.is_nested(f.type) and ft != F.ENUM)


def _json_cells(col: pa.ChunkedArray | pa.Array) -> list[Any]:
    return [None if v is None else orjson.loads(v) for v in col.to_pylist()]


def cell_values(arr: pa.Array | pa.ChunkedArray, ft: FieldType | None) -> list[Any]:
    """The Python values a frame holds for an Arrow column: JSON-typed columns are JSON text
    in Arrow and objects in the frame; enums are dictionary-encoded in Arrow.

    >>> cell_values(pa.array(['{"a": 1}', None]), F.JSON)
    [{'a': 1}, None]
    """
    t = arr.type
    if ft == F.JSON and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return _json_cells(arr)
    if pa.types.is_dictionary(t):
        arr = arr.cast(pa.string())
    return to_python(arr)


def python_cells(table: pa.Table) -> dict[str, np.ndarray[Any, Any]]:
    """The Python values of ``table``'s list/struct/JSON columns, as object arrays: the
    costly part of :func:`to_pandas`, done per page in the fetching threads while others
    wait on the wire.

    >>> python_cells(pa.table({"a": [["x"], None], "b": [1, 2]}))["a"].tolist()
    [['x'], None]
    """
    out: dict[str, np.ndarray[Any, Any]] = {}
    for i, f in enumerate(table.schema):
        ft, _ = meta_of(f)
        if _is_cells(f, ft):
            out[f.name] = _object_array(cell_values(table.column(i), ft))
    return out


def join_cells(
    tables: Sequence[pa.Table],
    cells: Sequence[Mapping[str, np.ndarray[Any, Any]]],
    schema: pa.Schema,
) -> dict[str, list[np.ndarray[Any, Any]]]:
    """Per-page :func:`python_cells` -> the parts of whole columns of the unified
    ``schema`` (joined by :func:`to_pandas`, on its pool), for every column no page had to
    be converted for (same type and API type as the target, or absent: nulls). Others are
    left out, so :func:`to_pandas` converts them itself.

    >>> t = pa.table({"a": [["x"]]})
    >>> parts = join_cells([t, t.drop_columns("a")], [python_cells(t), {}], t.schema)
    >>> [p.tolist() for p in parts["a"]]
    [[['x']], [None]]
    """
    wanted = [(f, ft) for f in schema for ft in [meta_of(f)[0]] if _is_cells(f, ft)]
    seen: list[tuple[pa.Schema, dict[str, bool | None]]] = []

    def verdicts(page: pa.Schema) -> dict[str, bool | None]:
        """Per wanted column: True (same type), False (differs), None (absent)."""
        for s, known in seen:
            if page.equals(s, check_metadata=True):
                return known
        v: dict[str, bool | None] = {}
        for f, ft in wanted:
            i = page.get_field_index(f.name)
            have = page.field(i) if i >= 0 else None
            v[f.name] = None if have is None else have.type == f.type and meta_of(have)[0] == ft
        seen.append((page, v))
        return v

    parts: dict[str, list[np.ndarray[Any, Any]]] = {f.name: [] for f, _ in wanted}
    joinable = dict.fromkeys(parts, True)
    for t, c in zip(tables, cells, strict=True):
        v = verdicts(t.schema)
        for name, ok in joinable.items():
            if not ok:
                continue
            if v[name] is None:
                parts[name].append(np.full(t.num_rows, None, dtype=object))
            elif v[name] and name in c:
                parts[name].append(c[name])
            else:
                joinable[name] = False
    return {n: p for n, p in parts.items() if joinable[n]}


def column_to_pandas(
    col: pa.ChunkedArray, f: pa.Field, ft: FieldType | None, enum: list[str]
) -> Any:
    t = col.type
    if ft == F.JSON:
        return pd.array(_json_cells(col), dtype=object)
    if ft == F.ENUM or pa.types.is_dictionary(t):
        return _categorical(col, enum, as_stored=ft is None)
    if pa.types.is_nested(t):
        return _object_array(to_python(col))
    if pa.types.is_timestamp(t):
        s = col.to_pandas()
        if t.tz is None:
            s = s.dt.tz_localize("UTC")
        return s.astype("datetime64[us, UTC]").array
    if pa.types.is_null(t):  # a column no row has a value in: the dtype of its API type
        at = _SCALAR_ARROW.get(ft or F.STRING) if ft not in (F.OBJECT, F.ARRAY_OBJECT) else None
        return pd.array([None] * len(col), dtype=_PANDAS_MAPPER.get(at, object))
    mapped = _PANDAS_MAPPER.get(t)
    if mapped is not None:
        return col.to_pandas(types_mapper=_PANDAS_MAPPER.get).array
    if pa.types.is_integer(t):
        return col.cast(pa.int64()).to_pandas(types_mapper=_PANDAS_MAPPER.get).array
    if pa.types.is_floating(t):
        return col.cast(pa.float64()).to_pandas(types_mapper=_PANDAS_MAPPER.get).array
    if pa.types.is_time(t) or pa.types.is_date(t):
        return pd.array(col, dtype=pd.ArrowDtype(t))
    return col.to_pandas().array


def _categorical(
    col: pa.ChunkedArray, enum: Sequence[str], as_stored: bool = False
) -> pd.Categorical[str]:
    """An enum column -> categorical: the documented values first, then the others seen,
    sorted. Works on the dictionary codes (one small dictionary per column), never on the
    decoded text. ``as_stored``: the dictionary's own values and order instead (a file
    that milekit did not type, e.g. written by ``df.to_parquet``: its categories).

    >>> c = pa.chunked_array([pa.array(["b", None]).dictionary_encode(),
    ...                       pa.array(["x", "a"]).dictionary_encode()])
    >>> cat = _categorical(c, ["a", "b"])
    >>> list(cat.categories), cat.codes.tolist()
    (['a', 'b', 'x'], [1, -1, 2, 0])
    >>> list(_categorical(c, [], as_stored=True).categories)
    ['b', 'x', 'a']
    """
    if not pa.types.is_dictionary(col.type):
        col = col.cast(pa.string()).dictionary_encode()
    col = col.unify_dictionaries()
    if col.num_chunks == 0:
        return pd.Categorical.from_codes([], categories=pd.Index(list(enum)))
    names = col.chunk(0).dictionary.cast(pa.string()).to_pylist()
    # int64 first: the indices may be unsigned (Polars and DuckDB write uint32 / uint8)
    index = np.concatenate(
        [pc.fill_null(c.indices.cast(pa.int64()), -1).to_numpy() for c in col.chunks]
    )
    used = np.zeros(len(names) + 1, dtype=bool)  # the last slot: null (-1)
    used[index] = True
    if as_stored:
        cats = list(dict.fromkeys(n for n in names if n is not None))
    else:
        known = set(enum)
        seen = {n for n, u in zip(names, used[:-1].tolist(), strict=True) if u and n is not None}
        cats = [*enum, *sorted(seen - known)]
    position = {c: i for i, c in enumerate(cats)}
    lookup = np.array([position.get(n, -1) if n is not None else -1 for n in names] + [-1])
    return pd.Categorical.from_codes(lookup[index], categories=pd.Index(cats))


def to_python(col: pa.ChunkedArray | pa.Array) -> list[Any]:
    """Arrow values -> Python lists/dicts. Lists of scalars go through their offsets (the
    values are converted once, then sliced: twice as fast as ``to_pylist``); with pyarrow
    26, ``to_pylist`` itself is the fastest for structs and lists of structs.

    >>> to_python(pa.array([["a", "b"], None, [], [{"x": 1}] and ["c"]]))
    [['a', 'b'], None, [], ['c']]
    """
    if isinstance(col, pa.ChunkedArray):
        out: list[Any] = []
        for chunk in col.chunks:
            out.extend(to_python(chunk))
        return out
    t = col.type
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and not pa.types.is_nested(t.value_type):
        offsets = col.offsets.to_pylist()
        start, end = offsets[0], offsets[-1]
        values = col.values.slice(start, end - start).to_pylist()
        rows: list[Any] = [values[a - start : b - start] for a, b in itertools.pairwise(offsets)]
        if col.null_count:
            valid = col.is_valid().to_pylist()
            rows = [r if ok else None for r, ok in zip(rows, valid, strict=True)]
        return rows
    return list(col.to_pylist())


def _object_array(values: Sequence[Any] | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A 1-d object array holding ``values`` as they are (lists stay list cells); 5x
    faster than slice assignment, which inspects every list as a possible sequence.

    >>> _object_array([["a"], None, {"x": 1}]).shape
    (3,)
    """
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return np.fromiter(values, dtype=object, count=len(values))


# --- pandas -> Arrow (for files written from a user-edited frame) ---------------------------


def from_pandas(df: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """A typed frame (index included as a column) -> an Arrow table carrying milekit types.

    With ``schema`` (the one the frame was read with) columns keep their recorded API
    types; other columns are typed from their pandas dtype.
    """
    frame = df.reset_index() if df.index.name is not None else df
    known = {f.name: f for f in schema} if schema is not None else {}
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for name in frame.columns:
        s = frame[name]
        f0 = known.get(str(name))
        ft, enum = meta_of(f0) if f0 is not None else (None, [])
        arr, ft = series_to_arrow(s, ft, f0.type if f0 is not None else None)
        if ft == F.ENUM and not enum and isinstance(s.dtype, pd.CategoricalDtype):
            enum = [str(c) for c in s.cat.categories]
        arrays.append(arr)
        fields.append(pa.field(str(name), arr.type, metadata=field_meta(ft, enum)))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def series_to_arrow(
    s: pd.Series[Any], ft: FieldType | None, at: pa.DataType | None
) -> tuple[pa.Array, FieldType]:
    dtype = s.dtype
    is_object = pd.api.types.is_object_dtype(dtype)
    if ft == F.JSON:
        return _json_text(none_for_na(s.tolist())), F.JSON
    if is_object:
        vals = none_for_na(s.tolist())
        if ft == F.ARRAY_STRING:  # a lone string is a one-item list, as the API takes it
            vals = [[v] if isinstance(v, str) else v for v in vals]
        if ft in (F.OBJECT, F.ARRAY_OBJECT, F.ARRAY_STRING) and at is not None:
            try:
                return pa.array(vals, at), ft
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        return infer(vals)
    if isinstance(dtype, pd.CategoricalDtype):
        arr = pa.array(s.astype(object).where(s.notna(), None).tolist(), pa.string())
        return arr.dictionary_encode(), F.ENUM
    if isinstance(dtype, pd.ArrowDtype):  # before the datetime test: it takes date32 too
        arr = pa.array(s.array)
        if pa.types.is_time(arr.type):
            return arr.cast(pa.time64("us")), F.TIME
        if pa.types.is_date(arr.type):
            return arr.cast(pa.date32()), F.DATE
        return arr, ft or F.STRING
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        ser = s if isinstance(dtype, pd.DatetimeTZDtype) else s.dt.tz_localize("UTC")
        ser = ser.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        return pa.Array.from_pandas(ser), F.DATETIME
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(s.astype("boolean").array), F.BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(s.astype("Int64").array), F.INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return pa.array(s.astype("Float64").array), F.FLOAT
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arr = pa.array(s.array)  # already Arrow: no trip through Python objects
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.string()), F.STRING
    if pd.api.types.is_string_dtype(dtype):
        return pa.array(s.astype(object).where(s.notna(), None).tolist(), pa.string()), (
            ft if ft in (F.STRING,) else F.STRING
        )
    return infer(none_for_na(s.tolist()))


def none_for_na(values: list[Any]) -> list[Any]:
    """pandas missing markers (NA, NaN, NaT) -> None, leaving lists/dicts alone."""
    out: list[Any] = []
    for v in values:
        if v is None or (not isinstance(v, list | dict | tuple | np.ndarray) and pd.isna(v)):
            out.append(None)
        elif isinstance(v, np.ndarray):
            out.append(v.tolist())
        else:
            out.append(v)
    return out
