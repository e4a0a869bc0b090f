"""When the client sends a request again: the rules, in one place.

>>> RetryPolicy().retryable("GET", 502, None), RetryPolicy().retryable("POST", 502, None)
(True, False)

A read (GET, HEAD, OPTIONS) is safe to repeat: it is sent again after a 429, any 5xx and a
dropped or refused connection. A write only when the server provably did not apply it: a
429, a 503 with ``Retry-After``, or a connection that was never established (the client
decides that from the transport error). Retries stay within the policy's time budget;
``Retry-After`` is honoured up to ``max_retry_after``. A host that has never answered the
client gets :data:`FIRST_CONTACT` instead (fail fast on a wrong base URL). Every attempt
takes a limiter token: the loop that uses these rules sits above the rate limiter
(:class:`milekit.wire.client.Client`).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TIMEOUT",
    "FIRST_CONTACT",
    "IDEMPOTENT",
    "NO_RETRY",
    "RetryPolicy",
    "parse_retry_after",
]

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
