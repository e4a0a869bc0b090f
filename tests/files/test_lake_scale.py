"""Issue 25 item 6: an incremental run of the Hive lake holds one batch of re-read rows at
a time, whatever the number of rows it reads again (no timed assertion: rows are counted)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import milekit
from milekit.files import lake as lake_mod
from milekit.files import lake_batches
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
