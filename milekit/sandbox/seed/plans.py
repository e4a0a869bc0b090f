"""The demo organisation's route plans: one hub's routed tasks on that hub's own fleet, each
task on the vehicle of the driver it is assigned to.

>>> import random
>>> from milekit.sandbox.seed.org import build_static
>>> org = build_static(random.Random(7))
>>> hub = org.hubs[0]
>>> fleet = fleet_of(org, hub["_id"])
>>> users = {u["email"]: u for u in org.users}
>>> all(users[v["assignee"]]["status"] == "active" for v in fleet)
True
>>> task = {"_id": "t1", "title": "Stop", "content": "Jl. X", "hubId": hub["_id"],
...         "expectedCoordinate": f"{hub['lat'] + 0.01},{hub['lng']}",
...         "assignedVehicleId": fleet[0]["_id"]}
>>> plan = plan_of(hub, [task], fleet)
>>> route = plan["routing"][0]
>>> route["assignee"] == fleet[0]["assignee"], route["trips"][1]["visitId"]
(True, 'taskId-t1')

Planning a seeded result is a pure function of the tasks it routes and the fleet, so the
tasks (which take their trips' ``eta``, ``etd`` and order) and the result documents, built
later from another random stream, agree by construction (docs/api-notes.md note 52).
"""

from __future__ import annotations

from milekit.sandbox import optimize
from milekit.sandbox.seed.base import Doc, Org

#: the demo routing results' configuration
ROUTING_CONFIG: Doc = {
    "name": "Configuration Default",
    "capacityConstraint": ["weight", "volume"],
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


def fleet_of(org: Org, hub_id: str) -> list[Doc]:
    """The hub's vehicles driven by an active field worker of the hub (in seed order)."""
    users = {u["email"]: u for u in org.users}
    out = []
    for v in org.vehicles:
        driver = users.get(v.get("assignee") or "")
        if (
            v["hubId"] == hub_id
            and driver is not None
            and driver["status"] == "active"
            and driver["role"]["name"] == "Field Worker"
            and hub_id in driver["hubId"]
        ):
            out.append(v)
    return out


def visit_of(t: Doc) -> Doc:
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


def plan_of(hub: Doc, tasks: list[Doc], fleet: list[Doc]) -> Doc:
    """``{"routing", "dropped", "summary"}``: each vehicle of ``fleet`` routes the tasks
    assigned to it (a task on no vehicle of the fleet is dropped)."""
    config = ROUTING_CONFIG
    where = (hub["lat"], hub["lng"])
    routing: list[Doc] = []
    dropped: list[Doc] = []
    ids = {v["_id"] for v in fleet}
    for v in fleet:
        mine = [visit_of(t) for t in tasks if t.get("assignedVehicleId") == v["_id"]]
        if not mine:
            continue
        one = optimize.plan(hub["_id"], where, mine, [dict(v, id=v["_id"])], config)
        routing += one["routing"]
        dropped += one["dropped"]
    for t in tasks:
        if t.get("assignedVehicleId") not in ids:
            visit = visit_of(t)
            dropped.append(
                dict(visit, visitId=visit["id"], visitName=visit["name"], isHub=False)
                | {"reason": "No vehicle available"}
            )
    constraints = list(config["capacityConstraint"])
    summary = optimize.summarise(routing, dropped, len(fleet), constraints, fleet)
    return {"routing": routing, "dropped": dropped, "summary": summary}
