"""Data source records (tag Data Source), validated against their data type.

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
registry. Exports of records are :mod:`~milekit.sandbox.resources.export_task`, imports
:mod:`~milekit.sandbox.resources.data_import`.
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource, envelope
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
    instant,
    naive,
    truthy,
)
from milekit.sandbox.lookups import email_of, hub_of
from milekit.sandbox.resources.data_type import field_kind
from milekit.sandbox.store import Doc, Op

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
    d = Records(ctx)
    return [
        *d.routes(
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


class Records(StoredResource):
    """Data source records, validated against their data type; written in bulk too."""

    name = "data"
    filters = (
        Filter("hubId"),
        Filter("dataId"),
        Filter("dataTypeId"),
        Filter("dataTypeName", "in", ("data_type.name",)),
    )
    deleted = Answer("status item")

    def __init__(self, ctx: Ctx) -> None:
        super().__init__(ctx)
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

    def listing(self, r: Request) -> list[Doc]:
        q = r.query
        docs = super().listing(r)
        if q.get("updatedTime"):
            since = instant(q["updatedTime"])
            if since is None:
                raise HttpError(400, "The updated time is not a valid date.")
            docs = [d for d in docs if (instant(str(d.get("updatedTime", ""))) or 0) >= since]
        if truthy(q.get("limitUser")) is not False:
            me = email_of(self.ctx)
            docs = [d for d in docs if not d.get("limitUser") or me in d["limitUser"]]
        return docs

    def _one(self, doc: Doc) -> Response:
        return Response(200, self.got.body(self.spec.envelope_one, doc))

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

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        return self.record(r.body, old, full=full, taken=set())

    def record(self, body: Any, old: Doc | None, *, full: bool, taken: set[tuple[Any, ...]]) -> Doc:
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

    def put_by_hub(self, r: Request) -> Response:
        return self._write(r, self._by_hub(r), self.updated, full=True)

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
                    doc = self.record(item, old, full=old is None, taken=taken)
                except HttpError as e:
                    results.append({"status": False, "message": e.message})
                    continue
                ops.append(Op("put", "data", doc["_id"], doc, item))
                if not upsert:
                    results.append(_done(doc["_id"]))
                    continue
                event = "update" if old else "create"
                message = f"Data has been {event}d successfully."
                results.append(_done(doc["_id"], message, event=event))
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
                    doc = self.record(item, old, full=False, taken=set())
                except HttpError as e:
                    results.append({"status": False, "_id": old["_id"], "message": e.message})
                    continue
                ops.append(Op("put", "data", doc["_id"], doc, item))
                results.append(_done(doc["_id"]))
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
                    results.append(_done(rid))
            self.ctx.write(r, ops)
        return Response(200, bulk_summary(results, self.bulk_key))


def _done(id_: str, message: str = "Success.", *, event: str | None = None) -> Doc:
    """A bulk item's result: done (``event``: created or updated, where it upserts)."""
    layout = "status message _id" if event is None else "status message event _id"
    return envelope(layout, message=message, _id=id_, event=event)


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
