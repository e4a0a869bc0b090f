"""Pushing a file (no snapshot) never undoes someone else's work (issue 21, item 4).

A file exported before another user's edit is pushed without ``--original``: the rows the
server changed since the file was read are conflicts (not sent), not reverted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import milekit
from milekit.cli import main
from milekit.errors import UsageError
from milekit.sandbox import Sandbox

THEIRS = "changed by another user"
MINE = "my edit"


@pytest.fixture
def c(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as client:
        yield client


def written(sb: Sandbox, since: int) -> list[str]:
    return [str(w["id"]) for w in sb.store.write_log[since:]]


def stale_file(c: milekit.Client, tmp_path: Path) -> tuple[Path, list[str], list[str]]:
    """A file exported, then 5 rows edited on the server by someone else, then 3 other
    rows edited in the file: (its path, their rows, my rows)."""
    path = milekit.export("tasks", tmp_path / "tasks.parquet", client=c, progress=False).path
    df = milekit.read_parquet(path)
    theirs, mine = [str(i) for i in df.index[:5]], [str(i) for i in df.index[5:8]]
    for i in theirs:
        c.request("PATCH", f"/task/{i}", json={"title": THEIRS})
    df.loc[mine, "content"] = MINE
    milekit.to_parquet(df, path)
    return path, theirs, mine


def test_cli_push_of_a_stale_file_writes_my_rows_and_reverts_nobody(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # before: 8 PATCHes, the 5 rows another user changed were silently reverted
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    path, theirs, mine = stale_file(c, tmp_path)
    before = len(fresh.store.write_log)
    code = main(["push", "tasks", str(path), "--base-url", fresh.url, "--no-journal"])
    out = capsys.readouterr().out
    assert sorted(written(fresh, before)) == sorted(mine)
    assert all(fresh.store.get("tasks", i)["title"] == THEIRS for i in theirs)
    assert all(fresh.store.get("tasks", i)["content"] == MINE for i in mine)
    assert code == 1  # conflicts are not ok
    rows = len(milekit.read_parquet(path))
    assert "ok 3" in out and "conflict 5" in out and f"unchanged {rows - 8:,}" in out


def test_push_of_a_stale_file_reports_conflicts_with_their_cells(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    path, theirs, mine = stale_file(c, tmp_path)
    before = len(fresh.store.write_log)
    edited = milekit.read_parquet(path)
    r = milekit.push(edited, client=c, progress=False)
    assert sorted(written(fresh, before)) == sorted(mine)
    assert r.counts["ok"] == 3 and r.counts["conflict"] == 5
    assert r.counts["unchanged"] == len(edited) - 8 and not r.ok
    bad = r.frame.loc[theirs]
    assert (bad["status"] == "conflict").all() and (bad["action"] == "patch").all()
    assert bad["message"].str.contains("changed on the server since the file was read").all()
    assert bad["message"].str.contains(f"title (server '{THEIRS}'", regex=False).all()


def test_dry_run_lists_the_cells_an_overwrite_would_revert(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    path, theirs, mine = stale_file(c, tmp_path)
    before = len(fresh.store.write_log)
    edited = milekit.read_parquet(path)
    held = milekit.push(edited, client=c, dry_run=True, progress=False)
    assert held.plan.rows["patch"] == 3 and held.plan.conflicts == 5
    assert "5 rows changed on the server since the file was read" in repr(held)
    plan = milekit.push(edited, client=c, dry_run=True, overwrite=True, progress=False).plan
    assert plan.rows["patch"] == 8 and plan.conflicts == 0
    reverts = plan.reverts
    assert sorted(reverts["_id"]) == sorted(theirs) and set(reverts["column"]) == {"title"}
    assert set(reverts["server"]) == {THEIRS}
    assert "would revert 5 cells" in repr(plan)
    assert written(fresh, before) == []  # a dry run sends nothing
    r = milekit.push(edited, client=c, overwrite=True, progress=False)
    assert r.counts["ok"] == 8 and sorted(written(fresh, before)) == sorted(theirs + mine)
    assert fresh.store.get("tasks", theirs[0])["title"] != THEIRS  # asked for: reverted


def test_a_file_without_the_updated_column_is_refused_before_sending(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    path, _, _ = stale_file(c, tmp_path)
    edited = milekit.read_parquet(path).drop(columns=["updatedTime"])
    before = len(fresh.store.write_log)
    with pytest.raises(UsageError, match=r"no 'updatedTime' column.*original=.*overwrite=True"):
        milekit.push(edited, client=c, progress=False)
    assert written(fresh, before) == []


def test_counts_separate_unchanged_from_written(fresh: Sandbox, c: milekit.Client) -> None:
    # before: every row of the frame counted "ok", written or not
    df = milekit.tasks_frame(client=c, progress=False)
    df.loc[df.index[:3], "title"] = "edited"
    r = milekit.push(df, client=c, progress=False)
    assert r.counts["ok"] == 3 and r.counts["unchanged"] == len(df) - 3
    assert r.ok and f"unchanged {len(df) - 3}" in repr(r)
    assert (r.frame.loc[df.index[3:], "status"] == "unchanged").all()


def test_a_row_edited_both_in_the_file_and_on_the_server_is_a_conflict(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    path = milekit.export("tasks", tmp_path / "t.parquet", client=c, progress=False).path
    df = milekit.read_parquet(path)
    both = str(df.index[0])
    c.request("PATCH", f"/task/{both}", json={"content": THEIRS})
    df.loc[both, "content"] = MINE
    before = len(fresh.store.write_log)
    r = milekit.push(df, client=c, progress=False)
    assert r.frame.at[both, "status"] == "conflict" and written(fresh, before) == []
    assert fresh.store.get("tasks", both)["content"] == THEIRS
    assert isinstance(r.frame, pd.DataFrame)


def test_delete_without_the_original_is_refused(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    path = milekit.export("tasks", tmp_path / "t.parquet", client=c, progress=False).path
    edited = milekit.read_parquet(path).iloc[1:]
    before = len(fresh.store.write_log)
    with pytest.raises(UsageError, match="delete=True needs original="):
        milekit.push(edited, client=c, delete=True, progress=False)
    assert written(fresh, before) == []


def test_ids_in_a_column_and_a_row_deleted_on_the_server(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path
) -> None:
    path, theirs, mine = stale_file(c, tmp_path)
    edited = milekit.read_parquet(path)
    gone = str(edited.index[8])
    c.request("DELETE", f"/task/{gone}")
    edited.loc[gone, "content"] = MINE
    before = len(fresh.store.write_log)
    r = milekit.push(edited.reset_index(), client=c, create=True, progress=False)
    assert sorted(written(fresh, before)) == sorted(mine)  # ids in a column: the same check
    status = r.frame["status"]
    assert set(status[status == "conflict"].index) == {*theirs, gone}
    assert "deleted on the server" in r.frame.at[gone, "message"]
    assert "not created again" in r.frame.at[gone, "message"]


def test_cli_overwrite_writes_them_and_says_what_it_reverts(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    path, theirs, mine = stale_file(c, tmp_path)
    args = ["push", "tasks", str(path), "--base-url", fresh.url, "--no-journal", "--overwrite"]
    before = len(fresh.store.write_log)
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would revert 5 cells in 5 rows" in out and f"{theirs[0]} title" in out
    assert written(fresh, before) == []
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ok 8" in out and "overwrote 5 cells" in out
    assert sorted(written(fresh, before)) == sorted(theirs + mine)
