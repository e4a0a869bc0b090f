"""An S3 server on loopback for the Delta lake tests: moto's server mode, in its own
process, started once per session and stopped after; each test gets its own bucket and
the AWS environment (dummy keys, the endpoint, plain HTTP) for its own duration only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from milekit.sandbox import Sandbox
from milekit.sandbox.http import iso_now
from milekit.sandbox.store import Op

#: what a test's AWS environment holds (all dummies: moto accepts any key)
DUMMY_KEY, DUMMY_SECRET = "testing-key", "testing-secret-do-not-log"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its endpoint."""

    endpoint: str

    def make_bucket(self) -> str:
        """A new empty bucket (moto takes an unsigned PUT)."""
        name = f"lake-{uuid.uuid4().hex[:12]}"
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/{name}", method="PUT"))
        return name

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": DUMMY_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "NO_PROXY": "127.0.0.1,localhost",
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("the moto server did not start")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the moto server did not listen")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    pytest.importorskip("moto.server")
    port = _free_port()
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, proc)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bucket of the test's own, with the AWS environment set for the test only."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    return s3_server.make_bucket()


def finish(sb: Sandbox, task_id: str) -> None:
    """A worker finishes a task in the field app (not through the public API)."""
    doc = dict(sb.store.get("tasks", task_id) or {})
    stamp = iso_now(time.time())
    doc.update(status="DONE", doneTime=stamp, updatedTime=stamp, doneBy="Field worker")
    sb.store.apply([Op("put", "tasks", task_id, doc)], "POST", "/field-app/done")


def open_ids(sb: Sandbox, status: str) -> list[str]:
    """The ids of the sandbox's tasks in ``status``."""
    return [t["_id"] for t in sb.store.values("tasks") if t.get("status") == status]
