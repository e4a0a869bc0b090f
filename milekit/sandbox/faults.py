"""Fault injection for the sandbox: latency, random 5xx, dropped connections, scripted rules.

>>> f = Faults(seed=1)
>>> _ = f.add(status=503, times=2, path_prefix="/tasks")
>>> [a.status if a else None for a in (f.decide("GET", "/tasks"), f.decide("GET", "/tasks"),
...                                     f.decide("GET", "/tasks"))]
[503, 503, None]

Faults act like a gateway in front of the API: they are decided before authentication,
rate limiting and routing. A *drop* closes the connection without any HTTP response;
``after_apply`` drops it only after the request was applied (a write that happened but
whose acknowledgement was lost).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DropConnection", "FaultAction", "Faults", "Rule"]

_MESSAGES = {
    429: "Too Many Attempts.",
    500: "Internal server error, please contact support@mile.app.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class DropConnection(Exception):
    """Raised by the app to make the server close the socket without answering."""


@dataclass
class Rule:
    """A scripted fault: answer ``status`` (or drop) for the next ``times`` matching requests.

    >>> Rule(status=500).matches("GET", "/tasks")
    True
    """

    status: int | None = None
    times: int | None = 1  #: None = forever
    method: str | None = None
    path_prefix: str | None = None  #: matched against the path below /api/v3 (or the full path)
    query: str | None = None  #: a part the query string must contain ("page=3&")
    retry_after: float | None = None
    body: Any = None
    drop: bool = False
    after_apply: bool = False
    hits: int = 0

    def matches(self, method: str, path: str, query: str = "") -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.query is not None and self.query not in query + "&":
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path_prefix is not None:
            full = "/api/v3" + path
            if not (path.startswith(self.path_prefix) or full.startswith(self.path_prefix)):
                return False
        return True


@dataclass(frozen=True)
class FaultAction:
    """What to do with one request: answer an error, drop before, or drop after applying."""

    kind: Literal["error", "drop", "drop_after"]
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = field(default=None)


class Faults:
    """Thread-safe fault configuration with a seeded RNG.

    >>> f = Faults(error_rate=1.0, seed=3)
    >>> f.decide("GET", "/tasks").status in (500, 502, 503, 504)
    True

    ``burst_rate`` starts a 429 burst: that request and the next ``burst_length - 1``
    get 429 with ``Retry-After: 1`` (another client of the organisation spent the budget).
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        drop_after_rate: float = 0.0,
        burst_rate: float = 0.0,
        burst_length: int = 5,
        seed: int = 0,
    ) -> None:
        self.latency = latency
        self.error_rate = error_rate
        self.drop_rate = drop_rate
        self.drop_after_rate = drop_after_rate
        self.burst_rate = burst_rate
        self.burst_length = burst_length
        self._burst_left = 0
        self.rules: list[Rule] = []
        self.injected = 0  #: faults applied so far
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(
        self,
        *,
        status: int | None = None,
        times: int | None = 1,
        method: str | None = None,
        path_prefix: str | None = None,
        query: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        drop: bool = False,
        after_apply: bool = False,
    ) -> Rule:
        """Script a fault for the next ``times`` matching requests (rules before rates)."""
        if status is None and not drop:
            raise ValueError("a fault rule needs a status or drop=True")
        rule = Rule(status, times, method, path_prefix, query, retry_after, body, drop, after_apply)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove all rules and reset the random rates to zero."""
        with self._lock:
            self.rules.clear()
            self.error_rate = self.drop_rate = self.drop_after_rate = self.burst_rate = 0.0
            self._burst_left = 0
            self.latency = 0.0

    def decide(self, method: str, path: str, query: str = "") -> FaultAction | None:
        """The fault for this request, if any (consumes one use of a matching rule)."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, query):
                    rule.hits += 1
                    self.injected += 1
                    if rule.drop:
                        return FaultAction("drop_after" if rule.after_apply else "drop")
                    assert rule.status is not None
                    return _error(rule.status, rule.retry_after, rule.body)
            action = self._random()
            if action is not None:
                self.injected += 1
            return action

    def _random(self) -> FaultAction | None:
        """A fault drawn from the rates (the lock is held)."""
        if self._burst_left:
            self._burst_left -= 1
            return _error(429, 1, None)
        if not (self.error_rate or self.drop_rate or self.drop_after_rate or self.burst_rate):
            return None
        r = self._rng.random()
        if r < self.drop_rate:
            return FaultAction("drop")
        r -= self.drop_rate
        if r < self.error_rate:
            return _error(self._rng.choice((500, 502, 503, 504)), None, None)
        r -= self.error_rate
        if r < self.drop_after_rate:
            return FaultAction("drop_after")
        r -= self.drop_after_rate
        if r < self.burst_rate:
            self._burst_left = self.burst_length - 1
            return _error(429, 1, None)
        return None


def _error(status: int, retry_after: float | None, body: Any) -> FaultAction:
    headers: tuple[tuple[str, str], ...] = ()
    if retry_after is None and status == 503:
        retry_after = 1
    if retry_after is not None:
        ra = int(retry_after) if float(retry_after).is_integer() else retry_after
        headers = (("Retry-After", str(ra)),)
    if body is None:
        body = {"status": False, "message": _MESSAGES.get(status, "Error")}
        if status == 429:
            body["failedCode"] = "sys-036"
    return FaultAction("error", status, headers, body)
