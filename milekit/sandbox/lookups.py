"""What the resource services look up in each other: the API user, hubs, users by e-mail.

>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> from milekit.sandbox.common import Ctx, ObjectIds
>>> ctx = Ctx(Store(build_org(tasks=1)), None, lambda: 0.0, ObjectIds(lambda: 0.0))
>>> email_of(ctx) == api_user(ctx)["email"]
True
"""

from __future__ import annotations

from typing import Any

from milekit.sandbox.common import Ctx
from milekit.sandbox.http import HttpError
from milekit.sandbox.store import Doc

__all__ = ["api_user", "email_of", "hub_of", "user_by_email"]


def api_user(ctx: Ctx) -> Doc:
    """The API user behind the token (the admin user document)."""
    me_id = ctx.store.meta["me"]["_id"]
    doc = ctx.store.get("users", me_id)
    return doc if doc is not None else dict(ctx.store.meta["me"])


def email_of(ctx: Ctx) -> str:
    """The API user's e-mail (``createdBy``/``updatedBy`` of what the API writes)."""
    email: str = api_user(ctx).get("email") or ctx.store.meta["me"]["email"]
    return email


def hub_of(ctx: Ctx, hub_id: Any, name: str = "hub id") -> Doc:
    """The hub, or 400 "The selected hub id is invalid."."""
    doc = ctx.store.get("hubs", hub_id) if isinstance(hub_id, str) else None
    if doc is None:
        raise HttpError(400, f"The selected {name} is invalid.")
    return doc


def user_by_email(ctx: Ctx, email: str) -> Doc | None:
    return ctx.find("users", lambda u: u.get("email") == email)
