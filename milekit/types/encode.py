"""Typed values -> the API's JSON, and a canonical form to compare them by.

>>> import pandas as pd
>>> from milekit.types.registry import FieldType as F
>>> c = canonical(pd.Timestamp("2026-08-01 14:00", tz="Asia/Jakarta"), F.DATETIME)
>>> wire(c, F.DATETIME)
'2026-08-01T07:00:00+00:00'
>>> wire(canonical("8:05", F.TIME), F.TIME), canonical(pd.NA, F.INTEGER)
('08:05:00', None)
>>> canonical("5", F.INTEGER)
Traceback (most recent call last):
...
ValueError: not an integer: '5'

Every value a frame can hold gets one *canonical* form per API type (note 6), so
that two spellings of the same value compare equal and nothing is compared by accident
across types:

=================  =====================================  ====================================
API type           canonical                              wire (what is sent)
=================  =====================================  ====================================
Datetime           int: microseconds since the epoch,     ``Y-m-d\\TH:i:sP`` in UTC
                   UTC (naive values are UTC)             (``2026-08-01T07:00:00+00:00``)
Time               int: microseconds since midnight       ``HH:MM:SS``
Date               ``Y-m-d`` text                         the same
Integer            int (an integral float is accepted)    a JSON integer
Float              float                                  a JSON number
Boolean            bool                                   ``true``/``false``
String / Enum      str                                    the same
Array of String    list of str                            a JSON array
Object / Array /   JSON-ready dicts and lists (keys       the same
JSON               with missing values dropped)
=================  =====================================  ====================================

Missing values (``None``, ``pd.NA``, ``NaN``, ``NaT``) are ``None``: never ``NaN`` on the
wire. The API keeps datetimes to the second, so the wire form drops sub-second parts and
:func:`coarse` compares values the way the server stores them.

Why ``Y-m-d\\TH:i:sP``: MileApp's documentation lists it among the accepted request spellings, it is
what the API itself answers for tasks, and unlike ``Y-m-d H:i:s`` it names its zone (the
zone of naive values is not documented, note 6).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from milekit.types import schema
from milekit.types.registry import FieldType

F = FieldType
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)

__all__ = ["canonical", "coarse", "display", "field_type_of", "is_missing", "json_ready", "wire"]


def is_missing(v: Any) -> bool:
    """``None``, ``pd.NA``, ``NaT`` and float ``NaN`` (not lists, dicts or arrays).

    >>> [is_missing(v) for v in (None, pd.NA, pd.NaT, float("nan"), 0, "", [])]
    [True, True, True, True, False, False, False]
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    t = type(v)
    if t is str or t is int or t is bool or t is dict or t is list:
        return False
    if isinstance(v, float | np.floating):
        return math.isnan(v)
    if isinstance(v, np.datetime64 | np.timedelta64):
        return bool(np.isnat(v))
    return False


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def canonical(v: Any, ft: FieldType, enum: Iterable[str] = ()) -> Any:
    """The comparable form of ``v`` as API type ``ft``; ``ValueError`` if it does not fit."""
    if is_missing(v):
        return None
    if isinstance(v, np.generic) and not isinstance(v, np.datetime64):
        v = v.item()
    if ft == F.DATETIME:
        return _datetime_us(v)
    if ft == F.TIME:
        return _time_us(v)
    if ft == F.DATE:
        return _date_text(v)
    if ft == F.INTEGER:
        if isinstance(v, bool):
            raise ValueError(f"not an integer: {_short(v)}")
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise ValueError(f"not an integer: {_short(v)}")
    if ft == F.FLOAT:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"not a number: {_short(v)}")
        f = float(v)
        if math.isinf(f):
            raise ValueError(f"not a finite number: {_short(v)}")
        return f
    if ft == F.BOOLEAN:
        if not isinstance(v, bool):
            raise ValueError(f"not true/false: {_short(v)}")
        return v
    if ft in (F.STRING, F.ENUM):
        if not isinstance(v, str):
            raise ValueError(f"not text: {_short(v)}")
        allowed = tuple(enum)
        if ft == F.ENUM and allowed and v not in allowed:
            raise ValueError(f"{v!r} is not one of {', '.join(allowed)}")
        return v
    if ft == F.ARRAY_STRING:
        items = [v] if isinstance(v, str) else _as_list(v)  # the API takes a lone string too
        if items is None or not all(isinstance(x, str) for x in items):
            raise ValueError(f"not a list of text: {_short(v)}")
        return list(items)
    if ft == F.ARRAY_OBJECT:
        items = _as_list(v)
        if items is None:
            raise ValueError(f"not a list: {_short(v)}")
        return json_ready(items)
    if ft == F.OBJECT:
        if not isinstance(v, dict):
            raise ValueError(f"not an object (dict): {_short(v)}")
        return json_ready(v)
    return json_ready(v)  # JSON: anything JSON can hold


def _as_list(v: Any) -> list[Any] | None:
    if isinstance(v, list | tuple):
        return list(v)
    if isinstance(v, np.ndarray):
        return list(v.tolist())
    return None


def _datetime_us(v: Any) -> int:
    if isinstance(v, str):
        try:
            ts = pd.Timestamp(v)
        except ValueError:
            raise ValueError(f"not a date-time: {_short(v)}") from None
    elif isinstance(v, dt.datetime | np.datetime64):
        ts = pd.Timestamp(v)
    else:
        raise ValueError(f"not a date-time: {_short(v)}")
    if pd.isna(ts):
        raise ValueError(f"not a date-time: {_short(v)}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1000)  # ns -> us


def _time_us(v: Any) -> int:
    if isinstance(v, dt.datetime) or not isinstance(v, dt.time | str):
        raise ValueError(f"not a time of day: {_short(v)}")
    try:
        t = schema.parse_time(v)
    except ValueError:
        raise ValueError(f"not a time of day: {_short(v)}") from None
    assert t is not None
    if t.tzinfo is not None:
        raise ValueError(f"a time of day has no zone: {_short(v)}")
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _date_text(v: Any) -> str:
    if isinstance(v, dt.datetime):
        if (v.hour, v.minute, v.second, v.microsecond) != (0, 0, 0, 0):
            raise ValueError(f"not a date (has a time of day): {_short(v)}")
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            raise ValueError(f"not a date (Y-m-d): {_short(v)}") from None
    raise ValueError(f"not a date: {_short(v)}")


def json_ready(v: Any) -> Any:
    """Nested values -> plain JSON types: numpy scalars unwrapped, datetimes as wire text,
    missing values ``None``; keys of objects whose value is missing are dropped (the API
    omits keys that were never set, note 13).

    >>> json_ready({"a": np.int64(1), "b": None, "c": [1.5, float("nan")]})
    {'a': 1, 'c': [1.5, None]}
    """
    if isinstance(v, dict):
        return {str(k): json_ready(x) for k, x in v.items() if not is_missing(x)}
    if isinstance(v, list | tuple):
        return [json_ready(x) for x in v]
    if isinstance(v, np.ndarray):
        return [json_ready(x) for x in v.tolist()]
    if is_missing(v):
        return None
    if isinstance(v, np.generic) and not isinstance(v, np.datetime64):
        v = v.item()
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        if math.isinf(v):
            raise ValueError(f"not a finite number: {_short(v)}")
        return v
    if isinstance(v, dt.datetime | np.datetime64):
        return wire(_datetime_us(v), F.DATETIME)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return wire(_time_us(v), F.TIME)
    raise ValueError(f"not JSON: {_short(v)}")


def wire(c: Any, ft: FieldType) -> Any:
    """The JSON value to send for a canonical value (``None`` -> ``null``)."""
    if c is None:
        return None
    if ft == F.DATETIME:
        t = _EPOCH + (c // 1_000_000) * dt.timedelta(seconds=1)
        return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if ft == F.TIME:
        s = c // 1_000_000
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return c


def coarse(c: Any, ft: FieldType) -> Any:
    """A canonical value at the precision the API stores (datetimes and times: seconds).

    >>> coarse(1_500_000, FieldType.DATETIME) == coarse(1_000_000, FieldType.DATETIME)
    True
    """
    if c is not None and ft in (F.DATETIME, F.TIME):
        return c // 1_000_000
    return c


def display(c: Any, ft: FieldType) -> Any:
    """A canonical value as a pandas user sees it (datetimes as ``Timestamp`` ...)."""
    if c is None:
        return None
    if ft == F.DATETIME:
        return pd.Timestamp(c, unit="us", tz="UTC")
    if ft == F.TIME:
        return (dt.datetime.min + c * _US).time()
    return c


def field_type_of(t: pa.DataType) -> FieldType:
    """The API type an Arrow type holds (for columns that carry no milekit metadata).

    >>> field_type_of(pa.timestamp("ns")), field_type_of(pa.list_(pa.string()))
    (<FieldType.DATETIME: 'Datetime'>, <FieldType.ARRAY_STRING: 'Array of String'>)
    """
    if pa.types.is_timestamp(t):
        return F.DATETIME
    if pa.types.is_time(t):
        return F.TIME
    if pa.types.is_date(t):
        return F.DATE
    if pa.types.is_boolean(t):
        return F.BOOLEAN
    if pa.types.is_integer(t):
        return F.INTEGER
    if pa.types.is_floating(t):
        return F.FLOAT
    if pa.types.is_dictionary(t):
        return F.ENUM
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return F.ARRAY_STRING if pa.types.is_string(t.value_type) else F.ARRAY_OBJECT
    if pa.types.is_struct(t):
        return F.OBJECT
    if pa.types.is_null(t):
        return F.JSON
    return F.STRING


def canonical_column(arr: pa.Array | pa.ChunkedArray, ft: FieldType) -> list[Any]:
    """Canonical values of a whole Arrow column (vectorised for datetimes and times)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if ft == F.DATETIME and pa.types.is_timestamp(t):
        us = arr.cast(pa.timestamp("us", tz=t.tz)) if t.unit != "us" else arr
        return list(us.view(pa.int64()).to_pylist())
    if ft == F.TIME and pa.types.is_time(t):
        us = arr.cast(pa.time64("us")) if t != pa.time64("us") else arr
        return list(us.view(pa.int64()).to_pylist())
    values = schema.cell_values(arr, ft)
    out: list[Any] = []
    for v in values:
        try:
            out.append(canonical(v, ft))
        except ValueError:
            out.append(json_ready(v) if isinstance(v, dict | list) else v)
    return out
