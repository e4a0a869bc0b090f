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

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from milekit.types.dtypes import cell_values
from milekit.types.kinds import KINDS
from milekit.types.registry import FieldType
from milekit.types.scalars import is_missing, json_ready

F = FieldType

__all__ = ["canonical", "coarse", "display", "field_type_of", "is_missing", "json_ready", "wire"]


def canonical(v: Any, ft: FieldType, enum: Iterable[str] = ()) -> Any:
    """The comparable form of ``v`` as API type ``ft``; ``ValueError`` if it does not fit."""
    if is_missing(v):
        return None
    if isinstance(v, np.generic) and not isinstance(v, np.datetime64):
        v = v.item()
    return KINDS[ft].canonical(v, tuple(enum))


def wire(c: Any, ft: FieldType) -> Any:
    """The JSON value to send for a canonical value (``None`` -> ``null``)."""
    return None if c is None else KINDS[ft].wire(c)


def coarse(c: Any, ft: FieldType) -> Any:
    """A canonical value at the precision the API stores (datetimes and times: seconds).

    >>> coarse(1_500_000, FieldType.DATETIME) == coarse(1_000_000, FieldType.DATETIME)
    True
    """
    if c is not None and KINDS[ft].seconds:
        return c // 1_000_000
    return c


def display(c: Any, ft: FieldType) -> Any:
    """A canonical value as a pandas user sees it (datetimes as ``Timestamp`` ...)."""
    return None if c is None else KINDS[ft].display(c)


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
    at = KINDS[ft].arrow
    if KINDS[ft].seconds and at is not None and arr.type.id == at.id:  # microseconds, as ints
        return list(arr.cast(at).view(pa.int64()).to_pylist())
    values = cell_values(arr, ft)
    out: list[Any] = []
    for v in values:
        try:
            out.append(canonical(v, ft))
        except ValueError:
            out.append(json_ready(v) if isinstance(v, dict | list) else v)
    return out
