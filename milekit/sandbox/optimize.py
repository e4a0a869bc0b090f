"""A small, deterministic route planner: what the sandbox answers to ``POST /routing``.

>>> hub = (-6.2, 106.8)
>>> visits = [{"id": "taskId-a", "name": "A", "address": "x", "coordinate": "-6.21,106.81"},
...           {"id": "taskId-b", "name": "B", "address": "y", "coordinate": "-6.25,106.85"}]
>>> vehicles = [{"id": "v1", "name": "B 1234 XY", "speed": 30}]
>>> out = plan("h1", hub, visits, vehicles, {"returnToHub": True})
>>> [t["visitId"] for t in out["routing"][0]["trips"]], out["summary"]["routedVisits"]
(['hub-h1', 'taskId-a', 'taskId-b', 'hub-h1'], 2)

Greedy nearest-neighbour per vehicle (cheapest ``fixedCost`` first) under the documented
constraints: matching tags, capacities (``configuration.capacityConstraint``), time
windows and the vehicle's working time. Unplaced visits are ``dropped`` with a reason.
Distances are great-circle metres x 1.3 (roads are not straight); times are minutes.
The shapes follow the routing-result object of note 46.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

Doc = dict[str, Any]

ROAD_FACTOR = 1.3


def coord(value: Any) -> tuple[float, float] | None:
    """``(lat, lng)`` from ``"lat,lng"``, None if unparseable."""
    if not isinstance(value, str) or "," not in value:
        return None
    a, _, b = value.partition(",")
    try:
        return float(a), float(b)
    except ValueError:
        return None


def _dict(value: Any) -> Doc:
    return value if isinstance(value, dict) else {}


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Road-ish distance in metres between two points.

    >>> distance_m((-6.2, 106.8), (-6.2, 106.8))
    0
    """
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return round(2 * 6_371_000 * math.asin(math.sqrt(min(1.0, h))) * ROAD_FACTOR)


def minutes(value: Any, default: int) -> int:
    """Minutes of a time of day (``"08:00"``, ``"8:00:00"``)."""
    if not isinstance(value, str) or ":" not in value:
        return default
    parts = value.strip().split(":")
    try:
        return int(parts[0]) * 60 + int(parts[1])
    except ValueError:
        return default


def clock(mins: float) -> str:
    """``"08:34:00"`` for minutes after midnight (wraps at 24 h)."""
    total = round(mins * 60) % 86400
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def clock_str(mins: float) -> str:
    """A trip's ``etaStr``/``etdStr``: ``H:MM:SS``, the hour unpadded (docs/api-notes.md
    note 53).

    >>> clock_str(8 * 60 + 34.5), clock_str(13 * 60)
    ('8:34:30', '13:00:00')
    """
    return clock(mins).removeprefix("0")


def hh_mm(mins: int) -> str:
    """``"08:00"`` for minutes after midnight (a time window's spelling, note 54)."""
    return f"{mins // 60 % 24:02d}:{mins % 60:02d}"


def _capacity(vehicle: Doc, name: str) -> tuple[float, float]:
    cap = (vehicle.get("capacity") or {}).get(name)
    if isinstance(cap, dict):
        lo, hi = cap.get("min", 0), cap.get("max", math.inf)
        return float(lo or 0), float(hi if hi is not None else math.inf)
    if isinstance(cap, (int, float)) and not isinstance(cap, bool):
        return 0.0, float(cap)
    return 0.0, math.inf


def _load(visit: Doc, name: str) -> float:
    v = (visit.get("capacity") or {}).get(name, 0)
    try:
        return float(v or 0)
    except (TypeError, ValueError):
        return 0.0


def _trip_load(trip: Doc, name: str) -> float:
    """A planned stop's load: trips carry each constraint's value at their top level."""
    v = trip.get(name, 0)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def _window(visit: Doc) -> tuple[int, int]:
    windows = visit.get("timeWindows")
    tw = windows[0] if isinstance(windows, list) and windows else visit.get("timeWindow")
    if not isinstance(tw, dict):
        return 0, 24 * 60
    return minutes(tw.get("startTime"), 0), minutes(tw.get("endTime"), 24 * 60)


def _tags_ok(visit: Doc, vehicle: Doc) -> bool:
    tags = visit.get("tags") or []
    return not tags or bool(set(tags) & set(vehicle.get("tags") or []))


def _visit_time(visit: Doc, default: int) -> int:
    try:
        return int(float(visit.get("visitTime", default)))
    except (TypeError, ValueError):
        return default


def plan(
    hub_id: str,
    hub: tuple[float, float],
    visits: Sequence[Doc],
    vehicles: Sequence[Doc],
    config: Doc,
    known: Mapping[str, Doc] | None = None,
) -> Doc:
    """``{"routing": [...], "dropped": [...], "summary": {...}}`` for the request.

    ``known``: the organisation's vehicles by id; a requested vehicle that names no
    ``assignee`` is driven by the one its stored vehicle is assigned to (note 52).
    """
    p = _Planner(hub_id, hub, visits, config)
    routing = [
        route
        for vehicle in sorted(vehicles, key=lambda v: v.get("fixedCost") or 0)
        if (route := p.route(_with_driver(vehicle, known or {}))) is not None
    ]
    dropped = p.dropped()
    return {
        "routing": routing,
        "dropped": dropped,
        "summary": summarise(routing, dropped, len(vehicles), p.constraints, vehicles),
    }


def _with_driver(vehicle: Doc, known: Mapping[str, Doc]) -> Doc:
    if vehicle.get("assignee"):
        return vehicle
    stored = known.get(str(vehicle.get("id") or vehicle.get("_id")))
    if stored is None or not stored.get("assignee"):
        return vehicle
    return dict(vehicle, assignee=stored["assignee"])


class _Planner:
    """Nearest-feasible-visit routes, one vehicle after the other (cheapest first)."""

    def __init__(
        self, hub_id: str, hub: tuple[float, float], visits: Sequence[Doc], config: Doc
    ) -> None:
        self.hub_id, self.hub = hub_id, hub
        self.constraints = [c for c in config.get("capacityConstraint") or [] if isinstance(c, str)]
        self.default_speed = int(config.get("defaultSpeed") or 25)
        self.default_visit = int(config.get("defaultVisitTime") or 10)
        self.return_to_hub = config.get("returnToHub", True) is not False
        self.pending = list(visits)
        self.reasons: dict[str, str] = {}

    def route(self, vehicle: Doc) -> Doc | None:
        """The vehicle's route through the visits still pending (None: it takes none)."""
        speed = int(float(vehicle.get("speed") or self.default_speed)) or self.default_speed
        wt = _dict(vehicle.get("workingTime"))
        start, end = minutes(wt.get("startTime"), 8 * 60), minutes(wt.get("endTime"), 17 * 60)
        here, now = self.hub, float(start)
        loads = dict.fromkeys(self.constraints, 0.0)
        trips = [_hub_node(self.hub_id, self.hub, self.constraints, now, 0, 0, 0)]
        while (best := self._nearest(vehicle, here, now, loads, speed, end)) is not None:
            d, visit = best
            self.pending.remove(visit)
            self.reasons.pop(str(visit.get("id")), None)
            for c in self.constraints:
                loads[c] += _load(visit, c)
            trip, now = self._trip(visit, d, now, speed, len(trips), (start, end))
            trips.append(trip)
            here = coord(visit["coordinate"]) or here
        if len(trips) == 1:
            return None
        if self.return_to_hub:
            d = distance_m(here, self.hub)
            travel = d / 1000 / speed * 60
            now += travel
            hub_id, hub, n = self.hub_id, self.hub, len(trips)
            trips.append(_hub_node(hub_id, hub, self.constraints, now, round(travel), d, n))
        return _vehicle_route(vehicle, trips, self.constraints, speed)

    def _nearest(
        self,
        vehicle: Doc,
        here: tuple[float, float],
        now: float,
        loads: dict[str, float],
        speed: int,
        end: float,
    ) -> tuple[int, Doc] | None:
        """The nearest visit the vehicle can still take; why each other one cannot."""
        best: tuple[int, Doc] | None = None
        for visit in self.pending:
            key = str(visit.get("id"))
            point = coord(visit.get("coordinate"))
            if point is None:
                self.reasons[key] = "Invalid coordinate"
                continue
            if not _tags_ok(visit, vehicle):
                self.reasons.setdefault(key, "No vehicle with matching tags")
                continue
            if any(loads[c] + _load(visit, c) > _capacity(vehicle, c)[1] for c in self.constraints):
                self.reasons[key] = "Dropped due to constraint"
                continue
            d = distance_m(here, point)
            arrive = now + d / 1000 / speed * 60
            lo, hi = _window(visit)
            done = max(arrive, lo) + _visit_time(visit, self.default_visit)
            back = distance_m(point, self.hub) / 1000 / speed * 60 if self.return_to_hub else 0
            if arrive > hi or done + back > end:
                self.reasons[key] = "Outside the time window or working time"
                continue
            if best is None or d < best[0]:
                best = (d, visit)
        return best

    def _trip(
        self, visit: Doc, d: int, now: float, speed: int, order: int, working: tuple[int, int]
    ) -> tuple[Doc, float]:
        """The trip to ``visit`` (``d`` metres away) and the time the vehicle leaves it;
        a visit without a time window is given the vehicle's working time (note 54)."""
        travel = d / 1000 / speed * 60
        arrive = now + travel
        lo, _hi = _window(visit)
        wait = max(0.0, lo - arrive)
        vt = _visit_time(visit, self.default_visit)
        trip: Doc = {
            "visitId": visit.get("id"),
            "visitName": visit.get("name"),
            "address": visit.get("address"),
            "coordinate": visit.get("coordinate"),
            "tags": list(visit.get("tags") or []),
            "isHub": False,
            "allowOddEven": True,
            "timeWindow": _tw_out(visit, working),
        }
        for c in _loads(self.constraints):
            trip[c] = _load(visit, c)
        trip.update(
            travelTime=round(travel),
            visitTime=vt,
            waitingTime=round(wait),
            eta=clock(arrive),
            etd=clock(arrive + wait + vt),
            etaStr=clock_str(arrive),  # real trips carry the times as text too (note 26)
            etdStr=clock_str(arrive + wait + vt),
            distance=d,
            order=order,
        )
        return trip, arrive + wait + vt

    def dropped(self) -> list[Doc]:
        """The visits no vehicle took, each with the reason."""
        out = []
        for visit in self.pending:
            item = dict(visit)
            item.update(
                visitId=visit.get("id"),
                visitName=visit.get("name"),
                isHub=False,
                reason=self.reasons.get(str(visit.get("id")), "No vehicle available"),
            )
            out.append(item)
        return out


def _tw_out(visit: Doc, working: tuple[int, int]) -> Doc:
    """A trip's ``timeWindow``: always two ``HH:MM`` times (note 54)."""
    lo, hi = _window(visit)
    if (lo, hi) == (0, 24 * 60):
        lo, hi = working
    return {"startTime": hh_mm(lo), "endTime": hh_mm(min(hi, 24 * 60 - 1))}


def _hub_node(
    hub_id: str,
    hub: tuple[float, float],
    constraints: list[str],
    at: float,
    travel: int,
    dist: int,
    order: int,
) -> Doc:
    node: Doc = {
        "visitId": f"hub-{hub_id}",
        "coordinate": f"{hub[0]},{hub[1]}",
        "isHub": True,
    }
    for c in _loads(constraints):
        node[c] = 0
    node.update(
        travelTime=travel,
        visitTime=0,
        waitingTime=0,
        eta=clock(at),
        etd=clock(at),
        etaStr=clock_str(at),
        etdStr=clock_str(at),
        distance=dist,
        order=order,
    )
    return node


def _loads(constraints: Sequence[str]) -> list[str]:
    """The loads a route and its trips report: weight and volume always (note 26), then
    any other constraint planned with."""
    return ["weight", "volume", *(c for c in constraints if c not in ("weight", "volume"))]


def _vehicle_route(vehicle: Doc, trips: list[Doc], constraints: list[str], speed: int) -> Doc:
    visits = [t for t in trips if not t.get("isHub")]
    wt = _dict(vehicle.get("workingTime"))
    route: Doc = {
        "vehicleId": vehicle.get("id") or vehicle.get("_id"),
        "vehicleName": vehicle.get("name"),
        "assignee": vehicle.get("assignee"),
        "workingTime": {
            "startTime": wt.get("startTime", "08:00"),
            "endTime": wt.get("endTime", "17:00"),
        },
        "vehicleTags": list(vehicle.get("tags") or []),
        "isOddEven": vehicle.get("oddEven") in ("odd", "even"),
        "oddEven": vehicle.get("oddEven"),
        "breakTime": _break_time(vehicle),
        "finishTime": trips[-1]["etd"],
        "totalTrips": 1,  # one departure from the hub (no multitrip)
        "trips": trips,
    }
    for c in _loads(constraints):
        lo, hi = _capacity(vehicle, c)
        total = round(sum(_trip_load(t, c) for t in visits), 6)
        name = c[:1].upper() + c[1:]
        route[f"total{name}"] = total
        route[f"vehicleMax{name}"] = hi if math.isfinite(hi) else 0
        route[f"vehicleMin{name}"] = lo
        pct = round(100 * total / hi, 1) if math.isfinite(hi) and hi else 0
        route[f"{c}Percentage"] = f"{pct:g}%"  # text such as "97.5%" (note 26)
    route.update(totals(trips), speed=speed, fixedCost=vehicle.get("fixedCost") or 0)
    return route


def _break_time(vehicle: Doc) -> Doc | None:
    bt = vehicle.get("breakTime")
    if isinstance(bt, list) and bt:
        bt = bt[0]
    if not isinstance(bt, dict):
        return None
    return {"startTime": bt.get("startTime"), "endTime": bt.get("endTime")}


def totals(trips: list[Doc]) -> Doc:
    """A vehicle's ``total*`` keys, summed from its trips."""
    visits = [t for t in trips if not t.get("isHub")]
    travel = sum(int(t.get("travelTime") or 0) for t in trips)
    visit_time = sum(int(float(t.get("visitTime") or 0)) for t in trips)
    waiting = sum(int(t.get("waitingTime") or 0) for t in trips)
    return {
        "totalNodes": len(trips),
        "totalVisits": len(visits),
        "totalTravelTime": travel,
        "totalDistance": sum(int(t.get("distance") or 0) for t in trips),
        "totalVisitTime": visit_time,
        "totalWaitingTime": waiting,
        "totalSpentTime": travel + visit_time + waiting,
    }


def summarise(
    routing: Sequence[Doc],
    dropped: Sequence[Doc],
    total_vehicles: int,
    constraints: Sequence[str] = (),
    vehicles: Sequence[Doc] = (),
) -> Doc:
    """The ``summary`` of a plan, recomputed from its trips (``PUT /result`` uses it too)."""
    routed = sum(
        1
        for r in routing
        for t in r.get("trips") or []
        if isinstance(t, dict) and not t.get("isHub")
    )
    finishes = []
    for r in routing:
        trips = [t for t in r.get("trips") or [] if isinstance(t, dict)]
        if trips:
            finishes.append(minutes(trips[-1].get("etd"), 0))
    sums = [totals([t for t in r.get("trips") or [] if isinstance(t, dict)]) for r in routing]
    distance = sum(t["totalDistance"] for t in sums)
    travel = sum(t["totalTravelTime"] for t in sums)
    used = len([r for r in routing if r.get("trips")])
    cap = []
    for c in constraints:
        optimized = round(
            sum(
                _trip_load(t, c)
                for r in routing
                for t in r.get("trips") or []
                if isinstance(t, dict)
            ),
            6,
        )
        available = sum(h for v in vehicles for h in [_capacity(v, c)[1]] if math.isfinite(h))
        pct = round(100 * optimized / available, 1) if available else 0
        cap.append({"name": c, "optimized": optimized, "available": available, "percentage": pct})
    return {
        "routedVisits": routed,
        "droppedVisits": len(dropped),
        "totalVisits": routed + len(dropped),
        "usedVehicles": used,
        "unusedVehicles": max(0, total_vehicles - used),
        "totalVehicles": total_vehicles,
        "totalDistance": distance,
        "totalTravelTime": travel,
        "totalVisitTime": sum(t["totalVisitTime"] for t in sums),
        "totalWaitingTime": sum(t["totalWaitingTime"] for t in sums),
        "totalSpentTime": sum(t["totalSpentTime"] for t in sums),
        "minFinishTime": clock(min(finishes)) if finishes else None,
        "maxFinishTime": clock(max(finishes)) if finishes else None,
        "avgFinishTime": clock(sum(finishes) / len(finishes)) if finishes else None,
        "avgSpeed": round(distance / 1000 / (travel / 60)) if travel else 0,
        "capacityConstraint": cap,
    }
