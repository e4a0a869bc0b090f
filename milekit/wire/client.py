"""The one ``Client`` that owns the wire.

>>> from milekit import Client, Sandbox
>>> with Sandbox(tasks=30) as sb:
...     client = Client(token=sb.token, base_url=sb.url, limiter="process")
...     rows = [row for page in client.pages("tasks", {"status": "DONE"}) for row in page.rows]
...     client.close()
>>> all(r["status"] == "DONE" for r in rows)
True

Layers, outermost first::

    Client.request  -- the token checked, then the retry loop (milekit.wire.attempts;
       |              the rules: milekit.wire.retry.RetryPolicy): a read after 429, any
       |              5xx and failed connections; jittered exponential backoff,
       |              Retry-After honoured within a cap
    RateLimiter.acquire                 -- every attempt takes a token (100 req/s per org)
       |
    requests.Session(auth=BearerAuth)   -- token through an auth object, never a raw header
       |
    the transport: MeasuredAdapter (milekit.wire.transport; ``transport=`` mounts another)
       |
    urllib3 (max_retries=0: its own retries would bypass the limiter)

The Client composes the parts that live below it: the retry loop
(:mod:`milekit.wire.attempts`), the retry rules and waits (:mod:`milekit.wire.retry`),
the page walk (:mod:`milekit.wire.paging`), the list shapes (:mod:`milekit.wire.envelope`),
the limiter and its choice (:mod:`milekit.wire.ratelimit`), the organisation a Redis
window is keyed by (:mod:`milekit.wire.organization`), and the transport with its error
mapping (:mod:`milekit.wire.transport`).

Writes (POST/PUT/PATCH/DELETE) are retried only when the server provably did not apply
them: a 429, a 503 that carries ``Retry-After``, or a connection that was never
established. A timeout or a dropped connection after sending raises
:class:`~milekit.errors.TransportError` with ``sent=True``; the caller decides.

A connection that cannot be made to a host that has never answered the client (refused,
a name that does not resolve, unreachable, no answer within the connect timeout) is
tried as often as :data:`FIRST_CONTACT` allows (three attempts within 10 s), then raises
:class:`~milekit.errors.ConnectError` naming the host: a wrong base URL fails fast.
Once the host has answered anything, the patient retries of the client's
:class:`RetryPolicy` apply.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests

from milekit import errors
from milekit.types import registry
from milekit.types.registry import Listing, fill_path
from milekit.wire import credentials, envelope
from milekit.wire.attempts import Attempts
from milekit.wire.auth import Secret
from milekit.wire.organization import OrganizationKey
from milekit.wire.pacing import Pacer
from milekit.wire.paging import LOOKAHEAD, MAX_PAGES, PageHooks, Paging, listing_of
from milekit.wire.ratelimit import (
    MILEAPP_PERIOD,
    MILEAPP_RATE,
    LimiterArg,
    RateLimiter,
    choose_limiter,
)
from milekit.wire.response import Page, Response
from milekit.wire.retry import (
    DEFAULT_TIMEOUT,
    NO_RETRY,
    Retrier,
    RetryPolicy,
    SleptClock,
    Tries,
)
from milekit.wire.stats import Stats
from milekit.wire.transport import (
    LimitedTransport,
    default_transport,
    new_session,
    timeouts,
)
from milekit.wire.workers import read_pool, results

__all__ = ["DEFAULT_BASE_URL", "Client", "Page", "Response", "Stats"]

#: reads one client runs at once (a lake's run reads four lists and the rows in doubt,
#: each on ``max_workers`` threads): the connections a client keeps for reuse are for
#: that many reads, and at least as many as the org limit lets leave in a second. A
#: pool of ``max_workers + 4`` discarded 33 of the 53 connections a 1M lake's run opened
#: (urllib3 warns each time; the next request pays a new connection: against the real
#: API a TLS handshake). Kept connections are opened only as requests need them.
READS_AT_ONCE = 5

T = TypeVar("T")

DEFAULT_BASE_URL = "https://apiweb.mile.app/api/v3"


def _close_limiter(limiter: RateLimiter | None) -> None:
    if limiter is not None:
        limiter.close()


class Client:
    """A MileApp API client.

    >>> Client(token="abc123456", base_url="http://127.0.0.1:9/api/v3", limiter=None)
    Client(base_url='http://127.0.0.1:9/api/v3', token=********)

    Args:
        token: personal access token. Default: ``MILEAPP_TOKEN``, else the remembered
            credential of the profile (see :mod:`milekit.wire.credentials`), else none: a
            request then raises :class:`~milekit.errors.AuthError` (nothing prompts).
        base_url: default ``MILEAPP_BASE_URL``, else ``https://apiweb.mile.app/api/v3``. A
            remembered token comes with the base URL it was remembered with, which then
            comes before ``MILEAPP_BASE_URL``: a token goes to the host it was issued for.
        profile: which remembered credential; default ``MILEAPP_PROFILE``, else
            ``"default"``. Naming it here also puts it before ``MILEAPP_TOKEN``.
        timeout: ``(connect, read)`` seconds: how long to wait for a connection to be
            made, and then for each answer (default ``(5, 120)``).
        limiter: ``"shared"`` (also spelt ``"sqlite"``: all processes of this user on this
            machine share the 100 req/s budget per host; the default), a
            ``redis://host:6379/0`` (or ``rediss://``) URL (every process on every machine
            using that Redis shares the organisation's budget: see
            :meth:`RateLimiter.redis`), ``"process"`` (this process only), a
            :class:`RateLimiter`, or ``None`` (no client-side limit). Default: the
            ``MILEKIT_LIMITER`` environment variable, else the setting of the profile the
            token comes from (``milekit login --limiter redis://...``), else ``"shared"``.
        retry: a :class:`RetryPolicy`; ``False`` for none.
        adaptive: slow down when the server answers 429 although the limiter kept to the
            budget (someone else spent it), and speed up again gradually
            (:mod:`milekit.wire.pacing`); ``False`` keeps to the limiter's pace.
        max_workers: threads that fetch pages concurrently.
        transport: the ``requests`` adapter mounted on the session for http and https
            (default :func:`~milekit.wire.transport.default_transport`): tests and the
            sandbox can watch or reroute every request; retries, the limiter and the
            error mapping stay above it.
        sleep: how the retry loop waits (tests inject a fake).
        clock: the retry loop's monotonic clock (tests inject a fake). Default: the real
            one, or, when only ``sleep`` is injected, a clock that the injected sleeps
            advance, so time budgets hold without real waiting.
    """

    def __init__(
        self,
        token: str | Secret | None = None,
        base_url: str | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        limiter: LimiterArg | Literal["default"] = "default",
        retry: RetryPolicy | bool = True,
        adaptive: bool = True,
        max_workers: int = 16,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] | None = None,
        seed: int | None = None,
        profile: str | None = None,
        transport: requests.adapters.BaseAdapter | None = None,
    ) -> None:
        found = credentials.find_token(token, profile)
        self._token, self._wanted_profile = found.token, found.wanted
        self.profile = found.profile  #: the profile whose remembered token is used
        self.token_source = found.source  #: where the token came from (never the token)
        url = base_url or found.base_url or os.environ.get("MILEAPP_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = url.rstrip("/")
        host = urlsplit(self.base_url)
        if host.scheme not in ("http", "https") or not host.netloc:
            raise errors.UsageError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        self.timeout = timeouts(timeout)
        self.retry = RetryPolicy() if retry is True else NO_RETRY if retry is False else retry
        self.max_workers = max_workers
        if clock is None and sleep is not time.sleep:
            virtual = SleptClock(sleep)
            sleep, clock = virtual.sleep, virtual.time
        self._sleep, self._clock = sleep, clock or time.monotonic
        self.stats = Stats()
        self._stats_lock = threading.Lock()
        #: called as ``fn(attempt, delay, why)`` before each retry's wait (progress bars)
        self.on_retry: list[Callable[[int, float, str], None]] = []
        self._retrier = Retrier(
            self.retry, self._clock, self._sleep, seed, self.stats, self._stats_lock, self.on_retry
        )
        mounted = transport or default_transport(max(MILEAPP_RATE, READS_AT_ONCE * max_workers))
        self.session = new_session(self._token, mounted)
        self._attempts = Attempts(self.session, self.base_url, self.timeout, self._retrier)
        self._own_limiter = not isinstance(limiter, RateLimiter)
        chosen = self._attempts.limiter = self._limiter(limiter, host.netloc, found.limiter)
        # a client dropped unclosed still releases its own limiter's connection (SQLite,
        # Redis): Python 3.13 warns about a SQLite connection left to the collector
        self._release = weakref.finalize(
            self, _close_limiter, chosen if self._own_limiter else None
        )
        if chosen is not None:  # every attempt from now on takes a token, whatever is mounted
            limited = LimitedTransport(mounted, chosen, self._attempts.limiter_waited)
            for prefix in ("http://", "https://"):
                self.session.mount(prefix, limited)
        if adaptive:
            ceiling = chosen.limit / chosen.period if chosen else MILEAPP_RATE / MILEAPP_PERIOD
            self._attempts.pacer = Pacer(ceiling, clock=self._clock, sleep=self._sleep)

    def _limiter(self, arg: LimiterArg, host: str, setting: str | None) -> RateLimiter | None:
        """The limiter ``arg`` names; a Redis window is keyed by the token's organisation,
        asked for (``GET /user``) through this client's request path, unlimited yet."""
        scope = OrganizationKey(host, self._token, lambda: self.request("GET", "/user").body)
        limiter = choose_limiter(arg, host, setting, scope)
        if scope.asked and limiter is not None:
            limiter.acquire()  # the GET /user just sent counts in the window too
        return limiter

    @property
    def limiter(self) -> RateLimiter | None:
        """The rate limiter every attempt takes a token of (None: no client-side limit)."""
        return self._attempts.limiter

    @property
    def pacer(self) -> Pacer | None:
        """The adaptive pacer (None with ``adaptive=False``)."""
        return self._attempts.pacer

    @property
    def reached(self) -> bool:
        """Has the host answered anything yet? (Until then a connection that cannot be
        made fails fast: :data:`~milekit.wire.retry.FIRST_CONTACT`.)"""
        return self._attempts.reached

    # -- identity ---------------------------------------------------------------------

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def __repr__(self) -> str:
        token = "********" if self._token is not None else "None"
        return f"Client(base_url={self.base_url!r}, token={token})"

    def close(self) -> None:
        """Close connections and the limiter's resources."""
        self.session.close()
        self._release()  # once: the limiter's resources, when this client made the limiter

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request --------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        retry: RetryPolicy | None = None,
        raw: bool = False,
    ) -> Response:
        """Send one request with retries; return the decoded answer or raise ``MileError``.

        >>> from milekit import Sandbox
        >>> with Sandbox(tasks=3) as sb, Client(sb.token, sb.url, limiter=None) as c:
        ...     c.request("GET", "/task/nope")
        Traceback (most recent call last):
        ...
        milekit.errors.NotFoundError: 404 Data not found (GET /api/v3/task/nope)

        A ``GET`` is sent again after a 429, any 5xx and a dropped or refused connection
        (reads are safe to repeat, note 32); a write only when the server provably did
        not apply it (429, 503 with ``Retry-After``, a connection never established).
        Retries stay within the policy's time budget; a 429 also holds back every other
        request of this client for the wait it asks for (note 33).
        """
        self._check_token(method, path)
        policy = retry or self.retry
        return self._attempts.send(method, self.url(path), params, json, policy, raw, Tries())

    def read_object(
        self,
        spec: registry.ResourceSpec,
        key: Any,
        *,
        path: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """One object of ``spec`` by id (or, with ``path``, by the keys that path names):
        the one place a detail path is filled in, read and unwrapped.

        >>> from milekit import Sandbox
        >>> with Sandbox(tasks=3) as sb, Client(sb.token, sb.url, limiter=None) as c:
        ...     hub = c.pages("hubs").__next__().rows[0]
        ...     c.read_object(registry.get("hubs"), hub["_id"])["name"] == hub["name"]
        True

        ``key`` is the id for ``spec.detail_path``, or a mapping of ``path``'s parameters
        (``{"email": ...}`` for ``/user/email/{email}``). An object whose answer leaves its
        id out gets the id it was read by. Raises :class:`~milekit.errors.NotFoundError`
        for an unknown id, :class:`~milekit.errors.ResponseError` when the answer holds
        no object.
        """
        template = path or spec.detail_path
        if not template:
            raise errors.UsageError(f"{spec.name} has no single-object read in the API")
        values = dict(key) if isinstance(key, Mapping) else {"id": key}
        try:
            url = fill_path(template, values)
        except ValueError as e:
            raise errors.UsageError(str(e)) from None
        body = self.request("GET", url, retry=retry).body
        doc = envelope.unwrap(body, spec.envelope_one or None)
        if not isinstance(doc, dict):
            raise errors.ResponseError(f"GET {url}: the answer holds no object ({doc!r:.80})")
        if "id" in values and doc.get(spec.id_field) is None:
            doc = {spec.id_field: str(values["id"]), **doc}
        return doc

    def concurrently(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        """``fn`` of every item on up to ``max_workers`` threads (within the rate limit),
        results in order; the first error is raised.

        >>> with Client("t", "http://127.0.0.1:9", limiter=None) as c:
        ...     c.concurrently(lambda x: x * 2, [1, 2, 3])
        [2, 4, 6]
        """
        if len(items) <= 1:
            return [fn(i) for i in items]
        workers = max(1, min(self.max_workers, len(items)))
        with read_pool(workers, "each") as pool:  # reads only: Ctrl-C does not wait
            return results([pool.submit(fn, i) for i in items])

    def _check_token(self, method: str, path: str) -> None:
        if self._token is None:
            raise credentials.no_token(self._wanted_profile, method, path)

    # -- lists ----------------------------------------------------------------------------

    def pages(
        self,
        resource: str | registry.ResourceSpec | Listing,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        on_page: Callable[[Page], None] | None = None,
        transform: Callable[[Page], Page] | None = None,
        parse: Callable[[Response, int], Page] | None = None,
        max_pages: int = MAX_PAGES,
        lookahead: int | None = LOOKAHEAD,
        resume: errors.IncompleteReadError | None = None,
        expect: int | None = None,
    ) -> Iterator[Page]:
        """Yield every page of a list, in page order: page 1, then once it tells
        ``last_page`` pages 2..N concurrently (``max_workers`` threads, within the rate
        limit), each asked for as ``page=N`` with the same filters (note 5). A page that
        still fails after its retries does not stop the others: every page that can be
        read is yielded, then :class:`~milekit.errors.IncompleteReadError` says which are
        missing (``resume=`` that error reads only those). The walk itself (its window, a
        list that grows while it is read, lists that do not say how many pages they have,
        the retry budget the pages share) is :class:`~milekit.wire.paging.Paging`'s, given
        this client's request path: every page is a GET with its retries and limiter.

        Args:
            resource: a registry name or listing.
            params: query parameters (already validated/encoded).
            limit: rows per page; default the resource's maximum (1000 for tasks).
            on_page: called with each page as it arrives (progress bars).
            transform: applied to each page in the thread that fetched it.
            parse: turns a raw answer (``body`` not decoded) into a page, in the fetching
                thread (the page then keeps the response without its bytes); default:
                decode JSON and unwrap the envelope.
            max_pages: a walk that goes on longer raises :class:`~milekit.errors.ResponseError`
                (a server that never answers a short page would otherwise loop forever).
            lookahead: how far fetching may run ahead of the oldest page not yet yielded.
            resume: an earlier read's error: fetch only the pages it missed.
            expect: the pages an earlier read of the list had: pages 2..``expect`` are
                asked for beside page 1 (the first answer then says how many there are).
        """
        walk = Paging(self._get, self.max_workers, self.retry.budget)
        hooks = PageHooks(on_page, transform, parse)
        yield from walk.pages(
            listing_of(resource), params, limit, hooks, max_pages, lookahead, resume, expect
        )

    def _get(self, path: str, params: Mapping[str, Any], raw: bool, tries: Tries) -> Response:
        """One page's GET, retried as the client's policy says (``tries.read``: its read)."""
        self._check_token("GET", path)
        return self._attempts.send("GET", self.url(path), params, None, self.retry, raw, tries)
