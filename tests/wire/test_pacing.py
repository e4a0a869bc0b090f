"""The adaptive pacer: off until the server refuses what the limiter let through, then
additive increase and multiplicative decrease on an injected clock (no test sleeps)."""

from __future__ import annotations

import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.wire.pacing import BETA, MIN_RATE, Pacer
from milekit.wire.ratelimit import FakeClock


def _pacer(clock: FakeClock, ceiling: float = 100) -> Pacer:
    return Pacer(ceiling, clock=clock.time, sleep=clock.sleep)


def _send(p: Pacer, clock: FakeClock, n: int, per_second: float) -> None:
    for _ in range(n):
        p.wait()
        p.sent()
        clock.sleep(1 / per_second)


def test_no_pacing_and_no_wait_before_any_429() -> None:
    clock = FakeClock()
    p = _pacer(clock)
    for _ in range(500):
        assert p.wait() == 0.0
        p.sent()
        p.succeeded()
    assert p.rate is None and clock.slept == []


def test_a_429_cuts_to_beta_times_the_measured_rate_and_spaces_requests() -> None:
    clock = FakeClock()
    p = _pacer(clock)
    _send(p, clock, 60, per_second=60)  # the server took 60 a second, then refused
    p.throttled()
    assert p.rate == pytest.approx(BETA * 60, abs=1)
    clock.slept.clear()
    start = clock.time()
    for _ in range(42):
        p.wait()
    assert clock.time() - start == pytest.approx(41 / p.rate, rel=0.01)  # evenly spaced


def test_the_429s_of_requests_already_in_flight_cut_once() -> None:
    clock = FakeClock()
    p = _pacer(clock)
    _send(p, clock, 50, per_second=50)
    for _ in range(8):  # one crowded window: eight answers refused at once
        p.throttled()
    assert p.rate == pytest.approx(BETA * 50, abs=1)
    clock.sleep(1.5)  # a second 429 later is a new event
    p.throttled()
    assert p.rate == pytest.approx(BETA * BETA * 50, abs=1)


def test_recovery_is_linear_up_to_the_refused_rate_then_probes_and_switches_off() -> None:
    clock = FakeClock()
    p = _pacer(clock)
    _send(p, clock, 40, per_second=40)
    p.throttled()
    cut = p.rate
    assert cut is not None
    rates = []
    for _ in range(5):  # five seconds of accepted answers
        clock.sleep(1.0)
        p.succeeded()
        rates.append(p.rate)
    steps = [b - a for a, b in zip([cut, *rates], rates, strict=False)]
    assert steps == pytest.approx([0.05 * 40] * 5, rel=0.05)  # additive: 2 a second
    for _ in range(30):  # the others stopped: back to the limiter's own pace
        clock.sleep(1.0)
        p.succeeded()
        if p.rate is None:
            break
    assert p.rate is None, "pacing should switch itself off at the ceiling"
    assert clock.time() < 30, "it takes too long to get the budget back"


def test_a_client_that_sent_little_is_cut_from_a_tenth_of_the_ceiling() -> None:
    """One request in the last second (it had just waited out a back-off) is not the
    rate to pace from: cut from 1 it would take a quarter of a minute to recover."""
    clock = FakeClock()
    p = _pacer(clock)
    p.sent()
    p.throttled()
    assert p.rate == pytest.approx(BETA * 10)
    for _ in range(40):  # repeated refusals still cannot pace it to a standstill
        p.sent()
        clock.sleep(2.0)
        p.throttled()
    assert p.rate is not None and p.rate >= MIN_RATE


@pytest.mark.slow
def test_a_client_slows_down_when_someone_else_spends_the_budget(fresh: Sandbox) -> None:
    """The sandbox allows 15 a second (the rest of the 100 spent elsewhere); milekit's
    limiter allows 100. The read completes; the pacer slowed it down and says so."""
    fresh.app.rate_limit = 15
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, limit=5, progress=False)  # 60 pages, ~4 s
        assert len(df) == 300
        assert c.stats.rate_limited >= 1 and c.stats.pacing_wait > 0
        assert c.pacer is not None and c.pacer.rate is not None and c.pacer.rate < 40  # not 100
    with milekit.Client(fresh.token, fresh.url, limiter="process", adaptive=False) as c:
        assert c.pacer is None


def test_a_429_while_milekits_own_window_was_full_does_not_slow_it_down(
    fresh: Sandbox,
) -> None:
    """Several processes filling one shared window can draw a 429 from arrival jitter:
    that is milekit's own crowd, which the window already holds back; pacing it as if
    someone else spent the budget cost a four-process read three quarters of its speed."""
    lim = milekit.RateLimiter(limit=5, period=1.0)
    fresh.faults.add(status=429, times=1, retry_after=0, path_prefix="/api/v3/hubs")
    with milekit.Client(fresh.token, fresh.url, limiter=lim, sleep=lambda s: None) as c:
        for _ in range(6):  # the sixth waits: the window is full
            c.request("GET", "/flows", params={"limit": 1})
        assert lim.was_full()
        c.request("GET", "/hubs")  # refused once, then answered
        assert c.stats.rate_limited == 1 and c.pacer is not None and c.pacer.rate is None
