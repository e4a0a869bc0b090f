"""The demo organisation is coherent by construction (issue 24, items 1-6).

>>> sorted(STANDARD_TASK_KEYS)[:3]
['appVersion', 'assignedVehicleId', 'eta']

Every invariant is asserted over the whole seeded org, for every seed and size the test
suite serves (the digests' keyword arguments and ``tests/conftest.py``'s sandboxes), read
through the sandbox's HTTP API on a real loopback socket; and again after a planner run
(``POST /routing`` with a hub's own fleet, then ``POST /dispatch``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from milekit.sandbox import Sandbox
from milekit.sandbox.seed.base import ts_of
from tests.sandbox.test_seed_digest import DIGESTS

Doc = dict[str, Any]

#: every seed/size the suite serves: the pinned digests and conftest's sandboxes
ORGS: list[dict[str, Any]] = [kw for kw, _ in DIGESTS] + [{"tasks": 2500}, {"tasks": 300}]
#: keys every task carries, null where unset (docs/api-notes.md note 52)
STANDARD_TASK_KEYS = frozenset(
    (
        "routePlannedOrder",
        "routingResultId",
        "eta",
        "etd",
        "assignedVehicleId",
        "refId",
        "geoLock",
        "updatedBy",
        "appVersion",
    )
)
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: ``etaStr``/``etdStr``: ``H:MM:SS``, the hour unpadded (note 53)
H_MM_SS = re.compile(r"^(\d|1\d|2[0-3]):[0-5]\d:[0-5]\d$")
TAG = re.compile(r"^(DRY|FRZ)-[A-Z0-9]+$")
DRIVER = re.compile(r'^"(DRY|FRZ)" \S')
OUTCOMES = {"PENDING", "BATAL", "TERIMA SEBAGIAN"}
WIB = 7 * 3600


@dataclass
class OrgView:
    """The org as its API answers it."""

    sb: Sandbox
    http: requests.Session
    users: dict[str, Doc]  #: by e-mail
    vehicles: dict[str, Doc]
    tasks: dict[str, Doc]
    results: list[Doc]  #: GET /result/{id}, each
    starts: list[Doc]  #: location-history trip starts

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(self.sb.url + path, params=params)
        assert r.status_code == 200, (path, r.text[:300])
        return r.json()


def _pages(http: requests.Session, url: str, key: str | None) -> list[Doc]:
    out: list[Doc] = []
    page = 1
    while True:
        body = http.get(url, params={"limit": 1000, "page": page}).json()
        listing = body[key] if key else body
        out += listing["data"]
        if page >= listing["last_page"]:
            return out
        page += 1


def _read(sb: Sandbox, http: requests.Session) -> OrgView:
    users = {u["email"]: u for u in http.get(sb.url + "/users").json()["data"]}
    vehicles = {v["_id"]: v for v in _pages(http, sb.url + "/vehicles", None)}
    tasks = {t["_id"]: t for t in _pages(http, sb.url + "/tasks", "tasks")}
    listed = _pages(http, sb.url + "/results", "data")
    results = [http.get(f"{sb.url}/result/{x['_id']}").json()["data"] for x in listed]
    points = _pages(http, sb.url + "/location-histories", "tasks")
    starts = [p for p in points if "startTime" in p]
    return OrgView(sb, http, users, vehicles, tasks, results, starts)


@pytest.fixture(scope="module", params=ORGS, ids=lambda kw: str(kw) or "default")
def org(request: pytest.FixtureRequest) -> Iterator[OrgView]:
    with Sandbox(**request.param, rate_limit=None) as sb, requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {sb.token}"
        yield _read(sb, http)


def _seconds(value: Any) -> int:
    """Seconds after midnight of a time of day (``08:34:00``, ``08:34``, ``8:34``)."""
    h, m, *s = str(value).split(":")
    return int(h) * 3600 + int(m) * 60 + (int(s[0]) if s else 0)


def _same_time(task_value: Any, trip_value: Any) -> bool:
    """A task's time equals its trip's; to the minute when the task spells it without
    seconds (``mixed_datetimes``)."""
    if str(task_value).count(":") == 2:
        return _seconds(task_value) == _seconds(trip_value)
    return _seconds(task_value) // 60 == _seconds(trip_value) // 60


def _instant(value: str) -> int:
    ts = ts_of(value)
    assert ts is not None, value
    return ts


# --- item 1: routes go to active drivers of their hub, in their vehicle -------------------


def check_routes(o: OrgView, results: list[Doc]) -> None:
    for res in results:
        for route in res["result"]["routing"]:
            driver = o.users.get(route["assignee"])
            assert driver is not None, (res["_id"], route["vehicleName"], route["assignee"])
            assert driver["status"] == "active" and driver["role"]["name"] == "Field Worker"
            assert res["hubId"] in driver["hubId"]
            vehicle = o.vehicles[route["vehicleId"]]
            assert vehicle["assignee"] == route["assignee"] and vehicle["hubId"] == res["hubId"]


def check_routed_tasks(o: OrgView, results: list[Doc]) -> None:
    """Each routed task's routing fields equal its trip; a dropped one has none."""
    by_id = {r["_id"]: r for r in results}
    for res in results:
        for route in res["result"]["routing"]:
            for trip in route["trips"]:
                if trip["isHub"]:
                    continue
                t = o.tasks[trip["visitId"].removeprefix("taskId-")]
                assert t["routingResultId"] == res["_id"]
                assert t["routePlannedOrder"] == trip["order"]
                assert _same_time(t["eta"], trip["eta"]) and _same_time(t["etd"], trip["etd"])
                assert t["assignedVehicleId"] == route["vehicleId"]
                assert route["assignee"] in t["assignee"]
        for d in res["result"]["dropped"]:
            t = o.tasks[d["visitId"].removeprefix("taskId-")]
            assert (t["routePlannedOrder"], t["eta"], t["etd"]) == (None, None, None)
    for t in o.tasks.values():
        if t["routingResultId"] is not None:
            assert t["routingResultId"] in by_id, t["_id"]
        else:
            assert (t["routePlannedOrder"], t["eta"], t["etd"]) == (None, None, None), t["_id"]


# --- item 2: trips' time windows ----------------------------------------------------------


def check_time_windows(results: list[Doc]) -> None:
    for res in results:
        for route in res["result"]["routing"]:
            for trip in route["trips"]:
                if trip["isHub"]:
                    continue
                tw = trip["timeWindow"]
                assert set(tw) == {"startTime", "endTime"}, tw
                assert HHMM.match(tw["startTime"]) and HHMM.match(tw["endTime"]), tw


# --- item 3: a task's vehicle is its assignee's ---------------------------------------------


def check_task_vehicles(o: OrgView) -> None:
    with_vehicle = [t for t in o.tasks.values() if t["assignedVehicleId"] is not None]
    wrong = [
        t["_id"]
        for t in with_vehicle
        if o.vehicles[t["assignedVehicleId"]].get("assignee") not in (t.get("assignee") or [])
    ]
    assert len(wrong) * 190 < len(with_vehicle) or not wrong, wrong[:5]
    for t in with_vehicle:
        embed = t["assignedVehicle"]
        assert embed is None or embed["_id"] == t["assignedVehicleId"]


# --- item 4: times of day in the hub's local day ------------------------------------------


def check_local_day(o: OrgView) -> None:
    done = [_instant(t["doneTime"]) for t in o.tasks.values() if t.get("doneTime")]
    hours = Counter((ts + WIB) % 86400 // 3600 for ts in done)
    daytime = sum(n for h, n in hours.items() if 7 <= h < 18)
    assert daytime >= 0.9 * len(done), sorted(hours.items())
    for t in o.tasks.values():
        if t["eta"] is not None:
            assert _seconds(t["eta"]) <= _seconds(t["etd"]), (t["_id"], t["eta"], t["etd"])


# --- item 5: shapes -----------------------------------------------------------------------


def check_shapes(o: OrgView, results: list[Doc]) -> None:
    for t in o.tasks.values():
        missing = STANDARD_TASK_KEYS - set(t)
        assert not missing, (t["_id"], missing)
        app = t["appVersion"]
        assert app is None or (isinstance(app["name"], str) and isinstance(app["version"], int))
    for res in results:
        assert res["summary"] == res["result"]["summary"] and res["status"] == "done"
        for route in res["result"]["routing"]:
            for trip in route["trips"]:
                assert H_MM_SS.match(trip["etaStr"]) and H_MM_SS.match(trip["etdStr"]), trip
                assert _seconds(trip["etaStr"]) == _seconds(trip["eta"])
    assert {u["status"] for u in o.users.values()} <= {"active", "inactive"}
    assert all("status" in u for u in o.users.values())


def check_tracked_time(o: OrgView) -> None:
    """Trip start/finish records carry ``trackedTime`` seconds, some negative (note 27)."""
    assert all(isinstance(p["trackedTime"], float) for p in o.starts)
    if len(o.starts) >= 10:
        assert any(p["trackedTime"] < 0 for p in o.starts)


# --- item 6: the conventions real tools rely on -------------------------------------------


def check_conventions(o: OrgView) -> None:
    for v in o.vehicles.values():
        assert v["tags"] and all(TAG.match(tag) for tag in v["tags"]), v["tags"]
        if v.get("assignee"):
            name = o.users[v["assignee"]]["name"]
            assert name.startswith(f'"{v["tags"][0].split("-")[0]}" '), (name, v["tags"])
    for u in o.users.values():
        if u["role"]["name"] == "Field Worker":
            assert DRIVER.match(u["name"]), u["name"]
    labels = Counter(lab for t in o.tasks.values() for lab in t["label"])
    if len(o.tasks) >= 300:
        assert OUTCOMES <= set(labels), labels
    for t in o.tasks.values():
        outcome = OUTCOMES & set(t["label"])
        if "PENDING" in outcome:
            assert t["status"] != "DONE"
        if outcome - {"PENDING"}:
            assert t["status"] == "DONE" and t["flow"] == "Delivery"


def check_all(o: OrgView) -> None:
    check_routes(o, o.results)
    check_routed_tasks(o, o.results)
    check_time_windows(o.results)
    check_task_vehicles(o)
    check_local_day(o)
    check_shapes(o, o.results)
    check_conventions(o)


def test_the_seeded_org_is_coherent(org: OrgView) -> None:
    assert org.results and any(t["routingResultId"] for t in org.tasks.values())
    check_all(org)
    check_tracked_time(org)


def test_a_planner_run_keeps_the_org_coherent() -> None:
    """Plan a hub's open tasks on its own fleet (the request names no drivers: each route
    takes its stored vehicle's), dispatch it: the invariants still hold."""
    with Sandbox(tasks=300, seed=2, rate_limit=None) as sb, requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {sb.token}"
        before = _read(sb, http)
        hub = max(
            sb.store.values("hubs"),
            key=lambda h: sum(1 for v in before.vehicles.values() if v["hubId"] == h["_id"]),
        )
        fleet = [v for v in before.vehicles.values() if v["hubId"] == hub["_id"]]
        fleet = [v for v in fleet if v.get("assignee")]
        open_tasks = [
            t
            for t in before.tasks.values()
            if t["hubId"] == hub["_id"] and t["status"] == "UNASSIGNED"
        ][:12]
        assert fleet and open_tasks
        body = {
            "hubId": hub["_id"],
            "visits": [
                {
                    "id": f"taskId-{t['_id']}",
                    "name": t["title"],
                    "address": t["content"],
                    "coordinate": t["expectedCoordinate"],
                }
                for t in open_tasks
            ],
            "vehicles": [
                {k: v[k] for k in ("name", "speed", "workingTime", "tags")} | {"id": v["_id"]}
                for v in fleet
            ],
            "configuration": {"returnToHub": True},
        }
        made = http.post(sb.url + "/routing", json=body)
        assert made.status_code == 200, made.text
        rid = made.json()["data"]["_id"]
        sent = http.post(sb.url + "/dispatch", json={"resultId": rid}).json()
        assert sent["failed"] == 0 and sent["success"] == len(open_tasks)
        after = _read(sb, http)
        new = [r for r in after.results if r["_id"] == rid]
        assert new[0]["result"]["routing"]
        check_all(after)
