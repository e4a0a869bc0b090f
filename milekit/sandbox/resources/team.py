"""Teams (tag Team): groups of users in a hub.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("POST", "/api/v3/team", {"name": "Night Shift"})
>>> status, body
(400, {'status': False, 'message': 'The hub id field is required.'})

Teams list as a Laravel paginator under ``data`` (note 48); a deleted team leaves its
users' ``teamId`` lists. Paths, envelope keys and required fields come from the registry.
"""

from __future__ import annotations

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource
from milekit.sandbox.http import Request, Route, V, iso_micro
from milekit.sandbox.lookups import hub_of
from milekit.sandbox.store import Doc, Op

_NOT_FOUND_LOWER = "data not found"  # the team examples spell it in lower case


def routes(ctx: Ctx) -> list[Route]:
    return Teams(ctx).routes()


class Teams(StoredResource):
    name = "teams"
    order = None
    filters = (Filter("hubId"),)
    not_found = _NOT_FOUND_LOWER
    listed = got = Answer("item status code")
    created = Answer("status item code message", "Data successfully created.", 201)
    updated = Answer("status code message property", "Data successfully updated.")
    deleted = Answer("status code message item", "Data successfully deleted.")

    def _validate(self, r: Request, old: Doc | None) -> tuple[str, str]:
        v = V(r.body, required=self.spec.required_on_create)
        name = v.str_("name", max_len=255)
        hub_id = v.str_("hubId")
        v.check_required()
        assert name is not None and hub_id is not None
        hub_of(self.ctx, hub_id)
        for t in self.ctx.store.values("teams"):
            same = t.get("name", "").lower() == name.lower() and t.get("hubId") == hub_id
            if same and (old is None or t["_id"] != old["_id"]):
                v.fail("The name has already been taken.")
        return name, hub_id

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        name, hub_id = self._validate(r, old)
        if old is not None:
            return dict(old, name=name, hubId=hub_id, updatedTime=iso_micro(self.ctx.now()))
        stamp = iso_micro(self.ctx.now())
        return {
            "_id": self.ctx.new_id(),
            "name": name,
            "hubId": hub_id,
            "totalUser": 0,
            "organizationId": self.ctx.org_id,
            "createdTime": stamp,
            "updatedTime": stamp,
        }

    def removals(self, r: Request, old: Doc) -> list[Op]:
        """The team leaves its users' ``teamId`` lists too."""
        ops = super().removals(r, old)
        for u in self.ctx.store.values("users"):
            if old["_id"] in (u.get("teamId") or []):
                team_ids = [t for t in u["teamId"] if t != old["_id"]]
                ops.append(Op("put", "users", u["_id"], dict(u, teamId=team_ids)))
        return ops
