"""The threads reads run on, and what becomes of them after Ctrl-C.

>>> with read_pool(2, "doc") as pool:
...     [f.result() for f in [pool.submit(pow, 2, n) for n in (1, 2)]]
[2, 4]

A read's requests go out on worker threads (pages, objects by id, a lake's reads). Ctrl-C
reaches only the main thread: with a plain ``with ThreadPoolExecutor`` it then waits for
every request still on the wire, up to the read timeout (120 s) for a server that has
stopped answering, and says nothing meanwhile. A read is safe to drop, so a pool from
:func:`read_pool` is not waited for after Ctrl-C: the ``KeyboardInterrupt`` goes on at
once, the requests in flight end in their threads and their answers are thrown away.

The waits for a worker are taken in slices (:func:`finished`): Polars, once imported,
installs a SIGINT handler with ``SA_RESTART`` (pola-rs/polars#21739), under which an
untimed wait is not interrupted by Ctrl-C; a timed one is.

Writes never run on these pools: a push waits for the requests it has sent, whose answers
go to its journal (:mod:`milekit.writes.push.send`). The ``milekit`` command, after Ctrl-C,
exits without waiting for threads only when every one left is a read's
(:func:`only_reads_left`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

__all__ = ["READ_THREADS", "finished", "only_reads_left", "read_pool", "results"]

T = TypeVar("T")

#: the name every read pool's threads start with
READ_THREADS = "milekit-read:"
#: seconds of one slice of a wait for workers (Ctrl-C is seen between two)
SLICE = 0.25


def finished(
    futures: Iterable[Future[Any]],
    return_when: Literal["FIRST_COMPLETED", "ALL_COMPLETED"] = ALL_COMPLETED,
) -> set[Future[Any]]:
    """The futures done once the first (or every) one of ``futures`` is:
    ``concurrent.futures.wait``, in slices of ``SLICE`` seconds so that Ctrl-C gets
    through whatever SIGINT handler is installed.

    >>> with read_pool(1, "doc") as pool:
    ...     [f.result() for f in finished([pool.submit(abs, -3)])]
    [3]
    """
    fs = list(futures)
    while True:
        done, pending = wait(fs, timeout=SLICE, return_when=return_when)
        if not pending or (done and return_when == FIRST_COMPLETED):
            return done


def results(futures: Iterable[Future[T]]) -> list[T]:
    """``[f.result() for f in futures]``, each waited for in slices (:func:`finished`).

    >>> with read_pool(2, "doc") as pool:
    ...     results([pool.submit(abs, -1), pool.submit(abs, -2)])
    [1, 2]
    """
    out = []
    for f in futures:
        finished([f])
        out.append(f.result())
    return out


@contextmanager
def read_pool(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A pool for a read's threads: shut down as ``with ThreadPoolExecutor`` does
    (waiting for its work; after a failure, for what has started only), except after
    Ctrl-C, when what has not started is cancelled and what runs is left to end on its own."""
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix=READ_THREADS + name)
    try:
        yield pool
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def only_reads_left() -> bool:
    """True when every thread but this one is a daemon or a read pool's: what the
    ``milekit`` command asks after Ctrl-C before it exits without waiting for them
    (``milekit.cli.entry``)."""
    me = threading.current_thread()
    return all(
        t is me or t.daemon or t.name.startswith(READ_THREADS) for t in threading.enumerate()
    )
