"""Fixtures: a shared read-only sandbox, fresh sandboxes for tests that write or inject
faults, and a guard that no test ever reaches beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import milekit
from milekit.sandbox import Sandbox

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise OSError(f"tests may not connect beyond loopback (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_internet() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shared limiter's SQLite file goes to a temp dir, not the user's cache."""
    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    os.environ.pop("MILEAPP_TOKEN", None)
    os.environ.pop("MILEAPP_BASE_URL", None)
    yield cache
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


_CONFIG_ENV = (
    "XDG_CONFIG_HOME",
    "MILEKIT_CREDENTIALS",
    "PYTHON_KEYRING_BACKEND",
    "MILEAPP_PROFILE",
)


@pytest.fixture(autouse=True, scope="session")
def _private_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Remembered credentials go to a temp config dir, as a file: no test reads or writes
    the user's keyring or ``~/.config/milekit`` (subprocesses inherit this too)."""
    config = tmp_path_factory.mktemp("config")
    saved = {k: os.environ.get(k) for k in _CONFIG_ENV}
    os.environ.update(
        {
            "XDG_CONFIG_HOME": str(config),
            "MILEKIT_CREDENTIALS": "file",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
    )
    os.environ.pop("MILEAPP_PROFILE", None)
    yield config
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _reset_context() -> Iterator[None]:
    yield
    milekit.use(None)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A read-only demo org for the whole session (tests must not write to it)."""
    with Sandbox(tasks=2500) as sb:
        yield sb


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    """A small sandbox of one's own: for writes, faults and rate-limit tests."""
    with Sandbox(tasks=300) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        yield c


@contextmanager
def running_redis(work: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real redis-server on a free loopback port: ``(url, process)``."""
    exe = shutil.which("redis-server")
    if exe is None:  # skipped on a newcomer's machine; .ci/run installs it and requires it
        msg = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("MILEKIT_REQUIRE_REDIS") or os.environ.get("CI"):
            pytest.fail(msg + "; MILEKIT_REQUIRE_REDIS/CI is set, so this is a failure")
        pytest.skip(msg)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", str(work), "--protected-mode", "yes"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert proc.poll() is None, "redis-server exited at start"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the session (``.ci/run`` installs Debian's when it is
    missing and sets ``MILEKIT_REQUIRE_REDIS``: there a machine without one fails; elsewhere
    the Redis tests are skipped)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as (url, _):
        yield url


class SleepRecorder:
    """Injected into the retry loop: records delays, sleeps only ``scale`` of them."""

    def __init__(self, scale: float = 0.0) -> None:
        self.calls: list[float] = []
        self.scale = scale

    def __call__(self, seconds: float) -> None:
        import time

        self.calls.append(seconds)
        if self.scale:
            time.sleep(seconds * self.scale)


@pytest.fixture
def recorder() -> SleepRecorder:
    return SleepRecorder()
