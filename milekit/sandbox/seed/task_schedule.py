"""Task schedules: a dozen, one for each kind of period, each on a flow's seeded tasks.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> len(org.task_schedules), {s["flow"] for s in org.task_schedules} <= {
...     f["name"] for f in org.flows}
(12, True)
"""

from __future__ import annotations

from collections import defaultdict

from milekit.sandbox.seed.base import (
    SEED_NOW,
    TASKS_FROM,
    Doc,
    day_of,
    iso,
)
from milekit.sandbox.seed.extras import Extras


class ScheduleSeed(Extras):
    """Task schedules (tag Task Schedule)."""

    def task_schedules(self) -> list[Doc]:
        periods: list[tuple[str, list[Doc], str | None, int | None]] = [
            ("daily", [{"time": ["07:00"]}], None, None),
            ("weekly", [{"day": "monday", "time": ["08:00"]}], None, None),
            ("monthly", [{"date": "1", "time": ["07:30"]}], None, None),
            ("byDate", [{"date": "2026-11-15", "time": ["09:00"]}], None, None),
            ("custom", [{"day": "friday", "time": ["13:00"]}], "weekly", 2),
            ("custom", [{"time": ["06:00"]}], "daily", 3),
        ]
        by_flow: dict[str, list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            by_flow[t["flow"]].append(t)
        out = []
        for i in range(12):
            out.append(self._schedule(i, *periods[i % len(periods)], by_flow))
        return out

    def _schedule(
        self,
        i: int,
        periode: str,
        schedules: list[Doc],
        freq: str | None,
        interval: int | None,
        by_flow: dict[str, list[Doc]],
    ) -> Doc:
        """The demo org's schedule ``i`` of period ``periode``, with its last execution."""
        hub = self.hub_pick()
        flow = self.rng.choice(list(self.flows.values()))
        comps = flow["pages"][0]["components"]
        task = {
            c["id"]: f"Scheduled {c['title'].lower()}"
            for c in comps
            if c["inputType"] == "string" and c["component"] == "input"
        }
        at = TASKS_FROM - 86400 * (20 - i)
        start = at + 86400
        doc: Doc = {
            "_id": self.oid(at),
            "hubId": hub["_id"],
            "name": f"{periode.capitalize()} {flow['name'].lower()} #{i + 1}",
            "periode": periode,
            "flow": flow["name"],
            "flowId": flow["_id"],
            "task": task,
            "schedules": schedules,
            "timeSchedules": [
                f"{s.get('day') or s.get('date')} {t}" if s.get("day") or s.get("date") else t
                for s in schedules
                for t in s["time"]
            ],
            "startTime": day_of(start),
            "endTime": day_of(start + 86400 * self.rng.choice((30, 90, 180))),
        }
        workers = self.workers_of(hub["_id"])
        if workers and self.rng.random() < 0.7:
            doc["assignee"] = [self.rng.choice(workers)["email"]]
        if freq is not None:
            doc["frequency"], doc["interval"] = freq, interval
        executed = [t for t in by_flow[flow["name"]] if t["hubId"] == hub["_id"]]
        status = self.rng.choice(("SUCCESS", "SUCCESS", "FAILED", "PENDING"))
        log: Doc = {"status": status, "message": [], "lastExecute": iso(SEED_NOW - 86400)}
        if status == "SUCCESS" and executed:
            log["taskId"] = executed[-1]["_id"]
        elif status == "FAILED":
            log["message"] = ["The assignee is not active."]
        doc["logExecuted"] = log
        creator = self.rng.choice(self.dispatchers)["email"]
        doc.update(
            createdBy=creator,
            updatedBy=creator,
            organizationId=self.org_id,
            createdTime=iso(at),
            updatedTime=iso(at + 3600),
        )
        return doc
