"""The demo organisation, composed: the static organisation, its tasks, then every later
group of documents from a second random stream.

>>> org = build_org(seed=7, tasks=50)
>>> len(org.hubs), len(org.flows), len(org.tasks), org == build_org(seed=7, tasks=50)
(8, 5, 50, True)
"""

from __future__ import annotations

import gc
import random

from milekit.sandbox.seed.activity import ActivitySeed
from milekit.sandbox.seed.base import Org
from milekit.sandbox.seed.data_source import DataSeed
from milekit.sandbox.seed.flows import FlowSeed
from milekit.sandbox.seed.location_history import LocationSeed
from milekit.sandbox.seed.org import build_static
from milekit.sandbox.seed.routing import RoutingSeed
from milekit.sandbox.seed.settings import SettingsSeed
from milekit.sandbox.seed.task_schedule import ScheduleSeed
from milekit.sandbox.seed.tasks import TaskMaker


def build_org(seed: int = 7, tasks: int = 10_000, *, mixed_datetimes: bool = False) -> Org:
    """The demo organisation for ``seed`` with ``tasks`` tasks (same seed, same bytes).

    >>> t = build_org(seed=1, tasks=200).tasks
    >>> sorted({x["status"] for x in t}), all("flow" in x and "hub" in x for x in t)
    (['DONE', 'ONGOING', 'UNASSIGNED'], True)

    Tasks spell their datetimes as real tasks do (ISO 8601, ``+00:00``; note 25);
    ``mixed_datetimes=True`` mixes in every other spelling the API uses (note 6), each
    denoting the same instant, and times of day as ``8:34`` or ``08:34``: for robustness
    tests.
    """
    rng = random.Random(seed)
    org = build_static(rng)
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers, no cycles: the collector only costs time
    try:
        org.tasks = TaskMaker(rng, org, mixed_datetimes).build(tasks)
    finally:
        if was_enabled:
            gc.enable()
    add_extras(org, seed)
    return org


def add_extras(org: Org, seed: int) -> None:
    """Fill the non-task collections of ``org`` (mutates it; deterministic per ``seed``).

    The groups share one random stream and draw from it in this order, which is part of
    the seed's bytes: reorder these lines and every later document changes.
    """
    rng = random.Random(f"milekit-extras-{seed}")
    people, flows = SettingsSeed(org, rng), FlowSeed(org, rng)
    data, routing = DataSeed(org, rng), RoutingSeed(org, rng)
    schedules, activities = ScheduleSeed(org, rng), ActivitySeed(org, rng)
    tracks = LocationSeed(org, rng)
    org.roles = people.roles()
    org.teams = people.teams()
    flows.enrich_flows_and_vehicles()
    org.flow_logs = flows.flow_logs()
    org.data_types, org.data = data.data_sources()
    org.task_schedules = schedules.task_schedules()
    org.workflows, org.activities = activities.activities()
    org.location_histories = tracks.location_histories()
    org.automations = flows.automations()
    org.automation_logs = flows.automation_logs()
    org.routing_results, org.routing_histories = routing.routing_results()
    org.export_configs = data.export_configs()
    org.export_logs = data.export_logs()
    org.import_monitoring = data.import_monitoring()
    org.plugins = people.plugins()
    org.app_integrations = people.app_integrations()
    org.locked_members = people.locked_members()
