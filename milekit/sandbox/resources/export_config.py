"""Export configs (tag Export Config): the saved field choices of task exports.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/export-configs")
>>> status, [c["name"] for c in body["data"]["data"]]
(200, ['Visit Summary', 'Daily Delivery Report'])

Paths, envelope keys, paging and sort parameters and required fields are read from the
registry.
"""

from __future__ import annotations

import copy
from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource
from milekit.sandbox.http import (
    Request,
    Route,
    V,
    iso_micro,
)
from milekit.sandbox.store import Doc


def routes(ctx: Ctx) -> list[Route]:
    return ExportConfigs(ctx).routes()


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
