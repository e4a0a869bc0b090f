"""Flow endpoints: forms, their fields, their logs, reorder and restore.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/flow/Pickup/fields")
>>> status, [f["id"] for f in body["flowFields"]]
(200, ['senderName', 'parcelCount', 'pickupNotes'])

Every flow write (create, replace, reorder, restore) also writes a flow log, so
``GET /flow-logs`` and ``PUT /flow/{id}/restore/{logId}`` work on what really happened.
Paths, envelope keys, paging and sort parameters and required fields of flows, flow
fields and flow logs are read from the registry. Automations are
:mod:`~milekit.sandbox.automations`.
"""

from __future__ import annotations

import copy
from typing import Any

from milekit.sandbox.common import (
    Ctx,
    listed,
    paging,
    resource_routes,
    sort_listed,
)
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    csv,
    iso_micro,
    iso_now,
    project,
    truthy,
)
from milekit.sandbox.lookups import email_of
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

COMPONENTS = (
    "select",
    "input",
    "photo",
    "signature",
    "view",
    "bill",
    "list",
    "timer",
    "voice",
    "capture",
)
RESERVED_FLOWS = ("activity", "handover")
#: reserved task keys a component id may not take (note 41); ``title``, ``content``
#: and ``label`` are left out: MileApp's own flow examples use them as component ids.
RESERVED_KEYS = frozenset(
    "_id flow flowId organizationId hub hubId isDeleted orderIndex status startTime endTime "
    "updatedTime assignee assignedTo assignedBy assignedTime createdBy createdFrom createdTime "
    "doneBy doneCoordinate doneTime openTaskTime waitingTime travelDuration duration distance "
    "eta etd assignedVehicleId assignedVehicle routePlannedOrder expectedCoordinate refId "
    "createdCoordinate organization taskType parentId subId workflow".split()
)
FIELD_TYPES = (
    "all",
    "routeAs",
    "basicStructurData",
    "structurData",
    "image",
    "listItemData",
    "reservedKey",
)
_IMAGE = ("photo", "signature", "capture")
_LISTS = ("list", "bill")


def routes(ctx: Ctx) -> list[Route]:
    f = Flows(ctx)
    return [
        *resource_routes(
            f.spec, list=f.index, detail=f.get, create=f.create, update=f.put, delete=f.delete
        ),
        *resource_routes(f.fields_spec, list=f.fields),
        Route("GET", "/flow-components", f.components),
        Route("GET", "/flow/{name}/fields", f.fields_by_name),
        Route("GET", "/flow/{name}/task", f.task_payload),
        *resource_routes(f.logs_spec, list=f.logs),
        Route("POST", "/flows/check-version", f.check_version),
        Route("PUT", "/flow-reorder", f.reorder),
        Route("PUT", "/flow/{id}/restore/{logId}", f.restore),
    ]


def components_of(flow: Doc) -> list[Doc]:
    return [c for page in flow.get("pages") or [] for c in page.get("components") or []]


def _as_field(c: Doc) -> Doc:
    """A component as the field endpoints show it (``required``, not ``isRequired``)."""
    out = {k: v for k, v in c.items() if k != "isRequired"}
    out["required"] = bool(c.get("isRequired", c.get("required", False)))
    out.setdefault("visible", True)
    return out


def _select(comps: list[Doc], field_type: str) -> list[Doc]:
    if field_type == "routeAs":
        return [c for c in comps if c.get("routeAs")]
    if field_type == "image":
        return [c for c in comps if c.get("component") in _IMAGE]
    if field_type == "listItemData":
        return [c for c in comps if c.get("component") in _LISTS]
    if field_type == "basicStructurData":
        return [c for c in comps if c.get("component") in ("input", "select", "view")]
    if field_type == "structurData":
        return [c for c in comps if c.get("component") not in _IMAGE]
    if field_type == "reservedKey":
        return [
            {
                "component": "input",
                "id": k,
                "title": k,
                "inputType": "string",
                "source": "reservedKey",
            }
            for k in ("_id", "flow", "hub", "title", "content", "status", "assignee", "doneTime")
        ]
    return comps


class Flows:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["flows"]
        self.fields_spec = RESOURCES["flow_fields"]
        self.logs_spec = RESOURCES["flow_logs"]

    def _by_name(self, name: str) -> Doc | None:
        return self.ctx.find("flows", lambda f: f.get("name") == name)

    # --- reads ----------------------------------------------------------------------------

    def index(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.spec)
        docs = sort_listed(self.ctx.store.values("flows"), q, self.spec, default_by="orderIndex")
        fields = csv(q.get("fields"))
        if fields:
            docs = [project(d, fields, (self.spec.id_field,)) for d in docs]
        return listed(r, self.spec, docs, page, limit)

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("flows", r.params["id"])
        return Response(200, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def _field_type(self, r: Request) -> str:
        ft = r.query.get("fieldType") or "all"
        if ft not in FIELD_TYPES:
            raise HttpError(400, "The selected field type is invalid.")
        return ft

    def fields(self, r: Request) -> Response:
        ft = self._field_type(r)
        data = [
            {
                "_id": f["_id"],
                "flowName": f["name"],
                "fields": [_as_field(c) for c in _select(components_of(f), ft)],
            }
            for f in self.ctx.store.values("flows")
        ]
        return Response(
            200, {"status": True, "message": "Success", self.fields_spec.envelope_list: data}
        )

    def components(self, r: Request) -> Response:
        ft = self._field_type(r)
        flows = self.ctx.store.values("flows")
        if r.query.get("flowId"):
            ids = set(csv(r.query["flowId"]))
            flows = [f for f in flows if f["_id"] in ids]
        wanted = set(csv(r.query.get("fields")))
        per_flow = []
        for f in flows:
            comps = [
                c for c in _select(components_of(f), ft) if not wanted or c.get("id") in wanted
            ]
            per_flow.append((f, [_as_field(c) for c in comps]))
        if truthy(r.query.get("isMerge")):
            merged: dict[str, Doc] = {}
            for f, comps in per_flow:
                for c in comps:
                    m = merged.setdefault(c["id"], dict(c, flowId=[], flowName=[]))
                    m["flowId"].append(f["_id"])
                    m["flowName"].append(f["name"])
            data: list[Doc] = list(merged.values())
        else:
            data = [{"_id": f["_id"], "flowName": f["name"], "fields": c} for f, c in per_flow]
        # the flow_fields answer (note 41: "same shape")
        return Response(
            200, {"status": True, "message": "Success", self.fields_spec.envelope_list: data}
        )

    def fields_by_name(self, r: Request) -> Response:
        flow = self._by_name(r.params["name"])
        if flow is None:
            raise HttpError(400, "The selected flow name is invalid.")
        fields = [_as_field(c) for c in components_of(flow)]
        return Response(200, {"status": True, "message": "Success", "flowFields": fields})

    def task_payload(self, r: Request) -> Response:
        """``GET /flow/{name}/task``: the fields of a task body and a ready-to-POST example."""
        flow = self._by_name(r.params["name"])
        if flow is None:
            raise HttpError(404, "Data not found")
        hubs = self.ctx.store.values("hubs")
        hub = hubs[0] if hubs else {"_id": "", "lat": 0.0, "lng": 0.0}
        now = self.ctx.now()
        fixed = [
            ("hubId", "string", True, "The identifier of the hub. Use GET /hubs.", hub["_id"]),
            ("flow", "string", True, "The unique name of the flow. Use GET /flows.", flow["name"]),
            ("startTime", "string", True, "Start datetime of the task.", iso_now(now)),
            ("endTime", "string", True, "End datetime of the task.", iso_now(now + 86400)),
        ]
        out = [
            {
                "field": k,
                "type": t,
                "required": req,
                "description": d,
                "example": ex,
                "format": None,
            }
            for k, t, req, d, ex in fixed
        ]
        body: Doc = {k: ex for k, _t, _r, _d, ex in fixed}
        for c in components_of(flow):
            example, kind = _example(c, hub)
            options = c.get("options")
            fmt = (
                [o.get("value", o) if isinstance(o, dict) else o for o in options]
                if options
                else None
            )
            out.append(
                {
                    "field": c["id"],
                    "type": kind,
                    "required": bool(c.get("isRequired", False)),
                    "description": "This field's type & value is according to Flow's setting.",
                    "example": example,
                    "format": fmt,
                }
            )
            body[c["id"]] = example
        return Response(
            200,
            {
                "status": True,
                "message": "Success.",
                "data": {"flowName": flow["name"], "flowFields": out, "bodyRequest": body},
            },
        )

    def logs(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.logs_spec)
        docs = self.ctx.store.values("flow_logs")
        if q.get("action"):
            actions = set(csv(q["action"]))
            if not actions <= {"create", "put", "reorder"}:
                raise HttpError(400, "The selected action is invalid.")
            docs = [d for d in docs if d.get("action") in actions]
        if q.get("flowId"):
            ids = set(csv(q["flowId"]))
            docs = [d for d in docs if d.get("flowId") in ids]
        docs = sort_listed(docs, q, self.logs_spec, default_by="createdTime")
        return listed(r, self.logs_spec, docs, page, limit, message="Success.", code=True)

    # --- writes ---------------------------------------------------------------------------

    def _validate(self, body: Any, old: Doc | None) -> Doc:
        v = V(body, required=self.spec.required_on_create)
        name = v.str_("name", max_len=255)
        assert name is not None
        if name.strip().lower() in RESERVED_FLOWS:
            v.fail("The selected name is invalid.")
        for f in self.ctx.store.values("flows"):
            if f["name"].lower() == name.lower() and (old is None or f["_id"] != old["_id"]):
                v.fail("The name has already been taken.")
        pages = v.list_("pages")
        assert pages is not None
        seen: set[str] = set()
        for i, page in enumerate(pages):
            if not isinstance(page, dict):
                v.fail(f"The pages.{i} must be an object.")
            comps = page.get("components")
            if not isinstance(comps, list):
                v.fail(f"The pages.{i}.components field is required.")
            for j, c in enumerate(comps):
                where = f"pages.{i}.components.{j}"
                if not isinstance(c, dict):
                    v.fail(f"The {where} must be an object.")
                cid = c.get("id")
                if not isinstance(cid, str) or not cid:
                    v.fail(f"The {where}.id field is required.")
                if c.get("component") not in COMPONENTS:
                    v.fail(f"The selected {where}.component is invalid.")
                if cid in RESERVED_KEYS:
                    v.fail(f"The {where}.id {cid} is a reserved key.")
                if cid in seen:
                    v.fail(f"The {where}.id has a duplicate value.")
                seen.add(cid)
        configs = v.list_("configurations")
        is_default = v.bool_("isDefault")
        order = v.int_("orderIndex", lo=0)
        v.check_required()
        out: Doc = {
            "name": name,
            "pages": [dict(p, id=p.get("id", f"page{i}")) for i, p in enumerate(pages)],
        }
        if configs is not None:
            out["configurations"] = configs
        if is_default is not None:
            out["isDefault"] = is_default
        if order is not None:
            out["orderIndex"] = order
        return out

    def _log(self, flow_id: str, action: str, raw: Doc, change: Doc, version: int, at: float) -> Op:
        log: Doc = {
            "_id": self.ctx.new_id(),
            "flowId": flow_id,
            "action": action,
            "changedBy": email_of(self.ctx),
            "version": version,
            "rawData": raw,
            "changeData": change,
            "organizationId": self.ctx.org_id,
            "createdTime": iso_micro(at),
            "updatedTime": iso_micro(at),
        }
        return Op("put", "flow_logs", log["_id"], log, None)

    def _new(self, fields: Doc, now: float) -> Doc:
        flows = self.ctx.store.values("flows")
        stamp = iso_micro(now)
        doc: Doc = {"_id": self.ctx.new_id(), **fields}
        doc.setdefault(
            "configurations",
            [{"id": "startTime", "adjustment": 0}, {"id": "endTime", "adjustment": 24}],
        )
        doc.setdefault("isDefault", False)
        doc.setdefault("orderIndex", max((f.get("orderIndex") or 0 for f in flows), default=0) + 1)
        doc.update(
            organizationId=self.ctx.org_id,
            version=1,
            createdBy=email_of(self.ctx),
            updatedBy=email_of(self.ctx),
            createdTime=stamp,
            updatedTime=stamp,
        )
        return doc

    def create(self, r: Request) -> Response:
        fields = self._validate(r.body, None)
        now = self.ctx.now()
        doc = self._new(fields, now)
        ops = [
            Op("put", "flows", doc["_id"], doc, r.body),
            self._log(doc["_id"], "create", {}, doc, 1, now),
        ]
        self.ctx.write(r, ops)
        return Response(201, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def _replace(self, r: Request, old: Doc, fields: Doc, action: str = "put") -> Doc:
        now = self.ctx.now()
        version = int(old.get("version") or 1) + 1
        doc = dict(
            old, **fields, version=version, updatedBy=email_of(self.ctx), updatedTime=iso_micro(now)
        )
        self.ctx.write(
            r,
            [
                Op("put", "flows", doc["_id"], doc, r.body),
                self._log(doc["_id"], action, old, doc, version, now),
            ],
        )
        return doc

    def put(self, r: Request) -> Response:
        old = self.ctx.get("flows", r.params["id"])
        doc = self._replace(r, old, self._validate(r.body, old))
        return Response(200, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("flows", r.params["id"])
        self.ctx.remove(r, "flows", old, r.body)
        return Response(
            200, {"status": True, "data": dict(old, deletedTime=iso_micro(self.ctx.now()))}
        )

    def check_version(self, r: Request) -> Response:
        """The flows a client must refresh: unknown to it, or at another version."""
        v = V(r.body)
        items = v.list_("flows", required=True)
        assert items is not None
        known: dict[str, Any] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                v.fail(f"The flows.{i}.name field is required.")
            version = item.get("version")
            if isinstance(version, bool) or not isinstance(version, int):
                v.fail(f"The flows.{i}.version must be an integer.")
            known[item["name"]] = version
        stale = [
            f for f in self.ctx.store.values("flows") if known.get(f["name"]) != f.get("version")
        ]
        return Response(200, {"status": True, "message": "Success", "flow": stale})

    def reorder(self, r: Request) -> Response:
        v = V(r.body)
        items = v.list_("data", required=True)
        assert items is not None
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("flowId"), str):
                v.fail(f"The data.{i}.flow id field is required.")
        now = self.ctx.now()
        ops: list[Op] = []
        results: list[Doc] = []
        pending: dict[str, Doc | None] = {}
        names = {f["name"].lower() for f in self.ctx.store.values("flows")}
        index = 0
        for item in items:
            fid = item["flowId"]
            flow = pending[fid] if fid in pending else self.ctx.store.get("flows", fid)
            if flow is None:
                results.append({"status": False, "code": 404, "message": "Data not found"})
            elif truthy(item.get("doDelete")):
                pending[fid] = None
                ops.append(Op("delete", "flows", fid, None, item))
                results.append({"status": True, "code": 200, "data": flow})
            else:
                index += 1
                if truthy(item.get("doDuplicate")):
                    results.append(self._duplicate(item, flow, index, now, names, ops))
                else:
                    results.append(self._moved(item, flow, index, now, pending, ops))
        self.ctx.write(r, ops)
        body = {"status": True, "code": 200, "message": "success re-order index"}
        return Response(200, {**body, "data": results})

    def _duplicate(
        self, item: Doc, flow: Doc, index: int, now: float, names: set[str], ops: list[Op]
    ) -> Doc:
        """A copy of ``flow`` named ``flowName`` at ``index`` (its create is logged)."""
        name = item.get("flowName")
        if not isinstance(name, str) or not name.strip():
            return {"status": False, "code": 400, "message": "The flow name field is required."}
        if name.lower() in names or name.strip().lower() in RESERVED_FLOWS:
            return {"status": False, "code": 400, "message": "The name has already been taken."}
        names.add(name.lower())
        fields: Doc = {k: copy.deepcopy(flow[k]) for k in ("pages", "configurations") if k in flow}
        new = self._new({"name": name, **fields, "orderIndex": index}, now)
        ops += [
            Op("put", "flows", new["_id"], new, item),
            self._log(new["_id"], "create", {}, new, 1, now),
        ]
        message = "Flow has been created successfully."
        return {"status": True, "code": 200, "message": message, "flow": new}

    def _moved(
        self,
        item: Doc,
        flow: Doc,
        index: int,
        now: float,
        pending: dict[str, Doc | None],
        ops: list[Op],
    ) -> Doc:
        """``flow`` moved to ``index`` (the move is logged)."""
        fid = flow["_id"]
        moved = dict(flow, orderIndex=index, updatedTime=iso_micro(now))
        pending[fid] = moved
        before, version = {"orderIndex": flow.get("orderIndex")}, int(flow.get("version") or 1)
        ops += [
            Op("put", "flows", fid, moved, item),
            self._log(fid, "reorder", before, {"orderIndex": index}, version, now),
        ]
        result = {"orderIndex": index, "version": moved.get("version")}
        return {"status": True, "code": 200, "message": "Success", "flow": result}

    def restore(self, r: Request) -> Response:
        flow = self.ctx.get("flows", r.params["id"])
        log = self.ctx.store.get("flow_logs", r.params["logId"])
        if log is None or log.get("flowId") != flow["_id"]:
            raise HttpError(404, "Data not found")
        state = log.get("changeData") or {}
        if not isinstance(state, dict) or "pages" not in state:
            raise HttpError(400, "This flow log has no version to restore.")
        fields = {
            k: copy.deepcopy(state[k]) for k in ("name", "pages", "configurations") if k in state
        }
        if "name" in fields and fields["name"] != flow["name"]:
            if self._by_name(fields["name"]) is not None:
                raise HttpError(400, "The name has already been taken.")
        doc = self._replace(r, flow, fields)
        return Response(
            200,
            {
                "status": True,
                "code": 200,
                "message": "Flow has been updated successfully.",
                "data": doc,
            },
        )


def _example(c: Doc, hub: Doc) -> tuple[Any, str]:
    kind = c.get("inputType")
    comp = c.get("component")
    if comp in _LISTS or kind == "list":
        return [{"name": "Item", "qty": 1, "unitPrice": 10000}], "array"
    if comp in _IMAGE:
        return f"https://storage.demo.mile.app/examples/{c['id']}.jpg", "string"
    if kind == "number":
        return 1, "number"
    if kind == "boolean":
        return True, "boolean"
    options = c.get("options")
    if options:
        first = options[0]
        return (first.get("value") if isinstance(first, dict) else first), "string"
    if kind == "date":
        return "2026-11-01", "string"
    if kind == "coordinate":
        return f"{hub['lat']},{hub['lng']}", "string"
    return f"Example {str(c.get('title', c['id'])).lower()}", "string"
