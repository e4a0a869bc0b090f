"""Exports of tasks and records (tag Export Task) into a stored file, and their log.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("POST", "/api/v3/tasks/export", {"download": "json"})
>>> status, body["data"]["status"]
(200, 'Done')

Exports write a real file (``json`` or ``xlsx``) that ``GET /file/view?url=`` streams,
and log it in the export log, an Elasticsearch index (note 44). Paths, envelope keys,
paging and sort parameters are read from the registry.
"""

from __future__ import annotations

from typing import Any

import orjson

from milekit.sandbox import xlsx
from milekit.sandbox.common import Ctx, paging, resource_routes
from milekit.sandbox.files import STORAGE
from milekit.sandbox.generic import elastic, envelope
from milekit.sandbox.http import (
    BAD_REQUEST,
    HttpError,
    Request,
    Response,
    Route,
    V,
    attribute,
    csv,
    iso_now,
    naive,
    sort_docs,
)
from milekit.sandbox.lookups import email_of
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

_EXPORT_MAX = 10_000  #: "direct mode is meant for < 10,000 rows" (note 44)


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value


def routes(ctx: Ctx) -> list[Route]:
    x = Exports(ctx)
    return [
        Route("POST", "/tasks/export", x.export_tasks),
        Route("POST", "/data/export", x.export_data),
        *resource_routes(x.logs_spec, list=x.export_log),
    ]


class Exports:
    """Exports of tasks and records into a stored file, and their log (note 44)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.logs_spec = RESOURCES["export_logs"]

    # --- exports --------------------------------------------------------------------------

    def _export(
        self,
        r: Request,
        params: dict[str, Any],
        rows_of: list[Doc],
        report: str,
        label: str,
    ) -> Response:
        v = V(params)
        download = v.str_("download", required=True, enum=("xlsx", "json"))
        background = v.bool_("background") or False
        sort_order = v.str_("sortOrder", enum=("asc", "desc", "ASC", "DESC"))
        page = v.int_("page", lo=1) or 1
        limit = v.int_("limit", lo=1, hi=_EXPORT_MAX) or 30
        fields = csv(v.str_("fields"))
        config_id = v.str_("exportConfigId")
        if config_id is not None:
            config = self.ctx.store.get("export_configs", config_id)
            if config is None:
                v.fail("The selected export config id is invalid.")
            if not fields:
                fields = [f["id"] for f in config.get("fields") or [] if isinstance(f, dict)]
        docs = sort_docs(rows_of, v.str_("sortBy"), sort_order, default_by="createdTime")
        chunk = docs[(page - 1) * limit : page * limit]
        if not fields:
            fields = sorted({k for d in chunk for k in d}, key=lambda k: (k != "_id", k))
        now = self.ctx.now()
        stamp = int(now)
        assert download is not None  # required
        url = self._export_file(r, params, chunk, fields, download, report, label, now)
        data: Doc = {"time": stamp, "organizationId": self.ctx.org_id, "reportType": report}
        if background:
            data["status"] = "Processing"
            message = "Export queued for background processing. "
            message += "Check status at GET /tasks/export-log"
            body = envelope(
                "status message total_data_be item", item=data, message=message, total_data_be=0
            )
            return Response(200, body)
        data.update(link=url, status="Done")
        last = (str(chunk[-1].get("_id", "")), fields[-1]) if chunk else None
        layout = "status message total_data_be" + (" last_id last_field" if last else "")
        body = envelope(
            f"{layout} item",
            item=data,
            message="Success",
            total_data_be=len(docs),
            last_id=last and last[0],
            last_field=last and last[1],
        )
        return Response(200, body)

    def _export_file(
        self,
        r: Request,
        params: dict[str, Any],
        chunk: list[Doc],
        fields: list[str],
        download: str,
        report: str,
        label: str,
        now: float,
    ) -> str:
        """Store the exported file and its export-log entry; the file's URL."""
        day = naive(now)[:10].replace("-", "")
        url = f"{STORAGE}/exports/{day}/{report}_{self.ctx.org_id}_{int(now)}.{download}"
        if download == "json":
            payload = orjson.dumps([{k: d[k] for k in fields if k in d} for d in chunk])
            content_type = "application/json"
        else:
            table = [fields, *([_cell(d.get(k)) for k in fields] for d in chunk)]
            payload = xlsx.write(table)
            content_type = xlsx.CONTENT_TYPE
        file_doc = {"_id": url, "contentType": content_type, "hex": payload.hex()}
        log: Doc = {
            "_index": "export",
            "_type": "_doc",
            "_id": f"exp_{self.ctx.new_id()}",
            "_score": 1,
            "_source": {
                "organizationId": self.ctx.org_id,
                "dataType": report,
                "dataName": f"{label} - {naive(now)[:10]}",
                "status": "Done",
                "requestAt": iso_now(now),
                "completedAt": iso_now(now),
                "email": email_of(self.ctx),
                "fileUrl": url,
                "fileType": download,
                "totalRecords": len(chunk),
            },
        }
        self.ctx.write(
            r,
            [
                Op("put", "files", url, file_doc, {"export": url, "rows": len(chunk)}),
                Op("put", "export_logs", log["_id"], log, params),
            ],
        )
        return url

    def export_tasks(self, r: Request) -> Response:
        params = r.body if isinstance(r.body, dict) else {}
        if not isinstance(r.body, dict):
            raise HttpError(400, BAD_REQUEST)
        v = V(params)
        status = v.str_("status", enum=("UNASSIGNED", "ONGOING", "DONE"))
        docs = self.ctx.store.values("tasks")
        if status:
            docs = [d for d in docs if d.get("status") == status]
        if v.str_("flowId"):
            ids = set(csv(params["flowId"]))
            docs = [d for d in docs if d.get("flowId") in ids]
        for key in ("hubId", "doneBy"):
            if v.str_(key):
                docs = [d for d in docs if d.get(key) == params[key]]
        if v.str_("assignee"):
            docs = [d for d in docs if params["assignee"] in (d.get("assignee") or [])]
        return self._export(r, params, docs, "task", "Task Export")

    def export_data(self, r: Request) -> Response:
        params: dict[str, Any] = dict(r.query)
        docs = self.ctx.store.values("data")
        if params.get("dataTypeId"):
            docs = [d for d in docs if d.get("dataTypeId") == params["dataTypeId"]]
        if params.get("hubId"):
            docs = [d for d in docs if d.get("hubId") == params["hubId"]]
        return self._export(r, params, docs, "data", "Data Export")

    def export_log(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.logs_spec)
        by_param, order_param = self.logs_spec.sort_params
        order = ((q.get(order_param) if order_param else None) or "desc").lower()
        if order not in ("asc", "desc"):
            raise HttpError(400, f"The selected {attribute(order_param or '')} is invalid.")
        if q.get("dataType") and q["dataType"] not in (
            "task",
            "data",
            "vehicle",
            "driver",
            "route",
        ):
            raise HttpError(400, "The selected data type is invalid.")
        if q.get("status") and q["status"] not in ("Processing", "Done", "Failed"):
            raise HttpError(400, "The selected status is invalid.")
        email = q.get("email") or email_of(self.ctx)
        must: list[Doc] = [
            {"term": {"organizationId.keyword": self.ctx.org_id}},
            {"term": {"email.keyword": email}},
        ]
        hits = [
            h for h in self.ctx.store.values("export_logs") if h["_source"].get("email") == email
        ]
        for key in ("dataType", "status"):
            if q.get(key):
                hits = [h for h in hits if h["_source"].get(key) == q[key]]
                must.append({"term": {f"{key}.keyword": q[key]}})
        if q.get("dataName"):
            needle = q["dataName"].lower()
            hits = [h for h in hits if needle in str(h["_source"].get("dataName", "")).lower()]
            must.append({"match": {"dataName": q["dataName"]}})
        by = (q.get(by_param) if by_param else None) or "requestAt"
        wrapped = [dict(h["_source"], _id=h["_id"], _hit=h) for h in hits]
        hits = [w["_hit"] for w in sort_docs(wrapped, by, order, default_by="requestAt")]
        query, sort = {"bool": {"must": must}}, {by: {"order": order}}
        key = self.logs_spec.envelope_list
        return Response(200, elastic(key, hits, page, limit, query, sort, message="Success"))
