"""Reads that survive a real network: 5xx (500 included), dropped connections and 429
bursts are retried within a time budget, a retrying page does not stall the others, and
a read that still loses pages keeps what it received and finishes with ``resume=``."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import milekit
from milekit import errors
from milekit.notebook import progress
from milekit.sandbox import Sandbox
from milekit.wire.response import Page
from milekit.wire.retry import STALL_PAGES
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


#: a small budget, for reads that do not really wait (an injected sleep)
_SMALL = milekit.RetryPolicy(budget=3.0)
#: at most this many retries of one request fit in 3 s: its waits are at least 0.25, 0.5,
#: 1 and 2 s (half of each exponential step), 3.75 s for a fourth
_RETRIES_IN_SMALL = 3


def _most_pages_tried(c: milekit.Client) -> int:
    """Pages a read with ``c`` tries once its server is gone, however long the list: those
    in flight when the last answer came, then new ones until STALL_PAGES failed in a row
    (and those in flight then). A fake sleep lets the first give up while earlier pages
    are still being answered, hence twice the pages in flight."""
    return 2 * (2 * c.max_workers) + STALL_PAGES


def test_a_read_whose_server_went_away_stops_within_one_budget(big: Sandbox) -> None:
    """Issue 20 item 6: every page spent a budget of its own, 16-32 pages at a time, so a
    read of a server that had gone away retried for minutes. Here every request from
    page 11 on is dropped: the pages then in flight retry within one budget, few new
    pages are started, and the read ends with what it received; ``resume=`` finishes it."""
    big.faults.clear()
    big.app.request_log.clear()
    for n in range(11, 101):  # 5,000 tasks at 50 a page: pages 1-10 answer, 11-100 do not
        big.faults.add(drop=True, times=None, query=f"page={n}&")
    with milekit.Client(
        big.token, big.url, limiter="process", retry=_SMALL, max_workers=2, sleep=SleepRecorder()
    ) as c:
        with pytest.raises(errors.IncompleteReadError) as ei:
            milekit.tasks_frame(client=c, progress=False, limit=50)
        err = ei.value
        tried = {_page_of(r.query) for r in big.app.request_log if r.status == 0}
        assert len(tried) <= _most_pages_tried(c), sorted(tried)  # not the 90 pages left
        assert c.stats.retries <= len(tried) * _RETRIES_IN_SMALL, c.stats.retries
        assert err.missing == tuple(range(11, 101))
        assert isinstance(err.cause, errors.TransportError)
    big.faults.clear()
    with milekit.Client(big.token, big.url, limiter="process") as c:  # the server is back
        full = milekit.tasks_frame(client=c, progress=False, limit=50)
        done = milekit.tasks_frame(client=c, progress=False, resume=err)
    assert list(err.partial.index) == list(full.index[:500])  # pages 1-10, all kept
    pd.testing.assert_frame_equal(done, full)


def test_a_stopped_server_ends_the_read_and_resume_reads_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sandbox stops after page 5 arrived (connections refused from then on): the
    read gives up within one budget, every retry and the end logged; started again on the
    same port, ``resume=`` reads the rest and nothing is lost or doubled."""
    caplog.set_level(logging.INFO, logger="milekit")
    db = tmp_path / "org.sqlite"
    sb = Sandbox(tasks=5000, db=db, rate_limit=None)
    port = urlsplit(sb.start()).port
    every = sorted(t["_id"] for t in sb.store.values("tasks"))
    got: list[Page] = []
    try:
        with milekit.Client(
            sb.token, sb.url, limiter=None, retry=_SMALL, max_workers=2, sleep=SleepRecorder()
        ) as c:
            with pytest.raises(errors.IncompleteReadError) as ei:
                for page in c.pages("tasks", limit=50):
                    got.append(page)
                    if len(got) == 5:
                        sb.stop()
            assert c.stats.retries <= _most_pages_tried(c) * _RETRIES_IN_SMALL, c.stats.retries
            assert len(got) + len(ei.value.missing) == 100
            assert isinstance(ei.value.cause, errors.TransportError)
            logged = [r.getMessage() for r in caplog.records]
            assert sum(m.startswith("retrying in") for m in logged) == c.stats.retries
            assert any("resume=err" in m for m in logged)  # the give-up, a warning
            assert sb.token not in caplog.text
            back = Sandbox(db=db, rate_limit=None)
            back.start(port=port)
            got += c.pages("tasks", limit=50, resume=ei.value)
    finally:
        sb.stop()
    back.stop()
    ids = [r["_id"] for p in got for r in p.rows]
    assert sorted(ids) == every  # none lost, none doubled


def test_the_budget_is_the_reads_not_a_sum_over_its_pages(big: Sandbox) -> None:
    """Twenty pages each meet one 500: their waits add up to more than the budget, but
    each was answered again soon after, so the read completes (real waits: the clock
    then counts concurrent waits once)."""
    big.faults.clear()
    for n in range(1, 21):  # 5,000 tasks at 250 a page
        big.faults.add(status=500, times=1, query=f"page={n}&")
    policy = milekit.RetryPolicy(budget=2.0)
    with milekit.Client(big.token, big.url, limiter="process", retry=policy, max_workers=4) as c:
        df = milekit.tasks_frame(client=c, progress=False, limit=250)
        assert c.stats.retries == 20 and c.stats.retry_wait > policy.budget
    big.faults.clear()
    pd.testing.assert_frame_equal(df, _clean_read(big, limit=250))


def test_a_server_back_within_the_budget_lets_the_read_go_on(tmp_path: Path) -> None:
    """The sandbox stops after page 5 arrived and is back a second later on the same
    port: the pages in flight retried meanwhile (no new page was started), and the read
    completes (real waits: the restart takes real time)."""
    db = tmp_path / "org.sqlite"
    sb = Sandbox(tasks=2000, db=db, rate_limit=None)
    port = urlsplit(sb.start()).port
    every = sorted(t["_id"] for t in sb.store.values("tasks"))
    back = Sandbox(db=db, rate_limit=None)
    restart = threading.Timer(1.0, back.start, kwargs={"port": port})
    got: list[Page] = []
    policy = milekit.RetryPolicy(budget=10.0)
    try:
        with milekit.Client(sb.token, sb.url, limiter=None, retry=policy, max_workers=2) as c:
            for page in c.pages("tasks", limit=50):
                got.append(page)
                if len(got) == 5:
                    sb.stop()
                    restart.start()
            assert c.stats.retries > 0  # the outage was met
    finally:
        restart.join()
        sb.stop()
        back.stop()
    ids = [r["_id"] for p in got for r in p.rows]
    assert sorted(ids) == every  # none lost, none doubled


# --- a host that cannot be reached fails fast (issue 21 item 3) ------------------------------


def _refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/api/v3"


def _fails_fast(c: milekit.Client, err: errors.ConnectError, sleeps: SleepRecorder) -> None:
    """Each request of the read (page 1, and what the read looks up beside it) was tried
    three times, its waits within the first contact's 10 s: not ~110 s of retries."""
    assert err.reason == "connection refused" and err.attempts == 3
    assert str(err).startswith(f"could not connect to 127.0.0.1:{err.port} (connection refused)")
    assert err.elapsed <= 10.0
    assert c.stats.requests == 0 and c.stats.retries <= 2 * 2  # two requests at most
    assert all(s <= 2.25 for s in sleeps.calls)


def test_a_frame_read_of_a_refused_port_fails_fast() -> None:
    sleeps = SleepRecorder()
    with milekit.Client("a-token-1234", _refused_url(), limiter="process", sleep=sleeps) as c:
        with pytest.raises(errors.ConnectError) as ei:
            milekit.tasks_frame(client=c, progress=False)
        _fails_fast(c, ei.value, sleeps)


def test_an_export_to_a_refused_port_fails_fast_and_writes_nothing(tmp_path: Path) -> None:
    sleeps = SleepRecorder()
    out = tmp_path / "tasks.parquet"
    with milekit.Client("a-token-1234", _refused_url(), limiter="process", sleep=sleeps) as c:
        with pytest.raises(errors.ConnectError) as ei:
            milekit.export("tasks", out, client=c, progress=False)
        _fails_fast(c, ei.value, sleeps)
    assert list(tmp_path.iterdir()) == []


class _Bar:
    """What a progress bar was shown (``progress.new_bar`` replaced: no terminal here)."""

    def __init__(self) -> None:
        self.postfixes: list[dict[str, str]] = []
        self.total: int | None = None

    def set_postfix(self, postfix: dict[str, str], refresh: bool = True) -> None:
        self.postfixes.append(dict(postfix))

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def test_retries_show_on_the_progress_bar_while_it_waits_at_0_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bar = _Bar()
    monkeypatch.setattr(progress, "new_bar", lambda *a, **k: bar)
    with milekit.Client("a-token-1234", _refused_url(), limiter=None, sleep=SleepRecorder()) as c:
        with pytest.raises(errors.ConnectError):
            with progress.page_progress("tasks", enabled=True, client=c) as update:
                list(c.pages("tasks", on_page=update))
        assert c.on_retry == []  # the bar stopped watching
    shown = [p["retrying"] for p in bar.postfixes if "retrying" in p]
    assert shown[0].startswith("connection refused (attempt 2 in ")
    assert shown[1].startswith("connection refused (attempt 3 in ")
    assert bar.postfixes[1]["retries"] == "2"
    assert bar.postfixes[-1]["retries"] == "2"  # the figures the bar ends with
