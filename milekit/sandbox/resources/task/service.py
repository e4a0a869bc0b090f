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

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from milekit.sandbox.common import Ctx, ObjectIds, paging, resource_routes
from milekit.sandbox.generic import Answer, envelope
from milekit.sandbox.http import (
    BAD_REQUEST,
    HttpError,
    Request,
    Response,
    Route,
    attribute,
    bulk_items,
    bulk_summary,
    csv,
    instant,
    is_object_id,
    iso_micro,
    iso_now,
    paginator,
    project,
    sort_key,
    truthy,
)
from milekit.sandbox.seed.base import TASKS_TO
from milekit.sandbox.seed.tasks import NEW_TASK_KEYS, assigned_to
from milekit.sandbox.store import Doc, Op, Store
from milekit.types.registry import RESOURCES, FieldType

SPEC = RESOURCES["tasks"]
#: ``dataVersion`` counts from here (a 10-digit epoch, note 30)
DATA_VERSION_BASE = TASKS_TO
_SORT_BY, _SORT_ORDER = (p or "" for p in SPEC.sort_params)
_BULK_KEY = SPEC.bulk_key or "tasks"
#: the ``fields=`` projections whose serialised rows the service keeps, the last asked
#: for (the whole rows' are always kept)
_PROJECTIONS_KEPT = 4
_DATETIME = frozenset(f.name for f in SPEC.fields if f.type is FieldType.DATETIME)
_READ_ONLY = frozenset(f.name for f in SPEC.fields if not f.writable)
_STATUSES = SPEC.field("status").enum
_TIME_BY = SPEC.time_by
#: the order of a list that names none
_DEFAULT_SORT = "createdTime"
#: after every tie-breaking id in a sort key
_LAST = "\U0010ffff"
#: writable keys the server fills when a create leaves them out (kept by a replace too)
_SERVER_DEFAULTS = frozenset({"orderIndex"})
#: the answers: the list (with its counts and data version), one task, a created one
_LISTED = Answer("status message item metadata dataVersion", "Success.")
_ONE = Answer("status message item", "Success")
_CREATED = Answer("status message item", "Task has been created", 201)
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


def routes(ctx: Ctx) -> list[Route]:
    """The task endpoints: the registry's standard operations, then assign and move."""
    t = ctx.tasks
    if not isinstance(t, TaskService):
        raise TypeError("the sandbox context holds no TaskService")

    def one(kind: str) -> Callable[[Request], Response]:
        return lambda r: Response(200, t.update(r.params["id"], r.body, r.method, r.raw_path, kind))

    def many(kind: str) -> Callable[[Request], Response]:
        return lambda r: Response(200, t.bulk_update(r.body, r.method, r.raw_path, kind))

    def listing(r: Request) -> Response:
        return Response(200, t.list_tasks(r.query, r.raw_query, r.url, fragments=True))

    return [
        *resource_routes(
            SPEC,
            list=listing,
            detail=lambda r: Response(200, t.get(r.params["id"])),
            create=lambda r: Response(201, t.create(r.body, r.method, r.raw_path)),
            update=one("put"),
            patch=one("patch"),
            delete=one("delete"),
            bulk_create=lambda r: Response(201, t.bulk_create(r.body, r.method, r.raw_path)),
            bulk_update=many("patch"),
            bulk_replace=many("put"),
            bulk_delete=many("delete"),
        ),
        Route("PUT", "/task/{id}/assign", one("assign")),
        Route("PUT", "/task/{id}/move", one("move")),
        Route("PUT", "/tasks/bulk/assign", many("assign")),
        Route("PUT", "/tasks/bulk/move", many("move")),
    ]


class TaskService:
    """Task reads and writes over a :class:`Store` (thread-safe through the store's lock).

    >>> from milekit.sandbox.seed import build_org
    >>> svc = TaskService(Store(build_org(tasks=3)))
    >>> svc.create({"flow": "Pickup", "hubId": svc.store.values("hubs")[0]["_id"]}, "POST",
    ...            "/task")["task"]["status"]
    'UNASSIGNED'
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        ids: ObjectIds | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.new_id = ids if ids is not None else ObjectIds(clock)
        self._cache: OrderedDict[tuple[Any, ...], tuple[list[Doc], int, int]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._orders: dict[tuple[str, frozenset[str] | None], _Order] = {}
        #: per ``fields=`` projection (() for none, the few last asked for): _id -> (stored
        #: doc, its list form as JSON); valid while that doc is the stored one (writes
        #: replace documents, never mutate them)
        self._json: OrderedDict[tuple[str, ...], dict[str, tuple[Doc, orjson.Fragment]]]
        self._json = OrderedDict()

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

    # --- GET /tasks ---------------------------------------------------------------------

    def list_tasks(
        self, q: dict[str, str], raw_query: str, path_url: str, *, fragments: bool = False
    ) -> dict[str, Any]:
        """The ``GET /tasks`` response body for query ``q``; with ``fragments=True`` the
        list items are pre-serialised :class:`orjson.Fragment` values (for the wire)."""
        page, limit = paging(q, SPEC)  # a limit over the maximum is capped (note 28)
        docs, done, ongoing = self._query(q)
        chunk = docs[(page - 1) * limit : page * limit]
        fields = csv(q.get("fields", ""))
        items: list[Any]
        if fragments:
            forms = self._forms(tuple(fields))
            items = [self._list_json(d, forms, fields) for d in chunk]
        else:
            items = [_row_form(d, fields) for d in chunk]
        rows = paginator(items, len(docs), page, limit, path_url, raw_query)
        return _LISTED.body(
            SPEC.envelope_list,
            rows,
            metadata={
                "counting": {"doneTotal": done, "ongoingTotal": ongoing},
                "sourceDataTask": "-",
            },
            # a 10-digit epoch that moves with every change of the tasks (note 30)
            dataVersion=str(DATA_VERSION_BASE + self.store.version("tasks")),
        )

    def _forms(self, fields: tuple[str, ...]) -> dict[str, tuple[Doc, orjson.Fragment]]:
        """The serialised list forms of one projection (a page of 1,000 projected rows
        cost the server ~5 ms of its interpreter built anew, ~1.3 ms kept)."""
        with self._cache_lock:
            forms = self._json.setdefault(fields, {})
            self._json.move_to_end(fields)
            projections = [k for k in self._json if k]
            for oldest in projections[: max(0, len(projections) - _PROJECTIONS_KEPT)]:
                del self._json[oldest]
        return forms

    @staticmethod
    def _list_json(
        doc: Doc, forms: dict[str, tuple[Doc, orjson.Fragment]], fields: list[str]
    ) -> orjson.Fragment:
        """The list form of ``doc`` (projected to ``fields``) serialised once per stored
        version of the document."""
        hit = forms.get(doc["_id"])
        if hit is not None and hit[0] is doc:
            return hit[1]
        # a copy of its own size: orjson's result keeps the buffer it was written in
        # (~4 KB for a 134-byte row, and a page fault to make it)
        frag = orjson.Fragment(memoryview(orjson.dumps(_row_form(doc, fields))).tobytes())
        forms[doc["_id"]] = (doc, frag)
        return frag

    def warm(self) -> None:
        """Sort the default listing, order the tasks by each time a list can filter on and
        those of each status (a list of one status keeps an order of its own) now, so the
        first ``GET /tasks`` of each is as fast as the rest: at 1M tasks a status's first
        list sorted its tasks for ~1 s holding the interpreter, the requests arriving
        meanwhile were counted by the organisation's limit only after it, bunched
        (429s to a client keeping the limit), as an indexed database would not."""
        self._query({})
        with self.store.lock:
            for field in _TIME_BY:
                self._order(field).current(self.store)
            for status in _STATUSES:
                self._order(_DEFAULT_SORT, frozenset({status})).current(self.store)

    def _query(self, q: dict[str, str]) -> tuple[list[Doc], int, int]:
        """Filtered and sorted tasks, cached per (normalised params, store version)."""
        params = tuple((k, q[k]) for k in _LIST_PARAMS if q.get(k, "") != "")
        now = self.clock()
        p = dict(params)
        moving = truthy(p.get("active")) is True or truthy(p.get("isVisit")) is True
        clock_bucket = int(now) if moving else 0
        with self.store.lock:
            key = (params, self.store.version("tasks"), clock_bucket)
            with self._cache_lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
            statuses = _statuses(p)
            preds, ranged = self._predicates(p, now)
            sort_by = p.get(_SORT_BY, _DEFAULT_SORT)
            order = p.get(_SORT_ORDER, "desc").lower()
            if order not in ("asc", "desc"):
                raise HttpError(400, f"The selected {attribute(_SORT_ORDER)} is invalid.")
            if ranged is not None:  # a time range: its few tasks sorted, not all filtered
                kept = self._order(sort_by)
                kept.current(self.store)
                docs = sorted(ranged, key=lambda d: kept.key_of[d["_id"]], reverse=order == "desc")
                if statuses:
                    preds.append(lambda d: d.get("status") in statuses)
            else:  # the status filter is a kept order of its own
                docs = self._sorted(sort_by, order, statuses)
            if len(preds) == 1:  # filtering keeps the order: one sort per version
                docs = list(filter(preds[0], docs))
            elif preds:
                docs = [d for d in docs if all(pr(d) for pr in preds)]
            done, ongoing = (_tally(docs, s, statuses) for s in ("DONE", "ONGOING"))
            result = (docs, done, ongoing)
            with self._cache_lock:
                self._cache[key] = result
                while len(self._cache) > 16:
                    self._cache.popitem(last=False)
            return result

    def _sorted(
        self, sort_by: str, order: str, statuses: frozenset[str] | None = None
    ) -> list[Doc]:
        """Every task (of ``statuses``) in the list's order, a copy of the kept order (the
        caller holds the store's lock; the kept order moves with later writes, the copy
        does not)."""
        ascending = self._order(sort_by, statuses).current(self.store)
        return ascending[::-1] if order == "desc" else list(ascending)

    def _order(self, field: str, statuses: frozenset[str] | None = None) -> _Order:
        """The kept order of every task (of ``statuses``) by ``field`` (a few kept, the
        latest used): a list by status after a write no longer sifts every task."""
        index = self._orders.pop((field, statuses), None) or _Order(
            sort_key(field, is_time=field in _DATETIME, fold_case=False),
            None if statuses is None else (lambda d: d.get("status") in statuses),
        )
        self._orders[(field, statuses)] = index
        while len(self._orders) > 8:
            self._orders.pop(next(iter(self._orders)))
        return index

    def _in_range(self, by: str, lo: float | None, hi: float | None) -> list[Doc]:
        """The tasks whose ``by`` falls in [lo, hi], found by bisecting the kept order by
        ``by`` instead of parsing every task's time."""
        index = self._order(by)
        docs = index.current(self.store)
        start = 0 if lo is None else bisect.bisect_left(index.keys, (1, lo))
        stop = len(docs) if hi is None else bisect.bisect_right(index.keys, (1, hi, _LAST))
        return [d for d in docs[start:stop] if _between(_at(d, by), lo, hi)]

    def _predicates(
        self, p: dict[str, str], now: float
    ) -> tuple[list[Callable[[Doc], bool]], list[Doc] | None]:
        """The filters of a list as predicates, and the tasks of its time range (None:
        no range) that the predicates then sift."""
        preds: list[Callable[[Doc], bool]] = []
        ranged: list[Doc] | None = None

        def member(key: str, values: set[str]) -> None:
            preds.append(lambda d: d.get(key) in values)

        if "flow" in p:
            member("flow", set(csv(p["flow"])))
        if "flowId" in p:
            member("flowId", set(csv(p["flowId"])))
        if "hubId" in p:
            member("hubId", set(csv(p["hubId"])))
        if "doneBy" in p:
            member("doneBy", {p["doneBy"]})
        if "routingResultId" in p:
            member("routingResultId", {p["routingResultId"]})
        if "assignee" in p:
            who = p["assignee"]
            preds.append(lambda d: isinstance(d.get("assignee"), list) and who in d["assignee"])
        if truthy(p.get("active")) is True:
            preds.append(lambda d: _le(_at(d, "startTime"), now) and _le(now, _at(d, "endTime")))
        if truthy(p.get("isVisit")) is True:
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
                ranged = self._in_range(by, lo, hi)
        return preds, ranged

    # --- GET /task/{id} -----------------------------------------------------------------

    def get(self, task_id: str) -> dict[str, Any]:
        doc = self.store.get("tasks", task_id)
        if doc is None:
            raise HttpError(404, "Data not found")
        return _ONE.body(SPEC.envelope_one, doc)

    # --- validation ---------------------------------------------------------------------

    def _clean(self, body: Any, *, full: bool, old: Doc | None = None) -> dict[str, Any]:
        """The writable keys of ``body``, validated and normalised (HttpError 400 if not)."""
        if not isinstance(body, dict):
            raise HttpError(400, BAD_REQUEST)
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
                a = csv(a)
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
            "createdAt": iso_micro(now),
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
            if not isinstance(tid, str) or not is_object_id(tid):
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
            for k, v in NEW_TASK_KEYS.items():  # sent null until set, a replace too (note 52)
                if k not in new:
                    new[k] = v
                    if old.get(k) == v:
                        change.pop(k, None)
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
        return _CREATED.body(SPEC.envelope_one, doc)

    def update(self, task_id: str, body: Any, method: str, path: str, kind: str) -> dict[str, Any]:
        """``kind``: put, patch, assign, move, delete."""
        with self.store.lock:
            old = self.store.get("tasks", task_id)
            if old is None:
                raise HttpError(404, "Data not found")
            if kind == "delete":
                self.store.apply([Op("delete", "tasks", task_id, None, body)], method, path)
                return _ONE.body(SPEC.envelope_one, old)
            doc = self._one_update(old, body, self.clock(), kind)
            self.store.apply([Op("put", "tasks", task_id, doc, body)], method, path)
        return _ONE.body(SPEC.envelope_one, doc)

    def _one_update(self, old: Doc, body: Any, now: float, kind: str) -> Doc:
        if kind == "assign":
            return self._build_assign(old, body, now)
        if kind == "move":
            return self._build_move(old, body, now)
        return self._build_update(old, body, now, full=kind == "put")

    # --- bulk ---------------------------------------------------------------------------

    def bulk_create(self, body: Any, method: str, path: str) -> dict[str, Any]:
        items = bulk_items(body, _BULK_KEY, SPEC.bulk_max)
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
                    res = envelope("status message _id", message=_CREATED.message, _id=doc["_id"])
                if isinstance(item, dict) and "refId" in item:
                    res["refId"] = item["refId"]
                results.append(res)
            self.store.apply(ops, method, path)
        return bulk_summary(results, _BULK_KEY)

    def bulk_update(self, body: Any, method: str, path: str, kind: str) -> dict[str, Any]:
        """Bulk ``kind``: put, patch, assign, move or delete, item by item."""
        items = bulk_items(body, _BULK_KEY, SPEC.bulk_max)
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
        return bulk_summary(results, _BULK_KEY)

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


def _statuses(p: Mapping[str, str]) -> frozenset[str] | None:
    """The statuses a list asks for (None: any); 400 for one the API does not have."""
    if "status" not in p:
        return None
    statuses = frozenset(s.upper() for s in csv(p["status"]))
    if not statuses or not statuses <= set(_STATUSES):
        raise HttpError(400, "The selected status is invalid.")
    return statuses


def _tally(docs: list[Doc], status: str, statuses: frozenset[str] | None) -> int:
    """The tasks of ``status`` in a list of ``statuses`` (every task of it has one of
    them): counted only when that does not tell (a pass over 80,000 tasks of a 1M store
    took ~40 ms, the first list by status after a write).

    >>> _tally([{"status": "DONE"}], "DONE", frozenset({"DONE"}))
    1
    """
    if statuses is not None and status not in statuses:
        return 0
    if statuses == frozenset((status,)):
        return len(docs)
    return sum(1 for d in docs if d.get("status") == status)


class _Order:
    """Every task in one ascending order, kept from one version of the tasks to the next
    by moving only the tasks the store's write log names since: a write no longer costs
    the next list a sort of the whole store.

    >>> from milekit.sandbox.seed import build_org
    >>> store = Store(build_org(tasks=20))
    >>> order = _Order(sort_key("createdTime", is_time=True, fold_case=False))
    >>> [d["_id"] for d in order.current(store)] == [
    ...     d["_id"] for d in sorted(store.values("tasks"), key=order.key)]
    True
    """

    def __init__(self, key: Callable[[Doc], Any], where: Callable[[Doc], bool] | None = None):
        self.key, self.where, self.version, self.logged = key, where, -1, 0
        self.docs: list[Doc] = []
        self.keys: list[Any] = []
        self.key_of: dict[str, Any] = {}

    def current(self, store: Store) -> list[Doc]:
        """The sorted documents of the store's current version (the caller holds the
        store's lock; do not mutate)."""
        version = store.version("tasks")
        if version == self.version:
            return self.docs
        log = store.write_log
        written = {e["id"] for e in log[self.logged :] if e["resource"] == "tasks"}
        if self.version < 0 or len(written) > len(self.docs) // 8:
            docs = store.values("tasks")
            if self.where is not None:
                docs = [d for d in docs if self.where(d)]
            keys = [self.key(d) for d in docs]
            order = sorted(range(len(docs)), key=keys.__getitem__)
            self.keys, self.docs = [keys[i] for i in order], [docs[i] for i in order]
            self.key_of = {d["_id"]: k for d, k in zip(docs, keys, strict=True)}
        else:
            for task_id in written:
                self._move(task_id, store.get("tasks", task_id))
        self.version, self.logged = version, len(log)
        return self.docs

    def _move(self, task_id: str, doc: Doc | None) -> None:
        """The task's old place left, its new one (if it still exists) taken."""
        old = self.key_of.pop(task_id, None)
        if old is not None:
            at = bisect.bisect_left(self.keys, old)
            del self.keys[at], self.docs[at]
        if doc is not None and (self.where is None or self.where(doc)):
            k = self.key_of[task_id] = self.key(doc)
            at = bisect.bisect_left(self.keys, k)
            self.keys.insert(at, k)
            self.docs.insert(at, doc)


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


def _row_form(doc: Doc, fields: list[str]) -> Doc:
    """A task as a list shows it: projected to ``fields`` (the id first), or whole."""
    return project(doc, fields, (SPEC.id_field,)) if fields else _list_form(doc)


def _list_form(doc: Doc) -> Doc:
    """A list item: the stored document without the detail-only keys (note 14)."""
    item = doc.copy()  # a C-level copy + a few pops: ~10x faster than a filtering dictcomp
    for k in SPEC.detail_only:
        item.pop(k, None)
    return item


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
