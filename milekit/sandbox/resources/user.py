"""Users and members (tag User): users, the signed-in user, locked members, unlocks and
password resets.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/users")
>>> status, all("personalToken" not in u for u in body["data"])
(200, True)

Users list as a plain array, no paging (note 47); they are updated, not created; a user's
``status`` is changed by ``PUT``/``PATCH`` (one of the contract's five). Updates answer
under ``property`` (note 1). Paths, envelope keys, id fields and required fields come from
the registry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, Filter, StoredResource, envelope
from milekit.sandbox.http import HttpError, Request, Response, Route, V, iso_now
from milekit.sandbox.lookups import hub_of, user_by_email
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES

_PRIVATE_USER_KEYS = ("personalToken",)


#: active, inactive, pending, disabled, reject: the contract's users' statuses
_USER_STATUSES = RESOURCES["users"].field("status").enum


_USER_DELETED = "Data has been deleted successfully."


def routes(ctx: Ctx) -> list[Route]:
    users = Users(ctx)
    return [
        *users.routes(),
        Route("GET", "/user", users.me),
        Route("PATCH", "/user", users.patch_me),
        Route("GET", "/user/email/{email}", users.by_email),
        *LockedMembers(ctx).routes(),
        Route("POST", "/member/unlock", users.unlock),
        Route("POST", "/member/reset-password", users.reset_password),
    ]


def _public_user(u: Doc) -> Doc:
    return {k: v for k, v in u.items() if k not in _PRIVATE_USER_KEYS}


class Users(StoredResource):
    """Users: listed as a plain array, no paging (note 47); updated, not created."""

    name = "users"
    order = None
    filters = (
        Filter("hubId", "overlap"),
        Filter("roleId"),
        Filter("teamId", "overlap"),
        Filter("status", "folded"),
        Filter("q", "contains", ("name", "email")),
    )
    listed = Answer("item")
    got = Answer("status item message statusCode", "Success")
    updated = Answer("status item message statusCode", "Data has been updated successfully.")
    deleted = Answer("item status message", _USER_DELETED, key="id")

    def item(self, doc: Doc) -> Doc:
        return _public_user(doc)

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

    def by_email(self, r: Request) -> Response:
        doc = user_by_email(self.ctx, r.params["email"])
        if doc is None:
            raise HttpError(404, "Data not found")
        return Response(200, self.got.body(self.spec.envelope_one, self.item(doc)))

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        assert old is not None  # no create
        return self._update(r, old, full=full)

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
        return new

    def patch_me(self, r: Request) -> Response:
        body = r.body
        if isinstance(body, dict):
            body = {k: body[k] for k in ("name", "email", "phoneNumber", "status") if k in body}
        me = self.one(self.ctx.store.meta["me"]["_id"])
        doc = self._update(dataclasses.replace(r, body=body), me, full=False)
        self.ctx.put(r, "users", doc, body)
        answer = Answer("status message property", self.updated.message)
        return Response(200, answer.body(self.spec.envelope_one, self.item(doc)))

    def removals(self, r: Request, old: Doc) -> list[Op]:
        """Not one's own account; the user's teams count one member less."""
        if old["_id"] == self.ctx.store.meta["me"]["_id"]:
            raise HttpError(400, "You cannot delete your own account.")
        ops = super().removals(r, old)
        for t in self.ctx.store.values("teams"):
            if t["_id"] in (old.get("teamId") or []):
                ops.append(
                    Op("put", "teams", t["_id"], dict(t, totalUser=max(0, t["totalUser"] - 1)))
                )
        return ops

    def removed(self, old: Doc) -> str:
        return str(old["_id"])

    def unlock(self, r: Request) -> Response:
        v = V(r.body)
        email = v.email("email", required=True)
        assert email is not None
        if self.ctx.store.get("locked_members", email) is None:
            v.fail("The selected email is invalid.")
        self.ctx.delete(r, "locked_members", email, r.body)
        message = f"{email} has been unlocked. The user can now log in."
        return Response(200, envelope("status code message", message=message))

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
        user = self.one(user_id)
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
        message = "Your password has been updated successfully."
        return Response(200, envelope("status property message", item=prop, message=message))


class LockedMembers(StoredResource):
    """Members locked out by failed logins: items ``{email, attempt, ttl}``, keyed by
    ``email`` (the registry's id field)."""

    name = "locked_members"
    order = None
    listed = Answer("status code item")

    def item(self, doc: Doc) -> Doc:
        return {k: v for k, v in doc.items() if k != "_id"}
