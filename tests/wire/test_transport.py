"""The transport seam: ``Client(transport=...)`` mounts a ``requests`` adapter of the
caller's on the client's session; every request of the client goes through it, with the
client's retries, rate limiter and error mapping still above it (over a real loopback
socket to the sandbox: the adapter here wraps the default one, nothing is mocked)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.wire.ratelimit import FakeClock, RateLimiter
from milekit.wire.retry import RetryPolicy
from milekit.wire.transport import LimitedTransport, default_transport


class Watching(requests.adapters.BaseAdapter):
    """An adapter that records what it sends, then sends it through the real one."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = default_transport(pool=20)
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        with self._lock:
            self.seen.append((str(request.method), str(request.path_url)))
        return self.inner.send(request, **kw)

    def close(self) -> None:
        self.inner.close()


def test_every_request_of_the_client_goes_through_the_mounted_transport(
    sandbox: Sandbox,
) -> None:
    watching = Watching()
    with milekit.Client(sandbox.token, sandbox.url, limiter="process", transport=watching) as c:
        limited = c.session.get_adapter(sandbox.url)  # the limiter's, around the mounted one
        assert isinstance(limited, LimitedTransport) and limited.inner is watching
        pages = list(c.pages("tasks", limit=1000))
        with pytest.raises(errors.NotFoundError):  # the client's error mapping, above it
            c.request("GET", "/task/000000000000000000000000", retry=RetryPolicy(attempts=1))
    assert len(pages) > 1 and len(watching.seen) == c.stats.requests  # every attempt
    assert all(method == "GET" for method, _ in watching.seen)
    assert {n for n in range(1, len(pages) + 1)} == {
        int(path.split("page=")[1].split("&")[0]) for _, path in watching.seen if "page=" in path
    }


def test_the_limiter_and_the_retries_stay_above_a_mounted_transport(fresh: Sandbox) -> None:
    """Every attempt through the custom transport took a limiter token, retries too."""
    clock, waits = FakeClock(), FakeClock()  # the window's time; the retries' (apart)
    limiter = RateLimiter(limit=2, period=1.0, clock=clock.time, sleep=clock.sleep)
    watching = Watching()
    fresh.faults.add(status=503, times=2)
    with milekit.Client(
        fresh.token, fresh.url, limiter=limiter, transport=watching, sleep=waits.sleep
    ) as c:
        c.request("GET", "/hubs")
    assert len(watching.seen) == 3 and c.stats.retries == 2  # two 503s, then the answer
    assert 1.0 <= c.stats.limiter_wait <= clock.now < 1.1  # the third waited: 2 a second
