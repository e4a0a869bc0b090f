"""Exports, export configs, the export log and imports of data source records.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/export-configs")
>>> status, [c["name"] for c in body["data"]["data"]]
(200, ['Visit Summary', 'Daily Delivery Report'])

Exports write a real file (``json`` or ``xlsx``) that ``GET /file/view?url=`` streams,
and log it in the export log (note 44); ``POST /data/import`` reads CSV or xlsx uploads
into records (validated as :mod:`~milekit.sandbox.datasource` validates them) and keeps
an import monitoring record of the outcome. Paths, envelope keys, paging and sort
parameters and required fields are read from the registry.
"""

from __future__ import annotations

import copy
import csv as csvlib
import io
from typing import Any

import orjson

from milekit.sandbox import xlsx
from milekit.sandbox.common import Ctx, paging, resource_routes
from milekit.sandbox.datasource import Records, field_kind
from milekit.sandbox.files import STORAGE
from milekit.sandbox.generic import Answer, Filter, StoredResource, elastic, envelope
from milekit.sandbox.http import (
    BAD_REQUEST,
    HttpError,
    Request,
    Response,
    Route,
    Upload,
    V,
    attribute,
    csv,
    iso_micro,
    iso_now,
    naive,
    sort_docs,
    truthy,
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
    x, imports = Exports(ctx), Imports(ctx)
    return [
        Route("POST", "/data/import", imports.import_data),
        *imports.routes(),
        Route("POST", "/tasks/export", x.export_tasks),
        Route("POST", "/data/export", x.export_data),
        *resource_routes(x.logs_spec, list=x.export_log),
        *ExportConfigs(ctx).routes(),
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


class ExportConfigs(StoredResource):
    """The saved field choices of task exports."""

    name = "export_configs"
    filters = (Filter("collection", "eq"), Filter("name", "contains"))
    listed = got = Answer("status code message item", "Success.")
    created = Answer("status code message item", "Export Config has been added successfully.", 201)
    updated = Answer("status code message item", "Export Config has been updated successfully.")
    deleted = Answer("status code message item", "Export Config has been deleted successfully.")

    def _config_fields(self, body: Any, old: Doc | None) -> Doc:
        v = V(body, required=self.spec.required_on_create)
        name = v.str_("name", max_len=255)
        collection = v.str_("collection", enum=("task",))
        flow_ids = v.strings("flowIds")
        fields = v.list_("fields")
        description = v.str_("description")
        v.check_required()
        assert name is not None and flow_ids is not None and fields is not None
        for d in self.ctx.store.values("export_configs"):
            if d["name"].lower() == name.lower() and (old is None or d["_id"] != old["_id"]):
                v.fail("The name has already been taken.")
        for fid in flow_ids:
            if self.ctx.store.get("flows", fid) is None:
                v.fail("The selected flow ids is invalid.")
        for i, f in enumerate(fields):
            if not isinstance(f, dict):
                v.fail(f"The fields.{i} must be an object.")
            for key in ("id", "component", "title"):
                if not f.get(key):
                    v.fail(f"The fields.{i}.{key} field is required.")
        out: Doc = {
            "name": name,
            "collection": collection,
            "flowIds": flow_ids,
            "fields": copy.deepcopy(fields),
        }
        if description is not None:
            out["description"] = description
        return out

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        fields = self._config_fields(r.body, old)
        stamp = iso_micro(self.ctx.now())
        if old is not None:
            return dict(old, **fields, updatedTime=stamp)
        return {
            "_id": self.ctx.new_id(),
            **fields,
            "organizationId": self.ctx.org_id,
            "createdTime": stamp,
            "updatedTime": stamp,
        }


class Imports(StoredResource):
    """Imports of records from CSV or xlsx, and the import monitoring records of them."""

    name = "import_monitoring"
    filters = (Filter("type"), Filter("status"), Filter("dataTypeId", "eq"))

    def __init__(self, ctx: Ctx) -> None:
        super().__init__(ctx)
        self.records = Records(ctx)

    @staticmethod
    def _ierr(status: int, message: str, code: str) -> HttpError:
        return HttpError(status, message, extra={"failedCode": code})

    def listing(self, r: Request) -> list[Doc]:
        q = r.query
        if not set(csv(q.get("type"))) <= {"datasource", "task", "visit", "route"}:
            raise self._ierr(400, "Invalid type value", "import-003")
        if not set(csv(q.get("status"))) <= {"onprocess", "success", "partially", "failed"}:
            raise self._ierr(400, "Invalid status value", "import-003")
        return super().listing(r)

    def one(self, id_: str) -> Doc:
        doc = self.ctx.store.get(self.name, id_)
        if doc is None:
            raise self._ierr(404, "Import monitoring record not found", "import-004")
        return doc

    def import_data(self, r: Request) -> Response:
        """Read the uploaded CSV/xlsx into records now; the answer is the queued snapshot."""
        upload, ext, dtype, hub_id = self._import_target(r)
        stamp = naive(self.ctx.now())
        queued = self._queued(upload.filename, dtype, hub_id, stamp)
        try:
            rows, error = _table(upload.data, ext), None
        except ValueError as e:
            rows, error = [], str(e)
        header = [str(h).strip() for h in rows[0]] if rows else []
        ops, failed = self._import_rows(header, rows[1:], dtype, hub_id)
        total = max(0, len(rows) - 1)
        valid = total - len(failed)
        status = (
            "failed" if error or (total and not valid) else "partially" if failed else "success"
        )
        done: Doc = dict(
            queued,
            totalRows=total,
            totalValid=valid,
            totalInvalid=len(failed),
            status=status,
            totalChunks=total // 1000 + 1,
            processedChunks=total // 1000 + 1,
            processedAt=stamp,
            processingDuration=0,
            updatedBy="system",
        )
        if error:
            done["errorMessage"] = error
        if failed:
            op = _failed_file(queued["_id"], header, failed)
            ops.append(op)
            done["fileFailedImported"] = op.id
        ops.append(
            Op("put", "import_monitoring", queued["_id"], done, {"file": upload.filename, **r.form})
        )
        self.ctx.write(r, ops)
        message = "Import process has been queued successfully"
        return Response(200, self.got.body(self.spec.envelope_one, queued, message=message))

    def _import_target(self, r: Request) -> tuple[Upload, str, Doc, str | None]:
        """The upload, its extension, the data type and the hub of an import (or 400/422)."""
        upload = r.files.get("file")
        if upload is None:
            raise self._ierr(400, "The file field is required.", "import-001")
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if ext not in ("csv", "xls", "xlsx"):
            raise self._ierr(422, "The file must be a file of type: csv, xls, xlsx.", "import-002")
        if len(upload.data) > 20 * 1024 * 1024:
            raise self._ierr(422, "The file may not be greater than 20480 kilobytes.", "import-002")
        type_id = r.form.get("dataTypeId")
        if not type_id:
            raise self._ierr(400, "The data type id field is required.", "import-001")
        dtype = self.ctx.store.get("data_types", type_id)
        if dtype is None:
            raise self._ierr(400, "The selected data type id is invalid.", "import-003")
        hub_id = r.form.get("hubId") or None
        if not dtype.get("commonData"):
            if not hub_id:
                raise self._ierr(400, "The hub id field is required.", "import-001")
            if self.ctx.store.get("hubs", hub_id) is None:
                raise self._ierr(400, "The selected hub id is invalid.", "import-003")
        return upload, ext, dtype, hub_id

    def _queued(self, filename: str, dtype: Doc, hub_id: str | None, stamp: str) -> Doc:
        """The import-monitoring record as the answer shows it: queued, nothing counted."""
        queued: Doc = {
            "_id": self.ctx.new_id(),
            "organizationId": self.ctx.org_id,
            "type": "datasource",
            "hubId": hub_id,
            "filename": filename,
            "totalRows": 0,
            "totalValid": 0,
            "totalInvalid": 0,
            "status": "onprocess",
            "dataTypeId": dtype["_id"],
            "dataTypeName": dtype["name"],
            "fileTemplate": f"{STORAGE}/templates/template_{dtype['name']}.xlsx",
            "createdBy": email_of(self.ctx),
            "createdTime": stamp,
            "updatedTime": stamp,
        }
        if hub_id is None:
            del queued["hubId"]
        return queued

    def _import_rows(
        self, header: list[str], rows: list[list[Any]], dtype: Doc, hub_id: str | None
    ) -> tuple[list[Op], list[list[Any]]]:
        """The writes of the valid rows (created, or updated by primary key) and the
        failed rows with their error as the last cell."""
        ops: list[Op] = []
        failed: list[list[Any]] = []
        taken: set[tuple[Any, ...]] = set()
        for values in rows:
            item = {
                h: val
                for h, val in zip(header, values, strict=False)
                if h and val not in (None, "")
            }
            item["dataTypeId"] = dtype["_id"]
            _coerce(item, dtype)
            if hub_id is not None:
                item.setdefault("hubId", hub_id)
            old = self.records.match(item)
            try:
                doc = self.records.record(item, old, full=old is None, taken=taken)
            except HttpError as e:
                failed.append([*values, e.message])
                continue
            ops.append(Op("put", "data", doc["_id"], doc, item))
        return ops, failed


def _failed_file(import_id: str, header: list[str], failed: list[list[Any]]) -> Op:
    """The CSV of the rows an import refused (with an ``error`` column), as a stored file."""
    url = f"{STORAGE}/failed/failed_{import_id}.csv"
    buf = io.StringIO()
    writer = csvlib.writer(buf)
    writer.writerow([*header, "error"])
    writer.writerows(failed)
    data = buf.getvalue().encode()
    return Op("put", "files", url, {"_id": url, "contentType": "text/csv", "hex": data.hex()}, None)


def _table(data: bytes, ext: str) -> list[list[Any]]:
    if ext == "xls":
        raise ValueError("The sandbox reads csv and xlsx files; legacy .xls is not supported.")
    if ext == "xlsx":
        return xlsx.read(data)
    text = data.decode("utf-8-sig", "replace")
    return [list(row) for row in csvlib.reader(io.StringIO(text))]


def _coerce(item: Doc, dtype: Doc) -> None:
    """Spreadsheet cells are text: numbers and booleans of the data type, parsed."""
    for f in dtype.get("fields") or []:
        val = item.get(f["id"])
        if not isinstance(val, str):
            continue
        kind = field_kind(f)
        if kind == "number":
            try:
                num = float(val)
            except ValueError:
                continue
            item[f["id"]] = int(num) if num.is_integer() else num
        elif kind == "boolean" and truthy(val) is not None:
            item[f["id"]] = truthy(val)
