"""Arrow types a Delta table cannot hold, mapped to ones it can, and back on reading.

>>> import pyarrow as pa
>>> status = pa.dictionary(pa.int32(), pa.string())
>>> frame = pa.schema([("eta", pa.time64("us")), ("status", status)])
>>> delta_schema(frame).types
[DataType(int64), DataType(string)]
>>> t = to_delta(pa.table({"eta": pa.array([1_000_000], pa.time64("us")),
...                        "status": pa.array(["DONE"]).dictionary_encode()}), frame)
>>> restore(t, frame).schema.equals(frame)
True

Delta has no time-of-day type, no null type and no dictionary encoding: a ``time64`` is
stored as its microseconds (``int64``), a column that was null on every row so far as a
string column, a dictionary as its values. Each run records the Arrow schema of what it
wrote (with milekit's field metadata) in its commit, and :func:`restore` gives the table
those types back, so ``read_lake`` returns exactly the dtypes of ``tasks_frame()``.
"""

from __future__ import annotations

import base64

import pyarrow as pa

__all__ = ["decode_schema", "delta_schema", "encode_schema", "restore", "to_delta"]


def delta_type(t: pa.DataType) -> pa.DataType:
    """The type a Delta table stores for Arrow type ``t``."""
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_dictionary(t):
        return delta_type(t.value_type)
    if pa.types.is_time(t):
        return pa.int64()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(delta_type(f.type)) for f in t])
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(delta_type(t.value_type)))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(delta_type(t.value_type)))
    return t


def delta_schema(s: pa.Schema) -> pa.Schema:
    """``s`` as a Delta table holds it (field metadata dropped: it is in the commit)."""
    return pa.schema([pa.field(f.name, delta_type(f.type), f.nullable) for f in s])


def to_delta(table: pa.Table | pa.RecordBatch, s: pa.Schema) -> pa.Table:
    """``table`` (of schema ``s``) cast to :func:`delta_schema`."""
    t = pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) else table
    return t.replace_schema_metadata(None).cast(delta_schema(s))


def _restored(arr: pa.Array, t: pa.DataType) -> pa.Array:
    if arr.type == t:
        return arr
    if pa.types.is_null(t):
        return pa.nulls(len(arr))
    if pa.types.is_struct(t) and pa.types.is_struct(arr.type):
        have = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
        kids = [
            _restored(arr.field(have[f.name]), f.type)
            if f.name in have
            else pa.nulls(len(arr), f.type)
            for f in t
        ]
        return pa.StructArray.from_arrays(kids, fields=list(t), mask=arr.is_null())
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and (
        pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
    ):
        values = _restored(arr.flatten(), t.value_type)
        offsets = arr.offsets if arr.offset == 0 else arr.offsets.slice(arr.offset)
        first = offsets[0].as_py()
        if first:
            offsets = pa.compute.subtract(offsets, first)
        kind = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        return kind.from_arrays(offsets, values, type=t, mask=arr.is_null())
    return arr.cast(t)


def restore(table: pa.Table, s: pa.Schema) -> pa.Table:
    """``table`` as read from Delta, with the types of ``s`` back (its columns that ``s``
    does not name kept as they are, in order after them)."""
    names, arrays, fields = [], [], []
    for f in s:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, f.type))
        else:
            col = table.column(f.name).combine_chunks()
            arrays.append(_restored(col, f.type))
        names.append(f.name)
        fields.append(f)
    for name in table.column_names:
        if name not in names:
            arrays.append(table.column(name).combine_chunks())
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def encode_schema(s: pa.Schema) -> str:
    """``s`` (field metadata kept) as text for a commit's metadata."""
    return base64.b64encode(s.remove_metadata().serialize().to_pybytes()).decode()


def decode_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
