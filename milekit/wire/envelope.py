"""Unwrapping MileApp's response envelopes (note 1, notes 1–4).

>>> unwrap({"status": True, "message": "Success", "task": {"_id": "a"}})
{'_id': 'a'}
>>> unwrap({"response": {"status": True, "location_history": {"_id": "b"}}})
{'_id': 'b'}
>>> unwrap({"_id": "me", "name": "Budi"})["name"]  # GET /user has no envelope
'Budi'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from milekit import errors
from milekit.types.limits import PageLimitError, page_number
from milekit.types.registry import PAGE_ROWS, Listing, ListShape
from milekit.wire.response import Page

_META = frozenset({"status", "message", "code", "statusCode", "metadata", "dataVersion"})
_PAGINATOR = frozenset({"current_page", PAGE_ROWS, "last_page", "per_page", "total"})
#: the activity paginator's rows key
_ACTIVITY_ROWS = "activities"


def unwrap(body: Any, key: str | None = None) -> Any:
    """Drop ``status``/``message``/``code``, descend into a lone ``response``, take the
    one remaining key (or ``key`` when given and present). A body that is not an
    envelope (no ``status`` key and several keys) is returned as it is."""
    if isinstance(body, dict) and set(body) == {"response"} and isinstance(body["response"], dict):
        body = body["response"]
    if not isinstance(body, dict):
        return body
    if key is not None and key in body:
        return body[key]
    rest = {k: v for k, v in body.items() if k not in _META}
    if "status" not in body and len(rest) != 1:
        return body  # no envelope at all (GET /user, GET /tasks/tracking)
    if len(rest) == 1:
        return next(iter(rest.values()))
    if PAGE_ROWS in rest:
        return rest[PAGE_ROWS]
    return rest


def is_paginator(obj: Any) -> bool:
    return (
        isinstance(obj, dict) and PAGE_ROWS in obj and bool(_PAGINATOR & (set(obj) - {PAGE_ROWS}))
    )


def list_page(body: Any, listing: Listing, number: int) -> Page:
    """One list answer as a :class:`~milekit.wire.response.Page`, read with the strategy of
    the listing's declared shape (:data:`SHAPES`).

    >>> from milekit.types.registry import RESOURCES
    >>> hits = {"status": True, "total": 3, "data": [{"_id": "x1", "_source": {"n": 1}}]}
    >>> p = list_page(hits, RESOURCES["automation_logs"].listing, 1)
    >>> p.rows, p.total
    ([{'_id': 'x1', 'n': 1}], 3)
    >>> g = {"tasks": {"data": [{"_id": "a"}], "buffer": [{"_id": "b"}], "last_page": True}}
    >>> p = list_page(g, RESOURCES["tasks_gallery"].listing, 4)
    >>> [r["_id"] for r in p.rows], p.has_more
    (['a', 'b'], False)
    """
    inner = unwrap(body, listing.envelope or None)
    read = SHAPES[listing.shape]
    got = read(inner, _top(body))
    if got is None:
        raise errors.ResponseError(
            f"cannot find the {listing.shape} list in the {listing.name} answer "
            f"(keys: {_keys(body)})"
        )
    rows, total, last, more = got
    return Page(number, rows, total, last, has_more=more)


#: What a shape strategy returns: (rows, total, last page, has more) or None when the
#: answer does not hold a list of that shape; ``has more`` None: judged by the paginator.
Got = tuple[list[dict[str, Any]], int | None, int | None, bool | None] | None


def _top(body: Any) -> Any:
    if isinstance(body, dict) and set(body) == {"response"} and isinstance(body["response"], dict):
        return body["response"]
    return body


def _laravel(inner: Any, top: Any) -> Got:
    """Laravel's paginator, under the envelope key or inside its ``data`` (teams,
    results); a plain array where a server sends all rows at once is taken as it is."""
    if isinstance(inner, dict) and PAGE_ROWS in inner and not is_paginator(inner):
        inner = inner[PAGE_ROWS]
    if is_paginator(inner):
        return (
            _rows(inner[PAGE_ROWS]),
            _int(inner.get("total"), "total"),
            _int(inner.get("last_page"), "last_page"),
            None,
        )
    if isinstance(inner, list):
        return _rows(inner), None, None, None
    return None


def _array(inner: Any, top: Any) -> Got:
    """A plain array (users, roles, hubs), possibly inside ``data``; a paginator where a
    server pages it anyway is read as one (note 35)."""
    return _laravel(inner, top)


def _activity(inner: Any, top: Any) -> Got:
    """``{activities, total, currentPage, lastPage, perPage}`` (activities' own paginator)."""
    if isinstance(inner, dict) and _ACTIVITY_ROWS not in inner and PAGE_ROWS in inner:
        inner = inner[PAGE_ROWS]
    if not isinstance(inner, dict) or _ACTIVITY_ROWS not in inner:
        return None
    return (
        _rows(inner[_ACTIVITY_ROWS]),
        _int(inner.get("total"), "total"),
        _int(inner.get("lastPage"), "lastPage"),
        None,
    )


def _elastic(inner: Any, top: Any) -> Got:
    """Elasticsearch hits: rows are the hits' ``_source`` with the hit's ``_id``, ``total``
    beside them (ES 7 spells it ``{"value": n}``)."""
    if isinstance(inner, dict) and PAGE_ROWS in inner:
        inner = inner[PAGE_ROWS]
    if not isinstance(inner, list):
        return None
    hits = _rows(inner)
    rows = [{"_id": h.get("_id"), **(h.get("_source") or {})} if "_source" in h else h
            for h in hits]  # fmt: skip
    total = top.get("total") if isinstance(top, dict) else None
    if isinstance(total, dict):
        total = total.get("value")
    return rows, _int(total, "total"), None, None


def _gallery(inner: Any, top: Any) -> Got:
    """The gallery: ``{data, buffer, page_processed, last_page: bool, total_estimate}``; the
    rows in ``buffer`` count only on its last page (earlier they come again)."""
    if not isinstance(inner, dict) or not isinstance(inner.get("last_page"), bool):
        return None
    more = not inner["last_page"]
    rows = _rows(inner.get(PAGE_ROWS) or [])
    if not more:
        rows = rows + _rows(inner.get("buffer") or [])
    return rows, None, None, more


#: The list-shape strategies by :data:`~milekit.types.model.ListShape`: the registry
#: declares each list's shape, nothing is guessed from the answer.
SHAPES: dict[ListShape, Callable[[Any, Any], Got]] = {
    "laravel": _laravel,
    "array": _array,
    "activity": _activity,
    "elastic": _elastic,
    "gallery": _gallery,
}


def _rows(rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise errors.ResponseError("list items are not JSON objects")
    return rows


def _int(v: Any, name: str) -> int | None:
    try:
        return page_number(v, name)
    except PageLimitError as e:
        raise errors.ResponseError(str(e)) from None


def _keys(body: Any) -> str:
    return ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
