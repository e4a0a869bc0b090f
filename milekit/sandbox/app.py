"""The sandbox's WSGI application: MileApp's HTTP behaviour under ``/api/v3``.

>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, headers, body = app.call("GET", "/api/v3/tasks?limit=2")
>>> status, body["tasks"]["total"], len(body["tasks"]["data"])
(200, 5, 2)

Order of the checks, like a gateway in front of Laravel: CORS preflights (answered
before anything else, without a token), fault injection, payload size (413),
authentication (401), the organisation-wide rate limit (429), content negotiation (406),
routing (404/405), JSON body (400), then the endpoint. Every answer to a request from an
allowed ``Origin`` carries the CORS headers, errors included (docs/api-notes.md note 31).
"""

from __future__ import annotations

import bisect
import email.parser
import email.policy
import math
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson

from milekit.errors import MissingExtraError, UsageError
from milekit.sandbox import files
from milekit.sandbox.common import Ctx, ObjectIds
from milekit.sandbox.faults import DropConnection, Faults
from milekit.sandbox.http import (
    BAD_REQUEST,
    PREFIX,
    HttpError,
    Raw,
    Request,
    Response,
    Route,
    Router,
    Upload,
)
from milekit.sandbox.resources import (
    activity,
    app_integration,
    automation,
    data_import,
    data_source,
    data_type,
    export_config,
    export_task,
    flow,
    hub,
    location_history,
    plugin,
    role,
    routing,
    task,
    task_schedule,
    team,
    user,
    vehicle,
)
from milekit.sandbox.resources.task import TaskService
from milekit.sandbox.store import Store

__all__ = [
    "ARRIVED",
    "MAX_BODY",
    "PREFIX",
    "LoggedRequest",
    "Request",
    "Response",
    "SandboxApp",
    "Stats",
]

MAX_BODY = 16 * 1024 * 1024
#: the WSGI environ key of the moment a request's first line arrived (``time.monotonic``):
#: the organisation's limit counts it then, as a gateway would
ARRIVED = "milekit.arrived"
#: how much earlier than now a request's arrival can be when the limit counts it (its
#: headers, body and the server's threads come between): older arrivals are forgotten
_ARRIVAL_LAG = 2.0
_JSON = ("Content-Type", "application/json")
_MESSAGE_500 = "Internal server error, please contact support@mile.app."

StartResponse = Callable[..., Any]


class LoggedRequest(NamedTuple):
    """One line of :attr:`SandboxApp.request_log` (status 0 = connection dropped)."""

    t: float  #: time.monotonic()
    method: str
    path: str
    query: str
    status: int


@dataclass
class Stats:
    """Counters of a :class:`SandboxApp` (read them, don't write them)."""

    requests: int = 0
    admitted: int = 0  #: passed the rate limiter
    rejected_429: int = 0
    faults: int = 0
    dropped: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class SandboxApp:
    """The WSGI callable. ``rate_limit=None`` disables the limiter.

    >>> from milekit.sandbox.seed import build_org
    >>> app = SandboxApp(Store(build_org(tasks=1)), token="t")
    >>> app.call("GET", "/api/v3/user", token="wrong")[0]
    401
    """

    def __init__(
        self,
        store: Store,
        *,
        token: str = "sandbox-token",
        faults: Faults | None = None,
        rate_limit: int | None = 100,
        rate_period: float = 1.0,
        max_body_bytes: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
        cors_origins: Sequence[str] = ("*",),
    ) -> None:
        self.store = store
        #: origins whose pages may call the API with ``fetch`` ("*": any; note 31)
        self.cors_origins = tuple(cors_origins)
        self.token = token
        self.faults = faults if faults is not None else Faults()
        check_rate(rate_limit, rate_period)
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self.max_body_bytes = max_body_bytes
        ids = ObjectIds(clock)
        self.tasks = TaskService(store, clock=clock, ids=ids)
        self.ctx = Ctx(store, self.tasks, clock, ids)
        self.stats = Stats()
        self.request_log: deque[LoggedRequest] = deque(maxlen=100_000)
        self._admitted: list[float] = []  #: arrivals counted, in order
        self._lock = threading.Lock()
        #: the route table: every (method, path template) -> handler the sandbox serves
        self.router = Router(self._routes())

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        raw_path = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        status = 0
        cors = self._cors(environ)
        try:
            if method == "OPTIONS" and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
                resp = Response(204, Raw(b"", "text/plain"), _preflight(environ, cors))
            else:
                resp = self._handle(environ, method, raw_path, query)
            status = resp.status
        except DropConnection:
            with self._lock:
                self.stats.dropped += 1
            raise
        finally:
            self._log(method, raw_path, query, status)
        if isinstance(resp.body, Raw):
            payload = resp.body.data
            content_type = ("Content-Type", resp.body.content_type)
        else:
            payload = orjson.dumps(resp.body)
            content_type = _JSON
        headers = [content_type, ("Content-Length", str(len(payload))), *resp.headers, *cors]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def _cors(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        """The CORS headers for the request's ``Origin`` (none when it is not allowed)."""
        origin = environ.get("HTTP_ORIGIN")
        if not origin or not self.cors_origins:
            return []
        if "*" in self.cors_origins:
            return [("Access-Control-Allow-Origin", "*"), _EXPOSE]
        if origin in self.cors_origins:
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"), _EXPOSE]
        return []

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Call the app in-process (no socket): ``(status, headers, decoded body)``.

        ``data`` sends raw bytes instead of ``body`` as JSON (set ``Content-Type`` in
        ``headers``); a non-JSON answer comes back as bytes.
        """
        import io

        path, _, query = url.partition("?")
        raw = data if data is not None else b"" if body is None else orjson.dumps(body)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
            "wsgi.url_scheme": "http",
            "HTTP_HOST": "sandbox.local",
            "HTTP_AUTHORIZATION": f"Bearer {self.token if token is None else token}",
        }
        for k, v in (headers or {}).items():
            if k.lower() == "content-type":
                environ["CONTENT_TYPE"] = v
            else:
                environ["HTTP_" + k.upper().replace("-", "_")] = v
        got: list[Any] = []

        def start_response(status: str, hdrs: list[tuple[str, str]]) -> None:
            got.extend((int(status.split()[0]), dict(hdrs)))

        out = b"".join(self(environ, start_response))
        if got[1].get("Content-Type") != "application/json":
            return got[0], got[1], out
        return got[0], got[1], orjson.loads(out)

    # --- the pipeline -------------------------------------------------------------------

    def _handle(self, environ: dict[str, Any], method: str, raw_path: str, query: str) -> Response:
        path = _normalise(raw_path)
        fault = self.faults.decide(method, path or raw_path, query)
        if fault is not None:
            with self._lock:
                self.stats.faults += 1
            if fault.kind == "drop":
                self._latency()
                raise DropConnection
            if fault.kind == "error":
                self._latency()
                return Response(fault.status, fault.body, fault.headers)
        try:
            resp = self._pipeline(environ, method, raw_path, path, query)
        except HttpError as e:
            resp = Response(e.status, e.body(), tuple(e.headers))
        except MissingExtraError as e:  # an operation that needs an extra (xlsx: openpyxl)
            resp = Response(501, {"status": False, "message": e.message})
        except DropConnection:
            raise
        except Exception:
            traceback.print_exc(file=sys.stderr)
            resp = Response(
                500,
                {
                    "status": False,
                    "message": _MESSAGE_500,
                },
            )
        self._latency()  # after the org's limit counted the request: on arrival
        if fault is not None and fault.kind == "drop_after":
            raise DropConnection
        return resp

    def _latency(self) -> None:
        """The answer's delay (``Faults.latency``). The organisation's limit counts a
        request when it arrives, before this: counted after it, a burst of requests
        waking from it together was counted late and unevenly, and a client keeping the
        limit by its send times got 429s."""
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)

    def _pipeline(
        self, environ: dict[str, Any], method: str, raw_path: str, path: str | None, query: str
    ) -> Response:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise HttpError(400, BAD_REQUEST) from None
        if length > self.max_body_bytes:
            raise HttpError(413, "Payload too large.")
        if not self._authenticated(environ, path):
            raise HttpError(401, "Unauthenticated.")
        self._admit(environ.get(ARRIVED))
        if not _accepts_json(environ.get("HTTP_ACCEPT")):
            raise HttpError(406, "unsupported Accept header")
        if path is None:
            raise HttpError(404, "Data not found")
        handler, params = self.router.resolve(method, path)
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        req = Request(
            method=method,
            path=path,
            raw_path=raw_path,
            query=dict(parse_qsl(query, keep_blank_values=True)),
            raw_query=query,
            base=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
            params=params,
        )
        if length > 0:
            raw = environ["wsgi.input"].read(length)
            _parse_body(req, raw, environ.get("CONTENT_TYPE", ""))
        return handler(req)

    def _authenticated(self, environ: dict[str, Any], path: str | None) -> bool:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth.startswith("Bearer ") and auth[7:].strip() == self.token:
            return True
        # the activity endpoints also accept the token as x-api-key (their security schemes)
        key = environ.get("HTTP_X_API_KEY", "")
        return bool(path and path.startswith("/activit") and key.strip() == self.token)

    def _admit(self, arrived: float | None = None) -> None:
        """The organisation-wide sliding-window limiter (429 with Retry-After), counting a
        request at ``arrived`` (its first line; None: now): the server's threads reach
        this later, and unevenly under load, and a late count bunches requests a client
        spread out. Arrivals counted out of order are kept sorted; a request is refused
        when a window of the period that would hold it already holds the limit: its own,
        or that of an arrival after it counted before it (:func:`_fullest`)."""
        with self._lock:
            self.stats.requests += 1
            if self.rate_limit is None:
                self.stats.admitted += 1
                return
            now = time.monotonic()
            at = now if arrived is None else min(arrived, now)
            window = self._admitted
            del window[: bisect.bisect_right(window, now - self.rate_period - _ARRIVAL_LAG)]
            oldest = _fullest(window, at, self.rate_period, self.rate_limit)
            if oldest is not None:
                self.stats.rejected_429 += 1
                raise _TooMany(max(1, math.ceil(oldest + self.rate_period - now)))
            bisect.insort(window, at)
            self.stats.admitted += 1

    def _log(self, method: str, path: str, query: str, status: int) -> None:
        with self._lock:
            self.request_log.append(LoggedRequest(time.monotonic(), method, path, query, status))
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1

    # --- the route table ------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        """Every operation, from the resource modules (one a registry tag; standard
        operations at the registry's paths, :func:`~milekit.sandbox.common.resource_routes`,
        then their own actions)."""
        modules = (
            task,
            task_schedule,
            activity,
            location_history,
            flow,
            automation,
            data_type,
            data_source,
            data_import,
            export_task,
            export_config,
            vehicle,
            routing,
            user,
            team,
            role,
            hub,
            app_integration,
            plugin,
            files,
        )
        return [route for module in modules for route in module.routes(self.ctx)]


_EXPOSE = ("Access-Control-Expose-Headers", "Retry-After")


def _preflight(environ: dict[str, Any], cors: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """A CORS preflight's answer: the methods and headers a page may use (no token needed;
    nothing is allowed for an origin that is not, and the browser then refuses)."""
    if not cors:
        return ()
    asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
    return (
        ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        ("Access-Control-Allow-Headers", asked or "Authorization, Content-Type, Accept"),
        ("Access-Control-Max-Age", "600"),
    )


def _fullest(window: list[float], at: float, period: float, limit: int) -> float | None:
    """The oldest arrival of a window of ``period`` holding ``at`` that already holds
    ``limit`` of the sorted arrivals ``window`` (None: none does). The windows holding
    ``at`` end from ``at`` to a period after it; their counts change at arrivals only, so
    those ending at ``at`` and at each later arrival are weighed (a later one was counted
    first when the server's threads reached them out of order; weighed from ``at`` on
    whatever their end, a request was refused that every window holding it had room for).

    >>> _fullest([0.0, 0.5, 1.2], 1.1, 1.0, 2), _fullest([0.0, 0.5, 1.6], 1.1, 1.0, 2)
    (0.5, None)
    """
    ends = window[bisect.bisect_right(window, at) : bisect.bisect_left(window, at + period)]
    for end in (at, *ends):
        first = bisect.bisect_right(window, end - period)
        if bisect.bisect_right(window, end) - first >= limit:
            return window[first]
    return None


def check_rate(rate_limit: int | None, rate_period: float) -> None:
    """Refuse a limit that admits nothing (``None`` is what turns the limiter off).

    >>> check_rate(0, 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: rate_limit must be a positive number of requests per ... not 0
    """
    if rate_limit is not None and (isinstance(rate_limit, bool) or rate_limit < 1):
        raise UsageError(
            "rate_limit must be a positive number of requests per rate_period "
            f"(rate_limit=None turns the limiter off), not {rate_limit!r}"
        )
    if not rate_period > 0:
        raise UsageError(
            f"rate_period must be a positive number of seconds (rate_limit=None turns the "
            f"limiter off), not {rate_period!r}"
        )


class _TooMany(HttpError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too Many Attempts.",
            [("Retry-After", str(retry_after))],
            {"failedCode": "sys-036"},
        )


def _normalise(raw_path: str) -> str | None:
    """The path below /api/v3 without trailing slashes (note 7); None if outside."""
    if raw_path != PREFIX and not raw_path.startswith(PREFIX + "/"):
        return None
    path = raw_path[len(PREFIX) :].rstrip("/")
    return path or "/"


def _parse_body(req: Request, raw: bytes, content_type: str) -> None:
    """JSON into ``req.body``; multipart / urlencoded fields into ``req.form``/``req.files``."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        if not msg.is_multipart():
            raise HttpError(400, "Bad request - invalid multipart body.")
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                req.files[name] = Upload(filename, part.get_content_type(), data)
            else:
                req.form[name] = data.decode("utf-8", "replace")
        return
    if kind == "application/x-www-form-urlencoded":
        req.form.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return
    if raw.strip():
        try:
            req.body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise HttpError(400, "Bad request - invalid JSON body.") from None


def _accepts_json(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("application/json", "*/*"):
            return True
    return False
