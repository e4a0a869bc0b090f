"""The command line as a new user meets it: help for every argument, export's switches,
a hint for a base URL without /api/v3, warnings as one readable line."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import milekit
from milekit.cli import _parser, main
from milekit.sandbox import Sandbox
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


def _interrupted(cmd: list[str], env: dict[str, str], started: Callable[[], bool]) -> list[str]:
    """Run ``cmd``, send it Ctrl-C once ``started()``; it exits 130: its stderr lines."""
    import signal
    import time

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    return stderr.strip().splitlines()


@pytest.mark.parametrize("existed", [False, True])
def test_ctrl_c_during_an_export_says_so_and_what_it_left(
    fresh: Sandbox, tmp_path: Path, existed: bool
) -> None:
    """Item 12: Ctrl-C printed nothing. It prints one line saying the export was
    interrupted and that the target was not written (no partial file; an earlier file
    of that name untouched), and exits 130."""
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "tasks.parquet"
    if existed:
        out.write_bytes(b"an earlier export")
    fresh.faults.latency = (
        1.5  # every page a while on the wire (a loaded machine is slow to signal)
    )
    env = {"MILEAPP_TOKEN": fresh.token, "PATH": "", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "milekit", "export", "tasks", "-o", str(out), "--limit", "10",
           "--no-progress", "--base-url", fresh.url]  # fmt: skip
    lines = _interrupted(
        cmd, env, lambda: any(r.path == "/api/v3/tasks" for r in list(fresh.app.request_log))
    )
    assert len(lines) == 1 and lines[0].startswith("milekit: export interrupted"), lines
    assert str(out) in lines[0] and "not written" in lines[0]
    assert ("earlier file" in lines[0]) is existed
    assert [p.name for p in out.parent.iterdir()] == (["tasks.parquet"] if existed else [])
    if existed:
        assert out.read_bytes() == b"an earlier export"


@pytest.mark.parametrize("first", [True, False])
def test_ctrl_c_during_a_sync_says_so_and_what_it_left(
    fresh: Sandbox, tmp_path: Path, first: bool
) -> None:
    lake = tmp_path / "out" / "tasks"
    env = {"MILEAPP_TOKEN": fresh.token, "PATH": "", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "milekit", "sync", "tasks", str(lake), "--no-progress",
           "--base-url", fresh.url]  # fmt: skip
    if not first:
        assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    fresh.faults.latency = 1.5  # the run still reading when Ctrl-C lands, on a loaded machine too
    sent = len(fresh.app.request_log)
    lines = _interrupted(cmd, env, lambda: len(fresh.app.request_log) > sent)  # reading
    assert len(lines) == 1 and lines[0].startswith("milekit: sync interrupted"), lines
    if first:
        assert "nothing of it is left" in lines[0] and not (tmp_path / "out").exists()
    else:
        assert "run the same command again" in lines[0]
        fresh.faults.latency = 0.0
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
