"""App integrations (tag App Integration): single sign-on settings, created from
multipart forms with a certificate file.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/app-integrations")
>>> status, sorted(body["data"])[:2]
(200, ['current_page', 'data'])

They list as a Laravel paginator under ``data`` (notes 47-48); the certificate is stored
by :func:`~milekit.sandbox.files.store_file`. Paths, envelope keys, id and required
fields come from the registry.
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx, form_missing
from milekit.sandbox.files import store_file
from milekit.sandbox.generic import Answer, Filter, StoredResource
from milekit.sandbox.http import (
    HttpError,
    Request,
    Route,
    attribute,
    iso_micro,
)
from milekit.sandbox.store import Doc


def routes(ctx: Ctx) -> list[Route]:
    return AppIntegrations(ctx).routes()


class AppIntegrations(StoredResource):
    """Azure SAML SSO settings; created and updated with multipart forms (a certificate file)."""

    name = "app_integrations"
    filters = (Filter("integrationType"),)
    listed = got = Answer("status code message item", "Success.")
    created = Answer("status code message item", "Integration has been added successfully.", 201)
    updated = Answer("status code message item", "Integration has been updated successfully.")
    deleted = Answer("status code message item", "Integration has been deleted successfully.")

    def _form(self, r: Request, iid: str) -> tuple[str, str, str]:
        form = r.form or (r.body if isinstance(r.body, dict) else {})
        kind = str(form.get("integrationType") or "azure")
        if kind != "azure":
            raise HttpError(400, "The selected integration type is invalid.")
        url = form.get("azureAuthUrl")
        if not url:
            raise HttpError(400, "The azure auth url field is required.")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise HttpError(400, "The azure auth url must be a valid URL.")
        cert = r.files.get("azureCert")
        if cert is None:
            raise HttpError(400, "The azure cert field is required.")
        if not cert.filename.lower().endswith((".cer", ".crt", ".pem")):
            raise HttpError(400, "The azure cert must be a file of type: cer, crt, pem.")
        missing = form_missing(self.spec, r)
        if missing is not None:
            raise HttpError(400, f"The {attribute(missing)} field is required.")
        cert_url = store_file(self.ctx, r, f"app-integrations/{iid}", cert.filename, cert.data)
        return kind, url, cert_url

    def sent(self, r: Request) -> Any:
        return r.form

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        iid = self.ctx.new_id() if old is None else old["_id"]
        kind, url, cert_url = self._form(r, iid)
        stamp = iso_micro(self.ctx.now())
        if old is not None:
            return dict(
                old, integrationType=kind, azureAuthUrl=url, azureCert=cert_url, updatedTime=stamp
            )
        return {
            "_id": iid,
            "integrationType": kind,
            "azureAuthUrl": url,
            "azureCert": cert_url,
            "organizationId": self.ctx.org_id,
            "createdTime": stamp,
            "updatedTime": stamp,
        }
