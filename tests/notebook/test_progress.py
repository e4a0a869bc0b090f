"""Progress bars: shown on a terminal with the paginator's total and the rate-limit wait,
never when nobody watches, never with progress=False. (Notebook bars: test_notebooks.)"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import sys
import termios
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.wire.ratelimit import FakeClock, RateLimiter


class TTYStderr:
    """sys.stderr on a real pseudo-terminal; ``text()`` is what the terminal received."""

    def __init__(self) -> None:
        self.master, slave = pty.openpty()
        # a terminal 200 columns wide (a new pty is 0x0, where tqdm draws nothing)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.file = io.TextIOWrapper(io.FileIO(slave, "w"), write_through=True)
        self.received = b""

    def text(self) -> str:
        self.file.flush()
        while select.select([self.master], [], [], 0)[0]:
            chunk = os.read(self.master, 65536)
            if not chunk:
                break
            self.received += chunk
        return self.received.decode(errors="replace")

    @contextmanager
    def active(self) -> Iterator[None]:
        """sys.stderr is this terminal inside the block (pytest resets it between phases,
        so a fixture cannot set it for the test body)."""
        old, sys.stderr = sys.stderr, self.file
        try:
            yield
        finally:
            sys.stderr = old

    def close(self) -> None:
        self.file.close()
        os.close(self.master)


@pytest.fixture
def tty() -> Iterator[TTYStderr]:
    t = TTYStderr()
    assert t.file.isatty()
    yield t
    t.close()


def test_terminal_bar_counts_rows_to_the_paginators_total(sandbox: Sandbox, tty: TTYStderr) -> None:
    with tty.active(), milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, limit=500)  # progress=None: a terminal watches
    assert len(df) == 2500
    out = tty.text()
    assert re.search(r"tasks: 100%.*2500/2500 \[", out), out
    # five pages, and the flows' definitions when they are read during the bar
    assert "limiter wait=0.0s" in out and re.search(r"requests=[56],", out), out


def test_rate_limit_wait_is_shown(sandbox: Sandbox, tty: TTYStderr) -> None:
    clock = FakeClock()  # the limiter's waits pass instantly, and are still counted
    limiter = RateLimiter(2, 1.0, clock=clock.time, sleep=clock.sleep)
    with (
        tty.active(),
        milekit.Client(sandbox.token, sandbox.url, limiter=limiter, max_workers=1) as c,
    ):
        df = milekit.tasks_frame(client=c, limit=500, progress=True)
    assert len(df) == 2500  # 5 pages at 2 per second: ~2 s held back
    # during the read: "rate wait"; at its end: "limiter wait" from client.stats
    waits = [float(w) for w in re.findall(r"(?:rate|limiter) wait=([0-9.]+)s", tty.text())]
    assert waits and waits[-1] == pytest.approx(limiter.throttled, abs=0.05)
    assert 1.9 <= waits[-1] <= 2.2


def test_429s_are_counted_on_the_bar(fresh: Sandbox, tty: TTYStderr) -> None:
    fresh.faults.add(status=429, times=3, retry_after=1, path_prefix="/api/v3/tasks")
    with (
        tty.active(),
        milekit.Client(fresh.token, fresh.url, limiter=None, sleep=lambda s: None) as c,
    ):
        df = milekit.tasks_frame(client=c, limit=50, progress=True)
    assert len(df) == 300 and c.stats.rate_limited == 3
    assert "429s=3" in tty.text()


def test_a_read_ends_with_the_clients_figures(fresh: Sandbox, tty: TTYStderr) -> None:
    """When a read ends its bar shows what client.stats counted during it: requests, 429s,
    retries, the waits for the limiter and in back-off."""
    fresh.faults.add(status=429, times=2, retry_after=1, path_prefix="/api/v3/tasks")
    fresh.faults.add(status=502, times=1, path_prefix="/api/v3/tasks")
    with (
        tty.active(),
        milekit.Client(fresh.token, fresh.url, limiter="process", sleep=lambda s: None) as c,
    ):
        c.request("GET", "/user")  # before the read: not its figures
        milekit.tasks_frame(client=c, limit=100, progress=True)
    last = tty.text().rstrip().splitlines()[-1]
    # three pages and three refused attempts (and the flows' definitions when they are
    # read during the bar, not before it opened)
    assert re.search(r"requests=[67],", last) and "429s=2" in last and "retries=3" in last, last
    assert re.search(r"limiter wait=[0-9.]+s", last) and re.search(r"back-off=[1-9][0-9.]*s", last)


def test_export_shows_the_read_and_a_write_that_comes_after_it(
    sandbox: Sandbox, tty: TTYStderr, tmp_path: Path
) -> None:
    """Parquet is written while the pages come: one bar. CSV is written at the end: a
    second bar for it."""
    with tty.active(), milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        info = milekit.export("tasks", tmp_path / "t.parquet", client=c, limit=1000)
    out = tty.text()
    assert info.rows == 2500
    assert re.search(r"tasks: 100%.*2500/2500 \[", out), out
    assert "writing" not in out
    with tty.active(), milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        milekit.export("tasks", tmp_path / "t.csv", client=c, limit=1000)
    assert re.search(r"writing t\.csv: 100%.*2500/2500 \[", tty.text()), tty.text()


def test_no_bar_when_off_or_nobody_watches(
    sandbox: Sandbox, tty: TTYStderr, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        with tty.active():
            milekit.tasks_frame(client=c, progress=False)
            milekit.export("tasks", tmp_path / "t.csv", client=c, progress=False)
        assert tty.text() == ""  # a terminal, but progress=False
        capsys.readouterr()  # pytest's stderr: not a terminal
        milekit.tasks_frame(client=c)
        milekit.export("tasks", tmp_path / "t.parquet", client=c)
    assert capsys.readouterr().err == ""
