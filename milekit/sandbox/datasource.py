"""Data sources (types and records), exports, export configs, the export log and imports.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/data/type/Customer/CUST-0001")
>>> status, body["data"]["data_type"]["name"]
(200, 'Customer')

Records are validated against their data type (required fields, numbers, booleans,
option lists); ``dataId`` is unique per (type, hub). Exports write a real file
(``json`` or ``xlsx``) that ``GET /file/view?url=`` streams, and log it in the export
log; ``POST /data/import`` reads CSV or xlsx uploads into records and keeps an import
monitoring record of the outcome. Paths, envelope keys, paging and sort parameters,
bulk keys and maxima, id and required fields are read from the registry.
"""

from __future__ import annotations

import copy
import csv as csvlib
import io
from typing import Any

import orjson

from milekit.sandbox import xlsx
from milekit.sandbox.common import (
    Ctx,
    listed,
    paging,
    resource_routes,
    sort_listed,
)
from milekit.sandbox.http import (
    BAD_REQUEST,
    HttpError,
    Request,
    Response,
    Route,
    Upload,
    V,
    attribute,
    bulk_items,
    bulk_summary,
    csv,
    instant,
    iso_micro,
    iso_now,
    naive,
    project,
    sort_docs,
    truthy,
)
from milekit.sandbox.lookups import email_of, hub_of
from milekit.sandbox.settings import STORAGE
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

_SERVER_KEYS = (
    "_id",
    "data_type",
    "organizationId",
    "createdBy",
    "updatedBy",
    "createdTime",
    "updatedTime",
)
_EXPORT_MAX = 10_000  #: "direct mode is meant for < 10,000 rows" (note 44)
#: note 43: DELETE /datas/bulk takes up to 3000 items (the registry's ``bulk_max``, 2000, is
#: the limit of the other bulk calls, and what the client sends per call)
_BULK_DELETE_MAX = 3000


def routes(ctx: Ctx) -> list[Route]:
    t, d, x = DataTypes(ctx), Records(ctx), Exports(ctx)
    return [
        *resource_routes(
            t.spec,
            list=t.index,
            detail=t.get,
            create=t.create,
            update=t.put,
            patch=t.patch,
            delete=t.delete,
        ),
        *resource_routes(
            d.spec,
            list=d.index,
            detail=d.get,
            create=d.create,
            update=d.put,
            patch=d.patch,
            delete=d.delete,
            bulk_create=d.bulk_create,
            bulk_update=d.bulk_patch,
            bulk_delete=d.bulk_delete,
            bulk_upsert=d.bulk_upsert,
        ),
        Route("GET", "/data/type/{type}/{dataId}", d.get_by_type),
        Route("GET", "/data/hub/{hubId}/type/{type}/{dataId}", d.get_by_hub),
        Route("PUT", "/data/hub/{hubId}/type/{type}/{dataId}", d.put_by_hub),
        Route("DELETE", "/data/hub/{hubId}/type/{type}/{dataId}", d.delete_by_hub),
        Route("POST", "/data/import", x.import_data),
        *resource_routes(x.imports_spec, list=x.imports, detail=x.import_one),
        Route("POST", "/tasks/export", x.export_tasks),
        Route("POST", "/data/export", x.export_data),
        *resource_routes(x.logs_spec, list=x.export_log),
        *resource_routes(
            x.configs_spec,
            list=x.configs,
            detail=x.config,
            create=x.config_create,
            update=x.config_put,
            delete=x.config_delete,
        ),
    ]


def _type_of(field: Doc) -> str:
    return str(field.get("type") or field.get("inputType") or "string")


# --- data types ---------------------------------------------------------------------------


class DataTypes:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["data_types"]

    def index(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.spec)
        providers = set(csv(q.get("provider")) or ["internal"])
        if not providers <= {"internal", "external-api"}:
            raise HttpError(400, "The selected provider is invalid.")
        docs = [
            d
            for d in self.ctx.store.values("data_types")
            if d.get("provider", "internal") in providers
        ]
        fields = csv(q.get("fields"))
        if fields:
            docs = [project(d, fields, (self.spec.id_field,)) for d in docs]
        return listed(r, self.spec, docs, page, limit)

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("data_types", r.params["id"])
        return Response(200, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def _fields(self, v: V, raw: list[Any]) -> list[Doc]:
        out: list[Doc] = []
        seen: set[str] = set()
        for i, f in enumerate(raw):
            if not isinstance(f, dict):
                v.fail(f"The fields.{i} must be an object.")
            if not isinstance(f.get("id"), str) or not f["id"]:
                v.fail(f"The fields.{i}.id field is required.")
            if not isinstance(f.get("title"), str) or not f["title"]:
                v.fail(f"The fields.{i}.title field is required.")
            if f["id"] in seen:
                v.fail(f"The fields.{i}.id has a duplicate value.")
            seen.add(f["id"])
            field = {k: val for k, val in f.items() if k not in ("inputType", "isRequired")}
            field["type"] = _type_of(f)
            field["required"] = bool(f.get("required", f.get("isRequired", False)))
            field.setdefault("optionData", [])
            if not isinstance(field["optionData"], list):
                v.fail(f"The fields.{i}.option data must be an array.")
            out.append(field)
        if "dataId" not in seen and not any(f.get("primaryKey") for f in out):
            out.insert(
                0,
                {
                    "id": "dataId",
                    "title": "Data ID",
                    "type": "string",
                    "optionData": [],
                    "required": True,
                    "primaryKey": True,
                },
            )
        return out

    def _validate(self, body: Any, old: Doc | None, *, full: bool) -> tuple[Doc, list[str]]:
        v = V(body, required=self.spec.required_on_create if full else ())
        v.check_required()
        name = v.str_("name", max_len=255)
        if name is not None:
            for d in self.ctx.store.values("data_types"):
                if d["name"].lower() == name.lower() and (old is None or d["_id"] != old["_id"]):
                    v.fail("The name has already been taken.")
        raw = v.list_("fields")
        provider = v.str_("provider", enum=("internal", "external-api"))
        common = v.bool_("commonData")
        limit_user = v.bool_("limitUser")
        config = v.body.get("providerConfig")
        if config is not None and (
            not isinstance(config, dict) or not isinstance(config.get("url"), str)
        ):
            v.fail("The provider config.url field is required.")
        if old is not None:
            if provider is not None and provider != old.get("provider", "internal"):
                v.fail("The provider cannot be changed.")
            if common is not None and common != bool(old.get("commonData")):
                v.fail("The common data cannot be changed.")
        elif (provider or "internal") == "external-api" and config is None:
            v.fail("The provider config field is required when provider is external-api.")
        delete_fields = v.strings("deleteFields") or []
        out: Doc = {}
        if name is not None:
            out["name"] = name
        if raw is not None:
            out["fields"] = self._fields(v, raw)
        if old is None:
            out.update(
                limitUser=bool(limit_user),
                commonData=bool(common),
                provider=provider or "internal",
                providerConfig=config,
            )
        else:
            if limit_user is not None:
                out["limitUser"] = limit_user
            if "providerConfig" in v.body:
                out["providerConfig"] = config
        if delete_fields:
            fields: list[Doc] = out.get("fields") or (old["fields"] if old else [])
            out["fields"] = [
                f for f in fields if f["id"] not in delete_fields or f.get("primaryKey")
            ]
        return out, delete_fields

    def create(self, r: Request) -> Response:
        fields, _ = self._validate(r.body, None, full=True)
        stamp = naive(self.ctx.now())
        doc = {
            "_id": self.ctx.new_id(),
            **fields,
            "organizationId": self.ctx.org_id,
            "createdBy": email_of(self.ctx),
            "updatedBy": email_of(self.ctx),
            "createdTime": stamp,
            "updatedTime": stamp,
        }
        self.ctx.put(r, "data_types", doc, r.body)
        return Response(201, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def _update(self, r: Request, *, full: bool) -> Response:
        old = self.ctx.get("data_types", r.params["id"])
        fields, delete_fields = self._validate(r.body, old, full=full)
        now = self.ctx.now()
        doc = dict(old, **fields, updatedBy=email_of(self.ctx), updatedTime=naive(now))
        ops = [Op("put", "data_types", doc["_id"], doc, r.body)]
        renamed = doc["name"] != old["name"]
        if delete_fields or renamed:
            for rec in self.ctx.store.values("data"):
                if rec.get("dataTypeId") != doc["_id"]:
                    continue
                new = {k: val for k, val in rec.items() if k not in delete_fields or k == "dataId"}
                new["data_type"] = {"_id": doc["_id"], "name": doc["name"]}
                ops.append(Op("put", "data", rec["_id"], new, None))
        self.ctx.write(r, ops)
        return Response(200, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def put(self, r: Request) -> Response:
        return self._update(r, full=True)

    def patch(self, r: Request) -> Response:
        return self._update(r, full=False)

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("data_types", r.params["id"])
        ops = [Op("delete", "data_types", old["_id"], None, r.body)]
        ops += [
            Op("delete", "data", rec["_id"], None, None)
            for rec in self.ctx.store.values("data")
            if rec.get("dataTypeId") == old["_id"]
        ]
        self.ctx.write(r, ops)
        return Response(200, {"status": True, self.spec.envelope_one: old})


# --- records ------------------------------------------------------------------------------


class Records:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["data"]
        assert self.spec.bulk_key is not None
        self.bulk_key: str = self.spec.bulk_key

    def _type_by_name(self, name: str) -> Doc:
        doc = self.ctx.find("data_types", lambda d: d.get("name") == name)
        if doc is None:
            raise HttpError(404, "Data not found")
        return doc

    def _find(self, type_id: str, hub_id: str | None, data_id: str) -> Doc | None:
        return self.ctx.find(
            "data",
            lambda d: (
                d.get("dataTypeId") == type_id
                and d.get("dataId") == data_id
                and (hub_id is None or d.get("hubId") == hub_id)
            ),
        )

    # --- reads ----------------------------------------------------------------------------

    def index(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.spec)
        docs = self.ctx.store.values("data")
        if q.get("hubId"):
            hubs = set(csv(q["hubId"]))
            docs = [d for d in docs if d.get("hubId") in hubs]
        if q.get("dataId"):
            ids = set(csv(q["dataId"]))
            docs = [d for d in docs if d.get("dataId") in ids]
        if q.get("dataTypeId"):
            types = set(csv(q["dataTypeId"]))
            docs = [d for d in docs if d.get("dataTypeId") in types]
        if q.get("dataTypeName"):
            names = set(csv(q["dataTypeName"]))
            docs = [d for d in docs if (d.get("data_type") or {}).get("name") in names]
        if q.get("updatedTime"):
            since = instant(q["updatedTime"])
            if since is None:
                raise HttpError(400, "The updated time is not a valid date.")
            docs = [d for d in docs if (instant(str(d.get("updatedTime", ""))) or 0) >= since]
        if truthy(q.get("limitUser")) is not False:
            me = email_of(self.ctx)
            docs = [d for d in docs if not d.get("limitUser") or me in d["limitUser"]]
        docs = sort_listed(docs, q, self.spec, default_by="createdTime")
        fields = csv(q.get("fields"))
        if fields:
            docs = [project(d, fields, (self.spec.id_field,)) for d in docs]
        return listed(r, self.spec, docs, page, limit)

    def _one(self, doc: Doc, **extra: Any) -> Response:
        return Response(
            200, {"status": True, "message": "Success", self.spec.envelope_one: doc, **extra}
        )

    def get(self, r: Request) -> Response:
        return self._one(self.ctx.get("data", r.params["id"]))

    def get_by_type(self, r: Request) -> Response:
        dtype = self._type_by_name(r.params["type"])
        doc = self._find(dtype["_id"], None, r.params["dataId"])
        if doc is None:
            raise HttpError(404, "Data not found")
        return self._one(doc)

    def _by_hub(self, r: Request) -> Doc:
        dtype = self._type_by_name(r.params["type"])
        doc = self._find(dtype["_id"], r.params["hubId"], r.params["dataId"])
        if doc is None:
            raise HttpError(404, "Data not found")
        return doc

    def get_by_hub(self, r: Request) -> Response:
        return self._one(self._by_hub(r))

    # --- validation -----------------------------------------------------------------------

    def build(self, body: Any, old: Doc | None, *, full: bool, taken: set[tuple[Any, ...]]) -> Doc:
        """The record ``body`` describes (a new one, or ``old`` replaced/patched)."""
        if not isinstance(body, dict):
            raise HttpError(400, BAD_REQUEST)
        merged = body if full or old is None else dict(old, **body)
        v = V(merged, required=self.spec.required_on_create)
        v.check_required()
        data_id = v.str_("dataId", max_len=255)
        type_id = v.str_("dataTypeId")
        assert data_id is not None and type_id is not None
        dtype = self.ctx.store.get("data_types", type_id)
        if dtype is None:
            v.fail("The selected data type id is invalid.")
        hub_id = merged.get("hubId")
        if not dtype.get("commonData"):
            v.required("hubId")  # note 43: required unless the type is commonData
        if hub_id is not None:
            hub_of(self.ctx, hub_id)
        key = (type_id, hub_id if not dtype.get("commonData") else None, data_id)
        clash = self._find(type_id, key[1], data_id)
        if (clash is not None and (old is None or clash["_id"] != old["_id"])) or (
            key in taken
            and (old is None or (old["dataTypeId"], old.get("hubId"), old["dataId"]) != key)
        ):
            v.fail("The data id has already been taken.")
        taken.add(key)
        limit_user = merged.get("limitUser")
        if limit_user is not None and not (
            isinstance(limit_user, list) and all(isinstance(x, str) for x in limit_user)
        ):
            v.fail("The limit user must be an array.")
        values = {k: val for k, val in merged.items() if k not in _SERVER_KEYS}
        _check_fields(v, dtype, values, new=full or old is None)
        now = naive(self.ctx.now())
        doc: Doc = {"_id": old["_id"] if old else self.ctx.new_id(), **values}
        doc["data_type"] = {"_id": dtype["_id"], "name": dtype["name"]}
        doc.update(
            organizationId=self.ctx.org_id,
            createdBy=old.get("createdBy", email_of(self.ctx)) if old else email_of(self.ctx),
            updatedBy=email_of(self.ctx),
            createdTime=old.get("createdTime", now) if old else now,
            updatedTime=now,
        )
        return doc

    # --- single writes --------------------------------------------------------------------

    def create(self, r: Request) -> Response:
        doc = self.build(r.body, None, full=True, taken=set())
        self.ctx.put(r, "data", doc, r.body)
        return Response(201, {"status": True, "message": "Success", self.spec.envelope_one: doc})

    def _replace(self, r: Request, old: Doc, *, full: bool) -> Response:
        doc = self.build(r.body, old, full=full, taken=set())
        self.ctx.put(r, "data", doc, r.body)
        return self._one(doc)

    def put(self, r: Request) -> Response:
        return self._replace(r, self.ctx.get("data", r.params["id"]), full=True)

    def patch(self, r: Request) -> Response:
        return self._replace(r, self.ctx.get("data", r.params["id"]), full=False)

    def put_by_hub(self, r: Request) -> Response:
        return self._replace(r, self._by_hub(r), full=True)

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("data", r.params["id"])
        self.ctx.remove(r, "data", old, r.body)
        return Response(200, {"status": True, self.spec.envelope_one: old})

    def delete_by_hub(self, r: Request) -> Response:
        old = self._by_hub(r)
        self.ctx.remove(r, "data", old, r.body)
        return self._one(old)

    # --- bulk -----------------------------------------------------------------------------

    def bulk_create(self, r: Request) -> Response:
        return Response(201, self._bulk_put(r, upsert=False))

    def _match(self, item: Any) -> Doc | None:
        """The record a bulk item means: by ``dataId`` + ``dataTypeId`` (+ ``hubId``)."""
        if not isinstance(item, dict):
            return None
        type_id, data_id = item.get("dataTypeId"), item.get("dataId")
        if not isinstance(type_id, str) or not isinstance(data_id, str):
            return None
        dtype = self.ctx.store.get("data_types", type_id)
        hub = None if dtype is None or dtype.get("commonData") else item.get("hubId")
        return self._find(type_id, hub, data_id)

    def bulk_upsert(self, r: Request) -> Response:
        return Response(200, self._bulk_put(r, upsert=True))

    def _bulk_put(self, r: Request, *, upsert: bool) -> Doc:
        """Create every item (``upsert``: or update the record its keys match), item by item."""
        items = bulk_items(r.body, self.bulk_key, self.spec.bulk_max)
        ops: list[Op] = []
        results: list[Doc] = []
        taken: set[tuple[Any, ...]] = set()
        with self.ctx.store.lock:
            for item in items:
                old = self._match(item) if upsert else None
                try:
                    doc = self.build(item, old, full=old is None, taken=taken)
                except HttpError as e:
                    results.append({"status": False, "message": e.message})
                    continue
                ops.append(Op("put", "data", doc["_id"], doc, item))
                if not upsert:
                    results.append({"status": True, "message": "Success.", "_id": doc["_id"]})
                    continue
                event = "update" if old else "create"
                message = f"Data has been {event}d successfully."
                results.append(
                    {"status": True, "message": message, "event": event, "_id": doc["_id"]}
                )
            self.ctx.write(r, ops)
        return bulk_summary(results, self.bulk_key)

    def bulk_patch(self, r: Request) -> Response:
        items = bulk_items(r.body, self.bulk_key, self.spec.bulk_max)
        ops: list[Op] = []
        results: list[Doc] = []
        with self.ctx.store.lock:
            for item in items:
                old = self._match(item)
                if old is None:
                    results.append({"status": False, "message": "Data not found"})
                    continue
                try:
                    doc = self.build(item, old, full=False, taken=set())
                except HttpError as e:
                    results.append({"status": False, "_id": old["_id"], "message": e.message})
                    continue
                ops.append(Op("put", "data", doc["_id"], doc, item))
                results.append({"status": True, "message": "Success.", "_id": doc["_id"]})
            self.ctx.write(r, ops)
        return Response(200, bulk_summary(results, self.bulk_key))

    def bulk_delete(self, r: Request) -> Response:
        items = bulk_items(r.body, self.bulk_key, _BULK_DELETE_MAX)
        ops: list[Op] = []
        results: list[Doc] = []
        gone: set[str] = set()
        with self.ctx.store.lock:
            for item in items:
                rid = item.get("_id") if isinstance(item, dict) else None
                if not isinstance(rid, str) or not rid:
                    results.append({"status": False, "message": "The _id field is required."})
                elif rid in gone or self.ctx.store.get("data", rid) is None:
                    results.append({"status": False, "_id": rid, "message": "Data not found"})
                else:
                    gone.add(rid)
                    ops.append(Op("delete", "data", rid, None, item))
                    results.append({"status": True, "message": "Success.", "_id": rid})
            self.ctx.write(r, ops)
        return Response(200, bulk_summary(results, self.bulk_key))


# --- exports, the export log, export configs, imports -------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value


class Exports:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.records = Records(ctx)
        self.logs_spec = RESOURCES["export_logs"]
        self.configs_spec = RESOURCES["export_configs"]
        self.imports_spec = RESOURCES["import_monitoring"]

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
            return Response(
                200,
                {
                    "status": True,
                    "message": "Export queued for background processing. "
                    "Check status at GET /tasks/export-log",
                    "total_data_be": 0,
                    "data": data,
                },
            )
        data.update(link=url, status="Done")
        body: Doc = {"status": True, "message": "Success", "total_data_be": len(docs)}
        if chunk:
            body.update(last_id=str(chunk[-1].get("_id", "")), last_field=fields[-1])
        body["data"] = data
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
        return Response(
            200,
            {
                "status": True,
                "message": "Success",
                "total": len(hits),
                self.logs_spec.envelope_list: hits[(page - 1) * limit : page * limit],
                "params": {
                    "from": (page - 1) * limit,
                    "size": limit,
                    "query": {"bool": {"must": must}},
                    "sort": [{by: {"order": order}}],
                },
            },
        )

    # --- export configs -------------------------------------------------------------------

    def configs(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.configs_spec)
        docs = self.ctx.store.values("export_configs")
        if q.get("collection"):
            docs = [d for d in docs if d.get("collection") == q["collection"]]
        if q.get("name"):
            needle = q["name"].lower()
            docs = [d for d in docs if needle in d.get("name", "").lower()]
        docs = sort_listed(docs, q, self.configs_spec, default_by="createdTime")
        return listed(r, self.configs_spec, docs, page, limit, message="Success.", code=True)

    def _config_answer(self, status: int, message: str, doc: Doc) -> Response:
        return Response(
            status,
            {
                "status": True,
                "code": status,
                "message": message,
                self.configs_spec.envelope_one: doc,
            },
        )

    def config(self, r: Request) -> Response:
        return self._config_answer(200, "Success.", self.ctx.get("export_configs", r.params["id"]))

    def _config_fields(self, body: Any, old: Doc | None) -> Doc:
        v = V(body, required=self.configs_spec.required_on_create)
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

    def config_create(self, r: Request) -> Response:
        fields = self._config_fields(r.body, None)
        stamp = iso_micro(self.ctx.now())
        doc = {
            "_id": self.ctx.new_id(),
            **fields,
            "organizationId": self.ctx.org_id,
            "createdTime": stamp,
            "updatedTime": stamp,
        }
        self.ctx.put(r, "export_configs", doc, r.body)
        return self._config_answer(201, "Export Config has been added successfully.", doc)

    def config_put(self, r: Request) -> Response:
        old = self.ctx.get("export_configs", r.params["id"])
        fields = self._config_fields(r.body, old)
        doc = dict(old, **fields, updatedTime=iso_micro(self.ctx.now()))
        self.ctx.put(r, "export_configs", doc, r.body)
        return self._config_answer(200, "Export Config has been updated successfully.", doc)

    def config_delete(self, r: Request) -> Response:
        old = self.ctx.get("export_configs", r.params["id"])
        self.ctx.remove(r, "export_configs", old, r.body)
        return self._config_answer(200, "Export Config has been deleted successfully.", old)

    # --- imports --------------------------------------------------------------------------

    @staticmethod
    def _ierr(status: int, message: str, code: str) -> HttpError:
        return HttpError(status, message, extra={"failedCode": code})

    def imports(self, r: Request) -> Response:
        q = r.query
        page, limit = paging(q, self.imports_spec)
        docs = self.ctx.store.values("import_monitoring")
        if q.get("type"):
            kinds = set(csv(q["type"]))
            if not kinds <= {"datasource", "task", "visit", "route"}:
                raise self._ierr(400, "Invalid type value", "import-003")
            docs = [d for d in docs if d.get("type") in kinds]
        if q.get("status"):
            statuses = set(csv(q["status"]))
            if not statuses <= {"onprocess", "success", "partially", "failed"}:
                raise self._ierr(400, "Invalid status value", "import-003")
            docs = [d for d in docs if d.get("status") in statuses]
        if q.get("dataTypeId"):
            docs = [d for d in docs if d.get("dataTypeId") == q["dataTypeId"]]
        docs = sort_listed(docs, q, self.imports_spec, default_by="createdTime")
        return listed(r, self.imports_spec, docs, page, limit)

    def import_one(self, r: Request) -> Response:
        doc = self.ctx.store.get("import_monitoring", r.params["id"])
        if doc is None:
            raise self._ierr(404, "Import monitoring record not found", "import-004")
        return Response(
            200, {"status": True, "message": "Success", self.imports_spec.envelope_one: doc}
        )

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
        return Response(200, {"status": True, "message": message, "data": queued})

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
            old = self.records._match(item)
            try:
                doc = self.records.build(item, old, full=old is None, taken=taken)
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
        kind = _type_of(f)
        if kind == "number":
            try:
                num = float(val)
            except ValueError:
                continue
            item[f["id"]] = int(num) if num.is_integer() else num
        elif kind == "boolean" and truthy(val) is not None:
            item[f["id"]] = truthy(val)


def _check_fields(v: V, dtype: Doc, values: Doc, *, new: bool) -> None:
    """A record's values against its data type's fields: required ones present (on a whole
    record), numbers numeric, booleans read from their spellings, options among theirs."""
    for f in dtype.get("fields") or []:
        fid = f["id"]
        if fid == "dataId":
            continue
        val = values.get(fid)
        name = attribute(fid)
        if val is None or val == "":
            if f.get("required") and new:
                v.fail(f"The {name} field is required.")
            continue
        kind = _type_of(f)
        if kind == "number" and (isinstance(val, bool) or not isinstance(val, (int, float))):
            v.fail(f"The {name} must be a number.")
        if kind == "boolean":
            b = truthy(val)
            if b is None:
                v.fail(f"The {name} field must be true or false.")
            values[fid] = b
        options = f.get("optionData") or []
        if options and val not in options:
            v.fail(f"The selected {name} is invalid.")
