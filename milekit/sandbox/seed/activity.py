"""Activities: workflows (two flows in a row) and their masters grouping seeded tasks.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> task_ids = {t["_id"] for t in org.tasks}
>>> all(set(a["subId"]) <= task_ids for a in org.activities)
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from milekit.sandbox.seed.base import (
    ADMIN,
    ORG_CREATED,
    Doc,
    iso,
    ts_of,
)
from milekit.sandbox.seed.extras import Extras


class ActivitySeed(Extras):
    """Workflows and activity masters (tag Activity)."""

    def activities(self) -> tuple[list[Doc], list[Doc]]:
        workflows: list[Doc] = []
        for k, (name, steps) in enumerate(
            (
                ("Pickup and Deliver", ("Pickup", "Delivery")),
                ("Survey and Inspect", ("Visit", "House Inspection")),
            )
        ):
            at = ORG_CREATED + 86400 * (6 + k)
            workflows.append(
                {
                    "_id": self.oid(at),
                    "name": name,
                    "steps": [
                        {"order": i + 1, "flow": s, "flowId": self.flows[s]["_id"]}
                        for i, s in enumerate(steps)
                    ],
                    "organizationId": self.org_id,
                    "createdTime": iso(at),
                    "updatedTime": iso(at),
                }
            )
        index: dict[tuple[str, str], list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            index[(t["hubId"], t["flow"])].append(t)
        used: set[str] = set()
        out: list[Doc] = []
        for wf in workflows:
            first, second = (str(s["flow"]) for s in wf["steps"])
            for _ in range(15):
                hub = self.hub_pick()
                firsts = [t for t in index[(hub["_id"], first)] if t["_id"] not in used]
                seconds = [t for t in index[(hub["_id"], second)] if t["_id"] not in used]
                if not firsts or not seconds:
                    continue
                a = self.rng.choice(firsts)
                ta = ts_of(a["createdTime"]) or 0
                b = min(seconds, key=lambda t: (abs((ts_of(t["createdTime"]) or 0) - ta), t["_id"]))
                used.update((a["_id"], b["_id"]))
                out.append(self._master(wf, hub, [a, b]))
        return workflows, out

    def _master(self, wf: Doc, hub: Doc, children: list[Doc]) -> Doc:
        status, assignee = activity_state(children)
        starts = [ts_of(c["startTime"]) or 0 for c in children]
        ends = [ts_of(c["endTime"]) or 0 for c in children]
        created = min(ts_of(c["createdTime"]) or 0 for c in children)
        updated = max(ts_of(c["updatedTime"]) or 0 for c in children)
        return {
            "_id": self.oid(created),
            "organizationId": self.org_id,
            "taskType": "activityMaster",
            "flow": "Activity",
            "workflowId": wf["_id"],
            "workflow": {"_id": wf["_id"], "name": wf["name"], "organizationId": self.org_id},
            "subId": [c["_id"] for c in children],
            "title": f"{wf['name']} - {children[0]['title'].split(' - ', 1)[-1]}",
            "assignee": assignee,
            "status": status,
            "startTime": iso(min(starts)),
            "endTime": iso(max(ends)),
            "hubId": hub["_id"],
            "hub": {
                "_id": hub["_id"],
                "name": hub["name"],
                "lat": hub["lat"],
                "lng": hub["lng"],
                "address": hub["address"],
            },
            "createdBy": ADMIN,
            "updatedBy": ADMIN,
            "createdFrom": "WEB",
            "createdTime": iso(created),
            "updatedTime": iso(max(updated, created)),
        }


def activity_state(children: Sequence[Doc]) -> tuple[str, list[str]]:
    """An activity master's status and assignees, from its child tasks: DONE or
    UNASSIGNED when all children are, else ONGOING; every child's assignees, in order.

    >>> activity_state([{"status": "DONE", "assignee": ["a"]}, {"status": "ONGOING"}])
    ('ONGOING', ['a'])
    """
    statuses = {c.get("status") for c in children}
    status = "ONGOING"
    if statuses in ({"DONE"}, {"UNASSIGNED"}):
        status = next(iter(statuses)) or status
    assignee: list[str] = []
    for c in children:
        assignee += [a for a in c.get("assignee") or [] if a not in assignee]
    return status, assignee
