"""One request's attempts: the retry loop over the rate limiter and the transport.

>>> import threading
>>> from milekit import Sandbox
>>> from milekit.wire.auth import Secret
>>> from milekit.wire.stats import Stats
>>> from milekit.wire.transport import default_transport, new_session
>>> retrier = Retrier(RetryPolicy(), time.monotonic, time.sleep, 0, Stats(), threading.Lock())
>>> with Sandbox(tasks=3) as sb:
...     session = new_session(Secret(sb.token), default_transport(pool=4))
...     loop = Attempts(session, sb.url, (5.0, 60.0), retrier)
...     loop.send("GET", sb.url + "/hubs", None, None, RetryPolicy(), False, Tries()).status
200

Each attempt waits out a 429's client-wide pause, the adaptive pacer's turn and a token
of the rate limiter (retries take one too), then goes through the session to the
transport. What is retried is :class:`~milekit.wire.retry.RetryPolicy`'s rule; how long
and how often, the :class:`~milekit.wire.retry.Retrier`'s. The
:class:`~milekit.wire.client.Client` owns one and sends every request through it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from milekit import errors
from milekit.redaction import redact
from milekit.wire.pacing import Pacer
from milekit.wire.ratelimit import RateLimiter
from milekit.wire.response import Response
from milekit.wire.retry import Retrier, RetryPolicy, Tries
from milekit.wire.transport import (
    decode,
    error_of,
    host_port,
    json_body,
    may_have_been_sent,
    read_body,
    unreachable,
)

__all__ = ["Attempts"]


class Attempts:
    """The retry loop a client sends through: its ``session`` (the transport mounted on
    it), ``base_url`` (for errors), ``timeout`` and ``retrier``; the ``limiter`` and the
    ``pacer`` once the client has chosen them (None: no limit, no pacing)."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        timeout: tuple[float, float],
        retrier: Retrier,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.timeout = timeout
        self.retrier = retrier
        self.clock = retrier.clock
        self.stats, self._stats_lock = retrier.stats, retrier.stats_lock
        self.limiter: RateLimiter | None = None
        self.pacer: Pacer | None = None
        #: has the host answered anything yet (until then a connection that cannot be made
        #: fails fast: :data:`~milekit.wire.retry.FIRST_CONTACT`)
        self.reached = False

    def send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        policy: RetryPolicy,
        raw: bool,
        tries: Tries,
    ) -> Response:
        """Send ``method url`` until it is answered or its retries are spent."""
        method = method.upper()
        data, headers = json_body(json)
        urlpath = urlsplit(url).path
        while True:
            tries.attempt += 1
            tries.spent += self.retrier.pause()
            tries.spent += self._paced()
            sent_at, t0 = self.clock(), time.monotonic()
            try:
                r = self.session.request(
                    method, url, params=params, data=data, headers=headers,
                    timeout=self.timeout, stream=True,
                )  # fmt: skip
                read_body(r)
            except requests.RequestException as e:
                took = time.monotonic() - t0
                tries.spent += took
                tries.failed(max(sent_at, self.retrier.gate.until))
                self._unanswered_retry(e, method, urlpath, policy, tries, took)
                continue  # it waited for the retry (or raised)
            elapsed = time.monotonic() - t0
            tries.spent += elapsed
            self._count(r.status_code)
            if r.status_code < 400:
                tries.answered(self.clock())
                self.retrier.gate.clear()
                if self.pacer is not None:
                    self.pacer.succeeded()
                body = None if raw else decode(r)
                return Response(r.status_code, body, r.content, r.headers, elapsed, tries.attempt)
            if self._answered_retry(r, method, urlpath, policy, tries, sent_at):
                continue

    def _unanswered_retry(
        self,
        e: requests.RequestException,
        method: str,
        urlpath: str,
        policy: RetryPolicy,
        tries: Tries,
        took: float,
    ) -> None:
        """No answer: return after waiting for the retry, else raise the error. While
        the host has never answered, a connection that cannot be made is retried only as
        :data:`~milekit.wire.retry.FIRST_CONTACT` allows, then
        :class:`~milekit.errors.ConnectError`."""
        host, port = host_port(self.base_url)
        reason = None if self.reached else unreachable(e, self.timeout[0], host)
        if reason is not None:
            why = f"{method} {urlpath}: could not connect to {host}:{port} ({reason})"
            # the next attempt is expected to take as long as this one: a connect timeout
            # is not tried again unless it fits in the budget too
            if self.retrier.again(policy.first_contact(), tries, None, why, expect=took):
                return
            raise errors.ConnectError(
                host, port, reason, attempts=tries.attempt, elapsed=tries.spent,
                method=method, url=urlpath,
            ) from None  # fmt: skip
        sent = may_have_been_sent(e)
        exc = errors.TransportError(
            f"{type(e).__name__}: {redact(str(e))}", method=method, url=urlpath, sent=sent
        )
        if policy.unanswered(method, sent) and self.retrier.again(
            policy, tries, None, f"{method} {urlpath}: {exc.message}"
        ):
            return
        raise exc from None

    def _answered_retry(
        self,
        r: requests.Response,
        method: str,
        urlpath: str,
        policy: RetryPolicy,
        tries: Tries,
        sent_at: float,
    ) -> bool:
        """An error answer: True after waiting for the retry, else the error is raised."""
        err = error_of(r, method, urlpath, self.base_url)
        if r.status_code >= 500:
            tries.failed(max(sent_at, self.retrier.gate.until))  # a rate-limit hold does not count
        else:  # a 429 too: the server is there, it only asks us to wait
            tries.answered(self.clock())
        if r.status_code == 429:
            self.retrier.throttled(err.retry_after)
            if self.pacer is not None and not (self.limiter and self.limiter.was_full()):
                self.pacer.throttled()  # someone else spent the budget: slow down
        if policy.retryable(method, r.status_code, err.retry_after) and self.retrier.again(
            policy, tries, err.retry_after, f"{method} {urlpath}: {err.message}"
        ):
            return True
        raise err

    def _paced(self) -> float:
        """Wait for the adaptive pacer's turn (none unless 429s slowed it); seconds waited."""
        if self.pacer is None:
            return 0.0
        waited = self.pacer.wait()
        if waited:
            with self._stats_lock:
                self.stats.pacing_wait += waited
        self.pacer.sent()
        return waited

    def limiter_waited(self, seconds: float) -> None:
        """Count the wait for a rate limiter's token (the limited transport tells it)."""
        with self._stats_lock:
            self.stats.limiter_wait += seconds

    def _count(self, status: int) -> None:
        self.reached = True  # the host answers: from now on its failures are patient
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.count(status)
            if status == 429:
                self.stats.rate_limited += 1
