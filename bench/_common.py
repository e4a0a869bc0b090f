"""Shared helpers for the benchmarks: a sandbox in its own process, timing, JSON output.

Run as a script, this module *is* the sandbox process::

    python bench/_common.py '{"tasks": 20000, "latency": 0.1, "rate_limit": 100}'

It prints one JSON line ``{"url": ..., "token": ...}`` once the port is bound, then reads
commands from stdin: ``stats`` answers with the server's counters as one JSON line; EOF or
``quit`` stops the server. Benchmarks drive it through :class:`SandboxProcess`.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: The datetime columns the baselines parse with pd.to_datetime, as a user would list them.
DATETIME_COLUMNS = [
    "startTime",
    "endTime",
    "createdTime",
    "updatedTime",
    "assignedTime",
    "doneTime",
]
ROOT = HERE.parent
# The venv's editable install of milekit resolves to a namespace package when the working
# directory is not the repo root (stale ``NAMESPACES`` in its finder); put the repo first.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class SandboxProcess:
    """A ``milekit.Sandbox`` served by a separate Python process (no GIL shared with us)."""

    def __init__(self, **kw: Any) -> None:
        self.kw = kw
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.token = ""
        self.startup_s = 0.0

    def start(self, timeout: float = 600.0) -> SandboxProcess:
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), json.dumps(self.kw)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sandbox process exited with {self.proc.wait()}")
        info = json.loads(line)
        self.url, self.token = info["url"], info["token"]
        parts = urlsplit(self.url)
        deadline = time.monotonic() + timeout
        while True:  # the port answers?
            try:
                socket.create_connection((parts.hostname, parts.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.startup_s = time.perf_counter() - t0
        return self

    def stats(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return result

    def set_latency(self, seconds: float) -> None:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"latency {seconds}\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def command(self, line: str) -> dict[str, Any]:
        """Send one command line (``faults ...``, ``writes``) and read its JSON answer."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def machine() -> dict[str, Any]:
    import pandas as pd
    import pyarrow as pa

    import milekit

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "note": "2 cores, shared (noisy); compare ratios, not absolute times",
        "milekit": milekit.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _faults(sb: Any, seed: int, error: float, drop: float, burst: float) -> None:
    """Fresh fault rates (and counters) for the next run, seeded."""
    sb.faults.clear()
    sb.faults._rng.seed(seed)
    sb.faults.error_rate, sb.faults.drop_rate, sb.faults.burst_rate = error, drop, burst
    sb.faults.burst_length = 4
    sb.app.stats.rejected_429 = 0


def _serve(kw: dict[str, Any]) -> None:
    from dataclasses import asdict

    from milekit import Sandbox

    sb = Sandbox(**kw)
    url = sb.start("127.0.0.1", 0)
    print(json.dumps({"url": url, "token": sb.token}), flush=True)
    try:
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == "stats":
                print(json.dumps(asdict(sb.app.stats), default=str), flush=True)
            elif cmd[0] == "latency":
                sb.faults.latency = float(cmd[1])
                print("{}", flush=True)
            elif cmd[0] == "faults":  # faults SEED ERROR_RATE DROP_RATE BURST_RATE
                _faults(sb, int(cmd[1]), *(float(x) for x in cmd[2:5]))
                print("{}", flush=True)
            elif cmd[0] == "writes":  # writes per id of the store's write log
                counts = Counter(w["id"] for w in sb.store.write_log if w["method"] != "GET")
                print(
                    json.dumps(
                        {
                            "writes": sum(counts.values()),
                            "max_per_id": max(counts.values(), default=0),
                        }
                    ),
                    flush=True,
                )
            elif cmd[0] == "mistype":  # mistype FIELD EVERY: text in FIELD on every EVERY-th
                # task (before any read: the sandbox keeps each task's JSON once made)
                field, every = cmd[1], int(cmd[2])
                for i, task in enumerate(sb.store.values("tasks")):
                    if i % every == 0:
                        task[field] = f"{i} min"
                print("{}", flush=True)
            elif cmd[0] == "quit":
                break
    finally:
        sb.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
