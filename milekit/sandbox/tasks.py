"""The task endpoints' logic: the list query engine, validation and (bulk) writes.

>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> svc = TaskService(Store(build_org(tasks=30)))
>>> page = svc.list_tasks({"limit": "10", "status": "DONE"}, "limit=10&status=DONE", "http://h/api/v3/tasks")
>>> page["tasks"]["per_page"], all(t["status"] == "DONE" for t in page["tasks"]["data"])
(10, True)

Everything the registry says about tasks (paths, envelope keys, page/limit parameter
names, default and maximum page size, sort parameter names, ``bulk_key``, ``bulk_max``,
``required_on_create``, ``detail_only``, field types and writability) is read from
:data:`milekit.types.registry.RESOURCES`, not repeated here.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from milekit.sandbox.seed import NEW_TASK_KEYS, TASKS_TO, assigned_to
from milekit.sandbox.store import Doc, Op, Store
from milekit.types.registry import RESOURCES, FieldType

SPEC = RESOURCES["tasks"]
#: ``dataVersion`` counts from here (a 10-digit epoch, note 30)
DATA_VERSION_BASE = TASKS_TO
_SORT_BY, _SORT_ORDER = (p or "" for p in SPEC.sort_params)
_BULK_KEY = SPEC.bulk_key or "tasks"
_DATETIME = frozenset(f.name for f in SPEC.fields if f.type is FieldType.DATETIME)
_READ_ONLY = frozenset(f.name for f in SPEC.fields if not f.writable)
_STATUSES = SPEC.field("status").enum
_TIME_BY = ("createdTime", "startTime", "doneTime")
#: writable keys the server fills when a create leaves them out (kept by a replace too)
_SERVER_DEFAULTS = frozenset({"orderIndex"})
_HEX24 = re.compile(r"[0-9a-f]{24}")
_BAD_REQUEST = "Bad request - invalid parameters provided."
_LIST_PARAMS = (
    "flow",
    "flowId",
    "status",
    "hubId",
    "assignee",
    "doneBy",
    "active",
    "isVisit",
    "routingResultId",
    "timeBy",
    "timeFrom",
    "timeTo",
    _SORT_BY,
    _SORT_ORDER,
)


class HttpError(Exception):
    """An error answer: ``{"status": false, "message": ...}`` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Iterable[tuple[str, str]] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"status": False, "message": self.message, **self.extra}


def attribute(name: str) -> str:
    """Laravel's attribute name in messages.

    >>> attribute("hubId"), attribute("startTime"), attribute("flow")
    ('hub id', 'start time', 'flow')
    """
    return re.sub(r"(?<!^)([A-Z])", r" \1", name).replace("_", " ").strip().lower()


@lru_cache(maxsize=1 << 20)
def instant(value: str) -> float | None:
    """The UTC epoch seconds of a datetime spelling (naive = UTC), None if unparseable.

    >>> instant("2026-08-01 07:00:00") == instant("2026-08-01T14:00:00.000+07:00")
    True
    """
    try:
        dt = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def iso_now(now: float) -> str:
    """``2026-11-28T16:35:13+00:00``: how the API writes datetimes it sets."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _iso_micro(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page_url(path_url: str, pairs: list[tuple[str, str]], page: int) -> str:
    """``path_url`` + the original query with ``page`` set (kept in place if present)."""
    out, seen = [], False
    for k, v in pairs:
        if k == "page":
            if not seen:
                out.append(("page", str(page)))
                seen = True
        else:
            out.append((k, v))
    if not seen:
        out.append(("page", str(page)))
    return f"{path_url}?{urlencode(out)}"


def paginator(
    data: list[Any], total: int, page: int, per_page: int, path_url: str, raw_query: str
) -> dict[str, Any]:
    """Laravel's ``LengthAwarePaginator`` JSON with all 13 keys (links window included).

    >>> p = paginator([1, 2], 2, 1, 20, "http://h/api/v3/tasks", "limit=20")
    >>> p["first_page_url"], p["from"], p["to"], p["last_page"], len(p)
    ('http://h/api/v3/tasks?limit=20&page=1', 1, 2, 1, 13)
    """
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    last = max(math.ceil(total / per_page), 1)

    def url(n: int) -> str:
        return page_url(path_url, pairs, n)

    links: list[dict[str, Any]] = [
        {"url": url(page - 1) if page > 1 else None, "label": "&laquo; Previous", "active": False}
    ]
    for el in _url_window(page, last):
        if el is None:
            links.append({"url": None, "label": "...", "active": False})
        else:
            links.append({"url": url(el), "label": str(el), "active": el == page})
    links.append(
        {"url": url(page + 1) if page < last else None, "label": "Next &raquo;", "active": False}
    )
    first_item = (page - 1) * per_page + 1 if data else None
    return {
        "current_page": page,
        "data": data,
        "first_page_url": url(1),
        "from": first_item,
        "last_page": last,
        "last_page_url": url(last),
        "links": links,
        "next_page_url": url(page + 1) if page < last else None,
        "path": path_url,
        "per_page": per_page,
        "prev_page_url": url(page - 1) if page > 1 else None,
        "to": first_item + len(data) - 1 if first_item is not None else None,
        "total": total,
    }


def _url_window(page: int, last: int, each_side: int = 3) -> list[int | None]:
    """Laravel's ``UrlWindow``: page numbers with ``None`` for the "..." separators."""
    if last < each_side * 2 + 8:
        return list(range(1, last + 1))
    window = each_side + 4
    start, finish = [1, 2], [last - 1, last]
    if page <= window:
        return [*range(1, window + each_side + 1), None, *finish]
    if page > last - window:
        return [*start, None, *range(last - (window + each_side - 1), last + 1)]
    return [*start, None, *range(page - each_side, page + each_side + 1), None, *finish]


def _int_param(q: dict[str, str], name: str, default: int) -> int:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"The {attribute(name)} must be an integer.") from None


def _csv(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1")


class TaskService:
    """Task reads and writes over a :class:`Store` (thread-safe through the store's lock).

    >>> from milekit.sandbox.seed import build_org
    >>> svc = TaskService(Store(build_org(tasks=3)))
    >>> svc.create({"flow": "Pickup", "hubId": svc.store.values("hubs")[0]["_id"]}, "POST",
    ...            "/task")["task"]["status"]
    'UNASSIGNED'
    """

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._cache: OrderedDict[tuple[Any, ...], tuple[list[Doc], int, int]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._counter = int.from_bytes(os.urandom(3), "big")
        #: _id -> (stored doc, its list form as JSON); valid while that doc is the stored
        #: one (writes replace documents, never mutate them)
        self._json: dict[str, tuple[Doc, orjson.Fragment]] = {}
        self._process = os.urandom(5).hex()  #: like MongoDB: one random value per process

    # --- lookups ------------------------------------------------------------------------

    @property
    def me(self) -> dict[str, Any]:
        me: dict[str, Any] = self.store.meta["me"]
        return me

    def _flows_by_name(self) -> dict[str, Doc]:
        return {f["name"]: f for f in self.store.values("flows")}

    def _components(self, flow: Doc) -> dict[str, Doc]:
        return {c["id"]: c for page in flow.get("pages", []) for c in page.get("components", [])}

    def _hub_embed(self, hub_id: str) -> Doc:
        h = self.store.get("hubs", hub_id)
        assert h is not None
        return {"_id": h["_id"], "name": h["name"], "lat": h["lat"], "lng": h["lng"]}

    def new_id(self) -> str:
        """A fresh ObjectId: 4 bytes of time, 5 random bytes fixed per service (as MongoDB
        fixes them per process) and a 3-byte counter, so ids sort in creation order."""
        with self._cache_lock:
            self._counter = (self._counter + 1) & 0xFFFFFF
            c = self._counter
        return f"{int(self.clock()) & 0xFFFFFFFF:08x}{self._process}{c:06x}"

    # --- GET /tasks ---------------------------------------------------------------------

    def list_tasks(
        self, q: dict[str, str], raw_query: str, path_url: str, *, fragments: bool = False
    ) -> dict[str, Any]:
        """The ``GET /tasks`` response body for query ``q``; with ``fragments=True`` the
        list items are pre-serialised :class:`orjson.Fragment` values (for the wire)."""
        page = _int_param(q, SPEC.page_param, 1)
        if page < 1:
            raise HttpError(400, f"The {attribute(SPEC.page_param)} must be at least 1.")
        limit = _int_param(q, SPEC.limit_param, SPEC.default_limit or SPEC.max_limit)
        limit_name = attribute(SPEC.limit_param)
        if limit < 1:
            raise HttpError(400, f"The {limit_name} must be at least 1.")
        limit = min(limit, SPEC.max_limit)  # capped, not refused (note 28)
        docs, done, ongoing = self._query(q)
        chunk = docs[(page - 1) * limit : page * limit]
        fields = _csv(q.get("fields", ""))
        items: list[Any]
        if fields:
            items = [{k: d[k] for k in fields if k in d} for d in chunk]
        elif fragments:
            items = [self._list_json(d) for d in chunk]
        else:
            items = [_list_form(d) for d in chunk]
        return {
            "status": True,
            "message": "Success.",
            SPEC.envelope_list: paginator(items, len(docs), page, limit, path_url, raw_query),
            "metadata": {
                "counting": {"doneTotal": done, "ongoingTotal": ongoing},
                "sourceDataTask": "-",
            },
            # a 10-digit epoch that moves with every change of the tasks (note 30)
            "dataVersion": str(DATA_VERSION_BASE + self.store.version("tasks")),
        }

    def _list_json(self, doc: Doc) -> orjson.Fragment:
        """The list form of ``doc`` serialised once per stored version of the document."""
        hit = self._json.get(doc["_id"])
        if hit is not None and hit[0] is doc:
            return hit[1]
        frag = orjson.Fragment(orjson.dumps(_list_form(doc)))
        self._json[doc["_id"]] = (doc, frag)
        return frag

    def warm(self) -> None:
        """Sort the default listing now, so the first ``GET /tasks`` is as fast as the rest."""
        self._query({})

    def _query(self, q: dict[str, str]) -> tuple[list[Doc], int, int]:
        """Filtered and sorted tasks, cached per (normalised params, store version)."""
        params = tuple((k, q[k]) for k in _LIST_PARAMS if q.get(k, "") != "")
        now = self.clock()
        p = dict(params)
        clock_bucket = int(now) if (_truthy(p.get("active")) or _truthy(p.get("isVisit"))) else 0
        with self.store.lock:
            key = (params, self.store.version("tasks"), clock_bucket)
            with self._cache_lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
            preds = self._predicates(p, now)
            docs = self.store.values("tasks")
            if preds:
                docs = [d for d in docs if all(pr(d) for pr in preds)]
            sort_by = p.get(_SORT_BY, "createdTime")
            order = p.get(_SORT_ORDER, "desc").lower()
            if order not in ("asc", "desc"):
                raise HttpError(400, f"The selected {attribute(_SORT_ORDER)} is invalid.")
            docs.sort(key=_sort_key(sort_by), reverse=order == "desc")
            done = sum(1 for d in docs if d.get("status") == "DONE")
            ongoing = sum(1 for d in docs if d.get("status") == "ONGOING")
            result = (docs, done, ongoing)
            with self._cache_lock:
                self._cache[key] = result
                while len(self._cache) > 16:
                    self._cache.popitem(last=False)
            return result

    def _predicates(self, p: dict[str, str], now: float) -> list[Callable[[Doc], bool]]:
        preds: list[Callable[[Doc], bool]] = []

        def member(key: str, values: set[str]) -> None:
            preds.append(lambda d: d.get(key) in values)

        if "flow" in p:
            member("flow", set(_csv(p["flow"])))
        if "flowId" in p:
            member("flowId", set(_csv(p["flowId"])))
        if "hubId" in p:
            member("hubId", set(_csv(p["hubId"])))
        if "status" in p:
            statuses = {s.upper() for s in _csv(p["status"])}
            if not statuses or not statuses <= set(_STATUSES):
                raise HttpError(400, "The selected status is invalid.")
            member("status", statuses)
        if "doneBy" in p:
            member("doneBy", {p["doneBy"]})
        if "routingResultId" in p:
            member("routingResultId", {p["routingResultId"]})
        if "assignee" in p:
            who = p["assignee"]
            preds.append(lambda d: isinstance(d.get("assignee"), list) and who in d["assignee"])
        if _truthy(p.get("active")):
            preds.append(lambda d: _le(_at(d, "startTime"), now) and _le(now, _at(d, "endTime")))
        if _truthy(p.get("isVisit")):
            preds.append(lambda d: _lt(now, _at(d, "endTime")))
        if "timeFrom" in p or "timeTo" in p or "timeBy" in p:
            by = p.get("timeBy", "createdTime")
            if by not in _TIME_BY:
                raise HttpError(400, "The selected time by is invalid.")
            lo = hi = None
            if "timeFrom" in p:
                lo = instant(p["timeFrom"])
                if lo is None:
                    raise HttpError(400, "The time from is not a valid date.")
            if "timeTo" in p:
                hi = instant(p["timeTo"])
                if hi is None:
                    raise HttpError(400, "The time to is not a valid date.")
            if lo is not None and hi is not None and hi < lo:
                raise HttpError(400, "The time to must be a date after or equal to time from.")
            if lo is not None or hi is not None:
                preds.append(lambda d: _between(_at(d, by), lo, hi))
        return preds

    # --- GET /task/{id} -----------------------------------------------------------------

    def get(self, task_id: str) -> dict[str, Any]:
        doc = self.store.get("tasks", task_id)
        if doc is None:
            raise HttpError(404, "Data not found")
        return {"status": True, "message": "Success", SPEC.envelope_one: doc}

    # --- validation ---------------------------------------------------------------------

    def _clean(self, body: Any, *, full: bool, old: Doc | None = None) -> dict[str, Any]:
        """The writable keys of ``body``, validated and normalised (HttpError 400 if not)."""
        if not isinstance(body, dict):
            raise HttpError(400, _BAD_REQUEST)
        if full:
            for name in SPEC.required_on_create:
                if body.get(name) in (None, "", []):
                    raise HttpError(400, f"The {attribute(name)} field is required.")
        flows = self._flows_by_name()
        out: dict[str, Any] = {}
        for k, v in body.items():
            if k in _READ_ONLY or k == "flowId":
                continue
            out[k] = v
        if "flow" in out and (not isinstance(out["flow"], str) or out["flow"] not in flows):
            raise HttpError(400, "The selected flow is invalid.")
        if "hubId" in out:
            hub_id = out["hubId"]
            if not isinstance(hub_id, str) or self.store.get("hubs", hub_id) is None:
                raise HttpError(400, "The selected hub id is invalid.")
        flow_name = out.get("flow", old.get("flow") if old else None)
        flow = flows.get(flow_name) if isinstance(flow_name, str) else None
        if flow is not None:
            out["flowId"] = flow["_id"]
        if "assignee" in out:
            a = out["assignee"]
            if isinstance(a, str):
                a = _csv(a)
            if not isinstance(a, list) or not all(isinstance(x, str) for x in a):
                raise HttpError(400, "The assignee must be an array.")
            out["assignee"] = a
        if "label" in out:
            out["label"] = _labels(out["label"])
        for k in _DATETIME & out.keys():
            v = out[k]
            if v is None:
                continue
            t = instant(v) if isinstance(v, str) else None
            if t is None:
                raise HttpError(400, f"The {attribute(k)} is not a valid date.")
            out[k] = iso_now(t)
        if "orderIndex" in out and (
            isinstance(out["orderIndex"], bool) or not isinstance(out["orderIndex"], (int, float))
        ):
            raise HttpError(400, "The order index must be a number.")
        if flow is not None:
            for cid, comp in self._components(flow).items():
                if cid in out and out[cid] is not None:
                    _check_component(cid, comp, out[cid])
        return out

    # --- document building --------------------------------------------------------------

    def _history(self, action: str, notes: str, change: dict[str, Any], now: float) -> Doc:
        return {
            "_id": self.new_id(),
            "action": action,
            "notes": notes,
            "changeData": change,
            "createdAt": _iso_micro(now),
        }

    def _assigned_to(self, email: str) -> Doc:
        """The assignee as real tasks embed it (note 24)."""
        for u in self.store.values("users"):
            if u.get("email") == email:
                return assigned_to(u)
        return assigned_to({"_id": None, "name": email, "email": email})

    def _settle(self, old: Doc | None, new: Doc, now: float, action: str, change: Doc) -> Doc:
        """Server-owned keys after a write: hub, status, assignment stamps, history."""
        stamp = iso_now(now)
        email = self.me["email"]
        if old is None or new.get("hubId") != old.get("hubId"):
            new["hub"] = self._hub_embed(new["hubId"])
        assignee = new.get("assignee") or []
        was = old.get("status") if old else None
        history = list(old.get("histories", [])) if old else []
        if was == "DONE":
            new["status"] = "DONE"
        elif assignee:
            new["status"] = "ONGOING"
            if was != "ONGOING" or (old is not None and old.get("assignee") != assignee):
                new["assignedBy"] = email
                new["assignedTime"] = stamp
                new["assignedTo"] = self._assigned_to(assignee[0])
                if action != "assign":
                    history.append(
                        self._history(
                            "assign", f"Assigned to {assignee[0]}", {"assignee": assignee}, now
                        )
                    )
        else:
            new["status"] = "UNASSIGNED"
            for k in ("assignedBy", "assignedTime"):
                new.pop(k, None)
            new["assignedTo"] = None  # on every real task, null when unassigned (note 24)
        history.append(self._history(action, _NOTES[action], change, now))
        new["histories"] = history
        new["updatedTime"] = stamp
        if old is not None:
            new["updatedBy"] = email
        return new

    def _build_new(self, body: Any, now: float, taken: set[str]) -> Doc:
        if isinstance(body, dict) and "_id" in body:
            tid = body["_id"]
            if not isinstance(tid, str) or not _HEX24.fullmatch(tid):
                raise HttpError(400, "The _id format is invalid.")
            if tid in taken or self.store.get("tasks", tid) is not None:
                raise HttpError(409, "The _id has already been taken.")
        else:
            tid = self.new_id()
        clean = self._clean(body, full=True)
        org = self.store.meta["organization"]
        doc: Doc = {
            "_id": tid,
            "organizationId": org["id"],
            "organization": {"_id": org["id"], "name": org["name"], "email": org["email"]},
            "label": [],
            "isDeleted": False,
            "assignedVehicle": None,
            **NEW_TASK_KEYS,
        }
        doc.update(clean)
        doc.setdefault("startTime", iso_now(now))
        doc.setdefault("endTime", iso_now(now + 86400))
        doc.setdefault("orderIndex", int(now * 1000) * 100 + int(tid[-6:], 16) % 100)
        doc["createdFrom"] = "API"
        doc["createdBy"] = self.me["email"]
        doc["createdTime"] = iso_now(now)
        return self._settle(None, doc, now, "create", {})

    def _build_update(self, old: Doc, body: Any, now: float, *, full: bool) -> Doc:
        clean = self._clean(body, full=full, old=old)
        if full:
            # server-owned keys survive a replace, and so do the keys a list never shows
            # (histories) and the ones the server fills when a body leaves them out
            keep = _READ_ONLY | set(SPEC.detail_only) | _SERVER_DEFAULTS
            new = {k: v for k, v in old.items() if k in keep}
            new.update(clean)
            change = {k: v for k, v in clean.items() if old.get(k) != v}
            change.update({k: None for k in old if k not in new})
            action = "put"
        else:
            new = dict(old)
            new.update(clean)
            change = {k: v for k, v in clean.items() if old.get(k) != v}
            action = "patch"
        return self._settle(old, new, now, action, change)

    def _build_assign(self, old: Doc, body: Any, now: float) -> Doc:
        if not isinstance(body, dict) or body.get("assignee") in (None, "", []):
            raise HttpError(400, "The assignee field is required.")
        clean = self._clean({"assignee": body["assignee"]}, full=False, old=old)
        new = dict(old, assignee=clean["assignee"])
        if old.get("status") != "DONE":
            new["status"] = "ONGOING"
        new["assignedBy"] = self.me["email"]
        new["assignedTime"] = iso_now(now)
        new["assignedTo"] = self._assigned_to(clean["assignee"][0])
        old_for_settle = dict(old, status="ONGOING", assignee=clean["assignee"])
        if old.get("status") == "DONE":
            old_for_settle["status"] = "DONE"
        return self._settle(old_for_settle, new, now, "assign", {"assignee": clean["assignee"]})

    def _build_move(self, old: Doc, body: Any, now: float) -> Doc:
        if not isinstance(body, dict) or body.get("hubId") in (None, ""):
            raise HttpError(400, "The hub id field is required.")
        clean = self._clean({"hubId": body["hubId"]}, full=False, old=old)
        new = dict(old, hubId=clean["hubId"])
        return self._settle(old, new, now, "move", {"hubId": clean["hubId"]})

    # --- single writes ------------------------------------------------------------------

    def create(self, body: Any, method: str, path: str) -> dict[str, Any]:
        with self.store.lock:
            doc = self._build_new(body, self.clock(), set())
            self.store.apply([Op("put", "tasks", doc["_id"], doc, body)], method, path)
        return {"status": True, "message": "Task has been created", SPEC.envelope_one: doc}

    def update(self, task_id: str, body: Any, method: str, path: str, kind: str) -> dict[str, Any]:
        """``kind``: put, patch, assign, move, delete."""
        with self.store.lock:
            old = self.store.get("tasks", task_id)
            if old is None:
                raise HttpError(404, "Data not found")
            if kind == "delete":
                self.store.apply([Op("delete", "tasks", task_id, None, body)], method, path)
                return {"status": True, "message": "Success", SPEC.envelope_one: old}
            doc = self._one_update(old, body, self.clock(), kind)
            self.store.apply([Op("put", "tasks", task_id, doc, body)], method, path)
        return {"status": True, "message": "Success", SPEC.envelope_one: doc}

    def _one_update(self, old: Doc, body: Any, now: float, kind: str) -> Doc:
        if kind == "assign":
            return self._build_assign(old, body, now)
        if kind == "move":
            return self._build_move(old, body, now)
        return self._build_update(old, body, now, full=kind == "put")

    # --- bulk ---------------------------------------------------------------------------

    def _bulk_items(self, body: Any) -> list[Any]:
        if not isinstance(body, dict):
            raise HttpError(400, _BAD_REQUEST)
        items = body.get(_BULK_KEY)
        name = attribute(_BULK_KEY)
        if items is None or items == []:
            raise HttpError(400, f"The {name} field is required.")
        if not isinstance(items, list):
            raise HttpError(400, f"The {name} must be an array.")
        if len(items) > SPEC.bulk_max:
            raise HttpError(400, f"The {name} may not have more than {SPEC.bulk_max} items.")
        return items

    def bulk_create(self, body: Any, method: str, path: str) -> dict[str, Any]:
        items = self._bulk_items(body)
        results: list[dict[str, Any]] = []
        ops: list[Op] = []
        with self.store.lock:
            now = self.clock()
            taken: set[str] = set()
            for item in items:
                res: dict[str, Any] = {}
                try:
                    doc = self._build_new(item, now, taken)
                except HttpError as e:
                    res = {"status": False, "message": e.message}
                    if isinstance(item, dict) and isinstance(item.get("_id"), str):
                        res["_id"] = item["_id"]
                else:
                    taken.add(doc["_id"])
                    ops.append(Op("put", "tasks", doc["_id"], doc, item))
                    res = {"status": True, "message": "Task has been created", "_id": doc["_id"]}
                if isinstance(item, dict) and "refId" in item:
                    res["refId"] = item["refId"]
                results.append(res)
            self.store.apply(ops, method, path)
        return _summary(results)

    def bulk_update(self, body: Any, method: str, path: str, kind: str) -> dict[str, Any]:
        """Bulk ``kind``: put, patch, assign, move or delete, item by item."""
        items = self._bulk_items(body)
        results: list[dict[str, Any]] = []
        ops: list[Op] = []
        pending: dict[str, Doc | None] = {}
        with self.store.lock:
            now = self.clock()
            for item in items:
                tid = item.get("_id") if isinstance(item, dict) else None
                res: dict[str, Any] = {"status": False, "message": "The _id field is required."}
                if isinstance(tid, str) and tid:
                    res["_id"] = tid
                    old = pending[tid] if tid in pending else self.store.get("tasks", tid)
                    if old is None:
                        res["message"] = "Data not found"
                    else:
                        try:
                            if kind == "delete":
                                new = None
                                ops.append(Op("delete", "tasks", tid, None, item))
                            else:
                                new = self._one_update(old, item, now, kind)
                                ops.append(Op("put", "tasks", tid, new, item))
                        except HttpError as e:
                            res["message"] = e.message
                        else:
                            pending[tid] = new
                            res.update(status=True, message="Success")
                results.append(res)
            self.store.apply(ops, method, path)
        return _summary(results)

    # --- for the other resources (dispatch, reorder-visits, activities) -----------------

    def build_new(self, body: Any, now: float, taken: set[str]) -> Doc:
        """The task a create with ``body`` makes (validated, server keys set; not stored)."""
        return self._build_new(body, now, taken)

    def build_patch(self, old: Doc, body: Any, now: float) -> Doc:
        """The task ``old`` after a PATCH with ``body`` (validated; not stored)."""
        return self._build_update(old, body, now, full=False)

    def matching(self, q: dict[str, str]) -> list[Doc]:
        """Every task ``GET /tasks`` would list for the filters in ``q`` (sorted, unpaged)."""
        return self._query(q)[0]


_NOTES = {
    "create": "Task created",
    "put": "Task replaced",
    "patch": "Task updated",
    "assign": "Task assigned",
    "move": "Task moved to another hub",
}


def _labels(value: Any) -> list[str] | None:
    """A task's labels as stored: a list of strings; a lone string is one label (note 21).

    >>> _labels("COD"), _labels(["COD", "Fragile"]), _labels(None)
    (['COD'], ['COD', 'Fragile'], None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return value
    raise HttpError(400, "The label must be a string or an array of strings.")


def _list_form(doc: Doc) -> Doc:
    """A list item: the stored document without the detail-only keys (note 14)."""
    item = doc.copy()  # a C-level copy + a few pops: ~10x faster than a filtering dictcomp
    for k in SPEC.detail_only:
        item.pop(k, None)
    return item


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    ok = sum(1 for r in results if r["status"])
    return {"success": ok, "failed": len(results) - ok, _BULK_KEY: results}


def _check_component(cid: str, comp: Doc, value: Any) -> None:
    kind = comp.get("inputType")
    name = attribute(cid)
    if comp.get("component") == "list" or kind == "list":
        if not isinstance(value, list):
            raise HttpError(400, f"The {name} must be an array.")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HttpError(400, f"The {name} must be a number.")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise HttpError(400, f"The {name} field must be true or false.")
    elif not isinstance(value, str):
        raise HttpError(400, f"The {name} must be a string.")


def _at(d: Doc, key: str) -> float | None:
    v = d.get(key)
    return instant(v) if isinstance(v, str) else None


def _le(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and a <= b


def _lt(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and a < b


def _between(t: float | None, lo: float | None, hi: float | None) -> bool:
    return t is not None and (lo is None or t >= lo) and (hi is None or t <= hi)


def _sort_key(field: str) -> Callable[[Doc], tuple[Any, ...]]:
    """Mongo-like order: missing/null first, then numbers (and datetimes as instants),
    strings, booleans, other JSON; ties broken by ``_id``."""
    is_dt = field in _DATETIME

    def key(d: Doc) -> tuple[Any, ...]:
        v = d.get(field)
        if v is None:
            return (0, 0, d["_id"])
        if isinstance(v, str):
            if is_dt:
                t = instant(v)
                if t is not None:
                    return (1, t, d["_id"])
            return (2, v, d["_id"])
        if isinstance(v, bool):
            return (3, int(v), d["_id"])
        if isinstance(v, (int, float)):
            return (1, v, d["_id"])
        return (4, orjson.dumps(v, option=orjson.OPT_SORT_KEYS), d["_id"])

    return key
