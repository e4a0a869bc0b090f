"""The sandbox's HTTP server and its public entry point :class:`Sandbox`.

>>> import requests
>>> with Sandbox(tasks=20) as sb:
...     r = requests.get(sb.url + "/tasks", headers={"Authorization": f"Bearer {sb.token}"})
>>> r.status_code, r.json()["tasks"]["total"]
(200, 20)

A threaded stdlib server (``wsgiref`` + ``socketserver.ThreadingMixIn``) speaking
HTTP/1.1 with keep-alive: every answer carries ``Content-Length``; unread request bodies
are drained (or the connection closed) so a kept-alive connection never desynchronises.
A dropped-connection fault shuts the socket down without writing a byte. Nothing is
logged per request, and :meth:`Sandbox.stop` closes every socket it opened.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Literal, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import orjson

from milekit.errors import UsageError
from milekit.sandbox.app import ARRIVED, MAX_BODY, SandboxApp, check_rate
from milekit.sandbox.faults import DropConnection, Faults
from milekit.sandbox.orgfile import export_org, load_org
from milekit.sandbox.seed import build_org
from milekit.sandbox.store import Store
from milekit.types.registry import DEFAULT_RESOURCE

_DRAIN_LIMIT = 64 * 1024 * 1024  #: unread bodies up to this size are drained, larger close


class _Body:
    """``wsgi.input``: at most ``length`` bytes of the request body."""

    def __init__(self, raw: BinaryIO, length: int) -> None:
        self._raw = raw
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.remaining:
            size = self.remaining
        data = self._raw.read(size) if size else b""
        self.remaining -= len(data)
        if size and not data:
            self.remaining = 0
        return data

    def drain(self) -> None:
        while self.remaining > 0:
            if not self.read(min(self.remaining, 1 << 20)):
                break


#: SO_TIMESTAMPNS: the kernel stamps each received packet (CLOCK_REALTIME, ns); the
#: generic Linux value (alpha, mips, parisc and sparc number it otherwise: not stamped)
_SO_TIMESTAMPNS = 35
_STAMPED_MACHINES = "x86_64 aarch64 arm64 armv7l i686 ppc64le riscv64 s390x".split()
RECEIVE_STAMPS = sys.platform == "linux" and platform.machine() in _STAMPED_MACHINES
_ANCILLARY = socket.CMSG_SPACE(16) if RECEIVE_STAMPS else 0


class _Arrivals(io.RawIOBase):
    """A connection's bytes, with when the kernel received them: a request is counted by
    the organisation's limit at its arrival, which the server's thread may read much
    later (answering the request before it, or waiting for the interpreter on a loaded
    machine; counted then, requests a client spread out were bunched: 429s)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.last: float | None = None  #: the latest read's stamp (epoch seconds)
        self.fresh: float | None = None  #: the first read's since :meth:`begin`

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n, ancillary, _, _ = self.sock.recvmsg_into([buffer], _ANCILLARY)
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
                sec, nsec = struct.unpack("qq", data[:16])
                self.last = sec + nsec / 1e9
        if self.fresh is None:
            self.fresh = self.last
        return n

    def begin(self) -> None:
        """A request begins: its arrival is that of the next read (or, when its bytes
        are in the buffer already, of the read that brought them)."""
        self.fresh = None

    def arrived(self) -> float:
        """When the request since :meth:`begin` arrived, on ``time.monotonic()`` (now,
        when no read was stamped)."""
        stamp = self.fresh if self.fresh is not None else self.last
        now = time.monotonic()
        return now if stamp is None else now - max(0.0, time.time() - stamp)


class _Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "milekit-sandbox"
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no log line per request

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.arrivals: _Arrivals | None = None
        if RECEIVE_STAMPS:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)  # inherited
                self.rfile.close()  # the socket's reference of the plain reader let go
                self.arrivals = _Arrivals(self.connection)
                self.rfile = io.BufferedReader(self.arrivals)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        if self.arrivals is not None:
            self.arrivals.begin()
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.close_connection = True
            return
        #: when the request's first line arrived: the org's limit counts it then
        self.arrived = time.monotonic() if self.arrivals is None else self.arrivals.arrived()
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = True
            self._write("400 Bad Request", [], b'{"status":false,"message":"Bad request."}')
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            msg = b'{"status":false,"message":"Length required."}'
            self._write("411 Length Required", [], msg)
            return
        body = _Body(cast(BinaryIO, self.rfile), length)
        answer = self._run_app(body)
        if answer is None:  # the app dropped the connection (a fault)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if body.remaining > _DRAIN_LIMIT:
            self.close_connection = True
        elif body.remaining:
            body.drain()
        self._write(*answer)

    def _run_app(self, body: _Body) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The app's (status, headers, payload) for the request read so far; None when it
        drops the connection."""
        environ = self.get_environ()
        environ.update(
            {
                ARRIVED: self.arrived,
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.input": body,
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": True,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
            }
        )
        got: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            got[:] = [status, headers]
            return lambda data: None

        app = self.server.get_app()
        assert app is not None
        try:
            result = app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except DropConnection:
            return None
        return got[0], got[1], payload

    def _write(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        if not any(k.lower() == "content-type" for k, _ in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # head and body in one send: two small writes meet Nagle + delayed ACK (~40 ms)
        # BaseHTTPRequestHandler buffers the status line and headers in _headers_buffer
        head = cast(list[bytes], self.__dict__["_headers_buffer"])
        head.append(b"\r\n")
        if self.command != "HEAD":
            head.append(payload)
        self.wfile.write(b"".join(head))
        head.clear()
        self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self._conns: dict[Any, threading.Thread] = {}
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)
        self.set_app(app)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(): a DNS lookup, not needed here
        socketserver.TCPServer.server_bind(self)
        if RECEIVE_STAMPS:  # on the listener: a connection's first packets, before its
            # thread starts, are stamped too (accepted sockets inherit the option)
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            daemon=True,
            name="milekit-sandbox-conn",
        )
        with self._conns_lock:
            self._conns[request] = t
        t.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conns_lock:
                self._conns.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer; nothing to report

    def close_connections(self, timeout: float = 5.0) -> None:
        """Wake every connection thread (idle keep-alives included) and wait for them."""
        with self._conns_lock:
            items = list(self._conns.items())
        for sock, _ in items:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in items:
            thread.join(timeout)


class Sandbox:
    """An offline MileApp API on a loopback port: seeded data, faults, rate limit, SQLite.

    >>> with Sandbox(tasks=5, rate_limit=None) as sb:
    ...     sb.url.startswith("http://127.0.0.1:") and sb.url.endswith("/api/v3")
    True

    ``db`` names a SQLite file: if it exists the sandbox resumes from it (``tasks`` and
    ``seed`` are then ignored), else it is seeded and saved; every acknowledged write is
    committed before the answer is sent. Tune faults on :attr:`faults`, read counters on
    ``app.stats`` / ``app.request_log`` and applied writes on ``store.write_log``.

    Tasks spell their datetimes as real tasks do (ISO 8601 with ``+00:00``, times of day
    ``HH:MM:SS``); ``mixed_datetimes=True`` seeds every other spelling the API uses too,
    for testing a client's parsing (docs/api-notes.md notes 6 and 25).

    Web pages may call it with ``fetch``: it answers CORS preflights and adds
    ``Access-Control-Allow-Origin`` for ``cors_origins`` (``"*"``, any, by default: it
    serves loopback only; note 31).

    ``org`` (a path or a mapping in the org-file format of docs/guides/sandbox.md) loads
    hubs, roles, teams, users, flows, vehicles and tasks on top of the demo
    (``org_mode="add"``: an object with a demo ``_id`` updates it) or instead of it
    (``org_mode="replace"``: the file's objects alone, ``tasks`` ignored), checked before
    anything starts (:class:`~milekit.errors.OrgFileError`); :meth:`export_org` writes the
    organisation back in that format. Both are ignored when ``db`` resumes a database.
    """

    def __init__(
        self,
        tasks: int = 10_000,
        seed: int = 7,
        token: str = "sandbox-token",
        db: str | os.PathLike[str] | None = None,
        rate_limit: int | None = 100,
        latency: float = 0.0,
        *,
        rate_period: float = 1.0,
        max_body_bytes: int = MAX_BODY,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        drop_after_rate: float = 0.0,
        fault_seed: int = 0,
        mixed_datetimes: bool = False,
        cors_origins: Sequence[str] = ("*",),
        org: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        org_mode: Literal["add", "replace"] = "add",
    ) -> None:
        check_rate(rate_limit, rate_period)
        if org_mode not in ("add", "replace"):
            raise UsageError(f"org_mode must be 'add' or 'replace', not {org_mode!r}")
        db_path = Path(db) if db is not None else None
        seeded = None
        if db_path is None or not db_path.exists():
            replace = org is not None and org_mode == "replace"
            seeded = build_org(seed, 0 if replace else tasks, mixed_datetimes=mixed_datetimes)
            if org is not None:
                seeded = load_org(org, seeded, replace=replace)
        self.token = token
        self.store = Store(seeded, db_path)
        self.faults = Faults(
            latency=latency,
            error_rate=error_rate,
            drop_rate=drop_rate,
            drop_after_rate=drop_after_rate,
            seed=fault_seed,
        )
        self.app = SandboxApp(
            self.store,
            token=token,
            faults=self.faults,
            rate_limit=rate_limit,
            rate_period=rate_period,
            max_body_bytes=max_body_bytes,
            cors_origins=cors_origins,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._stopped = False

    def export_org(self, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The organisation as it stands, in the org-file format (written to ``path`` too,
        as indented JSON, if given): load it with ``Sandbox(org=..., org_mode="replace")``.

        >>> with Sandbox(tasks=3) as sb:
        ...     org = sb.export_org()
        >>> org["format"], len(org["tasks"]), len(org["users"])
        ('milekit-org/1', 3, 50)
        """
        out = export_org(self.store)
        if path is not None:
            Path(path).write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
        return out

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>/api/v3`` (after :meth:`start`)."""
        if self._url is None:
            raise RuntimeError("the sandbox is not running: call start() or use `with`")
        return self._url

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; returns the base URL (``port=0``: a free port)."""
        if self._stopped:
            raise RuntimeError("a stopped Sandbox cannot restart; build a new one (same db=)")
        if self._server is not None:
            return self.url
        self.app.tasks.warm()
        server = _Server((host, port), self.app)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="milekit-sandbox",
        )
        self._thread.start()
        self._url = f"http://{host}:{server.server_address[1]}/api/v3"
        return self._url

    def stop(self) -> None:
        """Stop serving, close every connection and the SQLite file. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if thread is not None:
            thread.join()
        self.store.close()
        self._stopped = True

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._url if self._server is not None else "stopped"
        main = DEFAULT_RESOURCE
        return f"<Sandbox {where} {main}={self.store.count(main)}>"


def serve(host: str = "127.0.0.1", port: int = 8765, **kw: Any) -> None:
    """Run a :class:`Sandbox` in the foreground until Ctrl-C (``milekit sandbox``).

    ``kw`` goes to :class:`Sandbox` (``tasks``, ``seed``, ``token``, ``db``, ``rate_limit``,
    ``latency`` ...); the base URL and the token are printed on start.
    """
    sb = Sandbox(**kw)
    url = sb.start(host, port)
    print(f"MileApp sandbox at {url}", flush=True)
    print(f"token: {sb.token}   (Authorization: Bearer {sb.token}; Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
