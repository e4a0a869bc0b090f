"""An offline MileApp API ("sandbox"): seeded demo data over real HTTP on loopback.

>>> from milekit.sandbox import Sandbox
>>> with Sandbox(tasks=10) as sb:
...     sb.url.endswith("/api/v3"), sb.token
(True, 'sandbox-token')

Modules: :mod:`~milekit.sandbox.seed` (the deterministic demo organisation, a package
of its own), :mod:`~milekit.sandbox.store` (documents, versions, write log, SQLite),
:mod:`~milekit.sandbox.faults` (latency, 5xx, dropped connections),
:mod:`~milekit.sandbox.common` (requests, responses, the route table, validation), the
endpoints of :mod:`~milekit.sandbox.tasks`, :mod:`~milekit.sandbox.field_ops` (schedules,
activities), :mod:`~milekit.sandbox.location_history`, :mod:`~milekit.sandbox.task_extras`
(gallery, public view, tracking, photos), :mod:`~milekit.sandbox.flows`,
:mod:`~milekit.sandbox.automations`, :mod:`~milekit.sandbox.datasource` (data types,
records), :mod:`~milekit.sandbox.exports` (exports, imports), :mod:`~milekit.sandbox.routing`
(vehicles, routing), :mod:`~milekit.sandbox.settings` (users, teams, roles, hubs),
:mod:`~milekit.sandbox.integrations` (app integrations, plugins) and
:mod:`~milekit.sandbox.files` (stored files); :mod:`~milekit.sandbox.app` (the WSGI app:
auth, 406, 429, the route table's 404/405, 413) and :mod:`~milekit.sandbox.server`
(:class:`Sandbox`).
"""

from milekit.sandbox.app import LoggedRequest, SandboxApp, Stats
from milekit.sandbox.faults import DropConnection, FaultAction, Faults, Rule
from milekit.sandbox.seed import Org, build_org
from milekit.sandbox.server import Sandbox, serve
from milekit.sandbox.store import Op, Store

__all__ = [
    "DropConnection",
    "FaultAction",
    "Faults",
    "LoggedRequest",
    "Op",
    "Org",
    "Rule",
    "Sandbox",
    "SandboxApp",
    "Stats",
    "Store",
    "build_org",
    "serve",
]
