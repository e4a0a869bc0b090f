"""The wire: error mapping, retries, the token as a secret, pagination — all against the
sandbox over a real loopback socket."""

from __future__ import annotations

import gc
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import pytest

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.wire.retry import DEFAULT_TIMEOUT, FIRST_CONTACT, RetryPolicy, parse_retry_after
from tests.conftest import SleepRecorder

TOKEN = "sandbox-token"


def _client(sb: Sandbox, **kw: object) -> milekit.Client:
    kw.setdefault("limiter", None)
    return milekit.Client(sb.token, sb.url, **kw)  # type: ignore[arg-type]


# --- error statuses -> exceptions ----------------------------------------------------------


def test_401_wrong_token(sandbox: Sandbox) -> None:
    with milekit.Client("not-the-token", sandbox.url, limiter=None) as c:
        with pytest.raises(errors.AuthError) as ei:
            c.request("GET", "/tasks")
    assert ei.value.status == 401 and ei.value.api_message


def test_404_keeps_api_message(client: milekit.Client) -> None:
    with pytest.raises(errors.NotFoundError) as ei:
        client.request("GET", "/task/000000000000000000000000")
    assert ei.value.status == 404
    assert ei.value.api_message == "Data not found"
    assert isinstance(ei.value, KeyError)  # usable as a lookup miss


def test_404_unknown_path_and_405_wrong_method(client: milekit.Client) -> None:
    with pytest.raises(errors.NotFoundError):
        client.request("GET", "/no-such-thing")
    with pytest.raises(errors.MethodNotAllowedError) as ei:
        client.request("PATCH", "/tasks", json={"x": 1}, retry=RetryPolicy(attempts=1))
    assert ei.value.status == 405


def test_406_on_unsupported_accept(client: milekit.Client) -> None:
    client.session.headers["Accept"] = "text/html"
    with pytest.raises(errors.NotAcceptableError):
        client.request("GET", "/tasks", params={"limit": 1})


def test_400_laravel_message(fresh: Sandbox) -> None:
    with _client(fresh) as c, pytest.raises(errors.BadRequestError) as ei:
        c.request("POST", "/task", json={"hubId": "x"})
    assert "The flow field is required." in ei.value.api_message
    assert isinstance(ei.value, ValueError)


def test_409_duplicate_id(fresh: Sandbox) -> None:
    existing = next(iter(fresh.store.values("tasks")))
    body = {"_id": existing["_id"], "flow": existing["flow"], "hubId": existing["hubId"]}
    with _client(fresh) as c, pytest.raises(errors.ConflictError) as ei:
        c.request("POST", "/task", json=body)
    assert ei.value.status == 409


def test_413_payload_too_large(fresh: Sandbox) -> None:
    fresh.app.max_body_bytes = 1000
    with _client(fresh) as c, pytest.raises(errors.PayloadTooLargeError):
        c.request("PATCH", "/tasks/bulk", json={"tasks": [{"_id": "x", "title": "y" * 5000}]})


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_map_to_server_error_with_failed_code(fresh: Sandbox, status: int) -> None:
    body = {"status": False, "message": "boom", "failedCode": "sys-045"}
    fresh.faults.add(status=status, times=10, body=body)
    with _client(fresh, retry=False) as c, pytest.raises(errors.ServerError) as ei:
        c.request("GET", "/tasks")
    assert (ei.value.status, ei.value.api_message, ei.value.failed_code) == (
        status,
        "boom",
        "sys-045",
    )


def test_429_maps_to_rate_limit_error_with_retry_after(fresh: Sandbox) -> None:
    fresh.faults.add(status=429, times=5, retry_after=7)
    with _client(fresh, retry=False) as c, pytest.raises(errors.RateLimitError) as ei:
        c.request("GET", "/tasks")
    assert ei.value.retry_after == 7


# --- retries -----------------------------------------------------------------------------


def test_get_retried_after_503_honouring_retry_after(
    fresh: Sandbox, recorder: SleepRecorder
) -> None:
    fresh.faults.add(status=503, times=2, retry_after=3)
    with _client(fresh, sleep=recorder) as c:
        r = c.request("GET", "/tasks", params={"limit": 1})
    assert r.status == 200 and r.attempts == 3
    assert len(recorder.calls) == 2
    assert all(3.0 <= d <= 3.0 + RetryPolicy().jitter for d in recorder.calls)


def test_get_retried_on_502_504_with_backoff(fresh: Sandbox, recorder: SleepRecorder) -> None:
    fresh.faults.add(status=502, times=1)
    fresh.faults.add(status=504, times=1)
    with _client(fresh, sleep=recorder) as c:
        assert c.request("GET", "/tasks", params={"limit": 1}).attempts == 3
    assert recorder.calls[0] < recorder.calls[1] + 1.0  # exponential, jittered


def test_a_get_answered_500_is_retried(fresh: Sandbox, recorder: SleepRecorder) -> None:
    # issue 12: a read answered 500 was never retried (note 32)
    fresh.faults.add(status=500, times=2, method="GET")
    with _client(fresh, sleep=recorder) as c:
        assert c.request("GET", "/tasks", params={"limit": 1}).attempts == 3
    assert len(recorder.calls) == 2


def test_a_write_answered_500_is_not_retried(fresh: Sandbox, recorder: SleepRecorder) -> None:
    task = next(iter(fresh.store.values("tasks")))
    fresh.faults.add(status=500, times=1, method="PATCH")
    with _client(fresh, sleep=recorder) as c, pytest.raises(errors.ServerError):
        c.request("PATCH", f"/task/{task['_id']}", json={"title": "x"})
    assert recorder.calls == []


def test_gives_up_after_the_policy_attempts(fresh: Sandbox, recorder: SleepRecorder) -> None:
    fresh.faults.add(status=503, times=100)
    with _client(fresh, sleep=recorder, retry=RetryPolicy(attempts=4)) as c:
        with pytest.raises(errors.ServerError):
            c.request("GET", "/tasks")
    assert len(recorder.calls) == 3


def test_retries_stop_when_the_time_budget_is_spent(
    fresh: Sandbox, recorder: SleepRecorder
) -> None:
    fresh.faults.add(status=502, times=None)
    policy = RetryPolicy(budget=20.0, max_backoff=4.0)
    with _client(fresh, sleep=recorder, retry=policy) as c, pytest.raises(errors.ServerError):
        c.request("GET", "/tasks")
    assert 5 <= len(recorder.calls) and sum(recorder.calls) <= 20.0
    assert sum(recorder.calls) > 20.0 - 2 * (4.0 + policy.jitter)  # it used the budget


def test_retry_after_beyond_the_cap_raises_at_once(fresh: Sandbox, recorder: SleepRecorder) -> None:
    fresh.faults.add(status=429, times=1, retry_after=3600)
    with _client(fresh, sleep=recorder) as c, pytest.raises(errors.RateLimitError):
        c.request("GET", "/tasks")
    assert recorder.calls == []


def test_write_retried_on_429_but_not_on_502(fresh: Sandbox, recorder: SleepRecorder) -> None:
    task = next(iter(fresh.store.values("tasks")))
    path = f"/task/{task['_id']}"
    fresh.faults.add(status=429, times=1, retry_after=1, method="PATCH")
    with _client(fresh, sleep=recorder) as c:
        assert c.request("PATCH", path, json={"title": "retried"}).attempts == 2
        fresh.faults.add(status=502, times=1, method="PATCH")
        with pytest.raises(errors.ServerError):
            c.request("PATCH", path, json={"title": "not retried"})
    patches = [w for w in fresh.store.write_log if w["method"] == "PATCH"]
    assert len(patches) == 1  # applied exactly once
    assert fresh.store.get("tasks", task["_id"])["title"] == "retried"


def test_dropped_connection_on_write_is_reported_not_resent(
    fresh: Sandbox, recorder: SleepRecorder
) -> None:
    task = next(iter(fresh.store.values("tasks")))
    fresh.faults.add(drop=True, times=1, method="PATCH", after_apply=True)
    with _client(fresh, sleep=recorder) as c, pytest.raises(errors.TransportError) as ei:
        c.request("PATCH", f"/task/{task['_id']}", json={"title": "maybe"})
    assert ei.value.sent is True  # the server may have applied it: the caller must check
    assert recorder.calls == []
    assert len([w for w in fresh.store.write_log if w["method"] == "PATCH"]) == 1


def test_dropped_connection_on_get_is_retried(fresh: Sandbox, recorder: SleepRecorder) -> None:
    fresh.faults.add(drop=True, times=2, method="GET")
    with _client(fresh, sleep=recorder) as c:
        assert c.request("GET", "/tasks", params={"limit": 1}).attempts == 3


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_retried_even_for_writes(recorder: SleepRecorder) -> None:
    """Once the host has answered, a refused connection gets the patient retries (a
    server that went away may come back), writes too: nothing was sent."""
    sb = Sandbox(tasks=3)
    sb.start()
    policy = RetryPolicy(budget=30.0)
    c = milekit.Client(sb.token, sb.url, limiter=None, sleep=recorder, retry=policy)
    try:
        c.request("GET", "/tasks", params={"limit": 1})  # the host answers once
    finally:
        sb.stop()  # nothing listens there now
    with c, pytest.raises(errors.TransportError) as ei:
        c.request("POST", "/task", json={"flow": "x"})
    assert not isinstance(ei.value, errors.ConnectError)
    assert ei.value.sent is False
    assert len(recorder.calls) >= 4 and sum(recorder.calls) <= 30.0


# --- a host that cannot be reached fails fast (issue 21 item 3) ------------------------------


def test_a_refused_port_fails_fast_naming_the_host(
    recorder: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    # before: 19 retries over ~110 s, then "ConnectionError: HTTPConnectionPool(...)"
    caplog.set_level(logging.INFO, logger="milekit")
    port = _refused_port()
    secret = "s3cr3t-t0ken-value-123"
    url = f"http://127.0.0.1:{port}/api/v3"
    with milekit.Client(secret, url, limiter=None, sleep=recorder) as c:
        with pytest.raises(errors.ConnectError) as ei:
            c.request("GET", "/tasks")
    err = ei.value
    assert isinstance(err, errors.TransportError) and err.sent is False
    assert (err.host, err.port, err.reason, err.attempts) == (
        "127.0.0.1", port, "connection refused", 3,
    )  # fmt: skip
    assert str(err).startswith(
        f"could not connect to 127.0.0.1:{port} (connection refused) after 3 attempts in "
    )
    assert str(err).endswith("; is the base URL right?")
    assert len(recorder.calls) == 2 and err.elapsed <= 10.0  # the waits included
    assert c.stats.retries == 2
    retried = [r for r in caplog.records if r.getMessage().startswith("retrying in")]
    assert len(retried) == 2 and all(r.levelno == logging.INFO for r in retried)
    assert all("(connection refused)" in r.getMessage() for r in retried)
    assert secret not in caplog.text + repr(err) + str(err)


def test_a_name_that_does_not_resolve_fails_fast(
    recorder: SleepRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []

    def no_such_name(host: object, *args: object, **kw: object) -> object:
        looked_up.append(str(host))  # nothing leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    url = "https://apiweb.mile.invalid/api/v3"
    with milekit.Client(TOKEN, url, limiter=None, sleep=recorder) as c:
        with pytest.raises(errors.ConnectError) as ei:
            c.request("GET", "/tasks")
    assert str(ei.value) == (
        "could not connect to apiweb.mile.invalid:443 (the name apiweb.mile.invalid does not "
        f"resolve) after 3 attempts in {ei.value.elapsed:.1f} s; is the base URL right?"
    )
    assert looked_up == ["apiweb.mile.invalid"] * 3 and ei.value.elapsed <= 10.0


@contextmanager
def _no_handshake() -> Iterator[int]:
    """A loopback port that never completes a handshake: a listening socket whose backlog
    is full (the kernel drops further SYNs), so a connect waits for its timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        pending = [socket.socket() for _ in range(4)]
        try:
            for s in pending:
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
            yield port
        finally:
            for s in pending:
                s.close()


def test_a_connection_nobody_accepts_waits_the_connect_timeout_not_the_read_timeout(
    recorder: SleepRecorder,
) -> None:
    """Each attempt waits the connect timeout (0.2 s here), not the read timeout (real
    waits: 3 x 0.2 s)."""
    with _no_handshake() as port:
        url = f"http://127.0.0.1:{port}/api/v3"
        c = milekit.Client(TOKEN, url, limiter=None, sleep=recorder, timeout=(0.2, 600.0))
        with c, pytest.raises(errors.ConnectError) as ei:
            c.request("GET", "/tasks")
    assert ei.value.reason == "no answer to the connection within 0.2 s"
    assert ei.value.attempts == 3


def test_a_connect_timeout_is_tried_again_only_if_it_fits_in_the_budget(
    recorder: SleepRecorder,
) -> None:
    """The next attempt is expected to take as long as the last: a 0.3 s connect timeout
    within a 0.5 s budget is tried once (with the default 5 s and 10 s: once, so a host
    that never answers the handshake fails within 10 s)."""
    policy = RetryPolicy(budget=0.5, backoff=0.01, jitter=0.0)
    with _no_handshake() as port:
        url = f"http://127.0.0.1:{port}/api/v3"
        c = milekit.Client(
            TOKEN, url, limiter=None, sleep=recorder, retry=policy, timeout=(0.3, 600.0)
        )
        with c, pytest.raises(errors.ConnectError) as ei:
            c.request("GET", "/tasks")
    assert ei.value.attempts == 1 and recorder.calls == []
    assert FIRST_CONTACT.budget == 10.0 and DEFAULT_TIMEOUT[0] == 5.0


def test_timeouts_are_connect_and_read_apart() -> None:
    with milekit.Client(TOKEN, "http://127.0.0.1:9/api/v3", limiter=None) as c:
        assert c.timeout == (5.0, 120.0)
    with milekit.Client(TOKEN, "http://127.0.0.1:9/api/v3", limiter=None, timeout=(2, 30)) as c:
        assert c.timeout == (2.0, 30.0)
    for bad in [5, (0, 30), (5, None), (1, 2, 3), (5, float("inf"))]:
        with pytest.raises(errors.UsageError, match="timeout is"):
            milekit.Client(TOKEN, "http://127.0.0.1:9", limiter=None, timeout=bad)  # type: ignore[arg-type]


def test_retry_false_tries_a_first_contact_once(recorder: SleepRecorder) -> None:
    url = f"http://127.0.0.1:{_refused_port()}/api/v3"
    with milekit.Client(TOKEN, url, limiter=None, sleep=recorder, retry=False) as c:
        with pytest.raises(errors.ConnectError) as ei:
            c.request("GET", "/tasks")
    assert ei.value.attempts == 1 and recorder.calls == []


def test_a_429_holds_back_every_request_of_the_client(
    fresh: Sandbox, recorder: SleepRecorder
) -> None:
    # issue 12: a 429 slowed only the request that got it (note 33)
    fresh.faults.add(status=429, times=1, retry_after=4, path_prefix="/hubs")
    with _client(fresh, sleep=recorder, adaptive=False) as c:  # the pacer: test_pacing.py
        with pytest.raises(errors.RateLimitError):
            c.request("GET", "/hubs", retry=RetryPolicy(attempts=1))
        assert recorder.calls == []
        c.request("GET", "/flows", params={"limit": 1})  # another path: it waits too
        assert len(recorder.calls) == 1 and 4.0 <= recorder.calls[0] <= 4.0 + 0.25
        assert c.stats.backoff_wait == pytest.approx(recorder.calls[0])
        c.request("GET", "/flows", params={"limit": 1})  # the pause is over
    assert len(recorder.calls) == 1


def test_429s_in_a_row_back_off_exponentially_for_the_client(
    fresh: Sandbox, recorder: SleepRecorder
) -> None:
    fresh.faults.add(status=429, times=4, path_prefix="/hubs", body={"message": "slow down"})
    policy = RetryPolicy(jitter=0.0)
    with _client(fresh, sleep=recorder, retry=policy, adaptive=False) as c:
        c.request("GET", "/hubs")
    assert len(recorder.calls) == 4
    assert all(b > a for a, b in zip(recorder.calls, recorder.calls[1:], strict=False))


def test_every_retry_takes_a_limiter_token(fresh: Sandbox, recorder: SleepRecorder) -> None:
    fresh.faults.add(status=503, times=3, retry_after=0)
    lim = milekit.RateLimiter(limit=100, period=1.0)
    with milekit.Client(fresh.token, fresh.url, limiter=lim, sleep=recorder) as c:
        c.request("GET", "/tasks", params={"limit": 1})
    assert lim.acquired == 4


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10.0


# --- the token is a secret -------------------------------------------------------------------


def test_token_never_in_repr_errors_or_logs(
    fresh: Sandbox, caplog: pytest.LogCaptureFixture, recorder: SleepRecorder
) -> None:
    secret = "s3cr3t-t0ken-value-123"
    caplog.set_level(logging.DEBUG)
    fresh.faults.add(status=503, times=1, retry_after=0, body={"message": f"echo Bearer {secret}"})
    c = milekit.Client(secret, fresh.url, limiter=None, sleep=recorder)
    texts = [repr(c), str(c), repr(c.session.auth)]
    with pytest.raises(errors.AuthError) as ei:
        c.request("GET", "/tasks")
    texts += [str(ei.value), repr(ei.value), ei.value.api_message, caplog.text]
    c.close()
    assert recorder.calls  # the 503 (whose body echoed the token) was logged and retried
    for t in texts:
        assert secret not in t


def test_token_comes_from_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", sandbox.token + "\n")  # pasted with a newline
    monkeypatch.setenv("MILEAPP_BASE_URL", sandbox.url)
    with milekit.Client(limiter=None) as c:
        assert c.base_url == sandbox.url
        assert c.request("GET", "/tasks", params={"limit": 1}).status == 200


def test_missing_token_fails_before_sending(sandbox: Sandbox) -> None:
    with milekit.Client(base_url=sandbox.url, limiter=None) as c:
        with pytest.raises(errors.AuthError, match="no token"):
            c.request("GET", "/tasks")
        assert c.stats.requests == 0


def test_bad_base_url_is_a_usage_error() -> None:
    with pytest.raises(errors.UsageError):
        milekit.Client("t0ken-abc", "ftp://example")


# --- pagination ----------------------------------------------------------------------------


def test_pages_concurrently_and_every_task_exactly_once(sandbox: Sandbox) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process", max_workers=8) as c:
        pages = list(c.pages("tasks", {"sortBy": "createdTime"}, limit=97))
        ids = [r["_id"] for p in pages for r in p.rows]
        assert [p.number for p in pages] == list(range(1, len(pages) + 1))
        assert c.stats.requests == -(-2500 // 97)
    assert len(ids) == len(set(ids)) == sandbox.store.count("tasks")
    assert pages[0].total == 2500


def test_filters_are_sent_on_every_page(sandbox: Sandbox) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        rows = [r for p in c.pages("tasks", {"status": "DONE"}, limit=50) for r in p.rows]
    expected = sum(1 for t in sandbox.store.values("tasks") if t.get("status") == "DONE")
    assert len(rows) == expected and all(r["status"] == "DONE" for r in rows)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x0b", "\x0c", "\u200b"])
def test_a_token_with_a_control_character_is_refused_before_sending(char: str) -> None:
    # issue 12, defect 4: NUL, ESC, DEL, VT and FF inside a token were sent on the wire
    token = f"abc{char}def-secret-42"
    with pytest.raises(errors.UsageError) as ei:
        milekit.Client(token, "http://127.0.0.1:9/api/v3", limiter=None)
    assert "secret-42" not in str(ei.value) and "secret-42" not in repr(ei.value.args)


def test_a_non_ascii_token_is_a_clear_error_that_does_not_hold_the_token() -> None:
    # issue 12, defect 4: a non-Latin-1 token raised UnicodeEncodeError with .object = token
    token = "tökén-ñ-secret-99"
    with pytest.raises(errors.UsageError) as ei:
        milekit.Client(token, "http://127.0.0.1:9/api/v3", limiter=None)
    err = ei.value
    seen = [str(err), repr(err), repr(err.args), repr(getattr(err, "object", ""))]
    assert not any("secret-99" in s or "tökén" in s for s in seen)
    assert err.__cause__ is None and err.__context__ is None


def test_an_echoed_token_is_redacted_from_the_error_body(fresh: Sandbox) -> None:
    # issue 12, defect 4: an error's .body kept a token the server echoed
    secret = "echoed-t0ken-value-77"
    body = {"message": "nope", "debug": {"headers": [f"Bearer {secret}", f"x {secret} y"]}}
    fresh.faults.add(status=400, times=1, body=body)
    with milekit.Client(secret, fresh.url, limiter=None) as c:
        with pytest.raises(errors.BadRequestError) as ei:
            c.request("GET", "/tasks")
    assert secret not in orjson.dumps(ei.value.body).decode()
    assert ei.value.body["debug"]["headers"][1] == "x ******** y"


def test_stats_count_the_time_waited_on_the_limiter(fresh: Sandbox) -> None:
    lim = milekit.RateLimiter(limit=2, period=0.2)
    with milekit.Client(fresh.token, fresh.url, limiter=lim) as c:
        for _ in range(5):
            c.request("GET", "/hubs")
    assert lim.acquired == 5
    assert c.stats.limiter_wait == pytest.approx(lim.waited) and c.stats.limiter_wait > 0.2


def test_a_client_dropped_unclosed_releases_its_own_limiters_connection(
    sandbox: Sandbox,
) -> None:
    """Python 3.13 warns (ResourceWarning) about a SQLite connection left to the collector:
    a client nobody closed still closes the shared limiter it made, and never one it was
    given (others may still use that)."""
    c = milekit.Client(sandbox.token, sandbox.url, limiter="shared")
    given = milekit.RateLimiter.shared("given-elsewhere")
    d = milekit.Client(sandbox.token, sandbox.url, limiter=given)
    own = c.limiter
    assert own is not None and own.bucket.conn is not None  # type: ignore[attr-defined]
    c.request("GET", "/hubs")
    d.request("GET", "/hubs")
    del c, d
    gc.collect()
    assert own.bucket.conn is None  # type: ignore[attr-defined]  # closed with the client
    assert given.bucket.conn is not None  # type: ignore[attr-defined]
    given.close()
