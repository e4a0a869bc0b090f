"""Tasks (tag Task): :mod:`~milekit.sandbox.resources.task.service` (the task list with
its filters, validation, single and bulk writes, assign and move) and
:mod:`~milekit.sandbox.resources.task.extras` (the photo gallery, the public tracking view,
productivity tracking and photo uploads).

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/tasks?limit=2")
>>> status, body["tasks"]["total"]
(200, 5)
"""

from __future__ import annotations

from milekit.sandbox.common import Ctx
from milekit.sandbox.http import Route
from milekit.sandbox.resources.task import extras, service
from milekit.sandbox.resources.task.service import TaskService

__all__ = ["TaskService", "routes"]


def routes(ctx: Ctx) -> list[Route]:
    """The task list and writes, then the extras."""
    return [*service.routes(ctx), *extras.routes(ctx)]
