"""Routing results: each plans one hub's day, its tasks on the vehicles of the drivers they
are assigned to; and the history of a result's manual moves.

>>> from milekit.sandbox.seed import build_org
>>> org = build_org(seed=7, tasks=300)
>>> {r["_id"] for r in org.routing_results} == {
...     t["routingResultId"] for t in org.tasks if t["routingResultId"]}
True

The plan is :func:`~milekit.sandbox.seed.plans.plan_of` of the result's tasks, the one
the tasks took their ``eta``, ``etd`` and ``routePlannedOrder`` from (docs/api-notes.md
note 52).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from milekit.sandbox.seed.base import (
    Doc,
    day_of,
    iso,
    iso_z,
)
from milekit.sandbox.seed.extras import Extras
from milekit.sandbox.seed.plans import ROUTING_CONFIG, fleet_of, plan_of


class RoutingSeed(Extras):
    """The routing results and their histories."""

    def routing_results(self) -> tuple[list[Doc], list[Doc]]:
        groups: dict[str, list[Doc]] = defaultdict(list)
        for t in self.org.tasks:
            if t["routingResultId"] is not None:
                groups[t["routingResultId"]].append(t)
        hubs = {h["_id"]: h for h in self.hubs}
        users = {u["_id"]: u for u in self.dispatchers}
        results: list[Doc] = []
        histories: list[Doc] = []
        for rid in sorted(groups, key=lambda r: (r[:8], r)):
            hub = hubs[groups[rid][0]["hubId"]]
            result = plan_of(hub, groups[rid], fleet_of(self.org, hub["_id"]))
            created = int(rid[:8], 16)
            creator = users[self.rng.choice(sorted(users))]
            code = f"Route-{day_of(created).replace('-', '')}-{len(results) + 1:03d}"
            result.update(countryCode="ID", resultCode=code)
            doc = self._routing_result(
                rid, hub, dict(ROUTING_CONFIG), result, creator, code, created
            )
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
            "summary": result["summary"],  # at the top too (note 26)
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
