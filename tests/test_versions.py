"""Which engine is running: ``milekit.show_versions()`` and ``milekit --version --verbose``
say the versions, the page decoder (and why not), the limiter, where tokens go and the
paths; an install without the C decoder says so once in ``milekit demo``. No token, no
Redis password, ever."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import milekit
from milekit import cli
from milekit.types import schema
from milekit.versions import CORE, EXTRAS, version_of, versions_text
from milekit.wire import credentials
from milekit.wire.ratelimit import cache_dir
from tests.types.test_pagejson import _NO_COMPILER  # the extension made unimportable

TOKEN = "t0ken-never-printed-4242"


def test_show_versions_says_what_a_bug_report_needs(capsys: pytest.CaptureFixture[str]) -> None:
    milekit.show_versions()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"milekit {milekit.__version__}"
    assert lines[1].startswith(f"Python {platform.python_version()} ")
    for dist in CORE:
        assert f"  {dist:<22}{version_of(dist)}" in lines
    for dist, extra in EXTRAS:  # the tests install [all]
        assert f"  {dist:<22}{version_of(dist)}  [{extra}]" in lines
    decoder = "active" if schema.NATIVE else "not active: "
    assert any(line.startswith(f"C page decoder: {decoder}") for line in lines)
    assert f"config: {credentials.config_dir()}" in lines
    assert f"cache: {cache_dir()}" in lines
    assert any(line.startswith("tokens go to: ") for line in lines)


def test_the_limiter_is_the_default_clients_and_no_secret_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MILEKIT_LIMITER", "redis://user:s3cret-pw@127.0.0.1:6379/0")
    assert "rate limiter: redis://user:***@127.0.0.1:6379/0 (MILEKIT_LIMITER" in versions_text()
    monkeypatch.delenv("MILEKIT_LIMITER")
    client = milekit.Client(TOKEN, "http://127.0.0.1:9/api/v3", limiter="process")
    milekit.use(client)
    try:
        text = versions_text()
    finally:
        milekit.use(None)
        client.close()
    assert "rate limiter: RateLimiter(100 per " in text and "in-process) (the default" in text
    assert TOKEN not in text and "s3cret" not in text


def test_a_profiles_limiter_setting_is_read_without_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILEKIT_CREDENTIALS", "file")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("MILEKIT_LIMITER", raising=False)
    monkeypatch.delenv("MILEAPP_PROFILE", raising=False)
    store = credentials.CredentialStore()
    store.save("default", credentials.Secret(TOKEN), None, "redis://:pw-hidden@h:6379/0")
    text = versions_text()
    assert "rate limiter: redis://:***@h:6379/0 (profile 'default'" in text
    assert TOKEN not in text and "pw-hidden" not in text
    assert f"config: {tmp_path / 'milekit'}" in text


def test_version_verbose_prints_the_report_and_version_alone_stays_short(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--version", "--verbose"]) == 0
    assert capsys.readouterr().out == versions_text() + "\n"
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"milekit {milekit.__version__}\n"


@pytest.mark.parametrize("how", ["not built", "MILEKIT_NATIVE=0"])
def test_without_the_decoder_show_versions_and_the_demo_say_so_once(
    how: str, tmp_path: Path
) -> None:
    code = (_NO_COMPILER if how == "not built" else "") + (
        "import milekit, milekit.cli\n"
        "milekit.show_versions()\n"
        f"milekit.cli.main(['demo', '--tasks', '30', '--out', {str(tmp_path)!r}])\n"
    )
    env = {**os.environ, "MILEKIT_NATIVE": "0" if how == "MILEKIT_NATIVE=0" else "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env
    )
    assert out.returncode == 0, out.stderr
    why = (
        "not built (built without a C compiler): the install had no C compiler"
        if how == "not built"
        else "turned off with MILEKIT_NATIVE=0"
    )
    line = f"C page decoder: not active: {why}"
    assert sum(x.startswith(line) for x in out.stdout.splitlines()) == 1
    notes = [x for x in out.stdout.splitlines() if x.startswith("note: ")]
    assert len(notes) == 1  # once, in the demo
    assert notes[0].startswith(f"note: the C page decoder is not active: {why}")
    assert notes[0].endswith("the same frames, about 2x the CPU")
