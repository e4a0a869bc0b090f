"""The lake as a Delta table, on a local disk or in object storage: ``sync(format="delta")``.

>>> import milekit, tempfile
>>> lake = tempfile.mkdtemp() + "/tasks"
>>> with milekit.Sandbox(tasks=40) as sb, milekit.Client(sb.token, sb.url) as c:
...     first = milekit.sync("tasks", lake, client=c, progress=False, format="delta")
...     again = milekit.sync("tasks", lake, client=c, progress=False)
...     same = milekit.read_lake(lake).sort_index().equals(
...         milekit.tasks_frame(client=c, progress=False).sort_index())
>>> first.mode, first.written, again.mode, same, len(milekit.lake_history(lake))
('full', 40, 'incremental', True, 2)

Each run is ONE Delta commit: a merge by id of the rows it read (new, changed, finished)
that also deletes the rows the run found gone (a few such rows: one overwrite of the rows
with their ids, :data:`REPLACE_ROWS`), carrying the run's marks (the high-water mark, the
start of the run, the resource and its filters) in the commit's own metadata
(:mod:`milekit.files.delta_versions`).
The data and the marks change together or not at all: a run killed at any moment leaves
the last version as it was (files it wrote and did not commit are referenced by nothing;
``vacuum`` removes them) and the next run starts from the marks of the last commit. Two
writers at once: Delta's commit protocol lets one commit win (on S3 by a conditional
put); the other re-reads from the newest marks and tries again, at most :data:`ATTEMPTS`
times, then raises :class:`LakeConflictError`. What a run reads again is the same as for
the Hive lake (docs/lake.md); the pages are spilled to local scratch Parquet files as they
arrive and merged from a stream of batches.

Credentials come from the environment the table library reads (``AWS_*``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``) or ``storage_options=``; they are
handed to ``deltalake`` and never written, logged or repeated in an error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from milekit.files.delta_changes import (
    GONE,
    HASH,
    NO_STAMP,
    Doubts,
    LakeKeys,
    Seen,
    flagged,
    gone_batch,
    id_keys,
    id_predicate,
    row_hashes,
    sql_name,
    stamps,
    unsettled,
    with_gone,
    with_hash,
)
from milekit.files.delta_store import (
    clean,
    deltalake_module,
    is_remote,
    open_table,
    options_for,
    table_uri,
)
from milekit.files.delta_types import decode_schema, delta_schema, encode_schema, to_delta
from milekit.files.delta_versions import (
    COUNTS_KEY,
    STATE_KEY,
    DeltaState,
    check_delta,
    counts_doc,
)
from milekit.files.lake import LakeError, Mode, SyncResult, high_water, iso, latest
from milekit.files.lake_batches import READ_LOOKAHEAD, at_once, change_reads, open_statuses
from milekit.files.sink import Sink, batches_of
from milekit.reads.filters import encode_filters
from milekit.reads.pages import iter_tables
from milekit.reads.plan import PlanAhead, ReadPlan
from milekit.types import schema
from milekit.types.model import Changes, ResourceSpec
from milekit.types.scalars import datetime_of_us, datetime_us
from milekit.wire.client import Client
from milekit.wire.paging import LOOKAHEAD
from milekit.wire.workers import read_pool, results

__all__ = ["LakeConflictError", "sync_delta"]

#: how many times a run that lost a commit race starts again from the newest marks
ATTEMPTS = 4
#: the size of the data files a new table is written in and keeps (its
#: ``delta.targetFileSize``): a merge rewrites only the files holding a row it changes, and
#: skips the others by their id ranges. The open rows are written first, by id, so edits
#: of recent tasks touch one or two files: at 200k tasks 8 MiB files made the merge copy
#: ~34,600 rows (all the open ones) and take ~0.8 s, 2 MiB files ~9,200 rows, ~0.2 s
FILE_BYTES = 2 * 2**20
#: an incremental run reads the open rows as their ids and stamps only (a ``fields=``
#: projection: a tenth of the bytes and of the parsing) and whole only the rows in doubt,
#: once the lake holds this many pages of rows; a smaller lake's open rows are a page or
#: two, read whole at once (the projection would cost a request more per open status)
NARROW_FROM_PAGES = 10
#: a run that changed (or found gone) at most this many rows into a table of the same
#: columns commits them as one overwrite of the rows with their ids (deltalake's
#: ``predicate=``), not a merge: at 1M tasks 0.16 s against 2.1 s for 60 rows spread over
#: the open rows' files, 0.5 s against 3.6 s for 1,000; 2.4-2.9 s against 3.5 s for 5,000
#: (the predicate's list grows). The rows are held in memory: ~3 KB a task row
REPLACE_ROWS = 2_048
#: fetched, written, deleted, rows
Counts = tuple[int, int, int, int]
#: rows added, changed and deleted by a commit
Changed = tuple[int, int, int]


class LakeConflictError(LakeError):
    """Other writers committed to the lake before this run each time it tried."""


class _LostRace(Exception):
    """Another writer committed first (a new table it made, or a conflicting commit)."""


#: rows of a scratch file handed to deltalake at a time: a task row decodes to ~3 KB (its
#: nested columns), so a 65,536-row batch took ~200 MB (8,192: the same speed)
WRITE_ROWS = 8_192
#: pages a narrowed read of open rows fetches at most ahead of the one it compares (its
#: pages are three numbers a row: 64 of them ~5 MB)
NARROW_LOOKAHEAD = 64


def sync_delta(
    spec: ResourceSpec,
    uri: str,
    params: Mapping[str, str],
    client: Client,
    *,
    full: bool,
    overlap: dt.timedelta,
    progress: bool | None,
    storage_options: Mapping[str, str] | None,
    retention: dt.timedelta | None = None,
) -> SyncResult:
    """One run: a commit, retried from the newest marks when another writer won; then,
    with ``retention``, the files of versions older than that vacuumed."""
    dl = deltalake_module()
    where = table_uri(uri)
    options = options_for(where, storage_options)
    before, t0 = client.stats.requests, time.perf_counter()
    for attempt in range(1, ATTEMPTS + 1):
        table = open_table(where, options)
        state = check_delta(table, spec, params, where)
        run = _DeltaRun(spec, where, options, client, params, progress, table, state)
        try:
            mode, counts = run.go(full, overlap)
            run.ahead.warn()  # unreadable definitions, from this thread
        except (dl.exceptions.CommitFailedError, _LostRace):
            continue  # another writer committed first: again, from its marks
        except dl.exceptions.DeltaError as e:
            raise LakeError(f"writing {where} failed: {clean(e, options)}") from None
        if retention is not None:
            vacuum(where, options, retention)
        return SyncResult(
            spec.name, Path(where) if not is_remote(where) else Path(uri), mode, *counts,
            partitions_written=(), partitions_skipped=0,
            requests=client.stats.requests - before, seconds=time.perf_counter() - t0,
            attempts=attempt,
        )  # fmt: skip
    raise LakeConflictError(
        f"{where}: other writers committed first {ATTEMPTS} times; run it again later"
    )


def vacuum(uri: str, options: dict[str, str], retention: dt.timedelta) -> list[str]:
    """Remove the files no version newer than ``retention`` reads (older versions can no
    longer be read; what killed runs left, once older than that, goes too)."""
    dl = deltalake_module()
    hours = math.ceil(retention.total_seconds() / 3600)
    table = dl.DeltaTable(uri, storage_options=options)
    removed = table.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False)
    return list(removed)


class _DeltaRun:
    """One attempt of a run: read into local scratch files, then one commit."""

    def __init__(
        self,
        spec: ResourceSpec,
        uri: str,
        options: dict[str, str],
        client: Client,
        params: Mapping[str, str],
        progress: bool | None,
        table: Any,
        state: DeltaState | None,
    ) -> None:
        self.spec, self.uri, self.options, self.client = spec, uri, options, client
        self.params, self.progress, self.table, self.state = dict(params), progress, table, state
        #: the definitions (GET /flows) are read beside page 1, not before it
        self.ahead = PlanAhead(spec, self.params, client)
        #: the footer of the run's scratch files: none (deltalake writes the table's own
        #: files; pandas' entry cost ~20 ms of the GIL a file, the attrs waited for the plan)
        self.meta: Callable[[pa.Schema], dict[bytes, bytes]] = lambda s: {}
        self.started = dt.datetime.now(dt.UTC)
        #: the rows of each open status this run read (DeltaState.open_rows)
        self.open_rows: dict[str, int] = {}
        #: the lake's keys were scanned from the files a read can bring back only
        self.pruned = False
        self.dl = deltalake_module()

    @property
    def plan(self) -> ReadPlan:
        return self.ahead.plan()

    def go(self, full: bool, overlap: dt.timedelta) -> tuple[Mode, Counts]:
        with tempfile.TemporaryDirectory(prefix="milekit-lake-") as scratch:
            self.scratch = Path(scratch)
            if self.spec.changes is None:
                return "snapshot", self.snapshot()
            if full or self.table is None or self.state is None or not self.state.high_water:
                return "full", self.full()
            return "incremental", self.incremental(self.state, overlap)

    def empty(self) -> pa.Schema:
        """The columns of a read that got no row (asked once the reads are done)."""
        return self.plan.empty().schema

    def tables(
        self,
        extra: Mapping[str, str] | None = None,
        lookahead: int | None = LOOKAHEAD,
        whole: bool = True,
        expect: int | None = None,
    ) -> Iterator[pa.Table]:
        """The pages, typed as the plan says (not ``whole``: as their projection);
        ``expect``: pages asked for beside page 1 (:meth:`expected`)."""
        params = {**self.params, **(extra or {})}
        yield from iter_tables(
            self.spec, params, client=self.client, progress=self.progress, limit=self.page,
            plan=self.ahead if whole else None, lookahead=lookahead, expect=expect,
        )  # fmt: skip

    def expected(self, extra: Mapping[str, Any]) -> int | None:
        """The pages a read of one open status had at the last run (None: not known, or
        a read of another kind)."""
        field = _changes(self.spec).status_filter
        if self.state is None or set(extra) != {field}:
            return None
        kept = self.state.open_rows
        rows = kept.get(str(extra[field])) if isinstance(kept, dict) else None
        return math.ceil(rows / self.page) if isinstance(rows, int) and rows > 0 else None

    def spill(self, name: str, tables: Iterator[pa.Table]) -> tuple[int, Path, pa.Schema]:
        """Pages into one local Parquet file, one row per id: rows fetched, file, schema."""
        path = self.scratch / f"{name}.parquet"
        spills = self.scratch / f"{name}.spill"
        spills.mkdir()
        sink = Sink(
            path, "parquet", self.spec.id_field, self.meta, spill_dir=spills,
            empty_schema=self.empty,
        )  # fmt: skip
        fetched = 0
        for t in tables:
            fetched += t.num_rows
            sink.write(t)
        written = sink.finish()
        return fetched, path, written.schema.remove_metadata()

    def lake_keys(self, since: int | None = None) -> LakeKeys:
        """The lake's keys (delta_changes.LakeKeys); with ``since`` (the created read's
        window), of its files that hold a row some read can bring back (unsettled)."""
        changes = _changes(self.spec)
        statuses = open_statuses(changes, self.params)
        keep = None
        if since is not None:
            keep = unsettled(changes.status_filter, statuses, changes.created, since)
        lake, self.pruned = self.files(keep)
        return LakeKeys.scan(
            lake, self.spec.id_field, self.spec.updated, changes.status_filter, statuses
        )

    def files(self, keep: str | None) -> tuple[Any, bool]:
        """The table's files that can hold a row for which ``keep`` holds (pruned by
        deltalake from the log's statistics, not read; None: all), and whether it pruned:
        where it cannot apply the predicate (a column the log has no statistics of the
        type for), all of them."""
        if keep is not None:
            try:
                return self.table.to_pyarrow_dataset(file_pruning_predicate=keep), True
            except Exception as e:
                logging.getLogger("milekit").debug("every file scanned (%s): %s", keep, e)
        return self.table.to_pyarrow_dataset(), False

    def held(self, ids: pa.Array, lake: LakeKeys) -> np.ndarray[Any, Any]:
        """Which of ``ids`` the lake holds: by its keys; where they were scanned from some
        files only (:meth:`lake_keys`), the ids they lack looked up in the files those ids
        can be in (by the log's id ranges: a new task's id is in none)."""
        held = lake.held(id_keys(ids))
        if self.pruned and not held.all():
            idf, doubt = self.spec.id_field, ids.filter(pa.array(~held))
            files, _ = self.files(id_predicate(idf, doubt))
            got = files.to_table(columns=[idf], filter=pc.field(idf).isin(doubt)).column(idf)
            found = pc.is_in(doubt, value_set=got.combine_chunks().cast(doubt.type))
            held[~held] = found.to_numpy(zero_copy_only=False)
        return held

    def narrowed(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """The projection a read of open rows asks for (ids, update and creation stamps,
        status: :data:`NARROW_FROM_PAGES`), or {} to read them whole: a small lake, a
        read of another kind, or a lake whose own filters project or pick a time range."""
        changes, spec = _changes(self.spec), self.spec
        if (
            changes.status_filter not in extra
            or "fields" not in spec.query
            or not spec.updated
            or {"fields", "timeBy", "timeFrom", "timeTo"} & set(self.params)
            or self.table.count() < NARROW_FROM_PAGES * self.page
        ):
            return {}
        names = [spec.id_field, spec.updated, changes.created, changes.status_filter]
        return {"fields": names}

    @property
    def page(self) -> int:
        """The rows a page of the run's reads holds (the ranges read again are planned
        in pages, the pages to expect counted in them)."""
        return self.spec.max_limit

    def narrow_read(
        self,
        name: str,
        extra: Mapping[str, Any],
        projection: Mapping[str, Any],
        keys: Future[LakeKeys],
        lake_s: pa.Schema,
        recent: int,
        stop: threading.Event,
    ) -> _Read:
        """A read of open rows as ids and stamps only (:meth:`narrowed`): every row kept
        as its key and update stamp; the rows the stamps leave in doubt are read whole by
        creation-time ranges (delta_changes.Doubts) as soon as the lake's keys are in,
        while later pages come: those reads are the result's ``again``."""
        query = encode_filters(self.spec.query, self.spec.rows, {**extra, **projection})
        idf, by, upd = self.spec.id_field, _changes(self.spec).created, self.spec.updated
        out, jobs = _Read(self.scratch / f"{name}.parquet"), list[Future[_Read]]()
        with read_pool(4, "lake-again") as pool:

            def start(lo: int | None, hi: int | None) -> None:
                q = dict(extra)
                if lo is not None and hi is not None:
                    q.update(timeBy=by, timeFrom=datetime_of_us(lo), timeTo=datetime_of_us(hi))
                again = partial(self.read, f"{name}-{len(jobs)}", q, keys, lake_s, recent)
                jobs.append(pool.submit(again, stop, narrow=False))

            doubts = Doubts(keys, recent, self.page, start)
            try:
                expect = self.expected(extra)
                for t in self.tables(query, NARROW_LOOKAHEAD, whole=False, expect=expect):
                    if stop.is_set():
                        break
                    out.fetched += t.num_rows
                    out.high = high_water(t, by, out.high)
                    k = id_keys(t.column(idf))
                    st = stamps(t.column(upd) if upd in t.column_names else None, len(k))
                    out.seen.append((k, st))
                    made = stamps(t.column(by) if by in t.column_names else None, len(k))
                    doubts.add(k, st, made)
                if not stop.is_set():
                    doubts.finish()
                out.again = results(jobs)
            except BaseException:
                stop.set()  # the reads of the rows in doubt end at their next page
                raise
        return out

    def read(
        self,
        name: str,
        extra: Mapping[str, Any],
        keys: Future[LakeKeys],
        lake_s: pa.Schema,
        recent: int,
        stop: threading.Event,
        narrow: bool = True,
    ) -> _Read:
        """One of an incremental run's reads (they run at once): each page compared with
        the lake as it arrives, by the update stamps (``recent``: LakeKeys.stamped_same)
        and, for the rows they leave in doubt, the content hashes; the rows the lake does
        not hold as they are spilled to ``name``, every row kept as its key and update
        stamp (delta_changes.py). A read of open rows (``narrow``: :meth:`narrowed`) is a
        :meth:`narrow_read`."""
        projection = self.narrowed(extra) if narrow else {}
        if projection:
            return self.narrow_read(name, extra, projection, keys, lake_s, recent, stop)
        query = encode_filters(self.spec.query, self.spec.rows, extra)
        path, spills = self.scratch / f"{name}.parquet", self.scratch / f"{name}.spill"
        spills.mkdir()
        idf, by, upd = self.spec.id_field, _changes(self.spec).created, self.spec.updated
        sink = Sink(path, "parquet", idf, self.meta, spill_dir=spills,
                    empty_schema=self.empty)  # fmt: skip
        out = _Read(path)
        fitted: dict[pa.Schema, pa.Schema] = {}
        for t in self.tables(query, READ_LOOKAHEAD, expect=self.expected(extra)):
            if stop.is_set():
                break
            if not t.num_rows:
                sink.write(t)  # its columns only
                continue
            out.fetched += t.num_rows
            out.high = high_water(t, by, out.high)
            k = id_keys(t.column(idf))
            st = stamps(t.column(upd) if upd in t.column_names else None, t.num_rows)
            out.seen.append((k, st))
            doubt = ~keys.result().stamped_same(k, st, recent)
            if not doubt.any():
                sink.write(t.slice(0, 0))  # its columns only
                continue
            t, k = t.filter(pa.array(doubt)), k[doubt]
            s = fitted.get(t.schema) or fitted.setdefault(
                t.schema, schema.unified_schema([t.schema, lake_s])
            )
            typed = to_delta(schema.conform(t, s), s).to_batches()
            h = np.concatenate([np.asarray(row_hashes(b)) for b in typed])
            sink.write(t.filter(pa.array(~keys.result().same(k, h))))
        written = sink.finish()
        out.schema, out.changed = written.schema.remove_metadata(), written.rows
        return out

    def commit_state(self, s: pa.Schema, high: str | None, counts: Changed | None = None) -> Any:
        """The commit's metadata: the run's marks, and (``counts``) what it changed."""
        old = self.state.high_water if self.state is not None else None
        state = DeltaState(
            self.spec.name, self.params, latest(high, old),
            iso(self.started), encode_schema(s), open_rows=self.open_rows,
        )  # fmt: skip
        meta = {STATE_KEY: orjson.dumps(asdict(state)).decode()}
        if counts is not None:
            meta[COUNTS_KEY] = counts_doc(*counts)
        return self.dl.CommitProperties(custom_metadata=meta)

    def snapshot(self) -> Counts:
        """Everything read again into one overwrite commit."""
        fetched, path, s = self.spill("all", self.tables())
        rows = pq.read_metadata(str(path)).num_rows
        self.dl.write_deltalake(
            self.uri, _reader(path, s), mode="overwrite",
            schema_mode="overwrite", storage_options=self.options,
            commit_properties=self.commit_state(s, None),
        )  # fmt: skip
        return fetched, rows, 0, rows

    def full(self) -> Counts:
        """Everything read again: a new table, or a merge that also deletes what is gone."""
        changes = _changes(self.spec)
        fetched, path, s = self.spill("all", self.tables())
        high = _file_high_water(path, changes.created)
        self.open_rows = _open_rows(path, changes, self.params)
        if self.table is None:
            rows = pq.read_metadata(str(path)).num_rows
            meta = self.commit_state(s, high).custom_metadata
            # no retry: a first run that races another first run starts again as a merge
            props = self.dl.CommitProperties(custom_metadata=meta, max_commit_retries=0)
            try:
                self.dl.write_deltalake(
                    self.uri, _reader(path, s, self.hot()), mode="error",
                    storage_options=self.options, commit_properties=props,
                    target_file_size=FILE_BYTES,
                    configuration={"delta.targetFileSize": str(FILE_BYTES)},
                )  # fmt: skip
            except self.dl.exceptions.DeltaError:
                if self.dl.DeltaTable.is_deltatable(self.uri, self.options):
                    raise _LostRace from None  # another first run made the table
                raise
            return fetched, rows, 0, rows
        merged = _merged(self.merge_all(path, s, high, delete_when="true"))
        return fetched, *_counted(merged, self.table)

    def incremental(self, state: DeltaState, overlap: dt.timedelta) -> Counts:
        """Only what can have changed since the last commit's marks (docs/lake.md)."""
        changes = _changes(self.spec)
        reads = change_reads(changes, self.params, state.high_water, state.last_run, overlap)
        lake_s = decode_schema(state.schema)
        recent = NO_STAMP
        if state.last_run:
            recent = datetime_us(dt.datetime.fromisoformat(state.last_run) - overlap)
        since = None
        if state.high_water:
            since = datetime_us(dt.datetime.fromisoformat(state.high_water) - overlap)
        with read_pool(1, "lake-keys") as pool:  # the lake's keys while pages come
            keys = pool.submit(self.lake_keys, since)
            jobs = [
                partial(self.read, f"read{i}", q, keys, lake_s, recent) for i, q in enumerate(reads)
            ]
            done = at_once(jobs)
            self.open_rows = _status_rows(changes, reads, done)
            done += [again for r in done for again in r.again]  # after: they win a tie
            lake = keys.result()
        s = schema.unified_schema([*(r.schema for r in done), lake_s])
        high = latest(*(r.high for r in done))
        seen = Seen([(r.keys, r.stamps) for r in done])
        gone = lake.gone(seen)
        version, counts = self.table.version(), (0, 0, 0)
        pa.default_memory_pool().release_unused()  # what the reads freed, before the merge
        if len(gone) or any(r.changed for r in done):  # an empty merge scans the whole table
            counts = self.commit_changes(done, seen, s, high, (gone, lake))
        if self.table.version() == version:  # nothing changed: deltalake committed nothing
            self.commit_marks(s, high)
        return sum(r.fetched for r in done), *_counted(counts, self.table)

    def commit_marks(self, s: pa.Schema, high: str | None) -> None:
        """A commit of no rows carrying the run's marks, as the next version of the table
        read (a writer that committed since wins: the run starts again from its marks)."""
        meta = self.commit_state(s, high).custom_metadata
        props = self.dl.CommitProperties(custom_metadata=meta, max_commit_retries=0)
        empty = delta_schema(s)
        if HASH in self.table.schema().to_arrow().names:
            empty = empty.append(pa.field(HASH, pa.int64()))
        try:
            self.dl.write_deltalake(
                self.table, empty.empty_table(), mode="append",
                storage_options=self.options, commit_properties=props,
            )  # fmt: skip
        except self.dl.exceptions.DeltaError as e:
            raise _LostRace from e

    def commit_changes(
        self,
        reads: list[_Read],
        seen: Seen,
        s: pa.Schema,
        high: str | None,
        found: tuple[pa.Array, LakeKeys],
    ) -> Changed:
        """The run's one commit of the rows it found changed and the ids it found gone
        (``found``: those and the lake's keys): a few (:data:`REPLACE_ROWS`) of the
        table's columns replace the rows with their ids; else a merge (it also adds
        columns the table lacks)."""
        gone, lake = found
        target = pa.schema(self.table.schema().to_arrow())
        hashed = delta_schema(s).append(pa.field(HASH, pa.int64()))
        few = sum(r.changed for r in reads) + len(gone) <= REPLACE_ROWS
        idf = self.spec.id_field
        ids = pa.array([], hashed.field(idf).type)  # the predicate can spell them
        if few and _same_columns(target, hashed) and id_predicate(idf, ids) is not None:
            parts = (_won(r.path, i, seen, s, self.spec) for i, r in enumerate(reads) if r.changed)
            rows = pa.Table.from_batches([b for p in parts for b in p], schema=hashed)
            return self.replace(rows.select(target.names).cast(target), gone, lake, (s, high))
        return _merged(self.merge(reads, seen, s, high, gone))

    def replace(
        self, rows: pa.Table, gone: pa.Array, lake: LakeKeys, marks: tuple[pa.Schema, str | None]
    ) -> Changed:
        """One overwrite of the rows whose id is among ``rows``' or ``gone``: their old
        copies dropped, ``rows`` added. Its counts are the run's own (a write's metrics
        do not tell new rows from changed ones). A writer that committed since conflicts
        with it as with a merge (deltalake's check: the run starts again)."""
        ids = rows.column(self.spec.id_field).combine_chunks()
        held = self.held(ids, lake)
        counts = (int((~held).sum()), int(held.sum()), len(gone))
        predicate = id_predicate(self.spec.id_field, pa.concat_arrays([ids, gone.cast(ids.type)]))
        batches = rows.to_batches(max_chunksize=WRITE_ROWS)
        self.dl.write_deltalake(
            self.table, pa.RecordBatchReader.from_batches(rows.schema, batches),
            mode="overwrite", predicate=predicate, storage_options=self.options,
            commit_properties=self.commit_state(*marks, counts),
        )  # fmt: skip
        return counts

    def merge(
        self, reads: list[_Read], seen: Seen, s: pa.Schema, high: str | None, gone: pa.Array
    ) -> Any:
        """One merge commit by id of the rows read again that differ from the lake's (of
        several copies of an id, the winner: delta_changes.Seen) and the ids found gone,
        flagged and deleted by a matched clause."""
        changed = (_won(r.path, i, seen, s, self.spec) for i, r in enumerate(reads) if r.changed)
        batches = itertools.chain(
            (flagged(b) for part in changed for b in part),
            [gone_batch(gone, delta_schema(s), self.spec.id_field)] if len(gone) else [],
        )
        hashed = delta_schema(s).append(pa.field(HASH, pa.int64()))
        source = pa.RecordBatchReader.from_batches(with_gone(hashed), batches)
        ident, flag = sql_name(self.spec.id_field), f"s.{sql_name(GONE)}"
        merger = self.table.merge(
            source, predicate=f"t.{ident} = s.{ident}", source_alias="s", target_alias="t",
            merge_schema=True, commit_properties=self.commit_state(s, high),
            streamed_exec=False,
        )  # fmt: skip
        merger = merger.when_matched_delete(predicate=flag)
        merger = merger.when_matched_update_all(except_cols=[GONE])
        return merger.when_not_matched_insert_all(
            predicate=f"NOT {flag}", except_cols=[GONE]
        ).execute()

    def hot(self) -> Callable[[pa.Table], pa.Array] | None:
        """Which rows are open (may still change): written before the finished ones, so
        the files an incremental merge rewrites are the few that hold open rows."""
        changes = _changes(self.spec)
        statuses = pa.array(open_statuses(changes, self.params), pa.string())
        field = changes.status_filter
        if not field or not len(statuses):
            return None

        def is_open(t: pa.Table) -> pa.Array:
            if field not in t.column_names:
                return pa.array([False] * t.num_rows)
            col = t.column(field).cast(pa.string())
            return pc.fill_null(pc.is_in(col, value_set=statuses), False)

        return is_open

    def merge_all(self, path: Path, s: pa.Schema, high: str | None, delete_when: str) -> Any:
        """One merge commit by id: matched rows updated, new ones inserted, rows of the lake
        the reads did not see deleted when ``delete_when`` holds for them."""
        ident = sql_name(self.spec.id_field)
        merger = self.table.merge(
            _reader(path, s),
            predicate=f"t.{ident} = s.{ident}", source_alias="s", target_alias="t",
            merge_schema=True,
            commit_properties=self.commit_state(s, high),
        )  # fmt: skip
        merger = merger.when_matched_update_all().when_not_matched_insert_all()
        if delete_when:  # the rows read: those not read were
            merger = merger.when_not_matched_by_source_delete(delete_when)
        return merger.execute()


@dataclass
class _Read:
    """What one read of an incremental run leaves: its changed rows' file and schema, and
    per page the keys and update stamps of every row it got."""

    path: Path
    fetched: int = 0
    changed: int = 0
    high: str | None = None
    schema: pa.Schema = field(default_factory=lambda: pa.schema([]))
    seen: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(default_factory=list)
    #: a narrowed read's reads of the rows it left in doubt (_DeltaRun.narrow_read)
    again: list[_Read] = field(default_factory=list)

    @property
    def keys(self) -> np.ndarray[Any, Any]:
        return np.concatenate([k for k, _ in self.seen]) if self.seen else np.empty(0, np.int64)

    @property
    def stamps(self) -> np.ndarray[Any, Any]:
        return np.concatenate([s for _, s in self.seen]) if self.seen else np.empty(0, np.int64)


def _won(
    path: Path, read: int, seen: Seen, s: pa.Schema, spec: ResourceSpec
) -> Iterator[pa.RecordBatch]:
    """The changed rows ``read`` spilled whose copy wins, Delta-typed with their hashes."""

    def wins(t: pa.Table) -> pa.Array:
        upd = t.column(spec.updated) if spec.updated in t.column_names else None
        keys = id_keys(t.column(spec.id_field))
        return pa.array(seen.won(keys, stamps(upd, t.num_rows), read))

    return (with_hash(b) for b in _batches(path, s, wins))


def _changes(spec: ResourceSpec) -> Changes:
    assert spec.changes is not None
    return spec.changes


def _merged(metrics: Mapping[str, Any]) -> Changed:
    """The rows a merge added, changed and deleted, from its metrics."""
    names = ("num_target_rows_inserted", "num_target_rows_updated", "num_target_rows_deleted")
    added, changed, deleted = (int(metrics.get(n, 0)) for n in names)
    return added, changed, deleted


def _same_columns(table: pa.Schema, rows: pa.Schema) -> bool:
    """Whether ``rows`` has the table's columns, of its types (in any order)."""
    if set(table.names) != set(rows.names) or len(rows.names) != len(table.names):
        return False
    return all(rows.field(f.name).type == f.type for f in table)


def _counted(counts: Changed, table: Any) -> tuple[int, int, int]:
    """Written, deleted and rows after a commit that added, changed and deleted ``counts``."""
    table.update_incremental()
    return counts[0] + counts[1], counts[2], int(table.count())


def _reader(
    path: Path, s: pa.Schema, hot: Callable[[pa.Table], pa.Array] | None = None
) -> pa.RecordBatchReader:
    """A scratch file (one row per id) as one stream of Delta-typed batches with their
    hashes; with ``hot``, the rows for which it holds first, then the others."""
    target = delta_schema(s).append(pa.field(HASH, pa.int64()))
    if hot is None:
        parts = _batches(path, s)
    else:

        def cold(t: pa.Table) -> pa.Array:
            return pc.invert(hot(t))

        parts = itertools.chain(_batches(path, s, hot), _batches(path, s, cold))
    return pa.RecordBatchReader.from_batches(target, (with_hash(b) for b in parts))


def _batches(
    path: Path, s: pa.Schema, where: Callable[[pa.Table], pa.Array] | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of scratch file ``path`` for which ``where`` holds (all without it),
    ``WRITE_ROWS`` at a time, Delta-typed to ``s``."""
    for batch in batches_of(path, WRITE_ROWS):
        t = pa.Table.from_batches([batch]).replace_schema_metadata(None)
        if where is not None:
            t = t.filter(where(t))
        if t.num_rows:
            yield from to_delta(schema.conform(t, s), s).to_batches()


def _status_rows(
    changes: Changes, reads: Sequence[Mapping[str, Any]], done: Sequence[_Read]
) -> dict[str, int]:
    """The rows each read of one open status got (DeltaState.open_rows)."""
    field = changes.status_filter
    return {str(q[field]): r.fetched for q, r in zip(reads, done, strict=True) if set(q) == {field}}


def _open_rows(path: Path, changes: Changes, params: Mapping[str, str]) -> dict[str, int]:
    """The rows of each open status in a run's scratch file (DeltaState.open_rows)."""
    field, statuses = changes.status_filter, open_statuses(changes, params)
    f = pq.ParquetFile(str(path))
    if not field or field not in f.schema_arrow.names or not f.metadata.num_rows:
        return {}
    counts = pc.value_counts(f.read(columns=[field]).column(field).cast(pa.string()))
    got = dict(zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True))
    return {s: got.get(s, 0) for s in statuses}


def _file_high_water(path: Path, by: str) -> str | None:
    f = pq.ParquetFile(str(path))
    return high_water(f.read(columns=[by]), by) if by in f.schema_arrow.names else None
