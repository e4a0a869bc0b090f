"""One value of an API type: its canonical form (to compare by), its wire form (to send)
and its display form, one function per type, named by :data:`milekit.types.kinds.KINDS`.

>>> integer(5.0, ()), time_wire(time_us("8:05"))
(5, '08:05:00')
>>> is_missing(float("nan")), json_ready({"a": None, "b": [1]})
(True, {'b': [1]})
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from milekit.types.parse import parse_time

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


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


# --- canonical forms: (value, enum) -> the comparable value, or ValueError ----------------


def datetime_us(v: Any, enum: Sequence[str] = ()) -> int:
    """A Datetime: microseconds since the epoch, UTC (naive values are UTC).

    >>> datetime_us("1970-01-01 00:00:01")
    1000000
    """
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


def datetime_of_us(us: int) -> dt.datetime:
    """The UTC date-time ``us`` microseconds after the epoch (:func:`datetime_us` back).

    >>> datetime_of_us(datetime_us("2026-12-07T10:00:00.5Z")).isoformat()
    '2026-12-07T10:00:00.500000+00:00'
    """
    return _EPOCH + us * _US


def time_us(v: Any, enum: Sequence[str] = ()) -> int:
    """A Time: microseconds since midnight.

    >>> time_us("0:00:01")
    1000000
    """
    if isinstance(v, dt.datetime) or not isinstance(v, dt.time | str):
        raise ValueError(f"not a time of day: {_short(v)}")
    try:
        t = parse_time(v)
    except ValueError:
        raise ValueError(f"not a time of day: {_short(v)}") from None
    assert t is not None
    if t.tzinfo is not None:
        raise ValueError(f"a time of day has no zone: {_short(v)}")
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def date_text(v: Any, enum: Sequence[str] = ()) -> str:
    """A Date: ``Y-m-d`` text.

    >>> date_text(dt.datetime(2026, 8, 1))
    '2026-08-01'
    """
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


def integer(v: Any, enum: Sequence[str] = ()) -> int:
    """An Integer (an integral float is accepted).

    >>> integer(3.0)
    3
    """
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ValueError(f"not an integer: {_short(v)}")


def number(v: Any, enum: Sequence[str] = ()) -> float:
    """A Float: finite.

    >>> number(2)
    2.0
    """
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"not a number: {_short(v)}")
    f = float(v)
    if math.isinf(f):
        raise ValueError(f"not a finite number: {_short(v)}")
    return f


def boolean(v: Any, enum: Sequence[str] = ()) -> bool:
    """A Boolean: ``True``/``False`` only.

    >>> boolean(True)
    True
    """
    if not isinstance(v, bool):
        raise ValueError(f"not true/false: {_short(v)}")
    return v


def text(v: Any, enum: Sequence[str] = ()) -> str:
    """A String.

    >>> text("DONE")
    'DONE'
    """
    if not isinstance(v, str):
        raise ValueError(f"not text: {_short(v)}")
    return v


def enum_value(v: Any, enum: Sequence[str] = ()) -> str:
    """An Enum's value: text, one of ``enum`` when it has one.

    >>> enum_value("DONE", ("DONE",))
    'DONE'
    """
    value = text(v)
    allowed = tuple(enum)
    if allowed and value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def text_list(v: Any, enum: Sequence[str] = ()) -> list[str]:
    """An Array of String; a lone text is a list of one (the API takes it too).

    >>> text_list("a")
    ['a']
    """
    items = [v] if isinstance(v, str) else _as_list(v)
    if items is None or not all(isinstance(x, str) for x in items):
        raise ValueError(f"not a list of text: {_short(v)}")
    return list(items)


def object_list(v: Any, enum: Sequence[str] = ()) -> Any:
    """An Array of Object: a JSON-ready list.

    >>> object_list(({"a": 1},))
    [{'a': 1}]
    """
    items = _as_list(v)
    if items is None:
        raise ValueError(f"not a list: {_short(v)}")
    return json_ready(items)


def json_object(v: Any, enum: Sequence[str] = ()) -> Any:
    """An Object: a JSON-ready dict.

    >>> json_object({"a": None})
    {}
    """
    if not isinstance(v, dict):
        raise ValueError(f"not an object (dict): {_short(v)}")
    return json_ready(v)


def json_any(v: Any, enum: Sequence[str] = ()) -> Any:
    """JSON: anything JSON can hold, JSON-ready.

    >>> json_any([1, {"a": 2}])
    [1, {'a': 2}]
    """
    return json_ready(v)


def _as_list(v: Any) -> list[Any] | None:
    if isinstance(v, list | tuple):
        return list(v)
    if isinstance(v, np.ndarray):
        return list(v.tolist())
    return None


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
        return datetime_wire(datetime_us(v))
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return time_wire(time_us(v))
    raise ValueError(f"not JSON: {_short(v)}")


# --- wire and display forms of canonical values (never None here) -------------------------


def same(c: Any) -> Any:
    """The canonical value as it is (most types send and show it unchanged)."""
    return c


def datetime_wire(c: int) -> str:
    """``Y-m-d\\TH:i:sP`` in UTC, to the second (the API keeps no more).

    >>> datetime_wire(0)
    '1970-01-01T00:00:00+00:00'
    """
    t = _EPOCH + (c // 1_000_000) * dt.timedelta(seconds=1)
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def time_wire(c: int) -> str:
    """``HH:MM:SS``.

    >>> time_wire(3_600_000_000)
    '01:00:00'
    """
    s = c // 1_000_000
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def datetime_shown(c: int) -> pd.Timestamp:
    """As a pandas user sees it: a UTC ``Timestamp``."""
    return pd.Timestamp(c, unit="us", tz="UTC")


def time_shown(c: int) -> dt.time:
    """As a pandas user sees it: a ``datetime.time``."""
    return (dt.datetime.min + c * _US).time()
