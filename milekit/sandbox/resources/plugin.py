"""Plugins (tag Plugin): add-ons of the field app, created from multipart forms.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/plugins")
>>> status, [p["name"] for p in body["data"]["data"]]
(200, ['Barcode Checker', 'COD Calculator', 'Route Helper', 'Signature Pad Pro'])

They list as a Laravel paginator under ``data`` (note 48); an update may come as
Laravel's method spoofing (``POST`` with ``_method=PUT``); uploads are stored by
:func:`~milekit.sandbox.files.store_file`. Paths, envelope keys, paging and sort
parameters, id and required fields come from the registry.
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx, form_missing
from milekit.sandbox.files import store_file
from milekit.sandbox.generic import Answer, Filter, StoredResource
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    attribute,
    is_object_id,
    iso_micro,
)
from milekit.sandbox.lookups import email_of
from milekit.sandbox.store import Doc

_FORBIDDEN = "You do not have permission to perform this action"


_PLUGIN_SORT = ("name", "createdTime", "updatedTime", "usageCount")


_PLUGIN_STATUS = ("active", "inactive", "draft")


_PLUGIN_MAX_PAGE = 1000  #: note 48: page ≤1000


_CREATED = "Plugin has been created successfully."


_UPDATED = "Plugin has been updated successfully."


_DELETED = "Plugin has been deleted successfully."


def routes(ctx: Ctx) -> list[Route]:
    plugins = Plugins(ctx)
    return [
        *plugins.routes(),
        # Laravel's method spoofing of the plugin update (multipart with _method=PUT)
        Route("POST", "/plugin/{id}", plugins.update_spoofed),
    ]


class Plugins(StoredResource):
    """Add-ons: documents keyed by ``id`` (the registry's ``id_field``, not ``_id``);
    errors carry ``failedCode``."""

    name = "plugins"
    filters = (Filter("status", "eq"), Filter("q", "contains", ("name", "description")))
    max_page = _PLUGIN_MAX_PAGE
    created = Answer("status message item", _CREATED, 201)
    updated = Answer("status message item", _UPDATED)
    deleted = Answer("status message item", _DELETED)

    @staticmethod
    def _err(status: int, message: str, code: str) -> HttpError:
        return HttpError(status, message, extra={"failedCode": code})

    def documents(self, r: Request) -> list[Doc]:
        """The organisation's plugins and the system's."""
        orgs = (self.ctx.org_id, "system")
        return [d for d in self.ctx.store.values("plugins") if d.get("organizationId") in orgs]

    def listing(self, r: Request) -> list[Doc]:
        q = r.query
        by_param, order_param = self.spec.sort_params
        sort_by = (q.get(by_param) if by_param else None) or "createdTime"
        if sort_by not in _PLUGIN_SORT:
            raise self._err(
                400, f"The selected {attribute(by_param or '')} is invalid.", "cmod-017"
            )
        order = q.get(order_param) if order_param else None
        if (order or "desc").lower() not in ("asc", "desc"):
            raise self._err(
                400, f"The selected {attribute(order_param or '')} is invalid.", "cmod-017"
            )
        if q.get("status") and q["status"] not in _PLUGIN_STATUS:
            raise self._err(400, "The selected status is invalid.", "cmod-017")
        if len(q.get("q", "")) > 255:
            raise self._err(400, "The q may not be greater than 255 characters.", "cmod-016")
        return super().listing(r)

    def one(self, id_: str) -> Doc:
        doc = self.ctx.store.get("plugins", id_) if is_object_id(id_) else None
        if doc is None:
            raise self._err(404, "Plugin not found", "cmod-033")
        return doc

    def target(self, id_: str) -> Doc:
        """Only the organisation's own plugins are written to."""
        doc = self.one(id_)
        if doc.get("organizationId") != self.ctx.org_id:
            raise self._err(403, _FORBIDDEN, "auth-003")
        return doc

    def sent(self, r: Request) -> Any:
        return r.form

    def _name_desc(self, r: Request, old: Doc | None) -> tuple[str, str]:
        form = r.form
        name = form.get("name", "").strip()
        if not name:
            raise self._err(400, "The name field is required.", "cmod-001")
        if not 3 <= len(name) <= 100:
            raise self._err(400, "The name must be between 3 and 100 characters.", "cmod-016")
        description = form.get("description", "")
        if not description:
            raise self._err(400, "The description field is required.", "cmod-001")
        for d in self.ctx.store.values("plugins"):
            key = self.spec.id_field
            if d["name"].lower() == name.lower() and (old is None or d[key] != old[key]):
                raise self._err(409, "The name has already been taken.", "cmod-031")
        return name, description

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        if old is not None:
            return self._changed(r, old)
        name, description = self._name_desc(r, None)
        js = r.files.get("resourceFile")
        if js is None:
            raise self._err(400, "The resource file field is required.", "cmod-001")
        if not js.filename.lower().endswith(".js"):
            raise self._err(415, "The resource file must be a file of type: js.", "cmod-015")
        if len(js.data) > 5 * 1024 * 1024:
            raise self._err(
                413, "The resource file may not be greater than 5120 kilobytes.", "cmod-015"
            )
        if not js.data.strip():
            raise self._err(422, "The resource file is empty.", "cmod-015")
        icon = r.files.get("icon")
        if icon is not None:
            if not icon.filename.lower().endswith(".svg"):
                raise self._err(415, "The icon must be a file of type: svg.", "cmod-015")
            if len(icon.data) > 500 * 1024:
                raise self._err(413, "The icon may not be greater than 500 kilobytes.", "cmod-015")
        missing = form_missing(self.spec, r)
        if missing is not None:
            raise self._err(400, f"The {attribute(missing)} field is required.", "cmod-001")
        pid = self.ctx.new_id()
        stamp = iso_micro(self.ctx.now())
        me = email_of(self.ctx)
        doc = {
            self.spec.id_field: pid,
            "name": name,
            "description": description,
            "resourceFile": js.filename,
            "icon": store_file(self.ctx, r, f"plugins/{pid}", icon.filename, icon.data)
            if icon is not None
            else None,
            "organizationId": self.ctx.org_id,
            "organizationName": self.ctx.store.meta["organization"]["name"],
            "resourceUrl": store_file(self.ctx, r, f"plugins/{pid}", js.filename, js.data),
            "isUsed": False,
            "customModuleId": None,
            "status": "draft",
            "usageCount": 0,
            "createdBy": me,
            "updatedBy": None,
            "createdTime": stamp,
            "updatedTime": stamp,
        }
        return doc

    def _changed(self, r: Request, old: Doc) -> Doc:
        if r.method == "PUT" and r.form.get("_method", "PUT").upper() != "PUT":
            raise self._err(400, "The selected method is invalid.", "cmod-017")
        name, description = self._name_desc(r, old)
        return dict(
            old,
            name=name,
            description=description,
            updatedBy=email_of(self.ctx),
            updatedTime=iso_micro(self.ctx.now()),
        )

    def update_spoofed(self, r: Request) -> Response:
        """Laravel method spoofing: ``POST /plugin/{id}`` with ``_method=PUT``."""
        if r.form.get("_method", "").upper() != "PUT":
            raise HttpError(
                405,
                "The POST method is not supported for this route.",
                [("Allow", "GET, PUT, DELETE")],
            )
        return self.update(r)

    def removed(self, old: Doc) -> Doc:
        return {"deletedPluginId": old[self.spec.id_field], "deletedAt": iso_micro(self.ctx.now())}
