"""Hubs (tag Hub): the organisation's depots.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/hubs?limit=1")
>>> status, len(body["data"])
(200, 1)

Hubs list as a plain array, though paged (note 35); updates answer under ``property``
(note 1). Paths, envelope keys and required fields come from the registry.
"""

from __future__ import annotations

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource
from milekit.sandbox.http import HttpError, Request, Route, V, iso_micro, truthy
from milekit.sandbox.lookups import api_user
from milekit.sandbox.store import Doc, Op

_NOT_FOUND_LOWER = "data not found"  # the hub examples spell it in lower case


def routes(ctx: Ctx) -> list[Route]:
    return Hubs(ctx).routes()


class Hubs(StoredResource):
    """``{"data": [...hubs], "status": true}``: a plain array, though paged (note 35)."""

    name = "hubs"
    order = ("name", "asc")
    filters = (Filter("name", "contains"), Filter("q", "contains", ("name", "address")))
    listed = got = Answer("item status")
    created = Answer("status item")
    updated = Answer("status property message", "Success")
    deleted = Answer("status")

    def listing(self, r: Request) -> list[Doc]:
        docs = super().listing(r)
        if truthy(r.query.get("byUser")):
            mine = set(api_user(self.ctx).get("hubId") or [])
            docs = [h for h in docs if h["_id"] in mine]
        return docs

    def target(self, id_: str) -> Doc:
        return self.ctx.get("hubs", id_, _NOT_FOUND_LOWER)

    def _validate(self, r: Request) -> Doc:
        v = V(r.body, required=self.spec.required_on_create)
        name = v.str_("name", max_len=255)
        address = v.str_("address")
        lat = v.num("lat")
        lng = v.num("lng")
        v.check_required()
        assert name is not None and lat is not None and lng is not None
        if not -90 <= lat <= 90:
            v.fail("The lat must be between -90 and 90.")
        if not -180 <= lng <= 180:
            v.fail("The lng must be between -180 and 180.")
        return {"name": name, "address": address, "lat": lat, "lng": lng}

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        fields = self._validate(r)
        if old is not None:
            return dict(old, **fields, updatedTime=iso_micro(self.ctx.now()))
        stamp = iso_micro(self.ctx.now())
        sample = next(iter(self.ctx.store.values("hubs")), {})
        doc: Doc = {"_id": self.ctx.new_id(), **fields}
        if "country" in sample:
            doc.update(country=sample["country"], countryCode=sample.get("countryCode"))
        doc.update(
            organizationId=self.ctx.org_id,
            deleteAccess=True,
            createdTime=stamp,
            updatedTime=stamp,
        )
        return doc

    def removals(self, r: Request, old: Doc) -> list[Op]:
        if not old.get("deleteAccess", True):
            raise HttpError(400, "This hub cannot be deleted.")
        return super().removals(r, old)
