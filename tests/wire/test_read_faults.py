"""Reads that survive a real network: 5xx (500 included), dropped connections and 429
bursts are retried within a time budget, a retrying page does not stall the others, and
a read that still loses pages keeps what it received and finishes with ``resume=``."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pandas as pd
import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.wire import errors
from tests.conftest import SleepRecorder


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    """5,000 tasks, read-only: the fault tests re-read it with different seeds."""
    with Sandbox(tasks=5000) as sb:
        yield sb


def _page_of(query: str) -> int:
    return int(parse_qs(query).get("page", ["1"])[0])


def _clean_read(sb: Sandbox, **kw: object) -> pd.DataFrame:
    with milekit.Client(sb.token, sb.url, limiter="process") as c:
        return milekit.tasks_frame(client=c, progress=False, **kw)  # type: ignore[arg-type]


def test_a_page_stuck_in_retries_does_not_stall_the_others(big: Sandbox) -> None:
    # issue 12: pages were awaited in order, so a retrying page held the window shut
    big.faults.clear()
    big.app.request_log.clear()
    big.faults.add(status=503, times=4, retry_after=0.3, query="page=2&")
    sleep = SleepRecorder(scale=1.0)  # the retries really wait (about 1.2 s)
    with milekit.Client(big.token, big.url, limiter="process", max_workers=2, sleep=sleep) as c:
        df = milekit.tasks_frame(client=c, progress=False, limit=100)
    big.faults.clear()
    assert len(df) == 5000 and df.index.is_unique
    log = [(r.status, _page_of(r.query)) for r in big.app.request_log if "/tasks" in r.path]
    page2_done = max(i for i, (status, page) in enumerate(log) if page == 2 and status == 200)
    fetched_meanwhile = {page for status, page in log[:page2_done] if status == 200}
    # two workers keep four pages in flight: the old window stopped at page 5
    assert max(fetched_meanwhile) > 20, sorted(fetched_meanwhile)


def test_a_page_that_keeps_failing_keeps_the_rest_and_resumes(big: Sandbox) -> None:
    big.faults.clear()
    big.faults.add(status=500, times=None, query="page=3&")
    big.faults.add(status=502, times=None, query="page=7&")
    policy = milekit.RetryPolicy(budget=5.0)
    with milekit.Client(
        big.token, big.url, limiter="process", retry=policy, sleep=SleepRecorder()
    ) as c:
        with pytest.raises(errors.IncompleteReadError) as ei:
            milekit.tasks_frame(client=c, progress=False, limit=250, status="DONE")
        err = ei.value
        assert err.missing == (3, 7) and isinstance(err.cause, errors.ServerError)
        big.faults.clear()
        full = _clean_read(big, limit=250, status="DONE")
        assert len(err.partial) == len(full) - 500
        assert set(err.partial.index) < set(full.index)  # nothing received was thrown away
        assert err.partial.dtypes.equals(full.dtypes)
        big.app.request_log.clear()
        done = milekit.tasks_frame(client=c, progress=False, resume=err)
    fetched = sorted(_page_of(r.query) for r in big.app.request_log if "/tasks" in r.path)
    assert fetched == [3, 7]  # only the missing pages
    pd.testing.assert_frame_equal(done, full)
    assert milekit.diff(done).empty  # the resumed frame has its snapshot: it can be pushed


def test_resume_refuses_another_read(big: Sandbox) -> None:
    big.faults.clear()
    big.faults.add(status=500, times=None, query="page=2&")
    retry = milekit.RetryPolicy(attempts=2)
    with milekit.Client(big.token, big.url, limiter="process", retry=retry) as c:
        with pytest.raises(errors.IncompleteReadError) as ei:
            milekit.tasks_frame(client=c, progress=False, limit=1000)
        big.faults.clear()
        with pytest.raises(errors.UsageError, match="other filters"):
            milekit.tasks_frame(client=c, progress=False, resume=ei.value, status="DONE")
        with pytest.raises(errors.UsageError, match="not of hubs"):
            milekit.hubs_frame(client=c, progress=False, resume=ei.value)


def test_a_walked_list_resumes_from_the_page_that_failed(fresh: Sandbox) -> None:
    fresh.faults.add(status=503, times=None, path_prefix="/hubs", query="page=2&")
    retry = milekit.RetryPolicy(attempts=3)
    with milekit.Client(
        fresh.token, fresh.url, limiter="process", retry=retry, sleep=SleepRecorder()
    ) as c:
        with pytest.raises(errors.IncompleteReadError) as ei:
            milekit.hubs_frame(client=c, progress=False, limit=3)  # 3 + 3 + 2, walked
        assert ei.value.last_page is None and ei.value.missing == (2,)
        assert len(ei.value.partial) == 3
        fresh.faults.clear()
        df = milekit.hubs_frame(client=c, progress=False, resume=ei.value)
    assert sorted(df.index) == sorted(h["_id"] for h in fresh.store.values("hubs"))


@pytest.mark.parametrize("seed", range(10))
def test_reads_complete_through_5xx_drops_and_429_bursts(big: Sandbox, seed: int) -> None:
    """The fault mix of issue 12: 10% 5xx (500/502/503/504), 5% dropped connections, 429
    bursts. Every read completes, with every row exactly once and no 429 of our own."""
    expected = _expected(big)
    f = big.faults
    f.clear()
    f.error_rate, f.drop_rate, f.burst_rate, f.burst_length = 0.10, 0.05, 0.02, 4
    f._rng.seed(1000 + seed)
    big.app.stats.rejected_429 = 0
    try:
        with milekit.Client(
            big.token, big.url, limiter=_ORG_BUDGET, sleep=SleepRecorder(), seed=seed
        ) as c:
            df = milekit.tasks_frame(client=c, progress=False, limit=100)
            assert c.stats.retries >= 5  # the faults were met
    finally:
        f.clear()
    assert df.index.is_unique and set(df.index) == expected  # 0 lost, 0 doubled
    assert big.app.stats.rejected_429 == 0  # no self-inflicted 429


#: one budget for the reads of all seeds, as for one organisation's clients one after the
#: other (a fresh limiter per read would not know what the previous read sent last second)
_ORG_BUDGET = milekit.RateLimiter()
_EXPECTED: dict[int, set[str]] = {}


def _expected(sb: Sandbox) -> set[str]:
    key = id(sb)
    if key not in _EXPECTED:
        _EXPECTED[key] = {t["_id"] for t in sb.store.values("tasks")}
    return _EXPECTED[key]
