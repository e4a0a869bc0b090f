"""The work around the tasks: schedules, activities (workflows grouping seeded tasks) and
the location history of the field workers who finished them.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> task_ids = {t["_id"] for t in org.tasks}
>>> all(set(a["subId"]) <= task_ids for a in org.activities)
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from milekit.sandbox import optimize
from milekit.sandbox.seed.base import (
    ADMIN,
    ORG_CREATED,
    SEED_NOW,
    TASKS_FROM,
    Doc,
    day_of,
    iso,
    naive,
    ts_of,
)
from milekit.sandbox.seed.extras import Extras


class FieldSeed(Extras):
    """Task schedules, activities and location histories."""

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

    # --- location history -----------------------------------------------------------------

    def location_histories(self) -> list[Doc]:
        window = SEED_NOW - 10 * 86400
        trips: dict[tuple[str, str], list[tuple[int, Doc]]] = defaultdict(list)
        for t in self.org.tasks:
            done = ts_of(t.get("doneTime"))
            if t.get("status") != "DONE" or done is None or done < window or not t.get("doneBy"):
                continue
            trips[(t["doneBy"], day_of(done))].append((done, t))
        keys = sorted(trips)
        if len(keys) > 60:
            keys = sorted(self.rng.sample(keys, 60))
        users = {u["email"]: u for u in self.org.users}
        hubs = {h["_id"]: h for h in self.hubs}
        gps_users = {u["email"] for u in self.workers if self.rng.random() < 0.25}
        out: list[Doc] = []
        for email, _day_key in keys:
            stops = sorted(trips[(email, _day_key)], key=lambda p: (p[0], p[1]["_id"]))
            user = users.get(email)
            hub = hubs.get(user["hubId"][0]) if user else hubs.get(stops[0][1]["hubId"])
            assert hub is not None
            source = "GPS 1" if email in gps_users else "mileAppField"
            out += self._worker_day(email, stops, hub, source)
        out.sort(key=lambda d: (d["time"], d["_id"]))
        latest: dict[str, Doc] = {}
        for doc in out:
            if "startTime" not in doc:
                latest[doc["email"]] = doc
        for doc in latest.values():
            doc["isLatest"] = True
        return out

    def _worker_day(
        self, email: str, stops: list[tuple[int, Doc]], hub: Doc, source: str
    ) -> list[Doc]:
        """One worker's day: the trip start (finished back at the hub) and, per task done,
        a point on the way and one at the task."""
        start = stops[0][0] - 45 * 60
        finish = stops[-1][0] + 30 * 60
        here = (hub["lat"], hub["lng"])
        points: list[Doc] = []
        total_m = 0
        last_t = start
        for k, (done, task) in enumerate(stops):
            dest = optimize.coord(task.get("doneCoordinate")) or here
            for event, at, pos in (
                ("otw", max(last_t + 60, done - 300), _between(here, dest, 0.85)),
                ("done", max(last_t + 120, done), dest),
            ):
                d = optimize.distance_m(here, pos)
                total_m += d
                p = self._point(email, task, k, event, at, pos, d, max(1, (at - last_t) // 60))
                p["createdFrom"] = source
                if event == "otw":
                    p["distanceToDest"] = float(optimize.distance_m(pos, dest))
                points.append(p)
                here, last_t = pos, at
        walked = total_m + optimize.distance_m(here, (hub["lat"], hub["lng"]))
        return [self._trip_start(email, hub, source, start, finish, walked), *points]

    def _point(
        self,
        email: str,
        task: Doc,
        k: int,
        event: str,
        at: int,
        pos: tuple[float, float],
        d: int,
        dt: int,
    ) -> Doc:
        return {
            "_id": f"{self.org_id}_{email}_{at * 1000 + k}",
            "email": email,
            "taskId": task["_id"],
            "lat": round(pos[0], 7),
            "lon": round(pos[1], 7),
            "speed": min(80, round(d / 1000 / (dt / 60))) if dt else 0,
            "distance": d,
            "duration": dt,
            "eventName": event,
            "time": at * 1000 + k,
            "createdFrom": None,
            "isLatest": False,
            "organizationId": self.org_id,
            "createdBy": email,
            "updatedBy": email,
            "createdTime": naive(at),
            "updatedTime": naive(at),
            # the device's clock against the server's: often negative (note 27)
            "trackedTime": round(self.rng.uniform(-4.0, 1.0), 3),
        }

    def _trip_start(
        self, email: str, hub: Doc, source: str, start: int, finish: int, walked: int
    ) -> Doc:
        return {
            "_id": f"{self.org_id}_{email}_{start * 1000}",
            "email": email,
            "taskId": "",
            "lat": hub["lat"],
            "lon": hub["lng"],
            "speed": 0,
            "distance": 0,
            "duration": 0,
            "startTime": naive(start),
            "notes": None,
            "time": start * 1000,
            "createdFrom": source,
            "isLatest": False,
            "organizationId": self.org_id,
            "createdBy": email,
            "updatedBy": email,
            "finish": {
                "lat": hub["lat"],
                "lon": hub["lng"],
                "finishTime": naive(finish),
                "notes": None,
                "totalDuration": (finish - start) // 60,
                "totalDistance": round(walked / 1000),
            },
            # seconds the device's clock is off, negative on some trips (notes 27, 57); no
            # draw from the stream, so the documents after these stay as they were
            "trackedTime": float((start * 2654435761) % 600 - 400),
            "createdTime": naive(start),
            "updatedTime": naive(finish),
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


def _between(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
