"""Progress for long reads and writes: a widget bar in notebooks, a text bar in terminals,
nothing when output is not interactive.

>>> with page_progress("tasks", enabled=False) as bar:
...     bar  # doctest: +ELLIPSIS
<function page_progress.<locals>.update at ...>
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from milekit.client import Client, Page


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    return _in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


@contextmanager
def page_progress(
    what: str, *, enabled: bool | None = None, client: Client | None = None
) -> Iterator[Callable[[Page], None]]:
    """Yield ``update(page)``; shows rows fetched of ``total`` and time spent waiting for
    the rate limit. ``enabled=None`` means: only when someone is watching."""
    show = _interactive() if enabled is None else enabled
    lock = threading.Lock()
    bar: Any = None
    if show:
        if _in_notebook():
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm
        bar = tqdm(desc=f"{what}", unit=" rows", leave=True, file=sys.stderr)

    def update(page: Page) -> None:
        if bar is None:
            return
        with lock:
            if page.total is not None and bar.total != page.total:
                bar.total = page.total
            bar.update(len(page.rows) if page.rows else _rows(page))
            if client is not None and client.limiter is not None:
                bar.set_postfix(rate_wait=f"{client.limiter.waited:.1f}s", refresh=False)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _rows(page: Page) -> int:
    table = page.table
    return int(table.num_rows) if table is not None else 0
