"""The client-side rate limiter: at most N requests in any window of P seconds.

>>> clock = FakeClock()
>>> limiter = RateLimiter(limit=2, period=1.0, clock=clock.time, sleep=clock.sleep)
>>> [round(limiter.acquire(), 2) for _ in range(3)]  # the third waits for the first
[0.0, 0.0, 1.0]

MileApp allows 100 requests per second per *organisation* (note 33), so the budget
is shared by every thread and, with :meth:`RateLimiter.shared` (``Client(limiter="shared")``,
the default), by every process of the same user on this machine: the sliding-window log
then lives in a SQLite file under the user cache directory, guarded by a file lock (pyrate-limiter's
``SQLiteBucket``). The in-process form uses pyrate-limiter's ``InMemoryBucket``.

The limiter never sleeps by itself: it takes ``clock`` and ``sleep`` callables, so its
tests drive a fake clock. The client's retry loop (:mod:`milekit.wire.client`) takes a
token before every attempt, retries included, whatever transport it sends through; the
default transport's connections (:class:`MeasuredAdapter`) tell the limiter when each
request has left.

The server counts arrivals, the window counts grants. A request granted at ``t`` that
leaves at ``t + d`` (threads waiting for the GIL, a busy machine) lands in the server's
second together with requests granted up to ``d`` later: 114-119 in a second were seen
from four processes on a loaded 2-core machine. The adapter's connections tell the
limiter when each granted request has been written to its socket (:meth:`RateLimiter.sent`).
A request that left more than :data:`LATE_AFTER` after its grant is counted in the
window a second time, stamped when it left (:meth:`RateLimiter.left`): every process
sharing the window sees it where the server does. A request still unsent when it falls
out of the window (late by more than the window) is invisible to everyone, so the window
also looks back as far as the longest delay of the last :data:`HEADROOM_MEMORY` seconds
(:class:`Headroom`; it widens only past ``period``, a stalled process). Then the last
request granted among any that reach the server within one of its seconds saw all of
them in its window: never more than ``limit``, once such delays have been seen.

>>> clock = FakeClock()
>>> rl = RateLimiter(limit=2, period=1.0, clock=clock.time, sleep=clock.sleep,
...                  timer=clock.time)
>>> rl.acquire(); clock.sleep(0.3); rl.sent()  # granted, then left 0.3 s later
0.0
0.3
>>> rl.counted_again, rl.try_acquire_now() > 0  # counted again when it left: full
(1, True)
>>> rl.left(clock.time() - 1.5), rl.window  # one left 1.5 s after its grant
(1.5, 1.5)
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from pyrate_limiter import InMemoryBucket, Rate, RateItem, RedisBucket, SQLiteBucket
from pyrate_limiter.abstracts import AbstractBucket
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from milekit.errors import LimiterUnavailableError, UsageError, need

#: The documented organisation-wide limit.
MILEAPP_RATE = 100
#: The window, widened by a small margin so that jitter between our send time and the
#: server's arrival time cannot push 101 requests into one of the server's seconds.
MILEAPP_PERIOD = 1.05
#: a request that leaves its grant later than this is counted again when it leaves; the
#: rest of the period's 50 ms margin (30 ms) is for the way to the server and its clock
LATE_AFTER = 0.02
#: seconds a measured grant-to-send delay widens the window for (then it is forgotten)
HEADROOM_MEMORY = 10.0
#: the most the window widens by: a request later than this (a process stopped for
#: seconds) is late whatever the window; the window never looks back more than
#: ``period + MAX_HEADROOM``
MAX_HEADROOM = 1.0


class Headroom:
    """The longest grant-to-send delay of the last ``memory`` seconds (a sliding maximum).

    >>> h = Headroom(memory=10.0)
    >>> h.observe(0.0, 0.25); h.observe(1.0, 0.05); h.value(5.0), h.value(10.5)
    (0.25, 0.05)
    """

    def __init__(self, memory: float = HEADROOM_MEMORY, cap: float = float("inf")) -> None:
        self.memory, self.cap = memory, cap
        self._lock = threading.Lock()
        #: (when, delay), the delays decreasing: the front is the largest still remembered
        self._kept: deque[tuple[float, float]] = deque()
        self.observed = 0
        self.largest = 0.0  #: the longest delay ever measured (for reports)

    def observe(self, when: float, delay: float) -> None:
        """A request granted ``delay`` seconds before ``when`` left at ``when``."""
        with self._lock:
            self.observed += 1
            self.largest = max(self.largest, delay)
            while self._kept and self._kept[-1][1] <= delay:
                self._kept.pop()
            self._kept.append((when, delay))

    def value(self, now: float) -> float:
        """The longest delay remembered at ``now`` (at most ``cap``)."""
        with self._lock:
            while self._kept and self._kept[0][0] <= now - self.memory:
                self._kept.popleft()
            return min(self.cap, self._kept[0][1]) if self._kept else 0.0


class FakeClock:
    """A clock for tests: ``sleep`` advances ``time`` instantly.

    >>> c = FakeClock(); c.sleep(2.5); c.time()
    2.5
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)


class RateLimiter:
    """Blocks in :meth:`acquire` until a request may be sent.

    >>> RateLimiter(limit=100, period=1.0).limit
    100
    """

    def __init__(
        self,
        limit: int = MILEAPP_RATE,
        period: float = MILEAPP_PERIOD,
        *,
        bucket: AbstractBucket | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "mileapp",
        keep_alive: Callable[[], None] | None = None,
        timer: Callable[[], float] = time.monotonic,
        headroom: Headroom | None = None,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.rate = Rate(limit, max(1, round(period * 1000)))
        self.bucket = bucket if bucket is not None else InMemoryBucket([self.rate])
        self.clock = clock
        self.sleep = sleep
        #: the clock grant-to-send delays are measured on (this process's: a Redis window's
        #: clock is a round trip away)
        self.timer = timer
        #: the grant-to-send delays: the window reaches back as far as the longest of them
        self.headroom = headroom if headroom is not None else Headroom(cap=period + MAX_HEADROOM)
        self.counted_again = 0  #: requests counted a second time, when they left late
        self._granted = threading.local()  #: per thread: when its last token was granted
        self.name = name
        self._lock = threading.Lock()
        #: the lock a shared bucket takes around each admission (a file lock, reentrant
        #: for its thread): held while the request's time is read, too
        lock = getattr(self.bucket, "lock", None)
        self._bucket_lock = lock if isinstance(lock, AbstractContextManager) else nullcontext()
        self._puts = 0
        #: called now and then while tokens are taken (a Redis window's expiry renewed)
        self._keep_alive = keep_alive
        self._redis: Any = None  #: the Redis connection of a Redis window
        #: seconds spent waiting for a token, summed over all callers (thread-seconds)
        self.waited = 0.0
        #: wall-clock seconds during which at least one caller was waiting (progress bars)
        self.throttled = 0.0
        self.acquired = 0
        self._full_at = float("-inf")  # time.monotonic() when the window last was full
        self._waiting = 0
        self._throttled_since = 0.0
        #: held by the one caller waiting for room in a full window (acquire)
        self._turn = threading.Lock()
        #: waits for room that have ended (each before its caller let go of the turn)
        self._room_waits = 0

    @classmethod
    def shared(
        cls,
        key: str,
        limit: int = MILEAPP_RATE,
        period: float = MILEAPP_PERIOD,
        *,
        directory: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> RateLimiter:
        """A limiter whose window is shared by all processes of this user, per ``key``.

        ``key`` names the budget (milekit uses the API host). The window lives in
        ``<user cache dir>/milekit/ratelimit.sqlite``, one table per key. It runs on the
        wall clock, the one clock all processes agree on (``clock`` for tests).
        """
        if directory is None:
            directory = cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        table = "rl_" + hashlib.sha256(key.encode()).hexdigest()[:16]
        rate = Rate(limit, max(1, round(period * 1000)))
        bucket = SQLiteBucket.init_from_file(
            [rate], table=table, db_path=str(directory / "ratelimit.sqlite"), use_file_lock=True
        )
        limiter = cls(limit, period, bucket=bucket, clock=clock, name=key)
        # the limiter holds the file lock (its _bucket_lock) around every call it makes to
        # the bucket: the bucket's own taking it again inside, reentrant, was ~15% of a
        # grant's CPU (0.39 -> 0.33 ms without it: filelock's bookkeeping)
        bucket.lock = threading.RLock()
        return limiter

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def try_acquire_now(self) -> float:
        """Take a token if one is free; return 0.0, or the seconds to wait before retrying.

        The request's time is read once the bucket is ours (a shared bucket's file lock
        taken): read before, while other processes held it, a request would be counted
        from earlier than it was granted and leave the window too soon (issue 12).
        """
        with self._lock, self._unavailable(), self._bucket_lock:
            self._widen()
            now = self._now_ms()
            at = self.timer()
            item = RateItem(self.name, now)
            if self.bucket.put(item):
                self._granted.at = at
                _last_grant.limiter = self
                self._puts += 1
                if self._puts % 500 == 0:
                    self.bucket.leak(now)
                if self._keep_alive is not None and self._puts % 50 == 1:
                    self._keep_alive()
                return 0.0
            wait_ms = self.bucket.waiting(item)
            self._full_at = time.monotonic()
        if not isinstance(wait_ms, int) or wait_ms < 0:
            raise RuntimeError("rate limiter bucket cannot admit a single request")
        return max(wait_ms, 1) / 1000

    @property
    def window(self) -> float:
        """Seconds the window looks back now: ``period``, or as far as the longest recent
        grant-to-send delay when that is longer (module doc)."""
        return max(self.period, self.headroom.value(self.timer()))

    def _widen(self) -> None:
        """The bucket's rate set to the window's current width (the lock held)."""
        ms = max(1, round(self.window * 1000))
        if self.bucket.rates[0].interval != ms:
            self.bucket.rates = [Rate(self.limit, ms)]

    @property
    def granted_at(self) -> float | None:
        """When this thread's last token was granted (on :attr:`timer`), until :meth:`sent`."""
        at: float | None = getattr(self._granted, "at", None)
        return at

    def sent(self) -> float | None:
        """The request this thread was last granted a token for has left (it was written
        to its socket): its grant-to-send delay, which widens the window (module doc).
        None when this thread holds no grant (already reported, or none).

        >>> clock = FakeClock()
        >>> rl = RateLimiter(5, 1.0, clock=clock.time, sleep=clock.sleep, timer=clock.time)
        >>> rl.sent(), rl.acquire(), rl.sent(), rl.sent()
        (None, 0.0, 0.0, None)
        """
        at = self.granted_at
        if at is None:
            return None
        self._granted.at = None
        return self.left(at)

    def left(self, granted: float) -> float:
        """A request granted at ``granted`` (on :attr:`timer`) left now: its delay, kept in
        :attr:`headroom`; when later than :data:`LATE_AFTER`, it is counted again, now."""
        now = self.timer()
        delay = max(0.0, now - granted)
        self.headroom.observe(now, delay)
        if delay > LATE_AFTER:
            self._count_again()
        return delay

    def _count_again(self) -> None:
        """One more item in the window, stamped now, whatever the count (the request has
        left: it is counted where the server counts it)."""
        with self._lock, self._unavailable(), self._bucket_lock:
            rates = self.bucket.rates
            self.bucket.rates = [Rate(2**31 - 1, rates[0].interval)]
            try:
                self.bucket.put(RateItem(self.name, self._now_ms()))
            finally:
                self.bucket.rates = rates
            self.counted_again += 1

    def was_full(self, within: float | None = None) -> bool:
        """Whether this limiter's window was full (a caller had to wait, or was let in
        after waiting) in the last ``within`` seconds (default: one window): then a 429 is
        milekit's own crowd arriving a little late, not someone else spending the budget.

        >>> rl = RateLimiter(1, 1.0, sleep=lambda s: None)
        >>> rl.was_full(), rl.acquire(), rl.try_acquire_now() > 0, rl.was_full()
        (False, 0.0, True, True)
        """
        return time.monotonic() - self._full_at <= (self.window if within is None else within)

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        """A Redis window that stops answering (or whose lock cannot be had) is a
        :class:`LimiterUnavailableError`: nothing is sent past a limit no one keeps."""
        if self._redis is None:
            yield
            return
        import redis

        try:
            yield
        except redis.RedisError as e:
            raise LimiterUnavailableError(
                f"the rate limiter's Redis stopped answering ({e}); nothing more is sent"
            ) from None

    def acquire(self) -> float:
        """Wait for a token; return the seconds waited.

        Callers wait for a full window one at a time: the others queue behind it, asleep,
        instead of each sleeping until the oldest grant leaves and all waking for every
        token (a poll of a shared window is a file lock and a SQLite query).

        >>> clock = FakeClock()
        >>> rl = RateLimiter(2, 1.0, clock=clock.time, sleep=clock.sleep)
        >>> [rl.acquire() > 0 for _ in range(3)], round(rl.throttled, 1)
        ([False, False, True], 1.0)
        """
        queued = self._take_turn()  # seconds queued behind a caller waiting for room
        began: float | None = None  # when this caller began to wait for room (window clock)
        try:
            while (wait := self.try_acquire_now()) > 0.0:
                if began is None:
                    began = self._wait_begins()
                self.sleep(wait)
            if began is not None:
                self._room_waits += 1  # before the turn is let go: a caller queued sees it
        finally:
            self._turn.release()
        waited = queued + (0.0 if began is None else self._now() - began)
        with self._lock:
            self.waited += waited
            self.acquired += 1
            if began is not None:
                self._full_at = time.monotonic()  # granted into a full window
                self._waiting -= 1
                if self._waiting == 0:
                    self.throttled += self._now() - self._throttled_since
        return waited

    def _take_turn(self) -> float:
        """Take the turn to ask for a token; the seconds this caller queued for it behind
        callers waiting for room (0.0 when the turn was free, or its holders were only
        taking a token: a moment, not a wait for room, not throttled)."""
        if self._turn.acquire(blocking=False):
            return 0.0
        at, waits = self.timer(), self._room_waits
        self._turn.acquire()
        # a wait for room that ended while this one queued overlapped its queueing
        return self.timer() - at if self._room_waits != waits else 0.0

    def _wait_begins(self) -> float:
        """A caller waits for room in the window (throttled: some caller waits); when.
        The clock is read only then: a Redis window's is a round trip to the server."""
        now = self._now()
        with self._lock:
            if self._waiting == 0:
                self._throttled_since = now
            self._waiting += 1
        return now

    def _now(self) -> float:
        """The window's clock (a Redis window's is the server's: its failure says so)."""
        with self._unavailable():
            return self.clock()

    # requests-ratelimiter calls this (it duck-types pyrate_limiter.Limiter.try_acquire).
    def try_acquire(
        self, name: str = "", weight: int = 1, blocking: bool = True, timeout: float = -1
    ) -> bool:
        if not blocking:
            return self.try_acquire_now() == 0.0
        self.acquire()
        return True

    @classmethod
    def redis(
        cls,
        url: str,
        scope: str | Callable[[Any], str],
        limit: int = MILEAPP_RATE,
        period: float = MILEAPP_PERIOD,
    ) -> RateLimiter:
        """A limiter whose window lives in Redis (or Valkey 6+): shared by every process on
        every machine that uses the same server and ``scope``.

        ``scope`` names the budget (or is called with the connection, once the server
        answered, to name it): milekit passes the API host and the organisation id (never
        the token). The window
        is a sorted set under ``milekit:ratelimit:<scope>`` (pyrate-limiter's Redis
        bucket), stamped with the Redis server's clock, the one clock all machines share;
        it expires once nobody has used it for a minute. Reading the time and counting the
        request happen under one Redis lock, as the SQLite window's file lock does on one
        machine. The server is reached (and its
        version checked) here, so that a configured Redis that cannot be used fails before
        the first request, never falls back silently.
        """
        conn = connect_redis(url)
        try:
            key = f"milekit:ratelimit:{scope(conn) if callable(scope) else scope}"
        except BaseException:
            conn.close()
            raise
        rate = Rate(limit, max(1, round(period * 1000)))
        bucket = RedisBucket.init([rate], conn, key)
        ttl_ms = max(60_000, 10 * rate.interval)

        def keep_alive() -> None:
            conn.pexpire(key, ttl_ms)

        def server_time() -> float:
            seconds, micros = conn.time()
            return float(seconds) + float(micros) / 1e6

        limiter = cls(
            limit, period, bucket=bucket, clock=server_time, name=key, keep_alive=keep_alive
        )
        limiter._redis = conn
        # the time is read and the request counted under one lock across machines (redis-py's
        # Lock, expiring): read apart, another machine could count a later request in
        # between, which this one's window would not see (101 in a second)
        limiter._bucket_lock = conn.lock(f"{key}:lock", timeout=5, blocking_timeout=30)
        return limiter

    def close(self) -> None:
        """Release the bucket's resources (the SQLite or Redis connection of a shared one)."""
        if isinstance(self.bucket, SQLiteBucket):
            self.bucket.close()  # type: ignore[no-untyped-call]
        conn = getattr(self, "_redis", None)
        if conn is not None:
            conn.close()

    def __repr__(self) -> str:
        kind = (
            "shared" if isinstance(self.bucket, SQLiteBucket)
            else "redis" if isinstance(self.bucket, RedisBucket)
            else "in-process"
        )  # fmt: skip
        return f"RateLimiter({self.limit} per {self.period:g}s, {kind})"


#: per thread: the limiter that granted its last token (the connection that sends the
#: request tells it when the request left)
_last_grant = threading.local()


def _left() -> None:
    """A request was written to its socket: the limiter that granted it is told."""
    limiter: RateLimiter | None = getattr(_last_grant, "limiter", None)
    if limiter is not None:
        _last_grant.limiter = None
        limiter.sent()


class _Conn(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _left()


class _SConn(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _left()


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Conn


class _SPool(HTTPSConnectionPool):
    ConnectionCls = _SConn


class MeasuredAdapter(HTTPAdapter):
    """An HTTP adapter whose connections report to the limiter that granted a request when
    it has been written to its socket (:meth:`RateLimiter.sent`): late requests are counted
    again when they leave, and the window reaches back as far as the longest recent delay.
    The token itself is taken above, by the client's retry loop."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _SPool}


#: ``"shared"``/``"sqlite"``, ``"process"``, a ``redis://``/``rediss://`` URL, a limiter, None
LimiterArg = RateLimiter | str | None
#: the environment variable that picks the limiter when the code does not
LIMITER_ENV = "MILEKIT_LIMITER"


def choose_limiter(
    limiter: LimiterArg, host: str, setting: str | None, scope: Callable[[Any], str]
) -> RateLimiter | None:
    """The limiter ``Client(limiter=...)`` names (``"default"``: ``MILEKIT_LIMITER``, else
    the profile's ``setting``, else ``"shared"``); ``scope`` names a Redis window once
    its server answered (the client passes the organisation's key).

    >>> choose_limiter("process", "h", None, str)
    RateLimiter(100 per 1.05s, in-process)
    """
    if limiter == "default":
        env = os.environ.get(LIMITER_ENV, "").strip()
        limiter = env or setting or "shared"
    if limiter is None or isinstance(limiter, RateLimiter):
        return limiter
    if limiter in ("shared", "sqlite"):
        return RateLimiter.shared(host)
    if limiter == "process":
        return RateLimiter()
    if isinstance(limiter, str) and "://" in limiter:
        return RateLimiter.redis(limiter, scope)
    raise UsageError(
        "limiter is 'shared' (or 'sqlite'), 'process', a redis:// or rediss:// URL, a "
        f"RateLimiter or None; got {limiter!r}"
    )


def estimate_seconds(requests_count: int, limiter: RateLimiter | None) -> float:
    """Lower bound of the time ``requests_count`` requests take under ``limiter``.

    >>> estimate_seconds(250, RateLimiter(100, 1.0))
    2.0
    """
    if limiter is None or requests_count <= limiter.limit:
        return 0.0
    return math.floor((requests_count - 1) / limiter.limit) * limiter.period


#: Redis URL schemes a limiter accepts
REDIS_SCHEMES = ("redis", "rediss")
#: the oldest Redis (and Valkey, which reports a compatible ``redis_version``) that works
REDIS_MIN_VERSION = (6, 0)


def cache_dir() -> Path:
    """Where the shared window (``ratelimit.sqlite``) lives: ``milekit`` under the user's
    cache directory (platformdirs; ``$XDG_CACHE_HOME/milekit`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("milekit"))


def connect_redis(url: str) -> Any:
    """A connection to the Redis server at ``url``, checked: it answers, and it is 6.0+.

    >>> connect_redis("http://localhost:6379")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: a Redis limiter URL is redis://host[:port][/db] ...
    """
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise UsageError(
            "a Redis limiter URL is redis://host[:port][/db] or rediss://..., "
            f"got {redact_url(url)!r}"
        )
    _check_db(url)
    redis = need("redis", "redis", 'Client(limiter="redis://...")')

    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        info = conn.info("server")
    except ValueError as e:
        raise UsageError(f"malformed Redis URL {redact_url(url)!r}: {e}") from None
    except redis.RedisError as e:
        raise LimiterUnavailableError(
            f"the rate limiter's Redis at {redact_url(url)} cannot be reached ({e}); "
            "milekit does not fall back to a local limit that could exceed the "
            "organisation's"
        ) from None
    version = tuple(int(x) for x in str(info.get("redis_version", "0.0")).split(".")[:2])
    if version < REDIS_MIN_VERSION:
        conn.close()
        raise LimiterUnavailableError(
            f"the rate limiter needs Redis or Valkey 6+, {redact_url(url)} runs {version}"
        )
    return conn


def _check_db(url: str) -> None:
    """The db of a Redis URL (``/3`` or ``?db=3``) is a non-negative whole number: redis-py
    takes one it cannot read (``/x``) for db 0, silently.

    >>> _check_db("redis://localhost:6379/x")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: the db of a Redis limiter URL is a non-negative whole ...
    """
    parts = urlsplit(url)
    given = [parts.path[1:]] if parts.path not in ("", "/") else []
    given += parse_qs(parts.query, keep_blank_values=True).get("db", [])
    bad = [db for db in given if not (db.isascii() and db.isdigit())]
    if bad:
        raise UsageError(
            "the db of a Redis limiter URL is a non-negative whole number "
            f"(redis://host:6379/0), got {bad[0]!r} in {redact_url(url)!r}"
        )


def redact_url(url: str) -> str:
    """``url`` without its password.

    >>> redact_url("redis://user:s3cret@host:6379/0")
    'redis://user:***@host:6379/0'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
