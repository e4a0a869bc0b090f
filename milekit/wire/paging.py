"""The page walk: how the client reads every page of a list.

>>> from milekit import Client, Sandbox
>>> with Sandbox(tasks=25) as sb, Client(sb.token, sb.url, limiter=None) as c:
...     [p.count for p in c.pages("tasks", limit=10)]
[10, 10, 5]

The strategy is the API's one paginator: pages numbered from 1, page ``N`` asked for as
``page=N`` with the same filters (never the answer's ``*_page_url``, note 5). How a page
is read out of an answer is the list shape's business (:mod:`milekit.wire.envelope`);
how a request is sent and retried, the client's (:class:`milekit.wire.client.Client`
composes a :class:`Paging` per read and hands it its request path).

Page 1 first; once it tells ``last_page``, pages 2..N concurrently, within a window
(:class:`_Window`) that runs at most ``lookahead`` pages ahead of the oldest page not
yet yielded. Lists that do not say how many pages they have are walked one page at a
time. A read whose pages fail ends with :class:`~milekit.errors.IncompleteReadError`,
which ``resume=`` takes to read only what was missed.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from milekit import errors
from milekit.types import registry
from milekit.types.registry import Listing
from milekit.wire import envelope
from milekit.wire.response import Page, Response
from milekit.wire.retry import STALL_PAGES, ReadDeadline, Tries
from milekit.wire.workers import finished, read_pool

__all__ = [
    "CPU_WORKERS", "LOOKAHEAD", "MAX_PAGES", "PageHooks", "Paging", "PagingWarning", "Send",
    "listing_of",
]  # fmt: skip

log = logging.getLogger("milekit")

#: pages a walk may take before it is taken for a server that ignores ``page``
MAX_PAGES = 100_000
#: pages a read fetches at most ahead of the one its reader takes next, by default
LOOKAHEAD = 256
#: how a read sends the GET of one page: ``send(path, params, raw, tries)``, the client's
#: request path with its retries (``raw``: leave the body undecoded, ``parse`` reads it)
Send = Callable[[str, Mapping[str, Any], bool, Tries], Response]


class PagingWarning(errors.MileWarning):
    """The list may be incomplete: the server answered the same page again."""


@dataclass(frozen=True)
class PageHooks:
    """What a read does with each page in the thread that fetched it: ``parse`` the raw
    answer (default: decode JSON, unwrap the envelope), ``transform`` the page, tell
    ``on_page`` (progress bars)."""

    on_page: Callable[[Page], None] | None = None
    transform: Callable[[Page], Page] | None = None
    parse: Callable[[Response, int], Page] | None = None


class Paging:
    """The numbered-page strategy for one read: ``send`` is the client's request path,
    ``workers`` the threads that fetch pages at once, ``budget`` the retry budget the
    pages share (:class:`~milekit.wire.retry.ReadDeadline`).

    >>> Paging(send=lambda *a: Response(200, None, b"", {}, 0.0), workers=4, budget=1.0).workers
    4
    """

    def __init__(self, send: Send, workers: int, budget: float) -> None:
        self.send = send
        self.workers = workers
        self.budget = budget

    def pages(
        self,
        listing: Listing,
        params: Mapping[str, Any] | None,
        limit: int | None,
        hooks: PageHooks,
        max_pages: int = MAX_PAGES,
        lookahead: int | None = LOOKAHEAD,
        resume: errors.IncompleteReadError | None = None,
        expect: int | None = None,
    ) -> Iterator[Page]:
        """Yield every page of ``listing``, in page order (the arguments are
        :meth:`milekit.wire.client.Client.pages`'s).

        Page 1 is fetched first; once it tells ``last_page``, pages 2..N are fetched
        concurrently (``workers`` threads) within the rate limit, so a large read runs
        at the limit rather than at one page per round trip. A page that is slow or being
        retried does not hold the others back: fetching goes on up to ``lookahead`` pages
        past it (``None``: no bound; the pages wait, in memory, to be yielded in order).
        The next page is always built from ``page=N`` (the API's ``*_page_url`` values are
        unreliable, note 5), and every request carries the same filters. When a later page
        says the list has grown (rows added during the read shift offset pages), the new
        last pages are read too, so no row that existed when the read began is missed;
        the repeats go by id. With ``expect`` (the pages an earlier read of the same list
        had), pages 2..``expect`` are asked for beside page 1, not after its answer; the
        first answer then tells how many there are: more are read as above, and of the
        pages asked for past the list's end only those that got rows are yielded.

        A page that still fails after its retries does not stop the others: every page
        that can be read is yielded, then :class:`~milekit.errors.IncompleteReadError`
        says which pages are missing (``resume=`` that error reads only those). The pages
        share one retry budget (``budget``: the client's ``RetryPolicy.budget``): once none
        has been answered for that long they stop retrying, and once :data:`STALL_PAGES`
        pages in a row got no answer no new page is started, so a read whose server has
        gone away ends about ``budget`` seconds after its first failure, however long the
        list.

        Lists whose answer does not say how many pages there are (plain arrays, the
        gallery, Elasticsearch hits with a smaller page than asked for) are walked one page
        at a time until a short or empty page, the answer's own "no more" (the gallery's
        ``last_page: true``), ``total`` rows, or a page that repeats the previous page's
        ids (a server that ignores ``page``: :class:`PagingWarning` when rows may be
        missing).
        """
        base = dict(params or {})
        size = min(limit or listing.max_limit, listing.max_limit)
        if listing.paginated:
            base[listing.limit_param] = size  # ``pageSize`` for activities
        deadline = ReadDeadline(listing.name, self.budget)
        fetch = self._fetcher(listing, base, hooks, deadline)
        if resume is not None:
            yield from self._resumed(listing, fetch, resume, size, max_pages, lookahead)
            return
        if expect is not None and expect > 1 and listing.paginated:
            guess = min(expect, max_pages)
            try:
                todo = list(range(1, guess + 1))
                yield from self._many(listing, fetch, todo, guess, max_pages, lookahead, size)
                return
            except _Uncounted:
                pass  # the list does not say how many pages it has: walked from page 1
        first = fetch(1)
        yield first
        if not listing.paginated:
            return  # the endpoint takes no page parameter: one answer holds everything
        last = _page_count(first, size)
        if last is None:
            yield from self._walk(listing, first, fetch, size, max_pages)
            return
        _check_pages(listing, last, max_pages)
        todo = list(range(2, last + 1))
        yield from self._many(listing, fetch, todo, last, max_pages, lookahead)

    def _fetcher(
        self,
        listing: Listing,
        base: dict[str, Any],
        hooks: PageHooks,
        deadline: ReadDeadline,
    ) -> _Fetch:
        # Parsing is CPU work: as many at a time as there are cores, so the fetching
        # threads do not thrash the GIL and the caches while they wait on the wire.
        parsing = threading.BoundedSemaphore(CPU_WORKERS)
        parse, transform, on_page = hooks.parse, hooks.transform, hooks.on_page

        def fetch(n: int) -> Page:
            q = dict(base)
            if listing.paginated:
                q[listing.page_param] = n
            tries = Tries(read=deadline, page=n)
            resp = self.send(listing.path, q, parse is not None, tries)
            with parsing:
                page = parse(resp, n) if parse else envelope.list_page(resp.body, listing, n)
            # the raw body is parsed now: a 200-page read would otherwise hold every page's
            # bytes (over 200 MB for 200k tasks) until the frame is built
            page.response = replace(resp, content=b"") if parse else resp
            if transform is not None:
                page = transform(page)
            if on_page is not None:
                on_page(page)
            return page

        return _Fetch(fetch, deadline)

    def _resumed(
        self,
        listing: Listing,
        fetch: _Fetch,
        resume: errors.IncompleteReadError,
        size: int,
        max_pages: int,
        lookahead: int | None,
    ) -> Iterator[Page]:
        """The pages an interrupted read missed (and any the list grew by since)."""
        if resume.last_page is None:  # a walked list: walk on from the page that failed
            page = _fetch_or_incomplete(listing, fetch, resume.missing[0], None, resume.seen)
            yield page
            yield from self._walk(listing, page, fetch, size, max_pages, seen=resume.seen)
            return
        yield from self._many(
            listing, fetch, list(resume.missing), resume.last_page, max_pages, lookahead
        )

    def _many(
        self,
        listing: Listing,
        fetch: _Fetch,
        todo: list[int],
        last: int,
        max_pages: int,
        lookahead: int | None,
        guess: int | None = None,
    ) -> Iterator[Page]:
        """Pages ``todo`` fetched concurrently, yielded in order; then the missing ones.
        With ``guess`` (the page size), ``last`` is an expectation the first answer
        settles (an answer without a page count raises _Uncounted before any page is
        yielded)."""
        if not todo:
            return
        workers = max(1, min(self.workers, len(todo)))
        window = _Window(todo, last, workers, lookahead, fetch.deadline, guess is not None)
        failures: dict[int, errors.MileError] = {}
        with read_pool(window.workers, "page") as pool:  # Ctrl-C: not waited for
            try:
                while (n := window.head()) is not None:
                    window.submit(pool, fetch)
                    page = window.take(n)
                    if page is not None:
                        if n <= window.last or page.count:  # past the end: rows only
                            yield page
                    elif n in failures:
                        window.skip()
                    elif not window.running:  # stalled: the server is gone, start no page
                        failures.update(window.abandon(listing))
                    else:
                        for m, got in window.wait():
                            if isinstance(got, errors.MileError):
                                failures[m] = got
                            elif window.guessed and guess is not None:
                                window.settle(_counted(listing, got, guess, max_pages))
                            elif got.last_page is not None and got.last_page > window.last:
                                # rows were added while we read: offset pages shifted, and
                                # the ones pushed past the old last page are read too
                                window.grow(_check_pages(listing, got.last_page, max_pages))
            finally:
                window.cancel()
        failures = {n: e for n, e in failures.items() if n <= window.last}
        if failures:
            raise errors.IncompleteReadError(listing.name, failures, window.last)

    @staticmethod
    def _walk(
        listing: Listing,
        first: Page,
        fetch: _Fetch,
        size: int,
        max_pages: int,
        seen: int = 0,
    ) -> Iterator[Page]:
        """Pages after ``first``, one at a time, for lists that do not say how many there
        are (``seen``: rows read before ``first``, when a walk is resumed)."""
        page = first
        seen += page.count
        first_ids = prev_ids = page.ids(listing.id_field)
        while _more(page, seen, size):
            if page.number >= max_pages:
                raise errors.ResponseError(
                    f"{listing.name}: still full pages after max_pages={max_pages}; "
                    "the server may ignore the page parameter"
                )
            page = _fetch_or_incomplete(listing, fetch, page.number + 1, None, seen)
            ids = page.ids(listing.id_field)
            if ids is not None and ids and ids == prev_ids:
                # the server ignores ``page``: this is the previous page again
                if len(ids) == size and first_ids is not None and len(first_ids) == size:
                    warnings.warn(
                        f"{listing.name}: page {page.number} repeats page {page.number - 1}; "
                        f"the server seems to ignore the page parameter, rows after the "
                        f"first {size} may be missing",
                        PagingWarning,
                        stacklevel=5,  # _walk, pages, Client.pages, the reader
                    )
                return
            prev_ids = ids
            seen += page.count
            yield page


class _Window:
    """The pages of a concurrent read: which to submit, which are in flight, which are
    done and waiting to be yielded in order (at most ``lookahead`` past the oldest)."""

    def __init__(
        self,
        todo: list[int],
        last: int,
        workers: int,
        lookahead: int | None,
        deadline: ReadDeadline,
        guessed: bool = False,
    ) -> None:
        self.queue = deque(todo)  #: not yet submitted, ascending
        self.order = deque(todo)  #: not yet yielded (nor skipped), ascending
        self.last = last
        #: ``last`` is an expectation no answer has confirmed yet (settle)
        self.guessed = guessed
        self.asked: set[int] = set()  #: every page submitted
        self.workers = workers
        self.lookahead = lookahead
        self.deadline = deadline
        self.running: dict[Future[Page], int] = {}
        self.done: dict[int, Page] = {}

    def head(self) -> int | None:
        return self.order[0] if self.order else None

    def submit(self, pool: ThreadPoolExecutor, fetch: Callable[[int], Page]) -> None:
        head = self.order[0]
        while self.queue and len(self.running) < self.workers * 2:
            if self.lookahead is not None and self.queue[0] >= head + self.lookahead:
                return
            if self.deadline.stalled:  # pages in a row got no answer: wait for those
                return
            n = self.queue.popleft()
            self.asked.add(n)
            self.running[pool.submit(fetch, n)] = n

    def take(self, n: int) -> Page | None:
        page = self.done.pop(n, None)
        if page is not None:
            self.order.popleft()
        return page

    def skip(self) -> None:
        self.order.popleft()

    def wait(self) -> Iterator[tuple[int, Page | errors.MileError]]:
        """The pages that finish next: each page, or the error that ended it."""
        for f in finished(self.running, FIRST_COMPLETED):
            n = self.running.pop(f)
            try:
                page = f.result()
            except errors.MileError as e:
                yield n, e
                continue
            self.done[n] = page
            yield n, page

    def grow(self, last: int) -> None:
        new = [n for n in range(self.last + 1, last + 1) if n not in self.asked]
        self.queue.extend(new)
        self.order.extend(new)
        self.last = last

    def settle(self, last: int) -> None:
        """The list has ``last`` pages (the first answer said): more are read; of fewer,
        the pages past it not yet asked for never are (those asked for are yielded if
        they got rows: the list grew while it was read)."""
        self.guessed = False
        if last > self.last:
            self.grow(last)
            return
        gone = {n for n in self.queue if n > last}
        self.queue = deque(n for n in self.queue if n <= last)
        self.order = deque(n for n in self.order if n not in gone)
        self.last = last

    def abandon(self, listing: Listing) -> dict[int, errors.MileError]:
        """The pages not yet started, each with the error that says why it never will."""
        gone = list(self.queue)
        self.queue.clear()
        log.warning(
            "%s: %d pages in a row got no answer, and none since: %d pages not requested "
            "(resume=err reads them)", listing.name, STALL_PAGES, len(gone),
        )  # fmt: skip
        err = errors.TransportError(
            f"not requested: {STALL_PAGES} pages in a row got no answer (a 5xx or none at "
            "all) and nothing answered until they gave up; the server seems gone",
            method="GET",
            url=listing.path,
            sent=False,
        )
        return dict.fromkeys(gone, err)

    def cancel(self) -> None:
        for f in self.running:
            f.cancel()


@dataclass(frozen=True)
class _Fetch:
    """How a read gets page ``n`` (call it), and the deadline its pages share."""

    get: Callable[[int], Page]
    deadline: ReadDeadline

    def __call__(self, n: int) -> Page:
        return self.get(n)


class _Uncounted(Exception):
    """A read that expected a page count got an answer without one: walk it instead."""


def _counted(listing: Listing, page: Page, size: int, max_pages: int) -> int:
    """The page count an answer tells (a read that guessed it), or _Uncounted."""
    last = _page_count(page, size)
    if last is None:
        raise _Uncounted
    return _check_pages(listing, last, max_pages)


def _page_count(first: Page, size: int) -> int | None:
    """How many pages the list has, from its first page (None: walk it)."""
    last = first.last_page
    if last is None and first.has_more is None and first.total is not None:
        # Elasticsearch hits tell the total only: the page count follows from it when
        # the server honoured the page size (else walk)
        if first.count >= size:
            last = max(1, math.ceil(first.total / size))
    return last


def listing_of(resource: str | registry.ResourceSpec | Listing) -> Listing:
    """The list endpoint of a registry name, a resource spec, or a listing itself.

    >>> listing_of("hubs").path
    '/hubs'
    """
    if isinstance(resource, Listing):
        return resource
    spec = registry.get(resource) if isinstance(resource, str) else resource
    return spec.listing


def _check_pages(listing: Listing, pages: int, max_pages: int) -> int:
    if pages > max_pages:
        raise errors.ResponseError(
            f"{listing.name}: the answer says {pages} pages, more than max_pages={max_pages}"
        )
    return pages


def _fetch_or_incomplete(
    listing: Listing,
    fetch: Callable[[int], Page],
    n: int,
    last: int | None,
    seen: int,
) -> Page:
    """Page ``n`` of a walk; a failure ends the walk with what it read so far."""
    try:
        return fetch(n)
    except errors.MileError as e:
        raise errors.IncompleteReadError(listing.name, {n: e}, last, seen=seen) from e


def _more(page: Page, seen: int, size: int) -> bool:
    """Does another page follow ``page`` (a list that does not say how many pages)?"""
    if page.count == 0:
        return False
    if page.has_more is not None:
        return page.has_more
    if page.total is not None:
        return seen < page.total
    return page.count >= size


#: CPU-bound work at a time (page parsing, column conversion): one per core, at most 4
CPU_WORKERS = max(
    1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
)
