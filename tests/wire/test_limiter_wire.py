"""The limiter on the real wire: several threads, then two processes, against a sandbox
that answers 429 past 100 requests in any one-second window. These run in real time
(about 2 s each): a rate is a matter of the clock."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import milekit
from milekit.sandbox import Sandbox
from tests.wire.test_ratelimit import max_in_window

pytestmark = pytest.mark.slow


def test_threads_stay_under_100_per_second(fresh: Sandbox) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter="process", max_workers=16) as c:
        ids = [r["_id"] for p in c.pages("tasks", {}, limit=2) for r in p.rows]
        assert c.stats.rate_limited == 0
    assert len(ids) == 300 and len(set(ids)) == 300
    stamps = [r.t for r in fresh.app.request_log]
    assert len(stamps) == 150
    assert max_in_window(stamps, 1.0) <= 100
    assert fresh.app.stats.rejected_429 == 0


def test_two_processes_share_the_budget(fresh: Sandbox, _private_cache: Path) -> None:
    script = textwrap.dedent(
        f"""
        import milekit
        from concurrent.futures import ThreadPoolExecutor
        c = milekit.Client({fresh.token!r}, {fresh.url!r}, limiter="shared", max_workers=8)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: c.request("GET", "/tasks", params={{"limit": 1}}), range(110)))
        print(c.stats.rate_limited)
        c.close()
        """
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(_private_cache))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["0", "0"]  # neither process saw a 429
    stamps = [r.t for r in fresh.app.request_log]
    assert len(stamps) == 220
    assert max_in_window(stamps, 1.0) <= 100
    assert fresh.app.stats.rejected_429 == 0


def test_four_processes_on_a_cold_host_never_pass_100_a_second(tmp_path: Path) -> None:
    """Issue 12, defect 3 (the reliability suite's four readers): four processes start at
    once on a host none has used (a fresh cache dir), each reading every task in pages of
    50 with 16 threads; every request takes a token of the shared window, and the
    sandbox's log shows no more than 100 in a second but the requests it refused.

    The server stamps arrivals, not grants: on this shared 2-core machine (64 threads and
    the server) a granted request can reach it more than the limiter's 50 ms margin late,
    and one such 429 in a run happened in CI; the retry loop absorbs it (every row is
    read), and at most two are tolerated here. Since issue 21 item 8 a request that leaves
    more than 20 ms after its grant is counted again when it leaves (the grants are more
    than the requests by those), and the window reaches back as far as the longest delay.
    """
    cache = tmp_path / "cold-cache"
    with Sandbox(tasks=3000) as sb:
        script = textwrap.dedent(
            f"""
            import milekit
            c = milekit.Client({sb.token!r}, {sb.url!r}, limiter="shared", max_workers=16)
            df = milekit.tasks_frame(client=c, progress=False, limit=50)
            print(len(df), c.stats.rate_limited, c.limiter.counted_again)
            """
        )
        env = dict(os.environ, XDG_CACHE_HOME=str(cache))
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        outs = [p.communicate(timeout=120)[0].strip().split() for p in procs]
        stamps = [r.t for r in sb.app.request_log]
        rejected = sb.app.stats.rejected_429
    grants = _grants(cache / "milekit" / "ratelimit.sqlite")
    assert [o[0] for o in outs] == ["3000"] * 4  # every row, in every process
    assert len(stamps) >= 4 * 60  # 60 pages each (and the flows)
    # every request sent, retries too, took a token; one that left late was counted again
    assert len(grants) == len(stamps) + sum(int(o[2]) for o in outs)
    assert sum(int(o[1]) for o in outs) == rejected <= 2
    assert max_in_window(stamps, 1.0) <= 100 + rejected  # over 100 only by the refused


#: a child process reading every task with 16 threads, where half of the requests leave
#: 0.1 to 0.5 s after their grant (a test hook: a sleep between the token and the
#: socket, as threads waiting for a busy machine's CPU); prints rows, 429s, longest delay,
#: requests counted again
LATE_READER = """
import random, sys, time
import milekit
from milekit.wire import ratelimit
rng, real = random.Random(int(sys.argv[3])), ratelimit.RateLimiter.acquire
def late(self):
    waited = real(self)
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.1, 0.5))
    return waited
ratelimit.RateLimiter.acquire = late
c = milekit.Client(sys.argv[1], sys.argv[2], limiter=sys.argv[4], max_workers=16)
df = milekit.tasks_frame(client=c, progress=False, limit=50)
room = getattr(c.limiter, "headroom", None)  # (none before issue 21)
print(len(df), c.stats.rate_limited, room.largest if room else -1,
      getattr(c.limiter, "counted_again", -1))
"""


def late_readers(sb: Sandbox, limiter: str, caches: list[Path]) -> list[list[str]]:
    """One :data:`LATE_READER` per cache directory, at once: what each printed."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LATE_READER, sb.token, sb.url, str(i), limiter],
            env=dict(os.environ, XDG_CACHE_HOME=str(cache)),
            stdout=subprocess.PIPE,
            text=True,
        )
        for i, cache in enumerate(caches)
    ]
    outs = [p.communicate(timeout=180)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs)
    return outs


def test_requests_that_leave_late_never_push_a_second_over_the_limit(tmp_path: Path) -> None:
    """Issue 21 item 8: three processes sharing the SQLite window on a busy machine reached
    105 requests in one second at the server (5 x 429 of their own): a request granted
    in one window and sent late lands in the next second with that second's grants. Here
    half of the requests leave up to 0.5 s late; the limiter measures the delays and
    widens its window: the server never counts more than 100 in a second, and no 429.
    (Four processes: with three, the overshoot before the fix showed in one run of two.)"""
    with Sandbox(tasks=3000) as sb:
        outs = late_readers(sb, "shared", [tmp_path / "one-machine"] * 4)
        stamps = [r.t for r in sb.app.request_log]
        rejected = sb.app.stats.rejected_429
    assert [o[0] for o in outs] == ["3000"] * 4
    assert max_in_window(stamps, 1.0) <= 100
    assert rejected == 0 and [o[1] for o in outs] == ["0"] * 4
    # each measured its late requests, and counted them again when they left
    assert all(float(o[2]) > 0.1 and int(o[3]) > 0 for o in outs)


def _grants(db: Path) -> list[float]:
    """The grant times (seconds) every limiter recorded in the shared window file."""
    con = sqlite3.connect(db)
    try:
        tables = [
            t
            for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if t.startswith("rl_")
        ]
        return [
            ms / 1000 for t in tables for (ms,) in con.execute(f"SELECT item_timestamp FROM '{t}'")
        ]
    finally:
        con.close()


def test_without_a_limiter_the_server_pushes_back_and_retries_recover(fresh: Sandbox) -> None:
    """The control: with no client-side limit the same burst draws 429s, which the retry
    loop absorbs by waiting Retry-After (so nothing fails, it just takes longer)."""
    with milekit.Client(fresh.token, fresh.url, limiter=None, max_workers=16) as c:
        ids = [r["_id"] for p in c.pages("tasks", {}, limit=2) for r in p.rows]
        assert c.stats.rate_limited > 0
    assert len(set(ids)) == 300
