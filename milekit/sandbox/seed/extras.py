"""What every group of the organisation's later documents builds on: the second random
stream and the seeded organisation's hubs, flows, field workers and dispatchers.

>>> import random
>>> from milekit.sandbox.seed import build_org
>>> x = Extras(build_org(seed=7, tasks=10), random.Random(1))
>>> sorted(x.flows)[:2], all(x.hub_pick()["_id"] for _ in range(3))
(['Create Order Blitz', 'Delivery'], True)

They are built after the tasks, with their own random stream
(``random.Random("milekit-extras-<seed>")``): the task bytes of a seed never change, and
these collections are deterministic per seed too. Every reference is real: schedules,
activities, automations and exports name seeded flows, hubs and users.
"""

from __future__ import annotations

import random

from milekit.sandbox.seed.base import (
    Doc,
    Org,
    object_id,
)
from milekit.sandbox.seed.org import HUB_WEIGHTS


class Extras:
    """One random stream over the seeded organisation (the groups' common base)."""

    def __init__(self, org: Org, rng: random.Random) -> None:
        self.org = org
        self.rng = rng
        self.org_id: str = org.organization["id"]
        self.hubs = org.hubs
        self.flows = {f["name"]: f for f in org.flows}
        self.workers = [u for u in org.users if u["role"]["name"] == "Field Worker"]
        self.dispatchers = [u for u in org.users if u["role"]["name"] in ("Admin", "Dispatcher")]

    def oid(self, ts: int) -> str:
        return object_id(self.rng, ts)

    def hub_pick(self) -> Doc:
        return self.rng.choices(self.hubs, weights=HUB_WEIGHTS)[0]

    def workers_of(self, hub_id: str) -> list[Doc]:
        return [u for u in self.workers if hub_id in u["hubId"]]
