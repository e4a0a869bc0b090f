"""The sandbox's WSGI application: MileApp's HTTP behaviour under ``/api/v3``.

>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, headers, body = app.call("GET", "/api/v3/tasks?limit=2")
>>> status, body["tasks"]["total"], len(body["tasks"]["data"])
(200, 5, 2)

Order of the checks, like a gateway in front of Laravel: fault injection, payload size
(413), authentication (401), the organisation-wide rate limit (429), content negotiation
(406), routing (404/405), JSON body (400), then the endpoint.
"""

from __future__ import annotations

import math
import re
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

import orjson

from milekit.registry import RESOURCES
from milekit.sandbox.faults import DropConnection, Faults
from milekit.sandbox.store import Store
from milekit.sandbox.tasks import HttpError, TaskService, paginator

PREFIX = "/api/v3"
MAX_BODY = 16 * 1024 * 1024
_TASKS = RESOURCES["tasks"]
_JSON = ("Content-Type", "application/json")
_MESSAGE_500 = "Internal server error, please contact support@mile.app."

StartResponse = Callable[..., Any]
Handler = Callable[["Request", str], "Response"]


class Response(NamedTuple):
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


class LoggedRequest(NamedTuple):
    """One line of :attr:`SandboxApp.request_log` (status 0 = connection dropped)."""

    t: float  #: time.monotonic()
    method: str
    path: str
    query: str
    status: int


@dataclass
class Request:
    """What a handler sees of one request."""

    method: str
    path: str  #: below /api/v3, without the trailing slash
    raw_path: str  #: as sent
    query: dict[str, str]  #: last value wins, like PHP
    raw_query: str
    base: str  #: scheme://host:port
    body: Any = None


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
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
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
    ) -> None:
        self.store = store
        self.token = token
        self.faults = faults if faults is not None else Faults()
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self.max_body_bytes = max_body_bytes
        self.tasks = TaskService(store, clock=clock)
        self.stats = Stats()
        self.request_log: deque[LoggedRequest] = deque(maxlen=100_000)
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()
        self._routes = self._build_routes()

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        raw_path = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        status = 0
        try:
            resp = self._handle(environ, method, raw_path, query)
            status = resp.status
        except DropConnection:
            with self._lock:
                self.stats.dropped += 1
            raise
        finally:
            self._log(method, raw_path, query, status)
        payload = orjson.dumps(resp.body)
        headers = [_JSON, ("Content-Length", str(len(payload))), *resp.headers]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Call the app in-process (no socket): ``(status, headers, decoded body)``."""
        import io

        path, _, query = url.partition("?")
        raw = b"" if body is None else orjson.dumps(body)
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
            environ["HTTP_" + k.upper().replace("-", "_")] = v
        got: list[Any] = []

        def start_response(status: str, hdrs: list[tuple[str, str]]) -> None:
            got.extend((int(status.split()[0]), dict(hdrs)))

        data = b"".join(self(environ, start_response))
        return got[0], got[1], orjson.loads(data)

    # --- the pipeline -------------------------------------------------------------------

    def _handle(self, environ: dict[str, Any], method: str, raw_path: str, query: str) -> Response:
        path = _normalise(raw_path)
        fault = self.faults.decide(method, path or raw_path)
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        if fault is not None:
            with self._lock:
                self.stats.faults += 1
            if fault.kind == "drop":
                raise DropConnection
            if fault.kind == "error":
                return Response(fault.status, fault.body, fault.headers)
        try:
            resp = self._pipeline(environ, method, raw_path, path, query)
        except HttpError as e:
            resp = Response(e.status, e.body(), tuple(e.headers))
        except DropConnection:
            raise
        except Exception:
            traceback.print_exc(file=sys.stderr)
            resp = Response(
                500,
                {
                    "status": False,
                    "message": "Internal server error, please contact support@mile.app.",
                },
            )
        if fault is not None and fault.kind == "drop_after":
            raise DropConnection
        return resp

    def _pipeline(
        self, environ: dict[str, Any], method: str, raw_path: str, path: str | None, query: str
    ) -> Response:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise HttpError(400, "Bad request - invalid parameters provided.") from None
        if length > self.max_body_bytes:
            raise HttpError(413, "Payload too large.")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if not auth.startswith("Bearer ") or auth[7:].strip() != self.token:
            raise HttpError(401, "Unauthenticated.")
        self._admit()
        if not _accepts_json(environ.get("HTTP_ACCEPT")):
            raise HttpError(406, "unsupported Accept header")
        if path is None:
            raise HttpError(404, "Data not found")
        handler, arg = self._route(method, path)
        body: Any = None
        if length > 0:
            raw = environ["wsgi.input"].read(length)
            if raw.strip():
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise HttpError(400, "Bad request - invalid JSON body.") from None
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
            body=body,
        )
        return handler(req, arg)

    def _admit(self) -> None:
        """The organisation-wide sliding-window limiter (429 with Retry-After)."""
        with self._lock:
            self.stats.requests += 1
            if self.rate_limit is None:
                self.stats.admitted += 1
                return
            now = time.monotonic()
            window = self._admitted
            while window and window[0] <= now - self.rate_period:
                window.popleft()
            if len(window) >= self.rate_limit:
                self.stats.rejected_429 += 1
                wait = max(1, math.ceil(window[0] + self.rate_period - now))
                raise _TooMany(wait)
            window.append(now)
            self.stats.admitted += 1

    def _log(self, method: str, path: str, query: str, status: int) -> None:
        with self._lock:
            self.request_log.append(LoggedRequest(time.monotonic(), method, path, query, status))
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1

    # --- routing ------------------------------------------------------------------------

    def _build_routes(self) -> list[tuple[re.Pattern[str], dict[str, Handler]]]:
        t = self.tasks
        detail = _TASKS.detail_path.rstrip("/")
        bulk = (_TASKS.bulk_update_path or "/tasks/bulk").rstrip("/")

        def pattern(template: str) -> re.Pattern[str]:
            return re.compile("^" + re.escape(template).replace(r"\{id\}", "([^/]+)") + "$")

        def one(kind: str) -> Handler:
            return lambda r, i: Response(200, t.update(i, r.body, r.method, r.raw_path, kind))

        def many(kind: str) -> Handler:
            return lambda r, _: Response(200, t.bulk_update(r.body, r.method, r.raw_path, kind))

        routes: dict[str, dict[str, Handler]] = {
            _TASKS.list_path: {"GET": self._list_tasks},
            (_TASKS.create_path or "/task"): {
                "POST": lambda r, _: Response(201, t.create(r.body, r.method, r.raw_path))
            },
            detail: {
                "GET": lambda r, i: Response(200, t.get(i)),
                "PUT": one("put"),
                "PATCH": one("patch"),
                "DELETE": one("delete"),
            },
            detail + "/assign": {"PUT": one("assign")},
            detail + "/move": {"PUT": one("move")},
            bulk: {
                "POST": lambda r, _: Response(201, t.bulk_create(r.body, r.method, r.raw_path)),
                "PUT": many("put"),
                "PATCH": many("patch"),
                "DELETE": many("delete"),
            },
            bulk + "/assign": {"PUT": many("assign")},
            bulk + "/move": {"PUT": many("move")},
            "/user": {"GET": lambda r, _: Response(200, self.store.meta["me"])},
            "/users": {"GET": lambda r, _: Response(200, {"data": self.store.values("users")})},
            "/hubs": {"GET": self._list_hubs},
            "/hub/{id}": {"GET": lambda r, i: self._one("hubs", i, "data")},
            "/flows": {"GET": self._list_flows},
            "/flow/{id}": {"GET": lambda r, i: self._one("flows", i, "flow")},
            "/vehicles": {"GET": self._list_vehicles},
        }
        # literal paths first, so /tasks/bulk is not taken for /task/{id}-like templates
        ordered = sorted(routes.items(), key=lambda kv: "{id}" in kv[0])
        return [(pattern(k), v) for k, v in ordered]

    def _route(self, method: str, path: str) -> tuple[Handler, str]:
        for rx, methods in self._routes:
            m = rx.match(path)
            if m is None:
                continue
            handler = methods.get(method)
            if handler is None:
                raise HttpError(
                    405,
                    f"The {method} method is not supported for this route.",
                    [("Allow", ", ".join(methods))],
                )
            return handler, unquote(m.group(1)) if m.groups() else ""
        raise HttpError(404, "Data not found")

    # --- read endpoints -----------------------------------------------------------------

    def _list_tasks(self, r: Request, _: str) -> Response:
        return Response(
            200,
            self.tasks.list_tasks(
                r.query, r.raw_query, f"{r.base}{PREFIX}{r.path}", fragments=True
            ),
        )

    def _page_of(self, r: Request, docs: list[Any]) -> dict[str, Any]:
        page = _positive(r.query.get("page"), 1, "page")
        limit = _positive(r.query.get("limit"), 20, "limit")
        if limit > 1000:
            raise HttpError(400, "The limit may not be greater than 1000.")
        chunk = docs[(page - 1) * limit : page * limit]
        return paginator(chunk, len(docs), page, limit, f"{r.base}{PREFIX}{r.path}", r.raw_query)

    def _list_flows(self, r: Request, _: str) -> Response:
        flows = self.store.values("flows")
        return Response(
            200, {"status": True, "message": "Success", "flows": self._page_of(r, flows)}
        )

    def _list_vehicles(self, r: Request, _: str) -> Response:
        vehicles = self.store.values("vehicles")
        return Response(
            200, {"status": True, "message": "Success", "data": self._page_of(r, vehicles)}
        )

    def _list_hubs(self, r: Request, _: str) -> Response:
        hubs = sorted(self.store.values("hubs"), key=lambda h: (h.get("name", ""), h["_id"]))
        if r.query.get("sortOrder", "asc").lower() == "desc":
            hubs.reverse()
        return Response(200, {"data": hubs, "status": True})

    def _one(self, resource: str, id: str, key: str) -> Response:
        doc = self.store.get(resource, id)
        if doc is None:
            raise HttpError(404, "Data not found")
        return Response(200, {"status": True, "message": "Success", key: doc})


class _TooMany(HttpError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too Many Attempts.",
            [("Retry-After", str(retry_after))],
            {"failedCode": "sys-036"},
        )


def _normalise(raw_path: str) -> str | None:
    """The path below /api/v3 without trailing slashes (Quirk 7); None if outside."""
    if raw_path != PREFIX and not raw_path.startswith(PREFIX + "/"):
        return None
    path = raw_path[len(PREFIX) :].rstrip("/")
    return path or "/"


def _accepts_json(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("application/json", "*/*"):
            return True
    return False


def _positive(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        raise HttpError(400, f"The {name} must be an integer.") from None
    if n < 1:
        raise HttpError(400, f"The {name} must be at least 1.")
    return n
