"""Unwrapping MileApp's response envelopes (note 1, notes 1–4).

>>> unwrap({"status": True, "message": "Success", "task": {"_id": "a"}})
{'_id': 'a'}
>>> unwrap({"response": {"status": True, "location_history": {"_id": "b"}}})
{'_id': 'b'}
>>> unwrap({"_id": "me", "name": "Budi"})["name"]  # GET /user has no envelope
'Budi'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from milekit.types import registry
from milekit.wire import errors

if TYPE_CHECKING:
    from milekit.wire.client import Page

_META = frozenset({"status", "message", "code", "statusCode", "metadata", "dataVersion"})
_PAGINATOR = frozenset({"current_page", "data", "last_page", "per_page", "total"})


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
    if "data" in rest:
        return rest["data"]
    return rest


def is_paginator(obj: Any) -> bool:
    return isinstance(obj, dict) and "data" in obj and bool(_PAGINATOR & (set(obj) - {"data"}))


def list_page(body: Any, spec: registry.ResourceSpec, number: int) -> Page:
    """Turn one list answer into a :class:`~milekit.wire.client.Page`, whatever its shape.

    Accepts the Laravel paginator under any key or as the body itself, a plain array
    (hubs, users), the activity paginator (``{activities, total, currentPage, lastPage,
    perPage}``), Elasticsearch hits (rows are the hits' ``_source`` with the hit's ``_id``;
    ``total`` beside them) and the gallery (``last_page`` a boolean; the rows it holds in
    ``buffer`` only count on its last page, earlier they come again on the next pages).

    >>> from milekit.types.registry import RESOURCES
    >>> hits = {"status": True, "total": 3, "data": [{"_id": "x1", "_source": {"n": 1}}]}
    >>> p = list_page(hits, RESOURCES["automation_logs"], 1)
    >>> p.rows, p.total
    ([{'_id': 'x1', 'n': 1}], 3)
    >>> g = {"tasks": {"data": [{"_id": "a"}], "buffer": [{"_id": "b"}], "last_page": True}}
    >>> p = list_page(g, RESOURCES["tasks_gallery"], 4)
    >>> [r["_id"] for r in p.rows], p.has_more
    (['a', 'b'], False)
    """
    from milekit.wire.client import Page

    top = body
    if isinstance(top, dict) and set(top) == {"response"} and isinstance(top["response"], dict):
        top = top["response"]
    inner = unwrap(body, spec.envelope_list or None)
    if (
        isinstance(inner, dict)
        and "data" in inner
        and not is_paginator(inner)
        and "activities" not in inner
    ):
        # {"data": {...paginator...}} (teams, results) or {"data": [...]} (hubs)
        inner = inner["data"]
    if isinstance(inner, dict) and "activities" in inner:
        rows = inner["activities"]
        return Page(number, _rows(rows), _int(inner.get("total")), _int(inner.get("lastPage")))
    if isinstance(inner, dict) and isinstance(inner.get("last_page"), bool):
        # the gallery: {data, buffer, page_processed, last_page: bool, total_estimate}
        more = not inner["last_page"]
        rows = _rows(inner.get("data") or [])
        if not more:
            rows = rows + _rows(inner.get("buffer") or [])
        return Page(number, rows, None, None, has_more=more)
    if is_paginator(inner):
        rows = inner["data"]
        return Page(number, _rows(rows), _int(inner.get("total")), _int(inner.get("last_page")))
    if isinstance(inner, list):
        if inner and isinstance(inner[0], dict) and "_source" in inner[0]:
            merged = [{"_id": h.get("_id"), **(h.get("_source") or {})} for h in _rows(inner)]
            total = top.get("total") if isinstance(top, dict) else None
            if isinstance(total, dict):  # Elasticsearch 7 spells it {"value": n, ...}
                total = total.get("value")
            return Page(number, merged, _int(total), None)
        return Page(number, _rows(inner), None, None)
    raise errors.ResponseError(
        f"cannot find the list in the {spec.name} answer (keys: {_keys(body)})"
    )


def _rows(rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise errors.ResponseError("list items are not JSON objects")
    return rows


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None and not isinstance(v, bool) else None
    except (TypeError, ValueError):
        return None


def _keys(body: Any) -> str:
    return ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
