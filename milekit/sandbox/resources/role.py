"""Roles (tag Role): read only; ``permission`` is detail only.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/roles")
>>> status, all("permission" not in r for r in body["data"])
(200, True)
"""

from __future__ import annotations

from milekit.sandbox.common import Ctx
from milekit.sandbox.generic import Answer, StoredResource
from milekit.sandbox.http import Route


def routes(ctx: Ctx) -> list[Route]:
    return Roles(ctx).routes()


class Roles(StoredResource):
    """Read-only; ``permission`` is detail only (the registry's ``detail_only``)."""

    name = "roles"
    order = None
    listed = got = Answer("item status")
