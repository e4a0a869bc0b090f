"""A lake's partition rewritten from the rows a run read again, one batch at a time.

>>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
>>> d = Path(tempfile.mkdtemp())
>>> pq.write_table(pa.table({"_id": ["a", "b", "c"], "n": [1, 2, 3]}), d / "old.parquet")
>>> pq.write_table(pa.table({"_id": ["b"], "n": [20]}), d / "read0.parquet")
>>> pq.write_table(pa.table({"_id": ["b", "d"], "n": [22, 4]}), d / "read1.parquet")
>>> adds = [d / "read0.parquet", d / "read1.parquet"]  # in the reads' order
>>> unchanged(d / "old.parquet", adds, "_id", batch=2)
False
>>> rows = rewrite(d / "old.parquet", d / "new.parquet", d, adds, pa.array(["c"]), "_id",
...                lambda s: {}, batch=2)
>>> rows, pq.read_table(d / "new.parquet").sort_by("_id").to_pydict()
(3, {'_id': ['a', 'b', 'd'], 'n': [1, 22, 4]})

The rows an incremental run reads again (new, finished and every open task: with 15% of
the tasks open, 150,000 rows in a lake of 1M) are spilled by the run to scratch Parquet
files, one per read and partition. A partition is then compared with them and rewritten
from them in batches of ``batch`` rows: memory holds one batch of rows read again (and the
lake's rows of the same ids), never all of them. A row read by several reads (they run at
once) is taken from the copy with the newest update stamp, on a tie from the later read:
the files are given in the reads' order. Whether a partition changed is decided from the
ids and update stamps (two columns); rows are compared whole only where the stamps cannot
tell (:func:`unchanged`). Both lakes take from here what they share: the filters of the
reads (:func:`change_reads`) and the reads run at once (:func:`at_once`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from milekit.files.sink import Sink, batches_of, row_groups
from milekit.types import schema
from milekit.types.model import Changes
from milekit.wire.workers import read_pool, results

__all__ = [
    "at_once",
    "change_reads",
    "gone",
    "ids_of",
    "memo",
    "open_statuses",
    "rewrite",
    "unchanged",
]

T = TypeVar("T")

#: pages each of an incremental run's reads fetches at most ahead of the one it compares:
#: the reads run at once and compare slower than pages come (CPU), so with the default
#: (256; in practice the 32 a read keeps in flight) parsed pages waited in memory: the
#: run's peak at 1M tasks 538-556 MB, 1.25x that at 200k; with 8, 443-458 MB
#: (1.01-1.04x), as fast (4: slower). Four reads at once keep up to 32 pages in flight,
#: more than the 10 that 100 requests a second of 100 ms each need.
READ_LOOKAHEAD = 8
#: seconds a run's reads get to end after Ctrl-C (a page takes ~0.1-1 s on a live server)
STOP_GRACE = 2.0


def at_once(jobs: Sequence[Callable[[threading.Event], T]]) -> list[T]:
    """Run a run's reads at once, each ``job(stop)`` in its own thread (their pages are
    fetched concurrently too, all within the client's rate limit); their results in order.
    The first failure sets ``stop``, which the others check at each page, and is raised
    once they have ended; after Ctrl-C they get ``STOP_GRACE`` seconds to end (a page on
    a server that stopped answering is not waited for: milekit.wire.workers).

    >>> at_once([lambda stop: 1, lambda stop: 2])
    [1, 2]
    """
    stop = threading.Event()
    futures: list[Future[T]] = []
    try:
        with read_pool(len(jobs), "lake") as pool:
            try:
                for job in jobs:  # each kept at once: Ctrl-C can come between two
                    futures.append(pool.submit(job, stop))
                return results(futures)
            except BaseException:
                stop.set()  # the other reads end at their next page
                raise
    except KeyboardInterrupt:
        wait(futures, timeout=STOP_GRACE)  # most end at once: their scratch files closed
        raise


def change_reads(
    changes: Changes,
    params: Mapping[str, str],
    high_water: str | None,
    last_run: str | None,
    overlap: dt.timedelta,
) -> list[dict[str, Any]]:
    """The filters of an incremental run's reads (either lake): rows created since the
    high-water mark, finished since the last run (each less the overlap), then each open
    status.

    >>> from milekit.types.registry import TASKS
    >>> [sorted(r) for r in change_reads(TASKS.changes, {}, None, None, dt.timedelta(0))]
    [['status'], ['status']]
    """
    reads: list[dict[str, Any]] = []
    if high_water:
        since = dt.datetime.fromisoformat(high_water) - overlap
        reads.append({"timeBy": changes.created, "timeFrom": since})
    if changes.finished and last_run:
        since = dt.datetime.fromisoformat(last_run) - overlap
        reads.append({"timeBy": changes.finished, "timeFrom": since})
    return reads + [{changes.status_filter: s} for s in open_statuses(changes, params)]


def open_statuses(changes: Changes, params: Mapping[str, str]) -> list[str]:
    """The open statuses the lake's own filters let in."""
    chosen = params.get(changes.status_filter)
    allowed = set(chosen.split(",")) if chosen else None
    return [s for s in changes.open_statuses if allowed is None or s in allowed]


def ids_of(paths: Sequence[Path], id_field: str) -> pa.Array:
    """The ids in the files (read column by column: 24 bytes a row, not the rows).

    >>> ids_of([], "_id").to_pylist()
    []
    """
    cols = []
    for path in paths:
        f = pq.ParquetFile(str(path))
        if id_field in f.schema_arrow.names:
            cols.extend(f.read(columns=[id_field]).column(id_field).cast(pa.string()).chunks)
    return pa.concat_arrays(cols) if cols else pa.array([], pa.string())


def fresh(paths: Sequence[Path], id_field: str, batch: int, stamp: str = "") -> Iterator[pa.Table]:
    """The rows of the files in batches, each id once: of several copies, the one with the
    newest ``stamp`` (the server's update time), on a tie or without one the copy of the
    file given last (the reads run at once: their order says little of which is newer)."""
    for path, drop in zip(paths, losers(paths, id_field, stamp), strict=True):
        for t in _batches(path, batch):
            if drop is not None and id_field in t.column_names:
                t = t.filter(pc.invert(pc.is_in(_ids(t, id_field), value_set=drop)))
            if t.num_rows:
                yield t


def losers(paths: Sequence[Path], id_field: str, stamp: str) -> list[pa.Array | None]:
    """Per file, the ids of which another file holds the winning copy (see :func:`fresh`),
    or None: only ids and stamps are read.

    >>> losers([], "_id", "")
    []
    """
    keys = [_keys(path, id_field, stamp) for path in paths]
    every = pa.concat_arrays([k.column(id_field).combine_chunks() for k in keys] or [_NO_IDS])
    if len(pc.unique(every)) == len(every):
        return [None] * len(paths)  # no id read twice
    tagged = [k.append_column("_file", pa.array([i] * k.num_rows, pa.int32())) for i, k in
              enumerate(keys)]  # fmt: skip
    both = pa.concat_tables(tagged)
    no_stamp = pa.scalar(0, pa.timestamp("us", "UTC"))  # loses to any stamp
    both = both.set_column(1, _STAMP, pc.fill_null(both.column(_STAMP), no_stamp))
    order = [(id_field, "ascending"), (_STAMP, "ascending"), ("_file", "ascending")]
    both = both.take(pc.sort_indices(both, sort_keys=order))
    ids = both.column(id_field).combine_chunks()
    last = [*pc.not_equal(ids[:-1], ids[1:]).to_pylist(), True] if len(ids) else []
    lost = both.filter(pc.invert(pa.array(last, pa.bool_())))
    out: list[pa.Array | None] = []
    for i in range(len(paths)):
        mine = lost.filter(pc.equal(lost.column("_file"), i)).column(id_field)
        out.append(mine.combine_chunks() if len(mine) else None)
    return out


_STAMP = "_stamp"
_NO_IDS = pa.array([], pa.string())


def _keys(path: Path, id_field: str, stamp: str) -> pa.Table:
    """The ids (as text) and update stamps (``_stamp``, null where there is none) of a
    file: two columns, not the rows."""
    f = pq.ParquetFile(str(path))
    names = f.schema_arrow.names
    if id_field not in names:
        return pa.table({id_field: _NO_IDS, _STAMP: pa.array([], pa.timestamp("us", "UTC"))})
    cols = [id_field, *([stamp] if stamp and stamp in names else [])]
    t = f.read(columns=cols)
    ids = t.column(id_field).cast(pa.string())
    if len(cols) == 2 and pa.types.is_timestamp(t.schema.field(stamp).type):
        stamps = t.column(stamp).cast(pa.timestamp("us", "UTC"))
    else:
        stamps = pa.nulls(t.num_rows, pa.timestamp("us", "UTC"))
    return pa.table({id_field: ids, _STAMP: stamps})


def _ids(t: pa.Table, id_field: str) -> Any:
    return t.column(id_field).cast(pa.string())


def _batches(path: Path, batch: int) -> Iterator[pa.Table]:
    for b in batches_of(path, batch):
        yield pa.Table.from_batches([b])


def rewrite(
    final: Path,
    out: Path,
    spill_dir: Path,
    adds: Sequence[Path],
    gone: pa.Array | None,
    id_field: str,
    meta: Callable[[pa.Schema], Mapping[bytes, bytes]],
    batch: int,
    stamp: str = "",
) -> int:
    """``final``'s rows but the ids of ``adds`` and ``gone``, then the rows of ``adds``,
    written to ``out``: the rows written."""
    sink = Sink(out, "parquet", id_field, meta, spill_dir=spill_dir)
    if final.exists():
        drop = pa.concat_arrays([ids_of(adds, id_field), *([gone] if gone is not None else [])])
        for t in _batches(final, batch):
            if id_field in t.column_names:
                t = t.filter(pc.invert(pc.is_in(_ids(t, id_field), value_set=drop)))
            sink.write(t)
    for t in fresh(adds, id_field, batch, stamp):
        sink.write(t)
    return sink.finish().rows


def unchanged(
    final: Path,
    adds: Sequence[Path],
    id_field: str,
    batch: int,
    stamp: str = "",
    recent: dt.datetime | None = None,
) -> bool:
    """Whether every row of ``adds`` is in ``final`` exactly as it is (open tasks read
    again but not touched).

    The ids and update stamps decide first (two columns of ``final``, read a batch at a
    time): a row new to ``final`` or whose stamp moved has changed; one whose stamp is
    the same and older than ``recent`` (the start of the last run, less the overlap) has
    not (a change after the last run read it would have stamped it later). Only the rows
    left in doubt (a stamp from ``recent`` on: it has whole seconds, a second change in
    the same second keeps it; no stamp) are compared whole, ``batch`` at a time, with the
    lake's rows of their ids (one pass over ``final`` per batch)."""
    doubt = _doubtful(final, adds, id_field, batch, stamp, recent)
    if doubt is None:
        return False
    if not len(doubt):
        return True
    for new in _chunks(fresh(adds, id_field, batch, stamp), id_field, batch):
        new = new.filter(pc.is_in(new.column(id_field), value_set=doubt))
        if not new.num_rows:
            continue
        wanted = new.column(id_field).combine_chunks()
        found = [
            t.filter(pc.is_in(_ids(t, id_field), value_set=wanted))
            for t in _batches(final, batch)
            if id_field in t.column_names
        ]
        if not found or not _same_rows(pa.concat_tables(found), new, id_field):
            return False
    return True


def _doubtful(
    final: Path,
    adds: Sequence[Path],
    id_field: str,
    batch: int,
    stamp: str,
    recent: dt.datetime | None,
) -> pa.Array | None:
    """The ids of ``adds`` whose stamps cannot tell whether they changed, or None when
    one surely did (new to ``final``, or its stamp moved)."""
    drops = losers(adds, id_field, stamp)
    parts = []
    for path, drop in zip(adds, drops, strict=True):
        k = _keys(path, id_field, stamp)
        if drop is not None:
            k = k.filter(pc.invert(pc.is_in(k.column(id_field), value_set=drop)))
        parts.append(k)
    new = pa.concat_tables(parts) if parts else _keys_of_nothing(id_field)
    seen, sure = 0, []
    for old in _key_batches(final, id_field, stamp, batch):
        both = new.join(old, id_field, join_type="inner", right_suffix="_old")
        seen += both.num_rows
        a, b = both.column(_STAMP), both.column(_STAMP + "_old")
        same = pc.fill_null(pc.equal(a, b), False)
        if not pc.all(pc.or_(same, pc.is_null(a)), min_count=0).as_py():
            return None  # a stamp moved
        if recent is not None:
            when = pa.scalar(recent, pa.timestamp("us", "UTC"))
            old_enough = pc.fill_null(pc.less(a, when), False)
            sure.append(both.filter(pc.and_(same, old_enough)).column(id_field).combine_chunks())
    if seen < new.num_rows:
        return None  # a row new to the partition
    known = pa.concat_arrays(sure) if sure else _NO_IDS
    ids = new.column(id_field).combine_chunks()
    return ids.filter(pc.invert(pc.is_in(ids, value_set=known)))


def _keys_of_nothing(id_field: str) -> pa.Table:
    return pa.table({id_field: _NO_IDS, _STAMP: pa.array([], pa.timestamp("us", "UTC"))})


def _key_batches(path: Path, id_field: str, stamp: str, batch: int) -> Iterator[pa.Table]:
    """``path``'s ids and stamps (:func:`_keys`' columns) a batch at a time."""
    f = pq.ParquetFile(str(path))
    names = f.schema_arrow.names
    if id_field not in names:
        return
    has = bool(stamp) and stamp in names and pa.types.is_timestamp(f.schema_arrow.field(stamp).type)
    for b in batches_of(path, batch, [id_field, *([stamp] if has else [])]):
        ids = b.column(id_field).cast(pa.string())
        stamps = (
            b.column(stamp).cast(pa.timestamp("us", "UTC"))
            if has
            else pa.nulls(len(ids), pa.timestamp("us", "UTC"))
        )
        yield pa.table({id_field: ids, _STAMP: stamps})


def _chunks(tables: Iterator[pa.Table], id_field: str, batch: int) -> Iterator[pa.Table]:
    """``tables`` (their columns may differ) as tables of ``batch`` rows (the last one
    shorter), their ids as text."""
    with_ids = (
        t.set_column(
            t.column_names.index(id_field), id_field, _ids(t, id_field)
        ).replace_schema_metadata(None)
        for t in tables
        if id_field in t.column_names
    )
    return row_groups(with_ids, batch, join=schema.unify)


def _same_rows(old: pa.Table, new: pa.Table, id_field: str) -> bool:
    """Whether two tables hold the same rows (in any order; dictionaries decoded)."""
    old, new = old.replace_schema_metadata(None), new.replace_schema_metadata(None)
    if old.num_rows != new.num_rows:
        return False
    old = old.set_column(old.column_names.index(id_field), id_field, _ids(old, id_field))
    both = schema.unify([old, new])
    n = old.num_rows
    a, b = (_decoded(both.slice(i, n).sort_by(id_field)) for i in (0, n))
    return bool(a.equals(b))


def _decoded(table: pa.Table) -> pa.Table:
    """``table`` with dictionary columns as their values (two dictionaries of the same
    values can differ in order)."""
    cols = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.table(cols, names=table.column_names)


def memo(
    meta: Callable[[pa.Schema], Mapping[bytes, bytes]],
) -> Callable[[pa.Schema], Mapping[bytes, bytes]]:
    """``meta`` remembered by schema: a run opens a file per read and partition, all of
    one schema, and the footer's pandas entry took ~80 ms to build each time.

    >>> calls = []
    >>> m = memo(lambda s: calls.append(s) or {})
    >>> _ = m(pa.schema([("a", pa.int8())])), m(pa.schema([("a", pa.int8())]))
    >>> len(calls)
    1
    """
    known: dict[pa.Schema, Mapping[bytes, bytes]] = {}

    def cached(s: pa.Schema) -> Mapping[bytes, bytes]:
        key = s.remove_metadata()  # the footer is built from the columns
        if key not in known:
            known[key] = meta(s)
        return known[key]

    return cached


def gone(
    files: Mapping[str, Path], id_field: str, changes: Changes, ids: pa.Array
) -> dict[str, pa.Array]:
    """Rows of the lake in an open status that no read saw (deleted), by partition file:
    their ids (the files' id and status columns are read, not their rows).

    >>> gone({}, "_id", Changes("createdTime"), _NO_IDS)
    {}
    """
    if not changes.status_filter:
        return {}
    wanted = pa.array(changes.open_statuses)
    out: dict[str, pa.Array] = {}
    for name, path in files.items():
        f = pq.ParquetFile(str(path))
        cols = [c for c in (id_field, changes.status_filter) if c in f.schema_arrow.names]
        if len(cols) < 2:
            continue
        t = f.read(columns=cols)
        status = pc.cast(t.column(changes.status_filter), pa.string())
        rid = t.filter(pc.is_in(status, value_set=wanted)).column(id_field)
        lost = rid.filter(pc.invert(pc.is_in(rid, value_set=ids.cast(rid.type))))
        if len(lost):
            out[name] = lost.combine_chunks().cast(pa.string())
    return out
