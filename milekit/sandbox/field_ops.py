"""Field operations: task schedules and activities (workflows of tasks).

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=200)))
>>> status, _, body = app.call("GET", "/api/v3/activities?pageSize=2")
>>> status, sorted(body["data"]), len(body["data"]["activities"])
(200, ['activities', 'currentPage', 'lastPage', 'perPage', 'total'], 2)

Activity children are ordinary tasks (created through the task rules); a master's
``status`` and ``assignee`` are read from its children whenever it is served. Paths,
envelope keys, paging and sort parameters, bulk keys and maxima, id and required fields
are read from the registry. The location history is :mod:`~milekit.sandbox.location_history`,
the task extras :mod:`~milekit.sandbox.task_extras`.
"""

from __future__ import annotations

import math
from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import DATA, Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    bulk_items,
    csv,
    instant,
    is_date,
    iso_now,
    project,
)
from milekit.sandbox.lookups import email_of, hub_of, user_by_email
from milekit.sandbox.seed.field_ops import activity_state
from milekit.sandbox.store import Doc, Op

PERIODES = ("daily", "weekly", "monthly", "byDate", "custom")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def routes(ctx: Ctx) -> list[Route]:
    s, a = Schedules(ctx), Activities(ctx)
    return [
        *s.routes(bulk_create=s.bulk),
        *a.routes(),
        Route("GET", "/activities/workflow/{workflowId}", a.by_workflow),
    ]


#: activities' status filter (upper case, as they store it)
_STATUS = Filter("status", "upper")


# --- task schedules -----------------------------------------------------------------------


class Schedules(StoredResource):
    """Task schedules; writes answer under ``data``, reads under ``taskSchedules`` (note 38)."""

    name = "task_schedules"
    filters = (
        Filter("hubId"),
        Filter("flow"),
        Filter("flowId"),
        Filter("name", "contains"),
        Filter("assignee", "overlap"),
    )
    created = Answer("status message item", "Task Scheduler has been created", key=DATA)
    updated = Answer("status message item", "Update data success", 201, key=DATA)
    deleted = Answer("status message", "Delete success.")

    def listing(self, r: Request) -> list[Doc]:
        """The declared filters, and ``status``: the last run's (``logExecuted``)."""
        docs = super().listing(r)
        if r.query.get("status"):
            wanted = {s.upper() for s in csv(r.query["status"])}
            if not wanted <= {"SUCCESS", "FAILED", "PENDING"}:
                raise HttpError(400, "The selected status is invalid.")
            docs = [d for d in docs if (d.get("logExecuted") or {}).get("status") in wanted]
        return docs

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        return self.schedule(r.body, old, full=full)

    def schedule(self, body: Any, old: Doc | None, *, full: bool) -> Doc:
        """The schedule ``body`` describes (a new one, or ``old`` replaced/patched)."""
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

    def bulk(self, r: Request) -> Response:
        assert self.spec.bulk_key is not None
        items = bulk_items(r.body, self.spec.bulk_key, self.spec.bulk_max)
        ops: list[Op] = []
        results: list[Doc] = []
        failed: list[int] = []
        for i, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            try:
                doc = self.schedule(item, None, full=True)
            except HttpError as e:
                failed.append(i)
                res: Doc = {"status": False, "message": e.message}
                if isinstance(name, str):
                    res["name"] = name
                results.append(res)
                continue
            ops.append(Op("put", "task_schedules", doc["_id"], doc, item))
            message = self.created.message
            results.append(
                envelope(
                    "status message _id name", message=message, _id=doc["_id"], name=doc["name"]
                )
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


# --- activities ---------------------------------------------------------------------------


def _err(status: int, message: str, code: str) -> HttpError:
    return HttpError(status, message, extra={"code": status, "failedCode": code})


class Activities(StoredResource):
    """Workflow task groups; errors carry ``code`` and ``failedCode`` (note 39)."""

    name = "activities"
    filters = (Filter("workflowId"), Filter("hubId"), _STATUS)
    order = ("updatedTime", "desc")
    always = ("organizationId",)  # note 35: activities add both
    listed = got = Answer("status code item")
    created = Answer("status code message item", "Activity created successfully", 201)
    deleted = Answer("status code message", "Activity deleted successfully")

    def _current(self, master: Doc) -> Doc:
        """The master as it is now: status and assignees follow its children."""
        children = [
            c for c in (self.ctx.store.get("tasks", i) for i in master.get("subId", [])) if c
        ]
        if not children:
            return master
        status, assignee = activity_state(children)
        return dict(master, status=status, assignee=assignee)

    def documents(self, r: Request) -> list[Doc]:
        return [self._current(d) for d in self.ctx.store.values("activities")]

    def listing(self, r: Request) -> list[Doc]:
        """``GET /activities/workflow/{workflowId}`` filters on its path and ``status``."""
        wid = r.params.get("workflowId")
        if wid is None:
            return super().listing(r)
        docs = [d for d in self.documents(r) if d.get("workflowId") == wid]
        return _STATUS.keep(docs, r.query)

    def page_of(self, r: Request, items: list[Any], page: int, limit: int, total: int) -> Doc:
        return {
            "activities": items,
            "total": total,
            "currentPage": page,
            "lastPage": max(1, math.ceil(total / limit)),
            "perPage": limit,
        }

    def by_workflow(self, r: Request) -> Response:
        return self.index(r)

    def one(self, id_: str) -> Doc:
        doc = self.ctx.store.get("activities", id_)
        if doc is None:
            raise _err(404, "Activity not found", "ACTIV_NOT_FOUND")
        return self._current(doc)

    def get(self, r: Request) -> Response:
        """The activity, projected with ``fields=`` as the list is."""
        doc = self.one(r.params["id"])
        fields = csv(r.query.get("fields"))
        if fields:
            doc = project(doc, fields, (self.spec.id_field, *self.always))
        return Response(200, self.got.body(self.spec.envelope_one, doc))

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
        return Response(201, self.created.body(self.spec.envelope_one, current))

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

    def removals(self, r: Request, old: Doc) -> list[Op]:
        """The activity's child tasks go with it."""
        ops = [
            Op("delete", "tasks", i, None, None)
            for i in old.get("subId", [])
            if self.ctx.store.get("tasks", i) is not None
        ]
        return [*ops, *super().removals(r, old)]


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
