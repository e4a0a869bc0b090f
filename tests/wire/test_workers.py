"""After Ctrl-C a read does not wait for its requests still on the wire
(milekit.wire.workers): the KeyboardInterrupt goes on at once."""

from __future__ import annotations

import importlib
import signal
import threading
import time

import pytest

from milekit.files import lake_batches
from milekit.wire.workers import READ_THREADS, only_reads_left, read_pool


def test_ctrl_c_leaves_a_read_pool_without_waiting_for_its_requests() -> None:
    answer = threading.Event()  # a server that does not answer until the test ends
    started = threading.Event()

    def on_the_wire() -> str:
        started.set()
        answer.wait(30)
        return "page"

    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt), read_pool(1, "test") as pool:
            flying = pool.submit(on_the_wire)
            queued = pool.submit(on_the_wire)  # not started: one worker
            assert started.wait(10)
            raise KeyboardInterrupt  # Ctrl-C in the main thread, which waited for them
        assert time.monotonic() - t0 < 10  # not the 30 s the request could take
        assert queued.cancelled() and not flying.done()
        assert only_reads_left()  # the `milekit` command may exit now
    finally:
        answer.set()
    assert flying.result(10) == "page"


def test_other_failures_still_wait_for_the_pool() -> None:
    done: list[int] = []

    def slow() -> None:
        time.sleep(0.2)
        done.append(1)

    with pytest.raises(ValueError), read_pool(2, "test") as pool:
        pool.submit(slow)
        raise ValueError
    assert done == [1]


def test_a_thread_that_is_not_a_reads_keeps_the_command_waiting() -> None:
    go = threading.Event()
    push = threading.Thread(target=go.wait, args=(30,), name="milekit-push_0")
    push.start()
    try:
        assert not only_reads_left()
    finally:
        go.set()
        push.join()
    reader = threading.Thread(target=lambda: None, name=READ_THREADS + "page_0")
    reader.start()
    reader.join()


def test_a_lake_run_after_ctrl_c_gives_its_reads_a_moment_then_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reads that end at their next page end before the run cleans up; one whose page
    never comes is not waited for beyond STOP_GRACE. With Polars imported too: its SIGINT
    handler (SA_RESTART, pola-rs/polars#21739) kept an untimed wait from seeing Ctrl-C
    until the wait ended (here: never)."""
    importlib.import_module("polars")  # its handler stays for the session, as for a user
    monkeypatch.setattr(lake_batches, "STOP_GRACE", 0.5)
    answer, running = threading.Event(), threading.Barrier(3)
    ended: list[str] = []

    def quick(stop: threading.Event) -> None:
        running.wait(10)
        stop.wait(10)
        ended.append("quick" if stop.is_set() else "not stopped")

    def stuck(stop: threading.Event) -> None:
        running.wait(10)
        answer.wait(30)

    def ctrl_c() -> None:  # the user, once both reads run and the run waits for them
        running.wait(10)
        time.sleep(0.2)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    t0 = time.monotonic()
    threading.Thread(target=ctrl_c).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            lake_batches.at_once([quick, stuck])
        assert ended == ["quick"]  # it saw stop and ended before at_once raised
        assert time.monotonic() - t0 < 5
    finally:
        answer.set()
