"""Activities (tag Activity): workflows of tasks, a master over one child task a step.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=200)))
>>> status, _, body = app.call("GET", "/api/v3/activities?pageSize=2")
>>> status, sorted(body["data"]), len(body["data"]["activities"])
(200, ['activities', 'currentPage', 'lastPage', 'perPage', 'total'], 2)

Activity children are ordinary tasks (created through the task rules); a master's
``status`` and ``assignee`` are read from its children whenever it is served; errors
carry ``code`` and ``failedCode`` (note 39). Paths, envelope keys, paging and sort
parameters, id and required fields are read from the registry.
"""

from __future__ import annotations

import math
from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    csv,
    instant,
    iso_now,
    project,
)
from milekit.sandbox.lookups import email_of, hub_of
from milekit.sandbox.seed.activity import activity_state
from milekit.sandbox.store import Doc, Op

#: activities' status filter (upper case, as they store it)
_STATUS = Filter("status", "upper")


def routes(ctx: Ctx) -> list[Route]:
    a = Activities(ctx)
    return [*a.routes(), Route("GET", "/activities/workflow/{workflowId}", a.by_workflow)]


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
