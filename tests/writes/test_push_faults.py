"""push() under injected faults, on a real socket: nothing lost, nothing applied twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pandas as pd
import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.types.encode import canonical, coarse
from milekit.types.registry import TASKS
from tests.conftest import SleepRecorder


@pytest.fixture
def big() -> Iterator[Sandbox]:
    """5,000 tasks; no server-side limit (429 bursts are scripted), no latency."""
    with Sandbox(tasks=5_000, rate_limit=None, fault_seed=11) as sb:
        yield sb


def client_for(sb: Sandbox, recorder: SleepRecorder) -> milekit.Client:
    return milekit.Client(
        sb.token,
        sb.url,
        limiter=None,
        sleep=recorder,  # retry waits are recorded, never slept
        # Retry waits are not slept here, so one request may meet all 12 scripted 429s in a
        # row (with real waits, others would take some): attempts must outlast them plus
        # a run of random 5xx/drops (p = 0.15 per attempt; 0.15**8 ~ 3e-7).
        retry=milekit.RetryPolicy(attempts=20),
        timeout=(5.0, 30.0),
        seed=3,
    )


def test_5000_edits_through_5xx_drops_and_429_bursts(big: Sandbox, recorder: SleepRecorder) -> None:
    with client_for(big, recorder) as c:
        df = milekit.tasks_frame(client=c, progress=False)
        assert len(df) == 5_000
        ids = df.index
        df["title"] = df["title"] + " (checked)"
        df.loc[ids[::2], "waitingTime"] = 11
        df.loc[ids[::3], "endTime"] = pd.Timestamp("2026-12-31 17:00:00", tz="UTC")
        df.loc[ids[::5], "label"] = pd.NA
        worker = next(a[0] for a in df["assignee"] if isinstance(a, list) and a)
        df.loc[ids[::7], "assignee"] = pd.Series([[worker]] * len(ids[::7]), index=ids[::7])
        intended = {
            col: df[col] for col in ("title", "waitingTime", "endTime", "label", "assignee")
        }

        # 10% 5xx (503s carry Retry-After), 2.5% dropped before and 2.5% after the write
        big.faults.error_rate = 0.10
        big.faults.drop_rate = 0.025
        big.faults.drop_after_rate = 0.025
        for _ in range(4):  # 429 bursts from "another client" of the organisation
            big.faults.add(status=429, times=3, retry_after=1, path_prefix="/tasks/bulk")
        writes_before = len(big.store.write_log)

        result = milekit.push(df, client=c, max_request_bytes=8_000, progress=False)

        big.faults.clear()
        assert big.faults.injected > 10
        assert c.stats.rate_limited >= 12 and c.stats.retries > 0
        assert any(q.outcome == "unknown" for q in result.requests), "no lost answer hit"
        assert result.reads > 0  # lost answers were reconciled by reading back

    # every row is ok (or reported with a reason)
    f = result.frame
    assert len(f) == 5_000
    not_ok = f[f["status"] != "ok"]
    assert not_ok["message"].notna().all()
    assert result.counts["ok"] == 5_000, result

    # the server holds exactly the intended edits
    for col, series in intended.items():
        ft = TASKS.field(col).type
        for i, v in series.items():
            doc = big.store.get("tasks", i)
            assert doc is not None
            want = coarse(canonical(v, ft), ft)
            have = coarse(canonical(doc.get(col), ft), ft)
            assert have == want, (i, col, v, doc.get(col))

    # and no write was applied twice
    applied = Counter(w["id"] for w in big.store.write_log[writes_before:])
    assert set(applied) == set(ids)
    assert set(applied.values()) == {1}, applied.most_common(3)
    assert {w["method"] for w in big.store.write_log[writes_before:]} == {"PATCH"}


def test_deletes_and_creates_under_lost_answers(fresh: Sandbox, recorder: SleepRecorder) -> None:
    with client_for(fresh, recorder) as c:
        df = milekit.tasks_frame(client=c, progress=False)
        gone = list(df.index[:120])
        edited = df.drop(index=gone)
        hub = df["hubId"].iloc[0]
        for n in range(5):
            edited.loc[f"new-{n}", ["flow", "hubId", "title", "senderName", "parcelCount"]] = [
                "Pickup",
                hub,
                f"created {n}",
                "Budi",
                n + 1,
            ]
        fresh.faults.add(drop=True, after_apply=True, method="DELETE")
        fresh.faults.add(status=502, method="DELETE")
        fresh.faults.add(drop=True, after_apply=True, method="POST")
        before = len(fresh.store.write_log)
        result = milekit.push(
            edited,
            original=df,
            client=c,
            delete=True,
            create=True,
            max_request_bytes=2_048,
            progress=False,
        )
    f = result.frame
    deleted = f[f["action"] == "delete"]
    assert len(deleted) == 120 and set(deleted["status"]) == {"ok"}
    assert all(fresh.store.get("tasks", i) is None for i in gone)
    # the create whose answer was lost is reported, not sent again
    created = f[f["action"] == "create"]
    assert set(created["status"]) == {"unknown"}
    assert created["message"].str.contains("not sent again").all()
    log = fresh.store.write_log[before:]
    assert Counter(w["method"] for w in log) == {"DELETE": 120, "POST": 5}
    assert set(Counter(w["id"] for w in log).values()) == {1}
    assert not result.ok and "unknown 5" in repr(result)


def test_a_push_to_a_server_that_died_gives_up_reading_back_at_once(
    fresh: Sandbox, recorder: SleepRecorder
) -> None:
    # issue 12, defect 5: after a crash, a push spent 48-56 s reading rows back from the
    # dead server (every read retried, every round read again)
    from milekit.sandbox import DropConnection

    crash = threading.Event()
    handle = fresh.app._pipeline

    def pipeline(environ: dict, method: str, raw: str, path: str | None, query: str) -> object:
        resp = handle(environ, method, raw, path, query)
        if method == "PATCH":  # applied, then the server dies before it answers
            crash.set()
            threading.Thread(target=fresh.stop).start()
            raise DropConnection
        return resp

    with milekit.Client(fresh.token, fresh.url, limiter=None, sleep=recorder) as c:
        df = milekit.tasks_frame(client=c, progress=False)
        df.loc[df.index[:50], "title"] = "written before the crash"
        fresh.app._pipeline = pipeline  # type: ignore[method-assign]
        t0 = time.monotonic()
        result = milekit.push(df, client=c, progress=False)
        took = time.monotonic() - t0
    assert crash.is_set()
    assert result.counts["unknown"] == 50  # applied or not: nobody can tell, nothing resent
    assert "could not be read back" in result.frame["message"].dropna().iloc[0]
    waited = sum(recorder.calls)  # what the retries would have slept
    assert waited < 20 and took < 10, (waited, took, len(recorder.calls))
