"""Field operations: task schedules, activities, location history, and the task extras
(gallery, public tracking view, productivity tracking, photo upload).

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=200)))
>>> status, _, body = app.call("GET", "/api/v3/activities?pageSize=2")
>>> status, sorted(body["data"]), len(body["data"]["activities"])
(200, ['activities', 'currentPage', 'lastPage', 'perPage', 'total'], 2)

Activity children are ordinary tasks (created through the task rules); a master's
``status`` and ``assignee`` are read from its children whenever it is served. A location
``start`` record opens a trip that a ``finish`` record closes (one open trip per user);
each user's newest point carries ``isLatest``. Paths, envelope keys, paging and sort
parameters, bulk keys and maxima, id and required fields are read from the registry.
"""

from __future__ import annotations

import itertools
import math
import os
from datetime import UTC, datetime
from typing import Any

from milekit.sandbox import optimize
from milekit.sandbox.common import (
    Ctx,
    listed,
    paging,
    resource_routes,
    sort_listed,
)
from milekit.sandbox.flows import components_of
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    attribute,
    bulk_items,
    csv,
    instant,
    is_date,
    iso_now,
    naive,
    project,
    sort_docs,
    truthy,
)
from milekit.sandbox.lookups import email_of, hub_of, user_by_email
from milekit.sandbox.seed.field_ops import activity_state
from milekit.sandbox.settings import STORAGE, store_file
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

_TASKS = RESOURCES["tasks"]
PERIODES = ("daily", "weekly", "monthly", "byDate", "custom")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_IMAGE_COMPONENTS = ("photo", "signature", "capture")
_TRACKING_DAYS = 7  #: tracking tokens are valid 7 days (note 40)
_PUBLIC_DAYS = 30  #: public task links of finished tasks expire after this many days


def routes(ctx: Ctx) -> list[Route]:
    s, a, loc, t = Schedules(ctx), Activities(ctx), Locations(ctx), TaskExtras(ctx)
    return [
        *resource_routes(
            s.spec,
            list=s.index,
            detail=s.get,
            create=s.create,
            update=s.put,
            patch=s.patch,
            delete=s.delete,
            bulk_create=s.bulk,
        ),
        *resource_routes(a.spec, list=a.index, detail=a.get, create=a.create, delete=a.delete),
        Route("GET", "/activities/workflow/{workflowId}", a.by_workflow),
        *resource_routes(
            loc.spec,
            list=loc.index,
            detail=loc.get,
            create=loc.create,
            update=loc.put,
            patch=loc.patch,
            delete=loc.delete,
            bulk_create=loc.bulk,
        ),
        Route("PUT", "/location-history", loc.put_by_time),
        Route("POST", "/location-history/generate-token", loc.token),
        Route("GET", "/location-history/tracking/{token}", loc.tracking),
        *resource_routes(t.gallery_spec, list=t.gallery),
        Route("GET", "/task/public/{id}", t.public),
        Route("GET", "/tasks/tracking", t.tracking),
        Route("POST", "/task/photo/{name}", t.photo),
    ]


# --- task schedules -----------------------------------------------------------------------


class Schedules:
    """Task schedules; writes answer under ``data``, reads under ``taskSchedules`` (note 38)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["task_schedules"]

    def index(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.spec)
        docs = self.ctx.store.values("task_schedules")
        for key in ("hubId", "flow", "flowId"):
            if q.get(key):
                wanted = set(csv(q[key]))
                docs = [d for d in docs if d.get(key) in wanted]
        if q.get("name"):
            needle = q["name"].lower()
            docs = [d for d in docs if needle in d.get("name", "").lower()]
        if q.get("status"):
            wanted = {s.upper() for s in csv(q["status"])}
            if not wanted <= {"SUCCESS", "FAILED", "PENDING"}:
                raise HttpError(400, "The selected status is invalid.")
            docs = [d for d in docs if (d.get("logExecuted") or {}).get("status") in wanted]
        if q.get("assignee"):
            wanted = set(csv(q["assignee"]))
            docs = [d for d in docs if wanted & set(d.get("assignee") or [])]
        docs = sort_listed(docs, q, self.spec, default_by="createdTime")
        fields = csv(q.get("fields"))
        if fields:
            docs = [project(d, fields, (self.spec.id_field,)) for d in docs]
        return listed(r, self.spec, docs, page, limit)

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("task_schedules", r.params["id"])
        return Response(200, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def build(self, body: Any, old: Doc | None, *, full: bool) -> Doc:
        merged = body if full or old is None or not isinstance(body, dict) else dict(old, **body)
        v = V(merged, required=self.spec.required_on_create)
        v.check_required()  # all of them first, in the contract's order
        name = v.str_("name", max_len=255)
        periode = v.str_("periode", enum=PERIODES)
        flow_name = v.str_("flow")
        flow = self.ctx.find("flows", lambda f: f.get("name") == flow_name)
        if flow is None:
            v.fail("The selected flow is invalid.")
        if merged.get("flowId") != flow["_id"]:
            v.fail("The selected flow id is invalid.")
        hub_of(self.ctx, merged.get("hubId"))
        start, end = v.date("startTime"), v.date("endTime")
        assert start is not None and end is not None
        if (instant(end) or 0) < (instant(start) or 0):
            v.fail("The end time must be a date after or equal to start time.")
        v.obj("task")
        assignee = v.strings("assignee") or []
        for email in assignee:
            if user_by_email(self.ctx, email) is None:
                v.fail("The selected assignee is invalid.")
        frequency = v.str_("frequency", enum=("daily", "weekly", "monthly"))
        interval = v.int_("interval", lo=1, hi=99)
        if periode == "custom":
            v.required("frequency", "interval")
        mode = frequency if periode == "custom" else periode
        schedules = v.list_("schedules")
        assert schedules is not None
        clean, times = _schedule_entries(v, schedules, mode)
        out: Doc = {
            "hubId": merged["hubId"],
            "name": name,
            "periode": periode,
            "flow": flow["name"],
            "flowId": flow["_id"],
            "task": merged["task"],
            "schedules": clean,
            "timeSchedules": times,
            "startTime": start,
            "endTime": end,
        }
        if assignee:
            out["assignee"] = assignee
        if periode == "custom":
            out.update(frequency=frequency, interval=interval)
        return self._stamped(out, old)

    def _stamped(self, out: Doc, old: Doc | None) -> Doc:
        """``out`` with the server's keys: new ones for a create, the old ones kept."""
        now = self.ctx.now()
        if old is None:
            doc: Doc = {"_id": self.ctx.new_id(), **out}
            doc.update(
                logExecuted={"status": "PENDING", "message": []},
                createdBy=email_of(self.ctx),
                organizationId=self.ctx.org_id,
                createdTime=iso_now(now),
            )
        else:
            keep = ("_id", "logExecuted", "createdBy", "organizationId", "createdTime")
            doc = {**{k: old[k] for k in keep if k in old}, **out}
        doc.update(updatedBy=email_of(self.ctx), updatedTime=iso_now(now))
        return doc

    def create(self, r: Request) -> Response:
        doc = self.build(r.body, None, full=True)
        self.ctx.put(r, "task_schedules", doc, r.body)
        return Response(
            200, {"status": True, "message": "Task Scheduler has been created", "data": doc}
        )

    def bulk(self, r: Request) -> Response:
        assert self.spec.bulk_key is not None
        items = bulk_items(r.body, self.spec.bulk_key, self.spec.bulk_max)
        ops: list[Op] = []
        results: list[Doc] = []
        failed: list[int] = []
        for i, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            try:
                doc = self.build(item, None, full=True)
            except HttpError as e:
                failed.append(i)
                res: Doc = {"status": False, "message": e.message}
                if isinstance(name, str):
                    res["name"] = name
                results.append(res)
                continue
            ops.append(Op("put", "task_schedules", doc["_id"], doc, item))
            results.append(
                {
                    "status": True,
                    "message": "Task Scheduler has been created",
                    "_id": doc["_id"],
                    "name": doc["name"],
                }
            )
        self.ctx.write(r, ops)
        ok = len(results) - len(failed)
        return Response(
            201,
            {
                "success": ok,
                "failed": len(failed),
                self.spec.bulk_key: results,
                "failed_index": failed,
            },
        )

    def _update(self, r: Request, *, full: bool) -> Response:
        old = self.ctx.get("task_schedules", r.params["id"])
        doc = self.build(r.body, old, full=full)
        self.ctx.put(r, "task_schedules", doc, r.body)
        return Response(201, {"status": True, "message": "Update data success", "data": doc})

    def put(self, r: Request) -> Response:
        return self._update(r, full=True)

    def patch(self, r: Request) -> Response:
        return self._update(r, full=False)

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("task_schedules", r.params["id"])
        self.ctx.remove(r, "task_schedules", old, r.body)
        return Response(200, {"status": True, "message": "Delete success."})


# --- activities ---------------------------------------------------------------------------


def _err(status: int, message: str, code: str) -> HttpError:
    return HttpError(status, message, extra={"code": status, "failedCode": code})


class Activities:
    """Workflow task groups; errors carry ``code`` and ``failedCode`` (note 39)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["activities"]
        #: keys a projection always keeps (note 35: activities add both)
        self.always = (self.spec.id_field, "organizationId")

    def _current(self, master: Doc) -> Doc:
        """The master as it is now: status and assignees follow its children."""
        children = [
            c for c in (self.ctx.store.get("tasks", i) for i in master.get("subId", [])) if c
        ]
        if not children:
            return master
        status, assignee = activity_state(children)
        return dict(master, status=status, assignee=assignee)

    def _page(self, r: Request, docs: list[Doc]) -> Response:
        q = r.query
        page, size = paging(q, self.spec)
        if q.get("status"):
            wanted = {s.upper() for s in csv(q["status"])}
            docs = [d for d in docs if d.get("status") in wanted]
        docs = sort_listed(docs, q, self.spec, default_by="updatedTime")
        chunk = docs[(page - 1) * size : page * size]
        fields = csv(q.get("fields"))
        if fields:
            chunk = [project(d, fields, self.always) for d in chunk]
        return Response(
            200,
            {
                "status": True,
                "code": 200,
                self.spec.envelope_list: {
                    "activities": chunk,
                    "total": len(docs),
                    "currentPage": page,
                    "lastPage": max(1, math.ceil(len(docs) / size)),
                    "perPage": size,
                },
            },
        )

    def index(self, r: Request) -> Response:
        docs = [self._current(d) for d in self.ctx.store.values("activities")]
        for key in ("workflowId", "hubId"):
            if r.query.get(key):
                wanted = set(csv(r.query[key]))
                docs = [d for d in docs if d.get(key) in wanted]
        return self._page(r, docs)

    def by_workflow(self, r: Request) -> Response:
        wid = r.params["workflowId"]
        docs = [
            self._current(d)
            for d in self.ctx.store.values("activities")
            if d.get("workflowId") == wid
        ]
        return self._page(r, docs)

    def _one(self, aid: str) -> Doc:
        doc = self.ctx.store.get("activities", aid)
        if doc is None:
            raise _err(404, "Activity not found", "ACTIV_NOT_FOUND")
        return self._current(doc)

    def get(self, r: Request) -> Response:
        doc = self._one(r.params["id"])
        fields = csv(r.query.get("fields"))
        if fields:
            doc = project(doc, fields, self.always)
        return Response(200, {"status": True, "code": 200, self.spec.envelope_one: doc})

    def create(self, r: Request) -> Response:
        v = V(
            r.body,
            raw_names=True,
            extra={"code": 400, "failedCode": "ACTIV_CREATE_FAILED"},
            required=self.spec.required_on_create,
        )
        wid = v.str_("workflowId")
        items = v.list_("tasks")
        v.check_required()
        assert items is not None
        workflow = self.ctx.store.get("workflows", wid or "")
        if workflow is None:
            raise _err(404, "Workflow not found", "ACTIV_WORKFLOW_NOT_FOUND")
        steps = workflow.get("steps") or []
        if len(items) != len(steps):
            v.fail(f"The tasks must contain {len(steps)} items, one per workflow step.")
        top_hub = v.str_("hubId")
        now = self.ctx.now()
        master_id = self.ctx.new_id()
        children = self._children(v, items, steps, top_hub, master_id, workflow, now)
        master = self._master(master_id, workflow, children, top_hub, now)
        ops = [Op("put", "tasks", c["_id"], c, None) for c in children]
        ops.append(Op("put", "activities", master_id, master, r.body))
        self.ctx.write(r, ops)
        current = {k: val for k, val in self._current(master).items()}
        for c in children:
            if c.get("assignee"):
                current["status"] = "ONGOING"
        return Response(
            201,
            {
                "status": True,
                "code": 201,
                "message": "Activity created successfully",
                self.spec.envelope_one: current,
            },
        )

    def _children(
        self,
        v: V,
        items: list[Any],
        steps: list[Doc],
        top_hub: str | None,
        master_id: str,
        workflow: Doc,
        now: float,
    ) -> list[Doc]:
        """One child task per workflow step, built like a task create (validated)."""
        children: list[Doc] = []
        taken: set[str] = set()
        for i, (item, step) in enumerate(zip(items, steps, strict=True)):
            if not isinstance(item, dict):
                v.fail(f"The tasks.{i} must be an object.")
            body = {k: val for k, val in item.items() if k != "createdFrom"}
            body["flow"] = step["flow"]
            body.setdefault("hubId", top_hub)
            if body.get("assignee") in ("", None):
                body.pop("assignee", None)
            try:
                child = self.ctx.tasks.build_new(body, now, taken)
            except HttpError as e:
                v.fail(f"tasks.{i}: {e.message}")
            taken.add(child["_id"])
            source = item.get("createdFrom")
            child.update(
                taskType="activityChild",
                parentId=master_id,
                workflowId=workflow["_id"],
                createdFrom=source if source in ("WEB", "API", "Automation", "Mobile") else "API",
            )
            children.append(child)
        return children

    def _master(
        self, master_id: str, workflow: Doc, children: list[Doc], top_hub: str | None, now: float
    ) -> Doc:
        """The activity: the master task over the children (their span, the hub)."""
        hub = hub_of(self.ctx, top_hub or children[0]["hubId"])
        starts = [instant(c["startTime"]) or now for c in children]
        ends = [instant(c["endTime"]) or now for c in children]
        stamp = iso_now(now)
        org = self.ctx.org_id
        return {
            "_id": master_id,
            "organizationId": org,
            "taskType": "activityMaster",
            "flow": "Activity",
            "workflowId": workflow["_id"],
            "workflow": {"_id": workflow["_id"], "name": workflow["name"], "organizationId": org},
            "subId": [c["_id"] for c in children],
            "title": f"{workflow['name']} - {children[0].get('title', children[0]['_id'])}",
            "assignee": [],
            "status": "UNASSIGNED",
            "startTime": iso_now(min(starts)),
            "endTime": iso_now(max(ends)),
            "hubId": hub["_id"],
            "hub": {k: hub.get(k) for k in ("_id", "name", "lat", "lng", "address")},
            "createdBy": email_of(self.ctx),
            "updatedBy": email_of(self.ctx),
            "createdFrom": "API",
            "createdTime": stamp,
            "updatedTime": stamp,
        }

    def delete(self, r: Request) -> Response:
        master = self._one(r.params["id"])
        ops = [
            Op("delete", "tasks", i, None, None)
            for i in master.get("subId", [])
            if self.ctx.store.get("tasks", i) is not None
        ]
        ops.append(Op("delete", "activities", master["_id"], None, r.body))
        self.ctx.write(r, ops)
        return Response(
            200, {"status": True, "code": 200, "message": "Activity deleted successfully"}
        )


# --- location history ---------------------------------------------------------------------


class Locations:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["location_histories"]

    def index(self, r: Request) -> Response:
        """Sorted by ``time`` (the record's instant; the list takes ``sortOrder`` only)."""
        q = r.query
        page, limit = paging(q, self.spec)
        docs = self.ctx.store.values("location_histories")
        for key in ("email", "taskId", "eventName", "createdFrom"):
            if q.get(key):
                wanted = set(csv(q[key]))
                docs = [d for d in docs if d.get(key) in wanted]
        start_finish = truthy(q.get("startFinish"))
        if start_finish is not None:
            docs = [d for d in docs if ("startTime" in d) is start_finish]
        latest = truthy(q.get("isLatest"))
        if latest is not None:
            docs = [d for d in docs if bool(d.get("isLatest")) is latest]
        if q.get("timeBy"):
            by = q["timeBy"]
            if by not in self.spec.time_by:
                raise HttpError(400, "The selected time by is invalid.")
            lo = instant(q["timeFrom"]) if q.get("timeFrom") else None
            hi = instant(q["timeTo"]) if q.get("timeTo") else None
            if q.get("timeFrom") and lo is None:
                raise HttpError(400, "The time from is not a valid date.")
            if q.get("timeTo") and hi is None:
                raise HttpError(400, "The time to is not a valid date.")

            def inside(d: Doc) -> bool:
                t = instant(str(d.get(by, "")))
                return t is not None and (lo is None or t >= lo) and (hi is None or t <= hi)

            docs = [d for d in docs if inside(d)]
        docs = sort_listed(docs, q, self.spec, default_by="time")
        fields = csv(q.get("fields"))
        if fields:  # the API adds _id and trackedTime to any projection (note 27)
            docs = [project(d, fields, (self.spec.id_field, "trackedTime")) for d in docs]
        return listed(r, self.spec, docs, page, limit)

    def _one(self, doc: Doc, message: str) -> Doc:
        return {"status": True, "message": message, self.spec.envelope_one: doc}

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("location_histories", r.params["id"])
        return Response(200, self._one(doc, "Success"))

    def _clean(self, body: Any, old: Doc | None) -> tuple[V, Doc]:
        v = V(body, required=self.spec.required_on_create if old is None else ())
        v.check_required()
        email = v.email("email")
        if email is not None:
            if old is not None and email != old["email"]:
                v.fail("The email cannot be changed.")
            if user_by_email(self.ctx, email) is None:
                v.fail("The selected email is invalid.")
        out: Doc = {}
        lat, lon = v.num("lat"), v.num("lon")
        if lat is not None:
            if not -90 <= lat <= 90:
                v.fail("The lat must be between -90 and 90.")
            out["lat"] = lat
        if lon is not None:
            if not -180 <= lon <= 180:
                v.fail("The lon must be between -180 and 180.")
            out["lon"] = lon
        for key in ("speed", "distance", "duration"):
            n = v.int_(key, lo=0)
            if n is not None:
                out[key] = n
        task_id = v.str_("taskId")
        if task_id is not None:
            if task_id and self.ctx.store.get("tasks", task_id) is None:
                v.fail("The selected task id is invalid.")
            out["taskId"] = task_id
        if v.has("notes"):
            out["notes"] = v.str_("notes")
        event = v.str_("eventName", enum=("otw", "nearBy", "done"))
        if event is not None:
            out["eventName"] = event
        source = v.str_("createdFrom", max_len=100)
        if source is not None:
            out["createdFrom"] = source
        data = v.obj("data")
        if data is not None:
            out["data"] = data
        return v, out

    def _apply_point(self, r: Request, body: Any) -> Doc:
        """Validate and store one posted record; the stored (or updated start) record."""
        v, fields = self._clean(body, None)
        email = body["email"]
        now = self.ctx.now()
        created = v.date("createdTime")
        at = instant(created) if created else now
        assert at is not None
        points = [d for d in self.ctx.store.values("location_histories") if d.get("email") == email]
        open_trip = next((d for d in points if "startTime" in d and d.get("finish") is None), None)
        if v.present("finishTime"):
            closed = self._finished(v, fields, points, open_trip, now)
            self.ctx.put(r, "location_histories", closed, body)
            return closed
        doc = self._point(email, fields, points, at, now)
        ops: list[Op] = []
        if v.present("startTime"):
            if open_trip is not None:
                v.fail("The previous trip has not been finished.")
            opened = instant(v.date("startTime") or "")
            assert opened is not None
            doc.update(startTime=naive(opened), finish=None, trackedTime=0.0, isLatest=False)
        else:
            latest = next((d for d in points if d.get("isLatest")), None)
            doc["isLatest"] = latest is None or doc["time"] >= int(latest.get("time") or 0)
            if doc["isLatest"] and latest is not None:
                was = dict(latest, isLatest=False)
                ops.append(Op("put", "location_histories", latest["_id"], was, None))
        ops.append(Op("put", "location_histories", doc["_id"], doc, body))
        self.ctx.write(r, ops)
        return doc

    def _finished(
        self, v: V, fields: Doc, points: list[Doc], open_trip: Doc | None, now: float
    ) -> Doc:
        """The open trip closed at ``finishTime``: its duration and the distance walked."""
        finish_at = instant(v.date("finishTime") or "")
        if open_trip is None:
            v.fail("There is no started trip to finish.")
        assert finish_at is not None
        started = instant(open_trip["startTime"]) or finish_at
        if finish_at < started:
            v.fail("The finish time must be a date after or equal to the start time.")
        walked = sum(
            int(d.get("distance") or 0)
            for d in points
            if "startTime" not in d and started <= (instant(d["createdTime"]) or 0) <= finish_at
        )
        minutes = int((finish_at - started) // 60)
        return dict(
            open_trip,
            finish={
                "lat": fields["lat"],
                "lon": fields["lon"],
                "finishTime": naive(finish_at),
                "notes": fields.get("notes"),
                "totalDuration": minutes,
                "totalDistance": round(walked / 1000),
            },
            trackedTime=float(minutes),
            updatedBy=email_of(self.ctx),
            updatedTime=naive(now),
        )

    def _point(self, email: str, fields: Doc, points: list[Doc], at: float, now: float) -> Doc:
        """A new location point at ``at``: its id is organisation, e-mail and milliseconds."""
        ms = int(at * 1000)
        taken = {d["_id"] for d in points}
        while f"{self.ctx.org_id}_{email}_{ms}" in taken:
            ms += 1
        doc: Doc = {
            "_id": f"{self.ctx.org_id}_{email}_{ms}",
            "email": email,
            "taskId": "",
            "speed": 0,
            "distance": 0,
            "duration": 0,
            **fields,
            "time": ms,
            "organizationId": self.ctx.org_id,
            "createdBy": email_of(self.ctx),
            "updatedBy": email_of(self.ctx),
            "createdTime": naive(at),
            "updatedTime": naive(now),
            # minutes the device's clock is ahead of the server's: often negative (note 27)
            "trackedTime": round((at - now) / 60, 3),
        }
        doc.setdefault("createdFrom", "mileAppField")
        return doc

    def create(self, r: Request) -> Response:
        with self.ctx.store.lock:
            doc = self._apply_point(r, r.body)
        return Response(201, self._one(doc, "Success"))

    def bulk(self, r: Request) -> Response:
        key = self.spec.bulk_key
        assert key is not None
        items = bulk_items(r.body, key, self.spec.bulk_max)
        results: list[Doc] = []
        with self.ctx.store.lock:
            for item in items:
                email = item.get("email") if isinstance(item, dict) else None
                try:
                    doc = self._apply_point(r, item)
                except HttpError as e:
                    results.append(
                        {
                            "status": False,
                            "message": e.message,
                            "_id": "",
                            "email": email if isinstance(email, str) else "",
                        }
                    )
                    continue
                results.append(
                    {"status": True, "message": "Success", "_id": doc["_id"], "email": doc["email"]}
                )
        ok = sum(1 for x in results if x["status"])
        return Response(201, {"success": ok, "failed": len(results) - ok, key: results})

    def _update(self, r: Request, old: Doc) -> Response:
        _, fields = self._clean(r.body, old)
        doc = dict(old, **fields, updatedBy=email_of(self.ctx), updatedTime=naive(self.ctx.now()))
        self.ctx.put(r, "location_histories", doc, r.body)
        return Response(200, self._one(doc, "Data has been updated successfully."))

    def put_by_time(self, r: Request) -> Response:
        """``PUT /location-history/``: the point is named by ``email`` + ``createdTime``."""
        v = V(r.body)
        v.required(*self.spec.required_on_create, "createdTime")
        email, created = r.body["email"], v.date("createdTime")
        wanted = naive(instant(created or "") or 0)
        old = self.ctx.find(
            "location_histories",
            lambda d: d.get("email") == email and d.get("createdTime") == wanted,
        )
        if old is None:
            raise HttpError(404, "Data not found")
        return self._update(r, old)

    def put(self, r: Request) -> Response:
        V(r.body).required(*self.spec.required_on_create)  # a replace needs what a create does
        return self._update(r, self.ctx.get("location_histories", r.params["id"]))

    def patch(self, r: Request) -> Response:
        return self._update(r, self.ctx.get("location_histories", r.params["id"]))

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("location_histories", r.params["id"])
        self.ctx.remove(r, "location_histories", old, r.body)
        return Response(200, self._one(old, "Data has been deleted successfully."))

    def token(self, r: Request) -> Response:
        v = V(r.body)
        email = v.email("email", required=True)
        assert email is not None
        if user_by_email(self.ctx, email) is None:
            v.fail("The selected email is invalid.")
        now = self.ctx.now()
        date = v.str_("date") or naive(now)[:10]
        if not is_date(date):
            v.fail("The date does not match the format Y-m-d.")
        token = os.urandom(20).hex()
        doc = {
            "_id": token,
            "email": email,
            "date": date,
            "expiresAt": now + _TRACKING_DAYS * 86400,
        }
        self.ctx.write(
            r, [Op("put", "tracking_tokens", token, doc, {"email": email, "date": date})]
        )
        return Response(200, {"status": True, "message": "Success.", "token": token})

    def tracking(self, r: Request) -> Response:
        """The token's user's points on the token's date (a public last-known-location view)."""
        grant = self.ctx.store.get("tracking_tokens", r.params["token"])
        if grant is None:
            raise HttpError(401, "Your tracking token is invalid")
        if self.ctx.now() > float(grant["expiresAt"]):
            raise HttpError(401, "Your tracking token has expired")
        page, limit = paging(r.query, self.spec)
        docs = [
            d
            for d in self.ctx.store.values("location_histories")
            if d.get("email") == grant["email"]
            and str(d.get("createdTime", ""))[:10] == grant["date"]
        ]
        docs = sort_docs(docs, "time", "desc", default_by="time")
        return listed(r, self.spec, docs, page, limit)


# --- task extras --------------------------------------------------------------------------


class TaskExtras:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.gallery_spec = RESOURCES["tasks_gallery"]

    def _image_keys(self) -> dict[str, list[str]]:
        return {
            f["name"]: [
                c["id"] for c in components_of(f) if c.get("component") in _IMAGE_COMPONENTS
            ]
            for f in self.ctx.store.values("flows")
        }

    def gallery(self, r: Request) -> Response:
        """Tasks with photos: ``{data, buffer, page_processed, last_page, total_estimate,
        countProcessed}`` (strings and a boolean, as documented)."""
        q = {
            k: v
            for k, v in r.query.items()
            if k not in ("flowId", "routingResultId", "lazyLoad", "cursor")
        }
        page, limit = paging(q, self.gallery_spec)
        docs = self.ctx.tasks.matching(q)
        keys = self._image_keys()
        hits: list[tuple[int, Doc]] = []
        for pos, d in enumerate(docs):
            urls = {}
            for cid in keys.get(d.get("flow", ""), []):
                value = d.get(cid)
                values = value if isinstance(value, list) else [value]
                for k, url in enumerate(u for u in values if isinstance(u, str) and u):
                    urls[f"{cid}_{k}_url"] = url
            if urls:
                item = {k: val for k, val in d.items() if k not in _TASKS.detail_only}
                hits.append((pos, {**item, **urls}))
        chunk = hits[(page - 1) * limit : page * limit]
        scanned_to = chunk[-1][0] + 1 if chunk else len(docs)
        pages = max(1, math.ceil(scanned_to / limit))
        boundary = min(len(docs), pages * limit)
        buffer = [item for pos, item in hits[page * limit :] if pos < boundary]
        fields = csv(q.get("fields"))

        def shape(item: Doc) -> Doc:
            if not fields:
                return item
            keep = [*fields, *(k for k in item if k.endswith("_url"))]
            return project(item, keep, (self.gallery_spec.id_field,))

        return Response(
            200,
            {
                "status": True,
                "message": "Success.",
                self.gallery_spec.envelope_list: {
                    "data": [shape(i) for _, i in chunk],
                    "buffer": [shape(i) for i in buffer],
                    "page_processed": str(pages),
                    "last_page": page * limit + len(buffer) >= len(hits),
                    "total_estimate": str(len(hits)),
                    "countProcessed": boundary,
                },
            },
        )

    def public(self, r: Request) -> Response:
        task = self.ctx.get("tasks", r.params["id"])
        done = instant(str(task.get("doneTime", ""))) if task.get("status") == "DONE" else None
        if done is not None and self.ctx.now() - done > _PUBLIC_DAYS * 86400:
            raise HttpError(401, "You can't track this task because it has expired.")
        flow = self.ctx.find("flows", lambda f: f.get("name") == task.get("flow")) or {}
        lists = [c for c in components_of(flow) if c.get("component") in ("list", "bill")]
        view: Doc = {
            k: task.get(k)
            for k in ("flow", "title", "content", "label", "expectedCoordinate", "status")
        }
        view["listItem"] = [
            _list_item(entry)
            for c in lists
            for entry in task.get(c["id"]) or []
            if isinstance(entry, dict)
        ]
        view["histories"] = [
            {k: h.get(k) for k in ("_id", "action", "notes", "createdAt")}
            for h in task.get("histories") or []
        ]
        location = [loc for email in task.get("assignee") or [] if (loc := self._last_seen(email))]
        detail = [
            {"id": c["id"], "inputType": c.get("inputType", "number"), "component": c["component"]}
            for c in lists
        ]
        data = {"task": view, "taskComponentDetail": detail, "location": location}
        return Response(200, {"status": True, "message": "Success.", "data": data})

    def _last_seen(self, email: str) -> Doc | None:
        """A worker's last location point (None without one), as public tracking shows it."""
        points = [
            d
            for d in self.ctx.store.values("location_histories")
            if d.get("email") == email and "startTime" not in d
        ]
        if not points:
            return None
        last = max(points, key=lambda d: int(d.get("time") or 0))
        user = user_by_email(self.ctx, email) or {}
        return {
            "email": email,
            "lat": str(last["lat"]),
            "lon": str(last["lon"]),
            "createdTime": last.get("createdTime"),
            "user": {"name": user.get("name"), "phoneNumber": user.get("phoneNumber")},
        }

    def tracking(self, r: Request) -> Response:
        """Per-worker productivity in a hub and time range (no envelope)."""
        q = r.query
        for key in ("hubId", "timeFrom", "timeTo"):
            if not q.get(key):
                raise HttpError(400, f"The {attribute(key)} field is required.")
        hub_of(self.ctx, q["hubId"])
        lo, hi = instant(q["timeFrom"]), instant(q["timeTo"])
        if lo is None:
            raise HttpError(400, "The time from is not a valid date.")
        if hi is None:
            raise HttpError(400, "The time to is not a valid date.")
        by = q.get("timeBy") or "createdTime"
        if by not in _TASKS.time_by:
            raise HttpError(400, "The selected time by is invalid.")
        tasks = [
            t
            for t in self.ctx.store.values("tasks")
            if t.get("hubId") == q["hubId"]
            and (at := instant(str(t.get(by, "")))) is not None
            and lo <= at <= hi
        ]
        emails = (
            [q["email"]]
            if q.get("email")
            else sorted({a for t in tasks for a in t.get("assignee") or []})
        )
        sources = set(csv(q.get("createdFrom")))
        snap = truthy(q.get("isSnapToRoute")) is True
        counting: dict[str, Doc] = {}
        seen_sources: set[str] = set()
        for email in emails:
            points = self._points(email, lo, hi)
            seen_sources.update(str(d.get("createdFrom")) for d in points if d.get("createdFrom"))
            if sources:
                points = [d for d in points if d.get("createdFrom") in sources]
            mine = [t for t in tasks if email in (t.get("assignee") or [])]
            counting[email] = {
                "doneTask": sum(1 for t in mine if t.get("status") == "DONE"),
                "ongoingTask": sum(1 for t in mine if t.get("status") == "ONGOING"),
                "distance": _distance(points, snap),
                "duration": sum(int(d.get("duration") or 0) for d in points),
            }
        return Response(
            200,
            {
                "doneTotal": sum(1 for t in tasks if t.get("status") == "DONE"),
                "ongoingTotal": sum(1 for t in tasks if t.get("status") == "ONGOING"),
                "taskTotal": len(tasks),
                "totalDistance": sum(c["distance"] for c in counting.values()),
                "totalDuration": sum(c["duration"] for c in counting.values()),
                "counting": counting,
                "createdFrom": sorted(seen_sources),
            },
        )

    def _points(self, email: str, lo: float, hi: float) -> list[Doc]:
        """A worker's location points (not trip starts) between ``lo`` and ``hi``, in order."""
        return sorted(
            (
                d
                for d in self.ctx.store.values("location_histories")
                if d.get("email") == email
                and "startTime" not in d
                and lo <= (instant(str(d.get("createdTime", ""))) or -1) <= hi
            ),
            key=lambda d: int(d.get("time") or 0),
        )

    def photo(self, r: Request) -> Response:
        upload = r.files.get("photo")
        if upload is None:
            raise HttpError(400, "The photo field is required.")
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if ext not in ("jpg", "jpeg", "png"):
            raise HttpError(400, "The photo must be a file of type: jpg, jpeg, png.")
        if len(upload.data) > 10 * 1024 * 1024:
            raise HttpError(400, "The photo may not be greater than 10240 kilobytes.")
        name = r.form.get("forRenameFile") or r.params["name"]
        day = datetime.fromtimestamp(self.ctx.now(), UTC).strftime("%Y/%m/%d")
        url = store_file(
            self.ctx, r, f"photos/{self.ctx.org_id}/{day}", f"{name}.{ext}", upload.data
        )
        return Response(200, {"status": True, "url": url})


__all__ = ["STORAGE", "routes"]


def _schedule_entries(v: V, schedules: list[Any], mode: str | None) -> tuple[list[Doc], list[str]]:
    """A schedule's entries, validated for its mode (weekly: a day, monthly: a date of the
    month, byDate: a date), and its ``timeSchedules`` labels ("monday 08:00")."""
    times: list[str] = []
    clean: list[Doc] = []
    for i, s in enumerate(schedules):
        if not isinstance(s, dict):
            v.fail(f"The schedules.{i} must be an object.")
        raw = s.get("time")
        slots = [raw] if isinstance(raw, str) else raw
        if not isinstance(slots, list) or not slots:
            v.fail(f"The schedules.{i}.time field is required.")
        for t in slots:
            v.time("schedules", t, f"schedules.{i}.time")
        key, label = _schedule_key(v, s, i, mode)
        clean.append({key: label, "time": slots} if key else {"time": slots})
        times += [f"{label} {t}".strip() for t in slots]
    return clean, times


def _schedule_key(v: V, s: Doc, i: int, mode: str | None) -> tuple[str, str]:
    """The key that places entry ``i`` in its period (``day``/``date``) and its value."""
    if mode == "weekly":
        day = str(s.get("day", "")).lower()
        if day not in DAYS:
            v.fail(f"The selected schedules.{i}.day is invalid.")
        return "day", day
    if mode == "monthly":
        date = str(s.get("date", ""))
        if not date.isdigit() or not 1 <= int(date) <= 31:
            v.fail(f"The schedules.{i}.date must be a day of the month (1-31).")
        return "date", date
    if mode == "byDate":
        if not is_date(s.get("date")):
            v.fail(f"The schedules.{i}.date does not match the format Y-m-d.")
        return "date", s["date"]
    return "", ""


#: the data-record keys of a public list item (empty: the sandbox links no record)
_ITEM_DATA = (
    "_id",
    "dataId",
    "dataTypeId",
    "hubId",
    "createdBy",
    "organizationId",
    "updatedTime",
    "createdTime",
    "value",
)


def _list_item(entry: Doc) -> Doc:
    """One entry of a task's list/bill component, as the public tracking view shows it."""
    return {
        "title": entry.get("name") or entry.get("title"),
        "content": entry.get("content"),
        "data": dict.fromkeys(_ITEM_DATA),
        "qty": entry.get("qty", 1),
        "unitPrice": entry.get("unitPrice"),
        "qtyProcessed": entry.get("qtyProcessed", entry.get("qty", 1)),
    }


def _distance(points: list[Doc], snap: bool) -> int:
    """Metres covered: the points' own snapped distances, or straight lines between them."""
    if snap:
        return sum(int(d.get("distance") or 0) for d in points)
    return sum(
        round(
            optimize.distance_m((a["lat"], a["lon"]), (b["lat"], b["lon"])) / optimize.ROAD_FACTOR
        )
        for a, b in itertools.pairwise(points)
    )
