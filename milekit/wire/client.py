"""The one ``Client`` that owns the wire.

>>> from milekit import Client, Sandbox
>>> with Sandbox(tasks=30) as sb:
...     client = Client(token=sb.token, base_url=sb.url, limiter="process")
...     rows = [row for page in client.pages("tasks", {"status": "DONE"}) for row in page.rows]
...     client.close()
>>> all(r["status"] == "DONE" for r in rows)
True

Layers, outermost first::

    Client.request  -- retry loop (the rules: milekit.wire.retry.RetryPolicy): a read
       |              after 429, any 5xx and failed connections; jittered exponential
       |              backoff, Retry-After honoured within a cap
    requests.Session(auth=BearerAuth)   -- token through an auth object, never a raw header
       |
    MeasuredAdapter(RateLimiter)        -- every attempt takes a token (100 req/s per org)
       |
    urllib3 (max_retries=0: its own retries would bypass the limiter)

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

import errno
import hashlib
import logging
import math
import os
import random
import socket
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import orjson
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
)

from milekit import errors
from milekit._version import __version__
from milekit.types import registry
from milekit.types.registry import PAGE_ROWS, Listing, fill_path
from milekit.wire import credentials, envelope
from milekit.wire.auth import BearerAuth, Secret, redact, token_from_env
from milekit.wire.credentials import DEFAULT_PROFILE
from milekit.wire.pacing import Pacer
from milekit.wire.ratelimit import MILEAPP_PERIOD, MILEAPP_RATE, MeasuredAdapter, RateLimiter
from milekit.wire.retry import (
    DEFAULT_TIMEOUT,
    FIRST_CONTACT,
    IDEMPOTENT,
    NO_RETRY,
    RetryPolicy,
    parse_retry_after,
)

T = TypeVar("T")

log = logging.getLogger("milekit")

DEFAULT_BASE_URL = "https://apiweb.mile.app/api/v3"
#: pages a walk may take before it is taken for a server that ignores ``page``
MAX_PAGES = 100_000


@dataclass
class Response:
    """A decoded answer: HTTP status, JSON body, raw bytes, elapsed seconds."""

    status: int
    body: Any
    content: bytes
    headers: Mapping[str, str]
    elapsed: float
    attempts: int = 1


@dataclass
class Page:
    """One page of a list: its rows and where it sits.

    ``has_more`` is the answer's own word on whether another page follows (the gallery's
    boolean ``last_page``); ``None`` when it only says ``last_page``/``total`` or nothing.

    >>> Page(1, [{"_id": "a"}], None, None).count
    1
    """

    number: int
    rows: list[dict[str, Any]]
    total: int | None
    last_page: int | None
    response: Response | None = field(default=None, repr=False)
    table: Any = field(default=None, repr=False)  #: the typed form, once parsed
    cells: Any = field(default=None, repr=False)  #: Python values of its nested columns
    has_more: bool | None = None

    @property
    def count(self) -> int:
        """Rows on this page: the parsed table's when there is one (parsing empties
        ``rows``), else the raw rows'."""
        if self.table is not None:
            return int(self.table.num_rows)
        return len(self.rows)

    def ids(self, id_field: str) -> tuple[Any, ...] | None:
        """The ids on this page in order (``None`` when the rows carry none)."""
        t = self.table
        if t is not None:
            if id_field not in t.column_names:
                return None
            return tuple(t.column(id_field).to_pylist())
        if not self.rows or any(id_field not in r for r in self.rows):
            return None
        return tuple(r[id_field] for r in self.rows)


class PagingWarning(errors.MileWarning):
    """The list may be incomplete: the server answered the same page again."""


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


#: where MileApp's API lives under a host (a base URL without it answers 404 everywhere)
API_PATH = "/api/v3"
#: ``"shared"``/``"sqlite"``, ``"process"``, a ``redis://``/``rediss://`` URL, a limiter, None
LimiterArg = RateLimiter | str | None
#: the environment variable that picks the limiter when the code does not
LIMITER_ENV = "MILEKIT_LIMITER"


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
    ) -> None:
        self.profile: str | None = None  #: the profile whose remembered token is used
        self.token_source = "argument"  #: where the token came from (never the token)
        self._profile_limiter: str | None = None
        self._wanted_profile = DEFAULT_PROFILE
        self._token, remembered_url = self._find_token(token, profile)
        url = base_url or remembered_url or os.environ.get("MILEAPP_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise errors.UsageError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        self.timeout = _timeouts(timeout)
        self.retry = RetryPolicy() if retry is True else NO_RETRY if retry is False else retry
        self.max_workers = max_workers
        if clock is None and sleep is not time.sleep:
            virtual = _SleptClock(sleep)
            sleep, clock = virtual.sleep, virtual.time
        self._sleep = sleep
        self._clock = clock or time.monotonic
        self._gate = _Backoff(self.retry)
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.stats = Stats()
        self._stats_lock = threading.Lock()
        #: has the host answered anything yet (until then a connection that cannot be made
        #: fails fast: :data:`FIRST_CONTACT`)
        self.reached = False
        #: called as ``fn(attempt, delay, why)`` before each retry's wait (progress bars)
        self.on_retry: list[Callable[[int, float, str], None]] = []
        self._own_limiter = not isinstance(limiter, RateLimiter)
        self.limiter: RateLimiter | None = self._limiter(limiter, parts.netloc)
        self.session = self._session(max(10, max_workers + 4))
        ceiling = (
            self.limiter.limit / self.limiter.period
            if self.limiter
            else MILEAPP_RATE / MILEAPP_PERIOD
        )
        #: the adaptive pacer (None with ``adaptive=False``)
        self.pacer = Pacer(ceiling, clock=self._clock, sleep=self._sleep) if adaptive else None

    def _limiter(self, limiter: LimiterArg, host: str) -> RateLimiter | None:
        """The limiter the argument (or ``MILEKIT_LIMITER``) names."""
        if limiter == "default":
            env = os.environ.get(LIMITER_ENV, "").strip()
            limiter = env or self._profile_limiter or "shared"
        if limiter is None or isinstance(limiter, RateLimiter):
            return limiter
        if limiter in ("shared", "sqlite"):
            return RateLimiter.shared(host)
        if limiter == "process":
            return RateLimiter()
        if isinstance(limiter, str) and "://" in limiter:
            looked_up: list[bool] = []
            shared = RateLimiter.redis(
                limiter, lambda conn: f"{host}:{self._organization_id(conn, host, looked_up)}"
            )
            if looked_up:  # the GET /user just sent counts in the window too
                shared.acquire()
            return shared
        raise errors.UsageError(
            "limiter is 'shared' (or 'sqlite'), 'process', a redis:// or rediss:// URL, a "
            f"RateLimiter or None; got {limiter!r}"
        )

    def _organization_id(self, conn: Any, host: str, looked_up: list[bool]) -> str:
        """The organisation the token belongs to: the key of a Redis window. Kept in that
        Redis for a day under a hash of the token (never the token); the first machine to
        need it asks (``GET /user``, one request: the others wait for its answer)."""
        if self._token is None:
            raise errors.UsageError(
                "a Redis-shared limit is per organisation: the client needs a token to learn "
                "which (MILEAPP_TOKEN, token=, or milekit.login())"
            )
        digest = hashlib.sha256(self._token.reveal().encode()).hexdigest()[:32]
        cache = f"milekit:organization:{host}:{digest}"
        with conn.lock(f"{cache}:lock", timeout=60, blocking_timeout=90):
            known = conn.get(cache)
            if known:
                return str(known.decode())
            org = self._ask_organization()
            conn.set(cache, org, ex=86_400)
            looked_up.append(True)
            return org

    def _ask_organization(self) -> str:
        assert self._token is not None
        try:
            with requests.Session() as s:
                s.trust_env = False
                r = s.get(self.url("/user"), auth=BearerAuth(self._token), timeout=self.timeout)
            self.reached = True
        except requests.RequestException as e:
            raise errors.TransportError(f"GET /user (the organisation): {redact(str(e))}") from None
        if r.status_code >= 400:
            raise self._error(r, "GET", urlsplit(self.url("/user")).path)
        org = organization_of(_decode_lenient(r))
        if org is None:
            raise errors.ResponseError("GET /user did not say which organisation the token is of")
        return org

    def _find_token(
        self, token: str | Secret | None, profile: str | None
    ) -> tuple[Secret | None, str | None]:
        """The token (the argument, else ``MILEAPP_TOKEN``, else a remembered profile's) and
        the profile's remembered base URL; says where it came from in ``token_source``."""
        if isinstance(token, str):
            token = Secret(token)
        if token is None and profile is None:
            token = token_from_env()
            self.token_source = "MILEAPP_TOKEN"
        if token is not None:
            return token, None
        name = credentials.profile_name(profile)
        self._wanted_profile = name
        cred = credentials.load(name)
        if cred is None:
            self.token_source = "none"
            return None, None
        self.profile = name
        self.token_source = f"profile {name!r}"
        self._profile_limiter = cred.limiter
        return cred.token, cred.base_url

    def _session(self, pool: int) -> requests.Session:
        """The HTTP session: the token as bearer auth, every connection through the limiter
        (urllib3's own retries off: the retry loop above takes a token per attempt)."""
        session = requests.Session()
        session.trust_env = False  # no proxies/netrc from the environment in our way
        session.headers.update(
            {"Accept": "application/json", "User-Agent": f"milekit/{__version__}"}
        )
        if self._token is not None:
            session.auth = BearerAuth(self._token)
        adapter: requests.adapters.HTTPAdapter
        if self.limiter is not None:
            adapter = MeasuredAdapter(
                limiter=_Counted(self.limiter, self),  # type: ignore[arg-type]  # try_acquire
                per_host=False,
                limit_statuses=(),
                max_retries=0,
                pool_connections=4,
                pool_maxsize=pool,
            )
        else:
            adapter = requests.adapters.HTTPAdapter(
                max_retries=0, pool_connections=4, pool_maxsize=pool
            )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

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
        if self._own_limiter and self.limiter is not None:
            self.limiter.close()

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
        return self._send(method, path, params, json, retry or self.retry, raw, _Tries())

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        policy: RetryPolicy,
        raw: bool,
        tries: _Tries,
    ) -> Response:
        """:meth:`request`'s retry loop (``tries.read``: the read it fetches a page of)."""
        self._check_token(method, path)
        method = method.upper()
        data, headers = _body(json)
        url = self.url(path)
        urlpath = urlsplit(url).path
        while True:
            tries.attempt += 1
            tries.spent += self._gate.wait(self._clock, self._sleep, self.stats, self._stats_lock)
            tries.spent += self._paced()
            sent_at, t0 = self._clock(), time.monotonic()
            try:
                r = self.session.request(
                    method, url, params=params, data=data, headers=headers,
                    timeout=self.timeout, stream=True,
                )  # fmt: skip
                _read_body(r)
            except requests.RequestException as e:
                took = time.monotonic() - t0
                tries.spent += took
                tries.failed(max(sent_at, self._gate.until))
                self._unanswered_retry(e, method, urlpath, policy, tries, took)
                continue  # it waited for the retry (or raised)
            elapsed = time.monotonic() - t0
            tries.spent += elapsed
            self._count(r.status_code)
            if r.status_code < 400:
                tries.answered(self._clock())
                self._gate.clear()
                if self.pacer is not None:
                    self.pacer.succeeded()
                body = None if raw else _decode(r)
                return Response(r.status_code, body, r.content, r.headers, elapsed, tries.attempt)
            if self._answered_retry(r, method, urlpath, policy, tries, sent_at):
                continue

    def _unanswered_retry(
        self,
        e: requests.RequestException,
        method: str,
        urlpath: str,
        policy: RetryPolicy,
        tries: _Tries,
        took: float,
    ) -> None:
        """No answer: return after waiting for the retry, else raise the error. While
        the host has never answered, a connection that cannot be made is retried only as
        :data:`FIRST_CONTACT` allows, then :class:`~milekit.errors.ConnectError`."""
        host, port = self._host_port()
        reason = None if self.reached else _unreachable(e, self.timeout[0], host)
        if reason is not None:
            why = f"{method} {urlpath}: could not connect to {host}:{port} ({reason})"
            # the next attempt is expected to take as long as this one: a connect timeout
            # is not tried again unless it fits in the budget too
            if self._retry(_first_contact(policy), tries, None, why, expect=took):
                return
            raise errors.ConnectError(
                host, port, reason, attempts=tries.attempt, elapsed=tries.spent,
                method=method, url=urlpath,
            ) from None  # fmt: skip
        sent = _may_have_been_sent(e)
        exc = errors.TransportError(
            f"{type(e).__name__}: {redact(str(e))}", method=method, url=urlpath, sent=sent
        )
        if (method in IDEMPOTENT or not sent) and self._retry(
            policy, tries, None, f"{method} {urlpath}: {exc.message}"
        ):
            return
        raise exc from None

    def _host_port(self) -> tuple[str, int]:
        """The host and port requests go to (never the URL's user or password)."""
        parts = urlsplit(self.base_url)
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)

    def _answered_retry(
        self,
        r: requests.Response,
        method: str,
        urlpath: str,
        policy: RetryPolicy,
        tries: _Tries,
        sent_at: float,
    ) -> bool:
        """An error answer: True after waiting for the retry, else the error is raised."""
        err = self._error(r, method, urlpath)
        if r.status_code >= 500:
            tries.failed(max(sent_at, self._gate.until))  # a rate-limit hold does not count
        else:  # a 429 too: the server is there, it only asks us to wait
            tries.answered(self._clock())
        if r.status_code == 429:
            self._gate.hold(self._clock(), err.retry_after, self._rng_delay)
            if self.pacer is not None and not (self.limiter and self.limiter.was_full()):
                self.pacer.throttled()  # someone else spent the budget: slow down
        if policy.retryable(method, r.status_code, err.retry_after) and self._retry(
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
        with ThreadPoolExecutor(workers, thread_name_prefix="milekit-each") as pool:
            return list(pool.map(fn, items))

    def _check_token(self, method: str, path: str) -> None:
        if self._token is not None:
            return
        wanted = self._wanted_profile
        flag = "" if wanted == DEFAULT_PROFILE else f" --profile {wanted}"
        arg = "" if wanted == DEFAULT_PROFILE else f"profile={wanted!r}"
        raise errors.AuthError(
            401,
            f"no token: pass token=, set MILEAPP_TOKEN, or sign in with "
            f"milekit.login({arg}) or `milekit login{flag}`",
            method=method,
            url=path,
        )

    def _count(self, status: int) -> None:
        self.reached = True  # the host answers: from now on its failures are patient
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.count(status)
            if status == 429:
                self.stats.rate_limited += 1

    def _error(self, r: requests.Response, method: str, urlpath: str) -> errors.ApiError:
        retry_after = parse_retry_after(r.headers.get("Retry-After"))
        body = _decode_lenient(r)
        err = errors.from_response(
            r.status_code, body, method=method, url=urlpath, retry_after=retry_after
        )
        if r.status_code == 404 and not urlsplit(self.base_url).path.endswith(API_PATH):
            err.add_note(
                f"the base URL {self.base_url} does not end in {API_PATH}: MileApp's API is "
                f"under it (did you mean {self.base_url}{API_PATH}?)"
            )
        return err

    def _rng_delay(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def _retry(
        self,
        policy: RetryPolicy,
        tries: _Tries,
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
        now = self._clock()
        held = self._gate.remaining(now)  # a 429's pause, waited before sending
        if not policy.retries(tries.attempt, tries.spent + expect, max(delay, held)):
            return False
        if tries.read is not None and not tries.read.allows(now, delay):
            return False  # the read's server has not answered for its whole budget
        own = delay if delay > held else 0.0
        with self._stats_lock:
            self.stats.retries += 1
            self.stats.retry_wait += own
        log.info(
            "retrying in %.2fs (attempt %d): %s", max(delay, held), tries.attempt + 1, redact(why)
        )
        for watch in list(self.on_retry):
            watch(tries.attempt + 1, max(delay, held), redact(why))
        if own > 0:
            self._sleep(own)
            tries.spent += own
        return True

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
        lookahead: int | None = 256,
        resume: errors.IncompleteReadError | None = None,
    ) -> Iterator[Page]:
        """Yield every page of a list, in page order.

        Page 1 is fetched first; once it tells ``last_page``, pages 2..N are fetched
        concurrently (``max_workers`` threads) within the rate limit, so a large read runs
        at the limit rather than at one page per round trip. A page that is slow or being
        retried does not hold the others back: fetching goes on up to ``lookahead`` pages
        past it (``None``: no bound; the pages wait, in memory, to be yielded in order).
        The next page is always built from ``page=N`` (the API's ``*_page_url`` values are
        unreliable, note 5), and every request carries the same filters. When a later page
        says the list has grown (rows added during the read shift offset pages), the new
        last pages are read too, so no row that existed when the read began is missed;
        the repeats go by id.

        A page that still fails after its retries does not stop the others: every page
        that can be read is yielded, then :class:`~milekit.errors.IncompleteReadError`
        says which pages are missing (``resume=`` that error reads only those). The pages
        share one retry budget (the client's ``RetryPolicy.budget``): once none has been
        answered for that long they stop retrying, and once :data:`STALL_PAGES` pages in a
        row got no answer no new page is started, so a read whose server has gone away
        ends about ``budget`` seconds after its first failure, however long the list.

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

        Lists whose answer does not say how many pages there are (plain arrays, the
        gallery, Elasticsearch hits with a smaller page than asked for) are walked one page
        at a time until a short or empty page, the answer's own "no more" (the gallery's
        ``last_page: true``), ``total`` rows, or a page that repeats the previous page's
        ids (a server that ignores ``page``: :class:`PagingWarning` when rows may be
        missing).
        """
        listing = listing_of(resource)
        base = dict(params or {})
        size = min(limit or listing.max_limit, listing.max_limit)
        if listing.paginated:
            base[listing.limit_param] = size  # ``pageSize`` for activities
        deadline = _ReadDeadline(listing.name, self.retry.budget)
        fetch = self._fetcher(listing, base, parse, transform, on_page, deadline)
        if resume is not None:
            yield from self._resumed(listing, fetch, resume, size, max_pages, lookahead)
            return
        first = fetch(1)
        yield first
        if not listing.paginated:
            return  # the endpoint takes no page parameter: one answer holds everything
        last = _page_count(first, size)
        if last is None:
            yield from self._walk(listing, first, fetch, size, max_pages)
            return
        _check_pages(listing, last, max_pages)
        todo = list(range(2, last + 1))
        yield from self._many(listing, fetch, todo, last, max_pages, lookahead)

    def _fetcher(
        self,
        listing: Listing,
        base: dict[str, Any],
        parse: Callable[[Response, int], Page] | None,
        transform: Callable[[Page], Page] | None,
        on_page: Callable[[Page], None] | None,
        deadline: _ReadDeadline,
    ) -> _Fetch:
        # Parsing is CPU work: as many at a time as there are cores, so the fetching
        # threads do not thrash the GIL and the caches while they wait on the wire.
        parsing = threading.BoundedSemaphore(CPU_WORKERS)

        def fetch(n: int) -> Page:
            q = dict(base)
            if listing.paginated:
                q[listing.page_param] = n
            tries = _Tries(read=deadline, page=n)
            resp = self._send("GET", listing.path, q, None, self.retry, parse is not None, tries)
            with parsing:
                page = parse(resp, n) if parse else envelope.list_page(resp.body, listing, n)
            # the raw body is parsed now: a 200-page read would otherwise hold every page's
            # bytes (over 200 MB for 200k tasks) until the frame is built
            page.response = replace(resp, content=b"") if parse else resp
            if transform is not None:
                page = transform(page)
            if on_page is not None:
                on_page(page)
            return page

        return _Fetch(fetch, deadline)

    def _resumed(
        self,
        listing: Listing,
        fetch: _Fetch,
        resume: errors.IncompleteReadError,
        size: int,
        max_pages: int,
        lookahead: int | None,
    ) -> Iterator[Page]:
        """The pages an interrupted read missed (and any the list grew by since)."""
        if resume.last_page is None:  # a walked list: walk on from the page that failed
            page = _fetch_or_incomplete(listing, fetch, resume.missing[0], None, resume.seen)
            yield page
            yield from self._walk(listing, page, fetch, size, max_pages, seen=resume.seen)
            return
        yield from self._many(
            listing, fetch, list(resume.missing), resume.last_page, max_pages, lookahead
        )

    def _many(
        self,
        listing: Listing,
        fetch: _Fetch,
        todo: list[int],
        last: int,
        max_pages: int,
        lookahead: int | None,
    ) -> Iterator[Page]:
        """Pages ``todo`` fetched concurrently, yielded in order; then the missing ones."""
        if not todo:
            return
        workers = max(1, min(self.max_workers, len(todo)))
        window = _Window(todo, last, workers, lookahead, fetch.deadline)
        failures: dict[int, errors.MileError] = {}
        with ThreadPoolExecutor(window.workers, thread_name_prefix="milekit-page") as pool:
            try:
                while (n := window.head()) is not None:
                    window.submit(pool, fetch)
                    page = window.take(n)
                    if page is not None:
                        yield page
                    elif n in failures:
                        window.skip()
                    elif not window.running:  # stalled: the server is gone, start no page
                        failures.update(window.abandon(listing))
                    else:
                        for m, got in window.wait():
                            if isinstance(got, errors.MileError):
                                failures[m] = got
                            elif got.last_page is not None and got.last_page > window.last:
                                # rows were added while we read: offset pages shifted, and
                                # the ones pushed past the old last page are read too
                                window.grow(_check_pages(listing, got.last_page, max_pages))
            finally:
                window.cancel()
        if failures:
            raise errors.IncompleteReadError(listing.name, failures, window.last)

    @staticmethod
    def _walk(
        listing: Listing,
        first: Page,
        fetch: _Fetch,
        size: int,
        max_pages: int,
        seen: int = 0,
    ) -> Iterator[Page]:
        """Pages after ``first``, one at a time, for lists that do not say how many there
        are (``seen``: rows read before ``first``, when a walk is resumed)."""
        page = first
        seen += page.count
        first_ids = prev_ids = page.ids(listing.id_field)
        while _more(page, seen, size):
            if page.number >= max_pages:
                raise errors.ResponseError(
                    f"{listing.name}: still full pages after max_pages={max_pages}; "
                    "the server may ignore the page parameter"
                )
            page = _fetch_or_incomplete(listing, fetch, page.number + 1, None, seen)
            ids = page.ids(listing.id_field)
            if ids is not None and ids and ids == prev_ids:
                # the server ignores ``page``: this is the previous page again
                if len(ids) == size and first_ids is not None and len(first_ids) == size:
                    warnings.warn(
                        f"{listing.name}: page {page.number} repeats page {page.number - 1}; "
                        f"the server seems to ignore the page parameter, rows after the "
                        f"first {size} may be missing",
                        PagingWarning,
                        stacklevel=4,
                    )
                return
            prev_ids = ids
            seen += page.count
            yield page


class _Window:
    """The pages of a concurrent read: which to submit, which are in flight, which are
    done and waiting to be yielded in order (at most ``lookahead`` past the oldest)."""

    def __init__(
        self,
        todo: list[int],
        last: int,
        workers: int,
        lookahead: int | None,
        deadline: _ReadDeadline,
    ) -> None:
        self.queue = deque(todo)  #: not yet submitted, ascending
        self.order = deque(todo)  #: not yet yielded (nor skipped), ascending
        self.last = last
        self.workers = workers
        self.lookahead = lookahead
        self.deadline = deadline
        self.running: dict[Future[Page], int] = {}
        self.done: dict[int, Page] = {}

    def head(self) -> int | None:
        return self.order[0] if self.order else None

    def submit(self, pool: ThreadPoolExecutor, fetch: Callable[[int], Page]) -> None:
        head = self.order[0]
        while self.queue and len(self.running) < self.workers * 2:
            if self.lookahead is not None and self.queue[0] >= head + self.lookahead:
                return
            if self.deadline.stalled:  # pages in a row got no answer: wait for those
                return
            n = self.queue.popleft()
            self.running[pool.submit(fetch, n)] = n

    def take(self, n: int) -> Page | None:
        page = self.done.pop(n, None)
        if page is not None:
            self.order.popleft()
        return page

    def skip(self) -> None:
        self.order.popleft()

    def wait(self) -> Iterator[tuple[int, Page | errors.MileError]]:
        """The pages that finish next: each page, or the error that ended it."""
        finished, _ = wait(self.running, return_when=FIRST_COMPLETED)
        for f in finished:
            n = self.running.pop(f)
            try:
                page = f.result()
            except errors.MileError as e:
                yield n, e
                continue
            self.done[n] = page
            yield n, page

    def grow(self, last: int) -> None:
        new = range(self.last + 1, last + 1)
        self.queue.extend(new)
        self.order.extend(new)
        self.last = last

    def abandon(self, listing: Listing) -> dict[int, errors.MileError]:
        """The pages not yet started, each with the error that says why it never will."""
        gone = list(self.queue)
        self.queue.clear()
        log.warning(
            "%s: %d pages in a row got no answer, and none since: %d pages not requested "
            "(resume=err reads them)", listing.name, STALL_PAGES, len(gone),
        )  # fmt: skip
        err = errors.TransportError(
            f"not requested: {STALL_PAGES} pages in a row got no answer (a 5xx or none at "
            "all) and nothing answered until they gave up; the server seems gone",
            method="GET",
            url=listing.path,
            sent=False,
        )
        return dict.fromkeys(gone, err)

    def cancel(self) -> None:
        for f in self.running:
            f.cancel()


@dataclass(frozen=True)
class _Fetch:
    """How a read gets page ``n`` (call it), and the deadline its pages share."""

    get: Callable[[int], Page]
    deadline: _ReadDeadline

    def __call__(self, n: int) -> Page:
        return self.get(n)


def _page_count(first: Page, size: int) -> int | None:
    """How many pages the list has, from its first page (None: walk it)."""
    last = first.last_page
    if last is None and first.has_more is None and first.total is not None:
        # Elasticsearch hits tell the total only: the page count follows from it when
        # the server honoured the page size (else walk)
        if first.count >= size:
            last = max(1, math.ceil(first.total / size))
    return last


class _Counted:
    """The client's limiter as the HTTP adapter sees it: each wait for a token is added
    to the client's ``stats.limiter_wait`` (a limiter may serve several clients)."""

    def __init__(self, limiter: RateLimiter, client: Client) -> None:
        self.limiter = limiter
        self.client = client

    def try_acquire(
        self, name: str = "", weight: int = 1, blocking: bool = True, timeout: float = -1
    ) -> bool:
        if not blocking:
            return self.limiter.try_acquire(name, weight, blocking, timeout)
        waited = self.limiter.acquire()
        if waited:
            with self.client._stats_lock:
                self.client.stats.limiter_wait += waited
        return True


def organization_of(body: Any) -> str | None:
    """The organisation id in a ``GET /user`` answer (its spellings: ``organization_id``,
    ``organizationId``, ``organization._id``; an envelope's ``data`` looked into).

    >>> organization_of({"_id": "u", "organization_id": "o1"})
    'o1'
    >>> organization_of({"data": {"organization": {"_id": "o2"}}})
    'o2'
    """
    me = body.get(PAGE_ROWS, body) if isinstance(body, dict) else None
    if not isinstance(me, dict):
        return None
    for key in ("organization_id", "organizationId"):
        if isinstance(me.get(key), str) and me[key]:
            return str(me[key])
    org = me.get("organization")
    if isinstance(org, dict):
        found = org.get("_id") or org.get("id")
        return str(found) if found else None
    return None


def listing_of(resource: str | registry.ResourceSpec | Listing) -> Listing:
    """The list endpoint of a registry name, a resource spec, or a listing itself.

    >>> listing_of("hubs").path
    '/hubs'
    """
    if isinstance(resource, Listing):
        return resource
    spec = registry.get(resource) if isinstance(resource, str) else resource
    return spec.listing


def _check_pages(listing: Listing, pages: int, max_pages: int) -> int:
    if pages > max_pages:
        raise errors.ResponseError(
            f"{listing.name}: the answer says {pages} pages, more than max_pages={max_pages}"
        )
    return pages


def _fetch_or_incomplete(
    listing: Listing,
    fetch: Callable[[int], Page],
    n: int,
    last: int | None,
    seen: int,
) -> Page:
    """Page ``n`` of a walk; a failure ends the walk with what it read so far."""
    try:
        return fetch(n)
    except errors.MileError as e:
        raise errors.IncompleteReadError(listing.name, {n: e}, last, seen=seen) from e


@dataclass
class _Tries:
    """One request's attempts so far, and the seconds they took (its own waits included;
    measured per request, so threads waiting at once do not spend each other's budget);
    for a page of a read, the read's shared deadline and the page's number."""

    attempt: int = 0
    spent: float = 0.0
    read: _ReadDeadline | None = None
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


class _ReadDeadline:
    """One read's retry budget, shared by all its pages (not a budget per page).

    The read keeps retrying its pages while the server answered (anything but a 5xx: a
    429 is an answer too, a rate-limit hold is not the server going away) within the last
    ``budget`` seconds; a failure then starts the clock, any answer stops it. Once
    :data:`STALL_PAGES` pages in a row failed with no answer since, no new page is
    started: the pages in flight retry until the deadline, and if the server is back by
    then the read goes on, else it ends with what it received.

    >>> d = _ReadDeadline("tasks", budget=3.0)
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


class _Backoff:
    """The client-wide pause after a 429 (note 33): every request of the client waits it
    out before it is sent, not only the one that was refused.

    The pause is the answer's ``Retry-After`` (plus jitter), else an exponential wait
    that grows with the 429s received in a row and is reset by any success.

    >>> from milekit.wire.ratelimit import FakeClock
    >>> clock, gate = FakeClock(), _Backoff(RetryPolicy(jitter=0))
    >>> gate.hold(clock.time(), 2.0, lambda lo, hi: hi)
    >>> gate.remaining(clock.time()), gate.remaining(clock.time() + 5)
    (2.0, 0.0)
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._until = 0.0
        self._in_a_row = 0
        self._lock = threading.Lock()

    def hold(
        self, now: float, retry_after: float | None, uniform: Callable[[float, float], float]
    ) -> None:
        p = self.policy
        with self._lock:
            self._in_a_row += 1
            if retry_after is not None:
                wait = retry_after + uniform(0, p.jitter)
            else:
                base = min(p.max_backoff, p.backoff * 2 ** (self._in_a_row - 1))
                wait = uniform(base / 2, base) + uniform(0, p.jitter)
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


class _SleptClock:
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


def _body(json: Any) -> tuple[bytes | None, dict[str, str]]:
    """A request's JSON body as bytes, and its headers."""
    if json is None:
        return None, {}
    try:
        data = orjson.dumps(json, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as e:
        raise errors.UsageError(f"request body is not JSON-serialisable: {e}") from None
    return data, {"Content-Type": "application/json"}


def _more(page: Page, seen: int, size: int) -> bool:
    """Does another page follow ``page`` (a list that does not say how many pages)?"""
    if page.count == 0:
        return False
    if page.has_more is not None:
        return page.has_more
    if page.total is not None:
        return seen < page.total
    return page.count >= size


#: CPU-bound work at a time (page parsing, column conversion): one per core, at most 4
CPU_WORKERS = max(
    1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
)


def _read_body(r: requests.Response) -> None:
    """Read the whole body in one call (requests reads 10 KB chunks, each a GIL round trip
    that stalls behind the parsing threads); the connection goes back to the pool."""
    try:
        content = r.raw.read(decode_content=True)
    except (HTTPError, OSError) as e:
        r.close()
        raise requests.exceptions.ConnectionError(e, response=r) from e
    r._content = content  # what requests' own .content would have cached
    r._content_consumed = True  # type: ignore[attr-defined]


def _timeouts(timeout: Any) -> tuple[float, float]:
    """``(connect, read)`` seconds, checked.

    >>> _timeouts((3, 60))
    (3.0, 60.0)
    """
    ok = isinstance(timeout, tuple | list) and len(timeout) == 2
    if ok and all(isinstance(t, int | float) and not isinstance(t, bool) for t in timeout):
        if all(0 < t < math.inf for t in timeout):
            return float(timeout[0]), float(timeout[1])
    raise errors.UsageError(
        f"timeout is (connect, read) seconds, two positive numbers; got {timeout!r}"
    )


def _first_contact(policy: RetryPolicy) -> RetryPolicy:
    """:data:`FIRST_CONTACT`, within the client's own policy (``retry=False``: once)."""
    cap = FIRST_CONTACT.attempts or 1
    attempts = cap if policy.attempts is None else min(policy.attempts, cap)
    budget = min(policy.budget, FIRST_CONTACT.budget)
    return replace(FIRST_CONTACT, attempts=attempts, budget=budget)


#: what the errno of a connection that could not be made means, in words
_CONNECT_ERRNO = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "the connection timed out",
}
#: resolver answers that say the name does not exist (not a resolver that failed)
_NO_SUCH_NAME = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


def _unreachable(e: requests.RequestException, connect: float, host: str) -> str | None:
    """Why no connection could be made, in words (None: one was, the failure came later).

    >>> _unreachable(requests.exceptions.ConnectTimeout(), 5.0, "h")
    'no answer to the connection within 5 s'
    >>> _unreachable(requests.exceptions.ReadTimeout(), 5.0, "h") is None
    True
    """
    inner = e.args[0] if e.args else None
    reason = getattr(inner, "reason", inner)
    cause = getattr(reason, "__cause__", None)
    if isinstance(e, requests.exceptions.ConnectTimeout) or (
        isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError)
    ):  # urllib3's NewConnectionError is a ConnectTimeoutError too
        return f"no answer to the connection within {connect:g} s"
    if not isinstance(e, requests.exceptions.ConnectionError):
        return None
    if isinstance(reason, NameResolutionError):
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_NAME:
            return f"the name {host} does not resolve"
        said = cause.strerror if isinstance(cause, OSError) and cause.strerror else "failed"
        return f"the name {host} could not be looked up: {said}"
    if not isinstance(reason, NewConnectionError):
        return None
    if isinstance(cause, OSError) and cause.errno in _CONNECT_ERRNO:
        return _CONNECT_ERRNO[cause.errno]
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return "the connection could not be made"


def _may_have_been_sent(e: requests.RequestException) -> bool:
    """False only when the connection was never established (a retry is then safe)."""
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(e, requests.exceptions.ConnectionError):
        reason = getattr(e.args[0], "reason", None) if e.args else None
        if isinstance(reason, NewConnectionError | ConnectTimeoutError):
            return False
        if isinstance(e.args[0] if e.args else None, NewConnectionError):
            return False
    return True


def _decode(r: requests.Response) -> Any:
    if not r.content:
        return None
    try:
        return orjson.loads(r.content)
    except orjson.JSONDecodeError:
        snippet = redact(r.text[:200])
        raise errors.ResponseError(f"{r.status_code} answer is not JSON: {snippet!r}") from None


def _decode_lenient(r: requests.Response) -> Any:
    try:
        return orjson.loads(r.content) if r.content else None
    except orjson.JSONDecodeError:
        return redact(r.text[:300])


def estimate_seconds(requests_count: int, limiter: RateLimiter | None) -> float:
    """Lower bound of the time ``requests_count`` requests take under ``limiter``.

    >>> estimate_seconds(250, RateLimiter(100, 1.0))
    2.0
    """
    if limiter is None or requests_count <= limiter.limit:
        return 0.0
    return math.floor((requests_count - 1) / limiter.limit) * limiter.period
