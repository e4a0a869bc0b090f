"""Data sources: data types and their records.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/data/type/Customer/CUST-0001")
>>> status, body["data"]["data_type"]["name"]
(200, 'Customer')

Records are validated against their data type (required fields, numbers, booleans,
option lists); ``dataId`` is unique per (type, hub). Paths, envelope keys, paging and
sort parameters, bulk keys and maxima, id and required fields are read from the
registry. Exports and imports of records are :mod:`~milekit.sandbox.exports`.
"""

from __future__ import annotations

from typing import Any

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
    V,
    attribute,
    bulk_items,
    bulk_summary,
    csv,
    instant,
    naive,
    project,
    truthy,
)
from milekit.sandbox.lookups import email_of, hub_of
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
#: note 43: DELETE /datas/bulk takes up to 3000 items (the registry's ``bulk_max``, 2000, is
#: the limit of the other bulk calls, and what the client sends per call)
_BULK_DELETE_MAX = 3000


def routes(ctx: Ctx) -> list[Route]:
    t, d = DataTypes(ctx), Records(ctx)
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
    ]


def field_kind(field: Doc) -> str:
    """A data type field's kind: its ``type`` (or ``inputType``), "string" by default.

    >>> field_kind({"id": "tier", "inputType": "number"}), field_kind({"id": "x"})
    ('number', 'string')
    """
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
            field["type"] = field_kind(f)
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

    def match(self, item: Any) -> Doc | None:
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
                old = self.match(item) if upsert else None
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
                old = self.match(item)
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
        kind = field_kind(f)
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
