"""What an incremental Delta run sends to its merge: the rows that changed, and the ids
gone; each row carries a hash of its content.

>>> import pyarrow as pa, pyarrow.dataset as ds
>>> old = pa.table({"_id": ["a", "b", "c"], "n": [1, 2, 3], "status": ["DONE"] + ["ONGOING"] * 2})
>>> lake = ds.dataset(pa.Table.from_batches([with_hash(old.to_batches()[0])]))
>>> keys = LakeKeys.scan(lake, "_id", "", "status", ["ONGOING"])
>>> page = pa.table({"_id": ["a", "b", "d"], "n": [1, 20, 4],
...                  "status": ["DONE", "ONGOING", "ONGOING"]})
>>> same = keys.same(id_keys(page.column("_id")), np.asarray(row_hashes(page.to_batches()[0])))
>>> page.filter(pa.array(~same)).column("_id").to_pylist()
['b', 'd']
>>> keys.gone(Seen([(id_keys(page.column("_id")), np.zeros(3, np.int64))])).to_pylist()
['c']
>>> gone_batch(pa.array(["c"]), pa.schema([("_id", pa.string()), ("n", pa.int64())]),
...            "_id").to_pydict()
{'_id': ['c'], 'n': [None], '_milekit_hash': [None], '_milekit_gone': [True]}

An incremental run reads again every open task (15% of a lake: 150,000 rows in a lake of
1M), most of them unchanged. Sent as they are, the merge rewrites every file holding one
of them and its memory grows with the table. So every row the lake holds carries
:data:`HASH`, a 64-bit hash of its values (:func:`row_hashes`), and each page read again
is compared with the lake as it arrives, by two numbers a row: the lake's ids (as 64-bit
keys) and hashes are scanned once while the first pages are on the wire
(:class:`LakeKeys`, about 16 bytes a row), and only the rows whose hash the lake does not
hold are kept (spilled); the others leave their key and update stamp (16 bytes a row).
Where several reads got one id, the copy with the newest stamp wins, on a tie the later
read (:class:`Seen`). A lake written before the hash (no such column, or a row without
one) counts every row read again as changed: the merge adds the column and the next run
compares. The rows the run found gone are sent as ids with :data:`GONE` true, deleted by a
``when_matched_delete`` clause: no clause of the merge scans the rows of the table the
source does not name.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from milekit.types.scalars import datetime_of_us

__all__ = [
    "GONE",
    "HASH",
    "NO_STAMP",
    "Doubts",
    "LakeKeys",
    "Seen",
    "flagged",
    "gone_batch",
    "id_keys",
    "id_predicate",
    "ranges",
    "row_hashes",
    "sql_name",
    "stamps",
    "unsettled",
    "with_gone",
    "with_hash",
]

#: the source column that marks an id the run found gone (never written to the table)
GONE = "_milekit_gone"
#: the column of the table holding each row's content hash (read_lake drops it)
HASH = "_milekit_hash"
#: rows of the lake's ids and hashes scanned at a time
SCAN_ROWS = 65_536
#: keys looked up at once beyond which they are sorted first (_found)
_SORT_FIRST = 16_384
#: the hash taken for a row that has none (it never matches a row read)
_NO_HASH = np.int64(0)
#: the update stamp taken for a row that has none (it never proves a row unchanged)
NO_STAMP = np.iinfo(np.int64).min
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


@functools.lru_cache(maxsize=4096)
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
        if name in (HASH, GONE) or col.null_count == len(col):
            continue  # a column null throughout adds nothing
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


def id_keys(ids: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, Any]:
    """A 64-bit key per id (int64), a function of the id's text alone: ids compared as
    numbers. Read from Arrow's buffers, a machine word at a time (no Python string is
    made): the ids of a lake of 1M rows in a few tens of milliseconds.

    >>> a = id_keys(pa.array(["6a6d37b6149f08d113bfc574", "x", "6a6d37b6149f08d113bfc575"]))
    >>> b = id_keys(pa.chunked_array([["x"], ["6a6d37b6149f08d113bfc575"]]))
    >>> bool(a[1] == b[0] and a[2] == b[1] and len(set(a.tolist())) == 3)
    True
    """
    arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + n + 1]
    data = arr.buffers()[2]
    text = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    out = np.zeros(n, np.uint64)
    one = n and (lengths == lengths[0]).all()  # ids have one width (ObjectIds: 24)
    for width in [int(lengths[0])] if one else np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == width)
        words = -(-width // 8)
        grid = np.zeros((len(rows), words * 8), np.uint8)
        if width and len(rows) == n:  # one width: the texts lie end to end
            grid[:, :width] = text[offsets[0] : offsets[-1]].reshape(n, width)
        elif width:
            grid[:, :width] = text[offsets[rows][:, None] + np.arange(width)]
        h = np.full(len(rows), np.uint64(width))
        for w in grid.view(np.uint64).T:
            h = _mix(h ^ w)
        out[rows] = _mix(h)
    return out.view(np.int64)


def stamps(col: pa.Array | pa.ChunkedArray | None, n: int) -> np.ndarray[Any, Any]:
    """Each row's update stamp in microseconds (int64; :data:`NO_STAMP` where missing).

    >>> import datetime as dt
    >>> stamps(pa.array([dt.datetime(1970, 1, 1, 0, 0, 1), None]), 2).tolist()[0]
    1000000
    """
    if col is None or not pa.types.is_timestamp(col.type):
        return np.full(n, NO_STAMP, np.int64)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    us = pc.cast(arr, pa.timestamp("us", arr.type.tz), safe=False).cast(pa.int64())
    return np.asarray(pc.fill_null(us, NO_STAMP).to_numpy(), np.int64)


#: microseconds in the whole second a list's time filter is given in
_SECOND = 1_000_000


def ranges(
    created: np.ndarray[Any, Any], doubt: np.ndarray[Any, Any], page: int
) -> list[tuple[int, int]] | None:
    """The creation-time ranges (microseconds, whole seconds, the end a second past the
    last) that hold every row in ``doubt``, each holding at most ``page`` of the rows read
    (``created``, consecutive pages of a list by creation time), so that one request
    fetches it; where that would take as many requests as the pages read, one range from
    the first row in doubt to the last (read a page at a time); None when a row in doubt
    has no creation time (its status is read again whole).

    >>> s = _SECOND
    >>> ranges(np.arange(10) * s, np.array([1, 2, 8]) * s, page=3)
    [(1000000, 3000000), (8000000, 9000000)]
    >>> ranges(np.arange(10) * s, np.array([0, 5, 9]) * s, page=4)  # 3 ranges, 3 pages
    [(0, 10000000)]
    """
    if not len(doubt):
        return []
    if (doubt == NO_STAMP).any():
        return None
    everyone = np.sort(created // _SECOND)
    seconds = np.unique(doubt // _SECOND)
    whole = -(-len(created) // page)  # the pages of reading them all again
    out: list[tuple[int, int]] = []
    lo = hi = int(seconds[0])
    for x in seconds[1:].tolist():
        inside = np.searchsorted(everyone, x, "right") - np.searchsorted(everyone, lo, "left")
        if inside > page:
            out.append((lo, hi))
            lo = x
            if len(out) >= whole:
                break
        hi = x
    out.append((lo, hi))
    if len(out) >= whole:
        out = [(int(seconds[0]), int(seconds[-1]))]
    return [(a * _SECOND, (b + 1) * _SECOND) for a, b in out]


class Doubts:
    """The rows a narrowed read (ids, update and creation stamps only) leaves in doubt,
    handed to ``start(lo, hi)`` as creation-time ranges to read whole (:func:`ranges`;
    ``start(None, None)``: the status whole, once) as soon as the lake's keys are in,
    while the read goes on: until then each page waits as three numbers a row.

    >>> from concurrent.futures import Future
    >>> keys: Future[LakeKeys] = Future()
    >>> asked: list[tuple[int | None, int | None]] = []
    >>> d = Doubts(keys, recent=0, page=10, start=lambda lo, hi: asked.append((lo, hi)))
    >>> d.add(np.array([7]), np.array([5]), np.array([3 * _SECOND]))
    >>> asked  # the lake's keys are not in yet
    []
    >>> no_rows = np.empty(0, np.int64)
    >>> keys.set_result(LakeKeys(no_rows, no_rows, no_rows, pa.array([], pa.string())))
    >>> d.finish()
    >>> asked  # a row the lake does not hold
    [(3000000, 4000000)]
    """

    def __init__(
        self,
        keys: Future[LakeKeys],
        recent: int,
        page: int,
        start: Callable[[int | None, int | None], None],
    ) -> None:
        self.keys, self.recent, self.page, self.start = keys, recent, page, start
        self.pending: list[tuple[np.ndarray[Any, Any], ...]] = []
        self.whole = False  #: the status is read again whole: nothing more to plan

    def add(
        self,
        keys: np.ndarray[Any, Any],
        stamped: np.ndarray[Any, Any],
        created: np.ndarray[Any, Any],
    ) -> None:
        """A page's rows: planned at once if the lake's keys are in."""
        self.pending.append((keys, stamped, created))
        if self.keys.done():
            self.plan()

    def finish(self) -> None:
        """The read is done: wait for the lake's keys and plan what is left."""
        self.keys.result()
        self.plan()

    def plan(self) -> None:
        pending, self.pending = self.pending, []
        if not pending or self.whole:
            return
        keys, stamped, created = (np.concatenate(parts) for parts in zip(*pending, strict=True))
        doubt = ~self.keys.result().stamped_same(keys, stamped, self.recent)
        spans = ranges(created, created[doubt], self.page)
        if spans is None:
            self.whole = True
            self.start(None, None)
            return
        for lo, hi in spans:
            self.start(lo, hi)


def unsettled(status: str, statuses: list[str], created: str, since: int) -> str | None:
    """The files of the lake that hold a row some read of the run can bring back, as
    deltalake's file pruning predicate (``to_pyarrow_dataset(file_pruning_predicate=)``,
    decided by the Delta log's statistics of each file): every file but those whose every
    row has a status no longer open (no null) and was created before ``since``
    (microseconds: the created read's window). No read of the run brings their rows back
    but a finished read of the overlap (a row finished just before the last run), which
    then counts as changed and is merged again as it is. A file without those statistics
    is kept (deltalake's rule); None (no status): every file.

    >>> for part in unsettled("status", ["ONGOING"], "createdTime", since=0).split(" OR "):
    ...     print(part)
    `status` IN ('ONGOING')
    `status` IS NULL
    `createdTime` >= '1970-01-01T00:00:00.000000Z'
    `createdTime` IS NULL
    """
    if not status:
        return None
    at = datetime_of_us(since).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    st, made = sql_name(status), sql_name(created)
    held = ", ".join(_literal(s) for s in statuses) or "NULL"
    return f"{st} IN ({held}) OR {st} IS NULL OR {made} >= {_literal(at)} OR {made} IS NULL"


def sql_name(name: str) -> str:
    """A column's name in a deltalake predicate (merge or file pruning), quoted.

    >>> sql_name("a`b")
    '`a``b`'
    """
    return "`" + name.replace("`", "``") + "`"


def id_predicate(id_field: str, ids: pa.Array) -> str | None:
    """The rows whose id is one of ``ids``, as a deltalake predicate (a replace's: the
    rows it drops); None for ids of a type it does not spell (not text nor integers).

    >>> id_predicate("_id", pa.array(["a", "o'k", None]))
    "`_id` IN ('a', 'o''k')"
    >>> id_predicate("id", pa.array([7], pa.int32())), id_predicate("d", pa.array([1.5]))
    ('`id` IN (7)', None)
    """
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        spell: Callable[[Any], str] = _literal
    elif pa.types.is_integer(ids.type):
        spell = str
    else:
        return None
    held = ", ".join(spell(x) for x in pc.drop_null(ids).to_pylist()) or "NULL"
    return f"{sql_name(id_field)} IN ({held})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LakeKeys:
    """What a run compares the rows it reads again with: the lake's ids as keys
    (:func:`id_keys`), sorted, with each row's :data:`HASH`; and its open rows' ids.
    Scanned once (three columns, never whole rows), while the run's first pages are on
    the wire; about 16 bytes a row of the lake and the open rows' ids.

    >>> import pyarrow.dataset as ds
    >>> t = pa.table({"_id": ["a", "b"], "n": [1, 2], "status": ["DONE", "ONGOING"]})
    >>> lake = ds.dataset(pa.Table.from_batches([with_hash(t.to_batches()[0])]))
    >>> keys = LakeKeys.scan(lake, "_id", "", "status", ["ONGOING"])
    >>> keys.same(id_keys(pa.array(["a", "b"])), np.asarray(row_hashes(t.to_batches()[0]))
    ...           ).tolist()
    [True, True]
    >>> keys.gone(Seen([(id_keys(pa.array(["a"])), np.array([0]))])).to_pylist()
    ['b']
    """

    def __init__(
        self,
        keys: np.ndarray[Any, Any],
        hashes: np.ndarray[Any, Any],
        stamped: np.ndarray[Any, Any],
        opened: pa.Array,
    ) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys, self.hashes, self.stamps = keys[order], hashes[order], stamped[order]
        self.opened = opened
        self.open_keys = id_keys(opened) if len(opened) else np.empty(0, np.int64)

    @classmethod
    def scan(
        cls, lake: ds.Dataset, id_field: str, stamp: str, status: str, statuses: list[str]
    ) -> LakeKeys:
        """The keys of ``lake`` (``stamp``: the update stamp column); its rows whose
        ``status`` is in ``statuses`` are open."""
        names = lake.schema.names
        has_status = bool(status) and status in names and bool(statuses)
        extra = [c for c in (HASH, stamp) if c and c in names]
        cols = [id_field, *extra, *([status] if has_status else [])]
        wanted = pa.array(statuses, pa.string())
        keys, hashes, stamped, opened = [], [], [], [pa.array([], pa.string())]
        for b in lake.to_batches(
            columns=cols, batch_size=SCAN_ROWS, batch_readahead=1, fragment_readahead=1
        ):
            ids = b.column(id_field).cast(pa.string())
            keys.append(id_keys(ids))
            h = b.column(HASH) if HASH in extra else pa.nulls(len(ids), pa.int64())
            hashes.append(np.asarray(pc.fill_null(h, _NO_HASH).to_numpy(), np.int64))
            stamped.append(stamps(b.column(stamp) if stamp in extra else None, len(ids)))
            if has_status:
                hit = pc.is_in(b.column(status).cast(pa.string()), value_set=wanted)
                opened.append(ids.filter(pc.fill_null(hit, False)))
        return cls(_joined(keys), _joined(hashes), _joined(stamped), pa.concat_arrays(opened))

    def _find(self, keys: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], Any]:
        """Per key, its place in the lake's and whether the lake holds it."""
        return _found(self.keys, keys)

    def stamped_same(
        self, keys: np.ndarray[Any, Any], stamped: np.ndarray[Any, Any], recent: int
    ) -> np.ndarray[Any, Any]:
        """Which rows the lake holds as they are by their update stamp alone: the same
        stamp, older than ``recent`` (the last run's start less the overlap: a change
        after that run read the row would have stamped it later; a stamp has whole
        seconds, so a second change in the same second keeps it: rows stamped from
        ``recent`` on are compared by content)."""
        at, found = self._find(keys)
        if not len(self.keys):  # a lake whose every row is gone: nothing is the same
            return np.zeros(len(keys), bool)
        out: np.ndarray[Any, Any] = found & (self.stamps[at] == stamped) & (stamped < recent)
        out &= stamped != NO_STAMP
        return out

    def same(
        self, keys: np.ndarray[Any, Any], hashes: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        """Which rows (by key and content hash) the lake holds as they are."""
        at, found = self._find(keys)
        if not len(self.keys):
            return np.zeros(len(keys), bool)
        out: np.ndarray[Any, Any] = found & (self.hashes[at] == hashes)
        out &= hashes != _NO_HASH
        return out

    def held(self, keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Which of ``keys`` the lake holds (a row of the run new or changed)."""
        held: np.ndarray[Any, Any] = self._find(keys)[1]
        return held

    def gone(self, seen: Seen) -> pa.Array:
        """The ids of the lake's open rows no read saw."""
        if not len(self.opened):
            return self.opened
        return self.opened.filter(pa.array(~seen.has(self.open_keys)))


def _joined(parts: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


class Seen:
    """The rows an incremental run's reads got, per read its keys (sorted) and update
    stamps: which ids some read saw, and which copy of an id wins where several reads
    (run at once) got it: the newest update stamp, on a tie the later read.

    >>> seen = Seen([(np.array([5, 7]), np.array([2, 2])), (np.array([7]), np.array([1]))])
    >>> seen.has(np.array([5, 6, 7])).tolist()
    [True, False, True]
    >>> seen.won(np.array([7]), np.array([1]), read=1).tolist()
    [False]
    """

    def __init__(self, reads: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]) -> None:
        self.reads = []
        for keys, stamped in reads:
            order = np.argsort(keys)  # a stable sort took twice as long
            ranked = keys[order]
            if len(ranked) > 1 and (ranked[1:] == ranked[:-1]).any():
                order = np.argsort(keys, kind="stable")  # an id twice: its copies in order
                ranked = keys[order]
            self.reads.append((ranked, stamped[order]))

    def has(self, keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Which of ``keys`` some read got (one search among every read's keys: a search
        per read took ~90 ms for the 155,000 open rows of a 1M lake, this ~25)."""
        every = np.sort(np.concatenate([k for k, _ in self.reads])) if self.reads else keys[:0]
        got: np.ndarray[Any, Any] = _found(every, keys)[1]
        return got

    def won(
        self, keys: np.ndarray[Any, Any], stamped: np.ndarray[Any, Any], read: int
    ) -> np.ndarray[Any, Any]:
        """Which of read ``read``'s rows (keys and stamps) no other read's copy beats."""
        out = np.ones(len(keys), bool)
        for i, (k, st) in enumerate(self.reads):
            if i != read:
                at, hit = _found(k, keys)
                theirs = st[at] if len(k) else np.zeros(len(keys), np.int64)
                out &= ~(hit & ((theirs > stamped) | ((theirs == stamped) & (i > read))))
        return out


def _found(
    sorted_keys: np.ndarray[Any, Any], keys: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per key, its place in ``sorted_keys`` and whether it is there. Many keys are
    searched for in their sorted order (the searches then walk memory in order: the
    155,000 open keys of a 1M lake in ~11 ms, ~27 in the order they came)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    if len(keys) > _SORT_FIRST:
        order = np.argsort(keys)
        at = np.empty(len(keys), np.int64)
        at[order] = np.searchsorted(sorted_keys, keys[order])
    else:
        at = np.searchsorted(sorted_keys, keys)
    at = np.minimum(at, len(sorted_keys) - 1)
    hit: np.ndarray[Any, Any] = sorted_keys[at] == keys
    return at, hit


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
