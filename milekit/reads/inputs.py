"""What the writers take (``to_parquet``, ``to_excel``, ``push``): every frame milekit returns.

>>> import pyarrow as pa
>>> df = as_frame(pa.table({"_id": ["a"], "title": ["x"]}), "push", "tasks")
>>> df.index.name, str(df["title"].dtype), df.attrs["milekit"]["resource"]
('_id', 'string', 'tasks')

``milekit.frame(to="arrow")`` and ``tasks_table()`` give Arrow tables (their resource and
attrs in the schema's metadata), ``to="polars"`` a Polars frame (no metadata: its resource
is the one named, else the default), ``dtype_backend="pyarrow"`` a pandas frame of
``ArrowDtype`` columns. Each becomes the frame ``milekit.frame`` would have returned: the
resource's documented columns typed by the registry, the others by their Arrow type,
indexed by the id. Anything else is a :class:`TypeError` naming what is taken.

What a spreadsheet cell takes is here too (:data:`ILLEGAL`): ``to_excel`` writes the
control characters a cell cannot hold as U+FFFD, and ``push`` takes a cell so written as
the server's text, not as an edit. The writers (``milekit.files``, ``milekit.writes``)
share this module and must not import each other: it sits below both, in ``reads``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from milekit.reads.table import ATTRS_KEY, RESOURCE_KEY, empty_table
from milekit.types import registry, schema
from milekit.types.encode import field_type_of

#: what Excel cannot hold in a cell (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE)
ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

ACCEPTED = (
    "a pandas DataFrame (numpy or pyarrow dtypes), a pyarrow Table or a polars DataFrame "
    "(what milekit.frame returns)"
)


def as_frame(data: Any, who: str, resource: str | None = None) -> pd.DataFrame:
    """``data`` as a milekit pandas frame (a numpy-backed frame is returned as it is)."""
    if isinstance(data, pd.DataFrame):
        if not _arrow_backed(data):
            return data
        attrs = dict(data.attrs.get("milekit") or {})
        index = data.index.name is not None
        table = pa.Table.from_pandas(data, preserve_index=index).replace_schema_metadata(None)
        return _typed(table, resource or _name(attrs), attrs)
    if _is_polars(data):
        return _typed(data.to_arrow(), resource or registry.DEFAULT_RESOURCE, {})
    if isinstance(data, pa.Table):
        meta = data.schema.metadata or {}
        attrs = _attrs(meta)
        name = resource or meta.get(RESOURCE_KEY, b"").decode() or _name(attrs)
        return _typed(data.replace_schema_metadata(None), name, attrs)
    raise TypeError(f"{who} takes {ACCEPTED}, not {type(data).__module__}.{type(data).__name__}")


def _arrow_backed(df: pd.DataFrame) -> bool:
    """Every column an ``ArrowDtype`` (``dtype_backend="pyarrow"``); milekit's own frames
    hold some (times, dates) among numpy-backed ones and are taken as they are."""
    return len(df.columns) > 0 and all(isinstance(t, pd.ArrowDtype) for t in df.dtypes)


def _is_polars(data: Any) -> bool:
    return type(data).__module__.split(".")[0] == "polars" and hasattr(data, "to_arrow")


def _attrs(meta: dict[bytes, bytes]) -> dict[str, Any]:
    try:
        got = orjson.loads(meta.get(ATTRS_KEY, b"{}"))
    except orjson.JSONDecodeError:
        return {}
    return got if isinstance(got, dict) else {}


def _name(attrs: dict[str, Any]) -> str:
    return str(attrs.get("resource") or registry.DEFAULT_RESOURCE)


def _typed(table: pa.Table, name: str, attrs: dict[str, Any]) -> pd.DataFrame:
    """The frame of ``table``: documented columns cast to their registry type (a Polars
    ``large_string`` back to ``string`` …) with milekit's type metadata."""
    spec = registry.get(name)
    documented = empty_table(spec.rows).schema
    arrays, fields = [], []
    for f, col in zip(table.schema, table.columns, strict=True):
        f, col = _one(f, col, documented)
        arrays.append(col)
        fields.append(f)
    typed = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    df = schema.to_pandas(typed, index=spec.id_field)
    df.attrs["milekit"] = {**attrs, "resource": spec.name}
    return df


def _one(
    f: pa.Field, col: pa.ChunkedArray, documented: pa.Schema
) -> tuple[pa.Field, pa.ChunkedArray]:
    if (f.metadata or {}).get(schema.META):
        return f, col  # milekit typed it already
    if f.name in documented.names:
        known = documented.field(f.name)
        try:
            return known, col.cast(known.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass
    plain = _plain_type(col.type)
    if plain != col.type:
        col = col.cast(plain)
    meta = schema.field_meta(field_type_of(col.type))
    return pa.field(f.name, col.type, metadata=meta), col


def _plain_type(t: pa.DataType) -> pa.DataType:
    """Polars' large and view types as the ones milekit frames hold."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(_plain_type(t.value_type))
    if pa.types.is_dictionary(t):
        return pa.dictionary(t.index_type, _plain_type(t.value_type))
    return t
