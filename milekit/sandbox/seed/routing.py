"""Routing results planning the tasks that carry their ``routingResultId`` on the seeded
vehicles, and the history of a result's manual moves.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> {r["_id"] for r in org.routing_results} == {
...     t["routingResultId"] for t in org.tasks if "routingResultId" in t}
True
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from milekit.sandbox import optimize
from milekit.sandbox.seed.base import (
    Doc,
    day_of,
    iso,
    iso_z,
)
from milekit.sandbox.seed.extras import Extras


class RoutingSeed(Extras):
    """The routing results and their histories."""

    def routing_results(self) -> tuple[list[Doc], list[Doc]]:
        groups: dict[str, list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            if "routingResultId" in t:
                groups[t["routingResultId"]].append(t)
        hubs = {h["_id"]: h for h in self.hubs}
        users = {u["_id"]: u for u in self.dispatchers}
        results: list[Doc] = []
        histories: list[Doc] = []
        for rid in sorted(groups, key=lambda r: (r[:8], r)):
            tasks = sorted(groups[rid], key=lambda t: (t.get("routePlannedOrder", 0), t["_id"]))
            counts: dict[str, int] = defaultdict(int)
            for t in tasks:
                counts[t["hubId"]] += 1
            hub = hubs[max(counts, key=lambda h: (counts[h], h))]
            vehicles = [
                v for v in self.org.vehicles if v["hubId"] == hub["_id"]
            ] or self.org.vehicles[:2]
            visits = [_visit_of(t) for t in tasks]
            config = dict(_ROUTING_CONFIG, capacityConstraint=["weight", "volume"])
            fleet = [dict(v, id=v["_id"]) for v in vehicles]
            result = optimize.plan(hub["_id"], (hub["lat"], hub["lng"]), visits, fleet, config)
            created = int(rid[:8], 16)
            creator = users[self.rng.choice(sorted(users))]
            code = f"Route-{day_of(created).replace('-', '')}-{len(results) + 1:03d}"
            result.update(countryCode="ID", resultCode=code)
            doc = self._routing_result(rid, hub, config, result, creator, code, created)
            if result["routing"] and result["routing"][0]["trips"][1:-1]:
                histories.append(self._routing_move(rid, result, creator, created + 600))
                doc["totalResultHistories"] = 1
            results.append(doc)
        return results, histories

    def _routing_result(
        self, rid: str, hub: Doc, config: Doc, result: Doc, creator: Doc, code: str, created: int
    ) -> Doc:
        routed = result["summary"]["routedVisits"]
        dropped = result["summary"]["droppedVisits"]
        return {
            "_id": rid,
            "name": f"Routing {datetime.fromtimestamp(created, UTC):%m-%d %H:%M}",
            "status": "done",
            "resultCode": code,
            "routingDate": day_of(created + 86400),
            "hubId": hub["_id"],
            "hubCoordinate": f"{hub['lat']},{hub['lng']}",
            "configurationId": None,
            "configuration": config,
            "result": result,
            "resultTotal": {"routing": routed, "dropped": dropped, "total": routed + dropped},
            "organizationId": self.org_id,
            "createdBy": creator["_id"],
            "user": {"name": creator["name"]},
            "createdFrom": "WEB",
            "dispatchStatus": "done",
            "dispatchMessage": "Dispatched",
            "isShown": True,
            "totalResultHistories": 0,
            "finishTime": iso(created + 120),
            "createdTime": iso(created),
            "updatedTime": iso(created + 120),
        }

    def _routing_move(self, rid: str, result: Doc, creator: Doc, at: int) -> Doc:
        """A routing result's history entry: its first visit moved to the first vehicle."""
        moved = result["routing"][0]["trips"][1]
        others = result["routing"][1:]
        return {
            "_id": self.oid(at),
            "resultId": rid,
            "action": "move",
            "description": f" Visit  moved to vehicle "
            f"{result['routing'][0]['vehicleName']} by {creator['name']}",
            "visits": [{"visitId": moved["visitId"], "visitName": moved["visitName"]}],
            "vehicleFrom": others[0]["vehicleName"] if others else "dropped",
            "vehicleTo": result["routing"][0]["vehicleName"],
            "createdFrom": "WEB",
            "createdType": "individualMove",
            "createdBy": creator["name"],
            "version": 1,
            "organizationId": self.org_id,
            "createdTime": iso_z(at),
            "updatedTime": iso_z(at, self.rng.randrange(1_000_000)),
        }


#: the demo routing results' configuration (``capacityConstraint`` added per result)
_ROUTING_CONFIG: Doc = {
    "name": "Configuration Default",
    "capacityConstraint": None,
    "multitrip": False,
    "returnToHub": True,
    "clustering": False,
    "useAllVehicle": False,
    "autoSpeed": False,
    "defaultSpeed": 25,
    "defaultVisitTime": 10,
    "autoSplit": "none",
    "useOddEven": False,
}


def _visit_of(t: Doc) -> Doc:
    """A routed task as the optimisation's visit (its id: ``taskId-<task id>``)."""
    return {
        "id": f"taskId-{t['_id']}",
        "name": t["title"],
        "address": t["content"],
        "coordinate": t["expectedCoordinate"],
        "visitTime": t.get("duration", 10),
        "capacity": {
            "weight": t.get("packageWeight", t.get("beratKg", 1)),
            "volume": round(0.02 + t.get("duration", 10) / 500, 2),
        },
        "tags": [],
    }
