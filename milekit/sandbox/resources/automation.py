"""Automation endpoints: automations, their run log (Elasticsearch hits), retries.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/automations?automationType=webhook")
>>> status, [a["automationType"] for a in body["data"]["data"]]
(200, ['webhook'])

Every automation names its event, its type and the details that type needs (note 42).
Paths, envelope keys, paging and sort parameters and required fields of automations and
automation logs are read from the registry.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from milekit.sandbox.common import Ctx, paging, resource_routes
from milekit.sandbox.generic import Answer, Filter, StoredResource, elastic, envelope
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    attribute,
    is_date,
    iso_now,
    naive,
    sort_docs,
    truthy,
)
from milekit.sandbox.lookups import email_of, hub_of
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

_SPEC = RESOURCES["automations"]
#: the values the API accepts, as the registry (the contract) lists them
EVENTS = _SPEC.field("event").enum or ()
AUTOMATION_TYPES = _SPEC.field("automationType").enum or ()
DATA_TYPES = _SPEC.field("dataType").enum or ()
_DETAIL_REQUIRED = {
    "createTask": ("flow",),
    "createAssignTask": ("flow", "hubId", "assignee"),
    "moveTask": ("hubId",),
    "assignTask": ("assignee",),
    "webhook": ("url",),
    "createOrUpdateDataSource": ("dataTypeId",),
    "notification": ("channel", "taskFieldReceiver", "message"),
}


def routes(ctx: Ctx) -> list[Route]:
    a = Automations(ctx)
    return [
        *a.routes(),
        *resource_routes(a.logs_spec, list=a.logs),
        Route("PATCH", "/automation-retry/{id}", a.retry),
        Route("POST", "/automation-retries", a.retries),
    ]


class Automations(StoredResource):
    name = "automations"
    filters = (
        Filter("q", "contains", ("name",)),
        Filter("event"),
        Filter("automationType"),
        Filter("dataType"),
        Filter("flow", "in", ("rules.flow",)),
    )
    created = Answer("status message item", "Success")

    def __init__(self, ctx: Ctx) -> None:
        super().__init__(ctx)
        self.logs_spec = RESOURCES["automation_logs"]

    def _flow_ref(self, v: V, holder: Doc, where: str) -> None:
        """``holder.flow`` must name a flow; ``holder.flowId`` is set from it."""
        name = holder.get("flow")
        if name is None:
            return
        flow = self.ctx.find("flows", lambda f: f.get("name") == name)
        if flow is None:
            v.fail(f"The selected {where}.flow is invalid.")
        holder["flowId"] = flow["_id"]

    def _validate(self, body: Any, old: Doc | None) -> Doc:
        merged = dict(old or {}, **body) if isinstance(body, dict) else body
        v = V(merged, required=self.spec.required_on_create)
        v.str_("name", max_len=255)
        v.str_("event", enum=EVENTS)
        kind = v.str_("automationType", enum=AUTOMATION_TYPES)
        v.str_("dataType", enum=DATA_TYPES)
        active = v.bool_("isActive")
        v.check_required()
        out = {
            k: copy.deepcopy(merged[k])
            for k in ("name", "event", "automationType", "dataType", "rules", "automationDetails")
            if k in merged
        }
        out.setdefault("dataType", "task")
        out["isActive"] = True if active is None else active
        rules = v.obj("rules")
        if rules is not None:
            self._flow_ref(v, out["rules"], "rules")
        # not required as such (POST /automation's schema, note 42), but every type needs some
        # of its keys: a missing object fails on the first of them
        v.obj("automationDetails")
        assert kind is not None
        d = out["automationDetails"] = out.get("automationDetails") or {}
        for key in _DETAIL_REQUIRED[kind]:
            if d.get(key) in (None, "", []):
                v.fail(f"The automation details.{key} field is required.")
        self._flow_ref(v, d, "automation details")
        if "hubId" in d:
            hub_of(self.ctx, d["hubId"], "automation details.hub id")
        if "assignee" in d:
            if isinstance(d["assignee"], str):
                d["assignee"] = [d["assignee"]]
            if not isinstance(d["assignee"], list) or not all(
                isinstance(a, str) for a in d["assignee"]
            ):
                v.fail("The automation details.assignee must be an array.")
        if kind == "webhook":
            url = d.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                v.fail("The automation details.url must be a valid URL.")
            if "headers" in d and not isinstance(d["headers"], dict):
                v.fail("The automation details.headers must be an object.")
        if "dataTypeId" in d:
            dtype = self.ctx.store.get("data_types", d["dataTypeId"])
            if dtype is None:
                v.fail("The selected automation details.data type id is invalid.")
            d["dataTypeName"] = dtype["name"]
        return out

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        if not full and not isinstance(r.body, dict):
            raise HttpError(400, "Bad request - invalid parameters provided.")
        fields = self._validate(r.body, None if full else old)
        stamp = iso_now(self.ctx.now())
        if old is None:
            doc: Doc = {"_id": self.ctx.new_id(), **fields}
            doc.update(
                organizationId=self.ctx.org_id,
                createdBy=email_of(self.ctx),
                createdTime=stamp,
            )
        else:
            doc = dict(old, **fields)
        doc.update(updatedBy=email_of(self.ctx), updatedTime=stamp)
        return doc

    def delete(self, r: Request) -> Response:
        old = self.target(r.params["id"])
        self.ctx.remove(r, "automations", old, r.body)
        message = "Automation successfully deleted."
        return Response(200, envelope("status message _id", message=message, _id=old["_id"]))

    # --- logs (Elasticsearch hits) --------------------------------------------------------

    def logs(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.logs_spec)
        hits = self.ctx.store.values("automation_logs")
        must: list[Doc] = [{"term": {"organizationId.keyword": self.ctx.org_id}}]
        for key in ("taskId", "automationId"):
            if q.get(key):
                hits = [h for h in hits if h["_source"].get(key) == q[key]]
                must.append({"term": {f"{key}.keyword": q[key]}})
        if q.get("isSuccess"):
            want = truthy(q["isSuccess"])
            if want is None:
                raise HttpError(400, "The is success field must be true or false.")
            hits = [h for h in hits if truthy(h["_source"].get("isSuccess")) is want]
            must.append({"term": {"isSuccess.keyword": str(want).lower()}})
        lo, hi = q.get("startDate"), q.get("endDate")
        for name, value in (("start date", lo), ("end date", hi)):
            if value and not is_date(value):
                raise HttpError(400, f"The {name} does not match the format Y-m-d.")
        if lo or hi:
            hits = [
                h
                for h in hits
                if (not lo or h["_source"].get("timestamp", "")[:10] >= lo)
                and (not hi or h["_source"].get("timestamp", "")[:10] <= hi)
            ]
            must.append({"range": {"timestamp": {"gte": lo, "lte": hi}}})
        by_param, order_param = self.logs_spec.sort_params
        by = (q.get(by_param) if by_param else None) or "@timestamp"
        order = ((q.get(order_param) if order_param else None) or "desc").lower()
        if order not in ("asc", "desc"):
            raise HttpError(400, f"The selected {attribute(order_param or '')} is invalid.")
        if by == "@timestamp":
            hits = sorted(hits, key=lambda h: (h.get("sort") or [0])[0], reverse=order == "desc")
        else:
            wrapped = [dict(h["_source"], _hit=h) for h in hits]
            hits = [d["_hit"] for d in sort_docs(wrapped, by, order, default_by=by)]
        query, sort = {"bool": {"must": must}}, {by: {"order": order}}
        body = elastic(
            self.logs_spec.envelope_list, hits, page, limit, query, sort, message="elasticData"
        )
        return Response(200, body)

    def _rerun(self, hit: Doc, now: float) -> Op:
        src = dict(hit["_source"])
        attempt = int(src.get("attempt") or 0) + 1
        ok_code = "201" if src.get("automationType") == "createTask" else "200"
        ms = int(now * 1000)
        src.update(
            attempt=str(attempt),
            statusCode=ok_code,
            isSuccess="true",
            severity="NOTICE",
            response=orjson.dumps({"status": True, "message": "Success"}).decode(),
            timestamp=naive(now),
            dispatchAt=naive(now),
            startRequestTime=naive(now),
            finishRequestTime=naive(now),
            retryOf=hit["_id"],
        )
        src["@timestamp"] = iso_now(now).replace("+00:00", f".{ms % 1000:03d}Z")
        new: Doc = {
            "_index": f"log-automation-{naive(now)[:10].replace('-', '.')}",
            "_type": "_doc",
            "_id": self.ctx.es_id(),
            "_score": None,
            "_source": src,
            "sort": [ms],
        }
        return Op("put", "automation_logs", new["_id"], new, {"retryOf": hit["_id"]})

    def retry(self, r: Request) -> Response:
        hit = self.ctx.get("automation_logs", r.params["id"])
        self.ctx.write(r, [self._rerun(hit, self.ctx.now())])
        message = "automation retry has been executed"
        return Response(200, envelope("status message", message=message))

    def retries(self, r: Request) -> Response:
        v = V(r.body)
        ids = v.list_("id", required=True, max_items=200)
        assert ids is not None
        now = self.ctx.now()
        ops: list[Op] = []
        details: dict[str, str] = {}
        for log_id in ids:
            hit = self.ctx.store.get("automation_logs", log_id) if isinstance(log_id, str) else None
            if hit is None:
                details[str(log_id)] = "Data not found"
                continue
            ops.append(self._rerun(hit, now))
            details[log_id] = "Success."
        self.ctx.write(r, ops)
        ok = sum(1 for m in details.values() if m == "Success.")
        counts = {"total": len(details), "success": ok, "failed": len(details) - ok}
        body = envelope(
            "status message item", item={**counts, "details": details}, message="Success."
        )
        return Response(200, body)
