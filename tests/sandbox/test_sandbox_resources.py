"""Behaviour of the sandbox's non-task resources, over a real loopback socket.

Per resource family: list paging and limits, detail, create -> get -> update -> get ->
delete -> 404, validation messages; then the actions (routing, dispatch, reorder, flow
restore, automation retries, member unlock, tracking tokens, uploads, exports, imports).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from milekit.sandbox import Sandbox, build_org
from milekit.sandbox.app import SandboxApp
from milekit.sandbox.store import Store
from milekit.sandbox.xlsx import read as read_xlsx
from tests.reference import PAGINATOR_KEYS
from tests.sandbox.conftest import AUTH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ro() -> Iterator[Sandbox]:
    """A read-only org for this module (no rate limit: the list walks are many calls)."""
    with Sandbox(tasks=400, seed=3, rate_limit=None) as sb:
        yield sb


def first(
    sb: Sandbox, resource: str, pred: Callable[[dict[str, Any]], bool] = lambda d: True
) -> Any:
    return next(d for d in sb.store.values(resource) if pred(d))


def worker(sb: Sandbox, k: int = 0) -> dict[str, Any]:
    return [u for u in sb.store.values("users") if u["role"]["name"] == "Field Worker"][k]


# --- the seed -----------------------------------------------------------------------------


def test_task_bytes_of_the_default_seed_are_unchanged() -> None:
    """The committed sample page (seed 7, 10,000 tasks) is still what the seed serves."""
    sample = json.loads((ROOT / "data/sample-tasks-page.json").read_text())
    app = SandboxApp(Store(build_org(seed=7, tasks=10_000)), rate_limit=None)
    _, _, body = app.call("GET", "/api/v3/tasks?limit=5")
    assert body["tasks"]["data"] == sample["tasks"]["data"]
    assert body["metadata"] == sample["metadata"]


def test_the_org_is_coherent_and_deterministic() -> None:
    one, two = build_org(seed=4, tasks=500), build_org(seed=4, tasks=500)
    assert orjson.dumps(one.resources()) == orjson.dumps(two.resources())
    assert orjson.dumps(build_org(seed=5, tasks=500).automations) != orjson.dumps(one.automations)
    tasks = {t["_id"]: t for t in one.tasks}
    hubs = {h["_id"] for h in one.hubs}
    emails = {u["email"] for u in one.users}
    flows = {f["name"]: f["_id"] for f in one.flows}
    roles = {r["_id"] for r in one.roles}
    teams = {t["_id"]: t for t in one.teams}
    assert all(u["roleId"] in roles for u in one.users)
    for u in one.users:
        assert all(t in teams and teams[t]["hubId"] in u["hubId"] for t in u["teamId"])
    assert sum(t["totalUser"] for t in teams.values()) == sum(len(u["teamId"]) for u in one.users)
    for a in one.activities:
        assert a["hubId"] in hubs and all(c in tasks for c in a["subId"])
        assert [tasks[c]["flow"] for c in a["subId"]] in (
            ["Pickup", "Delivery"],
            ["Visit", "House Inspection"],
        )
    for s in one.task_schedules:
        assert s["hubId"] in hubs and flows[s["flow"]] == s["flowId"]
        assert set(s.get("assignee", [])) <= emails
    for p in one.location_histories:
        assert p["email"] in emails and (p["taskId"] == "" or p["taskId"] in tasks)
        assert p["_id"] == f"{one.organization['id']}_{p['email']}_{p['time']}"
    assert sum(p["isLatest"] for p in one.location_histories) == len(
        {p["email"] for p in one.location_histories if "startTime" not in p}
    )
    for r in one.routing_results:
        planned = [t for v in r["result"]["routing"] for t in v["trips"] if not t["isHub"]]
        visits = [t["visitId"] for t in planned] + [d["id"] for d in r["result"]["dropped"]]
        assert {v.removeprefix("taskId-") for v in visits} == {
            t["_id"] for t in one.tasks if t.get("routingResultId") == r["_id"]
        }
        vehicles = {v["_id"] for v in one.vehicles}
        assert all(v["vehicleId"] in vehicles for v in r["result"]["routing"])
    types = {d["_id"]: d for d in one.data_types}
    for rec in one.data:
        dtype = types[rec["dataTypeId"]]
        assert rec["data_type"] == {"_id": dtype["_id"], "name": dtype["name"]}
        assert dtype["commonData"] or rec["hubId"] in hubs
    for hit in one.automation_logs:
        assert hit["_source"]["taskId"] in tasks
        assert hit["_source"]["automationId"] in {a["_id"] for a in one.automations}
    assert {g["flowId"] for g in one.flow_logs} == set(flows.values())


# --- lists: envelopes, paging, limits -----------------------------------------------------


@dataclass(frozen=True)
class Listing:
    path: str
    rows: Callable[[Any], list[Any]]
    maximum: int | None
    limit: str = "limit"
    paginator: Callable[[Any], Any] | None = None  #: where the Laravel paginator sits


LISTS = [
    Listing(
        "/task/schedules",
        lambda b: b["taskSchedules"]["data"],
        1000,
        paginator=lambda b: b["taskSchedules"],
    ),
    Listing(
        "/location-histories", lambda b: b["tasks"]["data"], 1000, paginator=lambda b: b["tasks"]
    ),
    Listing("/flows", lambda b: b["flows"]["data"], 1000, paginator=lambda b: b["flows"]),
    Listing("/flow-logs", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing("/automations", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing("/data", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing(
        "/data-types", lambda b: b["data_types"]["data"], 1000, paginator=lambda b: b["data_types"]
    ),
    Listing("/vehicles", lambda b: b["data"], 1000, paginator=lambda b: b),
    Listing("/results", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing("/teams", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing("/export-configs", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing("/import-monitoring", lambda b: b["data"]["data"], 100, paginator=lambda b: b["data"]),
    Listing("/plugins", lambda b: b["data"]["data"], 100, paginator=lambda b: b["data"]),
    Listing("/app-integrations", lambda b: b["data"]["data"], 1000, paginator=lambda b: b["data"]),
    Listing("/hubs", lambda b: b["data"], 1000),
    Listing("/activities", lambda b: b["data"]["activities"], 1000, limit="pageSize"),
    Listing("/automation-log", lambda b: b["data"], 1000),
    Listing("/tasks/export-log", lambda b: b["data"], 100),
    Listing("/tasks-gallery", lambda b: b["tasks"]["data"], 1000),
]


@pytest.mark.parametrize("listing", LISTS, ids=[x.path for x in LISTS])
def test_list_paging_and_limits(ro: Sandbox, http: requests.Session, listing: Listing) -> None:
    url = ro.url + listing.path
    everything = listing.rows(http.get(url, params={listing.limit: 100}).json())
    assert len(everything) >= 1, listing.path
    one = http.get(url, params={listing.limit: 1})
    assert one.status_code == 200 and len(listing.rows(one.json())) == 1
    if len(everything) > 1:
        second = listing.rows(http.get(url, params={listing.limit: 1, "page": 2}).json())
        assert second == everything[1:2]
    beyond = http.get(url, params={listing.limit: 5, "page": 999})
    assert beyond.status_code == 200 and listing.rows(beyond.json()) == []
    if listing.paginator is not None:
        p = listing.paginator(one.json())
        assert PAGINATOR_KEYS <= set(p) and p["per_page"] == 1 and p["total"] >= len(everything)
        assert p["path"] == url and p["first_page_url"].startswith(url + "?")
    for bad, message in (
        ("0", f"The {listing.limit.replace('pageSize', 'page size')} must be at least 1."),
        ("x", f"The {listing.limit.replace('pageSize', 'page size')} must be an integer."),
    ):
        r = http.get(url, params={listing.limit: bad})
        assert (r.status_code, r.json()) == (400, {"status": False, "message": message})
    if listing.maximum is not None:
        # above the maximum: capped to it, not refused (note 28)
        r = http.get(url, params={listing.limit: listing.maximum * 5})
        assert r.status_code == 200
        assert listing.rows(r.json()) == listing.rows(
            http.get(url, params={listing.limit: listing.maximum}).json()
        )
        if listing.paginator is not None:
            assert listing.paginator(r.json())["per_page"] == listing.maximum


def test_list_defaults_sort_spellings_and_projection(ro: Sandbox, http: requests.Session) -> None:
    flows = http.get(ro.url + "/flows").json()["flows"]["data"]
    assert [f["orderIndex"] for f in flows] == sorted(
        (f["orderIndex"] for f in flows), reverse=True
    )
    asc = http.get(ro.url + "/flows", params={"sort_by": "name", "sort_order": "asc"}).json()
    names = [f["name"] for f in asc["flows"]["data"]]
    assert names == sorted(names, key=str.lower)
    hubs = http.get(ro.url + "/hubs").json()["data"]
    assert [h["name"] for h in hubs] == sorted(h["name"] for h in hubs)  # hubs: name asc
    acts = http.get(ro.url + "/activities", params={"sort": "startTime", "order": "asc"}).json()
    starts = [a["startTime"] for a in acts["data"]["activities"]]
    assert starts == sorted(starts) and acts["data"]["perPage"] == 15
    picked = http.get(ro.url + "/automations", params={"fields": "name,event"}).json()
    assert all(set(a) <= {"_id", "name", "event"} for a in picked["data"]["data"])
    acts = http.get(ro.url + "/activities", params={"fields": "title"}).json()["data"]
    assert all(set(a) == {"_id", "organizationId", "title"} for a in acts["activities"])
    r = http.get(ro.url + "/plugins", params={"sortBy": "colour"})
    assert r.status_code == 400 and r.json()["failedCode"] == "cmod-017"
    r = http.get(ro.url + "/import-monitoring", params={"status": "done"})
    assert r.json() == {
        "status": False,
        "message": "Invalid status value",
        "failedCode": "import-003",
    }


def test_list_filters(ro: Sandbox, http: requests.Session) -> None:
    hub = first(ro, "hubs")["_id"]
    vs = http.get(ro.url + "/vehicles", params={"hubId": hub, "limit": 100}).json()["data"]
    assert vs and all(v["hubId"] == hub for v in vs)
    email = first(ro, "location_histories")["email"]
    pts = http.get(ro.url + "/location-histories", params={"email": email, "limit": 1000}).json()
    assert pts["tasks"]["total"] == sum(
        p["email"] == email for p in ro.store.values("location_histories")
    )
    starts = http.get(ro.url + "/location-histories", params={"startFinish": "true"}).json()
    assert all("startTime" in p for p in starts["tasks"]["data"])
    latest = http.get(ro.url + "/location-histories", params={"isLatest": "true", "limit": 500})
    assert (
        len({p["email"] for p in latest.json()["tasks"]["data"]}) == latest.json()["tasks"]["total"]
    )
    auto = first(ro, "automation_logs")["_source"]["automationId"]
    hits = http.get(ro.url + "/automation-log", params={"automationId": auto, "limit": 100}).json()
    assert hits["total"] and all(h["_source"]["automationId"] == auto for h in hits["data"])
    assert {"_index", "_type", "_id", "_score", "_source"} <= set(hits["data"][0])
    logs = http.get(ro.url + "/tasks/export-log", params={"limit": 100}).json()["data"]
    assert logs and {h["_source"]["email"] for h in logs} == {"admin@demo.mile.app"}
    store = first(ro, "data_types", lambda d: d["name"] == "Store")
    rows = http.get(ro.url + "/data", params={"dataTypeName": "Store", "limit": 1000}).json()
    assert rows["data"]["total"] == sum(
        d["dataTypeId"] == store["_id"] for d in ro.store.values("data")
    )
    rid = first(ro, "routing_results")["_id"]
    by_result = http.get(ro.url + "/tasks", params={"routingResultId": rid}).json()
    result = http.get(f"{ro.url}/result/{rid}").json()["data"]
    assert by_result["tasks"]["total"] == result["resultTotal"]["total"]
    gallery = http.get(ro.url + "/tasks-gallery", params={"limit": 5}).json()["tasks"]
    assert all(any(k.endswith("_url") for k in t) for t in gallery["data"])
    assert isinstance(gallery["last_page"], bool) and gallery["total_estimate"].isdigit()


# --- create -> get -> update -> get -> delete -> 404, per family --------------------------


@dataclass
class Crud:
    name: str
    create: Callable[[Sandbox], tuple[str, str, Any]]  #: method, path, json (or files)
    created: Callable[[Any], Any]  #: the new document in the create answer
    detail: str  #: with {id}
    one: Callable[[Any], Any]  #: the document in the detail answer
    update: Callable[[Sandbox, Any], tuple[str, str, Any]]
    changed: Callable[[Any], bool]  #: the re-read document shows the update
    delete: str  #: with {id}
    id_key: str = "_id"
    create_status: int = 201
    multipart: bool = False


def _hub(sb: Sandbox) -> str:
    return str(first(sb, "hubs")["_id"])


CRUDS = [
    Crud(
        "task_schedules",
        lambda sb: (
            "POST",
            "/task/schedule",
            {
                "hubId": _hub(sb),
                "name": "Nightly pickups",
                "periode": "weekly",
                "flow": "Pickup",
                "flowId": first(sb, "flows", lambda f: f["name"] == "Pickup")["_id"],
                "task": {"senderName": "Gudang"},
                "schedules": [{"day": "tuesday", "time": ["21:00", "23:00"]}],
                "startTime": "2026-11-01",
                "endTime": "2026-12-01",
            },
        ),
        lambda b: b["data"],
        "/task/schedule/{id}",
        lambda b: b["taskSchedules"],
        lambda sb, d: ("PATCH", f"/task/schedule/{d['_id']}", {"name": "Late pickups"}),
        lambda d: (
            d["name"] == "Late pickups" and d["timeSchedules"] == ["tuesday 21:00", "tuesday 23:00"]
        ),
        "/task/schedule/{id}",
        create_status=200,
    ),
    Crud(
        "location_histories",
        lambda sb: (
            "POST",
            "/location-history",
            {
                "email": worker(sb)["email"],
                "lat": "-6.2",
                "lon": "106.8",
                "speed": 20,
                "createdTime": "2026-11-02 08:00:00",
            },
        ),
        lambda b: b["location_history"],
        "/location-history/{id}",
        lambda b: b["location_history"],
        lambda sb, d: ("PATCH", f"/location-history/{d['_id']}", {"speed": 35}),
        lambda d: d["speed"] == 35 and d["lat"] == -6.2 and d["isLatest"] is True,
        "/location-history/{id}",
    ),
    Crud(
        "flows",
        lambda sb: (
            "POST",
            "/flow",
            {
                "name": "Returns",
                "pages": [
                    {
                        "id": "page0",
                        "components": [
                            {
                                "id": "reason",
                                "component": "input",
                                "inputType": "string",
                                "title": "Reason",
                            }
                        ],
                    }
                ],
            },
        ),
        lambda b: b["flow"],
        "/flow/{id}",
        lambda b: b["flow"],
        lambda sb, d: (
            "PUT",
            f"/flow/{d['_id']}",
            {
                "name": "Returns",
                "pages": [
                    {
                        "id": "page0",
                        "components": [
                            {
                                "id": "reason",
                                "component": "select",
                                "title": "Reason",
                                "options": ["Damaged", "Wrong item"],
                            }
                        ],
                    }
                ],
            },
        ),
        lambda d: d["version"] == 2 and d["pages"][0]["components"][0]["component"] == "select",
        "/flow/{id}",
    ),
    Crud(
        "automations",
        lambda sb: (
            "POST",
            "/automation",
            {
                "name": "Ping ERP",
                "event": "onTaskCreated",
                "automationType": "webhook",
                "automationDetails": {"url": "https://erp.example/hook"},
                "rules": {"flow": "Visit"},
            },
        ),
        lambda b: b["data"],
        "/automation/{id}",
        lambda b: b["data"],
        lambda sb, d: ("PATCH", f"/automation/{d['_id']}", {"isActive": False}),
        lambda d: d["isActive"] is False and d["rules"]["flowId"],
        "/automation/{id}/",
        create_status=200,
    ),
    Crud(
        "data_types",
        lambda sb: (
            "POST",
            "/data-type",
            {
                "name": "Depot",
                "fields": [{"id": "capacity", "title": "Capacity", "type": "number"}],
            },
        ),
        lambda b: b["data_type"],
        "/data-type/{id}/",
        lambda b: b["data_type"],
        lambda sb, d: ("PATCH", f"/data-type/{d['_id']}", {"name": "Depots"}),
        lambda d: d["name"] == "Depots" and d["fields"][0]["id"] == "dataId",
        "/data-type/{id}",
    ),
    Crud(
        "data",
        lambda sb: (
            "POST",
            "/data",
            {
                "dataId": "STR-NEW-01",
                "dataTypeId": first(sb, "data_types", lambda d: d["name"] == "Store")["_id"],
                "hubId": _hub(sb),
                "outletName": "Toko Baru",
                "outletType": "warung",
            },
        ),
        lambda b: b["data"],
        "/data/{id}",
        lambda b: b["data"],
        lambda sb, d: ("PATCH", f"/data/{d['_id']}", {"outletHours": 10}),
        lambda d: d["outletHours"] == 10 and d["outletName"] == "Toko Baru",
        "/data/{id}/",
    ),
    Crud(
        "vehicles",
        lambda sb: (
            "POST",
            "/vehicle",
            {
                "name": "B 9999 ZZ",
                "hubId": _hub(sb),
                "assignee": worker(sb)["email"],
                "workingTime": {"startTime": "07:00", "endTime": "16:00"},
            },
        ),
        lambda b: b["data"],
        "/vehicle/{id}",
        lambda b: b["data"],
        lambda sb, d: ("PATCH", f"/vehicle/{d['_id']}", {"speed": "45", "tags": ["cold"]}),
        lambda d: d["speed"] == 45 and d["tags"] == ["cold"] and d["workingTime"]["multiday"] == 0,
        "/vehicle/{id}",
        create_status=200,
    ),
    Crud(
        "routing_results",
        lambda sb: (
            "POST",
            "/routing",
            {
                "hubId": _hub(sb),
                "visits": [{"id": "v1", "name": "A", "address": "x", "coordinate": "-6.21,106.84"}],
                "vehicles": [{"id": "k1", "name": "Truck"}],
            },
        ),
        lambda b: b["data"],
        "/result/{id}",
        lambda b: b["data"],
        lambda sb, d: ("PATCH", f"/result/{d['_id']}", {"name": "Morning run"}),
        lambda d: d["name"] == "Morning run" and d["result"]["summary"]["routedVisits"] == 1,
        "/result/{id}",
        create_status=200,
    ),
    Crud(
        "teams",
        lambda sb: ("POST", "/team", {"name": "Night Shift", "hubId": _hub(sb)}),
        lambda b: b["data"],
        "/team/{id}",
        lambda b: b["data"],
        lambda sb, d: ("PUT", f"/team/{d['_id']}/", {"name": "Late Shift", "hubId": _hub(sb)}),
        lambda d: d["name"] == "Late Shift",
        "/team/{id}/",
    ),
    Crud(
        "hubs",
        lambda sb: (
            "POST",
            "/hub",
            {"name": "Bogor Hub", "address": "Jl. Pajajaran 1", "lat": "-6.59", "lng": "106.79"},
        ),
        lambda b: b["data"],
        "/hub/{id}/",
        lambda b: b["data"],
        lambda sb, d: (
            "PUT",
            f"/hub/{d['_id']}",
            {"name": "Bogor Hub", "address": "Jl. Pajajaran 2", "lat": -6.6, "lng": 106.8},
        ),
        lambda d: d["address"] == "Jl. Pajajaran 2" and d["lat"] == -6.6,
        "/hub/{id}",
        create_status=200,
    ),
    Crud(
        "export_configs",
        lambda sb: (
            "POST",
            "/export-config",
            {
                "name": "Pickups",
                "collection": "task",
                "flowIds": [first(sb, "flows")["_id"]],
                "fields": [{"id": "_id", "component": "input", "title": "Id"}],
            },
        ),
        lambda b: b["data"],
        "/export-config/{id}",
        lambda b: b["data"],
        lambda sb, d: (
            "PUT",
            f"/export-config/{d['_id']}/",
            {
                "name": "Pickups v2",
                "collection": "task",
                "flowIds": d["flowIds"],
                "fields": d["fields"],
            },
        ),
        lambda d: d["name"] == "Pickups v2",
        "/export-config/{id}/",
    ),
    Crud(
        "plugins",
        lambda sb: (
            "POST",
            "/plugin",
            {
                "name": (None, "Weight Check"),
                "description": (None, "Checks weights"),
                "resourceFile": ("w.js", b"1", "text/javascript"),
            },
        ),
        lambda b: b["data"],
        "/plugin/{id}",
        lambda b: b["data"],
        lambda sb, d: (
            "PUT",
            f"/plugin/{d['id']}",
            {
                "_method": (None, "PUT"),
                "name": (None, "Weight Check 2"),
                "description": (None, "v2"),
            },
        ),
        lambda d: d["name"] == "Weight Check 2" and d["updatedBy"] == "admin@demo.mile.app",
        "/plugin/{id}",
        id_key="id",
        multipart=True,
    ),
    Crud(
        "app_integrations",
        lambda sb: (
            "POST",
            "/app-integration",
            {
                "azureAuthUrl": (None, "https://login.microsoftonline.com/t/saml2"),
                "azureCert": ("a.cer", b"cert", "application/pkix-cert"),
            },
        ),
        lambda b: b["data"],
        "/app-integration/{id}",
        lambda b: b["data"],
        lambda sb, d: (
            "POST",
            f"/app-integration/{d['_id']}/",
            {
                "azureAuthUrl": (None, "https://login.microsoftonline.com/u/saml2"),
                "azureCert": ("b.cer", b"cert2", "application/pkix-cert"),
            },
        ),
        lambda d: d["azureAuthUrl"].endswith("/u/saml2") and d["azureCert"].endswith("_b.cer"),
        "/app-integration/{id}/",
        multipart=True,
    ),
]


def _send(
    http: requests.Session, url: str, method: str, payload: Any, multipart: bool
) -> requests.Response:
    if multipart:
        return http.request(method, url, files=payload)
    return http.request(method, url, json=payload)


@pytest.mark.parametrize("crud", CRUDS, ids=[c.name for c in CRUDS])
def test_create_get_update_get_delete_404(
    fresh: Sandbox, http: requests.Session, crud: Crud
) -> None:
    store_name = crud.name
    n0 = fresh.store.count(store_name)
    method, path, payload = crud.create(fresh)
    r = _send(http, fresh.url + path, method, payload, crud.multipart)
    assert r.status_code == crud.create_status, r.text
    doc = crud.created(r.json())
    did = doc[crud.id_key]
    assert fresh.store.count(store_name) == n0 + 1
    detail = fresh.url + crud.detail.replace("{id}", did)
    got = http.get(detail)
    assert got.status_code == 200 and crud.one(got.json()) == doc
    method, path, payload = crud.update(fresh, doc)
    r = _send(http, fresh.url + path, method, payload, crud.multipart)
    assert r.status_code in (200, 201), r.text
    again = crud.one(http.get(detail).json())
    assert crud.changed(again), again
    assert again["updatedTime"] >= doc["updatedTime"] if "updatedTime" in doc else True
    r = http.delete(fresh.url + crud.delete.replace("{id}", did))
    assert r.status_code == 200 and r.json()["status"] is True, r.text
    gone = http.get(detail)
    assert gone.status_code == 404 and gone.json()["status"] is False
    assert http.delete(fresh.url + crud.delete.replace("{id}", did)).status_code == 404
    assert fresh.store.count(store_name) == n0
    logged = [e for e in fresh.store.write_log if e["resource"] == store_name and e["id"] == did]
    assert len(logged) == 3  # create, update, delete: every write went through the store


def test_activity_create_get_delete(fresh: Sandbox, http: requests.Session) -> None:
    wf = first(fresh, "workflows")
    hub = _hub(fresh)
    body = {
        "workflowId": wf["_id"],
        "hubId": hub,
        "tasks": [
            {
                "senderName": "Gudang A",
                "assignee": worker(fresh)["email"],
                "startTime": "2026-11-03T08:00:00.000+07:00",
            },
            {"receiverName": "Budi", "assignee": [], "endTime": "2026-11-04T08:00:00.000+07:00"},
        ],
    }
    n_tasks = fresh.store.count("tasks")
    r = http.post(fresh.url + "/activity", json=body)
    assert r.status_code == 201, r.text
    master = r.json()["data"]
    assert r.json()["code"] == 201 and master["taskType"] == "activityMaster"
    assert master["status"] == "ONGOING" and master["assignee"] == [worker(fresh)["email"]]
    assert fresh.store.count("tasks") == n_tasks + 2
    children = [http.get(f"{fresh.url}/task/{c}").json()["task"] for c in master["subId"]]
    assert [c["flow"] for c in children] == ["Pickup", "Delivery"]
    assert {c["parentId"] for c in children} == {master["_id"]}
    assert all(c["taskType"] == "activityChild" for c in children)
    got = http.get(f"{fresh.url}/activity/{master['_id']}").json()
    assert got["status"] is True and got["data"]["subId"] == master["subId"]
    by_wf = http.get(
        f"{fresh.url}/activities/workflow/{wf['_id']}", params={"pageSize": 100}
    ).json()
    assert master["_id"] in {a["_id"] for a in by_wf["data"]["activities"]}
    r = http.delete(f"{fresh.url}/activity/{master['_id']}")
    assert r.json() == {"status": True, "code": 200, "message": "Activity deleted successfully"}
    assert fresh.store.count("tasks") == n_tasks
    r = http.get(f"{fresh.url}/activity/{master['_id']}")
    assert r.status_code == 404
    assert r.json() == {
        "status": False,
        "message": "Activity not found",
        "code": 404,
        "failedCode": "ACTIV_NOT_FOUND",
    }
    r = http.post(fresh.url + "/activity", json={"tasks": [{}]})
    assert r.json() == {
        "status": False,
        "message": "The workflowId field is required.",
        "code": 400,
        "failedCode": "ACTIV_CREATE_FAILED",
    }
    r = http.post(fresh.url + "/activity", json={"workflowId": "0" * 24, "tasks": [{}]})
    assert r.status_code == 404 and r.json()["failedCode"] == "ACTIV_WORKFLOW_NOT_FOUND"


def test_users_and_members(fresh: Sandbox, http: requests.Session) -> None:
    w = worker(fresh, 2)
    r = http.put(f"{fresh.url}/user/{w['_id']}", json={"email": "x@y.z"})
    assert (r.status_code, r.json()["message"]) == (400, "The name field is required.")
    r = http.patch(f"{fresh.url}/user/{w['_id']}", json={"phoneNumber": "+62811"})
    assert r.json()["data"]["phoneNumber"] == "+62811" and r.json()["statusCode"] == 200
    assert (
        http.get(f"{fresh.url}/user/email/{w['email']}").json()["data"]["phoneNumber"] == "+62811"
    )
    assert "personalToken" not in r.json()["data"]
    me = http.patch(fresh.url + "/user", json={"name": "Ops Admin", "roleId": "nope"}).json()
    assert me["property"]["name"] == "Ops Admin" and me["property"]["roleId"] != "nope"
    assert http.get(fresh.url + "/user").json()["name"] == "Ops Admin"
    locked = http.get(fresh.url + "/members/locked").json()["data"]
    r = http.post(fresh.url + "/member/unlock", json={"email": locked[0]["email"]})
    assert (
        r.json()["message"] == f"{locked[0]['email']} has been unlocked. The user can now log in."
    )
    assert len(http.get(fresh.url + "/members/locked").json()["data"]) == len(locked) - 1
    assert (
        http.post(fresh.url + "/member/unlock", json={"email": locked[0]["email"]}).status_code
        == 400
    )
    weak = http.post(
        fresh.url + "/member/reset-password", json={"userId": w["_id"], "password": "password1"}
    )
    assert (
        weak.json()["message"]
        == "The password must contain at least one uppercase and one lowercase letter."
    )
    ok = http.post(
        fresh.url + "/member/reset-password", json={"userId": w["_id"], "password": "N3w-Passw0rd"}
    )
    assert ok.status_code == 200 and ok.json()["property"]["docId"] == w["_id"]
    again = http.post(
        fresh.url + "/member/reset-password", json={"userId": w["_id"], "password": "N3w-Passw0rd"}
    )
    assert again.status_code == 400 and "already been used" in again.json()["message"]
    assert "N3w-Passw0rd" not in json.dumps(fresh.store.write_log)
    team = w["teamId"][0]
    before = http.get(f"{fresh.url}/team/{team}").json()["data"]["totalUser"]
    r = http.delete(f"{fresh.url}/member/{w['_id']}")
    assert r.json() == {
        "id": w["_id"],
        "status": True,
        "message": "Data has been deleted successfully.",
    }
    assert http.get(f"{fresh.url}/user/{w['_id']}").status_code == 404
    assert http.get(f"{fresh.url}/team/{team}").json()["data"]["totalUser"] == before - 1
    roles = http.get(fresh.url + "/roles").json()
    assert roles["status"] is True and all("permission" not in x for x in roles["data"])
    role = http.get(f"{fresh.url}/role/{roles['data'][0]['_id']}").json()["data"]
    assert role["permission"] and len(role["permissionList"]) == len(role["permission"])


# --- validation messages ------------------------------------------------------------------


VALIDATION = [
    ("POST", "/task/schedule", {"name": "x"}, "The start time field is required."),
    (
        "POST",
        "/flow",
        {"name": "Activity", "pages": [{"components": []}]},
        "The selected name is invalid.",
    ),
    ("POST", "/flow", {"name": "Delivery", "pages": []}, "The name has already been taken."),
    (
        "POST",
        "/flow",
        {"name": "Bad", "pages": [{"components": [{"id": "status", "component": "input"}]}]},
        "The pages.0.components.0.id status is a reserved key.",
    ),
    (
        "POST",
        "/automation",
        {"name": "x", "event": "onLunch", "automationType": "webhook"},
        "The selected event is invalid.",
    ),
    (
        "POST",
        "/automation",
        {
            "name": "x",
            "event": "onTaskCreated",
            "automationType": "webhook",
            "automationDetails": {},
        },
        "The automation details.url field is required.",
    ),
    ("POST", "/data-type", {"fields": []}, "The name field is required."),
    ("POST", "/data", {"dataId": "A"}, "The data type id field is required."),
    ("POST", "/vehicle", {"name": "B 1 A"}, "The hub id field is required."),
    ("POST", "/team", {"name": "T"}, "The hub id field is required."),
    (
        "POST",
        "/hub",
        {"name": "H", "address": "A", "lat": "north", "lng": 1},
        "The lat must be a number.",
    ),
    (
        "POST",
        "/export-config",
        {"name": "E", "collection": "visit"},
        "The selected collection is invalid.",
    ),
    (
        "POST",
        "/location-history",
        {"email": "nobody@demo.mile.app", "lat": 1, "lon": 2},
        "The selected email is invalid.",
    ),
    ("POST", "/location-history/generate-token", {}, "The email field is required."),
    ("POST", "/routing", {"hubId": "0" * 24}, "The selected hub id is invalid."),
    ("POST", "/dispatch", {}, "The result id field is required."),
    (
        "POST",
        "/reorder-visits",
        {"currentCoordinate": "here"},
        "The current coordinate is not a valid coordinate.",
    ),
    ("POST", "/flows/check-version", {}, "The flows field is required."),
    ("PUT", "/flow-reorder", {"data": [{}]}, "The data.0.flow id field is required."),
    (
        "POST",
        "/automation-retries",
        {"id": ["a"] * 201},
        "The id may not have more than 200 items.",
    ),
    ("POST", "/tasks/export", {"download": "pdf"}, "The selected download is invalid."),
    ("POST", "/task/schedules/bulk", {}, "The schedules field is required."),
    ("POST", "/data/bulk", {"data": "all"}, "The data must be an array."),
    ("POST", "/member/reset-password", {"userId": "x"}, "The password field is required."),
]


@pytest.mark.parametrize(
    "method,path,body,message", VALIDATION, ids=[f"{m} {p}" for m, p, _, _ in VALIDATION]
)
def test_validation_400_messages(
    fresh: Sandbox, http: requests.Session, method: str, path: str, body: Any, message: str
) -> None:
    r = http.request(method, fresh.url + path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == message and r.json()["status"] is False
    assert fresh.store.write_log == []


def test_unknown_path_is_404(ro: Sandbox, http: requests.Session) -> None:
    for path in ("/trash", "/vehicle/a/b", "/flow/x/y/z", "/data/hub/a/type/b", "/activity/a/b"):
        r = http.get(ro.url + path)
        assert (r.status_code, r.json()) == (404, {"status": False, "message": "Data not found"}), (
            path
        )


# --- actions ------------------------------------------------------------------------------


def test_routing_dispatch_and_reorder(fresh: Sandbox, http: requests.Session) -> None:
    hub = first(fresh, "hubs")
    tasks = [
        t
        for t in fresh.store.values("tasks")
        if t["hubId"] == hub["_id"] and t["status"] == "UNASSIGNED"
    ][:3]
    assert len(tasks) == 3
    driver = worker(fresh)
    vehicle = first(fresh, "vehicles", lambda v: v["hubId"] == hub["_id"])
    body = {
        "hubId": hub["_id"],
        "visits": [
            {
                "id": f"taskId-{t['_id']}",
                "name": t["title"],
                "address": t["content"],
                "coordinate": t["expectedCoordinate"],
                "capacity": {"weight": 2},
            }
            for t in tasks
        ]
        + [
            {
                "id": "extra-1",
                "name": "New stop",
                "address": "Jl. Baru 1",
                "coordinate": f"{hub['lat']},{hub['lng']}",
            }
        ],
        "vehicles": [
            {
                "id": vehicle["_id"],
                "name": vehicle["name"],
                "assignee": driver["email"],
                "capacity": {"weight": {"min": 0, "max": 100}},
            }
        ],
        "configuration": {"capacityConstraint": ["weight"], "returnToHub": True},
    }
    result = http.post(fresh.url + "/routing", json=body).json()["data"]
    plan = result["result"]
    assert plan["summary"]["routedVisits"] == 4 and plan["dropped"] == []
    trips = plan["routing"][0]["trips"]
    assert (
        trips[0]["isHub"]
        and trips[-1]["isHub"]
        and [t["order"] for t in trips] == list(range(len(trips)))
    )
    assert plan["routing"][0]["totalWeight"] == 6 and plan["routing"][0]["weightPercentage"] == "6%"
    listed = http.get(fresh.url + "/results", params={"hubId": hub["_id"], "limit": 1000}).json()
    assert result["_id"] in {x["_id"] for x in listed["data"]["data"]}
    item = listed["data"]["data"][0]  # the plan and, beside it, its summary (note 26)
    assert item["result"]["routing"] and item["summary"] == item["result"]["summary"]
    only = http.get(fresh.url + "/results", params={"fields": "result", "limit": 1}).json()
    assert set(only["data"]["data"][0]) == {"_id", "result"}
    dispatched = http.post(fresh.url + "/dispatch", json={"resultId": result["_id"]}).json()
    assert (dispatched["success"], dispatched["failed"], dispatched["statusCode"]) == (4, 0, 200)
    assert sorted(t["action"] for t in dispatched["tasks"]) == [
        "create",
        "update",
        "update",
        "update",
    ]
    for t in tasks:
        doc = http.get(f"{fresh.url}/task/{t['_id']}").json()["task"]
        assert doc["status"] == "ONGOING" and doc["assignee"] == [driver["email"]]
        assert (
            doc["routingResultId"] == result["_id"] and doc["assignedVehicleId"] == vehicle["_id"]
        )
        assert doc["histories"][-1]["action"] in ("patch", "assign")
    created = next(t for t in dispatched["tasks"] if t["action"] == "create")
    new = http.get(f"{fresh.url}/task/{created['_id']}").json()["task"]
    assert new["title"] == "New stop" and new["hubId"] == hub["_id"]
    assert (
        http.get(f"{fresh.url}/result/{result['_id']}").json()["data"]["dispatchStatus"] == "done"
    )
    replan = {
        "result": {
            "routing": [dict(plan["routing"][0], trips=trips[:2] + trips[-1:])],
            "dropped": [],
        }
    }
    put = http.put(f"{fresh.url}/result/{result['_id']}", json=replan).json()
    assert put["status"] is True and put["property"]["result"]["summary"]["routedVisits"] == 1
    history = http.get(f"{fresh.url}/result/{result['_id']}/history").json()["data"]
    assert history[0]["action"] == "update" and history[0]["resultId"] == result["_id"]
    here = f"{hub['lat']},{hub['lng']}"
    visits = [{"id": f"taskId-{t['_id']}", "coordinate": t["expectedCoordinate"]} for t in tasks]
    visits.append({"id": "taskId-" + "0" * 24, "coordinate": here})
    order = http.post(
        fresh.url + "/reorder-visits", json={"currentCoordinate": here, "visits": visits}
    ).json()
    assert order["statusCode"] == 200 and order["data"][0] == {
        "status": False,
        "message": "Data not found",
        "_id": "0" * 24,
    }
    indexes = [d["orderIndex"] for d in order["data"][1:]]
    assert indexes == sorted(indexes) and len(set(indexes)) == 3
    for d in order["data"][1:]:
        assert (
            http.get(f"{fresh.url}/task/{d['_id']}").json()["task"]["orderIndex"] == d["orderIndex"]
        )


def test_flow_fields_logs_restore_reorder_and_versions(
    fresh: Sandbox, http: requests.Session
) -> None:
    delivery = first(fresh, "flows", lambda f: f["name"] == "Delivery")
    image = http.get(fresh.url + "/flow-fields", params={"fieldType": "image"}).json()["data"]
    assert {f["flowName"]: [x["id"] for x in f["fields"]] for f in image}["Delivery"] == [
        "deliveryPhoto"
    ]
    assert http.get(fresh.url + "/flow-fields", params={"fieldType": "nope"}).status_code == 400
    merged = http.get(
        fresh.url + "/flow-components", params={"isMerge": "1", "fields": "receiverName"}
    ).json()
    assert merged["data"] == [
        dict(merged["data"][0], flowId=[delivery["_id"]], flowName=["Delivery"])
    ]
    payload = http.get(fresh.url + "/flow/Delivery/task").json()["data"]
    created = http.post(fresh.url + "/task", json=payload["bodyRequest"])
    assert created.status_code == 201, created.text  # the helper's example body is a valid task
    assert http.get(fresh.url + "/flow/Nope/task").status_code == 404
    stale = http.post(
        fresh.url + "/flows/check-version",
        json={
            "flows": [
                {"name": f["name"], "version": f["version"]} for f in fresh.store.values("flows")
            ][:3]
        },
    ).json()["flow"]
    assert [f["name"] for f in stale] == [f["name"] for f in fresh.store.values("flows")][3:]
    logs = http.get(
        fresh.url + "/flow-logs", params={"flowId": delivery["_id"], "limit": 100}
    ).json()["data"]["data"]
    first_version = next(g for g in logs if g["version"] == 1 and g["action"] == "create")
    n_before = len(delivery["pages"][0]["components"])
    restored = http.put(
        f"{fresh.url}/flow/{delivery['_id']}/restore/{first_version['_id']}"
    ).json()["data"]
    assert restored["version"] == delivery["version"] + 1
    assert (
        len(restored["pages"][0]["components"])
        == len(first_version["changeData"]["pages"][0]["components"])
        <= n_before
    )
    logs_after = http.get(
        fresh.url + "/flow-logs",
        params={"flowId": delivery["_id"], "action": "put", "sortOrder": "desc"},
    ).json()["data"]["data"]
    assert (
        logs_after[0]["version"] == restored["version"]
        and logs_after[0]["rawData"]["version"] == delivery["version"]
    )
    ids = [f["_id"] for f in fresh.store.values("flows")]
    body = {
        "data": [
            {"flowId": ids[3]},
            {"flowId": ids[0], "doDuplicate": True, "flowName": "Delivery Copy"},
            {"flowId": ids[1]},
            {"flowId": ids[2], "doDelete": True},
        ]
    }
    out = http.put(fresh.url + "/flow-reorder", json=body).json()
    assert (
        out["message"] == "success re-order index"
        and [d["status"] for d in out["data"]] == [True] * 4
    )
    by_id = {
        f["_id"]: f
        for f in http.get(fresh.url + "/flows", params={"limit": 100}).json()["flows"]["data"]
    }
    assert (
        by_id[ids[3]]["orderIndex"] == 1
        and by_id[ids[1]]["orderIndex"] == 3
        and ids[2] not in by_id
    )
    copy = next(f for f in by_id.values() if f["name"] == "Delivery Copy")
    assert copy["orderIndex"] == 2 and copy["pages"] == by_id[ids[0]]["pages"]


def test_automation_retries_and_logs(fresh: Sandbox, http: requests.Session) -> None:
    failed = first(fresh, "automation_logs", lambda h: h["_source"]["isSuccess"] == "false")
    n = fresh.store.count("automation_logs")
    r = http.patch(f"{fresh.url}/automation-retry/{failed['_id']}")
    assert r.json() == {"status": True, "message": "automation retry has been executed"}
    newest = http.get(fresh.url + "/automation-log", params={"limit": 1}).json()["data"][0][
        "_source"
    ]
    assert (
        newest["retryOf"] == failed["_id"]
        and newest["attempt"] == "1"
        and newest["isSuccess"] == "true"
    )
    body = {"id": [failed["_id"], "missing-log"]}
    out = http.post(fresh.url + "/automation-retries", json=body).json()["data"]
    assert out == {
        "total": 2,
        "success": 1,
        "failed": 1,
        "details": {failed["_id"]: "Success.", "missing-log": "Data not found"},
    }
    assert fresh.store.count("automation_logs") == n + 2
    assert http.patch(f"{fresh.url}/automation-retry/nope").status_code == 404
    ok = http.get(
        fresh.url + "/automation-log", params={"isSuccess": "false", "limit": 1000}
    ).json()
    assert all(h["_source"]["isSuccess"] == "false" for h in ok["data"])
    day = http.get(
        fresh.url + "/automation-log",
        params={"startDate": "2026-10-01", "endDate": "2026-10-31", "limit": 1000},
    ).json()
    assert all("2026-10-01" <= h["_source"]["timestamp"][:10] <= "2026-10-31" for h in day["data"])
    assert (
        http.get(fresh.url + "/automation-log", params={"startDate": "01/10/2026"}).status_code
        == 400
    )


def test_location_trips_tokens_and_public_views(http: requests.Session) -> None:
    clock = [1_800_000_000.0]  # 2027-01-15: after the seeded tasks
    app = SandboxApp(Store(build_org(seed=2, tasks=200)), rate_limit=None, clock=lambda: clock[0])
    email = next(
        u["email"] for u in app.store.values("users") if u["role"]["name"] == "Field Worker"
    )
    point = {"email": email, "lat": -6.2, "lon": 106.8}
    s, _, finish = app.call(
        "POST", "/api/v3/location-history", dict(point, finishTime="2027-01-15 09:00:00")
    )
    assert (s, finish["message"]) == (400, "There is no started trip to finish.")
    s, _, start = app.call(
        "POST",
        "/api/v3/location-history",
        dict(point, startTime="2027-01-15 08:00:00", createdTime="2027-01-15 08:00:00"),
    )
    assert s == 201 and start["location_history"]["finish"] is None
    s, _, again = app.call(
        "POST", "/api/v3/location-history", dict(point, startTime="2027-01-15 08:05:00")
    )
    assert (s, again["message"]) == (400, "The previous trip has not been finished.")
    for minute, lat in ((10, -6.21), (20, -6.22)):
        app.call(
            "POST",
            "/api/v3/location-history",
            dict(point, lat=lat, distance=1500, createdTime=f"2027-01-15 08:{minute}:00"),
        )
    s, _, done = app.call(
        "POST", "/api/v3/location-history", dict(point, finishTime="2027-01-15 09:00:00")
    )
    trip = done["location_history"]
    assert trip["_id"] == start["location_history"]["_id"] and trip["finish"]["totalDuration"] == 60
    assert trip["finish"]["totalDistance"] == 3 and trip["trackedTime"] == 60
    _, _, latest = app.call("GET", f"/api/v3/location-histories?email={email}&isLatest=true")
    assert [p["lat"] for p in latest["tasks"]["data"]] == [-6.22]
    _, _, tok = app.call(
        "POST", "/api/v3/location-history/generate-token", {"email": email, "date": "2027-01-15"}
    )
    s, _, view = app.call("GET", f"/api/v3/location-history/tracking/{tok['token']}")
    assert s == 200 and view["tasks"]["total"] == 3  # the trip's start record and two points
    clock[0] += 8 * 86400
    s, _, expired = app.call("GET", f"/api/v3/location-history/tracking/{tok['token']}")
    assert (s, expired) == (401, {"status": False, "message": "Your tracking token has expired"})
    assert app.call("GET", "/api/v3/location-history/tracking/forged")[0] == 401
    done_task = next(t for t in app.store.values("tasks") if t["status"] == "DONE")
    s, _, body = app.call("GET", f"/api/v3/task/public/{done_task['_id']}")
    assert (s, body["message"]) == (401, "You can't track this task because it has expired.")
    open_task = next(
        t for t in app.store.values("tasks") if t["flow"] == "Delivery" and t["status"] == "ONGOING"
    )
    s, _, body = app.call("GET", f"/api/v3/task/public/{open_task['_id']}")
    assert s == 200 and len(body["data"]["task"]["listItem"]) == len(open_task["items"])
    assert body["data"]["taskComponentDetail"] == [
        {"id": "items", "inputType": "list", "component": "list"}
    ]
    s, _, track = app.call(
        "GET",
        f"/api/v3/tasks/tracking?hubId={open_task['hubId']}&timeFrom=2026-08-01&timeTo=2026-11-01",
    )
    assert s == 200 and track["taskTotal"] == sum(
        t["hubId"] == open_task["hubId"] for t in app.store.values("tasks")
    )
    assert track["doneTotal"] + track["ongoingTotal"] <= track["taskTotal"]
    assert (
        app.call("GET", "/api/v3/tasks/tracking?hubId=x")[2]["message"]
        == "The time from field is required."
    )


def test_uploads_exports_and_imports(fresh: Sandbox, http: requests.Session) -> None:
    photo = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
    r = http.post(fresh.url + "/task/photo/pod-1", files={"photo": ("x.jpg", photo, "image/jpeg")})
    assert r.status_code == 200 and r.json()["url"].endswith("_pod-1.jpg")
    view = http.get(fresh.url + "/file/view", params={"url": r.json()["url"]})
    assert view.content == photo and view.headers["Content-Type"] == "image/jpeg"
    assert (
        http.post(
            fresh.url + "/task/photo/pod-2", files={"photo": ("x.gif", b"GIF", "image/gif")}
        ).status_code
        == 400
    )
    assert (
        http.get(
            fresh.url + "/file/view", params={"url": "https://elsewhere.test/a.jpg"}
        ).status_code
        == 400
    )
    export = http.post(
        fresh.url + "/tasks/export",
        json={"download": "json", "status": "DONE", "fields": "_id,status", "limit": 50},
    ).json()
    assert export["data"]["status"] == "Done" and export["total_data_be"] == sum(
        t["status"] == "DONE" for t in fresh.store.values("tasks")
    )
    rows = http.get(fresh.url + "/file/view", params={"url": export["data"]["link"]}).json()
    assert (
        len(rows) == 50
        and {r["status"] for r in rows} == {"DONE"}
        and rows[-1]["_id"] == export["last_id"]
    )
    xlsx = http.post(fresh.url + "/data/export", params={"download": "xlsx", "limit": 5}).json()
    table = read_xlsx(
        http.get(fresh.url + "/file/view", params={"url": xlsx["data"]["link"]}).content
    )
    assert len(table) == 6 and table[0][0] == "_id"
    queued = http.post(
        fresh.url + "/tasks/export", json={"download": "xlsx", "background": True}
    ).json()
    assert queued["data"]["status"] == "Processing" and "link" not in queued["data"]
    log = http.get(fresh.url + "/tasks/export-log", params={"sortOrder": "desc"}).json()["data"]
    assert [h["_source"]["fileType"] for h in log[:3]] == ["xlsx", "xlsx", "json"]
    store = first(fresh, "data_types", lambda d: d["name"] == "Store")
    hub = _hub(fresh)
    csv = b"dataId,outletName,outletType,outletHours\nNEW-1,Toko Satu,warung,12\nNEW-2,,warung,x\n"
    r = http.post(
        fresh.url + "/data/import",
        files={
            "file": ("s.csv", csv, "text/csv"),
            "dataTypeId": (None, store["_id"]),
            "hubId": (None, hub),
        },
    )
    assert r.status_code == 200 and r.json()["data"]["status"] == "onprocess"
    record = http.get(f"{fresh.url}/import-monitoring/{r.json()['data']['_id']}").json()["data"]
    assert (record["status"], record["totalValid"], record["totalInvalid"]) == ("partially", 1, 1)
    failed_rows = http.get(
        fresh.url + "/file/view", params={"url": record["fileFailedImported"]}
    ).text
    assert "The outlet name field is required." in failed_rows
    got = http.get(f"{fresh.url}/data/hub/{hub}/type/Store/NEW-1").json()["data"]
    assert got["outletHours"] == 12 and got["outletName"] == "Toko Satu"
    r = http.post(
        fresh.url + "/data/import",
        files={"file": ("s.pdf", b"%PDF", "application/pdf"), "dataTypeId": (None, store["_id"])},
    )
    assert r.status_code == 422 and r.json()["failedCode"] == "import-002"
    assert (
        http.post(fresh.url + "/data/import", data={"dataTypeId": store["_id"]}).json()[
            "failedCode"
        ]
        == "import-001"
    )


def test_data_bulk_upsert_patch_delete(fresh: Sandbox, http: requests.Session) -> None:
    customer = first(fresh, "data_types", lambda d: d["name"] == "Customer")
    rec = first(fresh, "data", lambda d: d["dataTypeId"] == customer["_id"])
    items = [
        {"dataId": rec["dataId"], "dataTypeId": customer["_id"], "tier": "Gold"},
        {"dataId": "CUST-NEW", "dataTypeId": customer["_id"], "customerName": "Sari"},
        {"dataId": "CUST-BAD", "dataTypeId": customer["_id"]},
    ]
    out = http.post(fresh.url + "/data/bulk/upsert", json={"data": items}).json()
    assert [x.get("event") for x in out["data"]] == ["update", "create", None]
    assert out["data"][2]["message"] == "The customer name field is required."
    assert (
        http.get(f"{fresh.url}/data/type/Customer/{rec['dataId']}").json()["data"]["tier"] == "Gold"
    )
    bad = http.patch(
        fresh.url + "/datas/bulk",
        json={"data": [{"dataId": "CUST-NEW", "dataTypeId": customer["_id"], "tier": "Platinum"}]},
    )
    assert bad.json()["data"][0]["message"] == "The selected tier is invalid."
    new = http.get(f"{fresh.url}/data/type/Customer/CUST-NEW").json()["data"]
    out = http.request(
        "DELETE",
        fresh.url + "/datas/bulk",
        json={"data": [{"_id": new["_id"]}, {"_id": new["_id"]}]},
    ).json()
    assert (out["success"], out["failed"]) == (1, 1)
    dup = http.post(
        fresh.url + "/data",
        json={"dataId": rec["dataId"], "dataTypeId": customer["_id"], "customerName": "X"},
    )
    assert dup.json()["message"] == "The data id has already been taken."
    patched = http.patch(
        f"{fresh.url}/data-type/{customer['_id']}", json={"deleteFields": ["tier"]}
    ).json()["data_type"]
    assert "tier" not in [f["id"] for f in patched["fields"]]
    assert all(
        "tier" not in d for d in fresh.store.values("data") if d["dataTypeId"] == customer["_id"]
    )
    assert (
        http.patch(
            f"{fresh.url}/data-type/{customer['_id']}", json={"commonData": False}
        ).status_code
        == 400
    )


def test_new_collections_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "org.db"
    with Sandbox(tasks=50, db=db, rate_limit=None) as one, requests.Session() as s:
        s.headers.update(AUTH)
        plugin = s.post(
            one.url + "/plugin",
            files={
                "name": (None, "Keep Me"),
                "description": (None, "d"),
                "resourceFile": ("k.js", b"1", "text/javascript"),
            },
        ).json()["data"]
        team = s.post(one.url + "/team", json={"name": "Keepers", "hubId": _hub(one)}).json()[
            "data"
        ]
    with Sandbox(tasks=999, db=db, rate_limit=None) as two, requests.Session() as s:
        s.headers.update(AUTH)
        assert s.get(f"{two.url}/plugin/{plugin['id']}").json()["data"]["name"] == "Keep Me"
        assert s.get(f"{two.url}/team/{team['_id']}").json()["data"]["name"] == "Keepers"
        assert s.get(two.url + "/file/view", params={"url": plugin["resourceUrl"]}).content == b"1"
        assert two.store.count("activities") == one.store.count("activities")
