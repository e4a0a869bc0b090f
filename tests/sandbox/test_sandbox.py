"""The offline MileApp sandbox, exercised over a real loopback socket with plain requests."""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from milekit.errors import UsageError
from milekit.sandbox import Org, Sandbox, build_org
from milekit.sandbox.http import HttpError
from milekit.sandbox.resources.task.service import _PROJECTIONS_KEPT, TaskService
from milekit.sandbox.store import Op, Store
from milekit.types.registry import RESOURCES
from tests.reference import PAGINATOR_KEYS
from tests.sandbox.test_org_coherence import STANDARD_TASK_KEYS

SPEC = RESOURCES["tasks"]


def auth(token: str = "sandbox-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def utc(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def ro() -> Iterator[Sandbox]:
    """A read-only sandbox shared by the tests that do not write (tasks in every datetime
    spelling the API uses, note 6)."""
    with Sandbox(tasks=300, seed=5, rate_limit=None, mixed_datetimes=True) as sb:
        yield sb


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A fresh sandbox per test, for writes and faults."""
    with Sandbox(tasks=40, seed=9, rate_limit=None) as box:
        yield box


def ids_of(body: dict[str, Any]) -> list[str]:
    return [t["_id"] for t in body["tasks"]["data"]]


def hub_ids(sb: Sandbox) -> list[str]:
    return [h["_id"] for h in sb.store.values("hubs")]


# --- gateway behaviour -----------------------------------------------------------------


def test_auth_missing_or_wrong_token_is_401(ro: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "sandbox-token"}):
        r = requests.get(ro.url + "/tasks", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"status": False, "message": "Unauthenticated."}


def test_accept_header_negotiation(ro: Sandbox) -> None:
    for accept in ("application/json", "*/*", "application/json, */*", "text/html, */*;q=0.8"):
        r = requests.get(ro.url + "/user", headers={**auth(), "Accept": accept})
        assert r.status_code == 200, accept
    r = requests.get(ro.url + "/tasks", headers={**auth(), "Accept": "text/html"})
    assert r.status_code == 406
    assert r.json() == {"status": False, "message": "unsupported Accept header"}


def test_unknown_path_and_unknown_id_are_404(ro: Sandbox, http: requests.Session) -> None:
    for url in (ro.url + "/nothing-here", ro.url + "/task/000000000000000000000000"):
        r = http.get(url)
        assert r.status_code == 404
        assert r.json() == {"status": False, "message": "Data not found"}
    assert http.get(ro.url.replace("/api/v3", "/api/v2") + "/tasks").status_code == 404


def test_wrong_method_is_405(ro: Sandbox, http: requests.Session) -> None:
    r = http.put(ro.url + "/tasks", json={})
    assert r.status_code == 405
    assert r.json()["message"] == "The PUT method is not supported for this route."
    assert "GET" in r.headers["Allow"]


def test_payload_too_large_is_413_and_connection_stays_usable(http: requests.Session) -> None:
    with Sandbox(tasks=5, rate_limit=None, max_body_bytes=1000) as box:
        r = http.post(box.url + "/task", data=b'{"x": "' + b"a" * 5000 + b'"}')
        assert r.status_code == 413
        assert r.json() == {"status": False, "message": "Payload too large."}
        assert http.get(box.url + "/tasks").status_code == 200  # same kept-alive session


def test_trailing_slashes_are_accepted(ro: Sandbox, http: requests.Session) -> None:
    assert http.get(ro.url + "/tasks/").status_code == 200
    some = http.get(ro.url + "/tasks?limit=1").json()["tasks"]["data"][0]["_id"]
    assert http.get(f"{ro.url}/task/{some}/").json()["task"]["_id"] == some


def test_rate_limit_429_with_retry_after() -> None:
    with Sandbox(tasks=5, rate_limit=5) as box, requests.Session() as s:
        s.headers.update(auth())
        codes = [s.get(box.url + "/user") for _ in range(12)]
        limited = [r for r in codes if r.status_code == 429]
        assert limited, [r.status_code for r in codes]
        assert sum(r.status_code == 200 for r in codes) == 5
        r = limited[0]
        assert r.json() == {
            "status": False,
            "message": "Too Many Attempts.",
            "failedCode": "sys-036",
        }
        assert int(r.headers["Retry-After"]) >= 1
        assert box.app.stats.rejected_429 == len(limited)
        assert box.app.stats.admitted == 5
        time.sleep(1.05)
        assert s.get(box.url + "/user").status_code == 200
        log = list(box.app.request_log)
        assert [e.status for e in log].count(429) == len(limited)
        assert log[0].method == "GET" and log[0].path == "/api/v3/user"


def test_the_limit_counts_a_request_when_it_arrives_not_after_its_latency() -> None:
    """The organisation's limit counts requests as they arrive (a gateway's count), then
    the answer takes its latency. Counted after the latency, a burst of requests waking
    from it together was counted late and unevenly: a client that keeps 100 in any
    1.05 s by its send times got 429s (8 and 7 in two runs of bench_lake at 1M)."""
    with Sandbox(tasks=5, rate_limit=5, latency=0.6) as box, requests.Session() as s:
        s.headers.update(auth())
        answered: list[int] = []
        sent = threading.Thread(
            target=lambda: answered.append(s.get(box.url + "/user").status_code)
        )
        sent.start()
        time.sleep(0.3)  # halfway through the answer's latency
        counted = box.app.stats.admitted
        sent.join()
    assert (counted, answered) == (1, [200])


def test_the_limit_counts_a_request_from_its_first_line() -> None:
    """A request is counted when its first line arrives, not when the server's thread has
    read the rest and reached the limit (under load, late and unevenly: 3-11 429s in
    runs of a client keeping 100 in any 1.05 s). Here a request's headers come 0.5 s
    after its first line: counted at its first line, it has left the window 1 s later."""
    with Sandbox(tasks=5, rate_limit=2, latency=0.0) as box, requests.Session() as s:
        s.headers.update(auth())
        host, port = box.url.split("//")[1].split("/")[0].split(":")
        slow = socket.create_connection((host, int(port)))
        t0 = time.monotonic()
        slow.sendall(b"GET /api/v3/user HTTP/1.1\r\n")
        time.sleep(0.5)
        headers = "".join(f"{k}: {v}\r\n" for k, v in auth().items())
        slow.sendall(f"Host: {host}\r\n{headers}Connection: close\r\n\r\n".encode())
        first = slow.recv(100)
        slow.close()
        second = s.get(box.url + "/user").status_code  # at ~0.5 s
        time.sleep(max(0.0, t0 + 1.1 - time.monotonic()))
        third = s.get(box.url + "/user").status_code  # the first has left the window
    assert first.startswith(b"HTTP/1.1 200") or first.startswith(b"HTTP/1.0 200"), first
    assert (second, third) == (200, 200)


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's receive stamps: Linux")
def test_the_limit_counts_a_request_when_its_bytes_arrived_not_when_it_was_read() -> None:
    """A request waiting in its connection while the server's thread is busy (answering
    the one before it; on a loaded machine, waiting for the interpreter) arrived when the
    kernel received it: counted when the thread got to read it, a client that spread its
    requests out saw them bunched (429s in 2 of 7 incremental runs of a 1M lake). B arrives at
    0 with A and is read at 0.6 s, after A's answer; at 1.1 s B has left the window."""
    with Sandbox(tasks=5, rate_limit=2, latency=0.6) as box:
        host, port = box.url.split("//")[1].split("/")[0].split(":")
        head = "".join(f"{k}: {v}\r\n" for k, v in auth().items())
        one = f"GET /api/v3/user HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode()
        pipelined = socket.create_connection((host, int(port)))
        t0 = time.monotonic()
        pipelined.sendall(one + one)  # A and B at once
        time.sleep(max(0.0, t0 + 1.1 - time.monotonic()))
        codes: list[int] = []

        def get() -> None:
            codes.append(requests.get(box.url + "/user", headers=auth()).status_code)

        later = [threading.Thread(target=get) for _ in range(2)]  # C and D at 1.1 s
        for t in later:
            t.start()
        for t in later:
            t.join()
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 2:
            answers += pipelined.recv(65536)
        pipelined.close()
    assert answers.count(b"HTTP/1.1 200") == 2  # A and B
    assert codes == [200, 200]  # the window at 1.1 s holds neither A nor B


def test_the_limit_weighs_a_request_counted_out_of_order_by_the_windows_that_hold_it() -> None:
    """The server's threads reach requests out of their arrival order on a loaded machine:
    a request that arrived before one already counted is admitted when every window of a
    period holding it keeps the limit, in arrival order, not refused because the later
    one lies within a period after it (false 429s to a client that kept the limit, in the
    bench's busiest run). Arrivals 0.0-0.9 s, then B at 1.15 s counted before A at 1.05 s:
    each window holds 10; C at 1.08 s would make A's window hold 11, D at 1.12 s B's."""
    with Sandbox(tasks=5, rate_limit=10, rate_period=1.0) as box:
        base = time.monotonic() - 1.5
        for i in range(10):
            box.app._admit(base + i / 10)

        def code(at: float) -> int:
            try:
                box.app._admit(base + at)
            except HttpError as e:
                return e.status
            return 200

        assert [code(1.15), code(1.05), code(1.08), code(1.12)] == [200, 200, 429, 429]
        assert box.app.stats.rejected_429 == 2


def test_a_sandbox_starts_with_the_order_of_each_status_kept() -> None:
    """The first list of one status sorts nothing (an indexed database's answer): the
    order of each status is built when the sandbox starts, and a list uses it."""
    with Sandbox(tasks=50, rate_limit=None) as box, requests.Session() as s:
        s.headers.update(auth())
        orders = box.app.tasks._orders
        kept = {status: orders.get(("createdTime", frozenset({status}))) for status in
                ("UNASSIGNED", "ONGOING", "DONE")}  # fmt: skip
        assert all(kept.values())
        got = s.get(box.url + "/tasks", params={"status": "UNASSIGNED"}).json()
        assert got["tasks"]["data"]
        assert orders[("createdTime", frozenset({"UNASSIGNED"}))] is kept["UNASSIGNED"]


def test_concurrent_connections(ro: Sandbox) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as s:
            for _ in range(3):
                code = s.get(ro.url + "/tasks?limit=50", headers=auth()).status_code
                with lock:
                    results.append(code)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 120


# --- GET /tasks ------------------------------------------------------------------------


def test_list_envelope_and_paginator(ro: Sandbox, http: requests.Session) -> None:
    body = http.get(ro.url + "/tasks?limit=50&status=DONE").json()
    assert body["status"] is True and body["message"] == "Success."
    assert set(body) == {"status", "message", SPEC.envelope_list, "metadata", "dataVersion"}
    p = body["tasks"]
    assert set(p) == PAGINATOR_KEYS
    assert p["current_page"] == 1 and p["per_page"] == 50 and p["from"] == 1 and p["to"] == 50
    assert p["path"] == ro.url + "/tasks"
    assert p["first_page_url"] == ro.url + "/tasks?limit=50&status=DONE&page=1"
    assert p["prev_page_url"] is None and p["next_page_url"].endswith("status=DONE&page=2")
    assert (
        p["links"][0]["label"] == "&laquo; Previous" and p["links"][-1]["label"] == "Next &raquo;"
    )
    assert [x["label"] for x in p["links"] if x["active"]] == ["1"]
    assert body["metadata"]["counting"] == {"doneTotal": p["total"], "ongoingTotal": 0}
    two = http.get(ro.url + "/tasks", params={"status": "DONE,ONGOING,UNASSIGNED"}).json()
    assert sum(two["metadata"]["counting"].values()) < two["tasks"]["total"]
    tasks = ro.store.values("tasks")
    assert two["metadata"]["counting"] == {
        k: sum(1 for t in tasks if t["status"] == s)
        for k, s in (("doneTotal", "DONE"), ("ongoingTotal", "ONGOING"))
    }
    beyond = http.get(ro.url + "/tasks", params={"limit": 50, "page": 999}).json()["tasks"]
    assert beyond["data"] == [] and beyond["from"] is None and beyond["to"] is None
    assert beyond["last_page"] >= 1


def test_following_next_page_url_yields_every_task_once(
    ro: Sandbox, http: requests.Session
) -> None:
    url: str | None = ro.url + "/tasks?limit=70&sortBy=createdTime&sortOrder=asc"
    seen: list[str] = []
    pages = 0
    while url:
        p = http.get(url).json()["tasks"]
        seen += [t["_id"] for t in p["data"]]
        pages += 1
        url = p["next_page_url"]
    assert pages == p["last_page"] == 5
    assert len(seen) == len(set(seen)) == ro.store.count("tasks") == 300


def test_limit_page_and_param_validation(ro: Sandbox, http: requests.Session) -> None:
    cases = {
        "limit=0": "The limit must be at least 1.",
        "page=0": "The page must be at least 1.",
        "status=FINISHED": "The selected status is invalid.",
        "sortOrder=up": "The selected sort order is invalid.",
        "timeFrom=yesterday": "The time from is not a valid date.",
        "timeBy=doneTime&timeTo=31/12/2026": "The time to is not a valid date.",
        "timeBy=updatedTime&timeFrom=2026-08-01": "The selected time by is invalid.",
    }
    for query, message in cases.items():
        r = http.get(f"{ro.url}/tasks?{query}")
        assert r.status_code == 400, query
        assert r.json() == {"status": False, "message": message}
    assert http.get(ro.url + "/tasks?limit=1000&whatever=1").status_code == 200
    # real clients read limit=5000: capped to the maximum, not refused (note 28)
    big = http.get(ro.url + "/tasks?limit=5000").json()["tasks"]
    assert big["per_page"] == 1000 and len(big["data"]) == min(1000, big["total"])


def test_filters(ro: Sandbox, http: requests.Session) -> None:
    docs = ro.store.values("tasks")
    hub = docs[0]["hubId"]

    def fetch(**params: Any) -> list[dict[str, Any]]:
        r = http.get(ro.url + "/tasks", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()["tasks"]["data"]
        return data

    assert {t["status"] for t in fetch(status="ONGOING")} == {"ONGOING"}
    assert len(fetch(status="DONE,ONGOING")) == sum(d["status"] != "UNASSIGNED" for d in docs)
    assert {t["flow"] for t in fetch(flow="Pickup,Visit")} == {"Pickup", "Visit"}
    flow_id = next(d["flowId"] for d in docs if d["flow"] == "Delivery")
    assert {t["flow"] for t in fetch(flowId=flow_id)} == {"Delivery"}
    assert {t["hubId"] for t in fetch(hubId=hub)} == {hub}
    worker = next(d["assignee"][0] for d in docs if d.get("assignee"))
    got = fetch(assignee=worker)
    assert got and all(worker in t["assignee"] for t in got)
    assert len(got) == sum(worker in d.get("assignee", []) for d in docs)
    done_by = next(d["doneBy"] for d in docs if "doneBy" in d)
    assert {t["doneBy"] for t in fetch(doneBy=done_by)} == {done_by}
    # time range on UTC instants, whatever the stored spelling; naive bounds are UTC
    lo, hi = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC)
    expected = {d["_id"] for d in docs if "doneTime" in d and lo <= utc(d["doneTime"]) <= hi}
    for time_from, time_to in (
        ("2026-09-01 00:00:00", "2026-09-30 23:59:59"),
        ("2026-09-01T07:00:00+07:00", "2026-09-30T23:59:59.000000Z"),
    ):
        got_ids = {t["_id"] for t in fetch(timeBy="doneTime", timeFrom=time_from, timeTo=time_to)}
        assert got_ids == expected
    assert expected


def test_sort_on_parsed_instants_with_id_tiebreak(ro: Sandbox, http: requests.Session) -> None:
    docs = ro.store.values("tasks")
    spellings = {("+" in d["createdTime"], d["createdTime"].endswith("Z")) for d in docs}
    assert len(spellings) >= 3  # the seed mixes datetime spellings (note 6)
    for order in ("asc", "desc"):
        data = http.get(
            ro.url + "/tasks", params={"limit": 1000, "sortBy": "createdTime", "sortOrder": order}
        ).json()["tasks"]["data"]
        keys = [(utc(t["createdTime"]), t["_id"]) for t in data]
        assert keys == sorted(keys, reverse=order == "desc")
    default = ids_of(http.get(ro.url + "/tasks?limit=1000").json())
    desc = ids_of(http.get(ro.url + "/tasks?limit=1000&sortBy=createdTime&sortOrder=desc").json())
    assert default == desc
    by_order = http.get(
        ro.url + "/tasks?limit=1000&sortBy=orderIndex&sortOrder=asc&fields=orderIndex"
    )
    values = [t["orderIndex"] for t in by_order.json()["tasks"]["data"]]
    assert values == sorted(values)


def test_fields_projection_and_list_vs_detail(ro: Sandbox, http: requests.Session) -> None:
    data = http.get(ro.url + "/tasks?limit=20&fields=_id,status,hub,doneTime,nope").json()
    for t in data["tasks"]["data"]:
        doc = ro.store.get("tasks", t["_id"])
        assert doc is not None
        assert set(t) == {k for k in ("_id", "status", "hub", "doneTime") if k in doc}
    item = http.get(ro.url + "/tasks?limit=1").json()["tasks"]["data"][0]
    assert not set(SPEC.detail_only) & set(item)
    detail = http.get(f"{ro.url}/task/{item['_id']}").json()
    assert detail["status"] is True and detail["message"] == "Success"
    task = detail[SPEC.envelope_one]
    assert set(SPEC.detail_only) <= set(task)
    assert set(task["hub"]) == {"_id", "name", "lat", "lng"}
    assert {k: v for k, v in task.items() if k not in SPEC.detail_only} == item


def test_user_hubs_flows(ro: Sandbox, http: requests.Session) -> None:
    me = http.get(ro.url + "/user").json()
    assert {"_id", "name", "email", "organization_id", "role_id", "created_at"} <= set(me)
    assert "status" not in me or me["status"] == "active"
    hubs = http.get(ro.url + "/hubs").json()
    assert hubs["status"] is True and len(hubs["data"]) == 8
    assert all(isinstance(h["lat"], float) for h in hubs["data"])
    flows = http.get(ro.url + "/flows").json()
    assert set(flows["flows"]) == PAGINATOR_KEYS
    names = {f["name"] for f in flows["flows"]["data"]}
    assert names == {"Delivery", "Pickup", "Visit", "House Inspection", "Create Order Blitz"}
    comp = flows["flows"]["data"][0]["pages"][0]["components"][0]
    assert {"id", "component", "inputType", "title", "isRequired"} <= set(comp)


# --- writes ----------------------------------------------------------------------------


def test_a_replaced_task_keeps_every_standard_key(sb: Sandbox, http: requests.Session) -> None:
    """A PUT that leaves the standard keys out still answers them, null (docs/api-notes.md
    note 52): ``t["eta"]`` in a user's code must not raise KeyError after a replace."""
    hubs = hub_ids(sb)
    body = {"flow": "Delivery", "hubId": hubs[0], "title": "Paket", "refId": "R-1"}
    tid = http.post(sb.url + "/task", json=body).json()["task"]["_id"]
    r = http.put(f"{sb.url}/task/{tid}", json={"flow": "Delivery", "hubId": hubs[0], "title": "T"})
    assert r.status_code == 200, r.text
    unset = sorted(STANDARD_TASK_KEYS - {"updatedBy"})  # the PUT itself sets updatedBy
    for task in (r.json()["task"], http.get(f"{sb.url}/task/{tid}").json()["task"]):
        assert {k: task.get(k, "missing") for k in unset} == dict.fromkeys(unset)
        assert "updatedBy" in task


def test_create_get_patch_put_assign_move_delete(sb: Sandbox, http: requests.Session) -> None:
    hubs = hub_ids(sb)
    v0 = sb.store.version("tasks")
    body = {"flow": "Delivery", "hubId": hubs[0], "title": "Paket", "receiverName": "Budi"}
    r = http.post(sb.url + "/task", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["message"] == "Task has been created"
    task = r.json()["task"]
    tid = task["_id"]
    assert len(tid) == 24 and task["status"] == "UNASSIGNED" and task["createdFrom"] == "API"
    assert task["organizationId"] and task["hub"]["_id"] == hubs[0] and task["orderIndex"] > 0
    assert task["createdBy"] == "admin@demo.mile.app" and task["createdTime"].endswith("+00:00")
    assert [h["action"] for h in task["histories"]] == ["create"]
    assert "assignee" not in task
    assert http.get(f"{sb.url}/task/{tid}").json()["task"] == task

    r = http.patch(
        f"{sb.url}/task/{tid}",
        json={"receiverPhone": "0812", "_id": "x", "createdTime": "2020-01-01 00:00:00"},
    )
    assert r.status_code == 200 and r.json()["message"] == "Success"
    patched = r.json()["task"]
    assert patched["receiverPhone"] == "0812" and patched["receiverName"] == "Budi"
    assert patched["_id"] == tid and patched["createdTime"] == task["createdTime"]
    assert patched["histories"][-1]["action"] == "patch"

    r = http.put(f"{sb.url}/task/{tid}", json={"flow": "Delivery", "hubId": hubs[1], "title": "T"})
    replaced = r.json()["task"]
    assert "receiverName" not in replaced and replaced["title"] == "T"
    assert replaced["hub"]["_id"] == hubs[1] and replaced["orderIndex"] == task["orderIndex"]
    assert replaced["createdTime"] == task["createdTime"]
    r = http.put(f"{sb.url}/task/{tid}", json={"title": "no flow"})
    assert r.status_code == 400 and r.json()["message"] == "The flow field is required."

    worker = next(
        u["email"] for u in sb.store.values("users") if u["role"]["name"] == "Field Worker"
    )
    assigned = http.put(f"{sb.url}/task/{tid}/assign", json={"assignee": [worker]}).json()["task"]
    assert assigned["status"] == "ONGOING" and assigned["assignee"] == [worker]
    assert assigned["assignedBy"] and assigned["assignedTime"]
    assert assigned["assignedTo"]["email"] == worker
    moved = http.put(f"{sb.url}/task/{tid}/move", json={"hubId": hubs[2]}).json()["task"]
    assert moved["hubId"] == hubs[2] and moved["hub"]["_id"] == hubs[2]

    r = http.delete(f"{sb.url}/task/{tid}")
    assert r.status_code == 200 and r.json()["task"]["_id"] == tid
    assert http.get(f"{sb.url}/task/{tid}").status_code == 404
    assert http.delete(f"{sb.url}/task/{tid}").status_code == 404
    assert sb.store.version("tasks") == v0 + 6
    log = [e for e in sb.store.write_log if e["id"] == tid]
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in log] == [
        ("POST", "task"),
        ("PATCH", tid),
        ("PUT", tid),
        ("PUT", "assign"),
        ("PUT", "move"),
        ("DELETE", tid),
    ]
    assert [e["seq"] for e in sb.store.write_log] == list(range(1, len(sb.store.write_log) + 1))


def test_create_validation_and_conflict(sb: Sandbox, http: requests.Session) -> None:
    hub = hub_ids(sb)[0]
    cases = [
        ({"hubId": hub}, "The flow field is required."),
        ({"flow": "Delivery"}, "The hub id field is required."),
        ({"flow": "Handover", "hubId": hub}, "The selected flow is invalid."),
        ({"flow": "Pickup", "hubId": "0" * 24}, "The selected hub id is invalid."),
        (
            {"flow": "Pickup", "hubId": hub, "parcelCount": "many"},
            "The parcel count must be a number.",
        ),
        (
            {"flow": "Pickup", "hubId": hub, "startTime": "soon"},
            "The start time is not a valid date.",
        ),
    ]
    for body, message in cases:
        r = http.post(sb.url + "/task", json=body)
        assert (r.status_code, r.json()) == (400, {"status": False, "message": message})
    r = http.post(sb.url + "/task", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    existing = sb.store.values("tasks")[0]["_id"]
    r = http.post(sb.url + "/task", json={"_id": existing, "flow": "Pickup", "hubId": hub})
    assert r.status_code == 409
    assert r.json() == {"status": False, "message": "The _id has already been taken."}
    assert sb.store.write_log == []
    own = "6a0000000000000000000001"
    created = http.post(
        sb.url + "/task",
        json={"_id": own, "flow": "Pickup", "hubId": hub, "assignee": "budi@x.id"},
    )
    assert created.status_code == 201
    assert created.json()["task"]["_id"] == own
    assert created.json()["task"]["status"] == "ONGOING"  # assigning on create
    assert created.json()["task"]["assignee"] == ["budi@x.id"]


def test_bulk_create_partial_failure(sb: Sandbox, http: requests.Session) -> None:
    hub = hub_ids(sb)[0]
    n0 = sb.store.count("tasks")
    items = [
        {"flow": "Visit", "hubId": hub, "customerName": "A", "refId": "r1"},
        {"hubId": hub, "refId": "r2"},
        {"flow": "Visit", "hubId": "f" * 24},
        {"flow": "Pickup", "hubId": hub},
    ]
    r = http.post(sb.url + "/tasks/bulk/", json={"background": False, "tasks": items})
    assert r.status_code == 201
    body = r.json()
    assert (body["success"], body["failed"]) == (2, 2)
    res = body["tasks"]
    assert res[0]["status"] is True and res[0]["message"] == "Task has been created"
    assert res[0]["refId"] == "r1" and len(res[0]["_id"]) == 24
    assert res[1] == {"status": False, "message": "The flow field is required.", "refId": "r2"}
    assert res[2]["message"] == "The selected hub id is invalid."
    assert sb.store.count("tasks") == n0 + 2
    assert [e["id"] for e in sb.store.write_log] == [res[0]["_id"], res[3]["_id"]]
    too_many = {"tasks": [{"flow": "Visit", "hubId": hub}] * (SPEC.bulk_max + 1)}
    r = http.post(sb.url + "/tasks/bulk", json=too_many)
    assert r.status_code == 400
    assert r.json()["message"] == f"The tasks may not have more than {SPEC.bulk_max} items."
    assert http.post(sb.url + "/tasks/bulk", json={}).json()["message"] == (
        "The tasks field is required."
    )


def test_bulk_update_assign_move_delete(sb: Sandbox, http: requests.Session) -> None:
    hubs = hub_ids(sb)
    a, b, c = (t["_id"] for t in sb.store.values("tasks")[:3])
    missing = "0" * 24
    r = http.patch(
        sb.url + "/tasks/bulk",
        json={"tasks": [{"_id": a, "title": "A2"}, {"_id": missing, "title": "x"}, {"title": "y"}]},
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["success"], body["failed"]) == (1, 2)
    assert body["tasks"][0] == {"status": True, "message": "Success", "_id": a}
    assert body["tasks"][1] == {"status": False, "message": "Data not found", "_id": missing}
    assert body["tasks"][2]["message"] == "The _id field is required."
    doc_a = sb.store.get("tasks", a)
    assert doc_a is not None and doc_a["title"] == "A2"

    flow_b = sb.store.get("tasks", b)
    assert flow_b is not None
    put = {"_id": b, "flow": flow_b["flow"], "hubId": hubs[3], "title": "B2"}
    r = http.put(sb.url + "/tasks/bulk", json={"tasks": [put, {"_id": c, "title": "no flow"}]})
    assert [t["status"] for t in r.json()["tasks"]] == [True, False]
    assert r.json()["tasks"][1]["message"] == "The flow field is required."

    worker = "siti.santoso@demo.mile.app"
    r = http.put(sb.url + "/tasks/bulk/assign", json={"tasks": [{"_id": c, "assignee": [worker]}]})
    assert r.json()["success"] == 1
    doc_c = sb.store.get("tasks", c)
    assert doc_c is not None and doc_c["status"] in ("ONGOING", "DONE")
    assert doc_c["assignee"] == [worker]
    r = http.put(sb.url + "/tasks/bulk/move", json={"tasks": [{"_id": c, "hubId": hubs[4]}]})
    doc_c = sb.store.get("tasks", c)
    assert r.json()["success"] == 1 and doc_c is not None and doc_c["hub"]["_id"] == hubs[4]

    r = http.request("DELETE", sb.url + "/tasks/bulk", json={"tasks": [{"_id": a}, {"_id": a}]})
    assert [t["status"] for t in r.json()["tasks"]] == [True, False]  # the 2nd: already gone
    assert sb.store.get("tasks", a) is None
    applied = [(e["method"], e["id"]) for e in sb.store.write_log]
    assert applied == [("PATCH", a), ("PUT", b), ("PUT", c), ("PUT", c), ("DELETE", a)]
    assert len(applied) == len(set(applied)) + 1  # two different PUTs on c, nothing twice


# --- faults ----------------------------------------------------------------------------


def test_scripted_503_with_retry_after(sb: Sandbox, http: requests.Session) -> None:
    sb.faults.add(status=503, times=2, path_prefix="/tasks")
    codes = [http.get(sb.url + "/tasks?limit=1") for _ in range(3)]
    assert [r.status_code for r in codes] == [503, 503, 200]
    assert codes[0].headers["Retry-After"] == "1"
    assert codes[0].json()["status"] is False
    assert http.get(sb.url + "/user").status_code == 200
    sb.faults.add(status=500, method="POST", body={"status": False, "message": "boom"})
    r = http.post(sb.url + "/task", json={"flow": "Pickup", "hubId": hub_ids(sb)[0]})
    assert (r.status_code, r.json()["message"]) == (500, "boom")
    assert sb.store.write_log == []  # a gateway error is never applied


def test_dropped_connection_before_and_after_apply(sb: Sandbox, http: requests.Session) -> None:
    hub = hub_ids(sb)[0]
    n0 = sb.store.count("tasks")
    sb.faults.add(drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        http.post(sb.url + "/task", json={"flow": "Pickup", "hubId": hub})
    assert sb.store.count("tasks") == n0 and sb.store.write_log == []

    sb.faults.add(drop=True, after_apply=True)
    with pytest.raises(requests.ConnectionError):
        http.post(sb.url + "/task", json={"_id": "6b" + "0" * 22, "flow": "Pickup", "hubId": hub})
    assert sb.store.count("tasks") == n0 + 1 and len(sb.store.write_log) == 1
    # the retry of that write is answered 409: it was applied exactly once
    r = http.post(sb.url + "/task", json={"_id": "6b" + "0" * 22, "flow": "Pickup", "hubId": hub})
    assert r.status_code == 409 and len(sb.store.write_log) == 1
    assert sb.app.stats.dropped == 2
    assert [e.status for e in sb.app.request_log][:2] == [0, 0]


def test_random_error_rate_and_clear(sb: Sandbox, http: requests.Session) -> None:
    sb.faults.error_rate = 1.0
    codes = {http.get(sb.url + "/user").status_code for _ in range(20)}
    assert codes <= {500, 502, 503, 504} and codes
    sb.faults.clear()
    assert http.get(sb.url + "/user").status_code == 200


# --- persistence and seed --------------------------------------------------------------


def test_sqlite_persistence_across_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with Sandbox(tasks=30, db=db, rate_limit=None) as first, requests.Session() as s:
        s.headers.update(auth())
        hub = hub_ids(first)[0]
        tid = s.post(first.url + "/task", json={"flow": "Pickup", "hubId": hub}).json()["task"][
            "_id"
        ]
        a, b = (t["_id"] for t in first.store.values("tasks")[:2])
        s.patch(f"{first.url}/task/{a}", json={"title": "kept"})
        s.delete(f"{first.url}/task/{b}")
        version = first.store.version("tasks")
    with Sandbox(tasks=999, db=db, rate_limit=None) as second, requests.Session() as s:
        s.headers.update(auth())
        assert second.store.count("tasks") == 30
        assert s.get(f"{second.url}/task/{tid}").status_code == 200
        assert s.get(f"{second.url}/task/{a}").json()["task"]["title"] == "kept"
        assert s.get(f"{second.url}/task/{b}").status_code == 404
        assert second.store.version("tasks") == version
        assert [e["id"] for e in second.store.write_log] == [tid, a, b]
        assert s.get(second.url + "/tasks?limit=1000").json()["tasks"]["total"] == 30


def test_seed_is_deterministic_and_reproduces_quirks() -> None:
    one, two = build_org(seed=11, tasks=400), build_org(seed=11, tasks=400)
    assert orjson.dumps(one.tasks) == orjson.dumps(two.tasks)
    assert orjson.dumps(one.users) == orjson.dumps(two.users)
    assert orjson.dumps(build_org(seed=12, tasks=400).tasks) != orjson.dumps(one.tasks)
    tasks = one.tasks
    assert len({t["_id"] for t in tasks}) == 400
    created = [utc(t["createdTime"]) for t in tasks]
    assert min(created) >= datetime(2026, 8, 1, tzinfo=UTC)
    assert max(created) < datetime(2026, 10, 30, tzinfo=UTC)
    for t in tasks:
        assert utc(t["endTime"]) > utc(t["startTime"])
        if t["status"] == "UNASSIGNED":
            assert "assignee" not in t and "doneTime" not in t and t["assignedTo"] is None
        else:
            assert t["assignee"] and "assignedTime" in t and "assignedBy" in t
            assert t["assignedTo"]["email"] == t["assignee"][0]  # note 24
            assert set(t["assignedTo"]) == {"_id", "name", "email", "hubId", "role", "firstLogin"}
        if t["status"] == "DONE":
            assert {"doneTime", "doneBy", "doneCoordinate"} <= set(t)
            assert isinstance(t["travelDistance"], float)  # note 22
        assert isinstance(t["label"], list)  # note 21
        assert set(_REAL_KEYS) <= set(t)  # note 23
        assert isinstance(t["visitGroupPriority"], int) and t["isDeleted"] is False
    assert any(t.get("assignedVehicle", 1) is None for t in tasks)
    assert {0, 1, 2} <= {len(t["label"]) for t in tasks} <= {0, 1, 2, 3}  # + an outcome
    assert any(utc(t["doneTime"]) > utc(t["endTime"]) for t in tasks if "doneTime" in t)
    delivery = next(t for t in tasks if t["flow"] == "Delivery")
    assert isinstance(delivery["items"], list) and isinstance(delivery["packageWeight"], float)
    assert len(one.hubs) == 8 and len(one.flows) == 5 and len(one.users) == 50
    assert len(one.vehicles) == 20


#: keys every real task carries (note 23)
_REAL_KEYS = (
    "hub", "organization", "organizationId", "isDeleted", "orderIndex", "openTaskTime",
    "travelDistance", "idleDuration", "appVersion", "deviceInformation", "createdCoordinate",
    "expectedDoneTime", "geoLockTrigger", "idLocal", "inLocation", "outLocation",
    "visitGroup", "visitGroupPriority", "assignedTo",
)  # fmt: skip


def test_tasks_spell_datetimes_as_real_ones_unless_asked_for_all_spellings() -> None:
    real, mixed = build_org(seed=3, tasks=400), build_org(seed=3, tasks=400, mixed_datetimes=True)
    stamps = ("createdTime", "updatedTime", "startTime", "endTime", "doneTime", "assignedTime")

    def spellings(org: Org) -> set[str]:
        return {
            re.sub(r"\d", "9", t[k]) for t in org.tasks for k in stamps if isinstance(t.get(k), str)
        }

    assert spellings(real) == {"9999-99-99T99:99:99+99:99"}  # note 25
    assert len(spellings(mixed)) >= 4  # note 6: naive, +07:00 with ms, Z with µs ...
    assert {len(t["eta"]) for t in real.tasks if t["eta"]} == {8}  # HH:MM:SS
    assert {len(t["eta"].split(":")) for t in mixed.tasks if t["eta"]} == {2, 3}
    for a, b in zip(real.tasks, mixed.tasks, strict=True):  # the same instants (to the second)
        assert a["_id"] == b["_id"]
        assert utc(a["createdTime"]) == utc(b["createdTime"]).replace(microsecond=0)


def test_the_demo_org_follows_real_operators_conventions() -> None:
    org = build_org(seed=7, tasks=500)
    workers = [u for u in org.users if u["role"]["name"] == "Field Worker"]
    # the temperature class in quotes before the name (docs/api-notes.md note 55)
    assert {u["name"].split('"')[1] for u in workers} == {"DRY", "FRZ"}
    codes = {"jkt", "sby", "bdg", "mdn", "mks", "dps", "smg", "yog"}
    assert all(u["email"].split("@")[0].rsplit(".", 1)[1] in codes for u in workers)
    assert all(
        re.fullmatch(r"(DRY|FRZ) [A-Z]{1,2} \d{4} [A-Z]{2,3}", v["name"]) for v in org.vehicles
    )
    assert {v["tags"][0].split("-")[0] for v in org.vehicles} == {"DRY", "FRZ"}  # "DRY-CDD"
    assert {t for v in org.vehicles for t in v["tags"]} <= {
        f"{c}-{b}" for c in ("DRY", "FRZ") for b in ("CDE", "CDD", "VAN", "FUSO")
    }
    orders = [t for t in org.tasks if t["flow"] == "Create Order Blitz"]
    assert orders and all({"kota", "orderNumber", "merchantOrderId"} <= set(t) for t in orders)


def test_a_sandbox_in_a_users_process_freezes_none_of_its_garbage() -> None:
    """The store freezes its documents out of the cyclic GC; garbage the host process
    (a notebook) already had must not be frozen with them, or it would never be freed."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import gc, weakref
        from milekit.sandbox.seed import build_org
        from milekit.sandbox.store import Store

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle: only the cyclic GC frees it
        gone = []
        weakref.finalize(a, gone.append, True)
        del a, b
        gc.disable()  # the cycle is still there when the sandbox starts
        Store(build_org(tasks=10))
        gc.enable()
        gc.collect()
        assert gone == [True], "the host's garbage was frozen with the sandbox's documents"
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_small_things_of_real_answers(sb: Sandbox, http: requests.Session) -> None:
    users = http.get(sb.url + "/users", params={"limit": 2, "page": 3}).json()["data"]
    assert len(users) == sb.store.count("users")  # /users ignores limit and page (note 29)
    page = http.get(sb.url + "/tasks", params={"limit": 5}).json()
    assert all(set(link) == {"url", "label", "page", "active"} for link in page["tasks"]["links"])
    version = page["dataVersion"]
    assert re.fullmatch(r"\d{10}", version)  # a 10-digit epoch, not "0" (note 30)
    task = page["tasks"]["data"][0]
    http.patch(f"{sb.url}/task/{task['_id']}", json={"title": "moved on"})
    assert http.get(sb.url + "/tasks", params={"limit": 1}).json()["dataVersion"] > version
    speeds = {
        (t.get("assignedVehicle") or {}).get("speed", "none") for t in sb.store.values("tasks")
    }
    assert speeds <= {None, "none"}  # a task's vehicle speed is null (note 30)
    histories = http.get(
        sb.url + "/location-histories", params={"fields": "email,lat", "limit": 5}
    ).json()["tasks"]["data"]
    assert all(set(h) == {"_id", "email", "lat", "trackedTime"} for h in histories)  # note 27


def test_the_operators_tools_get_the_rows_they_expect(sb: Sandbox, http: requests.Session) -> None:
    """How the in-house tools of logistics operators read MileApp (docs/api-notes.md,
    notes 4, 26, 28), unmodified against the sandbox: each gets rows, none an empty
    report (issue 12: every report came back empty)."""
    base = sb.url
    # a desktop report builder: hubs, vehicles and users as a top-level "data" list
    assert len(http.get(base + "/hubs").json()["data"]) == 8
    assert len(http.get(base + "/vehicles", params={"limit": 500}).json()["data"]) == 20
    assert len(http.get(base + "/users", params={"limit": 500}).json()["data"]) == 50
    # ... tasks in one big page, two statuses at once, following next_page_url
    url: str | None = base + "/tasks?limit=5000&status=DONE,ONGOING"
    rows: list[dict[str, Any]] = []
    while url:
        page = http.get(url).json()["tasks"]
        rows += page["data"]
        url = page["next_page_url"]
    expected = [t for t in sb.store.values("tasks") if t["status"] in ("DONE", "ONGOING")]
    assert len(rows) == len(expected) > 0
    assert all(isinstance(t["label"], list) and "assignedTo" in t for t in rows)
    # a routing summary: each result's summary at the item's top level, the plan beside it
    results = http.get(base + "/results", params={"limit": 100}).json()["data"]["data"]
    assert results and all(r["summary"]["totalVisits"] >= 0 and r["result"] for r in results)
    # a web proxy reading one task as {"task": ...}
    one = http.get(f"{base}/task/{rows[0]['_id']}").json()
    assert one["task"]["_id"] == rows[0]["_id"]
    # a bulk creator posting label and assignee as plain strings
    worker = next(u for u in sb.store.values("users") if u["role"]["name"] == "Field Worker")
    body = {"flow": "Create Order Blitz", "hubId": rows[0]["hubId"], "label": "COD"}
    body |= {"assignee": worker["email"], "orderNumber": "SO-1", "merchantOrderId": "BLZ-1"}
    created = http.post(base + "/task", json=body | {"kota": "Bekasi", "namaPenerima": "Ani"})
    assert created.status_code == 201, created.text
    task = created.json()["task"]
    assert task["label"] == ["COD"] and task["assignee"] == [worker["email"]]
    assert task["assignedTo"]["email"] == worker["email"] and task["status"] == "ONGOING"


@pytest.mark.parametrize("kw", [{"rate_limit": 0}, {"rate_limit": -5}, {"rate_period": 0}])
def test_a_limit_that_admits_nothing_is_refused_before_start(kw: dict[str, Any]) -> None:
    """``rate_limit=0`` crashed every request with an IndexError inside the server; ``None``
    is what turns the limiter off, so a limit admitting nothing is a usage error at once."""
    with pytest.raises(UsageError, match="rate_limit=None"):
        Sandbox(tasks=0, **kw)


def test_lists_after_writes_keep_the_order_a_full_sort_gives(http: requests.Session) -> None:
    """The list's kept orders (moved by the write log, not sorted again) equal a sort of
    the store after creates, edits of the sort field, deletes and bulk writes; so do the
    lists of one status (kept orders of their own) after tasks change status."""
    with Sandbox(tasks=400, seed=4, rate_limit=None, mixed_datetimes=True) as box:

        def listed(**params: Any) -> list[str]:
            r = http.get(box.url + "/tasks", params={"limit": 1000, "fields": "_id", **params})
            assert r.status_code == 200, r.text
            return [t["_id"] for t in r.json()["tasks"]["data"]]

        def expected(
            by: str, order: str, lo: datetime | None = None, status: str = ""
        ) -> list[str]:
            every = [d for d in box.store.values("tasks") if d["status"] == status or not status]
            docs = [d for d in every if isinstance(d.get(by), str)]
            keyed = [(utc(d[by]), d["_id"]) for d in docs if lo is None or utc(d[by]) >= lo]
            missing = [] if lo else [d for d in every if d.get(by) is None]
            ids = [i for _, i in sorted(keyed)]
            ids = sorted(d["_id"] for d in missing) + ids
            return ids[::-1] if order == "desc" else ids

        lo = datetime(2026, 10, 1, tzinfo=UTC)
        for step in range(4):
            for by in ("createdTime", "startTime"):
                for order in ("asc", "desc"):
                    assert listed(sortBy=by, sortOrder=order) == expected(by, order)
                    for status in ("UNASSIGNED", "ONGOING", "DONE"):
                        got_ids = listed(sortBy=by, sortOrder=order, status=status)
                        assert got_ids == expected(by, order, status=status)
                        ranged = listed(timeBy=by, timeFrom="2026-10-01 00:00:00", status=status)
                        assert set(ranged) == set(expected(by, "asc", lo, status))
                time_from = "2026-10-01T07:00:00+07:00"
                got = set(listed(timeBy=by, timeFrom=time_from)) | set(
                    listed(timeBy=by, timeFrom="2026-10-01 00:00:00")
                )
                assert got == set(expected(by, "asc", lo))
            tasks = box.store.values("tasks")
            first, last = tasks[step], tasks[-1 - step]
            moved = f"2026-{8 + step:02d}-0{step + 1}T0{step}:00:00+07:00"
            http.patch(box.url + f"/task/{first['_id']}", json={"startTime": moved})
            http.delete(box.url + f"/task/{last['_id']}")
            body = {"flow": first["flow"], "hubId": first["hubId"], "startTime": moved}
            assert http.post(box.url + "/task", json=body).status_code == 201
            edits = [{"_id": t["_id"], "startTime": moved} for t in tasks[10 + step : 13 + step]]
            assert http.patch(box.url + "/tasks/bulk", json={"tasks": edits}).json()["failed"] == 0
            moves = zip(
                tasks[20 + step : 23 + step], ("DONE", "ONGOING", "UNASSIGNED"), strict=True
            )
            for t, status in moves:
                doc = dict(box.store.get("tasks", t["_id"]) or {}, status=status)
                box.store.apply([Op("put", "tasks", t["_id"], doc)], "PATCH", "/task")


def test_a_projected_list_shows_each_task_as_stored_after_edits(http: requests.Session) -> None:
    """The rows of a ``fields=`` list are serialised once per stored version of a task
    (kept per projection): after an edit, the next list shows the new value, and each row
    holds the asked fields of the stored task, the id first, and nothing else."""
    with Sandbox(tasks=60, seed=5, rate_limit=None) as box:
        fields = "title,status,updatedTime"

        def listed(f: str = fields) -> dict[str, dict[str, Any]]:
            r = http.get(box.url + "/tasks", params={"limit": 100, "fields": f})
            assert r.status_code == 200, r.text
            return {t["_id"]: t for t in r.json()["tasks"]["data"]}

        before = listed()
        listed("title")  # another projection of the same tasks, kept beside it
        some = sorted(before)[:3]
        for i, task_id in enumerate(some):
            r = http.patch(f"{box.url}/task/{task_id}", json={"title": f"edited {i}"})
            assert r.status_code == 200, r.text
        after, titles = listed(), listed("title")
        for task_id, row in after.items():
            stored = box.store.get("tasks", task_id)
            assert stored is not None
            assert list(row) == ["_id", "title", "status", "updatedTime"]
            assert row == {k: stored[k] for k in row}
            assert titles[task_id] == {"_id": task_id, "title": stored["title"]}
        assert [after[t]["title"] for t in some] == ["edited 0", "edited 1", "edited 2"]
        assert {t: after[t] for t in after if t not in some} == {
            t: before[t] for t in before if t not in some
        }


def test_the_serialised_rows_kept_are_the_whole_rows_and_the_last_projections() -> None:
    """Each ``fields=`` projection keeps its rows serialised (memory): only the last four
    asked for are kept, and the whole rows' (1M tasks' worth, seconds to make again) never
    make way for them."""
    svc = TaskService(Store(build_org(tasks=5)))
    ask = ["title", "status", "hubId", "flow", "label", "title,status"]
    svc.list_tasks({}, "", "/tasks", fragments=True)
    for fields in ask:
        svc.list_tasks({"fields": fields}, "", "/tasks", fragments=True)
    kept = list(svc._json)
    assert () in kept and len(svc._json[()]) == 5
    assert kept[1:] == [tuple(f.split(",")) for f in ask[-_PROJECTIONS_KEPT:]]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_a_kept_serialised_row_holds_about_its_own_size() -> None:
    """orjson's result holds the buffer it was written in: kept as it is, a projected row
    of 134 bytes held ~4 KB and cost a page fault (a 1M sandbox whose rows had all been
    listed held 17.7 GB, now 8.3; a cold page of 1,000 narrow rows took 24-36 ms, now
    4.4-6.6). The forms kept take about their size: 20,000 narrow rows under 1 KB each."""
    svc = TaskService(Store(build_org(tasks=20_000)))
    fields = {"fields": "_id,updatedTime,createdTime,status", "limit": "1000"}
    svc.list_tasks({**fields, "page": "1"}, "", "/tasks", fragments=True)  # lazy state
    before = _rss_bytes()
    for page in range(2, 21):
        svc.list_tasks({**fields, "page": str(page)}, "", "/tasks", fragments=True)
    kept = svc._json[("_id", "updatedTime", "createdTime", "status")]
    assert len(kept) == 20_000
    assert (_rss_bytes() - before) / 19_000 < 1024
