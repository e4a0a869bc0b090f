"""Progress for long reads and writes: a widget bar in notebooks, a text bar in terminals,
nothing when output is not interactive.

>>> with page_progress("tasks", enabled=False) as bar:
...     bar  # doctest: +ELLIPSIS
<function page_progress.<locals>.update at ...>

A read's bar counts rows against the paginator's ``total`` and shows how long the read
was held back by the rate limit (``rate wait``: wall-clock seconds the client's limiter
made requests wait), how many 429 answers came back and how many requests were retried,
if any: a retry shows at once, with its reason (``retrying: connection refused``), while
the bar still waits at ``0 rows``. When the read ends, the
bar shows its figures from ``client.stats``: requests, 429s, retries, the time requests
waited for the limiter (summed over threads) and in back-off, and the adaptive pacer's
waits if it slowed down. ``enabled=None`` (every
``progress=`` default) means: a bar only when someone is watching (a notebook, or a
terminal on stderr); ``progress=False`` turns it off.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from milekit.wire.client import Client
    from milekit.wire.response import Page


def in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (tqdm's test: IPython's shell was started by
    an ``IPKernelApp``), with or without ipywidgets.

    >>> in_kernel()
    False
    """
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def in_notebook() -> bool:
    """Whether bars are drawn as notebook widgets: what ``tqdm.auto`` chose (a Jupyter
    kernel with ipywidgets: JupyterLab, VS Code, Colab …), not a guess from the shell's
    class name. Without ipywidgets (``milekit[notebook]``) a notebook gets the text bar,
    silently (tqdm.auto's "IProgress not found" warning is not given)."""
    from tqdm import notebook

    if notebook.IProgress is None:  # no ipywidgets
        return False
    from tqdm.auto import tqdm as auto

    return issubclass(auto, notebook.tqdm)


def interactive() -> bool:
    return in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


def new_bar(what: str, unit: str, total: int | None = None) -> Any:
    """A tqdm bar: a widget in notebooks, text on stderr elsewhere (``tqdm.auto``)."""
    if in_notebook():
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm  # type: ignore[assignment]
    return tqdm(desc=what, unit=unit, total=total, leave=True, file=sys.stderr)


class _Waits:
    """Rate-limit waits and 429s since the bar started (limiters are shared and long-lived)."""

    def __init__(self, client: Client | None) -> None:
        self.client = client
        self.throttled0 = self._throttled()
        self.stats0 = client.stats.copy() if client is not None else None

    def _throttled(self) -> float:
        limiter = self.client.limiter if self.client is not None else None
        return float(getattr(limiter, "throttled", 0.0)) if limiter is not None else 0.0

    def postfix(self) -> dict[str, str]:
        if self.client is None or self.stats0 is None:
            return {}
        out = {}
        if self.client.limiter is not None:
            out["rate wait"] = f"{self._throttled() - self.throttled0:.1f}s"
        limited = self.client.stats.rate_limited - self.stats0.rate_limited
        if limited:
            out["429s"] = str(limited)
        retries = self.client.stats.retries - self.stats0.retries
        if retries:
            out["retries"] = str(retries)
        return out

    def final(self) -> dict[str, str]:
        """The read's figures from the client's stats: requests, 429s, retries, waits."""
        if self.client is None or self.stats0 is None:
            return {}
        return self.client.stats.copy().since(self.stats0).summary()


@contextmanager
def page_progress(
    what: str, *, enabled: bool | None = None, client: Client | None = None
) -> Iterator[Callable[[Page], None]]:
    """Yield ``update(page)``; shows rows fetched of ``total`` and time spent waiting for
    the rate limit. ``enabled=None`` means: only when someone is watching."""
    show = interactive() if enabled is None else enabled
    lock = threading.Lock()
    bar: Any = new_bar(what, " rows") if show else None
    waits = _Waits(client)

    def retrying(attempt: int, delay: float, why: str) -> None:
        if bar is None:
            return
        with lock:
            postfix = waits.postfix()
            postfix["retrying"] = f"{_reason(why)} (attempt {attempt} in {delay:.1f}s)"
            bar.set_postfix(postfix, refresh=True)

    watching = client is not None and bar is not None
    if watching:
        assert client is not None
        client.on_retry.append(retrying)

    def update(page: Page) -> None:
        if bar is None:
            return
        with lock:
            if page.total is not None and bar.total != page.total:
                bar.total = page.total
            postfix = waits.postfix()
            if postfix:
                bar.set_postfix(postfix, refresh=False)
            bar.update(len(page.rows) if page.rows else _rows(page))

    try:
        yield update
    finally:
        if watching:
            assert client is not None
            client.on_retry.remove(retrying)
        if bar is not None:
            bar.set_postfix(waits.final(), refresh=False)
            bar.close()


@contextmanager
def rows_progress(
    what: str, total: int | None, *, enabled: bool | None = None
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(rows)`` for a phase that is not a read (e.g. writing an export).

    >>> with rows_progress("writing", 10, enabled=False) as advance:
    ...     advance(10)
    """
    show = interactive() if enabled is None else enabled
    bar: Any = new_bar(what, " rows", total) if show else None

    def advance(rows: int) -> None:
        if bar is not None:
            bar.update(rows)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.close()


def _reason(why: str) -> str:
    """The short reason of a retry, for the bar: what is in the last parentheses
    (``connection refused``), else the status after the path (``503 ...``).

    >>> _reason("GET /api/v3/tasks: could not connect to h:1 (connection refused)")
    'connection refused'
    >>> _reason("GET /api/v3/tasks: 503 Service Unavailable (GET /api/v3/tasks)")
    '503 Service Unavailable'
    """
    text = why.split(": ", 1)[-1]
    if text.startswith("could not connect") and text.endswith(")") and "(" in text:
        return text[text.rindex("(") + 1 : -1]
    return text.split(" (", 1)[0][:40]


def _rows(page: Page) -> int:
    table = page.table
    return int(table.num_rows) if table is not None else 0
