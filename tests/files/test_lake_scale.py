"""Issue 25 item 6: an incremental run of the Hive lake holds one batch of re-read rows at
a time, whatever the number of rows it reads again (no timed assertion: rows are counted)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import milekit
from milekit.files import delta_lake, lake_batches
from milekit.files import lake as lake_mod
from milekit.files.sink import Sink
from milekit.reads.pages import iter_tables
from milekit.sandbox import Sandbox
from milekit.sandbox.http import iso_now
from milekit.sandbox.store import Op

BATCH = 8  #: rows per batch and per page in these tests (the sandbox has ~45 open tasks)


@pytest.fixture
def c(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as client:
        yield client


def _changes(sb: Sandbox, c: milekit.Client) -> None:
    """A new task, one finished, one edited while open, one deleted."""
    flow = next(t for t in sb.store.values("tasks"))
    c.request(
        "POST", "/task", json={"flow": flow["flow"], "hubId": flow["hubId"], "title": "new one"}
    )
    ongoing = [t["_id"] for t in sb.store.values("tasks") if t.get("status") == "ONGOING"]
    doc = dict(sb.store.get("tasks", ongoing[0]) or {})
    stamp = iso_now(time.time())
    doc.update(status="DONE", doneTime=stamp, updatedTime=stamp, doneBy="Field worker")
    sb.store.apply([Op("put", "tasks", ongoing[0], doc)], "POST", "/field-app/done")
    c.request("PATCH", f"/task/{ongoing[1]}", json={"title": "edited while open"})
    c.request("DELETE", f"/task/{ongoing[2]}")


def _held_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pages of BATCH rows, batches of BATCH rows; the rows of every table handed to a
    file's writer or compared with the lake's rows are recorded."""
    seen: list[int] = []
    monkeypatch.setattr(lake_mod, "BATCH_ROWS", BATCH)
    monkeypatch.setattr(lake_mod, "iter_tables", functools.partial(iter_tables, limit=BATCH))
    write = Sink.write

    def spy_write(self: Sink, table: pa.Table) -> None:
        seen.append(table.num_rows)
        write(self, table)

    same = lake_batches._same_rows

    def spy_same(old: pa.Table, new: pa.Table, id_field: str) -> bool:
        seen.extend((old.num_rows, new.num_rows))
        return same(old, new, id_field)

    monkeypatch.setattr(Sink, "write", spy_write)
    monkeypatch.setattr(lake_batches, "_same_rows", spy_same)
    return seen


@pytest.mark.parametrize("changed", [True, False])
def test_an_incremental_run_holds_one_batch_of_re_read_rows(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    changed: bool,
) -> None:
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    if changed:
        _changes(fresh, c)
    seen = _held_rows(monkeypatch)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.mode == "incremental" and res.fetched > 4 * BATCH  # many batches re-read
    assert seen and max(seen) <= BATCH
    assert res.deleted == (1 if changed else 0)
    if not changed:
        assert not res.partitions_written  # every row read back as it was: no file replaced
    monkeypatch.undo()
    got = milekit.read_lake(lake).sort_index()
    want = milekit.tasks_frame(client=c, progress=False).sort_index()
    want.attrs = got.attrs = {}
    pd.testing.assert_frame_equal(got, want)


def test_only_a_partition_whose_rows_changed_is_read_whole_and_replaced(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lake's ids and update stamps decide which rows changed: the other partitions
    holding open tasks are neither read whole nor replaced (their files stay)."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    task = next(t for t in fresh.store.values("tasks") if t.get("status") == "ONGOING")
    c.request("PATCH", f"/task/{task['_id']}", json={"title": "edited while open"})
    changed = f"created_month={task['createdTime'][:7]}/part-0.parquet"
    inodes = {p: p.stat().st_ino for p in lake.rglob("*.parquet")}
    assert len(inodes) > 1
    whole: list[Path] = []
    batches = lake_batches._batches

    def spy(path: Path, batch: int) -> Iterator[pa.Table]:
        whole.append(path)
        return batches(path, batch)

    monkeypatch.setattr(lake_batches, "_batches", spy)
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert res.partitions_written == (changed,)
    assert {p.relative_to(lake).as_posix() for p in whole if lake in p.parents} <= {changed}
    for p, inode in inodes.items():
        assert (p.stat().st_ino == inode) == (p.relative_to(lake).as_posix() != changed)
    got = milekit.read_lake(lake).sort_index()
    want = milekit.tasks_frame(client=c, progress=False).sort_index()
    want.attrs = got.attrs = {}
    pd.testing.assert_frame_equal(got, want)


def test_a_row_changed_under_a_recent_unchanged_stamp_is_still_seen(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    """The stamp has whole seconds: a row stamped near the last run may have changed again
    in the same second; such rows are compared whole."""
    task = next(t for t in fresh.store.values("tasks") if t.get("status") == "ONGOING")
    doc = dict(task, updatedTime=iso_now(time.time()))
    fresh.store.apply([Op("put", "tasks", task["_id"], doc)], "PATCH", "/task")
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False)
    doc = dict(doc, title="changed in the same second")
    fresh.store.apply([Op("put", "tasks", task["_id"], doc)], "PATCH", "/task")
    res = milekit.sync("tasks", lake, client=c, progress=False)
    assert len(res.partitions_written) == 1
    assert milekit.read_lake(lake).loc[task["_id"], "title"] == "changed in the same second"


def test_a_row_read_twice_is_taken_from_the_copy_with_the_newest_stamp(tmp_path: Path) -> None:
    """The reads run at once: of two copies of a row, the newer stamp wins whichever read
    came later in the list (on a tie, or without stamps, the later read)."""
    t1, t2 = pd.Timestamp("2026-10-01", tz="UTC"), pd.Timestamp("2026-10-02", tz="UTC")
    files = []
    for i, rows in enumerate(
        [
            {"_id": ["a", "b", "c"], "n": [1, 1, 1], "u": [t2, t1, t1]},
            {"_id": ["a", "b", "d"], "n": [2, 2, 2], "u": [t1, t1, t1]},
        ]
    ):
        files.append(tmp_path / f"read{i}.parquet")
        pq.write_table(pa.table(rows), files[-1])
    got = pa.concat_tables(lake_batches.fresh(files, "_id", 2, "u")).sort_by("_id")
    assert got.column("n").to_pylist() == [1, 2, 1, 2]  # a: newest; b: tie, later read


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_an_incremental_runs_reads_keep_few_pages_ahead(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The run's reads compare pages slower than they come: each fetches at most
    READ_LOOKAHEAD pages ahead (tests/reads/test_read_path.py shows the bound), so the
    peak no longer grows with the table (bench/bench_lake.py: 1.25x -> ~1.04x, 200k to 1M)."""
    lake = tmp_path / "tasks"
    milekit.sync("tasks", lake, client=c, progress=False, format=fmt)
    asked: list[int | None] = []
    module = lake_mod if fmt == "parquet" else delta_lake
    real = module.iter_tables

    def spy(*a: object, lookahead: int | None = 256, **k: object) -> Iterator[pa.Table]:
        asked.append(lookahead)
        return real(*a, lookahead=lookahead, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "iter_tables", spy)
    assert milekit.sync("tasks", lake, client=c, progress=False).mode == "incremental"
    assert len(asked) >= 3 and set(asked) == {lake_batches.READ_LOOKAHEAD}
