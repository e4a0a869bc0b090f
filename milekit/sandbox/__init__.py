"""An offline MileApp API ("sandbox"): seeded demo data over real HTTP on loopback.

>>> from milekit.sandbox import Sandbox
>>> with Sandbox(tasks=10) as sb:
...     sb.url.endswith("/api/v3"), sb.token
(True, 'sandbox-token')

Modules: :mod:`~milekit.sandbox.seed` (the deterministic demo organisation, a package
of its own), :mod:`~milekit.sandbox.orgfile` (org files: fixtures loaded on top of or
instead of the demo), :mod:`~milekit.sandbox.store` (documents, versions, write log,
SQLite), :mod:`~milekit.sandbox.faults` (latency, 5xx, dropped connections),
:mod:`~milekit.sandbox.http` (requests, responses, the route table, validation),
:mod:`~milekit.sandbox.common` (the registry's standard routes, the context),
:mod:`~milekit.sandbox.generic` (the generic stored resource and the one envelope
builder), the package :mod:`~milekit.sandbox.resources` (one module or package a
registry tag: ``task`` (the task list and writes, the extras), ``task_schedule``,
``activity``, ``location_history``, ``flow``, ``automation``, ``data_source``,
``data_type``, ``vehicle``, ``routing``, ``export_config``, ``export_task``,
``data_import``, ``user``, ``team``, ``role``, ``hub``, ``plugin``, ``app_integration``),
:mod:`~milekit.sandbox.files` (stored files) and :mod:`~milekit.sandbox.lookups`;
:mod:`~milekit.sandbox.app` (the WSGI app: auth, 406, 429, the route table's 404/405, 413)
and :mod:`~milekit.sandbox.server` (:class:`Sandbox`).
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
