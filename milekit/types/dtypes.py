"""Arrow <-> pandas: the frame's dtypes, from the API types recorded on Arrow fields.

>>> t = pa.table({"n": [1, None]}, schema=pa.schema([pa.field("n", pa.int64())]))
>>> str(to_pandas(t)["n"].dtype)
'Int64'

A column's dtype is its API type's (:data:`milekit.types.kinds.KINDS`): Arrow columns
become pandas ones (:func:`to_pandas`), lists and objects Python cells (also per page,
ahead: :func:`python_cells`, :func:`join_cells`), and an edited frame becomes an Arrow
table carrying milekit types again (:func:`from_pandas`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit.types.kinds import ARROW_DTYPES, KINDS, TEXT, TEXT_NAME, field_meta, meta_of
from milekit.types.model import FieldType
from milekit.types.parse import infer, json_text

F = FieldType
_EMPTY: np.ndarray[Any, Any] = np.empty(0, dtype=object)


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
            return pd.array(values, dtype="O") if _is_json(ft) else values
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
    (['_id'], ['Int64', 'string[pyarrow]'])

    A text column's entry names its storage (``string[pyarrow]``, not pandas' ``string``):
    plain pandas 2.2 would read ``string`` as ``string[python]`` (its default storage),
    pandas 3 as ``string[pyarrow]``; named, both give the frame's dtype
    (docs/guides/reading.md, "pandas and Python versions").
    """
    keep = index is not None and index in s.names
    empty = to_pandas(s.remove_metadata().empty_table(), index=index if keep else None)
    meta = orjson.loads(pa.Schema.from_pandas(empty, preserve_index=keep).metadata[b"pandas"])
    for c in meta["columns"]:
        if c["numpy_type"] == str(TEXT):
            c["numpy_type"] = TEXT_NAME
    return orjson.dumps(meta)


def _is_json(ft: FieldType | None) -> bool:
    """Is a column of this API type JSON text in Arrow (and decoded values in pandas)?"""
    return ft is not None and KINDS[ft].json_text


def _is_cells(f: pa.Field, ft: FieldType | None) -> bool:
    """Does this column become Python objects (lists, dicts) in pandas?"""
    return _is_json(ft) or (pa.types.is_nested(f.type) and ft != F.ENUM)


def json_cells(col: pa.ChunkedArray | pa.Array) -> list[Any]:
    return [None if v is None else orjson.loads(v) for v in col.to_pylist()]


def cell_values(arr: pa.Array | pa.ChunkedArray, ft: FieldType | None) -> list[Any]:
    """The Python values a frame holds for an Arrow column: JSON-typed columns are JSON text
    in Arrow and objects in the frame; enums are dictionary-encoded in Arrow.

    >>> cell_values(pa.array(['{"a": 1}', None]), F.JSON)
    [{'a': 1}, None]
    """
    t = arr.type
    if _is_json(ft) and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return json_cells(arr)
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
    if _is_json(ft):
        return pd.array(json_cells(col), dtype=object)
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
        at = KINDS[ft or F.STRING].arrow
        return pd.array([None] * len(col), dtype=ARROW_DTYPES.get(at, object))
    mapped = ARROW_DTYPES.get(t)
    if mapped is not None:
        return col.to_pandas(types_mapper=ARROW_DTYPES.get).array
    if pa.types.is_integer(t):
        return col.cast(pa.int64()).to_pandas(types_mapper=ARROW_DTYPES.get).array
    if pa.types.is_floating(t):
        return col.cast(pa.float64()).to_pandas(types_mapper=ARROW_DTYPES.get).array
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
    kind = KINDS[ft] if ft is not None else None
    if kind is not None and kind.json_text:
        return json_text(none_for_na(s.tolist())), kind.type
    if is_object:
        vals = none_for_na(s.tolist())
        if kind is not None and kind.text_list:  # a lone string: a one-item list (the API's)
            vals = [[v] if isinstance(v, str) else v for v in vals]
        if kind is not None and kind.cells and at is not None:
            try:
                return pa.array(vals, at), kind.type
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
        return pa.array(s.astype(object).where(s.notna(), None).tolist(), pa.string()), F.STRING
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
