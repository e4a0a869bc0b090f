"""The command line as a new user meets it: help for every argument, export's switches,
a hint for a base URL without /api/v3, warnings as one readable line."""

from __future__ import annotations

import argparse
import subprocess
import sys
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
