"""The limiter on a fake clock: no test here sleeps."""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

import pytest

from milekit.wire.ratelimit import FakeClock, RateLimiter


def max_in_window(times: list[float], period: float) -> int:
    """The most timestamps that fall in any half-open window [t, t + period)."""
    times = sorted(times)
    best = 0
    window: deque[float] = deque()
    for t in times:
        window.append(t)
        while window[0] <= t - period:
            window.popleft()
        best = max(best, len(window))
    return best


def test_first_burst_is_free_then_waits_for_the_oldest_to_leave() -> None:
    clock = FakeClock()
    lim = RateLimiter(limit=100, period=1.0, clock=clock.time, sleep=clock.sleep)
    waits = [lim.acquire() for _ in range(100)]
    assert waits == [0.0] * 100
    assert lim.acquire() == pytest.approx(1.0, abs=0.005)
    assert clock.time() == pytest.approx(1.0, abs=0.005)


def test_never_more_than_limit_in_any_window_over_a_long_run() -> None:
    clock = FakeClock()
    lim = RateLimiter(limit=100, period=1.0, clock=clock.time, sleep=clock.sleep)
    stamps = []
    for i in range(1000):
        lim.acquire()
        stamps.append(clock.time())
        clock.now += 0.0003 * (i % 7)  # uneven work between requests
    assert max_in_window(stamps, 1.0) == 100
    # ... and it does not waste the budget: 1000 requests take ~9 windows, not more.
    assert clock.time() < 9.5


def test_threads_share_one_budget() -> None:
    clock = FakeClock()
    lim = RateLimiter(limit=50, period=1.0, clock=clock.time, sleep=clock.sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(40):
            lim.acquire()
            with lock:
                stamps.append(clock.time())

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 200
    assert max_in_window(stamps, 1.0) <= 50
    assert lim.acquired == 200


def test_shared_limiter_persists_its_window_in_sqlite(tmp_path: Path) -> None:
    """Two limiter objects on one file (two processes in real life) share one window."""
    a = RateLimiter.shared("host-a", limit=5, period=60.0, directory=tmp_path)
    b = RateLimiter.shared("host-a", limit=5, period=60.0, directory=tmp_path)
    other = RateLimiter.shared("host-b", limit=5, period=60.0, directory=tmp_path)
    try:
        assert [a.try_acquire_now() for _ in range(3)] == [0.0] * 3
        assert [b.try_acquire_now() for _ in range(2)] == [0.0] * 2
        assert b.try_acquire_now() > 50  # the 6th in the window must wait ~a minute
        assert a.try_acquire_now() > 50
        assert other.try_acquire_now() == 0.0  # another host has its own budget
    finally:
        for lim in (a, b, other):
            lim.close()


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RateLimiter(limit=0)
    assert "in-process" in repr(RateLimiter())


def test_a_shared_admission_counts_from_when_it_was_granted(tmp_path: Path) -> None:
    """Issue 12, defect 3: on a busy host the shared limiter overshot (123 requests in one
    second from 4 processes): a request's time was read *before* waiting for the file
    lock, so under contention (waits measured up to 350 ms) it entered the window late
    and left it early. Here "another process" holds the lock for half a second."""
    clock = FakeClock(1000.0)
    a = RateLimiter.shared("h", 2, 1.0, directory=tmp_path, clock=clock.time)
    b = RateLimiter.shared("h", 2, 1.0, directory=tmp_path, clock=clock.time)
    a.sleep = b.sleep = clock.sleep
    granted: list[float] = []
    try:
        b.acquire()
        granted.append(clock.time())  # t = 1000.0
        b.bucket.lock.acquire()  # another process is in the middle of its own admission
        waiting = threading.Thread(target=lambda: granted.append(a.acquire() + clock.time()))
        waiting.start()
        while not a._lock.locked():  # a has asked, and waits for the file lock
            pass
        clock.now += 0.5
        b.bucket.lock.release()
        waiting.join()  # granted at 1000.5
        clock.now += 0.7  # t = 1001.2: the first is out of the window, a's is not
        for _ in range(2):
            b.acquire()
            granted.append(clock.time())
    finally:
        a.close()
        b.close()
    assert granted[1] == pytest.approx(1000.5)
    assert max_in_window(granted, 1.0) <= 2, granted
