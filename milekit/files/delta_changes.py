"""What an incremental Delta run sends to its merge: the rows that changed, and the ids
gone, a batch at a time; each row carries a hash of its content.

>>> import pyarrow as pa, pyarrow.dataset as ds
>>> old = pa.table({"_id": ["a", "b", "c"], "n": [1, 2, 3]})
>>> lake = ds.dataset(pa.Table.from_batches([with_hash(old.to_batches()[0])]))
>>> read = pa.table({"_id": ["a", "b", "d"], "n": [1, 20, 4]}).to_batches()
>>> same = unchanged(iter(read), lake, "_id")
>>> same.to_pylist()
['a']
>>> [b.to_pydict()["_id"] for b in changed(iter(read), same, "_id")]
[['b', 'd']]
>>> gone_batch(pa.array(["c"]), pa.schema([("_id", pa.string()), ("n", pa.int64())]),
...            "_id").to_pydict()
{'_id': ['c'], 'n': [None], '_milekit_hash': [None], '_milekit_gone': [True]}

An incremental run reads again every open task (15% of a lake: 150,000 rows in a lake of
1M), most of them unchanged. Sent as they are, the merge rewrites every file holding one
of them and its memory grows with the table. So every row the lake holds carries
:data:`HASH`, a 64-bit hash of its values (:func:`row_hashes`), and the rows read again
are compared with the lake by two columns only: the ids and hashes of the rows read again
are held (about 32 bytes a row), the lake's ids and hashes are scanned once, a batch at a
time, and only the rows whose hash the lake does not hold go on. A lake written before
the hash (no such column, or a row without one) counts every row read again as changed:
the merge adds the column and the next run compares. The rows the run found gone are sent
as ids with :data:`GONE` true, deleted by a ``when_matched_delete`` clause: no clause of
the merge scans the rows of the table the source does not name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

__all__ = [
    "GONE",
    "HASH",
    "changed",
    "flagged",
    "gone_batch",
    "row_hashes",
    "rows_of",
    "unchanged",
    "with_gone",
    "with_hash",
]

#: the source column that marks an id the run found gone (never written to the table)
GONE = "_milekit_gone"
#: the column of the table holding each row's content hash (read_lake drops it)
HASH = "_milekit_hash"
#: rows of the lake's ids and hashes scanned at a time
SCAN_ROWS = 65_536
_M1, _M2, _GOLD = (
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x9E3779B97F4A7C15),
)


def _mix(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """splitmix64's finaliser, element-wise (wrapping uint64 arithmetic)."""
    x = x + _GOLD
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    out: np.ndarray[Any, Any] = x ^ (x >> np.uint64(31))
    return out


def _key(name: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest()))


def _bits(col: pa.Array, dtype: type[np.generic]) -> np.ndarray[Any, Any]:
    """The 64 bits of each value of a numeric column (nulls as 0)."""
    filled = pc.fill_null(col, pa.scalar(0, col.type))
    return np.asarray(filled.to_numpy(), dtype).view(np.uint64)


def _value_hashes(col: pa.Array) -> np.ndarray[Any, Any]:
    """One uint64 per value of ``col``, the same for the same value whatever the width of
    its type (int32 or int64, string or string_view); nulls give anything (masked)."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _value_hashes(col.dictionary_decode())
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return _bits(col.cast(pa.int64()), np.int64)
    if pa.types.is_floating(t):
        return _bits(col.cast(pa.float64()), np.float64)
    if pa.types.is_temporal(t) and t.bit_width in (32, 64):
        ints = col.view(pa.int64() if t.bit_width == 64 else pa.int32()).cast(pa.int64())
        return _bits(ints, np.int64)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        text = pc.fill_null(col.cast(pa.large_string()), "").to_numpy(zero_copy_only=False)
        return np.asarray(pd.util.hash_array(text, categorize=False), np.uint64)
    if pa.types.is_struct(t):
        fields = ((t.field(i).name, col.field(i)) for i in range(t.num_fields))
        return _summed(fields, len(col))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _list_hashes(col)
    opts = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    docs = np.array([orjson.dumps(v, option=opts, default=str) for v in col.to_pylist()])
    return np.asarray(pd.util.hash_array(docs.astype(object), categorize=False), np.uint64)


def _list_hashes(col: pa.Array) -> np.ndarray[Any, Any]:
    """Per list: its values' hashes, each mixed with its position, summed; and its length."""
    values = col.flatten()
    lengths = np.asarray(pc.fill_null(pc.list_value_length(col), 0).to_numpy(), np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    pos = (np.arange(len(values)) - np.repeat(starts, lengths)).astype(np.uint64)
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    each = np.where(valid, _mix(_value_hashes(values) ^ _mix(pos)), np.uint64(0))
    sums = np.concatenate([np.zeros(1, np.uint64), np.cumsum(each, dtype=np.uint64)])
    out: np.ndarray[Any, Any] = _mix((sums[ends] - sums[starts]) ^ lengths.astype(np.uint64))
    return out


def _summed(columns: Any, n: int) -> np.ndarray[Any, Any]:
    """Per row, over the columns (name, array) not null: the name's key mixed with the
    value's hash, summed (wrapping)."""
    h = np.zeros(n, np.uint64)
    for name, col in columns:
        if name in (HASH, GONE):
            continue
        valid = col.is_valid().to_numpy(zero_copy_only=False)
        h += np.where(valid, _mix(_value_hashes(col) ^ _key(name)), np.uint64(0))
    return h


def row_hashes(batch: pa.RecordBatch) -> pa.Array:
    """A 64-bit hash of each row's values (int64), the same in every process: per column,
    its name's key mixed with the value's hash, summed over the columns not null (a
    column added to the schema, null on the old rows, keeps their hashes).

    >>> b = pa.record_batch({"a": [1, 2], "b": ["x", None]})
    >>> row_hashes(b).equals(row_hashes(pa.record_batch({"a": [1, 2], "b": ["x", None]})))
    True
    """
    h = _summed(zip(batch.schema.names, batch.columns, strict=True), batch.num_rows)
    return pa.array(h.view(np.int64), pa.int64())


def with_hash(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with its :data:`HASH` column."""
    s = batch.schema.append(pa.field(HASH, pa.int64()))
    return pa.RecordBatch.from_arrays([*batch.columns, row_hashes(batch)], schema=s)


def unchanged(batches: Iterator[pa.RecordBatch], lake: ds.Dataset, id_field: str) -> pa.Array:
    """The ids of ``batches`` whose row the lake holds as it is (the same hash), from the
    lake's ids and hashes only, scanned once a batch at a time."""
    if HASH not in lake.schema.names:
        return pa.array([], pa.string())
    ids, hashes = [], []
    for b in batches:
        ids.append(b.column(id_field).cast(pa.string()))
        hashes.append(row_hashes(b))
    if not ids:
        return pa.array([], pa.string())
    read_ids, read_hashes = pa.concat_arrays(ids), pa.concat_arrays(hashes)
    same = [pa.array([], pa.string())]
    for b in lake.to_batches(
        columns=[id_field, HASH], batch_size=SCAN_ROWS, batch_readahead=1, fragment_readahead=1
    ):
        at = pc.index_in(b.column(id_field).cast(pa.string()), value_set=read_ids)
        hit = pc.is_valid(at)
        equal = pc.equal(read_hashes.take(at.filter(hit)), b.column(HASH).filter(hit))
        same.append(read_ids.take(at.filter(hit)).filter(pc.fill_null(equal, False)))
    return pa.concat_arrays(same)


def changed(
    batches: Iterator[pa.RecordBatch], same: pa.Array, id_field: str
) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` whose id is not in ``same``, each with its hash."""
    for batch in batches:
        ids = batch.column(id_field).cast(pa.string())
        out = batch.filter(pc.invert(pc.is_in(ids, value_set=same)))
        if out.num_rows:
            yield with_hash(out)


def rows_of(lake: ds.Dataset, columns: list[str], field: str, values: Any) -> pa.Table:
    """The rows of ``lake`` whose ``field`` is one of ``values``, scanned a batch at a time
    (filtered here: a dataset filter fails on files deltalake wrote as ``string_view``)."""
    values = values.cast(pa.string())
    found = [
        b.filter(pc.is_in(b.column(field).cast(pa.string()), value_set=values))
        for b in lake.to_batches(
            columns=columns, batch_size=8192, batch_readahead=1, fragment_readahead=1
        )
    ]
    schema = lake.schema
    out = pa.Table.from_batches(found) if found else schema.empty_table().select(columns)
    return out


def with_gone(s: pa.Schema) -> pa.Schema:
    """``s`` and the :data:`GONE` flag."""
    return s.append(pa.field(GONE, pa.bool_()))


def flagged(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of rows to keep: its :data:`GONE` flag false."""
    flag = pa.array([False] * batch.num_rows, pa.bool_())
    return pa.RecordBatch.from_arrays([*batch.columns, flag], schema=with_gone(batch.schema))


def gone_batch(ids: pa.Array, s: pa.Schema, id_field: str) -> pa.RecordBatch:
    """The ids found gone as a batch of ``s`` and its hash (nulls but the id), flagged
    :data:`GONE`."""
    n, s = len(ids), s.append(pa.field(HASH, pa.int64()))
    cols = [ids.cast(f.type) if f.name == id_field else pa.nulls(n, f.type) for f in s]
    return pa.RecordBatch.from_arrays([*cols, pa.array([True] * n)], schema=with_gone(s))
