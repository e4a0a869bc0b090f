"""A deterministic demo organisation: hubs, flows, users, vehicles, tasks and the rest.

>>> org = build_org(seed=7, tasks=50)
>>> len(org.hubs), len(org.flows), len(org.tasks), org == build_org(seed=7, tasks=50)
(8, 5, 50, True)

One package in floors that import only downwards: :mod:`~milekit.sandbox.seed.base`
(anchor dates, :class:`Org`, datetime spellings, ids) at the bottom;
:mod:`~milekit.sandbox.seed.org` (hubs, flows, users, vehicles),
:mod:`~milekit.sandbox.seed.plans` (a routed day's plan, shared by the tasks and the
routing results) and :mod:`~milekit.sandbox.seed.tasks` above it, from the seed's first
random stream;
:mod:`~milekit.sandbox.seed.extras` (the second stream's common base) and one module per
group of later documents, named after the registry tag it seeds where it seeds one
(:mod:`~milekit.sandbox.seed.task_schedule`, :mod:`~milekit.sandbox.seed.activity`,
:mod:`~milekit.sandbox.seed.location_history`, :mod:`~milekit.sandbox.seed.routing`;
:mod:`~milekit.sandbox.seed.data_source`: data types and their records, with the export
and import logs; :mod:`~milekit.sandbox.seed.flows`: flows and automations;
:mod:`~milekit.sandbox.seed.settings`: roles, teams, plugins, app integrations, locked
members); :mod:`~milekit.sandbox.seed.build` composes them
at the top. Same seed, same bytes (``tests/sandbox/test_seed_digest.py`` pins them).
"""

from milekit.sandbox.seed.activity import activity_state
from milekit.sandbox.seed.base import Doc, Org
from milekit.sandbox.seed.build import add_extras, build_org
from milekit.sandbox.seed.tasks import NEW_TASK_KEYS, assigned_to

__all__ = [
    "NEW_TASK_KEYS",
    "Doc",
    "Org",
    "activity_state",
    "add_extras",
    "assigned_to",
    "build_org",
]
