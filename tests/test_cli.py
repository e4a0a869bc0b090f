"""The command line as a new user meets it: help for every argument, export's switches,
a hint for a base URL without /api/v3, warnings as one readable line."""

from __future__ import annotations

import argparse
import itertools
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import milekit
from milekit.cli import _parser, main
from milekit.sandbox import Sandbox
from milekit.sandbox.faults import FaultAction
from milekit.types import registry


def _arguments(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, argparse.Action]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                out += _arguments(sub, sub_name)
        elif action.dest != "help":
            out.append((name, action))
    return out


def test_every_argument_of_every_command_has_help() -> None:
    missing = [(cmd, a.dest) for cmd, a in _arguments(_parser(), "milekit") if not a.help]
    assert missing == []


def test_export_help_lists_the_resources(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in registry.RESOURCES)


def test_export_takes_limit_and_no_progress(
    fresh: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    out = tmp_path / "t.parquet"
    before = len(fresh.app.request_log)
    args = ["export", "tasks", "-o", str(out), "--limit", "100", "--no-progress"]
    assert main([*args, "--base-url", fresh.url]) == 0
    pages = [r for r in list(fresh.app.request_log)[before:] if r.path == "/api/v3/tasks"]
    assert len(pages) == 3 and all("limit=100" in r.query for r in pages)
    assert len(milekit.read_parquet(out)) == 300


def test_a_base_url_without_api_v3_gets_a_hint_not_just_a_404(
    fresh: Sandbox, tmp_path: Path
) -> None:
    host = fresh.url.removesuffix("/api/v3")
    env = {"MILEAPP_TOKEN": fresh.token, "PATH": "", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "milekit", "export", "tasks", "-o", str(tmp_path / "t.parquet")]
    r = subprocess.run([*cmd, "--base-url", host], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    assert f"did you mean {host}/api/v3?" in r.stderr
    assert "Traceback" not in r.stderr and "runpy" not in r.stderr and ".py:" not in r.stderr
    assert all(line.startswith(("milekit:", "the base URL")) for line in r.stderr.splitlines())
    assert fresh.token not in r.stderr


def test_the_hint_is_on_the_exception_for_python_users(fresh: Sandbox) -> None:
    host = fresh.url.removesuffix("/api/v3")
    with (
        milekit.Client(fresh.token, host, limiter=None) as c,
        pytest.raises(milekit.errors.NotFoundError) as ei,
    ):
        c.request("GET", "/user")
    assert any("/api/v3" in note for note in ei.value.__notes__)


def _interrupted(
    sb: Sandbox, cmd: list[str], env: dict[str, str], path: str, after: int = 0
) -> list[str]:
    """Run ``cmd`` and send it Ctrl-C while the sandbox holds its request for ``path``
    (the first after ``after`` such requests) unanswered; it exits 130: its stderr lines.

    The request is held until the command has exited, so the signal always lands while
    the command waits on the wire, however slow the machine (a latency alone raced: the
    command could finish between the answer and the signal)."""
    arrived, release = threading.Event(), threading.Event()
    seen = itertools.count(1)  # the server's threads count at once
    decide = sb.faults.decide

    def held(method: str, p: str, query: str = "") -> FaultAction | None:
        if p == path and next(seen) == after + 1:
            arrived.set()
            release.wait(120)
        return decide(method, p, query)

    sb.faults.decide = held  # type: ignore[method-assign]
    env = {**env, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not arrived.wait(60):
            proc.kill()
            raise AssertionError(("no request for " + path, proc.communicate()))
        proc.send_signal(signal.SIGINT)
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # its threads' stacks (PYTHONFAULTHANDLER) say why
            proc.send_signal(signal.SIGABRT)
            raise AssertionError(("still running 30 s after Ctrl-C", proc.communicate())) from None
    finally:
        release.set()
        sb.faults.decide = decide  # type: ignore[method-assign]
    assert proc.returncode == 130, (stdout, stderr)
    return stderr.strip().splitlines()


@pytest.mark.parametrize(("existed", "page"), [(False, 1), (True, 1), (False, 2)])
def test_ctrl_c_during_an_export_says_so_and_what_it_left(
    fresh: Sandbox, tmp_path: Path, existed: bool, page: int
) -> None:
    """Item 12: Ctrl-C printed nothing. It prints one line saying the export was
    interrupted and that the target was not written (no partial file; an earlier file
    of that name untouched), and exits 130."""
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "tasks.parquet"
    if existed:
        out.write_bytes(b"an earlier export")
    env = {"MILEAPP_TOKEN": fresh.token, "PATH": "", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "milekit", "export", "tasks", "-o", str(out), "--limit", "100",
           "--no-progress", "--base-url", fresh.url]  # fmt: skip
    lines = _interrupted(fresh, cmd, env, "/tasks", after=page - 1)  # page 2: a worker's
    assert len(lines) == 1 and lines[0].startswith("milekit: export interrupted"), lines
    assert str(out) in lines[0] and "not written" in lines[0]
    assert ("earlier file" in lines[0]) is existed
    assert [p.name for p in out.parent.iterdir()] == (["tasks.parquet"] if existed else [])
    if existed:
        assert out.read_bytes() == b"an earlier export"


@pytest.mark.parametrize(
    ("first", "fmt"), [(True, "parquet"), (False, "parquet"), (True, "delta"), (False, "delta")]
)
def test_ctrl_c_during_a_sync_says_so_and_what_it_left(
    fresh: Sandbox, tmp_path: Path, first: bool, fmt: str
) -> None:
    lake = tmp_path / "out" / "tasks"
    env = {"MILEAPP_TOKEN": fresh.token, "PATH": "", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "milekit", "sync", "tasks", str(lake), "--no-progress",
           "--format", fmt, "--base-url", fresh.url]  # fmt: skip
    if not first:
        assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    lines = _interrupted(fresh, cmd, env, "/tasks")  # Ctrl-C while it reads the tasks
    assert len(lines) == 1 and lines[0].startswith("milekit: sync interrupted"), lines
    if first:
        assert "nothing of it is left" in lines[0] and not (tmp_path / "out").exists()
    else:
        assert "run the same command again" in lines[0]
        with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
            assert milekit.sync("tasks", lake, client=c, progress=False).rows == 300


def test_an_export_to_a_refused_port_says_so_in_one_line(tmp_path: Path) -> None:
    """Issue 21 item 3: ~110 s of silence, then a raw urllib3 line. Now: one sentence
    naming the host and what was tried, exit 1, nothing written."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    token = "a-token-that-stays-secret"
    env = {"MILEAPP_TOKEN": token, "PATH": "", "HOME": str(tmp_path)}
    out = tmp_path / "t.parquet"
    cmd = [sys.executable, "-m", "milekit", "export", "tasks", "-o", str(out),
           "--base-url", f"http://127.0.0.1:{port}/api/v3"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(
        f"milekit: could not connect to 127.0.0.1:{port} (connection refused) after 3 attempts in "
    )
    assert lines[0].endswith("; is the base URL right?")
    assert token not in r.stderr + r.stdout and not out.exists()


def test_an_export_to_a_name_that_does_not_resolve_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_name(host: object, *args: object, **kw: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")  # nothing sent

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    monkeypatch.setenv("MILEAPP_TOKEN", "a-token-that-stays-secret")
    monkeypatch.setenv("MILEKIT_LIMITER", "process")
    args = ["export", "tasks", "-o", str(tmp_path / "t.csv"), "--no-progress"]
    with pytest.raises(SystemExit) as ei:
        main([*args, "--base-url", "https://apiweb.mile.invalid/api/v3"])
    said = str(ei.value.code)
    assert said.startswith(
        "milekit: could not connect to apiweb.mile.invalid:443 (the name apiweb.mile.invalid "
        "does not resolve) after 3 attempts in "
    ), said
