"""Data types (tag Data Type): the fields of a data source's records.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/data-types")
>>> status, "Customer" in [t["name"] for t in body["data_types"]["data"]]
(200, True)

A type's records follow its rename and lose the fields it drops, and go with it. Paths,
envelope keys, paging parameters, id and required fields are read from the registry.
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, StoredResource
from milekit.sandbox.http import (
    HttpError,
    Request,
    Route,
    V,
    csv,
    naive,
)
from milekit.sandbox.lookups import email_of
from milekit.sandbox.store import Doc, Op


def routes(ctx: Ctx) -> list[Route]:
    return DataTypes(ctx).routes()


def field_kind(field: Doc) -> str:
    """A data type field's kind: its ``type`` (or ``inputType``), "string" by default.

    >>> field_kind({"id": "tier", "inputType": "number"}), field_kind({"id": "x"})
    ('number', 'string')
    """
    return str(field.get("type") or field.get("inputType") or "string")


class DataTypes(StoredResource):
    """Data types: their records follow a rename or a removed field, and go with them."""

    name = "data_types"
    order = None
    deleted = Answer("status item")

    def listing(self, r: Request) -> list[Doc]:
        providers = set(csv(r.query.get("provider")) or ["internal"])
        if not providers <= {"internal", "external-api"}:
            raise HttpError(400, "The selected provider is invalid.")
        return [d for d in self.documents(r) if d.get("provider", "internal") in providers]

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

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        fields, _ = self._validate(r.body, old, full=full)
        if old is not None:
            now = naive(self.ctx.now())
            return dict(old, **fields, updatedBy=email_of(self.ctx), updatedTime=now)
        stamp = naive(self.ctx.now())
        return {
            "_id": self.ctx.new_id(),
            **fields,
            "organizationId": self.ctx.org_id,
            "createdBy": email_of(self.ctx),
            "updatedBy": email_of(self.ctx),
            "createdTime": stamp,
            "updatedTime": stamp,
        }

    def ops(self, r: Request, old: Doc | None, doc: Doc) -> list[Op]:
        """The type, and its records where it is renamed or loses fields."""
        ops = super().ops(r, old, doc)
        if old is None:
            return ops
        delete_fields: list[str] = r.body.get("deleteFields") or []
        if delete_fields or doc["name"] != old["name"]:
            for rec in self.ctx.store.values("data"):
                if rec.get("dataTypeId") != doc["_id"]:
                    continue
                new = {k: val for k, val in rec.items() if k not in delete_fields or k == "dataId"}
                new["data_type"] = {"_id": doc["_id"], "name": doc["name"]}
                ops.append(Op("put", "data", rec["_id"], new, None))
        return ops

    def removals(self, r: Request, old: Doc) -> list[Op]:
        return super().removals(r, old) + [
            Op("delete", "data", rec["_id"], None, None)
            for rec in self.ctx.store.values("data")
            if rec.get("dataTypeId") == old["_id"]
        ]
