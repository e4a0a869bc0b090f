"""Routing results (tag Routing): route optimisation, the results, dispatch and visit
re-ordering (vehicles are :mod:`~milekit.sandbox.resources.vehicle`).

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=50)))
>>> status, _, body = app.call("GET", "/api/v3/results?limit=1")
>>> status, sorted(body), body["data"]["per_page"]
(200, ['data'], 1)

``POST /routing`` plans with :func:`milekit.sandbox.optimize.plan` and stores the result;
``POST /dispatch`` turns a result into task assignments (through the task rules, so the
tasks' status, assignment stamps and history follow); ``POST /reorder-visits`` gives the
visited tasks a new ``orderIndex``. Paths, envelope keys, paging and sort parameters,
the bulk key and maximum, id and required fields are read from the registry.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from milekit.sandbox import optimize
from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    instant,
    iso_micro,
    iso_now,
    parse_coord,
    sort_docs,
)
from milekit.sandbox.lookups import api_user, email_of, hub_of
from milekit.sandbox.store import Doc, Op


def routes(ctx: Ctx) -> list[Route]:
    res = Results(ctx)
    return [
        *res.routes(),
        Route("GET", "/result/{id}/history", res.history),
        Route("POST", "/dispatch", res.dispatch),
        Route("POST", "/reorder-visits", res.reorder),
    ]


# --- routing results ----------------------------------------------------------------------


def _task_id(visit_id: Any) -> str | None:
    """The task a visit id refers to (``taskId-<id>``, also ``task-<id>``)."""
    if not isinstance(visit_id, str):
        return None
    for prefix in ("taskId-", "task-"):
        if visit_id.startswith(prefix):
            return visit_id[len(prefix) :]
    return None


class Results(StoredResource):
    """``{"data": <paginator>}`` and ``{"data": <result>}``: no status envelope (note 3);
    a create plans the visits (``POST /routing``), an update replaces the plan (and logs a
    history entry), a patch renames."""

    name = "routing_results"
    filters = (Filter("resultCode", "eq"), Filter("hubId"))
    listed = got = Answer("item")
    created = Answer("status item")
    updated = Answer("status property")
    patched = Answer("status message item", "Success")
    deleted = Answer("item status message", "Result successfully deleted.", key="_id")

    def listing(self, r: Request) -> list[Doc]:
        """The declared filters, ``s`` (in the name or an assignee), ``dateFrom`` and
        ``dateTo``; each item with the plan's ``summary`` at the top too (note 26)."""
        q = r.query
        docs = super().listing(r)
        if q.get("s"):
            needle = q["s"].lower()
            docs = [
                d
                for d in docs
                if needle in str(d.get("name", "")).lower()
                or any(
                    needle in str(v.get("assignee") or "").lower()
                    for v in (d.get("result") or {}).get("routing") or []
                )
            ]
        for key, cmp in (("dateFrom", 1), ("dateTo", -1)):
            if q.get(key):
                bound = instant(q[key])
                if bound is None:
                    raise HttpError(
                        400, f"The {'date from' if cmp == 1 else 'date to'} is not a valid date."
                    )
                if cmp == -1 and len(q[key]) == 10:
                    bound += 86399  # a bare date includes that whole day
                docs = [
                    d
                    for d in docs
                    if (t := instant(str(d.get("createdTime", "")))) is not None
                    and (t >= bound if cmp == 1 else t <= bound)
                ]
        return [dict(d, summary=(d.get("result") or {}).get("summary")) for d in docs]

    def history(self, r: Request) -> Response:
        rid = self.one(r.params["id"])["_id"]
        docs = [d for d in self.ctx.store.values("routing_histories") if d.get("resultId") == rid]
        docs = sort_docs(docs, "createdTime", "desc", default_by="createdTime")
        return Response(200, envelope("status item", item=docs))

    def _history(self, doc: Doc, action: str, description: str, now: float) -> Op:
        versions = [
            h.get("version", 0)
            for h in self.ctx.store.values("routing_histories")
            if h.get("resultId") == doc["_id"]
        ]
        entry = {
            "_id": self.ctx.new_id(),
            "resultId": doc["_id"],
            "action": action,
            "description": description,
            "visits": [],
            "createdFrom": "API",
            "createdType": action,
            "createdBy": api_user(self.ctx).get("name", email_of(self.ctx)),
            "version": max(versions, default=0) + 1,
            "organizationId": self.ctx.org_id,
            "createdTime": iso_micro(now),
            "updatedTime": iso_micro(now),
        }
        return Op("put", "routing_histories", entry["_id"], entry, None)

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        if old is None:
            return self._planned(r)
        if full:
            return self._replanned(r, old)
        name = V(r.body).str_("name", required=True, max_len=255)
        return dict(old, name=name, updatedTime=iso_now(self.ctx.now()))

    def ops(self, r: Request, old: Doc | None, doc: Doc) -> list[Op]:
        """The result, and a history entry where an update replaced its plan."""
        ops = super().ops(r, old, doc)
        if old is not None and doc.get("result") is not old.get("result"):
            about = "Routing result updated through the API"
            ops.append(self._history(doc, "update", about, self.ctx.now()))
        return ops

    def removals(self, r: Request, old: Doc) -> list[Op]:
        """The result and its history."""
        return super().removals(r, old) + [
            Op("delete", "routing_histories", h["_id"], None, None)
            for h in self.ctx.store.values("routing_histories")
            if h.get("resultId") == old["_id"]
        ]

    def removed(self, old: Doc) -> Any:
        return old["_id"]

    def _replanned(self, r: Request, old: Doc) -> Doc:
        """Replace the plan (``{"result": {routing, dropped}}``) and recompute the summary."""
        v = V(r.body)
        result = r.body.get("result")
        if isinstance(result, list) and len(result) == 1:
            result = result[0]
        if not isinstance(result, dict):
            v.fail("The result field is required.")
        routing = result.get("routing")
        dropped = result.get("dropped", [])
        if not isinstance(routing, list) or not all(isinstance(x, dict) for x in routing):
            v.fail("The result.routing must be an array.")
        if not isinstance(dropped, list):
            v.fail("The result.dropped must be an array.")
        for i, vehicle in enumerate(routing):
            trips = vehicle.get("trips")
            if not isinstance(trips, list) or not all(isinstance(t, dict) for t in trips):
                v.fail(f"The result.routing.{i}.trips must be an array.")
        config = old.get("configuration") or {}
        constraints = [c for c in config.get("capacityConstraint") or [] if isinstance(c, str)]
        plan = copy.deepcopy(old.get("result") or {})
        new_routing = [
            dict(vehicle, **optimize.totals(vehicle["trips"])) for vehicle in copy.deepcopy(routing)
        ]
        fleet: list[Doc] = [{"capacity": {}} for _ in new_routing]
        total = (old.get("result") or {}).get("summary", {}).get("totalVehicles", len(new_routing))
        plan.update(
            routing=new_routing,
            dropped=copy.deepcopy(dropped),
            summary=optimize.summarise(
                new_routing, dropped, max(total, len(new_routing)), constraints, fleet
            ),
        )
        now = self.ctx.now()
        routed = plan["summary"]["routedVisits"]
        doc = dict(
            old,
            result=plan,
            summary=plan["summary"],
            resultTotal={
                "routing": routed,
                "dropped": len(dropped),
                "total": routed + len(dropped),
            },
            updatedTime=iso_now(now),
            totalResultHistories=int(old.get("totalResultHistories") or 0) + 1,
        )
        return doc

    # --- optimise -------------------------------------------------------------------------

    def _planned(self, r: Request) -> Doc:
        """The result of ``POST /routing``: the visits planned on the vehicles."""
        v = V(r.body, required=self.spec.required_on_create)
        hub = hub_of(self.ctx, r.body.get("hubId")) if v.present("hubId") else None
        v.check_required()
        assert hub is not None
        # the request's own required keys (the schema's; they are not result fields)
        visits = v.list_("visits", required=True)
        vehicles = v.list_("vehicles", required=True)
        assert visits is not None and vehicles is not None
        _check_visits(v, visits)
        _check_vehicles(v, vehicles)
        config = _configuration(v, r.body.get("configuration") or {})
        hub_coord = parse_coord(r.body.get("hubCoordinate")) or (hub["lat"], hub["lng"])
        now = self.ctx.now()
        when = datetime.fromtimestamp(now, UTC)
        routing_date = v.str_("routingDate") or when.strftime("%Y-%m-%d")
        if instant(routing_date) is None:
            v.fail("The routing date is not a valid date.")
        fleet = {d["_id"]: d for d in self.ctx.store.values("vehicles")}
        plan = optimize.plan(hub["_id"], hub_coord, visits, vehicles, config, fleet)
        code = v.str_("resultCode") or str(int(now * 1000))
        plan.update(countryCode="ID", resultCode=code)
        routed, dropped = plan["summary"]["routedVisits"], plan["summary"]["droppedVisits"]
        me = api_user(self.ctx)
        doc = {
            "_id": self.ctx.new_id(),
            "name": v.str_("name") or f"Routing {when:%m-%d %H:%M}",
            "status": "done",
            "resultCode": code,
            "routingDate": routing_date,
            "hubId": hub["_id"],
            "hubCoordinate": f"{hub_coord[0]},{hub_coord[1]}",
            "configurationId": None,
            "configuration": copy.deepcopy(config),
            "result": plan,
            "summary": plan["summary"],  # at the top too (docs/api-notes.md note 26)
            "resultTotal": {"routing": routed, "dropped": dropped, "total": routed + dropped},
            "organizationId": self.ctx.org_id,
            "createdBy": me.get("_id"),
            "user": {"name": me.get("name")},
            "createdFrom": "API",
            "dispatchStatus": None,
            "dispatchMessage": None,
            "isShown": True,
            "totalResultHistories": 0,
            "finishTime": iso_now(now),
            "createdTime": iso_now(now),
            "updatedTime": iso_now(now),
        }
        return doc

    # --- dispatch -------------------------------------------------------------------------

    def dispatch(self, r: Request) -> Response:
        v = V(r.body)
        rid = v.str_("resultId", required=True)
        assert rid is not None
        result = self.one(rid)
        flows = self.ctx.store.values("flows")
        run = _Dispatch(self.ctx, result, next((f for f in flows if f.get("isDefault")), None)
                        or (flows[0] if flows else None))  # fmt: skip
        with self.ctx.store.lock:
            for vehicle in (result.get("result") or {}).get("routing") or []:
                for trip in vehicle.get("trips") or []:
                    if isinstance(trip, dict) and not trip.get("isHub"):
                        run.visit(vehicle, trip)
            items = run.items
            ok = sum(1 for i in items if i["status"])
            updated = dict(
                result,
                dispatchStatus="done" if ok == len(items) else "partially",
                dispatchMessage=f"Dispatched {ok} of {len(items)} visits",
                updatedTime=iso_now(run.now),
            )
            run.ops.append(Op("put", "routing_results", rid, updated, r.body))
            self.ctx.write(r, run.ops)
        layout = "status success failed statusCode item"
        body = envelope(layout, key="tasks", item=items, success=ok, failed=len(items) - ok)
        return Response(200, body)

    # --- reorder visits -------------------------------------------------------------------

    def reorder(self, r: Request) -> Response:
        v = V(r.body)
        start = parse_coord(v.coordinate("currentCoordinate", required=True))
        visits = v.list_("visits", required=True)
        assert start is not None and visits is not None
        here: tuple[float, float] = start
        points: list[tuple[Doc, tuple[float, float]]] = []
        for i, visit in enumerate(visits):
            if not isinstance(visit, dict) or not visit.get("id"):
                v.fail(f"The visits.{i}.id field is required.")
            point = parse_coord(visit.get("coordinate"))
            if point is None:
                v.fail(f"The visits.{i}.coordinate is not a valid coordinate.")
            points.append((visit, point))
        order: list[Doc] = []
        while points:
            nearest = min(points, key=lambda p: (optimize.distance_m(here, p[1]), str(p[0]["id"])))
            points.remove(nearest)
            order.append(nearest[0])
            here = nearest[1]
        now = self.ctx.now()
        base = int(now) * 10
        ops: list[Op] = []
        data: list[Doc] = []
        with self.ctx.store.lock:
            for k, visit in enumerate(order, 1):
                tid = _task_id(visit["id"]) or str(visit["id"])
                old = self.ctx.store.get("tasks", tid)
                if old is None:
                    data.append({"status": False, "message": "Data not found", "_id": tid})
                    continue
                doc = self.ctx.tasks.build_patch(old, {"orderIndex": base + k}, now)
                ops.append(Op("put", "tasks", tid, doc, {"orderIndex": base + k}))
                layout = "status message _id orderIndex"
                data.append(envelope(layout, message="Success.", _id=tid, orderIndex=base + k))
            self.ctx.write(r, ops)
        return Response(200, envelope("status statusCode item", item=data))


class _Dispatch:
    """One dispatch of a routing result: each visit becomes a task update (a visit that is
    a task) or a create, with an answer item each."""

    def __init__(self, ctx: Ctx, result: Doc, flow: Doc | None) -> None:
        self.ctx = ctx
        self.result = result
        self.flow = flow
        self.now = ctx.now()
        self.ops: list[Op] = []
        self.items: list[Doc] = []
        self.taken: set[str] = set()
        self.pending: dict[str, Doc] = {}

    def visit(self, vehicle: Doc, trip: Doc) -> None:
        patch: Doc = {
            "routingResultId": self.result["_id"],
            "routePlannedOrder": trip.get("order"),
            "eta": trip.get("eta"),
            "etd": trip.get("etd"),
        }
        if vehicle.get("assignee"):
            patch["assignee"] = [vehicle["assignee"]]
        vehicle_id = vehicle.get("vehicleId")
        if isinstance(vehicle_id, str) and self.ctx.store.get("vehicles", vehicle_id):
            patch["assignedVehicleId"] = vehicle_id
        tid = _task_id(trip.get("visitId"))
        action = "update" if tid else "create"
        try:
            doc = self._updated(tid, patch) if tid is not None else self._created(trip, patch)
        except HttpError as e:
            self._item(tid, trip.get("visitName"), False, e.message, action)
            return
        if doc is None:
            self._item(tid, None, False, "Data not found", action)
            return
        self.pending[doc["_id"]] = doc
        self.ops.append(Op("put", "tasks", doc["_id"], doc, patch))
        self._item(doc["_id"], doc.get("title"), True, "success", action)

    def _updated(self, tid: str, patch: Doc) -> Doc | None:
        old = self.pending.get(tid) or self.ctx.store.get("tasks", tid)
        return None if old is None else self.ctx.tasks.build_patch(old, patch, self.now)

    def _created(self, trip: Doc, patch: Doc) -> Doc:
        if self.flow is None:
            raise HttpError(400, "No flow to create the task with.")
        body = dict(
            patch,
            flow=self.flow["name"],
            hubId=self.result["hubId"],
            title=trip.get("visitName") or str(trip.get("visitId")),
            content=trip.get("address") or "",
        )
        if trip.get("coordinate"):
            body["expectedCoordinate"] = trip["coordinate"]
        doc = self.ctx.tasks.build_new(body, self.now, self.taken)
        self.taken.add(doc["_id"])
        return doc

    def _item(self, tid: str | None, title: Any, ok: bool, message: str, action: str) -> None:
        self.items.append(
            {"_id": tid, "title": title, "status": ok, "message": message, "action": action}
        )


def _check_visits(v: V, visits: list[Any]) -> None:
    """Each visit: an object with id, name, address and a coordinate; numeric capacities."""
    for i, visit in enumerate(visits):
        if not isinstance(visit, dict):
            v.fail(f"The visits.{i} must be an object.")
        for key in ("id", "name", "address", "coordinate"):
            if visit.get(key) in (None, ""):
                v.fail(f"The visits.{i}.{key} field is required.")
        if parse_coord(visit["coordinate"]) is None:
            v.fail(f"The visits.{i}.coordinate is not a valid coordinate.")
        for key, amount in (visit.get("capacity") or {}).items():
            number = isinstance(amount, (int, float)) and not isinstance(amount, bool)
            if not number or amount > 9_999_999_999:
                v.fail(f"The visits.{i}.capacity.{key} must be a number up to 9999999999.")
        if len(visit.get("tags") or []) > 10:
            v.fail(f"The visits.{i}.tags may not have more than 10 items.")


def _check_vehicles(v: V, vehicles: list[Any]) -> None:
    for i, vehicle in enumerate(vehicles):
        if not isinstance(vehicle, dict):
            v.fail(f"The vehicles.{i} must be an object.")
        for key in ("id", "name"):
            if vehicle.get(key) in (None, ""):
                v.fail(f"The vehicles.{i}.{key} field is required.")


def _configuration(v: V, config: Any) -> Doc:
    """The optimisation's configuration: an object (a one-item list is taken as its item)."""
    if isinstance(config, list):
        config = config[0] if config and isinstance(config[0], dict) else {}
    if not isinstance(config, dict):
        v.fail("The configuration must be an object.")
    speed = config.get("defaultSpeed")
    if speed is not None and (not isinstance(speed, int) or speed < 5):
        v.fail("The configuration.default speed must be at least 5.")
    return config
