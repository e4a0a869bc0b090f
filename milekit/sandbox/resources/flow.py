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
:mod:`~milekit.sandbox.resources.automation`.
"""

from __future__ import annotations

import copy
from typing import Any

from milekit.sandbox.common import Ctx, resource_routes
from milekit.sandbox.generic import DATA, Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    csv,
    iso_micro,
    iso_now,
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
#: how the field reads and the version check answer
_FIELDS = Answer("status message item", "Success")
_IMAGE = ("photo", "signature", "capture")
_LISTS = ("list", "bill")


def routes(ctx: Ctx) -> list[Route]:
    f = Flows(ctx)
    return [
        *f.routes(),
        *resource_routes(f.fields_spec, list=f.fields),
        Route("GET", "/flow-components", f.components),
        Route("GET", "/flow/{name}/fields", f.fields_by_name),
        Route("GET", "/flow/{name}/task", f.task_payload),
        *FlowLogs(ctx).routes(),
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


class Flows(StoredResource):
    """Flows: every write (create, replace, reorder, restore) also writes a flow log."""

    name = "flows"
    order = ("orderIndex", "desc")
    deleted = Answer("status item", key=DATA)

    def __init__(self, ctx: Ctx) -> None:
        super().__init__(ctx)
        self.fields_spec = RESOURCES["flow_fields"]

    def _by_name(self, name: str) -> Doc | None:
        return self.ctx.find("flows", lambda f: f.get("name") == name)

    # --- reads ----------------------------------------------------------------------------

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
        return Response(200, _FIELDS.body(self.fields_spec.envelope_list, data))

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
        return Response(200, _FIELDS.body(self.fields_spec.envelope_list, data))

    def fields_by_name(self, r: Request) -> Response:
        flow = self._by_name(r.params["name"])
        if flow is None:
            raise HttpError(400, "The selected flow name is invalid.")
        fields = [_as_field(c) for c in components_of(flow)]
        return Response(200, _FIELDS.body("flowFields", fields))

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
        data = {"flowName": flow["name"], "flowFields": out, "bodyRequest": body}
        return Response(200, envelope("status message item", item=data, message="Success."))

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

    def _log(self, flow_id: str, action: str, raw: Doc, change: Doc, version: int, at: str) -> Op:
        log: Doc = {
            "_id": self.ctx.new_id(),
            "flowId": flow_id,
            "action": action,
            "changedBy": email_of(self.ctx),
            "version": version,
            "rawData": raw,
            "changeData": change,
            "organizationId": self.ctx.org_id,
            "createdTime": at,
            "updatedTime": at,
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

    def _changed(self, old: Doc, fields: Doc) -> Doc:
        version = int(old.get("version") or 1) + 1
        now = iso_micro(self.ctx.now())
        return dict(old, **fields, version=version, updatedBy=email_of(self.ctx), updatedTime=now)

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        fields = self._validate(r.body, old)
        return self._new(fields, self.ctx.now()) if old is None else self._changed(old, fields)

    def ops(self, r: Request, old: Doc | None, doc: Doc) -> list[Op]:
        """The flow and its log entry (``create``, or ``put`` with the old flow)."""
        action, raw = ("create", {}) if old is None else ("put", old)
        log = self._log(doc["_id"], action, raw, doc, doc["version"], doc["updatedTime"])
        return [*super().ops(r, old, doc), log]

    def removed(self, old: Doc) -> Doc:
        return dict(old, deletedTime=iso_micro(self.ctx.now()))

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
        return Response(200, _FIELDS.body("flow", stale))

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
                results.append(envelope("status code item", item=flow))
            else:
                index += 1
                if truthy(item.get("doDuplicate")):
                    results.append(self._duplicate(item, flow, index, now, names, ops))
                else:
                    results.append(self._moved(item, flow, index, now, pending, ops))
        self.ctx.write(r, ops)
        message = "success re-order index"
        return Response(200, envelope("status code message item", item=results, message=message))

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
            self._log(new["_id"], "create", {}, new, 1, iso_micro(now)),
        ]
        message = "Flow has been created successfully."
        return envelope("status code message item", key="flow", item=new, message=message)

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
            self._log(fid, "reorder", before, {"orderIndex": index}, version, iso_micro(now)),
        ]
        result = {"orderIndex": index, "version": moved.get("version")}
        return envelope("status code message item", key="flow", item=result, message="Success")

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
        doc = self._changed(flow, fields)
        self.ctx.write(r, self.ops(r, flow, doc))
        message = "Flow has been updated successfully."
        return Response(200, envelope("status code message item", item=doc, message=message))


class FlowLogs(StoredResource):
    """The flow log: one entry a flow write, read only."""

    name = "flow_logs"
    filters = (Filter("action"), Filter("flowId"))
    listed = Answer("status code message item", "Success.")

    def listing(self, r: Request) -> list[Doc]:
        if not set(csv(r.query.get("action"))) <= {"create", "put", "reorder"}:
            raise HttpError(400, "The selected action is invalid.")
        return super().listing(r)


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
