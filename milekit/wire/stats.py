"""What the client did: requests, 429s, retries and the time spent waiting.

>>> s = Stats(requests=2); s.count(429); s.by_status
{429: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

__all__ = ["Stats"]


@dataclass
class Stats:
    """What the client did, for progress bars, benchmarks and reports."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0  #: 429 answers received
    retry_wait: float = 0.0  #: seconds slept before retries
    #: seconds requests waited because another request of the client got a 429
    backoff_wait: float = 0.0
    #: seconds requests waited for a token of the rate limiter (summed over threads)
    limiter_wait: float = 0.0
    #: seconds requests waited for the adaptive pacer (slowed down after 429s)
    pacing_wait: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def copy(self) -> Stats:
        return replace(self, by_status=dict(self.by_status))

    def since(self, earlier: Stats) -> Stats:
        """What happened after ``earlier`` (a :meth:`copy` taken then).

        >>> a = Stats(requests=3, limiter_wait=0.5); b = a.copy()
        >>> b.requests += 2; b.rate_limited += 1
        >>> b.since(a).summary()
        {'requests': '2', '429s': '1', 'retries': '0', 'limiter wait': '0.0s', 'back-off': '0.0s'}
        """
        statuses = {k: v - earlier.by_status.get(k, 0) for k, v in self.by_status.items()}
        counts = {
            f.name: getattr(self, f.name) - getattr(earlier, f.name)
            for f in fields(self)
            if f.name != "by_status"
        }
        return Stats(**counts, by_status={k: v for k, v in statuses.items() if v})

    def summary(self) -> dict[str, str]:
        """The figures a progress bar ends with: requests, 429s, retries, waits."""
        out = {
            "requests": str(self.requests),
            "429s": str(self.rate_limited),
            "retries": str(self.retries),
            "limiter wait": f"{self.limiter_wait:.1f}s",
            "back-off": f"{self.backoff_wait + self.retry_wait:.1f}s",
        }
        if self.pacing_wait:
            out["paced"] = f"{self.pacing_wait:.1f}s"
        return out
