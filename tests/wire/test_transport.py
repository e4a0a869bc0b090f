"""The transport seam: ``Client(transport=...)`` mounts a ``requests`` adapter of the
caller's on the client's session; every request of the client goes through it, with the
client's retries, rate limiter and error mapping still above it (over a real loopback
socket to the sandbox: the adapter here wraps the default one, nothing is mocked)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
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


def test_reads_at_once_reuse_their_connections(
    fresh: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Several reads at once (a lake's run reads four lists and the rows in doubt, each
    on ``max_workers`` threads) keep every connection they open: none is discarded for
    a full pool (urllib3 warns, and the next request pays a new connection: a TLS
    handshake against the real API). A 1M lake's run opened 53 connections and
    discarded 33 with the pool of ``max_workers + 4``."""
    fresh.faults.latency = 0.05  # the pages of the reads overlap
    caplog.set_level("DEBUG", logger="urllib3.connectionpool")
    with milekit.Client(fresh.token, fresh.url, limiter=None, max_workers=4) as c:

        def read(order: str) -> int:
            return len(list(c.pages("tasks", {"sortOrder": order}, limit=20)))

        with ThreadPoolExecutor(4) as pool:
            counts = list(pool.map(read, ["asc", "desc", "asc", "desc"]))
    assert counts == [15] * 4  # each read kept its 4 threads busy
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if "pool is full" in m]
    assert 4 < sum("Starting new HTTP connection" in m for m in said) <= 4 * 4
