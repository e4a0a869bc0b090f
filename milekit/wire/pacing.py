"""Adaptive pacing: slow down when the server refuses although milekit kept to its budget.

>>> from milekit.wire.ratelimit import FakeClock
>>> clock = FakeClock()
>>> pace = Pacer(ceiling=100, clock=clock.time, sleep=clock.sleep)
>>> pace.rate is None                       # off until the server refuses something
True
>>> for _ in range(50):                     # 50 requests sent in the last second ...
...     pace.sent()
>>> pace.throttled()                        # ... and one refused: someone else spent the rest
>>> pace.rate                               # multiplicative decrease: 0.7 x the measured rate
35.0
>>> clock.sleep(2.0); pace.succeeded()      # additive increase: 5% of 50 a second
>>> pace.rate
40.0

The organisation's 100 requests per second are shared with tools milekit cannot see
(MileApp's web app, other scripts). milekit's own limiter keeps milekit within the budget;
when the server still answers 429 while milekit's window was not full, the rest went
elsewhere. (A 429 while the window was full is milekit's own crowd arriving a few
milliseconds late: the client-wide back-off handles it, the pacer does not slow down.)
The client-wide back-off (note 33) waits out the ``Retry-After``; without pacing it then
sends at full speed again
and meets the next 429 as soon as the window fills. The pacer (additive increase,
multiplicative decrease, as the AWS SDKs' adaptive retry mode) sends at a rate it
measures to be accepted instead: at a 429 it drops to ``beta`` x the rate it was sending
at (once per ``cooldown``: the requests already in flight are refused too, and are the same
event), then adds ``increase`` x that rate per second while answers are accepted. Past the
rate that was refused (the others may have stopped) it probes faster, doubling its step
every second, and switches itself off when back at the ``ceiling`` (the limiter's rate).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: the fraction of the measured rate kept after a 429
BETA = 0.7
#: per second of accepted answers the rate grows by this fraction of the refused rate
INCREASE = 0.05
#: the paced rate never drops below this (requests per second)
MIN_RATE = 1.0


class Pacer:
    """A token bucket of one token whose rate follows the server's answers (see module)."""

    def __init__(
        self,
        ceiling: float,
        *,
        beta: float = BETA,
        increase: float = INCREASE,
        cooldown: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling, self.beta, self.cooldown = float(ceiling), beta, cooldown
        self.increase = increase
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._sends: deque[float] = deque()
        self._rate: float | None = None
        self._next = 0.0  # when the next request may leave
        self._grown = 0.0  # when the rate last grew
        self._cut = float("-inf")  # when the rate was last cut
        self._refused = self.ceiling  # the rate that met the last 429
        self._past: float | None = None  # when the rate grew past it

    @property
    def rate(self) -> float | None:
        """The paced rate in requests per second; None when not pacing."""
        return self._rate

    def wait(self) -> float:
        """Sleep until this request's turn when pacing; the seconds slept."""
        with self._lock:
            if self._rate is None:
                return 0.0
            now = self._clock()
            at = max(now, self._next)
            self._next = at + 1.0 / self._rate
        if at > now:
            self._sleep(at - now)
        return at - now

    def sent(self) -> None:
        """One request left (for the measured sending rate)."""
        now = self._clock()
        with self._lock:
            self._sends.append(now)
            self._forget_before(now - 1.0)

    def _forget_before(self, t: float) -> None:
        """Drop the sends at or before ``t`` (the lock held): what is left is the last second's."""
        while self._sends and self._sends[0] <= t:
            self._sends.popleft()

    def throttled(self) -> None:
        """A 429 although the limiter let the request through: slow down."""
        now = self._clock()
        with self._lock:
            if now - self._cut < self.cooldown:
                return  # the same crowding: requests already in flight
            self._forget_before(now - 1.0)
            measured = float(len(self._sends))
            current = self._rate if self._rate is not None else self.ceiling
            # a client that sent little in the last second (it just started, or waited)
            # measures little: a tenth of the ceiling is the least it is cut from
            self._refused = max(min(current, measured or current), self.ceiling / 10)
            self._rate = max(MIN_RATE, self.beta * self._refused)
            self._cut = self._grown = now
            self._past = None

    def succeeded(self) -> None:
        """An answer was accepted: speed up, by ``increase`` per second since the last rise."""
        if self._rate is None:
            return
        now = self._clock()
        with self._lock:
            if self._rate is None:
                return
            step = self.increase * self._refused
            if self._rate > self._refused:  # past the refused rate: probe, doubling a second
                if self._past is None:
                    self._past = now
                step *= 2.0 ** min(10.0, now - self._past)
            self._rate += step * max(0.0, now - self._grown)
            self._grown = now
            if self._rate >= self.ceiling:
                self._rate = None  # back at the limiter's pace: pacing off
