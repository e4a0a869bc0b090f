"""The lake as a Delta table (issue 25): local and on an S3 server on loopback (moto),
one commit per run carrying its marks, versions to read back, credentials kept out."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import milekit
from milekit.errors import MissingExtraError
from milekit.files import delta_changes, delta_lake, delta_store, delta_versions, lakes
from milekit.reads.pages import iter_tables
from milekit.reads.plan import read_plan
from milekit.sandbox import Sandbox
from milekit.sandbox.http import iso_now
from milekit.sandbox.store import Op
from milekit.types.registry import RESOURCES

from .conftest import DUMMY_SECRET, finish, open_ids

deltalake = pytest.importorskip("deltalake")


@pytest.fixture
def c(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as client:
        yield client


def _same_as_api(lake: str | Path, c: milekit.Client) -> None:
    got = milekit.read_lake(lake).sort_index()
    want = milekit.tasks_frame(client=c, progress=False).sort_index()
    want.attrs = got.attrs = {}
    pd.testing.assert_frame_equal(got, want)


def _ids(lake: str | Path) -> list[str]:
    """The ids any engine sees now (the newest version, read by deltalake itself)."""
    where = delta_store.table_uri(lake)
    table = deltalake.DeltaTable(where, storage_options=delta_store.options_for(where, None))
    return table.to_pyarrow_table(columns=["_id"]).column("_id").to_pylist()


def _changes(sb: Sandbox, c: milekit.Client) -> None:
    """A new task, one finished, one edited while open, one deleted."""
    flow = next(t for t in sb.store.values("tasks"))
    c.request(
        "POST", "/task", json={"flow": flow["flow"], "hubId": flow["hubId"], "title": "new one"}
    )
    ongoing = open_ids(sb, "ONGOING")
    finish(sb, ongoing[0])
    c.request("PATCH", f"/task/{ongoing[1]}", json={"title": "edited while open"})
    c.request("DELETE", f"/task/{ongoing[2]}")


def test_a_local_delta_lake_is_one_commit_per_run_and_matches_the_api(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    first = milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    assert (first.mode, first.fetched, first.written, first.rows) == ("full", 300, 300, 300)
    _same_as_api(lake, c)
    before = milekit.read_lake(lake)
    _changes(fresh, c)
    res = milekit.sync("tasks", lake, client=c, progress=False)  # it stays Delta
    assert res.mode == "incremental" and res.deleted == 1 and res.rows == 300
    assert res.fetched < 300
    _same_as_api(lake, c)
    history = milekit.lake_history(lake)
    assert history["version"].tolist() == [0, 1] and history["run"].all()
    assert history.loc[1, ["operation", "added", "deleted"]].tolist() == ["WRITE", 1, 1]
    assert history.loc[0, "added"] == 300
    # only the rows that changed are committed: the finished and the edited one, not
    # every open row read again (issue 25 item 6); so few, they replace their ids' rows
    assert history.loc[1, "changed"] == 2 and res.written == 3
    old = milekit.read_lake(lake, version=0)
    old.attrs = before.attrs = {}
    pd.testing.assert_frame_equal(old.sort_index(), before.sort_index())
    at = history.loc[0, "time"].to_pydatetime() + dt.timedelta(milliseconds=1)
    assert len(milekit.read_lake(lake, as_of=at)) == 300
    assert [p.name for p in tmp_path.iterdir()] == ["tasks"]  # no state file beside it


def test_an_incremental_run_with_nothing_changed_rewrites_nothing(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open rows read again but not changed are not sent to the merge: no row written,
    no data file added, no merge asked for (deltalake scans every file of the table to
    merge an empty source), and the lake still equals the API."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    files = {p.name for p in lake.glob("*.parquet")}
    config = deltalake.DeltaTable(str(lake)).metadata().configuration
    assert config["delta.targetFileSize"] == str(delta_lake.FILE_BYTES)  # merges keep it
    merges: list[object] = []
    real = deltalake.DeltaTable.merge
    monkeypatch.setattr(
        deltalake.DeltaTable, "merge", lambda *a, **k: merges.append(a) or real(*a, **k)
    )
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert merges == []
    assert (res.mode, res.written, res.deleted, res.rows) == ("incremental", 0, 0, 300)
    assert {p.name for p in lake.glob("*.parquet")} == files
    _same_as_api(lake, c)
    history = milekit.lake_history(lake)  # still one commit per run: the marks move on
    assert history["version"].tolist() == [0, 1] and history["run"].all()
    assert history.loc[1, ["added", "changed", "deleted"]].tolist() == [0, 0, 0]


def _operations(lake: Path) -> list[tuple[str, str]]:
    """Each commit's operation and its mode (newest first)."""
    history = deltalake.DeltaTable(str(lake)).history()
    return [(h["operation"], h.get("operationParameters", {}).get("mode", "")) for h in history]


def test_a_few_changed_rows_replace_their_ids_rows_in_one_write(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's few changed and gone rows are one overwrite of the rows with their ids (a
    third of a merge's fixed cost); many rows, or rows with a column the table lacks, are
    a merge (it adds the column). Either way one commit, the lake equal to the API and
    lake_history counting what the run did (issue 25 item 6)."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    merges: list[object] = []
    real = deltalake.DeltaTable.merge
    monkeypatch.setattr(
        deltalake.DeltaTable, "merge", lambda *a, **k: merges.append(a) or real(*a, **k)
    )
    _changes(fresh, c)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert merges == [] and _operations(lake)[0] == ("WRITE", "Overwrite")
    assert (res.written, res.deleted, res.rows) == (3, 1, 300)
    _same_as_api(lake, c)
    monkeypatch.setattr(delta_lake, "REPLACE_ROWS", 2)  # three rows changed: a merge
    _changes(fresh, c)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert len(merges) == 1 and _operations(lake)[0][0] == "MERGE"
    assert (res.written, res.deleted, res.rows) == (3, 1, 300)
    _same_as_api(lake, c)
    monkeypatch.setattr(delta_lake, "REPLACE_ROWS", 100)
    task = open_ids(fresh, "ONGOING")[0]
    c.request("PATCH", f"/task/{task}", json={"customField": "a column the lake lacks"})
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert len(merges) == 2 and "customField" in milekit.read_lake(lake).columns
    _same_as_api(lake, c)
    history = milekit.lake_history(lake)
    assert history["operation"].tolist() == ["WRITE", "WRITE", "MERGE", "MERGE"]
    assert history[["added", "changed", "deleted"]].values.tolist()[1:] == [
        [1, 2, 1], [1, 2, 1], [0, 1, 0]
    ]  # fmt: skip


class _ColumnSpy:
    """A table's dataset that records the columns each scan of it asks for."""

    def __init__(self, inner: ds.Dataset, asked: list[list[str] | None]) -> None:
        self.inner, self.asked = inner, asked

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def to_batches(self, columns: list[str] | None = None, **kw: object) -> object:
        self.asked.append(columns)
        return self.inner.to_batches(columns=columns, **kw)

    def to_table(self, columns: list[str] | None = None, **kw: object) -> object:
        self.asked.append(columns)
        return self.inner.to_table(columns=columns, **kw)

    def scanner(self, columns: list[str] | None = None, **kw: object) -> object:
        self.asked.append(columns)
        return self.inner.scanner(columns=columns, **kw)


def test_an_incremental_run_compares_ids_and_hashes_only_and_read_lake_hides_them(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compare of the rows read again with the lake's reads a few columns of the lake
    (ids, update stamps and the rows' content hashes; the status for the ids gone), never
    whole rows; the hash column is stored but read_lake never shows it (issue 25 item 6)."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    stored = deltalake.DeltaTable(str(lake)).schema().to_arrow().names
    assert delta_lake.HASH in stored
    _changes(fresh, c)
    asked: list[list[str] | None] = []
    real = deltalake.DeltaTable.to_pyarrow_dataset

    def spied(self: object, *args: object, **kw: object) -> object:
        return _ColumnSpy(real(self, *args, **kw), asked)

    monkeypatch.setattr(deltalake.DeltaTable, "to_pyarrow_dataset", spied)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    monkeypatch.undo()
    assert res.mode == "incremental" and res.written == 3 and res.deleted == 1
    assert asked and all(cols is not None for cols in asked)
    assert {n for cols in asked for n in cols or []} <= {
        "_id", delta_lake.HASH, "status", "updatedTime"
    }  # fmt: skip
    assert any(delta_lake.HASH in (cols or []) for cols in asked)
    assert delta_lake.HASH not in milekit.read_lake(lake).columns
    assert delta_lake.HASH not in milekit.read_lake(lake, version=0).columns
    _same_as_api(lake, c)


def test_engines_read_the_delta_lake(fresh: Sandbox, c: milekit.Client, tmp_path: Path) -> None:
    """pyarrow (through deltalake's dataset), Polars and DuckDB (through Arrow) read the
    table as it is."""
    import polars as pl

    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    dataset = deltalake.DeltaTable(str(lake)).to_pyarrow_dataset()
    assert isinstance(dataset, ds.Dataset) and dataset.count_rows() == 300
    assert pl.read_delta(str(lake)).height == 300
    assert pl.scan_delta(str(lake)).select(pl.len()).collect().item() == 300
    import duckdb  # through Arrow: its delta extension would be downloaded

    assert duckdb.sql("select count(distinct _id) from dataset").fetchall() == [(300,)]


def test_an_existing_hive_lake_keeps_its_format(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    assert lakes.lake_format(lake) == "parquet"
    with pytest.raises(milekit.LakeError, match="is a parquet lake, not delta"):
        milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    assert milekit.sync("tasks", lake, client=c, progress=False).mode == "incremental"
    with pytest.raises(milekit.errors.UsageError, match="keeps no versions"):
        milekit.read_lake(lake, version=0)
    with pytest.raises(milekit.errors.UsageError, match="object storage takes"):
        milekit.sync("tasks", "s3://b/t", client=c, format="parquet")


def test_a_lake_of_another_resource_or_a_foreign_table_is_refused(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    milekit.sync("hubs", tmp_path / "h", client=c, progress=False, format="delta")
    sent = len(fresh.app.request_log)
    with pytest.raises(milekit.LakeError, match="lake of hubs, not of tasks"):
        milekit.sync("tasks", tmp_path / "h", client=c, progress=False)
    assert len(fresh.app.request_log) == sent
    import pyarrow as pa

    deltalake.write_deltalake(str(tmp_path / "x"), pa.table({"a": [1]}))
    with pytest.raises(milekit.LakeError, match="did not write"):
        milekit.sync("tasks", tmp_path / "x", client=c, progress=False)


def test_a_snapshot_resource_is_one_overwrite_commit_per_run(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "hubs"
    for _ in range(2):
        res = milekit.sync("hubs", lake, client=c, progress=False, format="delta")
    hubs = milekit.hubs_frame(client=c, progress=False)
    assert res.mode == "snapshot" and res.rows == len(hubs)
    got = milekit.read_lake(lake)
    got.attrs = hubs.attrs = {}
    pd.testing.assert_frame_equal(got, hubs)


def test_a_missing_extra_names_it(
    c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "deltalake", None)
    with pytest.raises(MissingExtraError, match=r"milekit\[lake\]"):
        milekit.sync("tasks", "s3://bucket/tasks", client=c, progress=False)


def test_the_lake_on_an_s3_server_matches_the_api(
    fresh: Sandbox, c: milekit.Client, s3_bucket: str
) -> None:
    uri = f"s3://{s3_bucket}/lake/tasks"
    assert milekit.sync("tasks", uri, client=c, progress=False).mode == "full"
    _changes(fresh, c)
    res = milekit.sync("tasks", uri, client=c, progress=False)
    assert (res.mode, res.deleted, res.rows) == ("incremental", 1, 300)
    _same_as_api(uri, c)
    assert len(milekit.read_lake(uri, version=0)) == 300
    assert milekit.lake_history(uri)["version"].tolist() == [0, 1]
    assert DUMMY_SECRET not in repr(res) + str(res)


def test_an_error_never_repeats_a_secret(
    c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that refuses the connection: the error names the lake, not the secret
    given in ``storage_options`` or the environment."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-0123456789")
    options = {
        "aws_access_key_id": "key-id-abcdef",
        "aws_secret_access_key": "given-secret-0123456789",
        "aws_endpoint_url": dead,
        "aws_allow_http": "true",
        "aws_region": "us-east-1",
        "max_retries": "0",
        "retry_timeout": "1s",
    }
    with pytest.raises(milekit.LakeError) as caught:
        milekit.sync("tasks", "s3://b/t", client=c, progress=False, storage_options=options)
    text = str(caught.value) + repr(caught.value)
    assert "s3://b/t" in text
    for secret in ("given-secret-0123456789", "env-secret-0123456789"):
        assert secret not in text


_SYNC = """
import os, sys
import milekit
with milekit.Client(os.environ["MILEAPP_TOKEN"], sys.argv[1], limiter="process") as c:
    try:
        r = milekit.sync("tasks", sys.argv[2], client=c, progress=False)
    except milekit.LakeConflictError as e:
        print("conflict", e)
        sys.exit(3)
    print(r.mode, r.rows)
"""


def _sync_process(sb: Sandbox, lake: str) -> subprocess.Popen[str]:
    env = dict(os.environ, MILEAPP_TOKEN=sb.token)
    return subprocess.Popen(
        [sys.executable, "-c", _SYNC, sb.url, lake], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.slow
def test_two_writers_on_s3_never_corrupt_or_double_the_lake(s3_bucket: str) -> None:
    """Two processes sync the same table at once, a first run and later ones: Delta's
    commit decides; the loser starts again from the winner's marks (or says so)."""
    with Sandbox(tasks=2000, latency=0.005) as sb:
        uri = f"s3://{s3_bucket}/lake/tasks"
        outcomes = []
        for _ in range(3):
            procs = [_sync_process(sb, uri) for _ in range(2)]
            for p in procs:
                out, err = p.communicate(timeout=300)
                assert p.returncode in (0, 3), err
                outcomes.append((p.returncode, out.strip()))
            ids = _ids(uri)
            assert len(ids) == len(set(ids)) == 2000
            for tid in open_ids(sb, "ONGOING")[:10]:
                finish(sb, tid)
        assert sum(code == 0 for code, _ in outcomes) >= 3
        with milekit.Client(sb.token, sb.url, limiter="process") as c:
            milekit.sync("tasks", uri, client=c, progress=False)
            _same_as_api(uri, c)


def _completes(proc: subprocess.Popen[str]) -> None:
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


def _killed_runs(sb: Sandbox, lake: str, delays: list[float]) -> None:
    """A `milekit.sync` process SIGKILLed after each delay; the lake stays readable
    without a repeated id, then a later run is killed too."""
    import signal

    for i, delay in enumerate(delays):
        proc = _sync_process(sb, lake)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        if lakes.lake_format(lake) == "delta" and delta_store.is_delta(lake):
            ids = _ids(lake)
            assert len(ids) == len(set(ids))
        if i == len(delays) // 2:
            _completes(_sync_process(sb, lake))
            for tid in open_ids(sb, "ONGOING")[:20]:
                finish(sb, tid)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_run_killed_at_random_moments_leaves_the_last_version_and_the_next_completes(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    import random

    lake = (
        f"s3://{request.getfixturevalue('s3_bucket')}/lake/tasks"
        if where == "s3"
        else str(tmp_path / "tasks")
    )
    with Sandbox(tasks=3000, latency=0.01) as sb:
        if where == "local":  # a new local lake is Hive unless asked: make it Delta
            with milekit.Client(sb.token, sb.url, limiter="process") as c:
                milekit.sync("tasks", lake, client=c, progress=False, format="delta", full=True)
        rng = random.Random(25)
        _killed_runs(sb, lake, sorted(rng.uniform(0.3, 2.5) for _ in range(6)))
        _completes(_sync_process(sb, lake))
        ids = _ids(lake)
        assert len(ids) == len(set(ids))
        with milekit.Client(sb.token, sb.url, limiter="process") as c:
            _same_as_api(lake, c)


def _another_writer_first(
    monkeypatch: pytest.MonkeyPatch, c: milekit.Client, lake: Path, times: int
) -> list[int]:
    """The next ``times`` commits of this process (a replace, a merge, or the marks alone
    when nothing changed) find that another writer committed between their read and their
    commit (a whole run of its own, in between)."""
    raced, steps = [0], ("replace", "merge", "commit_marks")
    real = {name: getattr(delta_lake._DeltaRun, name) for name in steps}

    def racing(name: str) -> object:
        def step(self: delta_lake._DeltaRun, *args: object, **kwargs: object) -> object:
            if raced[0] < times:
                raced[0] += 1
                for n in steps:
                    monkeypatch.setattr(delta_lake._DeltaRun, n, real[n])
                milekit.sync("tasks", lake, client=c, progress=False)  # the other machine
                for n in steps:
                    monkeypatch.setattr(delta_lake._DeltaRun, n, racing(n))
            return real[name](self, *args, **kwargs)

        return step

    for name in steps:
        monkeypatch.setattr(delta_lake._DeltaRun, name, racing(name))
    return raced


@pytest.mark.parametrize("commit", ["replace", "merge"])
def test_the_loser_of_a_commit_race_starts_again_from_the_winners_marks(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    commit: str,
) -> None:
    if commit == "merge":
        monkeypatch.setattr(delta_lake, "REPLACE_ROWS", 0)
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    _changes(fresh, c)
    raced = _another_writer_first(monkeypatch, c, lake, times=1)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert raced == [1] and res.attempts == 2 and res.rows == 300
    history = milekit.lake_history(lake)
    assert history["version"].tolist() == [0, 1, 2]  # the winner's commit, then the loser's
    assert history["deleted"].tolist() == [0, 1, 0]  # the deletion counted once
    assert history.loc[1, "operation"] == {"replace": "WRITE", "merge": "MERGE"}[commit]
    _same_as_api(lake, c)
    assert len(set(_ids(lake))) == len(_ids(lake)) == 300


def test_a_writer_that_always_loses_says_so(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    _another_writer_first(monkeypatch, c, lake, times=delta_lake.ATTEMPTS)
    with pytest.raises(milekit.LakeConflictError, match="other writers committed first"):
        milekit.sync("tasks", lake, client=c, progress=False)
    assert isinstance(milekit.LakeConflictError("x"), milekit.LakeError)
    _same_as_api(lake, c)


def test_a_retention_vacuums_older_versions(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    _changes(fresh, c)
    milekit.sync("tasks", lake, client=c, progress=False)
    assert len(milekit.read_lake(lake, version=0)) == 300
    files = len(list(lake.glob("*.parquet")))
    milekit.sync("tasks", lake, client=c, progress=False, retention=dt.timedelta(0))
    assert len(list(lake.glob("*.parquet"))) < files
    with pytest.raises(milekit.LakeError, match="cannot read version 0"):
        milekit.read_lake(lake, version=0)
    _same_as_api(lake, c)
    history = milekit.lake_history(lake)
    assert history["run"].sum() == 3 and "VACUUM END" in history["operation"].tolist()


def test_the_command_line_makes_a_delta_lake(
    fresh: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from milekit.cli import main

    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    lake = tmp_path / "lake"
    args = ["sync", "tasks", str(lake), "--base-url", fresh.url, "--no-progress"]
    assert main([*args, "--format", "delta"]) == 0
    assert main(args) == 0  # it stays Delta
    out = capsys.readouterr().out
    assert "(full)" in out and "(incremental)" in out and fresh.token not in out
    assert (lake / "_delta_log").is_dir() and len(milekit.lake_history(lake)) == 2


def test_an_incremental_run_hashes_only_the_rows_its_stamps_leave_in_doubt(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows whose update stamp is the lake's and older than the last run are the lake's
    as they are: only new rows, rows whose stamp moved and rows stamped since the last run
    (less the overlap) are hashed and compared (issue 25 item 6)."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    _changes(fresh, c)
    hashed: list[int] = []
    real = delta_lake.row_hashes

    def spy(batch: pa.RecordBatch) -> pa.Array:
        hashed.append(batch.num_rows)
        return real(batch)

    monkeypatch.setattr(delta_lake, "row_hashes", spy)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.mode == "incremental" and res.fetched > 40 and res.written == 3
    # the new task (read by the created read and the UNASSIGNED one), the finished one and
    # the edited one: not the ~40 other open tasks read again
    assert sum(hashed) == 4
    _same_as_api(lake, c)


@pytest.mark.parametrize("undated", [False, True])
def test_a_large_lake_reads_its_open_rows_as_ids_and_stamps_and_whole_only_those_in_doubt(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    undated: bool,
) -> None:
    """Past NARROW_FROM_PAGES pages of rows, the reads of the open rows ask for ids and
    stamps only (``fields=``); the rows they leave in doubt are read whole by creation-time
    ranges (planned in pages of 5 rows here), or, for a row in doubt without a creation
    time (``undated``), its status whole. Either way the run finds the new, finished,
    edited and deleted rows."""
    monkeypatch.setattr(delta_lake, "NARROW_FROM_PAGES", 0)
    monkeypatch.setattr(delta_lake._DeltaRun, "page", property(lambda self: 5))
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    _changes(fresh, c)
    if undated:  # an open task changed, and without a creation time
        task = fresh.store.get("tasks", open_ids(fresh, "ONGOING")[-1]) or {}
        doc = {k: v for k, v in task.items() if k != "createdTime"}
        doc |= {"title": "undated", "updatedTime": iso_now(time.time())}
        fresh.store.apply([Op("put", "tasks", task["_id"], doc)], "PATCH", "/task")
    before = len(fresh.app.request_log)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    asked = [
        {k: v[0] for k, v in parse_qs(r.query).items()}
        for r in list(fresh.app.request_log)[before:]
        if r.path.endswith("/tasks") and "status=" in r.query
    ]
    narrowed = [q for q in asked if "fields" in q]
    whole = [q for q in asked if "fields" not in q]
    assert {q["status"] for q in narrowed} == {"ONGOING", "UNASSIGNED"}
    pages = sorted((q["status"], int(q["page"])) for q in narrowed)
    assert len(pages) == len(set(pages)) > 2  # pages of 5 rows, each asked for once
    assert {q["fields"] for q in narrowed} == {"_id,updatedTime,createdTime,status"}
    ranged = [q for q in whole if "timeBy" in q]
    assert all(q["timeBy"] == "createdTime" and q["timeFrom"] <= q["timeTo"] for q in ranged)
    # the new row (UNASSIGNED) and the edited one (ONGOING), by their creation times
    assert {q["status"] for q in ranged} == {"UNASSIGNED"} | (set() if undated else {"ONGOING"})
    assert {q["status"] for q in whole if "timeBy" not in q} == ({"ONGOING"} if undated else set())
    assert (res.mode, res.written, res.deleted) == ("incremental", 3 + undated, 1)
    _same_as_api(lake, c)


@pytest.mark.parametrize("prunable", [True, False])
def test_an_incremental_run_scans_the_keys_of_the_files_a_read_can_bring_back_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prunable: bool
) -> None:
    """The files whose every row is finished and created before the run's window (by the
    Delta log's statistics: deltalake's file pruning) are not scanned for the lake's keys;
    a row of theirs that the finished read of the overlap brings back (finished just
    before the last run) counts as changed and is committed again as it is (counted as
    changed, not added: looked up in the files its id can be in); the lake still equals
    the API. A predicate deltalake cannot apply (not ``prunable``) scans them all."""
    if not prunable:
        bad = "\"createdTime\" >= 'not a time'"
        monkeypatch.setattr(delta_lake, "unsettled", lambda *a: bad)
    with Sandbox(tasks=20_000, rate_limit=None) as sb, milekit.Client(sb.token, sb.url) as c:
        just_done = next(t for t in sb.store.values("tasks") if t["status"] == "DONE")
        doc = dict(just_done, doneTime=iso_now(time.time()))
        sb.store.apply([Op("put", "tasks", just_done["_id"], doc)], "PATCH", "/task")
        lake = tmp_path / "tasks"
        milekit.sync("tasks", lake, client=c, progress=False, format="delta")
        files = len(deltalake.DeltaTable(str(lake)).file_uris())
        scanned: list[int] = []
        real = delta_changes.LakeKeys.scan

        def scan(cls: type, lake: ds.FileSystemDataset, *args: object) -> object:
            scanned.append(len(lake.files))
            return real(lake, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(delta_changes.LakeKeys, "scan", classmethod(scan))
        _changes(sb, c)
        res = milekit.sync("tasks", lake, client=c, progress=False)
        assert files >= 3 and 0 < scanned[0] <= files
        assert (scanned[0] < files) is prunable  # not the files of finished rows only
        # pruned, the row finished in the overlap is not compared: merged again as it is
        assert (res.mode, res.written, res.deleted) == ("incremental", 3 + prunable, 1)
        # the row the pruned keys lack is held by the lake: changed, not added
        last = milekit.lake_history(lake).iloc[-1]
        assert [last["added"], last["changed"], last["deleted"]] == [1, 2 + prunable, 1]
        _same_as_api(lake, c)


def test_a_lake_whose_every_row_was_deleted_takes_new_rows(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """Every task deleted, a run empties the lake (its marks kept); the next run that reads
    a row compared it with a lake of no rows and crashed (IndexError in the compare)."""
    lake = tmp_path / "tasks"
    for task in list(fresh.store.values("tasks"))[1:]:
        c.request("DELETE", f"/task/{task['_id']}")
    [kept] = fresh.store.values("tasks")
    if kept["status"] == "DONE":
        doc = dict(kept, status="ONGOING")
        fresh.store.apply([Op("put", "tasks", kept["_id"], doc)], "PATCH", "/task")
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    c.request("DELETE", f"/task/{kept['_id']}")
    emptied = milekit.sync("tasks", lake, client=c, progress=False)
    assert (emptied.mode, emptied.deleted, emptied.rows) == ("incremental", 1, 0)
    body = {"flow": kept["flow"], "hubId": kept["hubId"], "title": "after all were gone"}
    c.request("POST", "/task", json=body)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert (res.mode, res.written, res.rows) == ("incremental", 1, 1)
    _same_as_api(lake, c)


def test_a_delta_row_changed_under_a_recent_unchanged_stamp_is_still_seen(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """The stamp has whole seconds: a row stamped near the last run may have changed
    again in the same second; such rows are compared by content."""
    task = next(t for t in fresh.store.values("tasks") if t.get("status") == "ONGOING")
    doc = dict(task, updatedTime=iso_now(time.time()))
    fresh.store.apply([Op("put", "tasks", task["_id"], doc)], "PATCH", "/task")
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    doc = dict(doc, title="changed in the same second")
    fresh.store.apply([Op("put", "tasks", task["_id"], doc)], "PATCH", "/task")
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.written == 1
    assert milekit.read_lake(lake).loc[task["_id"], "title"] == "changed in the same second"


@pytest.mark.parametrize("narrow", [False, True])
def test_a_row_two_delta_reads_got_is_taken_from_the_copy_with_the_newest_stamp(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    narrow: bool,
) -> None:
    """The reads run at once, so the later read in the list is not the fresher: of two
    copies of a row the newer update stamp wins (on a tie, the later read); so too where
    the open rows are read as ids and stamps first (``narrow``)."""
    if narrow:
        monkeypatch.setattr(delta_lake, "NARROW_FROM_PAGES", 0)
        monkeypatch.setattr(delta_lake._DeltaRun, "page", property(lambda self: 5))
    spec = RESOURCES["tasks"]
    waiting = open_ids(fresh, "UNASSIGNED")[0]
    plan = read_plan(spec, {}, c)
    pages = iter_tables(spec, {"status": "UNASSIGNED"}, client=c, progress=False, plan=plan)
    stale = next(
        hit for t in pages if (hit := t.filter(pa.compute.equal(t.column("_id"), waiting)))
    )
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    c.request("PATCH", f"/task/{waiting}", json={"title": "edited after"})
    real = delta_lake._DeltaRun.tables

    def tables(
        self: delta_lake._DeltaRun,
        extra: dict[str, str] | None = None,
        lookahead: int = 256,
        whole: bool = True,
        expect: int | None = None,
    ) -> object:
        yield from real(self, extra, lookahead, whole, expect)
        if (extra or {}).get("status") == "ONGOING":  # the last read: an old copy too
            yield stale

    monkeypatch.setattr(delta_lake._DeltaRun, "tables", tables)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.mode == "incremental"
    assert milekit.read_lake(lake).loc[waiting, "title"] == "edited after"


def test_of_several_copies_the_newest_stamp_wins_then_the_later_read() -> None:
    no = delta_changes.NO_STAMP
    reads = [
        (np.array([1, 2, 3, 4]), np.array([20, 10, no, 10])),
        (np.array([2, 1, 3, 5]), np.array([10, 10, no, no])),
        (np.array([4]), np.array([5])),
    ]
    seen = delta_changes.Seen(reads)
    winner = {}
    for i, (keys, stamped) in enumerate(reads):
        for k, ok in zip(keys.tolist(), seen.won(keys, stamped, i).tolist(), strict=True):
            if ok:
                assert k not in winner
                winner[k] = i
    assert winner == {1: 0, 2: 1, 3: 1, 4: 0, 5: 1}
    assert seen.has(np.array([1, 5, 6])).tolist() == [True, True, False]


def test_an_id_twice_in_one_read_is_compared_by_its_first_copy() -> None:
    """Pages that shift while read can bring one id twice in a read: the other reads'
    copies are weighed against the first of them, whatever the sort that finds it."""
    reads = [(np.array([7, 8, 7, 9]), np.array([30, 1, 10, 1])), (np.array([7]), np.array([20]))]
    seen = delta_changes.Seen(reads)
    assert seen.won(np.array([7]), np.array([20]), read=1).tolist() == [False]
    reads[0] = (np.array([7, 8, 7, 9]), np.array([10, 1, 30, 1]))
    assert delta_changes.Seen(reads).won(np.array([7]), np.array([20]), read=1).tolist() == [True]


def test_many_keys_are_found_as_few_are() -> None:
    """The open keys of a large lake are looked up sorted first: the same answer."""
    rng = np.random.default_rng(7)
    held = rng.integers(-(2**63), 2**63 - 1, 30_000, dtype=np.int64)
    asked = np.concatenate([held[::3], rng.integers(-(2**63), 2**63 - 1, 20_000, np.int64)])
    rng.shuffle(asked)
    seen = delta_changes.Seen([(held, np.zeros(len(held), np.int64))])
    assert len(asked) > delta_changes._SORT_FIRST
    expected = np.isin(asked, held)
    assert seen.has(asked).tolist() == expected.tolist()
    few = np.concatenate([seen.has(part) for part in np.array_split(asked, 8)])
    assert few.tolist() == expected.tolist() and expected.sum() == 10_000


def test_id_keys_are_a_function_of_the_id_alone() -> None:
    """The same id has the same key whatever else is in its batch (other widths, nulls,
    slices, chunks, string views): the keys decide which open rows are gone."""
    ids = ["6a6d37b6149f08d113bfc574", "6a6d37b6149f08d113bfc575", "x", "", "abcdefghi"]
    alone = {i: int(delta_changes.id_keys(pa.array([i]))[0]) for i in ids}
    assert len(set(alone.values())) == len(ids)
    mixed = pa.array([None, *ids])
    got = delta_changes.id_keys(mixed.slice(1)).tolist()
    assert got == [alone[i] for i in ids]
    view = pa.array(ids[::-1]).cast(pa.string_view())
    assert delta_changes.id_keys(view).tolist() == [alone[i] for i in ids[::-1]]
    chunked = pa.chunked_array([ids[:2], ids[2:]])
    assert delta_changes.id_keys(chunked).tolist() == [alone[i] for i in ids]


def test_row_hashes_are_the_ones_lakes_already_hold() -> None:
    """A lake keeps each row's hash: a later milekit must hash a row as the one that wrote
    it did, or every open row reads as changed and the next merge rewrites them all. The
    values below were computed by the hashing before its null columns were skipped (the
    hashes lakes in use hold); a column null in every row of a batch (or of a struct)
    adds nothing, in a batch of one row or many."""
    b = pa.record_batch({
        "_id": ["6a6d37b6149f08d113bfc574", "6a6d37b6149f08d113bfc575", None],
        "n": pa.array([1, None, 3], pa.int32()),
        "x": [1.5, None, -0.0],
        "ok": [True, False, None],
        "at": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5), None, dt.datetime(1999, 12, 31)],
                       pa.timestamp("us", "UTC")),
        "empty": pa.array([None, None, None], pa.string()),
        "hub": [{"_id": "h1", "lat": 1.0}, None, {"_id": None, "lat": None}],
        "tags": [["a", None, "b"], [], None],
        "items": [[{"q": 1}], None, [{"q": None}, {"q": 2}]],
        "nothing": pa.array([None, None, None], pa.null()),
    })  # fmt: skip
    held = [-4973968915313786494, 1242006456343198542, 5506553018698228353]
    assert delta_changes.row_hashes(b).to_pylist() == held
    one_by_one = [delta_changes.row_hashes(b.slice(i, 1)).to_pylist()[0] for i in range(3)]
    assert one_by_one == held
    assert delta_changes.row_hashes(b.drop_columns(["empty", "nothing"])).to_pylist() == held


def test_the_rows_handed_to_deltalake_come_a_small_batch_at_a_time(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task row decodes to kilobytes: the first write and the merge get the scratch
    files' rows ``WRITE_ROWS`` at a time, never a whole row group (issue 25 item 6)."""
    monkeypatch.setattr(delta_lake, "WRITE_ROWS", 8)
    sizes: list[int] = []

    def counted(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def each() -> Iterator[pa.RecordBatch]:
            for b in reader:
                sizes.append(b.num_rows)
                yield b

        return pa.RecordBatchReader.from_batches(reader.schema, each())

    write, merge = deltalake.write_deltalake, deltalake.DeltaTable.merge
    monkeypatch.setattr(
        deltalake, "write_deltalake", lambda uri, data, **kw: write(uri, counted(data), **kw)
    )
    monkeypatch.setattr(
        deltalake.DeltaTable, "merge", lambda self, data, **kw: merge(self, counted(data), **kw)
    )
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")
    assert sum(sizes) == 300 and max(sizes) <= 8
    sizes.clear()
    _changes(fresh, c)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.written == 3 and sizes and max(sizes) <= 8
    _same_as_api(lake, c)


def test_an_incremental_run_asks_for_every_page_of_an_open_status_at_once(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run keeps how many rows each open status had (DeltaState.open_rows); the next
    asks for all their pages at once instead of page 1 first and the others once its
    answer said how many there are (a round trip per read, ~0.1-0.4 s at 1M tasks)."""
    monkeypatch.setattr(delta_lake, "NARROW_FROM_PAGES", 0)
    monkeypatch.setattr(delta_lake._DeltaRun, "page", property(lambda self: 5))
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format="delta")

    def open_rows() -> dict[str, int]:
        state = delta_versions.state_of(deltalake.DeltaTable(str(lake)))
        assert state is not None
        return state.open_rows

    def counts() -> dict[str, int]:
        return {s: len(open_ids(fresh, s)) for s in ("UNASSIGNED", "ONGOING")}

    assert open_rows() == counts()
    _changes(fresh, c)
    fresh.faults.latency = 0.3  # every answer: page 2 after page 1's would come 0.3 s later
    before = len(fresh.app.request_log)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    fresh.faults.latency = 0.0
    answered: dict[str, dict[int, float]] = {"UNASSIGNED": {}, "ONGOING": {}}
    for r in list(fresh.app.request_log)[before:]:
        q = {k: v[0] for k, v in parse_qs(r.query).items()}
        if r.path.endswith("/tasks") and "fields" in q:
            answered[q["status"]][int(q.get("page", 1))] = r.t
    for status, at in answered.items():
        assert len(at) >= 3, at  # pages of 5 rows
        assert max(at.values()) - at[1] < 0.2, (status, at)
    assert res.mode == "incremental" and open_rows() == counts()
    _same_as_api(lake, c)


def test_marks_with_keys_a_later_milekit_added_are_read(tmp_path: Path) -> None:
    """Several machines write one lake and are not upgraded at once: a key this milekit
    does not know is left alone, one it knows with a value it cannot use is not used."""
    lake = str(tmp_path / "tasks")
    marks = {
        "resource": "tasks", "filters": {}, "high_water": None, "last_run": "2026-12-07",
        "schema": "", "open_rows": ["not", "a", "mapping"], "added_later": {"x": 1},
    }  # fmt: skip
    meta = {delta_versions.STATE_KEY: json.dumps(marks)}
    props = deltalake.CommitProperties(custom_metadata=meta)
    deltalake.write_deltalake(lake, pa.table({"_id": ["a"]}), commit_properties=props)
    state = delta_versions.state_of(deltalake.DeltaTable(lake))
    assert state is not None and state.resource == "tasks" and state.last_run == "2026-12-07"
