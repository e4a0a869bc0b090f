"""One row per API field type: everything the conversions need to know about a type.

>>> k = KINDS[FieldType.DATETIME]
>>> str(k.arrow), k.raw, str(k.dtype), k.seconds
('timestamp[us, tz=UTC]', DataType(string), 'datetime64[us, UTC]', True)
>>> k.parse(["2024-10-07 07:44:18"])[0].to_pylist()[0].isoformat()
'2024-10-07T07:44:18+00:00'

A field type is a :class:`Kind`: its typed Arrow form, the JSON type a page is read as
(and the C page decoder's hint for it), the pandas dtype of its frame column, how raw
values are typed (``parse``), its canonical, wire and display forms (what a diff compares
and a push sends), and how a spreadsheet cell becomes its API value (``sheet``). The
typing (:mod:`milekit.types.schema`), the encoding (:mod:`milekit.types.encode`), the
frames, the diff and the files look a type up here instead of keeping tables or if-chains
of their own: adding a field type is adding a row (and its tests).

The C decoder's kind codes are its own (``_pagejson.KIND_BOOL`` ...); a row names the
one its raw type takes (``native``), and the page parser reads the numbers from the
module, so they live in C alone (``tests/types/test_kinds.py`` pins the names).

Each field of a page's Arrow table carries its API type (and an enum's values) in its
metadata under ``b"milekit"`` (:func:`field_meta`, :func:`meta_of`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from milekit.types import parse as P
from milekit.types import scalars as S
from milekit.types.model import FieldType

F = FieldType

#: How a spreadsheet cell becomes a type's API value (read by ``milekit.files``):
#: ``text``, ``number``, ``bool``, ``instant`` (a date-time in the sheet's zone), ``date``,
#: ``time``, ``list`` (``a, b`` or a JSON list), ``json`` (JSON text)
SheetForm = Literal["text", "number", "bool", "instant", "date", "time", "list", "json"]


@dataclass(frozen=True)
class Kind:
    """What the conversions know about one API field type (see the module's table).

    >>> KINDS[FieldType.ARRAY_STRING].canonical("a", ())
    ['a']
    """

    type: FieldType
    #: the typed Arrow form; None: a struct or list of structs whose keys the values give
    arrow: pa.DataType | None
    #: the JSON type a page reader reads the field as; None: inferred from the page
    raw: pa.DataType | None
    #: the pandas dtype of a frame column of this type
    dtype: Any
    #: raw values (Python values or a raw Arrow column) -> (typed array, the API type it
    #: holds: another one for Object / Array of Object values that fit no struct)
    parse: Callable[[P.Values], tuple[pa.Array, FieldType]]
    #: a value -> its comparable form (``ValueError`` if it does not fit); with the enum
    canonical: Callable[[Any, Sequence[str]], Any]
    #: a canonical value -> the JSON sent / what a pandas user sees
    wire: Callable[[Any], Any] = S.same
    display: Callable[[Any], Any] = S.same
    sheet: SheetForm = "text"
    #: the C page decoder's hint kind for ``raw`` (``_pagejson.KIND_<native>``; "": none)
    native: str = ""
    #: the Arrow column takes its dtype through ``to_pandas(types_mapper=...)``
    mapped: bool = False
    #: canonical as microseconds (an int), which the API keeps to the second: compared so
    seconds: bool = False
    #: the text columns of a page's fields of this type are parsed in one Arrow pass
    batched: bool = False
    #: a frame holds Python objects (lists, dicts) for it
    cells: bool = False
    #: JSON text in Arrow and in files, decoded values in a frame
    json_text: bool = False
    #: a lone text stands for a list of one (as the API takes it)
    text_list: bool = False
    #: a date or time: a component's ``format`` may give it (``milekit.reads.custom``)
    temporal: bool = False


#: A text column's dtype, the same object under pandas 2.2 and 3.x: Arrow-backed with
#: ``pd.NA`` for a missing value (``str(TEXT) == "string"``). Neither pandas 3's default
#: ``str`` (NaN for missing) nor pandas 2.2's ``object``: see "pandas and Python versions"
#: in docs/guides/reading.md.
TEXT = pd.StringDtype("pyarrow")
#: TEXT as a dtype string both pandas lines parse back to it (``pd.api.types.pandas_dtype``)
TEXT_NAME = f"{TEXT.name}[{TEXT.storage}]"
_OBJECT = np.dtype(object)

# fmt: off
_ROWS = (
    Kind(F.STRING, pa.string(), pa.string(), TEXT, P.as_string, S.text, native="STRING",
         mapped=True),
    Kind(F.INTEGER, pa.int64(), pa.int64(), pd.Int64Dtype(), P.as_integers, S.integer,
         sheet="number", native="INT", mapped=True),
    Kind(F.FLOAT, pa.float64(), pa.float64(), pd.Float64Dtype(), P.as_floats, S.number,
         sheet="number", native="FLOAT", mapped=True),
    Kind(F.BOOLEAN, pa.bool_(), pa.bool_(), pd.BooleanDtype(), P.as_booleans, S.boolean,
         sheet="bool", native="BOOL", mapped=True),
    Kind(F.DATETIME, P.UTC_US, pa.string(), pd.DatetimeTZDtype("us", "UTC"), P.as_datetimes,
         S.datetime_us, S.datetime_wire, S.datetime_shown, sheet="instant", native="STRING",
         seconds=True, batched=True, temporal=True),
    Kind(F.TIME, pa.time64("us"), pa.string(), pd.ArrowDtype(pa.time64("us")), P.as_times,
         S.time_us, S.time_wire, S.time_shown, sheet="time", native="STRING", mapped=True,
         seconds=True, batched=True, temporal=True),
    Kind(F.DATE, pa.date32(), pa.string(), pd.ArrowDtype(pa.date32()), P.as_dates,
         S.date_text, sheet="date", native="STRING", mapped=True, temporal=True),
    Kind(F.ENUM, pa.dictionary(pa.int32(), pa.string()), pa.string(), pd.CategoricalDtype(),
         P.as_enum, S.enum_value, native="STRING"),
    Kind(F.OBJECT, None, None, _OBJECT, P.as_nested, S.json_object, sheet="json", cells=True),
    Kind(F.ARRAY_STRING, pa.list_(pa.string()), pa.list_(pa.string()), _OBJECT,
         P.as_text_lists, S.text_list, sheet="list", native="LIST", cells=True,
         text_list=True),
    Kind(F.ARRAY_OBJECT, None, None, _OBJECT, P.as_nested, S.object_list, sheet="json",
         cells=True),
    Kind(F.JSON, pa.string(), None, _OBJECT, P.as_json, S.json_any, sheet="json",
         cells=True, json_text=True),
)
# fmt: on

#: Every API field type's :class:`Kind`.
KINDS: Mapping[FieldType, Kind] = MappingProxyType({k.type: k for k in _ROWS})

#: Arrow type -> the pandas dtype its column takes (``to_pandas(types_mapper=...)``)
ARROW_DTYPES: Mapping[pa.DataType, Any] = MappingProxyType(
    {pa.large_string(): TEXT} | {k.arrow: k.dtype for k in _ROWS if k.mapped}
)

#: The key of a field's API type in Arrow field metadata
META = b"milekit"


def field_meta(ftype: FieldType, enum: Sequence[str] = ()) -> dict[bytes, bytes]:
    """The Arrow field metadata that records an API type (and an enum's values).

    >>> field_meta(FieldType.ENUM, ["A"])
    {b'milekit': b'{"type":"Enum","enum":["A"]}'}
    """
    return {META: orjson.dumps({"type": ftype.value, "enum": list(enum)})}


def meta_of(f: pa.Field) -> tuple[FieldType | None, list[str]]:
    """The API type recorded on an Arrow field (None for a foreign file).

    >>> meta_of(pa.field("x", pa.string(), metadata=field_meta(FieldType.JSON)))
    (<FieldType.JSON: 'JSON'>, [])
    """
    raw = (f.metadata or {}).get(META)
    if raw is None:
        return None, []
    ft, enum = _meta(raw)
    return ft, list(enum)


@functools.lru_cache(maxsize=1024)
def _meta(raw: bytes) -> tuple[FieldType, tuple[str, ...]]:
    d = orjson.loads(raw)
    return FieldType(d["type"]), tuple(d.get("enum") or ())
