"""The transport: the requests Session the client sends through, and what it reads
back (the body, the error an answer maps to, why a connection failed).

>>> session = new_session(None, default_transport(pool=4))
>>> type(session.get_adapter("https://apiweb.mile.app")).__name__
'MeasuredAdapter'

The transport is a seam: ``Client(transport=...)`` mounts any ``requests`` adapter (a
``requests.adapters.BaseAdapter``) on the session instead of :func:`default_transport`,
the way httpx mounts a transport: tests and the sandbox can watch or reroute every
request. The rate limiter wraps whatever is mounted (:class:`LimitedTransport`:
requests-ratelimiter's ``LimiterMixin`` takes a token before each send), and the client's
retries and error mapping stay above both; urllib3's own retries are off in the default
(they would bypass the limiter), and its connections tell the limiter when each request
has been written to its socket (:class:`~milekit.wire.ratelimit.MeasuredAdapter`).
"""

from __future__ import annotations

import errno
import math
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests_ratelimiter import LimiterMixin
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
)

from milekit import errors
from milekit._version import __version__
from milekit.redaction import redact
from milekit.wire.auth import BearerAuth, Secret
from milekit.wire.ratelimit import MeasuredAdapter, RateLimiter
from milekit.wire.retry import parse_retry_after

__all__ = [
    "API_PATH",
    "LimitedTransport",
    "decode",
    "decode_lenient",
    "default_transport",
    "error_of",
    "host_port",
    "json_body",
    "may_have_been_sent",
    "new_session",
    "read_body",
    "timeouts",
    "unreachable",
]

#: where MileApp's API lives under a host (a base URL without it answers 404 everywhere)
API_PATH = "/api/v3"


def default_transport(pool: int) -> requests.adapters.HTTPAdapter:
    """The adapter a client mounts unless given one: ``pool`` connections per host, no
    retries of its own, connections that report to the limiter when a request leaves."""
    return MeasuredAdapter(max_retries=0, pool_connections=4, pool_maxsize=pool)


class _Forward(requests.adapters.BaseAdapter):
    """An adapter that hands every request to another (the mounted transport)."""

    def __init__(self, inner: requests.adapters.BaseAdapter) -> None:
        super().__init__()
        self.inner = inner

    def send(  # type: ignore[override]  # requests passes its options by keyword
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()


class _Metered:
    """``limiter`` as requests-ratelimiter asks for it (``try_acquire``), telling
    ``on_wait`` how long each token took."""

    def __init__(self, limiter: RateLimiter, on_wait: Callable[[float], None]) -> None:
        self.limiter, self.on_wait = limiter, on_wait

    def try_acquire(self, name: str = "", weight: int = 1, **kwargs: Any) -> bool:
        waited = self.limiter.acquire()
        if waited:
            self.on_wait(waited)
        return True


class LimitedTransport(LimiterMixin, _Forward):  # type: ignore[misc]
    """``inner`` behind the rate limiter: requests-ratelimiter's ``LimiterMixin`` takes a
    token of ``limiter`` before every request (a retry is a request: it takes one too),
    then ``inner`` sends it. One window for the whole client (not per host), and a 429
    does not fill it (the client's pause and pacer answer those).

    >>> import time
    >>> from milekit.wire.ratelimit import RateLimiter
    >>> waits = []
    >>> limiter = RateLimiter(5, 1.0, clock=time.monotonic)
    >>> t = LimitedTransport(default_transport(pool=2), limiter, waits.append)
    >>> type(t.inner).__name__, t.per_host, t.limit_statuses
    ('MeasuredAdapter', False, ())
    """

    def __init__(
        self,
        inner: requests.adapters.BaseAdapter,
        limiter: RateLimiter,
        on_wait: Callable[[float], None] = lambda _: None,
    ) -> None:
        metered: Any = _Metered(limiter, on_wait)  # duck-types pyrate_limiter.Limiter
        super().__init__(limiter=metered, per_host=False, limit_statuses=(), inner=inner)


def new_session(token: Secret | None, transport: requests.adapters.BaseAdapter) -> requests.Session:
    """The HTTP session: the token as bearer auth (never a raw header), ``transport``
    mounted for http and https, nothing taken from the environment (proxies, netrc)."""
    session = requests.Session()
    session.trust_env = False  # no proxies/netrc from the environment in our way
    session.headers.update({"Accept": "application/json", "User-Agent": f"milekit/{__version__}"})
    if token is not None:
        session.auth = BearerAuth(token)
    session.mount("http://", transport)
    session.mount("https://", transport)
    return session


def host_port(base_url: str) -> tuple[str, int]:
    """The host and port requests go to (never the URL's user or password).

    >>> host_port("https://u:p@apiweb.mile.app/api/v3")
    ('apiweb.mile.app', 443)
    """
    parts = urlsplit(base_url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def error_of(r: requests.Response, method: str, urlpath: str, base_url: str) -> errors.ApiError:
    """The :class:`~milekit.errors.ApiError` an error answer maps to (its ``Retry-After``
    read; a 404 from a base URL without :data:`API_PATH` says so)."""
    retry_after = parse_retry_after(r.headers.get("Retry-After"))
    body = decode_lenient(r)
    err = errors.from_response(
        r.status_code, body, method=method, url=urlpath, retry_after=retry_after
    )
    if r.status_code == 404 and not urlsplit(base_url).path.endswith(API_PATH):
        err.add_note(
            f"the base URL {base_url} does not end in {API_PATH}: MileApp's API is "
            f"under it (did you mean {base_url}{API_PATH}?)"
        )
    return err


def json_body(json: Any) -> tuple[bytes | None, dict[str, str]]:
    """A request's JSON body as bytes, and its headers."""
    if json is None:
        return None, {}
    try:
        data = orjson.dumps(json, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as e:
        raise errors.UsageError(f"request body is not JSON-serialisable: {e}") from None
    return data, {"Content-Type": "application/json"}


def read_body(r: requests.Response) -> None:
    """Read the whole body in one call (requests reads 10 KB chunks, each a GIL round trip
    that stalls behind the parsing threads); the connection goes back to the pool."""
    try:
        content = r.raw.read(decode_content=True)
    except (HTTPError, OSError) as e:
        r.close()
        raise requests.exceptions.ConnectionError(e, response=r) from e
    r._content = content  # what requests' own .content would have cached
    r._content_consumed = True  # type: ignore[attr-defined]


def timeouts(timeout: Any) -> tuple[float, float]:
    """``(connect, read)`` seconds, checked.

    >>> timeouts((3, 60))
    (3.0, 60.0)
    """
    ok = isinstance(timeout, tuple | list) and len(timeout) == 2
    if ok and all(isinstance(t, int | float) and not isinstance(t, bool) for t in timeout):
        if all(0 < t < math.inf for t in timeout):
            return float(timeout[0]), float(timeout[1])
    raise errors.UsageError(
        f"timeout is (connect, read) seconds, two positive numbers; got {timeout!r}"
    )


#: what the errno of a connection that could not be made means, in words
_CONNECT_ERRNO = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "the connection timed out",
}
#: resolver answers that say the name does not exist (not a resolver that failed)
_NO_SUCH_NAME = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


def unreachable(e: requests.RequestException, connect: float, host: str) -> str | None:
    """Why no connection could be made, in words (None: one was, the failure came later).

    >>> unreachable(requests.exceptions.ConnectTimeout(), 5.0, "h")
    'no answer to the connection within 5 s'
    >>> unreachable(requests.exceptions.ReadTimeout(), 5.0, "h") is None
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


def may_have_been_sent(e: requests.RequestException) -> bool:
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


def decode(r: requests.Response) -> Any:
    if not r.content:
        return None
    try:
        return orjson.loads(r.content)
    except orjson.JSONDecodeError:
        snippet = redact(r.text[:200])
        raise errors.ResponseError(f"{r.status_code} answer is not JSON: {snippet!r}") from None


def decode_lenient(r: requests.Response) -> Any:
    try:
        return orjson.loads(r.content) if r.content else None
    except orjson.JSONDecodeError:
        return redact(r.text[:300])
