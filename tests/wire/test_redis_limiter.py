"""The organisation's budget shared through a real Redis (issue 14): several "machines"
(processes with their own cache directories) read from the sandbox at once and keep
together to 100 requests a second; a Redis that cannot be used fails before anything
is sent; the token is never in Redis."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.wire.ratelimit import RateLimiter
from tests.conftest import running_redis
from tests.wire.test_limiter_wire import late_readers
from tests.wire.test_ratelimit import max_in_window


def test_a_client_takes_its_tokens_from_the_organisations_window_in_redis(
    fresh: Sandbox, redis_server: str
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=redis_server) as c:
        assert "redis" in repr(c.limiter)
        df = milekit.tasks_frame(client=c, progress=False, limit=100)
        assert len(df) == 300
        # 3 pages, the flows, and the organisation's lookup (GET /user) counted after it
        assert c.limiter is not None and c.limiter.acquired == 5
    org = fresh.store.meta["organization"]["id"]
    host = fresh.url.split("//", 1)[1].split("/", 1)[0]
    conn = redis.Redis.from_url(redis_server)
    key = f"milekit:ratelimit:{host}:{org}"
    assert conn.zcard(key) == 5  # every request took a token of the organisation's window
    assert 0 < conn.pttl(key) <= 60_000  # it expires
    with milekit.Client(fresh.token, fresh.url, limiter=redis_server) as again:
        assert again.limiter is not None and again.limiter.acquired == 0
    users = [r for r in fresh.app.request_log if r.path == "/api/v3/user"]
    assert len(users) == 1  # the organisation was asked once: kept in Redis for the others


def test_the_token_is_never_in_redis(fresh: Sandbox, redis_server: str) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=redis_server) as c:
        milekit.hubs_frame(client=c, progress=False)
    conn = redis.Redis.from_url(redis_server)
    for key in conn.scan_iter("*"):
        assert fresh.token.encode() not in key
        if conn.type(key) == b"zset":
            members = conn.zrange(key, 0, -1)
            assert not any(fresh.token.encode() in m for m in members)


def test_an_unreachable_redis_fails_before_anything_is_sent(fresh: Sandbox) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(errors.LimiterUnavailableError, match="cannot be reached"):
        milekit.Client(fresh.token, fresh.url, limiter=f"redis://:pw@127.0.0.1:{dead}/0")
    assert list(fresh.app.request_log) == []
    with pytest.raises(errors.LimiterUnavailableError) as e:
        RateLimiter.redis(f"redis://:s3cret@127.0.0.1:{dead}/0", "x")
    assert "s3cret" not in str(e.value)  # the Redis password is not echoed


def test_a_redis_that_stops_answering_stops_the_requests(fresh: Sandbox, tmp_path: Path) -> None:
    """Redis gone mid-read: LimiterUnavailableError, and nothing more is sent (not requests
    paced by a limit no one keeps any more)."""
    with running_redis(tmp_path) as (url, proc):
        c = milekit.Client(fresh.token, fresh.url, limiter=url)
        milekit.hubs_frame(client=c, progress=False)
        proc.terminate()
        proc.wait(timeout=10)
        sent = len(fresh.app.request_log)
        with pytest.raises(errors.LimiterUnavailableError, match="stopped answering"):
            milekit.tasks_frame(client=c, progress=False)
        assert len(fresh.app.request_log) == sent
        c.close()


@pytest.mark.parametrize(
    "url",
    ["redis:/nohost", "http://127.0.0.1:6379", "redis://127.0.0.1:notaport/0", "sqlit",
     "redis://127.0.0.1:6379/x", "redis://127.0.0.1:6379/-1", "redis://127.0.0.1:6379/0/1",
     "redis://127.0.0.1:6379/1.5", "redis://127.0.0.1:6379/ 1", "redis://127.0.0.1:6379?db=x"],
)  # fmt: skip
def test_a_malformed_limiter_is_a_usage_error(fresh: Sandbox, url: str) -> None:
    with pytest.raises(errors.UsageError):
        milekit.Client(fresh.token, fresh.url, limiter=url)
    assert list(fresh.app.request_log) == []


def test_a_db_that_is_not_a_number_is_refused_not_taken_for_0(
    fresh: Sandbox, redis_server: str
) -> None:
    """Item 12: redis-py ignores a db it cannot read as a number (``/x`` meant db 0), so
    two configurations meant to be apart would share one window."""
    base = redis_server.rsplit("/", 1)[0] if redis_server.count("/") > 2 else redis_server
    for db in ("/x", "/-1", "/0/1"):
        with pytest.raises(errors.UsageError, match="db") as e:
            RateLimiter.redis(f"{base}{db}", "x")
        assert "a non-negative whole number" in str(e.value)
    RateLimiter.redis(f"{base}/3", "x").close()  # a number is a db
    RateLimiter.redis(f"{base}/", "x").close()  # none given: 0
    assert list(fresh.app.request_log) == []


def test_the_environment_picks_the_limiter(
    fresh: Sandbox, redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILEKIT_LIMITER", redis_server)
    with milekit.Client(fresh.token, fresh.url) as c:
        assert "redis" in repr(c.limiter)
    monkeypatch.setenv("MILEKIT_LIMITER", "process")
    with milekit.Client(fresh.token, fresh.url) as c:
        assert "in-process" in repr(c.limiter)


def test_a_profile_remembers_its_limiter(
    fresh: Sandbox, redis_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``milekit login --limiter redis://...`` checks the Redis and keeps the setting with
    the profile; that profile's clients use it unless MILEKIT_LIMITER says otherwise."""
    from milekit.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("MILEKIT_CREDENTIALS", "file")
    monkeypatch.delenv("MILEKIT_LIMITER", raising=False)
    monkeypatch.delenv("MILEAPP_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(fresh.token + "\n"))
    base = ["login", "--token-stdin", "--base-url", fresh.url, "--profile", "ops"]
    assert main([*base, "--limiter", redis_server]) == 0
    with milekit.Client(profile="ops") as c:
        assert "redis" in repr(c.limiter)
    monkeypatch.setenv("MILEKIT_LIMITER", "process")  # the environment wins
    with milekit.Client(profile="ops") as c:
        assert "in-process" in repr(c.limiter)
    monkeypatch.delenv("MILEKIT_LIMITER")
    monkeypatch.setattr("sys.stdin", io.StringIO(fresh.token + "\n"))
    assert main(base) == 0  # signing in again keeps the setting
    with milekit.Client(profile="ops") as c:
        assert "redis" in repr(c.limiter)
    # an unreachable Redis fails the sign-in, and the profile keeps its setting
    monkeypatch.setattr("sys.stdin", io.StringIO(fresh.token + "\n"))
    with pytest.raises(SystemExit, match="cannot be reached"):
        main([*base, "--limiter", "redis://127.0.0.1:1/0"])
    assert "127.0.0.1:1" not in (tmp_path / "config" / "milekit" / "credentials.json").read_text()


def test_a_redis_limit_needs_a_token_to_know_the_organisation(
    fresh: Sandbox, redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MILEAPP_TOKEN", raising=False)
    with pytest.raises(errors.UsageError, match="per organisation"):
        milekit.Client(base_url=fresh.url, limiter=redis_server, profile="nobody")


@pytest.mark.slow
def test_four_machines_keep_together_to_100_a_second(tmp_path: Path, redis_server: str) -> None:
    """Four processes, each with a cache directory of its own (no SQLite window in common:
    four machines), read every task at once, 16 threads each, through one Redis: the
    window's grants never number more than 100 in a second, and every request took one.

    Alone this run draws no 429; inside the whole suite on this shared 2-core machine a
    granted request can reach the sandbox more than the 50 ms margin late (a 429 appeared
    once): the retry loop absorbs it and at most two are tolerated, as in the SQLite
    window's test. Since issue 21 item 8 a request that leaves more than 20 ms after its
    grant is counted again when it leaves: the window holds more items than requests.
    """
    with Sandbox(tasks=3000) as sb:
        script = textwrap.dedent(
            f"""
            import milekit
            c = milekit.Client({sb.token!r}, {sb.url!r}, limiter={redis_server!r},
                               max_workers=16)
            df = milekit.tasks_frame(client=c, progress=False, limit=50)
            print(len(df), c.stats.rate_limited, c.limiter.counted_again)
            """
        )
        procs = []
        for i in range(4):
            env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / f"machine-{i}"))
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
                )
            )
        outs = [p.communicate(timeout=120)[0].split() for p in procs]
        stamps = [r.t for r in sb.app.request_log]
        lookups = [r for r in sb.app.request_log if r.path == "/api/v3/user"]
        rejected = sb.app.stats.rejected_429
        host, org = sb.url.split("//")[1].split("/")[0], sb.store.meta["organization"]["id"]
        key = f"milekit:ratelimit:{host}:{org}"
        conn = redis.Redis.from_url(redis_server)
        grants = [score / 1000 for _, score in conn.zrange(key, 0, -1, withscores=True)]
    assert [o[0] for o in outs] == ["3000"] * 4
    assert len(stamps) >= 4 * 61 + 1  # 60 pages and the flows each, the organisation
    assert len(lookups) == 1  # once, for all four
    # every request took a token of the one window; one that left late was counted again
    assert len(grants) == len(stamps) + sum(int(o[2]) for o in outs)
    assert sum(int(o[1]) for o in outs) == rejected <= 2
    assert max_in_window(stamps, 1.0) <= 100 + rejected  # over 100 only by the refused


@pytest.mark.slow
def test_machines_whose_requests_leave_late_keep_the_server_within_100(
    tmp_path: Path, redis_server: str
) -> None:
    """Issue 21 item 8: four processes sharing one Redis window on a busy 2-core machine
    reached 114-119 requests in one second at the server (14-19 x 429 of their own). Here
    four "machines" (their own cache directories) send half of their requests up to
    0.5 s after the grant: each widens its window by the delays it measured, and the
    server never counts more than 100 in a second, nor answers 429."""
    with Sandbox(tasks=3000) as sb:
        caches = [tmp_path / f"machine-{i}" for i in range(4)]
        outs = late_readers(sb, redis_server, caches)
        stamps = [r.t for r in sb.app.request_log]
        rejected = sb.app.stats.rejected_429
    assert [o[0] for o in outs] == ["3000"] * 4
    assert max_in_window(stamps, 1.0) <= 100
    assert rejected == 0 and [o[1] for o in outs] == ["0"] * 4
