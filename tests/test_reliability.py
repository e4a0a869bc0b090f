"""The reliability suite's remaining parts: a sandbox killed mid-push, bad input refused
before anything is sent (the table docs/performance.md shows), and the token on redirects.

The fault reads are in ``test_read_faults.py``, the fault push in ``test_push_faults.py``,
Ctrl-C in ``test_push_interrupt.py``, four processes in ``test_limiter_wire.py``; the long
soak is ``bench/bench_soak.py``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
import requests

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.writes.push import PushValidationError

ROOT = Path(__file__).resolve().parent.parent


# --- SIGKILL of `milekit sandbox --db` during a push ---------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "milekit.cli", "sandbox", "--db", str(db), "--port", str(port)]
    cmd += ["--tasks", "2000", "--latency", "0.05"]
    proc = subprocess.Popen(
        cmd, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert "MileApp sandbox at" in proc.stdout.readline()
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


def test_sigkill_of_the_sandbox_mid_push_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db, port = tmp_path / "sandbox.sqlite", _free_port()
    url = f"http://127.0.0.1:{port}/api/v3"
    server = _serve(db, port)
    try:
        with milekit.Client("sandbox-token", url, limiter="process", sleep=lambda s: None) as c:
            df = milekit.tasks_frame(client=c, progress=False)
            df["title"] = df["title"] + " (after the crash?)"
            killer = threading.Timer(0.6, server.send_signal, (signal.SIGKILL,))
            killer.start()
            result = milekit.push(df, client=c, progress=False, max_request_bytes=4096)
            killer.join()
        _stop(server)
        status = result.frame["status"]
        assert set(status) <= {"ok", "failed", "unknown"}
        assert (status == "ok").sum() > 0 and (status != "ok").sum() > 0  # killed mid-way
        server = _serve(db, port)  # the same database, after the crash
        with milekit.Client("sandbox-token", url, limiter="process") as c:
            after = milekit.tasks_frame(client=c, progress=False, fields=["title"])
        ok = status.index[status == "ok"]
        assert (after.loc[ok, "title"] == df.loc[ok, "title"]).all()  # none missing
        failed = status.index[status == "failed"]
        assert (after.loc[failed, "title"] != df.loc[failed, "title"]).all()  # none applied
    finally:
        _stop(server)
    from milekit.sandbox.store import Store

    store = Store(None, db)
    log = store.write_log
    store.close()
    assert max(Counter(w["id"] for w in log if w["method"] == "PATCH").values()) == 1


# --- bad input: refused before anything is sent, with a typed error --------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Sandbox, milekit.Client, pd.DataFrame]]:
    with Sandbox(tasks=200) as sb, milekit.Client(sb.token, sb.url, limiter="process") as c:
        yield sb, c, milekit.tasks_frame(client=c, progress=False)


def _edited(df: pd.DataFrame, edit: Callable[[pd.DataFrame], Any]) -> pd.DataFrame:
    out = df.copy()
    edit(out)
    return out


def _set(col: str, value: Any, row: int = 0) -> Callable[[pd.DataFrame], None]:
    return lambda df: df.__setitem__(col, df[col].where(df.index != df.index[row], value))


def _new_first_id(df: pd.DataFrame) -> None:
    df.index = pd.Index(["f" * 24, *df.index[1:]], name="_id", dtype="string")


def _new_row(df: pd.DataFrame) -> pd.DataFrame:
    row = df.iloc[:1].assign(flow=pd.NA)
    row.index = pd.Index(["new-1"], name="_id", dtype="string")
    return row


#: (what is wrong, the call, the error class): the table of bad input in docs/performance.md
BAD_INPUT: list[tuple[str, Callable[[milekit.Client, pd.DataFrame], Any], type[Exception]]] = [
    ("unknown resource", lambda c, df: milekit.frame("taskz", client=c), errors.UsageError),
    ("misspelt filter", lambda c, df: milekit.frame("tasks", client=c, stauts="DONE"),
     errors.UsageError),
    ("enum value not in the list", lambda c, df: milekit.tasks_frame(client=c, status="FINISHED"),
     errors.UsageError),
    ("unreadable date/time filter",
     lambda c, df: milekit.tasks_frame(client=c, timeFrom="yesterday"), errors.UsageError),
    ("sort order not asc/desc", lambda c, df: milekit.tasks_frame(client=c, sortOrder="up"),
     errors.UsageError),
    ("a secret asked for in fields=",
     lambda c, df: milekit.users_frame(client=c, fields="name,personalToken"), errors.UsageError),
    ("timeBy naming a field it cannot", lambda c, df: milekit.tasks_frame(client=c, timeBy="eta"),
     errors.UsageError),
    ("base URL not http(s)", lambda c, df: milekit.Client("t0ken-abc", "ftp://example"),
     errors.UsageError),
    ("token with a control character", lambda c, df: milekit.Client("tok\x00en-1", c.base_url),
     errors.UsageError),
    ("token with a non-ASCII character", lambda c, df: milekit.Client("tökén-12", c.base_url),
     errors.UsageError),
    ("empty token", lambda c, df: milekit.Client(" \n", c.base_url), errors.UsageError),
    ("profile name with a path in it", lambda c, df: milekit.Client(profile="../x"),
     errors.UsageError),
    ("request body not JSON", lambda c, df: c.request("POST", "/task", json={"x": object()}),
     errors.UsageError),
    ("unknown export suffix", lambda c, df: milekit.export("tasks", "x.xls", client=c),
     errors.UsageError),
    ("push: read-only column edited",
     lambda c, df: milekit.push(_edited(df, _set("status", "DONE")), client=c),
     PushValidationError),
    ("push: value that does not fit its column",
     lambda c, df: milekit.push(_edited(df, _set("assignee", 42)), client=c),
     PushValidationError),
    ("push: unknown column",
     lambda c, df: milekit.push(_edited(df, lambda d: d.__setitem__("bogus", "x")), client=c),
     PushValidationError),
    ("push: required field cleared",
     lambda c, df: milekit.push(_edited(df, _set("hubId", pd.NA)), client=c),
     PushValidationError),
    ("push: id edited",
     lambda c, df: milekit.push(_edited(df, _new_first_id), client=c), PushValidationError),
    ("push: duplicate id", lambda c, df: milekit.push(pd.concat([df, df.iloc[:1]]), client=c),
     PushValidationError),
    ("push: create without flow/hubId",
     lambda c, df: milekit.push(pd.concat([df, _new_row(df)]), client=c, create=True),
     PushValidationError),
    ("push: a frame of another resource", lambda c, df: milekit.push(df, "hubs", client=c),
     errors.UsageError),
    ("push: delete=True on a subset",
     lambda c, df: milekit.push(df.iloc[:5], client=c, delete=True), errors.UsageError),
    ("push: request cap under 1 KiB",
     lambda c, df: milekit.push(df, client=c, max_request_bytes=100), errors.UsageError),
    ("push: a frame with no snapshot",
     lambda c, df: milekit.push(pd.DataFrame({"title": ["x"]}).rename_axis("_id"), client=c),
     errors.UsageError),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT, ids=[what for what, _, _ in BAD_INPUT])
def test_bad_input_is_refused_before_anything_is_sent(
    world: tuple[Sandbox, milekit.Client, pd.DataFrame],
    case: tuple[str, Callable[[milekit.Client, pd.DataFrame], Any], type[Exception]],
) -> None:
    sb, client, df = world
    _what, call, error = case
    writes = [r for r in sb.app.request_log if r.method != "GET"]
    before = (len(sb.app.request_log), len(writes))
    with pytest.raises(error) as ei:
        call(client, df)
    assert type(ei.value) is error, repr(ei.value)  # the class named, not a wider one
    assert isinstance(ei.value, errors.MileError)
    if error is PushValidationError:  # validation may read the flows, never write
        assert len([r for r in sb.app.request_log if r.method != "GET"]) == before[1]
    else:
        assert len(sb.app.request_log) == before[0]  # nothing at all was sent


# --- the token and redirects -----------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []
    target = ""

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        if self.target:
            self.send_response(307)
            self.send_header("Location", self.target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"status": true, "data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _server(target: str) -> tuple[ThreadingHTTPServer, type[_Recorder]]:
    handler = type("Handler", (_Recorder,), {"seen": [], "target": target})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_redirect_to_another_host_or_port_drops_the_token(host: str) -> None:
    secret = "redirect-secret-t0ken-55"
    other, seen_there = _server("")
    port = other.server_address[1]
    first, seen_here = _server(f"http://{host}:{port}")
    try:
        url = f"http://127.0.0.1:{first.server_address[1]}/api/v3"
        with milekit.Client(secret, url, limiter=None) as c:
            c.request("GET", "/hubs")
    finally:
        for s in (first, other):
            s.shutdown()
            s.server_close()
    assert seen_here.seen[0]["Authorization"] == f"Bearer {secret}"
    assert seen_there.seen and "Authorization" not in seen_there.seen[0]  # not forwarded
    assert all(secret not in str(h) for h in seen_there.seen)


def test_no_stray_requests_library_retries_bypass_the_limiter() -> None:
    """urllib3's own retries are off: every attempt is milekit's (and takes a token)."""
    with milekit.Client("t0ken-abc", "http://127.0.0.1:9/api/v3", limiter=None) as c:
        for adapter in c.session.adapters.values():
            assert isinstance(adapter, requests.adapters.HTTPAdapter)
            assert adapter.max_retries.total == 0
