"""Values -> Arrow, one function per API type: what :data:`milekit.types.kinds.KINDS`
names as each kind's ``parse``, and the inference of columns the registry does not know.

>>> parse_times(["8:05", "08:05:00"]).to_pylist()
[datetime.time(8, 5), datetime.time(8, 5)]
>>> infer([1, 2.5])[1].value
'Float'
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from typing import Any, TypeAlias

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit.types.model import FieldType

F = FieldType
#: What a column's values come as: Python values of JSON rows, or a raw Arrow column
Values: TypeAlias = Sequence[Any] | pa.Array
#: The typed Arrow form of a Datetime
UTC_US = pa.timestamp("us", tz="UTC")


_HAS_ZONE = r"(Z|z|[+-]\d{2}:?\d{2})$"
_NAIVE = pa.timestamp("us")


def parse_datetimes(values: Values) -> pa.Array:
    """Every documented Datetime spelling -> ``timestamp[us, UTC]`` (naive = UTC).

    >>> parse_datetimes(["2022-07-13 03:16:40", "2022-07-13T10:16:40.000+07:00", None,
    ...                  1657682200, 1657682200000]).to_pylist()[0] == \
            dt.datetime(2022, 7, 13, 3, 16, 40, tzinfo=dt.timezone.utc)
    True
    """
    target = UTC_US
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
    return pa.array(out, UTC_US)


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


def parse_times(values: Values) -> pa.Array:
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


def json_text(values: Sequence[Any]) -> pa.Array:
    return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())


def texts(values: Sequence[Any]) -> pa.Array:
    """Text, JSON-encoding whatever is not already a string (lossless)."""
    return pa.array(
        [v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
        pa.string(),
    )


def has_empty_struct(t: pa.DataType) -> bool:
    if pa.types.is_struct(t):
        return t.num_fields == 0 or any(
            has_empty_struct(t.field(i).type) for i in range(t.num_fields)
        )
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return has_empty_struct(t.value_type)
    return False


def nested_values(values: Sequence[Any]) -> tuple[pa.Array, FieldType]:
    """Lists and objects: Arrow-inferred list/struct, or JSON text if they do not fit one."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return json_text(values), F.JSON
    t = arr.type
    if pa.types.is_null(t):
        return arr, F.JSON
    if has_empty_struct(t) or not (
        pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t)
    ):
        return json_text(values), F.JSON
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
            return texts(values), F.STRING
    if kinds <= {int, float}:
        return pa.array(values, pa.float64()), F.FLOAT
    if kinds <= {list, dict}:
        return nested_values(values)
    return texts(values), F.STRING


def _text_lists(values: Values) -> pa.Array:
    """A list-of-text field; one text sent where a list was documented is a list of one
    item (Arrow would take the text as a sequence of characters)."""
    if not isinstance(values, pa.Array) and any(isinstance(v, str) for v in values):
        values = [[v] if isinstance(v, str) else v for v in values]
    return pa.array(values, pa.list_(pa.string()))


# --- one parser per API type: (values) -> (Arrow array, the API type it holds) ----------


def as_datetimes(values: Values) -> tuple[pa.Array, FieldType]:
    return parse_datetimes(values), F.DATETIME


def as_times(values: Values) -> tuple[pa.Array, FieldType]:
    return parse_times(values), F.TIME


def as_dates(values: Values) -> tuple[pa.Array, FieldType]:
    return pc.cast(parse_datetimes(values), pa.date32()), F.DATE


def as_enum(values: Values) -> tuple[pa.Array, FieldType]:
    if isinstance(values, pa.Array):
        return values.cast(pa.string()).dictionary_encode(), F.ENUM
    return pa.array(values, pa.string()).dictionary_encode(), F.ENUM


def as_string(values: Values) -> tuple[pa.Array, FieldType]:
    return pa.array(values, pa.string()), F.STRING


def as_json(values: Values) -> tuple[pa.Array, FieldType]:
    return json_text(values), F.JSON


def as_nested(values: Values) -> tuple[pa.Array, FieldType]:
    """Object / Array of Object: a struct or list of structs, or JSON text if the values
    fit neither (lists of text count as lists of objects here)."""
    arr, got = nested_values(values)
    return arr, got if got != F.ARRAY_STRING else F.ARRAY_OBJECT


def as_text_lists(values: Values) -> tuple[pa.Array, FieldType]:
    return _text_lists(values), F.ARRAY_STRING


def as_booleans(values: Values) -> tuple[pa.Array, FieldType]:
    return pa.array(values, pa.bool_()), F.BOOLEAN


def as_integers(values: Values) -> tuple[pa.Array, FieldType]:
    if all(v is None or type(v) is int for v in values):
        if {type(v) for v in values if v is not None} <= {int, float}:
            return pa.array(values, pa.int64()), F.INTEGER
    inferred = pa.array(values)
    return pc.cast(inferred, pa.int64(), safe=True), F.INTEGER  # 5.0 -> 5 ok, 5.5 -> error


def as_floats(values: Values) -> tuple[pa.Array, FieldType]:
    if {type(v) for v in values if v is not None} <= {int, float}:
        return pa.array(values, pa.float64()), F.FLOAT
    return pc.cast(pa.array(values), pa.float64(), safe=True), F.FLOAT
