"""A Parquet copy of a resource kept up to date by reading only what changed: ``milekit.sync``.

>>> import milekit, tempfile
>>> lake = tempfile.mkdtemp()
>>> with milekit.Sandbox(tasks=40) as sb, milekit.Client(sb.token, sb.url) as c:
...     first = milekit.sync("tasks", lake, client=c, progress=False)
...     again = milekit.sync("tasks", lake, client=c, progress=False)
...     same = milekit.read_lake(lake).sort_index().equals(
...         milekit.tasks_frame(client=c, progress=False).sort_index())
>>> first.mode, first.written, again.mode, again.fetched < first.fetched, same
('full', 40, 'incremental', True, True)

The directory is a Hive-partitioned dataset (``created_month=2026-10/part-0.parquet``) that
DuckDB, Polars, ``pyarrow.dataset`` and Spark read as it is: it holds the partitions and
nothing else. The run's own files (the state, the lock, files being written) are in a
hidden folder beside it, ``.tasks.milekit/`` for ``lake/tasks`` (:func:`home_of`); a lake
written by an older milekit, with its state inside, is moved to that layout by its next
run. ``milekit.read_lake`` gives the frame with the dtypes of ``tasks_frame()``. What a later
run reads, and why that is every row that can have changed, is the resource's
:class:`~milekit.types.model.Changes` in the registry, explained in docs/lake.md.
Resources without one (no time filter) are written as one file per run, a full snapshot.

Every file is written in the folder beside and appears by a rename (a partition is never
half-written), and the state file is written last: a run killed at any moment leaves a
readable dataset, and the next run reads again from the marks of the last completed run and
replaces rows by id, so nothing is lost or doubled.

A run records in the state file every name it is about to write (a partition file, and
its scratch directory beside the lake, where the files are written) before it creates it; the
next run removes what a killed one left among those names only, and no other file: a
Parquet file the lake did not write is never removed nor counted, it is a
:class:`LakeError` before anything is sent. A first run that fails (a dead server, a full
disk, Ctrl-C) removes everything it wrote, its directory too when it made it: a retry
reads everything again anyway.
"""

from __future__ import annotations

import copy
import datetime as dt
import errno
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from milekit._version import __version__
from milekit.errors import UsageError
from milekit.files import lake_batches
from milekit.files.export import file_metadata
from milekit.files.sink import ROW_GROUP_ROWS, Sink
from milekit.reads.filters import encode_filters
from milekit.reads.pages import iter_tables
from milekit.reads.plan import PlanAhead, ReadPlan, frame_attrs
from milekit.reads.table import RESOURCE_KEY
from milekit.types import registry
from milekit.types.model import Changes, ResourceSpec
from milekit.wire.client import Client
from milekit.wire.context import get_client
from milekit.wire.paging import LOOKAHEAD

__all__ = ["LakeError", "SyncResult", "sync"]

#: the state file, in the lake's home beside it (:func:`home_of`)
STATE_FILE = "state.json"
#: held while a run works on the lake (in its home, beside it)
LOCK_FILE = "lock"
#: where a lake written by milekit 0.1 kept its state and lock: inside the dataset, where
#: Polars refuses them; the next run moves them out (:func:`_migrate`)
LEGACY_STATE_FILE = "_milekit_sync.json"
LEGACY_LOCK_FILE = "_milekit_sync.lock"
_LEGACY_TMP = ".milekit-tmp-"
PART_FILE = "part-0.parquet"
#: the Hive partition column: the month (UTC) of the row's ``Changes.created`` time
PARTITION = "created_month"
#: Hive's name for the partition of rows without a value
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: how far before its marks a later run reads again (clock skew, late-visible writes)
DEFAULT_OVERLAP = dt.timedelta(hours=1)
#: rows a run holds at a time: pages gathered before a write, rows compared or rewritten
BATCH_ROWS = ROW_GROUP_ROWS
_TMP = "tmp-"
Mode = Literal["full", "incremental", "snapshot"]
#: fetched, written, deleted, rows, partitions written, partitions skipped
Counts = tuple[int, int, int, int, tuple[str, ...], int]


class LakeError(UsageError):
    """The directory is not this resource's lake: written by another resource or by
    something else, or its state file does not match its files."""


@dataclass(frozen=True)
class SyncResult:
    """What one :func:`sync` run did.

    ``fetched``: rows received (a row read twice counts twice); ``written``: rows in the
    partitions (files) it wrote; ``deleted``: rows it removed because the API no longer
    has them; ``partitions_written`` / ``partitions_skipped``: files replaced / left as
    they were; ``rows``: rows in the lake afterwards.
    """

    resource: str
    path: Path
    mode: Mode
    fetched: int
    written: int
    deleted: int
    rows: int
    partitions_written: tuple[str, ...]
    partitions_skipped: int
    requests: int
    seconds: float
    attempts: int = 1  #: a Delta lake's run starts again when another writer commits first

    def __str__(self) -> str:
        return (
            f"{self.resource} -> {self.path} ({self.mode}): fetched {self.fetched:,} rows in "
            f"{self.requests:,} requests, wrote {self.written:,} rows to "
            f"{len(self.partitions_written)} file(s), skipped {self.partitions_skipped}, "
            f"deleted {self.deleted:,}; {self.rows:,} rows in {self.seconds:.1f} s"
        )


@dataclass
class LakeState:
    """The state file: what the last completed run left, and what a run may be changing."""

    resource: str
    filters: dict[str, str]
    partitioned: bool
    complete: bool = False
    high_water: str | None = None  #: the newest ``created`` time in the lake (ISO, UTC)
    last_run: str | None = None  #: when the last completed run started (ISO, UTC)
    partitions: dict[str, int] = field(default_factory=dict)  #: file -> rows
    #: files a run may have replaced or written, recorded before it makes them
    pending: list[str] = field(default_factory=list)
    scratch: str | None = None  #: the scratch directory a run made (recorded before)
    milekit: str = __version__

    def save(self, lake: Path) -> None:
        home = home_of(lake)
        tmp = home / f"{STATE_FILE}.tmp"
        tmp.write_bytes(orjson.dumps(self.__dict__, option=orjson.OPT_INDENT_2))
        os.replace(tmp, home / STATE_FILE)

    @classmethod
    def load(cls, lake: Path) -> LakeState | None:
        """The state beside the lake, else one an older milekit left inside it."""
        path = home_of(lake) / STATE_FILE
        if not path.exists():
            path = lake / LEGACY_STATE_FILE
        if not path.exists():
            return None
        try:
            doc = orjson.loads(path.read_bytes())
            return cls(**doc)
        except (orjson.JSONDecodeError, TypeError) as e:
            raise LakeError(f"{path} is not a milekit sync state file ({e})") from None


def sync(
    resource: str,
    path: str | os.PathLike[str],
    *,
    client: Client | None = None,
    full: bool = False,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    progress: bool | None = None,
    **filters: Any,
) -> SyncResult:
    """Bring the Parquet dataset at ``path`` up to date with ``resource``.

    The first run reads everything; later runs read only what can have changed
    (docs/lake.md), or everything again with ``full=True``. ``filters`` (``hubId=`` …) are
    the list's own and must stay the same from run to run.

    Raises :class:`LakeError` before anything is sent when ``path`` holds another
    resource's lake, other Parquet files, or a state file its files do not match. A first
    run that fails (or is interrupted) leaves nothing of the lake behind; a later one
    leaves it readable, as the last completed run left it or partly updated, and the next
    run completes it.
    """
    spec = registry.get(resource)
    params = encode_filters(spec.query, spec.rows, filters, spec.custom)
    if not isinstance(overlap, dt.timedelta) or overlap < dt.timedelta(0):
        raise UsageError(f"overlap must be a duration of zero or more, got {overlap!r}")
    lake = Path(path)
    client = client or get_client()
    check_lake(lake, spec, params)  # a directory that is not this lake is left untouched
    before, t0 = client.stats.requests, time.perf_counter()
    made, first = _outermost_missing(lake), False
    try:
        with _exclusive(lake):
            state = check_lake(lake, spec, params)  # again: as the last run left it
            first = state is None
            run = _Run(spec, lake, client, params, progress, state)
            try:
                mode, counts = run.go(full, overlap)
                run.ahead.warn()  # unreadable definitions, from this thread
            except (Exception, KeyboardInterrupt):
                run.abandon(first)
                raise
    except (Exception, KeyboardInterrupt):
        if first:
            _remove_dirs(lake, made)
        raise
    return SyncResult(
        spec.name, lake, mode, *counts, requests=client.stats.requests - before,
        seconds=time.perf_counter() - t0,
    )  # fmt: skip


def home_of(lake: Path) -> Path:
    """Where a lake's own files are: a hidden folder beside it, so that the lake's folder
    holds the dataset and nothing else (readers take every file in it for data).

    >>> home_of(Path("/data/lake/tasks")).as_posix()
    '/data/lake/.tasks.milekit'
    """
    full = Path(os.path.abspath(lake))
    if not full.name:
        raise LakeError(f"a lake is a folder inside another, not {lake}")
    return full.parent / f".{full.name}.milekit"


def has_state(path: str | os.PathLike[str]) -> bool:
    """Whether a completed or interrupted run left a lake at ``path`` (its state file).

    >>> has_state("no/such/lake")
    False
    """
    lake = Path(path)
    return (home_of(lake) / STATE_FILE).exists() or (lake / LEGACY_STATE_FILE).exists()


def _migrate(lake: Path) -> None:
    """A lake an older milekit wrote, its state and lock inside: what a killed run of it
    left removed (its recorded names only), the state moved beside the lake."""
    old = lake / LEGACY_STATE_FILE
    if not old.exists():
        return
    home = home_of(lake)
    if not (home / STATE_FILE).exists():
        state = LakeState.load(lake)
        assert state is not None
        (lake / f".{LEGACY_STATE_FILE}.tmp").unlink(missing_ok=True)
        _remove_recorded(lake, state, lake, _LEGACY_TMP)
        state.scratch = None
        state.save(lake)
    old.unlink()
    (lake / LEGACY_LOCK_FILE).unlink(missing_ok=True)


def _outermost_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` that does not exist yet (None: it exists)."""
    made, p = None, path.absolute()
    while not p.exists():
        made, p = p, p.parent
    return made


def _remove_dirs(lake: Path, made: Path | None) -> None:
    """After a failed first run: its lock file and home, and the directories it made if
    empty."""
    home = home_of(lake)
    (home / LOCK_FILE).unlink(missing_ok=True)
    (home / f"{STATE_FILE}.tmp").unlink(missing_ok=True)
    with suppress(OSError):
        home.rmdir()  # unless something else is in it
    p = lake.absolute()
    while made is not None:
        try:
            p.rmdir()
        except OSError:
            return  # something else is in it: it stays
        if p == made:
            return
        p = p.parent


@contextmanager
def _exclusive(lake: Path) -> Iterator[None]:
    """One run per lake at a time (two overlapping cron runs would each replace what the
    other wrote): a second run is a LakeError at once, before anything is sent.

    The lock file stays after a run (removing it while another process may be opening it
    would let two runs hold "the" lock), except after a failed first run, which removes
    all it made (a first run racing another first run on a new directory is not covered)."""
    import filelock

    lake.mkdir(parents=True, exist_ok=True)
    home = home_of(lake)
    home.mkdir(exist_ok=True)
    lock = filelock.FileLock(str(home / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LakeError(f"another milekit.sync is running on {lake}") from None
    try:
        _migrate(lake)
        yield
    finally:
        lock.release()


def check_lake(lake: Path, spec: ResourceSpec, params: Mapping[str, str]) -> LakeState | None:
    """The lake's state, after checking that it is ``spec``'s and matches its files."""
    if not lake.exists():
        return None
    if not lake.is_dir():
        raise LakeError(f"{lake} is a file, not a directory")
    state = LakeState.load(lake)
    files = _data_files(lake)
    if state is None:
        if files:
            raise LakeError(
                f"{lake} holds Parquet files but no state file ({home_of(lake).name}/"
                f"{STATE_FILE} beside it): it was not written by milekit.sync (or its state "
                "file was removed); sync into a new directory"
            )
        return None
    check_selection(lake, state.resource, state.filters, spec, params)
    _check_files(lake, state, files, spec)
    return state


def check_selection(
    where: object, resource: str, filters: Mapping[str, str], spec: ResourceSpec,
    params: Mapping[str, str],
) -> None:  # fmt: skip
    """A LakeError unless the lake at ``where``, synced from ``resource`` with ``filters``
    (its state's), is ``spec``'s with ``params``: a lake keeps one selection.

    >>> check_selection("lake", "hubs", {}, registry.get("tasks"), {})
    Traceback (most recent call last):
    milekit.files.lake.LakeError: lake is a lake of hubs, not of tasks
    """
    if resource != spec.name:
        raise LakeError(f"{where} is a lake of {resource}, not of {spec.name}")
    if filters != dict(params):
        raise LakeError(
            f"{where} was synced with filters {filters}, not {dict(params)}: a lake keeps "
            "one selection (sync other filters into another lake)"
        )


def _check_files(lake: Path, state: LakeState, files: dict[str, Path], spec: ResourceSpec) -> None:
    """Every file the state records holds the rows it says, and no other file is there
    (except the ones a killed run recorded it may have been writing)."""
    problems = []
    for name, rows in state.partitions.items():
        if name in state.pending:
            continue
        if name not in files:
            problems.append(f"{name} is missing")
        elif pq.read_metadata(str(files[name])).num_rows != rows:
            problems.append(f"{name} does not hold the {rows:,} rows recorded")
    for name, f in files.items():
        if name not in state.partitions and name not in state.pending:
            problems.append(f"{name} is not recorded")
        meta = pq.read_schema(str(f)).metadata or {}
        if meta.get(RESOURCE_KEY, spec.name.encode()) != spec.name.encode():
            problems.append(f"{name} holds {meta[RESOURCE_KEY].decode()}")
    if problems:
        raise LakeError(
            f"{home_of(lake) / STATE_FILE} does not match the dataset: "
            + "; ".join(problems[:5])
            + " (sync with full=True into a new directory to rebuild it)"
        )  # fmt: skip


def _data_files(lake: Path) -> dict[str, Path]:
    """The dataset's Parquet files by their name relative to the lake (hidden ones and
    temporaries excluded)."""
    out = {}
    for f in lake.rglob("*.parquet"):
        rel = f.relative_to(lake)
        if not any(p.startswith((".", "_")) for p in rel.parts):
            out[rel.as_posix()] = f
    return out


class _Run:
    """One sync run's reading and writing."""

    def __init__(
        self,
        spec: ResourceSpec,
        lake: Path,
        client: Client,
        params: Mapping[str, str],
        progress: bool | None,
        old: LakeState | None,
    ) -> None:
        self.spec, self.lake, self.client, self.params = spec, lake, client, dict(params)
        self.progress, self.old = progress, old
        self.state: LakeState | None = None  #: what this run recorded, once it writes
        #: the state as the last run left it, put back when a run fails before it
        #: replaces anything (an incremental run's reads)
        self.restore: LakeState | None = None
        if old is not None:
            _sweep(lake, old)  # what a killed run left, of the names it recorded
        #: the definitions (GET /flows) are read beside page 1, not before it
        self.ahead = PlanAhead(spec, self.params, client)
        self.meta = lake_batches.memo(
            file_metadata(spec, lambda columns: frame_attrs(spec, self.params, self.plan, columns))
        )
        self.started = dt.datetime.now(dt.UTC)

    @property
    def plan(self) -> ReadPlan:
        return self.ahead.plan()

    def empty(self) -> pa.Schema:
        """The columns of a file that got no row (asked once its read is done)."""
        return self.plan.empty().schema

    def go(self, full: bool, overlap: dt.timedelta) -> tuple[Mode, Counts]:
        """Run as a snapshot, a full or an incremental read: the mode and its counts."""
        old = self.old
        if self.spec.changes is None:
            return "snapshot", self.snapshot()
        if full or old is None or not (old.complete and old.partitioned and old.high_water):
            return "full", self.full()
        return "incremental", self.incremental(old, overlap)

    @contextmanager
    def _writing(self, state: LakeState) -> Iterator[Path]:
        """``state`` saved with its scratch directory's name, then that directory."""
        self.state = state
        state.scratch = f"{_TMP}{uuid.uuid4().hex[:12]}"
        state.save(self.lake)
        tmp = home_of(self.lake) / state.scratch
        tmp.mkdir()
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def claim(self, name: str) -> None:
        """Record partition file ``name`` before its temporary is made."""
        assert self.state is not None
        if name not in self.state.pending:
            self.state.pending.append(name)
            self.state.save(self.lake)

    def abandon(self, first: bool) -> None:
        """After a failed run: its temporaries removed; after a failed first run, all the
        files it wrote too (with the state file, nothing of the lake remains)."""
        if self.state is None:
            return
        _sweep(self.lake, self.state)
        if self.restore is not None:
            self.restore.save(self.lake)
        if first:
            for name in self.state.pending:
                _remove(self.lake / name)
            (home_of(self.lake) / STATE_FILE).unlink(missing_ok=True)

    def tables(
        self, extra: Mapping[str, str] | None = None, lookahead: int | None = LOOKAHEAD
    ) -> Iterator[pa.Table]:
        params = {**self.params, **(extra or {})}
        yield from iter_tables(
            self.spec, params, client=self.client, progress=self.progress, plan=self.ahead,
            lookahead=lookahead,
        )  # fmt: skip

    def snapshot(self) -> Counts:
        """A full read into one file, replaced by a rename."""
        pending = sorted({PART_FILE, *_recorded(self.old)})
        state = LakeState(self.spec.name, self.params, partitioned=False, pending=pending)
        with self._writing(state) as tmp:
            router = _Router(self, tmp, by=None)
            fetched = router.feed(self.tables())
            written = router.finish()
        for stale in set(state.pending) - set(written):
            _remove(self.lake / stale)
        self._done(state, written, None)
        rows = sum(written.values())
        return fetched, rows, 0, rows, tuple(written), 0

    def full(self) -> Counts:
        """Everything read again; every partition replaced, ones no row fell in removed."""
        changes, old = self._changes(), self.old
        state = LakeState(self.spec.name, self.params, partitioned=True)
        state.partitions = dict(old.partitions) if old else {}
        state.pending = _recorded(old)  # new partitions are added as they come (claim)
        with self._writing(state) as tmp:
            router = _Router(self, tmp, by=changes.created)
            fetched = router.feed(self.tables())
            written = router.finish()
        gone = {g for g in set(state.pending) - set(written) if (self.lake / g).exists()}
        deleted = sum(pq.read_metadata(str(self.lake / g)).num_rows for g in gone)
        for g in gone:
            _remove(self.lake / g)
        self._done(state, written, router.high_water)
        rows = sum(written.values())
        return fetched, rows, deleted, rows, tuple(sorted(written)), 0

    def _changes(self) -> Changes:
        assert self.spec.changes is not None
        return self.spec.changes

    def _done(self, state: LakeState, written: Mapping[str, int], high: str | None) -> None:
        state.partitions = dict(sorted(written.items()))
        state.complete, state.pending, state.scratch = True, [], None
        state.high_water = latest(high, state.high_water)
        state.last_run = iso(self.started)
        state.save(self.lake)

    def incremental(self, state: LakeState, overlap: dt.timedelta) -> Counts:
        """Only what can have changed since the last completed run (docs/lake.md): the
        rows read again are spilled by partition to scratch files, then each partition is
        compared with them and rewritten a batch at a time (:mod:`lake_batches`)."""
        changes, idf = self._changes(), self.spec.id_field
        last = state.last_run
        recent = dt.datetime.fromisoformat(last) - overlap if last else None
        self.restore = LakeState(**copy.deepcopy(state.__dict__))
        _recount(self.lake, state)
        state.pending, rows, replaced = [], dict(state.partitions), []
        with self._writing(state) as tmp:
            fetched, adds, high = self._read_changes(changes, state, overlap, tmp)
            ids = lake_batches.ids_of([p for ps in adds.values() for p in ps], idf)
            files = {name: self.lake / name for name in state.partitions}
            gone = lake_batches.gone(files, self.spec.id_field, changes, ids)
            state.pending = sorted(set(adds) | set(gone))  # recorded before any is replaced
            state.save(self.lake)
            self.restore = None
            for name in state.pending:
                n = self._rewrite(name, tmp, adds.get(name, []), gone.get(name), recent)
                if n is None:
                    continue  # every row read back as it was: the file stays
                replaced.append(name)
                rows[name] = n
                if not n:
                    del rows[name]
                    _remove(self.lake / name)
        self._done(state, rows, high)
        written = sum(rows.get(n, 0) for n in replaced)
        skipped = len(set(rows) - set(replaced))
        deleted = sum(len(g) for g in gone.values())
        return fetched, written, deleted, sum(rows.values()), tuple(replaced), skipped

    def _read_changes(
        self, changes: Changes, state: LakeState, overlap: dt.timedelta, tmp: Path
    ) -> tuple[int, dict[str, list[Path]], str | None]:
        """Rows new since the high-water mark, finished since the last run, still open,
        spilled to scratch files: rows fetched, the files by partition (in the reads'
        order), the newest creation time read."""
        reads = lake_batches.change_reads(
            changes, self.params, state.high_water, state.last_run, overlap
        )
        routers = self._read_all(reads, changes, tmp)
        fetched, high, adds = 0, None, dict[str, list[Path]]()
        for router in routers:  # in the reads' order (a later copy wins a tie)
            fetched += router.fetched
            for name, path in router.spilled().items():
                adds.setdefault(name, []).append(path)
            high = latest(high, router.high_water)
        return fetched, adds, high

    def _read_all(self, reads: list[dict[str, Any]], changes: Changes, tmp: Path) -> list[_Router]:
        """The reads at once, each in its thread spilling to its own scratch files (its
        pages are fetched concurrently too, all within the client's rate limit): a read
        no longer waits for the one before it to end, and the files are written while
        pages are on the wire. Their rows held together stay within one batch."""
        budget = max(1, BATCH_ROWS // max(1, len(reads)))
        jobs = [
            partial(self._read_one, tmp, changes.created, budget, f"read{i}", extra)
            for i, extra in enumerate(reads)
        ]
        return lake_batches.at_once(jobs)

    def _read_one(
        self, tmp: Path, by: str | None, budget: int, label: str, extra: dict[str, Any],
        stop: threading.Event,
    ) -> _Router:  # fmt: skip
        query = encode_filters(self.spec.query, self.spec.rows, extra)
        router = _Router(self, tmp, by=by, label=label, budget=budget)
        router.feed(self.tables(query, lake_batches.READ_LOOKAHEAD), stop)
        return router

    def _rewrite(
        self,
        name: str,
        tmp: Path,
        adds: list[Path],
        gone: pa.Array | None,
        recent: dt.datetime | None,
    ) -> int | None:
        """Replace partition file ``name``: its rows but the ones read again and the
        ``gone`` ids, then the rows read again; the rows written, or None when nothing in
        it changed (the file stays; ``recent``: see :func:`lake_batches.unchanged`)."""
        final, idf, stamp = self.lake / name, self.spec.id_field, self.spec.updated
        if gone is None and adds and final.exists():
            if lake_batches.unchanged(final, adds, idf, BATCH_ROWS, stamp, recent):
                return None
        final.parent.mkdir(parents=True, exist_ok=True)
        out = _scratch_name(tmp, name)
        rows = lake_batches.rewrite(
            final, out, _spill_dir(tmp), adds, gone, idf, self.meta, BATCH_ROWS, stamp
        )
        if rows:
            _move(out, final)
        else:
            out.unlink(missing_ok=True)
        return rows


class _Router:
    """Page tables into one sink per partition file, in bounded memory."""

    def __init__(
        self,
        run: _Run,
        tmp: Path,
        by: str | None,
        label: str | None = None,
        budget: int | None = None,
    ) -> None:
        self.run, self.lake, self.spec, self.tmp, self.by = run, run.lake, run.spec, tmp, by
        self.budget = BATCH_ROWS if budget is None else budget  #: rows held at most
        self.fetched = 0
        self.label = label  #: a read spilled to scratch files only (:meth:`spilled`)
        self.empty, self.meta = run.empty, run.meta
        self.sinks: dict[str, Sink] = {}
        self.high_water: str | None = None

    def feed(self, tables: Iterable[pa.Table], stop: threading.Event | None = None) -> int:
        """Each page into its partition's file: the rows fetched (also ``self.fetched``);
        ends early once ``stop`` is set (another read failed)."""
        fetched = 0
        for table in tables:
            if stop is not None and stop.is_set():
                break
            fetched += table.num_rows
            self.fetched += table.num_rows
            for name, part in _split(table, self.by).items():
                self._sink(name).write(part)
            if self.by is not None:
                self.high_water = high_water(table, self.by, self.high_water)
            held = sorted(self.sinks.values(), key=lambda s: s.held_rows)
            while sum(s.held_rows for s in held) > self.budget:
                held.pop().flush()  # the fullest first: memory stays at one row group
        return fetched

    def _sink(self, name: str) -> Sink:
        if name not in self.sinks:
            if self.label is None:
                self.run.claim(name)
                (self.lake / name).parent.mkdir(parents=True, exist_ok=True)
            where = _scratch_name(self.tmp, name if self.label is None else f"{self.label}/{name}")
            self.sinks[name] = Sink(
                where, "parquet", self.spec.id_field, self.meta,
                spill_dir=_spill_dir(self.tmp), empty_schema=self.empty,
            )  # fmt: skip
        return self.sinks[name]

    def finish(self) -> dict[str, int]:
        """Close every file and move it into place: rows per file."""
        if self.by is None and not self.sinks:
            self._sink(PART_FILE)  # a snapshot of nothing still has its columns
        written = {}
        for name, sink in self.sinks.items():
            written[name] = sink.finish().rows
            _move(sink.path, self.lake / name)
        return written

    def spilled(self) -> dict[str, Path]:
        """Close every scratch file: the files by partition (a read of the run)."""
        for sink in self.sinks.values():
            sink.finish()
        return {name: sink.path for name, sink in self.sinks.items()}


def _recorded(old: LakeState | None) -> list[str]:
    """The files the last run left or may have written: the ones a new run may replace."""
    return sorted({*old.partitions, *old.pending}) if old is not None else []


def _recount(lake: Path, state: LakeState) -> None:
    """The rows of the files a killed run may have replaced, as they are now."""
    for name in state.pending:
        f = lake / name
        if f.exists():
            state.partitions[name] = pq.read_metadata(str(f)).num_rows
        else:
            state.partitions.pop(name, None)


def _spill_dir(scratch: Path) -> Path:
    """A sink's own directory in the run's scratch: every partition's spills have the same
    names (``.part-0.parquet.tmp.000001.arrow``), one directory would mix them."""
    return Path(tempfile.mkdtemp(dir=scratch))


def _scratch_name(scratch: Path, name: str) -> Path:
    """Where partition file ``name`` is written before its rename: in the run's scratch
    folder beside the lake (readers of the lake never see it)."""
    return scratch / (name.replace("/", "~") + ".tmp")


def _tmp_name(final: Path) -> Path:
    """Beside ``final``, hidden and not ``*.parquet``: where a file is copied before its
    rename when the scratch folder is on another file system (the lake's folder is a mount
    point), and where milekit 0.1 wrote every file."""
    return final.with_name(f".{final.name}.tmp")


def _move(src: Path, final: Path) -> None:
    """``src`` renamed to ``final`` (atomic); across file systems, copied beside first."""
    try:
        os.replace(src, final)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        shutil.copyfile(src, _tmp_name(final))
        os.replace(_tmp_name(final), final)
        src.unlink()


def _split(table: pa.Table, by: str | None) -> dict[str, pa.Table]:
    """``table`` by partition file (``created_month=2026-10/part-0.parquet``)."""
    if by is None:
        return {PART_FILE: table}
    if not table.num_rows:
        return {}
    if by in table.column_names:
        col = table.column(by)
        months = pc.fill_null(pc.strftime(col, format="%Y-%m"), NULL_PARTITION)
    else:
        months = pa.chunked_array([pa.array([NULL_PARTITION] * table.num_rows)])
    out = {}
    for month in pc.unique(months).to_pylist():
        out[f"{PARTITION}={month}/{PART_FILE}"] = table.filter(pc.equal(months, month))
    return out


def high_water(table: pa.Table, by: str, since: str | None = None) -> str | None:
    """A run's mark: the newest ``by`` time in ``table`` (ISO, UTC), or ``since`` if newer.

    >>> t = pa.table({"c": [dt.datetime(2026, 1, 2, tzinfo=dt.UTC)]})
    >>> high_water(t, "c"), high_water(t, "c", iso(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
    ('2026-01-02T00:00:00.000000+00:00', '2026-03-01T00:00:00.000000+00:00')
    """
    top = None
    if by in table.column_names and table.num_rows:
        top = pc.max(table.column(by)).as_py()
    return latest(since, iso(top) if top is not None else None)


def latest(*marks: str | None) -> str | None:
    """The newest of some marks (:func:`iso` text compares as time): ``latest(None, m)`` is m."""
    return max(filter(None, marks), default=None)


def iso(t: dt.datetime) -> str:
    """A time as a mark: ISO text in UTC to the microsecond (marks compare as text)."""
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _sweep(lake: Path, state: LakeState) -> None:
    """Remove what a killed run left of the names it recorded in ``state``: its scratch
    directory and the temporaries of its files (and nothing else, item 5)."""
    home = home_of(lake)
    (home / f"{STATE_FILE}.tmp").unlink(missing_ok=True)
    _remove_recorded(lake, state, home, _TMP)


def _remove_recorded(lake: Path, state: LakeState, where: Path, prefix: str) -> None:
    """The scratch folder ``state`` recorded (a plain name under ``where`` starting with
    ``prefix``) and the temporaries of the files it was writing: nothing else."""
    scratch = state.scratch
    if scratch and scratch.startswith(prefix) and Path(scratch).name == scratch:
        shutil.rmtree(where / scratch, ignore_errors=True)
    for name in state.pending:
        _remove(_tmp_name(lake / name))


def _remove(file: Path) -> None:
    file.unlink(missing_ok=True)
    folder = file.parent
    if folder.name.startswith(PARTITION + "=") and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
