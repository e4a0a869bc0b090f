"""Location histories: the tracks of the field workers who finished the last days' tasks,
each worker's day a trip start and its points.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> workers = {u["email"] for u in org.users}
>>> all(h["email"] in workers for h in org.location_histories)
True
"""

from __future__ import annotations

from collections import defaultdict

from milekit.sandbox import optimize
from milekit.sandbox.seed.base import (
    SEED_NOW,
    Doc,
    day_of,
    naive,
    ts_of,
)
from milekit.sandbox.seed.extras import Extras


class LocationSeed(Extras):
    """Location histories (tag Location History)."""

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


def _between(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
