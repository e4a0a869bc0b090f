"""When the client sends a request again: the rules, in one place.

>>> RetryPolicy().retryable("GET", 502, None), RetryPolicy().retryable("POST", 502, None)
(True, False)

A read (GET, HEAD, OPTIONS) is safe to repeat: it is sent again after a 429, any 5xx and a
dropped or refused connection. A write only when the server provably did not apply it: a
429, a 503 with ``Retry-After``, or a connection that was never established (the client
decides that from the transport error). Retries stay within the policy's time budget;
``Retry-After`` is honoured up to ``max_retry_after``. A host that has never answered the
client gets :data:`FIRST_CONTACT` instead (fail fast on a wrong base URL). A 429 also
pauses every request of the client (:class:`Backoff`, note 33), and the pages of a read
share one budget (:class:`ReadDeadline`). Every attempt takes a limiter token: the loop
that applies these rules (:class:`milekit.wire.attempts.Attempts`, through
:class:`Retrier`) sits above the rate limiter.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from milekit.redaction import redact
from milekit.wire.stats import Stats

__all__ = [
    "DEFAULT_TIMEOUT",
    "FIRST_CONTACT",
    "IDEMPOTENT",
    "NO_RETRY",
    "STALL_PAGES",
    "Backoff",
    "ReadDeadline",
    "Retrier",
    "RetryPolicy",
    "SleptClock",
    "Tries",
    "parse_retry_after",
]

log = logging.getLogger("milekit")

#: methods that are safe to repeat
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries: within a time budget, not a fixed count.

    A request is sent again while the time spent on it (its attempts plus the waits
    between them) stays within ``budget`` seconds; ``attempts`` optionally caps the count
    too. Waits grow exponentially from ``backoff`` up to ``max_backoff``, with jitter;
    a ``Retry-After`` answer is honoured instead (one longer than ``max_retry_after``
    raises at once).

    The pages of a read (``Client.pages``, every frame) also share one budget: once
    none of them has been answered for ``budget`` seconds (a 5xx or no answer at all; a
    429 is an answer), they all stop retrying, and a read whose server has gone away ends
    then with :class:`~milekit.errors.IncompleteReadError` (``resume=`` reads the
    rest), not after a budget per page.

    >>> RetryPolicy().delay(attempt=3, rng=random.Random(0)) <= 2.0 + RetryPolicy().jitter
    True
    >>> RetryPolicy(attempts=1).retries(attempt=1, spent=0.0, delay=0.1)
    False
    """

    attempts: int | None = None  #: total attempts, the first included (None: budget only)
    #: seconds one request may take, retries and waits included; also how long the pages
    #: of a read keep retrying once none is answered
    budget: float = 120.0
    backoff: float = 0.5  #: first delay, doubled each attempt
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  #: a longer Retry-After raises instead of blocking
    jitter: float = 0.25  #: positive jitter, in seconds, added on top of every delay

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return retry_after + rng.uniform(0, self.jitter)
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return rng.uniform(base / 2, base) + rng.uniform(0, self.jitter)

    def retryable(self, method: str, status: int, retry_after: float | None) -> bool:
        """May a request answered ``status`` be sent again? A read after a 429 or any
        5xx (safe to repeat, note 32); a write only where the server provably did not
        apply it: a 429, or a 503 that says when to come back.

        >>> p = RetryPolicy()
        >>> p.retryable("GET", 500, None), p.retryable("PATCH", 500, None)
        (True, False)
        >>> p.retryable("PATCH", 429, None), p.retryable("PATCH", 503, 2.0)
        (True, True)
        """
        if status == 429:
            return True  # the server refused it: nothing was applied
        if status == 503 and retry_after is not None:
            return True  # "come back later": not applied
        return method in IDEMPOTENT and 500 <= status < 600  # a read: safe to repeat

    def unanswered(self, method: str, sent: bool) -> bool:
        """May a request that got no answer be sent again? A read always; a write only
        when it provably never left (the connection was never established).

        >>> p = RetryPolicy()
        >>> p.unanswered("GET", sent=True), p.unanswered("POST", True), p.unanswered("POST", False)
        (True, False, True)
        """
        return method in IDEMPOTENT or not sent

    def first_contact(self) -> RetryPolicy:
        """:data:`FIRST_CONTACT`, within this policy (``retry=False``: one attempt).

        >>> NO_RETRY.first_contact().attempts, RetryPolicy().first_contact().budget
        (1, 10.0)
        """
        cap = FIRST_CONTACT.attempts or 1
        attempts = cap if self.attempts is None else min(self.attempts, cap)
        budget = min(self.budget, FIRST_CONTACT.budget)
        return replace(FIRST_CONTACT, attempts=attempts, budget=budget)

    def retries(self, attempt: int, spent: float, delay: float) -> bool:
        """May attempt ``attempt + 1`` follow, ``spent`` seconds in, after ``delay``?"""
        if self.attempts is not None and attempt >= self.attempts:
            return False
        return spent + delay <= self.budget


NO_RETRY = RetryPolicy(attempts=1)
#: how a connection that cannot be made is retried while the host has never answered the
#: client: a few quick attempts within 10 s (each expected to take as long as the one
#: before), then :class:`~milekit.errors.ConnectError`; the client's policy still
#: caps it (``retry=False`` tries once)
FIRST_CONTACT = RetryPolicy(attempts=3, budget=10.0, backoff=0.5, max_backoff=2.0)
#: seconds to wait for a connection, and for an answer on it
DEFAULT_TIMEOUT = (5.0, 120.0)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date).

    >>> parse_retry_after("3"), parse_retry_after(None), parse_retry_after("soon")
    (3.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


@dataclass
class Tries:
    """One request's attempts so far, and the seconds they took (its own waits included;
    measured per request, so threads waiting at once do not spend each other's budget);
    for a page of a read, the read's shared deadline and the page's number."""

    attempt: int = 0
    spent: float = 0.0
    read: ReadDeadline | None = None
    page: int = 0

    def failed(self, since: float) -> None:
        if self.read is not None:
            self.read.failed(since, self.page)

    def answered(self, now: float) -> None:
        if self.read is not None:
            self.read.answered(now)


#: pages in a row that got no answer but a 5xx or none at all (nothing answered since): the
#: server is taken for gone and no new page of the read is started
STALL_PAGES = 4


class ReadDeadline:
    """One read's retry budget, shared by all its pages (not a budget per page).

    The read keeps retrying its pages while the server answered (anything but a 5xx: a
    429 is an answer too, a rate-limit hold is not the server going away) within the last
    ``budget`` seconds; a failure then starts the clock, any answer stops it. Once
    :data:`STALL_PAGES` pages in a row failed with no answer since, no new page is
    started: the pages in flight retry until the deadline, and if the server is back by
    then the read goes on, else it ends with what it received.

    >>> d = ReadDeadline("tasks", budget=3.0)
    >>> d.failed(since=10.0, page=4); d.allows(now=12.0, delay=0.5)
    True
    >>> d.allows(now=12.8, delay=0.5), d.stalled
    (False, False)
    >>> for n in (5, 6, 7):
    ...     d.failed(since=13.0, page=n)
    >>> d.stalled
    True
    >>> d.answered(now=14.0); d.allows(now=16.0, delay=0.5), d.stalled
    (True, False)
    """

    def __init__(self, name: str, budget: float) -> None:
        self.name = name
        self.budget = budget
        self._answered_at = -math.inf
        self._failing_since: float | None = None
        self._failing: set[int] = set()  #: pages failed since the last answer
        self._warned = False
        self._lock = threading.Lock()

    def answered(self, now: float) -> None:
        with self._lock:
            self._answered_at = max(self._answered_at, now)
            self._failing_since = None
            self._failing.clear()

    def failed(self, since: float, page: int) -> None:
        """An attempt of ``page`` got a 5xx or no answer at all: the server has not
        answered it ``since`` then (when it was sent, or when the client's rate-limit hold
        it was sent before ends: a hold the server asked for does not count)."""
        with self._lock:
            if self._failing_since is None:
                # an answer that came after this attempt was sent proves the server was
                # there then: the clock starts at the later of the two
                self._failing_since = max(since, self._answered_at)
            self._failing.add(page)

    @property
    def stalled(self) -> bool:
        """Did the last :data:`STALL_PAGES` pages tried all fail, with no answer since?"""
        return len(self._failing) >= STALL_PAGES

    def allows(self, now: float, delay: float) -> bool:
        """May a page be sent again ``delay`` seconds after ``now``?"""
        since = self._failing_since
        if since is None or now + delay - since <= self.budget:
            return True
        with self._lock:
            warn, self._warned = not self._warned, True
        if warn:
            log.warning(
                "%s: no answer for %.1fs (RetryPolicy.budget=%gs): the read stops retrying; "
                "the rows received are kept (err.partial), resume=err reads the rest",
                self.name, now - since, self.budget,
            )  # fmt: skip
        return False


class Backoff:
    """The client-wide pause after a 429 (note 33): every request of the client waits it
    out before it is sent, not only the one that was refused.

    The pause is the answer's ``Retry-After`` (plus jitter), else an exponential wait
    that grows with the 429s received in a row and is reset by any success.

    >>> from milekit.wire.ratelimit import FakeClock
    >>> clock, gate = FakeClock(), Backoff(RetryPolicy(jitter=0))
    >>> gate.hold(clock.time(), 2.0, random.Random(0))
    >>> gate.remaining(clock.time()), gate.remaining(clock.time() + 5)
    (2.0, 0.0)
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._until = 0.0
        self._in_a_row = 0
        self._lock = threading.Lock()

    def hold(self, now: float, retry_after: float | None, rng: random.Random) -> None:
        """A 429: pause every request for its ``Retry-After``, else for a back-off that
        grows with the 429s in a row (``rng``: the caller's, held under its lock)."""
        with self._lock:
            self._in_a_row += 1
            wait = self.policy.delay(self._in_a_row, rng, retry_after)
            self._until = max(self._until, now + wait)

    def clear(self) -> None:
        if self._in_a_row:
            with self._lock:
                self._in_a_row = 0

    def remaining(self, now: float) -> float:
        return max(0.0, self._until - now)

    @property
    def until(self) -> float:
        """When the pause ends (in the past when there is none)."""
        return self._until

    def wait(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        stats: Stats,
        lock: threading.Lock,
    ) -> float:
        """Sleep until the pause is over (at once when there is none); the seconds slept."""
        slept = 0.0
        while (left := self.remaining(clock())) > 0:
            with lock:
                stats.backoff_wait += left
            sleep(left)
            slept += left
        return slept


class SleptClock:
    """A monotonic clock that injected sleeps advance: a test's fake ``sleep`` then
    moves the time that retry budgets and back-off pauses are measured in."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self._slept = 0.0
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)
        with self._lock:
            self._slept += max(0.0, seconds)

    def time(self) -> float:
        return time.monotonic() + self._slept


class Retrier:
    """The client's side of its retries: the pause after a 429 that every request waits
    out (note 33, :class:`Backoff`), the jittered wait before each retry, and what they
    cost (``stats``; ``on_retry`` watchers are told before each wait).

    >>> from milekit.wire.ratelimit import FakeClock
    >>> clock, stats = FakeClock(), Stats()
    >>> r = Retrier(RetryPolicy(jitter=0), clock.time, clock.sleep, 0, stats, threading.Lock())
    >>> r.again(RetryPolicy(backoff=1.0, jitter=0), Tries(attempt=1), 2.0, "GET /x: 503")
    True
    >>> clock.slept, stats.retries
    ([2.0], 1)
    """

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        seed: int | None,
        stats: Stats,
        stats_lock: threading.Lock,
        on_retry: list[Callable[[int, float, str], None]] | None = None,
    ) -> None:
        self.gate = Backoff(policy)
        self.clock, self.sleep = clock, sleep
        self.stats, self.stats_lock = stats, stats_lock
        self.on_retry = on_retry if on_retry is not None else []
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    def pause(self) -> float:
        """Wait out a 429's client-wide pause before an attempt; the seconds waited."""
        return self.gate.wait(self.clock, self.sleep, self.stats, self.stats_lock)

    def throttled(self, retry_after: float | None) -> None:
        """A 429: hold back every request of the client (note 33)."""
        with self._rng_lock:
            self.gate.hold(self.clock(), retry_after, self._rng)

    def again(
        self,
        policy: RetryPolicy,
        tries: Tries,
        retry_after: float | None,
        why: str,
        expect: float = 0.0,
    ) -> bool:
        """Wait before the next attempt and say yes, or say no (the budget is spent;
        ``expect``: seconds the next attempt is expected to take, within the budget too)."""
        if retry_after is not None and retry_after > policy.max_retry_after:
            return False
        with self._rng_lock:
            delay = policy.delay(tries.attempt, self._rng, retry_after)
        now = self.clock()
        held = self.gate.remaining(now)  # a 429's pause, waited before sending
        if not policy.retries(tries.attempt, tries.spent + expect, max(delay, held)):
            return False
        if tries.read is not None and not tries.read.allows(now, delay):
            return False  # the read's server has not answered for its whole budget
        own = delay if delay > held else 0.0
        with self.stats_lock:
            self.stats.retries += 1
            self.stats.retry_wait += own
        log.info(
            "retrying in %.2fs (attempt %d): %s", max(delay, held), tries.attempt + 1, redact(why)
        )
        for watch in list(self.on_retry):
            watch(tries.attempt + 1, max(delay, held), redact(why))
        if own > 0:
            self.sleep(own)
            tries.spent += own
        return True
