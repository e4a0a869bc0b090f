"""milekit.diff / milekit.push against a real sandbox over loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import milekit
from milekit.cli import main
from milekit.sandbox import Sandbox
from milekit.types import registry
from milekit.writes.push import PushValidationError

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def c(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as client:
        yield client


def fetch(client: milekit.Client) -> pd.DataFrame:
    return milekit.tasks_frame(client=client, progress=False)


def writes(sb: Sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sb.app.request_log if r.method in WRITES]


def equal_cells(a: pd.Series, b: pd.Series) -> list[str]:
    """Ids whose values differ (NA == NA; lists/dicts by value)."""
    bad = []
    for i, x, y in zip(a.index, a.tolist(), b.tolist(), strict=True):
        if isinstance(x, list | dict) or isinstance(y, list | dict):
            same = x == y
        elif pd.isna(x) is True or pd.isna(y) is True:
            same = pd.isna(x) is True and pd.isna(y) is True
        else:
            same = bool(x == y)
        if not same:
            bad.append(f"{i}: {x!r} != {y!r}")
    return bad


# --- the round trip ---------------------------------------------------------------------------


def test_round_trip_every_editable_dtype(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    ids = df.index
    delivery = df.index[df["flow"] == "Delivery"]
    house = df.index[df["flow"] == "House Inspection"]
    other_hub = next(h for h in df["hubId"].unique() if h != df.at[ids[0], "hubId"])
    worker = next(a[0] for a in df["assignee"] if isinstance(a, list) and a)

    # string, cleared string, hub move
    df.at[ids[0], "title"] = "Renamed by a pandas user"
    df.loc[df["flow"] == "Pickup", "content"] = "Jl. Baru No. 1"
    df.at[ids[1], "label"] = pd.NA  # cleared: sent as null
    df.at[ids[2], "label"] = ["COD", "Fragile"]  # a list of labels (note 21)
    df.at[ids[3], "hubId"] = other_hub
    # nullable integers, floats, booleans
    df.loc[ids[:40], "waitingTime"] = 7
    df.at[ids[4], "distance"] = pd.NA
    df.at[ids[5], "travelDuration"] = 12.25
    df.loc[df["useGeoLock"] == False, "useGeoLock"] = True  # noqa: E712
    # datetimes (whole seconds: the API keeps seconds), times of day
    late = df["flow"] == "Visit"
    df.loc[late, "endTime"] = (df.loc[late, "endTime"] + pd.Timedelta(hours=2)).dt.floor("s")
    df.at[ids[6], "startTime"] = pd.Timestamp("2026-11-02 08:30:00", tz="Asia/Jakarta")
    df.at[ids[7], "eta"] = dt.time(9, 30)
    df.at[ids[8], "etd"] = pd.NA
    # list cells (assignee) and lists of dicts (geoLock, items), one edited in place
    df.at[ids[9], "assignee"] = [worker]
    df.at[ids[10], "assignee"] = [worker, "second@demo.mile.app"]
    df.at[ids[11], "geoLock"] = [{"geoLocation": "-6.2,106.8", "radius": 150}]
    df.at[delivery[0], "items"] = [{"name": "Teh Botol", "qty": 2, "unitPrice": 5000}]
    df.at[delivery[1], "items"][0]["qty"] = 99  # a dict inside the cell, mutated in place
    # custom flow columns: number, float, boolean, text
    df.loc[delivery[:20], "codAmount"] = 125_000
    df.at[delivery[2], "packageWeight"] = 3.5
    df.at[house[0], "inspectionPassed"] = False
    df.at[house[1], "ownerName"] = "Pemilik Baru"

    expected = milekit.diff(df)
    assert {"title", "label", "waitingTime", "endTime", "assignee", "items", "codAmount"} <= set(
        expected["column"]
    )
    result = milekit.push(df, client=c, progress=False)
    assert result.ok and result.counts["failed"] == 0
    assert set(result.frame.loc[expected["_id"].unique(), "action"]) == {"patch"}
    assert [(r.method, r.path) for r in result.requests] == [("PATCH", "/tasks/bulk")]

    again = fetch(c)
    editable = [
        col
        for col in df.columns
        if col not in registry.TASKS.rows or registry.TASKS.field(col).writable
    ]
    for col in editable:
        assert equal_cells(df[col], again.loc[df.index, col]) == [], col
    assert again.at[ids[1], "label"] is None
    assert fresh.store.get("tasks", ids[1])["label"] is None  # an explicit null
    assert again.at[delivery[1], "items"][0]["qty"] == 99
    # the server derived what it owns: assigning made the task ONGOING
    assert again.at[ids[9], "status"] in ("ONGOING", "DONE")


def test_push_twice_sends_nothing_and_snapshot_is_safe(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    i = df.index[0]
    df.at[i, "title"] = "first"
    counts = milekit.push(df, client=c, progress=False).counts
    assert counts["ok"] == 1 and counts["unchanged"] == len(df) - 1
    before = len(fresh.store.write_log)
    second = milekit.push(df, client=c, progress=False)
    assert second.requests == [] and len(fresh.store.write_log) == before
    # the snapshot taken after the push does not share memory with the frame
    df.at[i, "waitingTime"] = 12345
    df.at[i, "startTime"] = pd.Timestamp("2027-01-01", tz="UTC")
    d = milekit.diff(df)
    assert sorted(d["column"]) == ["startTime", "waitingTime"]


# --- diff -------------------------------------------------------------------------------------


def test_diff_semantics(c: milekit.Client) -> None:
    df = fetch(c)
    ids = df.index
    assert milekit.diff(df).empty
    # same values in another spelling: no change
    df.at[ids[0], "startTime"] = df.at[ids[0], "startTime"].tz_convert("Asia/Jakarta")
    df["assignee"] = [None if a is None else list(a) for a in df["assignee"]]  # new lists
    df.at[ids[1], "label"] = df.at[ids[1], "label"]  # NA stays NA
    eta = df["eta"].dropna()
    df.at[eta.index[0], "eta"] = dt.time.fromisoformat(eta.iloc[0].isoformat())
    assert milekit.diff(df).empty
    # real changes, one per dtype
    df.at[ids[2], "waitingTime"] = 99
    df.at[ids[2], "startTime"] = pd.Timestamp("2026-01-01 00:00:01", tz="UTC")
    df.at[ids[3], "useGeoLock"] = pd.NA
    df.at[ids[3], "assignee"] = ["x@demo.mile.app"]
    d = milekit.diff(df)
    assert list(d.columns) == ["_id", "column", "old", "new"]
    got = {(i, col): (o, n) for i, col, o, n in d.itertuples(index=False)}
    assert got[(ids[2], "waitingTime")][1] == 99
    assert got[(ids[2], "startTime")][1] == pd.Timestamp("2026-01-01 00:00:01", tz="UTC")
    assert got[(ids[3], "useGeoLock")][1] is None
    assert got[(ids[3], "assignee")][1] == ["x@demo.mile.app"]
    assert len(d) == 4


def test_snapshot_survives_in_place_edits_of_every_dtype(c: milekit.Client) -> None:
    df = fetch(c)
    i = df.index[df["assignee"].notna() & df["eta"].notna()][0]  # a routed task (note 52)
    edits = {
        "waitingTime": 4321,
        "travelDuration": 0.5,
        "useGeoLock": not bool(df.at[i, "useGeoLock"]),
        "startTime": pd.Timestamp("2020-02-02", tz="UTC"),
        "eta": dt.time(23, 59),
        "title": "t",
        "assignee": ["z@demo.mile.app"],
    }
    for col, v in edits.items():
        df.at[i, col] = v
    others = df.index[df.index != i][:4]
    was = df.loc[others, "distance"].tolist()
    df.loc[others, "distance"] = 1
    d = milekit.diff(df)
    assert set(d.loc[d["_id"] == i, "column"]) == set(edits)
    assert d.loc[d["_id"] != i, "column"].tolist() == ["distance"] * sum(v != 1 for v in was)
    assert all(d.loc[d["_id"] == i, "old"].notna())  # the snapshot kept the old values


def test_derived_frames_and_frames_from_files(c: milekit.Client, tmp_path: Path) -> None:
    df = fetch(c)
    sub = df[df["flow"] == "Pickup"].copy()
    sub.iloc[0, sub.columns.get_loc("title")] = "in a subset"
    d = milekit.diff(sub)
    assert list(d["column"]) == ["title"]  # rows outside the subset are not "deleted"
    path = milekit.to_parquet(df, tmp_path / "snap.parquet")
    back = milekit.read_parquet(path)
    with pytest.raises(milekit.errors.UsageError, match="original="):
        milekit.diff(back)
    back.iloc[0, back.columns.get_loc("content")] = "from a file"
    d = milekit.diff(back, original=df)
    assert list(d["column"]) == ["content"]
    with pytest.raises(milekit.errors.UsageError, match="delete=True needs"):
        milekit.push(sub, client=c, delete=True, progress=False)


# --- dry run and validation -------------------------------------------------------------------


def test_dry_run_sends_nothing(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    df.loc[df.index[:250], "title"] = "planned"
    delivery = df.index[df["flow"] == "Delivery"][0]
    df.at[delivery, "receiverName"] = "Custom"  # a custom column: validated against /flows
    log_before = len(fresh.app.request_log)
    writes_before = len(fresh.store.write_log)
    result = milekit.push(df, client=c, dry_run=True, max_request_bytes=8_000, progress=False)
    new = list(fresh.app.request_log)[log_before:]
    assert all(r.method == "GET" for r in new)  # at most GET /flows
    assert len(fresh.store.write_log) == writes_before
    plan = result.plan
    assert plan.rows["patch"] == 250 and len(plan.changes) == 251
    assert [(r.method, r.path) for r in plan.requests] == [("PATCH", "/tasks/bulk")]
    assert plan.requests[0].requests > 1 and plan.requests[0].items == 250
    assert plan.total_requests == plan.requests[0].requests
    assert plan.estimated_seconds >= 0 and "100 req/1.05s" in repr(plan)
    assert set(result.frame.loc[df.index[:250], "status"]) == {"skipped"}
    assert "dry run" in repr(result)
    with pytest.raises(milekit.errors.UsageError, match="dry run"):
        result.retry_failed()
    # the same push for real sends exactly the plan
    real = milekit.push(df, client=c, max_request_bytes=8_000, progress=False)
    assert len(real.requests) == plan.total_requests and real.ok


def test_validation_lists_every_problem_and_sends_nothing(
    fresh: Sandbox, c: milekit.Client
) -> None:
    df = fetch(c)
    ids = df.index
    pickup = df.index[df["flow"] == "Pickup"]
    df.at[ids[0], "status"] = "DONE"  # read-only
    df.at[ids[1], "createdTime"] = pd.Timestamp("2020-01-01", tz="UTC")  # read-only
    df.at[ids[2], "assignee"] = 42  # not a list (a lone e-mail would be one)
    df.at[ids[3], "geoLock"] = "near the gate"  # not a list of objects
    df.at[pickup[0], "receiverName"] = "Not a Pickup field"  # another flow's component
    df["bogus"] = pd.array([None] * (len(df) - 1) + ["x"], dtype="string")  # unknown column
    df.loc["new-1", ["title"]] = ["no flow, no hub"]  # create without flow/hubId
    before = len(writes(fresh))
    with pytest.raises(PushValidationError) as err:
        milekit.push(df, client=c, create=True, progress=False)
    text = str(err.value)
    for needle in (
        "'status': read-only",
        "'createdTime': read-only",
        "'assignee': not a list of text",
        "'geoLock': not a list",
        "'receiverName': not a component of the row's flow 'Pickup'",
        "'bogus': unknown column",
        "'flow': required on create",
        "'hubId': required on create",
        "nothing was sent",
    ):
        assert needle in text, (needle, text)
    assert isinstance(err.value, ValueError)
    assert {p.column for p in err.value.problems} >= {"status", "bogus", "hubId"}
    assert len(writes(fresh)) == before


def test_duplicate_ids_are_rejected(c: milekit.Client) -> None:
    df = fetch(c)
    edited = pd.concat([df, df.iloc[:2]])
    with pytest.raises(PushValidationError, match="duplicate id"):
        milekit.push(edited, original=df, client=c, progress=False)


def test_values_that_do_not_fit_the_column(c: milekit.Client) -> None:
    df = fetch(c)
    df["waitingTime"] = df["waitingTime"].astype(object)
    df.at[df.index[0], "waitingTime"] = 2.5
    df["eta"] = df["eta"].astype(object)
    df.at[df.index[1], "eta"] = "25:99"
    with pytest.raises(PushValidationError) as err:
        milekit.push(df, client=c, dry_run=True, progress=False)
    assert "'waitingTime': not an integer: 2.5" in str(err.value)
    assert "'eta': not a time of day" in str(err.value)


# --- create, delete, replace ------------------------------------------------------------------


def test_create_and_delete_only_with_their_flags(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    hub = df["hubId"].iloc[0]
    gone = df.index[0]
    edited = df.drop(index=[gone])
    edited.loc["new-1", ["flow", "hubId", "title", "senderName", "parcelCount"]] = [
        "Pickup",
        hub,
        "a new pickup",
        "Budi",
        4,
    ]
    before = len(writes(fresh))
    r = milekit.push(edited, original=df, client=c, progress=False)
    assert len(writes(fresh)) == before and r.requests == []
    skipped = r.frame[r.frame["status"] == "skipped"]
    assert sorted(skipped["action"]) == ["create", "delete"]
    assert skipped["message"].str.contains("create=True|delete=True").all()

    r = milekit.push(edited, original=df, client=c, create=True, delete=True, progress=False)
    assert r.ok, r
    assert sorted((q.method, q.path) for q in r.requests) == [
        ("DELETE", "/tasks/bulk"),
        ("POST", "/tasks/bulk/"),
    ]
    new_id = edited.index[-1]
    assert new_id != "new-1" and r.frame.loc[new_id, "action"] == "create"
    doc = fresh.store.get("tasks", new_id)
    assert doc is not None and doc["title"] == "a new pickup" and doc["parcelCount"] == 4
    assert fresh.store.get("tasks", gone) is None
    # the frame now mirrors the server: pushing it again does nothing
    assert milekit.push(edited, client=c, create=True, delete=True, progress=False).requests == []


def test_replace_puts_whole_rows(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    ids = df.index[:5]
    df.loc[ids, "content"] = "replaced"
    df.at[ids[0], "label"] = pd.NA
    r = milekit.push(df, client=c, replace=True, progress=False)
    assert r.ok and [(q.method, q.path) for q in r.requests] == [("PUT", "/tasks/bulk")]
    puts = [w for w in fresh.store.write_log if w["method"] == "PUT"]
    assert sorted(w["id"] for w in puts) == sorted(ids)
    for w in puts:
        body = w["body"]
        assert body["flow"] and body["hubId"] and body["content"] == "replaced"
        assert "status" not in body and "createdTime" not in body  # read-only: not sent
    again = fetch(c)
    assert (again.loc[ids, "content"] == "replaced").all()
    assert again.at[ids[0], "label"] is None
    cols = ["title", "startTime", "assignee", "waitingTime"]
    for col in cols:
        assert equal_cells(df.loc[ids, col], again.loc[ids, col]) == [], col


# --- failures ---------------------------------------------------------------------------------


def test_partial_bulk_failures_map_to_their_rows(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    ids = df.index
    df.loc[ids[:10], "title"] = "fine"
    df.at[ids[3], "hubId"] = "0123456789abcdef01234567"  # no such hub
    df.at[ids[7], "hubId"] = "fedcba9876543210fedcba98"
    c.request("DELETE", f"/task/{ids[5]}")  # deleted by someone else
    r = milekit.push(df, client=c, progress=False)
    f = r.frame
    assert set(f.loc[[ids[3], ids[7]], "message"]) == {"The selected hub id is invalid."}
    assert f.at[ids[5], "message"] == "Data not found"
    assert set(f.loc[[ids[3], ids[5], ids[7]], "status"]) == {"failed"}
    assert r.counts["failed"] == 3 and (f.loc[ids[:10], "http_status"] == 200).all()
    ok = [i for i in ids[:10] if i not in (ids[3], ids[5], ids[7])]
    assert set(f.loc[ok, "status"]) == {"ok"}
    assert r.requests[0].outcome == "partial" and not r.ok
    assert "failed 3" in repr(r) and "<table" in r._repr_html_()
    # fix the frame, retry only the failed rows
    df.at[ids[3], "hubId"] = df.at[ids[0], "hubId"]
    df.at[ids[7], "hubId"] = df.at[ids[0], "hubId"]
    before = len(fresh.store.write_log)
    again = r.retry_failed(progress=False)
    assert sorted(again.frame.index) == sorted([ids[3], ids[5], ids[7]])
    assert again.frame.at[ids[3], "status"] == "ok" and again.frame.at[ids[7], "status"] == "ok"
    assert again.frame.at[ids[5], "status"] == "failed"
    assert sorted(w["id"] for w in fresh.store.write_log[before:]) == sorted([ids[3], ids[7]])


def test_whole_request_failure_keeps_failed_code(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    df.loc[df.index[:4], "title"] = "x"
    body = {"status": False, "message": "Task quota exceeded", "failedCode": "task-040"}
    fresh.faults.add(status=422, body=body, method="PATCH", path_prefix="/tasks/bulk")
    r = milekit.push(df, client=c, progress=False)
    bad = r.frame.loc[df.index[:4]]
    assert set(bad["status"]) == {"failed"} and set(bad["failedCode"]) == {"task-040"}
    assert set(bad["http_status"]) == {422} and set(bad["message"]) == {"Task quota exceeded"}
    assert r.retry_failed(progress=False).ok


def test_conflicts_are_refused(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    a, b = df.index[:2]
    c.request("PATCH", f"/task/{a}", json={"title": "changed on the server"})
    df.at[a, "title"] = "my edit"
    df.at[b, "title"] = "my other edit"
    before = len(fresh.store.write_log)
    r = milekit.push(df, client=c, check_conflicts=True, progress=False)
    assert r.frame.at[a, "status"] == "conflict" and r.frame.at[b, "status"] == "ok"
    assert "title" in r.frame.at[a, "message"]
    assert [w["id"] for w in fresh.store.write_log[before:]] == [b]
    assert fresh.store.get("tasks", a)["title"] == "changed on the server"


def test_lost_answers_are_reconciled_never_doubled(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    ids = list(df.index[:30])
    df.loc[ids, "content"] = "reconciled"
    # 1st request: applied, answer lost; 2nd: dropped before; 3rd: a 500
    fresh.faults.add(drop=True, after_apply=True, method="PATCH", path_prefix="/tasks/bulk")
    fresh.faults.add(drop=True, method="PATCH", path_prefix="/tasks/bulk")
    fresh.faults.add(status=500, method="PATCH", path_prefix="/tasks/bulk")
    r = milekit.push(df, client=c, max_request_bytes=1024, progress=False)
    assert r.ok, r
    assert {q.outcome for q in r.requests} >= {"unknown", "ok"} and r.reads > 0
    per_id = Counter(w["id"] for w in fresh.store.write_log if w["method"] == "PATCH")
    assert set(per_id) == set(ids) and set(per_id.values()) == {1}
    assert all(fresh.store.get("tasks", i)["content"] == "reconciled" for i in ids)


# --- chunking and endpoints -----------------------------------------------------------------


def test_chunks_by_count_and_bytes(fresh: Sandbox, c: milekit.Client) -> None:
    with registry.overridden(tasks=dataclasses.replace(registry.TASKS, bulk_max=40)):
        df = fetch(c)
        df.loc[df.index[:100], "title"] = "chunked"
        r = milekit.push(df, client=c, progress=False)
        assert sorted(q.items for q in r.requests if q.method == "PATCH") == [20, 40, 40]
        df.loc[df.index[:100], "content"] = "x" * 300
        r = milekit.push(df, client=c, max_request_bytes=4_096, progress=False)
        assert sum(q.items for q in r.requests) == 100 and len(r.requests) >= 9
    assert all(p.bytes <= 4_096 * p.requests for p in r.plan.requests)


def test_payload_too_large_is_split(c: milekit.Client) -> None:
    with Sandbox(tasks=60, max_body_bytes=6_000) as sb:
        with milekit.Client(sb.token, sb.url, limiter="process") as client:
            df = fetch(client)
            df.loc[df.index[:60], "content"] = "y" * 200
            r = milekit.push(df, client=client, progress=False)
        assert r.ok, r
        assert r.requests[0].outcome == "split" and r.requests[0].http_status == 413
        per_id = Counter(w["id"] for w in sb.store.write_log)
        assert len(per_id) == 60 and set(per_id.values()) == {1}


def test_per_object_requests_where_no_bulk_exists(fresh: Sandbox, c: milekit.Client) -> None:
    no_bulk = dataclasses.replace(
        registry.TASKS, bulk_update_path=None, bulk_create_path=None, bulk_delete_path=None
    )
    with registry.overridden(tasks=no_bulk):
        df = fetch(c)
        ids = df.index[:3]
        df.loc[ids, "title"] = "one by one"
        r = milekit.push(df, client=c, progress=False)
    assert r.ok and sorted(q.path for q in r.requests) == ["/task/{id}"] * 3
    assert sorted(writes(fresh)) == sorted(("PATCH", f"/api/v3/task/{i}") for i in ids)
    assert r.plan.requests[0].requests == 3


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_push_a_parquet_file(
    fresh: Sandbox,
    c: milekit.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    df = fetch(c)
    snap = milekit.to_parquet(df, tmp_path / "snapshot.parquet")
    ids = df.index[:5]
    df.loc[ids, "title"] = "from the CLI"
    edits = milekit.to_parquet(df, tmp_path / "edits.parquet")
    args = ["push", "tasks", str(edits), "--original", str(snap), "--base-url", fresh.url]

    before = len(writes(fresh))
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "PATCH" in out and "/tasks/bulk" in out and "5 items" in out.replace(",", "")
    assert len(writes(fresh)) == before

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ok 5" in out
    assert all(fresh.store.get("tasks", i)["title"] == "from the CLI" for i in ids)

    # without --original the file is compared with the server: nothing left to send
    assert main(["push", "tasks", str(edits), "--base-url", fresh.url]) == 0
    assert len(writes(fresh)) == before + 1

    # failed rows: non-zero exit (a file read after the push above: rows the server
    # changed since a file was read are conflicts, tests/writes/test_push_stale.py)
    df = fetch(c)
    df.at[ids[0], "hubId"] = "0123456789abcdef01234567"
    milekit.to_parquet(df, edits)
    assert main(["push", "tasks", str(edits), "--base-url", fresh.url]) == 1
    assert "The selected hub id is invalid." in capsys.readouterr().out


def test_frames_derived_before_a_push_follow_it(fresh: Sandbox, c: milekit.Client) -> None:
    df = fetch(c)
    a, b = df.index[:2]
    df.at[a, "title"] = "pushed from the parent"
    sub = df.loc[[a, b]].copy()  # derived before the push: carries the edit too
    assert milekit.push(df, client=c, progress=False).ok
    sub.at[b, "title"] = "pushed from the subset"
    before = len(fresh.store.write_log)
    r = milekit.push(sub, client=c, progress=False)
    assert r.ok and [w["id"] for w in fresh.store.write_log[before:]] == [b]  # a not resent


def test_cli_push_uses_a_remembered_profile(
    fresh: Sandbox, c: milekit.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from milekit.wire.auth import Secret
    from milekit.wire.credentials import CredentialStore

    CredentialStore().save("acme", Secret(fresh.token), fresh.url)
    df = fetch(c)
    snap = milekit.to_parquet(df, tmp_path / "snapshot.parquet")
    df.loc[df.index[:3], "title"] = "via profile"
    edits = milekit.to_parquet(df, tmp_path / "edits.parquet")
    args = ["push", "tasks", str(edits), "--original", str(snap), "--profile", "acme"]
    assert main(args) == 0
    assert "ok 3" in capsys.readouterr().out
    assert all(fresh.store.get("tasks", i)["title"] == "via profile" for i in df.index[:3])


# --- frames read by id -----------------------------------------------------------------------


def test_push_an_edited_get_frame(fresh: Sandbox, c: milekit.Client) -> None:
    """A frame read by id (``milekit.get``) goes back like a list frame: only its edited
    cells are sent, and reading the objects again shows them."""
    ids = list(fetch(c).index[:3])
    df = milekit.get("tasks", ids, client=c)
    assert milekit.diff(df).empty
    when = pd.Timestamp("2027-03-04 05:06:07", tz="UTC")
    df.at[ids[0], "title"] = "edited by id"
    df.at[ids[2], "startTime"] = when
    before = len(writes(fresh))
    r = milekit.push(df, client=c, progress=False)
    assert r.ok and r.plan.rows["patch"] == 2, r
    assert len(writes(fresh)) == before + 1  # one bulk PATCH for both rows
    again = milekit.get("tasks", ids, client=c)
    assert again.at[ids[0], "title"] == "edited by id"
    assert again.at[ids[2], "startTime"] == when
    assert again.at[ids[1], "title"] == df.at[ids[1], "title"]  # untouched
    assert milekit.push(df, client=c, progress=False).requests == []  # nothing left to send


def test_push_an_edited_get_frame_of_a_resource_without_bulk(
    fresh: Sandbox, c: milekit.Client
) -> None:
    hubs = milekit.hubs_frame(client=c, progress=False)
    hid = hubs.index[0]
    one = milekit.get("hubs", hid, client=c)
    one.at[hid, "name"] = "Renamed hub"
    wrong = r"holds hubs, not tasks: push\(df, 'hubs'\)"
    with pytest.raises(milekit.errors.UsageError, match=wrong):
        milekit.push(one, "tasks", client=c, progress=False)
    assert writes(fresh) == []
    r = milekit.push(one, client=c, progress=False)  # the resource comes from the frame
    assert r.ok and r.resource == "hubs", r
    assert milekit.get("hubs", hid, client=c).at[hid, "name"] == "Renamed hub"
    assert [m for m, _ in writes(fresh)] == [r.requests[0].method]


def test_a_required_field_cleared_is_refused_before_sending(
    fresh: Sandbox, c: milekit.Client
) -> None:
    # issue 12, defect 2: flow/hubId cleared to NA were sent, and the server refused them
    df = fetch(c)
    df.at[df.index[0], "flow"] = pd.NA
    df.at[df.index[1], "hubId"] = pd.NA
    df.at[df.index[2], "title"] = "still fine"
    before = len(writes(fresh))
    with pytest.raises(PushValidationError) as err:
        milekit.push(df, client=c, progress=False)
    text = str(err.value)
    assert "'flow': required: it cannot be cleared" in text and df.index[0] in text
    assert "'hubId': required: it cannot be cleared" in text and df.index[1] in text
    assert len(writes(fresh)) == before


def test_a_copy_or_subset_pushes_after_the_frame_it_came_from_is_gone(
    fresh: Sandbox, c: milekit.Client
) -> None:
    # issue 12, defect 6: "no milekit snapshot" once the frame it was derived from died
    copied = fetch(c).copy()
    subset = fetch(c)[["title", "status"]]
    gc.collect()
    copied.at[copied.index[0], "title"] = "from a copy"
    subset.at[subset.index[1], "title"] = "from a subset"
    for df in (copied, subset):
        r = milekit.push(df, client=c, progress=False)
        assert r.ok and r.counts["ok"] == 1 and r.counts["unchanged"] == len(df) - 1
        assert [(q.method, q.path, q.items) for q in r.requests] == [("PATCH", "/tasks/bulk", 1)]
    assert fresh.store.get("tasks", copied.index[0])["title"] == "from a copy"
    assert fresh.store.get("tasks", subset.index[1])["title"] == "from a subset"


def test_a_duplicated_id_in_a_copy_is_named(c: milekit.Client) -> None:
    df = fetch(c).copy()
    gc.collect()
    twice = pd.concat([df, df.iloc[:1]])
    with pytest.raises(PushValidationError, match=f"duplicate id .*{df.index[0]}"):
        milekit.push(twice, client=c, progress=False)


def test_an_edited_id_is_refused_not_skipped(fresh: Sandbox, c: milekit.Client) -> None:
    # issue 12, defect 6: an edited _id silently became a skipped create and a skipped delete
    before = len(writes(fresh))
    for df in (fetch(c), fetch(c).copy()):  # the frame milekit returned, and a copy of it
        old = df.index[3]
        df.index = pd.Index(
            [("6" * 24 if i == old else i) for i in df.index], name="_id", dtype="string"
        )
        with pytest.raises(PushValidationError, match=f"the id was edited \\(it was {old}\\)"):
            milekit.push(df, client=c, progress=False, create=True)
    assert len(writes(fresh)) == before
