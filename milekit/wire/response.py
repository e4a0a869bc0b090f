"""What a request hands up: a decoded :class:`Response`, and a :class:`Page` of a list.

>>> Page(2, [{"_id": "a"}, {"_id": "b"}], total=7, last_page=4).ids("_id")
('a', 'b')

Both sit below the client (:mod:`milekit.wire.client`), the list-shape strategies
(:mod:`milekit.wire.envelope`) and the page walk (:mod:`milekit.wire.paging`), which all
build or read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Page", "Response"]


@dataclass
class Response:
    """A decoded answer: HTTP status, JSON body, raw bytes, elapsed seconds."""

    status: int
    body: Any
    content: bytes
    headers: Mapping[str, str]
    elapsed: float
    attempts: int = 1


@dataclass
class Page:
    """One page of a list: its rows and where it sits.

    ``has_more`` is the answer's own word on whether another page follows (the gallery's
    boolean ``last_page``); ``None`` when it only says ``last_page``/``total`` or nothing.

    >>> Page(1, [{"_id": "a"}], None, None).count
    1
    """

    number: int
    rows: list[dict[str, Any]]
    total: int | None
    last_page: int | None
    response: Response | None = field(default=None, repr=False)
    table: Any = field(default=None, repr=False)  #: the typed form, once parsed
    cells: Any = field(default=None, repr=False)  #: Python values of its nested columns
    has_more: bool | None = None

    @property
    def count(self) -> int:
        """Rows on this page: the parsed table's when there is one (parsing empties
        ``rows``), else the raw rows'."""
        if self.table is not None:
            return int(self.table.num_rows)
        return len(self.rows)

    def ids(self, id_field: str) -> tuple[Any, ...] | None:
        """The ids on this page in order (``None`` when the rows carry none)."""
        t = self.table
        if t is not None:
            if id_field not in t.column_names:
                return None
            return tuple(t.column(id_field).to_pylist())
        if not self.rows or any(id_field not in r for r in self.rows):
            return None
        return tuple(r[id_field] for r in self.rows)
