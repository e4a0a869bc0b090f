"""milekit.sync: a Hive-partitioned task lake kept up to date by reading only what changed,
readable whenever a run is killed, and refused when it is not this resource's lake."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import orjson
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pytest

import milekit
from milekit.cli import main
from milekit.files import lake as lake_mod
from milekit.reads import custom
from milekit.sandbox import Sandbox
from milekit.sandbox.store import Op

from .conftest import finish, open_ids


@pytest.fixture
def c(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as client:
        yield client


def _same_as_api(lake: Path, c: milekit.Client) -> None:
    got = milekit.read_lake(lake).sort_index()
    want = milekit.tasks_frame(client=c, progress=False).sort_index()
    want.attrs = got.attrs = {}
    pd.testing.assert_frame_equal(got, want)


def _readable_without_repeats(lake: Path) -> int:
    """What any engine sees now: every data file opens, no id twice."""
    table = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    if not table.num_columns:
        return 0  # killed before its first file
    ids = table.column("_id").to_pylist()
    assert len(ids) == len(set(ids))
    return len(ids)


def _duckdb_rows(where: str) -> int:
    got = duckdb.sql(
        f"select count(*), count(distinct created_month) from read_parquet('{where}', "
        "hive_partitioning=true, union_by_name=true)"
    ).fetchall()
    assert got[0][1] >= 1  # the partition column is there
    return int(got[0][0])


def _polars_rows(lake: Path, lazy: bool) -> int:
    frame = (
        pl.scan_parquet(lake, hive_partitioning=True).collect()
        if lazy
        else pl.read_parquet(lake, hive_partitioning=True)
    )
    assert "created_month" in frame.columns
    return frame.height


def _pandas_rows(lake: Path) -> int:
    frame = pd.read_parquet(lake)
    assert "created_month" in frame.columns
    return len(frame)


#: every engine that installs here, reading the lake's folder as it is (issue 21 item 7:
#: Polars refused the state file inside it); Spark needs a JVM: not tested (docs/lake.md)
ENGINES: dict[str, Callable[[Path], int]] = {
    "polars.scan_parquet": lambda lake: _polars_rows(lake, lazy=True),
    "polars.read_parquet": lambda lake: _polars_rows(lake, lazy=False),
    "duckdb folder": lambda lake: _duckdb_rows(str(lake)),
    "duckdb glob": lambda lake: _duckdb_rows(f"{lake}/**/*.parquet"),
    "pyarrow.dataset": lambda lake: ds.dataset(lake, partitioning="hive").count_rows(),
    "pandas.read_parquet": _pandas_rows,
}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_reads_the_lake_folder_as_it_is(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, engine: str
) -> None:
    """Issue 21 item 7: ``pl.scan_parquet("lake/tasks")`` failed on the state file in the
    folder; the folder now holds the partitions and nothing else, after a first and a
    later run, the state and lock beside it."""
    lake = tmp_path / "lake" / "tasks"
    for _ in range(2):
        milekit.sync("tasks", lake, client=c, progress=False)
        assert ENGINES[engine](lake) == 300
    assert {p.name for p in lake.rglob("*") if p.is_file()} == {"part-0.parquet"}
    assert all(p.parent.name.startswith("created_month=") for p in lake.rglob("*.parquet"))
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == [".tasks.milekit", "tasks"]
    assert sorted(p.name for p in lake_mod.home_of(lake).iterdir()) == ["lock", "state.json"]


def test_a_lake_with_its_state_inside_moves_it_beside_on_the_next_run(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """A lake written by milekit 0.1 (state and lock inside, and what a run killed then left:
    a recorded scratch folder and a hidden temporary beside a partition) is read as it is,
    and its next run moves the state beside it and removes the leftovers."""
    lake = tmp_path / "tasks"
    res = milekit.sync("tasks", lake, client=c, progress=False)
    home = lake_mod.home_of(lake)
    state = orjson.loads((home / "state.json").read_bytes())
    part = res.partitions_written[0]
    state.update(scratch=".milekit-tmp-0123456789ab", pending=[part])
    (lake / "_milekit_sync.json").write_bytes(orjson.dumps(state))
    (lake / "_milekit_sync.lock").touch()
    (lake / ".milekit-tmp-0123456789ab").mkdir()
    (lake / ".milekit-tmp-0123456789ab" / "x.arrow").write_bytes(b"half")
    (lake / part).with_name(".part-0.parquet.tmp").write_bytes(b"half")
    shutil.rmtree(home)
    assert lake_mod.has_state(lake)
    _same_as_api(lake, c)  # read_lake reads the old layout
    for _ in range(2):
        assert milekit.sync("tasks", lake, client=c, progress=False).mode == "incremental"
    assert [p.name for p in lake.iterdir() if p.is_file() or p.name.startswith(".")] == []
    assert sorted(p.name for p in home.iterdir()) == ["lock", "state.json"]
    for engine, rows in ENGINES.items():
        assert rows(lake) == 300, engine
    _same_as_api(lake, c)


def test_first_run_reads_everything_into_a_hive_dataset_with_the_frame_dtypes(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert (res.mode, res.fetched, res.written, res.rows) == ("full", 300, 300, 300)
    assert res.partitions_written and all(
        p.startswith("created_month=") for p in res.partitions_written
    )
    _same_as_api(lake, c)
    months = (
        ds.dataset(lake, format="parquet", partitioning="hive").to_table().column("created_month")
    )
    assert set(months.to_pylist()) == {
        p.split("=")[1].split("/")[0] for p in res.partitions_written
    }
    glob = str(lake / "**" / "*.parquet")
    assert duckdb.sql(
        f"select count(*) from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall() == [(300,)]
    assert pl.scan_parquet(glob, hive_partitioning=True).select(pl.len()).collect().item() == 300


def test_a_later_run_reads_only_what_can_have_changed_and_matches_the_api(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    flow = next(t for t in fresh.store.values("tasks"))
    new = c.request(
        "POST", "/task", json={"flow": flow["flow"], "hubId": flow["hubId"], "title": "new one"}
    )
    ongoing = open_ids(fresh, "ONGOING")
    finish(fresh, ongoing[0])
    c.request("PATCH", f"/task/{ongoing[1]}", json={"title": "edited while open"})
    c.request("DELETE", f"/task/{ongoing[2]}")
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.mode == "incremental" and res.deleted == 1 and res.rows == 300
    open_now = len(open_ids(fresh, "ONGOING")) + len(open_ids(fresh, "UNASSIGNED"))
    assert res.fetched < 300 and res.fetched >= open_now + 2  # the new one and the finished one
    assert res.partitions_skipped > 0
    _same_as_api(lake, c)
    df = milekit.read_lake(lake)
    assert df.loc[ongoing[0], "status"] == "DONE" and ongoing[2] not in df.index
    assert df.loc[ongoing[1], "title"] == "edited while open"
    assert new.body["task"]["_id"] in df.index


def test_nothing_changed_rewrites_only_the_open_tasks_partitions(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    before = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.deleted == 0 and res.rows == 300
    assert res.partitions_skipped + len(res.partitions_written) == len(before)
    _same_as_api(lake, c)


class _Killed(BaseException):
    """A kill at a rename, in process: unlike Ctrl-C (a KeyboardInterrupt a run cleans up
    after), nothing catches it, as nothing runs after a SIGKILL."""


@pytest.mark.parametrize("first_run", [True, False])
def test_a_run_killed_at_any_rename_leaves_a_readable_lake_the_next_run_completes(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    first_run: bool,
) -> None:
    base = tmp_path / "base"
    if not first_run:
        milekit.sync("tasks", base, client=c, progress=False)
        for tid in open_ids(fresh, "ONGOING")[:5]:
            finish(fresh, tid)
        c.request("DELETE", f"/task/{open_ids(fresh, 'UNASSIGNED')[0]}")
    real_replace = os.replace
    kills = 0
    for n in range(1, 100):
        lake = tmp_path / f"run{n}"
        if base.exists():
            shutil.copytree(base, lake)
            shutil.copytree(lake_mod.home_of(base), lake_mod.home_of(lake))
        calls = 0

        def dies(src: str, dst: str, _n: int = n) -> None:
            nonlocal calls
            calls += 1
            if calls == _n:
                raise _Killed
            real_replace(src, dst)

        monkeypatch.setattr(lake_mod.os, "replace", dies)
        try:
            milekit.sync("tasks", lake, client=c, progress=False)
        except _Killed:
            kills += 1
            monkeypatch.setattr(lake_mod.os, "replace", real_replace)
            _readable_without_repeats(lake)
            res = milekit.sync("tasks", lake, client=c, progress=False)
            assert res.rows == len(fresh.store.values("tasks"))
            _same_as_api(lake, c)
            continue
        monkeypatch.setattr(lake_mod.os, "replace", real_replace)
        break  # the run got past its last rename: every moment was tried
    assert kills >= 3


def test_a_read_that_fails_changes_nothing(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    state = (lake_mod.home_of(lake) / lake_mod.STATE_FILE).read_bytes()
    fresh.faults.add(status=500, times=None, path_prefix="/api/v3/tasks")
    quick = milekit.Client(
        fresh.token, fresh.url, limiter="process", retry=milekit.RetryPolicy(attempts=2)
    )
    with pytest.raises(milekit.MileError):
        milekit.sync("tasks", lake, client=quick, progress=False)
    assert (lake_mod.home_of(lake) / lake_mod.STATE_FILE).read_bytes() == state
    assert _readable_without_repeats(lake) == 300


def test_a_resource_without_a_time_filter_is_a_full_snapshot_each_run(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "hubs"
    first = milekit.sync("hubs", lake, client=c, progress=False)
    again = milekit.sync("hubs", lake, client=c, progress=False)
    hubs = milekit.hubs_frame(client=c, progress=False)
    assert first.mode == again.mode == "snapshot" and again.fetched == len(hubs) == again.rows
    assert [p.name for p in lake.rglob("*.parquet")] == ["part-0.parquet"]
    got = milekit.read_lake(lake)
    got.attrs = hubs.attrs = {}
    pd.testing.assert_frame_equal(got, hubs)


def _sent(sb: Sandbox) -> int:
    return len(sb.app.request_log)


def test_a_lake_of_another_resource_is_refused_before_anything_is_sent(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    milekit.sync("hubs", tmp_path / "x", client=c, progress=False)
    sent = _sent(fresh)
    with pytest.raises(milekit.LakeError, match="lake of hubs, not of tasks"):
        milekit.sync("tasks", tmp_path / "x", client=c, progress=False)
    assert _sent(fresh) == sent


def test_parquet_files_not_written_by_sync_are_never_touched(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()  # export() creates no directories
    milekit.export("tasks", tmp_path / "mine" / "tasks.parquet", client=c, progress=False)
    with pytest.raises(milekit.LakeError, match=r"no state file \(\.mine\.milekit/state\.json"):
        milekit.sync("tasks", tmp_path / "mine", client=c, progress=False)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["tasks.parquet"]


def test_a_state_file_that_does_not_match_the_dataset_is_refused(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    res = milekit.sync("tasks", lake, client=c, progress=False)
    victim = lake / res.partitions_written[0]
    victim.unlink()
    with pytest.raises(milekit.LakeError, match="is missing"):
        milekit.sync("tasks", lake, client=c, progress=False)
    other = tmp_path / "other"
    milekit.sync("tasks", other, client=c, progress=False)
    shutil.copy(other / res.partitions_written[1], victim)  # rows of another month
    with pytest.raises(milekit.LakeError, match="does not hold the"):
        milekit.sync("tasks", lake, client=c, progress=False)


def test_other_filters_on_the_same_lake_are_refused(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    hub = fresh.store.values("hubs")[0]["_id"]
    milekit.sync("tasks", tmp_path / "t", client=c, progress=False, hubId=hub)
    with pytest.raises(milekit.LakeError, match="synced with filters"):
        milekit.sync("tasks", tmp_path / "t", client=c, progress=False)
    res = milekit.sync("tasks", tmp_path / "t", client=c, progress=False, hubId=hub)
    assert res.mode == "incremental"
    assert (milekit.read_lake(tmp_path / "t")["hubId"] == hub).all()


def test_the_command_line_syncs_and_says_what_it_did(
    fresh: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    args = ["sync", "tasks", str(tmp_path / "lake"), "--base-url", fresh.url, "--no-progress"]
    assert main(args) == 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(full)" in out and "(incremental)" in out and fresh.token not in out


def test_overlap_must_be_a_duration_before_anything_is_sent(
    c: milekit.Client, tmp_path: Path
) -> None:
    with pytest.raises(milekit.errors.UsageError):
        milekit.sync("tasks", tmp_path / "t", client=c, overlap=dt.timedelta(hours=-1))


def test_location_histories_are_a_snapshot_because_late_points_are_back_dated(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """A point uploaded late carries the time the phone recorded it: a window after the
    last mark would miss it, so every run reads the list whole."""
    lake = tmp_path / "points"
    first = milekit.sync("location_histories", lake, client=c, progress=False)
    point = dict(fresh.store.values("location_histories")[0])
    point.pop("_id")
    point["time"] -= 3 * 86_400_000  # recorded three days ago, offline until now
    c.request("POST", "/location-history", json=point)
    again = milekit.sync("location_histories", lake, client=c, progress=False)
    assert first.mode == again.mode == "snapshot"
    assert again.rows == first.rows + 1
    got = milekit.read_lake(lake).sort_index()
    want = milekit.frame("location_histories", client=c, progress=False).sort_index()
    got.attrs = want.attrs = {}
    pd.testing.assert_frame_equal(got, want)


_KILL_AT_RENAME = """
import os, signal, sys
import milekit
n, real, calls = int(sys.argv[3]), os.replace, [0]
def dies(src, dst):
    calls[0] += 1
    if calls[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
os.replace = dies
with milekit.Client(os.environ["MILEAPP_TOKEN"], sys.argv[1], limiter="process") as c:
    milekit.sync("tasks", sys.argv[2], client=c, progress=False, full=True)
"""


def _killed_at_rename(sb: Sandbox, lake: Path, n: int) -> None:
    """A full `sync` run in another process, SIGKILLed at its ``n``-th rename: nothing of
    it runs after (no ``finally``), as when a machine or a cron timeout kills it."""
    import subprocess
    import sys

    env = dict(os.environ, MILEAPP_TOKEN=sb.token)
    cmd = [sys.executable, "-c", _KILL_AT_RENAME, sb.url, str(lake), str(n)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr


def _hidden(lake: Path) -> set[Path]:
    return {p for p in lake.rglob(".*")}


def test_what_a_killed_writer_left_is_invisible_and_swept(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """A process killed while writing leaves half files and a scratch directory in the
    lake's home beside it (item 5: the next run removed every hidden ``*.tmp`` file and
    ``.milekit-tmp-*`` folder; issue 21 item 7: they were inside the dataset): the dataset
    folder holds the partitions only, every engine reads it, and the next run removes what
    the killed one left, and only that."""
    lake = tmp_path / "tasks"
    home = lake_mod.home_of(lake)
    milekit.sync("tasks", lake, client=c, progress=False)
    _killed_at_rename(fresh, lake, 3)
    assert _hidden(lake) == set()
    assert {p.name for p in lake.rglob("*") if p.is_file()} == {"part-0.parquet"}
    scratch = [p for p in home.iterdir() if p.name.startswith("tmp-")]
    assert scratch and any(p.suffix == ".tmp" for p in scratch[0].iterdir())
    for engine, rows in ENGINES.items():
        assert rows(lake) == 300, engine
    mine = [lake / ".notes.tmp", home / "tmp-mine", home / "tmp-mine" / "x"]
    mine[1].mkdir()
    mine[0].write_text("a person's own")
    mine[2].write_text("a person's own")
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.rows == 300 and res.deleted == 0
    assert _hidden(lake) == {mine[0]} and mine[2].exists()
    assert sorted(p.name for p in home.iterdir()) == ["lock", "state.json", "tmp-mine"]
    _same_as_api(lake, c)


def test_hidden_files_the_lake_did_not_write_are_left_alone(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "tasks"
    res = milekit.sync("tasks", lake, client=c, progress=False)
    mine = [
        lake / ".notes.tmp",
        (lake / res.partitions_written[0]).with_name(".draft.parquet.tmp"),
        lake_mod.home_of(lake) / "tmp-mine",
    ]
    mine[0].write_text("a person's own")
    mine[1].write_text("a person's own")
    mine[2].mkdir()
    for full in (False, True):
        milekit.sync("tasks", lake, client=c, progress=False, full=full)
    assert all(p.exists() for p in mine) and mine[0].read_text() == "a person's own"


@pytest.mark.parametrize("where", [".", "created_month"])
def test_a_parquet_file_placed_in_a_killed_runs_lake_is_refused_not_deleted(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, where: str
) -> None:
    """Item 5: after a killed full run the next one took every Parquet file in the lake
    for its own, removed a person's file and counted its rows as deleted tasks."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    _killed_at_rename(fresh, lake, 3)
    folder = lake if where == "." else sorted(lake.glob("created_month=*"))[-1]
    mine = folder / "mine.parquet"
    milekit.export("tasks", mine, client=c, progress=False, status="DONE")
    kept = mine.read_bytes()
    sent = _sent(fresh)
    with pytest.raises(milekit.LakeError, match=r"mine\.parquet is not recorded"):
        milekit.sync("tasks", lake, client=c, progress=False)
    assert _sent(fresh) == sent and mine.read_bytes() == kept
    mine.rename(tmp_path / "mine.parquet")  # its owner moves it out
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.rows == 300 and res.deleted == 0
    _same_as_api(lake, c)


def _dead_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    return f"http://127.0.0.1:{port}/api/v3"


def test_a_first_run_against_a_dead_server_leaves_nothing(fresh: Sandbox, tmp_path: Path) -> None:
    """Item B: connection refused left an empty lake directory with its lock file."""
    dead = milekit.Client(
        fresh.token, _dead_url(), limiter=None, retry=milekit.RetryPolicy(attempts=1)
    )
    with dead, pytest.raises(milekit.errors.TransportError):
        milekit.sync("tasks", tmp_path / "new" / "tasks", client=dead, progress=False)
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / "empty"
    empty.mkdir()  # a directory made for the lake stays, as it was
    with dead, pytest.raises(milekit.errors.TransportError):
        milekit.sync("tasks", empty, client=dead, progress=False)
    assert list(tmp_path.iterdir()) == [empty] and list(empty.iterdir()) == []


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_a_first_run_that_fails_while_writing_leaves_nothing(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: type[BaseException],
) -> None:
    """A disk that fills up (or Ctrl-C) at the third rename of a first run, some
    partitions already in place: what the run wrote is removed; a retry reads everything
    again anyway, it needs nothing of it."""
    real_replace, calls = os.replace, 0

    def fails(src: str, dst: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise error("no space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(lake_mod.os, "replace", fails)
    with pytest.raises(error):
        milekit.sync("tasks", tmp_path / "tasks", client=c, progress=False)
    monkeypatch.setattr(lake_mod.os, "replace", real_replace)
    assert list(tmp_path.iterdir()) == []
    assert milekit.sync("tasks", tmp_path / "tasks", client=c, progress=False).rows == 300


def test_a_second_run_on_the_same_lake_is_refused_while_one_runs(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """Two overlapping cron runs would each replace what the other wrote: the second is a
    LakeError at once, before anything is sent."""
    import filelock

    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    sent = _sent(fresh)
    held = lake_mod.home_of(lake) / lake_mod.LOCK_FILE
    with filelock.FileLock(str(held)):  # a run in another process
        with pytest.raises(milekit.LakeError, match=r"another milekit\.sync is running"):
            milekit.sync("tasks", lake, client=c, progress=False)
    assert _sent(fresh) == sent
    assert milekit.sync("tasks", lake, client=c, progress=False).mode == "incremental"


@pytest.mark.slow
def test_a_process_killed_mid_run_leaves_a_readable_lake_the_next_run_completes(
    tmp_path: Path,
) -> None:
    """SIGKILL, not an exception: a real `milekit sync` process killed at several moments
    of its first and of a later run; each time the lake reads without a repeated id, and
    a last run brings it equal to the API."""
    import signal
    import subprocess
    import sys

    with Sandbox(tasks=4000, latency=0.02) as sb:
        lake = tmp_path / "tasks"
        env = dict(os.environ, MILEAPP_TOKEN=sb.token, MILEKIT_LIMITER="process")
        cmd = [sys.executable, "-m", "milekit", "sync", "tasks", str(lake), "--base-url", sb.url,
               "--no-progress"]  # fmt: skip
        for delay in (0.4, 0.9, 1.3, 1.6, 2.0, 2.4):
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            if lake.exists():
                _readable_without_repeats(lake)
            if delay == 1.6:  # then a later (incremental) run is killed too
                assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
                for tid in open_ids(sb, "ONGOING")[:20]:
                    finish(sb, tid)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with milekit.Client(sb.token, sb.url, limiter="process") as c:
            _same_as_api(lake, c)


def test_two_partitions_whose_columns_change_mid_read_keep_their_own_rows(
    tmp_path: Path,
) -> None:
    """A key first seen on page 2 in one month and another first seen on page 3 in
    another: both partition files are rewritten from spills, which shared one file name
    in the run's scratch directory (the second sink's spill replaced the first's)."""
    with Sandbox(tasks=2500) as sb, milekit.Client(sb.token, sb.url, limiter="process") as c:
        ops = []
        for page, key in ((2, "extraKey"), (3, "otherKey")):
            got = c.request("GET", "/tasks", params={"limit": 1000, "page": page})
            for t in got.body["tasks"]["data"]:
                doc = dict(sb.store.get("tasks", t["_id"]) or {}, **{key: f"{key} {page}"})
                ops.append(Op("put", "tasks", t["_id"], doc))
        sb.store.apply(ops, "POST", "/field-app/keys")
        res = milekit.sync("tasks", tmp_path / "tasks", client=c, progress=False)
        assert res.rows == 2500 and len(res.partitions_written) >= 2
        _same_as_api(tmp_path / "tasks", c)


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_run_sends_page_1_before_the_flows_are_answered(
    fresh: Sandbox, tmp_path: Path, fmt: str
) -> None:
    """The flows' definitions (GET /flows) were read before any page: one answer's wait
    (100 ms on the real API) added to every run. The sandbox holds the flows' answer
    until a task page has been asked for (10 s at most): a run that waits for the flows
    before its first page would be held the whole time and have sent none."""
    asked = threading.Event()
    held: list[bool] = []
    decide = fresh.faults.decide

    def hold_flows(method: str, path: str, query: str = "") -> object:
        if path == "/tasks":
            asked.set()
        elif path == "/flows" and not held:
            held.append(asked.wait(10))
        return decide(method, path, query)

    fresh.faults.decide = hold_flows  # type: ignore[method-assign]
    try:
        with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
            milekit.sync("tasks", tmp_path / "lake", client=c, progress=False, format=fmt)
            assert held == [True]  # page 1 was on its way while the flows were held
            milekit.sync("tasks", tmp_path / "lake", client=c, progress=False, format=fmt)
    finally:
        fresh.faults.decide = decide  # type: ignore[method-assign]
    assert len(milekit.read_lake(tmp_path / "lake")) == 300


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_run_whose_flows_cannot_be_read_says_so_and_completes(
    fresh: Sandbox, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The definitions are read beside page 1 now: their failure is still a warning, from
    the caller's thread, and the run types the custom columns from the data."""
    monkeypatch.setattr(custom, "CACHE", custom.Cache())
    fresh.faults.add(status=403, times=None, path_prefix="/api/v3/flows")
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        with pytest.warns(milekit.reads.plan.DefinitionsWarning, match="typed from the data"):
            milekit.sync("tasks", tmp_path / "lake", client=c, progress=False, format=fmt)
    assert len(milekit.read_lake(tmp_path / "lake")) == 300
