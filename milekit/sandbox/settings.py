"""Settings endpoints: users and members, teams, roles and hubs.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("POST", "/api/v3/team", {"name": "Night Shift"})
>>> status, body
(400, {'status': False, 'message': 'The hub id field is required.'})

Paths, envelope keys, paging and sort parameters, id fields and required fields come
from the registry (:data:`milekit.types.registry.RESOURCES`), which follows MileApp's OpenAPI
file and docs/api-notes.md (notes 47-48): hubs list as a plain array, teams as a Laravel
paginator under ``data``. Updates of hubs/users/teams answer under ``property`` (note 1),
spelt out here. App integrations and plugins are :mod:`~milekit.sandbox.integrations`,
stored files :mod:`~milekit.sandbox.files`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

from milekit.sandbox.common import (
    Ctx,
    laravel,
    paging,
    resource_routes,
    sort_listed,
)
from milekit.sandbox.http import (
    HttpError,
    Request,
    Response,
    Route,
    V,
    csv,
    iso_micro,
    iso_now,
    project,
    truthy,
)
from milekit.sandbox.lookups import api_user, hub_of, user_by_email
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

_NOT_FOUND_LOWER = "data not found"  # hub and team examples spell it in lower case
_PRIVATE_USER_KEYS = ("personalToken",)
#: active, inactive, pending, disabled, reject: the contract's users' statuses
_USER_STATUSES = RESOURCES["users"].field("status").enum


def routes(ctx: Ctx) -> list[Route]:
    users, teams, roles, hubs = Users(ctx), Teams(ctx), Roles(ctx), Hubs(ctx)
    return [
        *resource_routes(
            users.spec,
            list=users.index,
            detail=users.get,
            update=users.put,
            patch=users.patch,
            delete=users.delete,
        ),
        Route("GET", "/user", users.me),
        Route("PATCH", "/user", users.patch_me),
        Route("GET", "/user/email/{email}", users.by_email),
        *resource_routes(RESOURCES["locked_members"], list=users.locked),
        Route("POST", "/member/unlock", users.unlock),
        Route("POST", "/member/reset-password", users.reset_password),
        *resource_routes(
            teams.spec,
            list=teams.index,
            detail=teams.get,
            create=teams.create,
            update=teams.put,
            delete=teams.delete,
        ),
        *resource_routes(roles.spec, list=roles.index, detail=roles.get),
        *resource_routes(
            hubs.spec,
            list=hubs.index,
            detail=hubs.get,
            create=hubs.create,
            update=hubs.put,
            delete=hubs.delete,
        ),
    ]


# --- users and members --------------------------------------------------------------------


def _public_user(u: Doc) -> Doc:
    return {k: v for k, v in u.items() if k not in _PRIVATE_USER_KEYS}


class Users:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["users"]
        self.locked_spec = RESOURCES["locked_members"]

    def index(self, r: Request) -> Response:
        """``{"data": [...]}``: a plain array, no paging (note 47)."""
        q = r.query
        docs = [_public_user(u) for u in self.ctx.store.values("users")]
        if q.get("hubId"):
            hubs = set(csv(q["hubId"]))
            docs = [u for u in docs if hubs & set(u.get("hubId") or [])]
        if q.get("roleId"):
            roles = set(csv(q["roleId"]))
            docs = [u for u in docs if u.get("roleId") in roles]
        if q.get("teamId"):
            teams = set(csv(q["teamId"]))
            docs = [u for u in docs if teams & set(u.get("teamId") or [])]
        if q.get("status"):
            statuses = {s.lower() for s in csv(q["status"])}
            docs = [u for u in docs if str(u.get("status", "")).lower() in statuses]
        if q.get("q"):
            needle = q["q"].lower()
            docs = [
                u
                for u in docs
                if needle in str(u.get("name", "")).lower()
                or needle in str(u.get("email", "")).lower()
            ]
        fields = csv(q.get("fields"))
        if fields:
            docs = [project(u, fields, (self.spec.id_field,)) for u in docs]
        return Response(200, {self.spec.envelope_list: docs})

    def me(self, r: Request) -> Response:
        """``GET /user``: no envelope, legacy snake_case keys, current name/e-mail/phone."""
        legacy = dict(self.ctx.store.meta["me"])
        doc = self.ctx.store.get("users", legacy["_id"])
        if doc is not None:
            legacy.update(
                name=doc.get("name"),
                email=doc.get("email"),
                phone_number=doc.get("phoneNumber"),
                hubId=doc.get("hubId", []),
                hub_id=doc.get("hubId", []),
                team_id=doc.get("teamId", []),
                status=doc.get("status", legacy.get("status")),
            )
        return Response(200, legacy)

    def _one(self, user_id: str) -> Doc:
        return self.ctx.get("users", user_id)

    def get(self, r: Request) -> Response:
        doc = self._one(r.params["id"])
        return Response(200, self._envelope(doc, "Success"))

    def by_email(self, r: Request) -> Response:
        doc = user_by_email(self.ctx, r.params["email"])
        if doc is None:
            raise HttpError(404, "Data not found")
        return Response(200, self._envelope(doc, "Success"))

    def _envelope(self, doc: Doc, message: str) -> Doc:
        return {
            "status": True,
            self.spec.envelope_one: _public_user(doc),
            "message": message,
            "statusCode": 200,
        }

    def _update(self, r: Request, old: Doc, *, full: bool) -> Doc:
        v = V(r.body)
        if full:
            v.str_("name", required=True)
        name = v.str_("name", max_len=255)
        email = v.email("email")
        phone = v.str_("phoneNumber")
        hub_ids = v.strings("hubId")
        team_ids = v.strings("teamId")
        # not in the contract's bodies, but what deactivating a member changes (note 47)
        status = v.str_("status", enum=_USER_STATUSES)
        new = dict(old)
        if status is not None:
            new["status"] = status
        if name is not None:
            new["name"] = name
        if email is not None and email != old.get("email"):
            if user_by_email(self.ctx, email) is not None:
                v.fail("The email has already been taken.")
            new["email"] = email
        if v.has("phoneNumber"):
            new["phoneNumber"] = phone
        if hub_ids is not None:
            for h in hub_ids:
                hub_of(self.ctx, h, "hub id")
            new["hubId"] = hub_ids
        if team_ids is not None:
            for t in team_ids:
                if self.ctx.store.get("teams", t) is None:
                    v.fail("The selected team id is invalid.")
            new["teamId"] = team_ids
        new["updatedTime"] = iso_now(self.ctx.now())
        self.ctx.put(r, "users", new, r.body)
        return new

    def put(self, r: Request) -> Response:
        doc = self._update(r, self._one(r.params["id"]), full=True)
        return Response(200, self._envelope(doc, "Data has been updated successfully."))

    def patch(self, r: Request) -> Response:
        doc = self._update(r, self._one(r.params["id"]), full=False)
        return Response(200, self._envelope(doc, "Data has been updated successfully."))

    def patch_me(self, r: Request) -> Response:
        body = r.body
        if isinstance(body, dict):
            body = {k: body[k] for k in ("name", "email", "phoneNumber", "status") if k in body}
        me = self._one(self.ctx.store.meta["me"]["_id"])
        doc = self._update(dataclasses.replace(r, body=body), me, full=False)
        return Response(
            200,
            {
                "status": True,
                "message": "Data has been updated successfully.",
                "property": _public_user(doc),
            },
        )

    def delete(self, r: Request) -> Response:
        doc = self._one(r.params["id"])
        if doc["_id"] == self.ctx.store.meta["me"]["_id"]:
            raise HttpError(400, "You cannot delete your own account.")
        ops = [Op("delete", "users", doc["_id"], None, r.body)]
        for t in self.ctx.store.values("teams"):
            if t["_id"] in (doc.get("teamId") or []):
                ops.append(
                    Op("put", "teams", t["_id"], dict(t, totalUser=max(0, t["totalUser"] - 1)))
                )
        self.ctx.write(r, ops)
        return Response(
            200,
            {"id": doc["_id"], "status": True, "message": "Data has been deleted successfully."},
        )

    def locked(self, r: Request) -> Response:
        """Items ``{email, attempt, ttl}``, keyed by ``email`` (the registry's id field)."""
        data = [
            {k: v for k, v in d.items() if k != "_id"}
            for d in self.ctx.store.values("locked_members")
        ]
        return Response(200, {"status": True, "code": 200, self.locked_spec.envelope_list: data})

    def unlock(self, r: Request) -> Response:
        v = V(r.body)
        email = v.email("email", required=True)
        assert email is not None
        if self.ctx.store.get("locked_members", email) is None:
            v.fail("The selected email is invalid.")
        self.ctx.delete(r, "locked_members", email, r.body)
        return Response(
            200,
            {
                "status": True,
                "code": 200,
                "message": f"{email} has been unlocked. The user can now log in.",
            },
        )

    def reset_password(self, r: Request) -> Response:
        v = V(r.body)
        user_id = v.str_("userId", required=True)
        password = v.str_("password", required=True)
        assert user_id is not None and password is not None
        if len(password) < 8:
            v.fail("The password must be at least 8 characters.")
        if not (re.search(r"[a-z]", password) and re.search(r"[A-Z]", password)):
            v.fail("The password must contain at least one uppercase and one lowercase letter.")
        if not re.search(r"\d", password):
            v.fail("The password must contain at least one number.")
        if not re.search(r"[^A-Za-z0-9]", password):
            v.fail("The password must contain at least one symbol.")
        user = self._one(user_id)
        # only a salted hash is kept, in an internal collection, to refuse re-use
        digest = hashlib.sha256(f"{user_id}:{password}".encode()).hexdigest()
        cred = self.ctx.store.get("credentials", user_id)
        if cred is not None and digest in cred.get("hashes", []):
            v.fail("The password has already been used. Please choose a new password.")
        hashes = [*(cred or {}).get("hashes", [])[-4:], digest]
        now = self.ctx.now()
        new_user = dict(user, updatedTime=iso_now(now))
        self.ctx.write(
            r,
            [
                Op("put", "credentials", user_id, {"_id": user_id, "hashes": hashes}, None),
                Op("put", "users", user_id, new_user, {"userId": user_id}),
            ],
        )
        prop: Doc = {
            k: new_user.get(k)
            for k in (
                "_id",
                "hubId",
                "organizationId",
                "updatedTime",
                "lastLogin",
                "roleId",
                "teamId",
                "name",
                "createdTime",
                "email",
                "status",
            )
            if k in new_user
        }
        prop["isDeleted"] = False
        prop["docId"] = user_id
        return Response(
            200,
            {
                "status": True,
                "property": prop,
                "message": "Your password has been updated successfully.",
            },
        )


# --- roles --------------------------------------------------------------------------------


class Roles:
    """Read-only; ``permission`` is detail only (the registry's ``detail_only``)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["roles"]

    def index(self, r: Request) -> Response:
        hidden = set(self.spec.detail_only)
        docs = [
            {k: v for k, v in d.items() if k not in hidden} for d in self.ctx.store.values("roles")
        ]
        return Response(200, {self.spec.envelope_list: docs, "status": True})

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("roles", r.params["id"])
        return Response(200, {self.spec.envelope_one: doc, "status": True})


# --- teams --------------------------------------------------------------------------------


class Teams:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["teams"]

    def index(self, r: Request) -> Response:
        page, limit = paging(r.query, self.spec)
        docs = self.ctx.store.values("teams")
        if r.query.get("hubId"):
            hubs = set(csv(r.query["hubId"]))
            docs = [t for t in docs if t.get("hubId") in hubs]
        return Response(
            200,
            {self.spec.envelope_list: laravel(r, docs, page, limit), "status": True, "code": 200},
        )

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("teams", r.params["id"], _NOT_FOUND_LOWER)
        return Response(200, {self.spec.envelope_one: doc, "status": True, "code": 200})

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

    def create(self, r: Request) -> Response:
        name, hub_id = self._validate(r, None)
        stamp = iso_micro(self.ctx.now())
        doc = {
            "_id": self.ctx.new_id(),
            "name": name,
            "hubId": hub_id,
            "totalUser": 0,
            "organizationId": self.ctx.org_id,
            "createdTime": stamp,
            "updatedTime": stamp,
        }
        self.ctx.put(r, "teams", doc, r.body)
        return Response(
            201,
            {
                "status": True,
                self.spec.envelope_one: doc,
                "code": 201,
                "message": "Data successfully created.",
            },
        )

    def put(self, r: Request) -> Response:
        old = self.ctx.get("teams", r.params["id"], _NOT_FOUND_LOWER)
        name, hub_id = self._validate(r, old)
        doc = dict(old, name=name, hubId=hub_id, updatedTime=iso_micro(self.ctx.now()))
        self.ctx.put(r, "teams", doc, r.body)
        return Response(
            200,
            {"status": True, "code": 200, "message": "Data successfully updated.", "property": doc},
        )

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("teams", r.params["id"], _NOT_FOUND_LOWER)
        ops = [Op("delete", "teams", old["_id"], None, r.body)]
        for u in self.ctx.store.values("users"):
            if old["_id"] in (u.get("teamId") or []):
                team_ids = [t for t in u["teamId"] if t != old["_id"]]
                ops.append(Op("put", "users", u["_id"], dict(u, teamId=team_ids)))
        self.ctx.write(r, ops)
        return Response(
            200,
            {
                "status": True,
                "code": 200,
                "message": "Data successfully deleted.",
                self.spec.envelope_one: old,
            },
        )


# --- hubs ---------------------------------------------------------------------------------


class Hubs:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec = RESOURCES["hubs"]

    def index(self, r: Request) -> Response:
        """``{"data": [...hubs], "status": true}``: a plain array, though paged (note 35)."""
        q = r.query
        page, limit = paging(q, self.spec)
        docs = self.ctx.store.values("hubs")
        for key in ("name", "q"):
            if q.get(key):
                needle = q[key].lower()
                docs = [
                    h
                    for h in docs
                    if needle in str(h.get("name", "")).lower()
                    or (key == "q" and needle in str(h.get("address", "")).lower())
                ]
        if truthy(q.get("byUser")):
            mine = set(api_user(self.ctx).get("hubId") or [])
            docs = [h for h in docs if h["_id"] in mine]
        docs = sort_listed(docs, q, self.spec, default_by="name", default_order="asc")
        docs = docs[(page - 1) * limit : page * limit]
        fields = csv(q.get("fields"))
        if fields:
            docs = [project(h, fields, (self.spec.id_field,)) for h in docs]
        return Response(200, {self.spec.envelope_list: docs, "status": True})

    def get(self, r: Request) -> Response:
        doc = self.ctx.get("hubs", r.params["id"])
        return Response(200, {self.spec.envelope_one: doc, "status": True})

    def _validate(self, r: Request, old: Doc | None) -> Doc:
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

    def create(self, r: Request) -> Response:
        fields = self._validate(r, None)
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
        self.ctx.put(r, "hubs", doc, r.body)
        return Response(200, {"status": True, self.spec.envelope_one: doc})

    def put(self, r: Request) -> Response:
        old = self.ctx.get("hubs", r.params["id"], _NOT_FOUND_LOWER)
        doc = dict(old, **self._validate(r, old), updatedTime=iso_micro(self.ctx.now()))
        self.ctx.put(r, "hubs", doc, r.body)
        return Response(200, {"status": True, "property": doc, "message": "Success"})

    def delete(self, r: Request) -> Response:
        old = self.ctx.get("hubs", r.params["id"], _NOT_FOUND_LOWER)
        if not old.get("deleteAccess", True):
            raise HttpError(400, "This hub cannot be deleted.")
        self.ctx.remove(r, "hubs", old, r.body)
        return Response(200, {"status": True})
