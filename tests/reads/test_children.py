"""Child tables: one row per array element, keyed by the parent id, typed from the
registry, counted against the sandbox's own documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import milekit
from milekit import errors
from milekit.reads.children import rows_of
from milekit.sandbox import Sandbox
from milekit.types import registry


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        yield c


def _items(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v] if isinstance(v, dict) else []


def _expected(sandbox: Sandbox, name: str) -> int:
    """Elements of the child's array in the sandbox's stored documents."""
    child = registry.CHILDREN[name]
    total = 0
    for doc in sandbox.store.values(child.parent):
        level = [doc]
        for key in child.path[:-1]:
            level = [x for d in level for x in _items(d.get(key))]
        last = child.path[-1]
        if child.keyed_by:
            total += sum(len(d.get(last) or {}) for d in level)
        else:
            total += sum(len(_items(d.get(last))) for d in level)
    return total


@pytest.mark.parametrize("name", sorted(registry.CHILDREN))
def test_every_child_table(name: str, sandbox: Sandbox, client: milekit.Client) -> None:
    child = registry.CHILDREN[name]
    df = milekit.frame(name, client=client, progress=False)
    assert len(df) == _expected(sandbox, name) > 0
    assert tuple(df.columns[: len(child.columns)]) == child.columns[: len(df.columns)]
    parents = {d[registry.get(child.parent).id_field] for d in sandbox.store.values(child.parent)}
    assert set(df[child.key]) <= parents and str(df[child.key].dtype) == "string"
    for f in child.fields:  # typed from the registry where present
        if f.name in df.columns and f.type.value in ("Datetime", "Time", "Integer", "Float"):
            want = {
                "Datetime": "datetime64[us, UTC]",
                "Time": "time64[us][pyarrow]",
                "Integer": "Int64",
                "Float": "Float64",
            }[f.type.value]
            assert str(df[f.name].dtype) == want, f.name
    helper = getattr(milekit, f"{name}_frame")
    pd.testing.assert_frame_equal(helper(client=client, progress=False), df)


def test_task_histories_come_with_fields_and_match_the_documents(
    sandbox: Sandbox, client: milekit.Client
) -> None:
    before = len(sandbox.app.request_log)
    h = milekit.task_histories_frame(client=client, progress=False, status="DONE")
    log = list(sandbox.app.request_log)[before:]
    sent = [r for r in log if r.path == "/api/v3/tasks"]
    assert sent and all("fields=_id%2Chistories" in r.query for r in sent)  # note 14
    assert not any(r.path.startswith("/api/v3/task/") for r in log)  # no detail reads
    raw = {t["_id"]: t for t in sandbox.store.values("tasks") if t["status"] == "DONE"}
    assert set(h["taskId"]) == set(raw)
    tid = h["taskId"].iloc[0]
    mine = h[h["taskId"] == tid]
    assert list(mine["_id"]) == [x["_id"] for x in raw[tid]["histories"]]
    assert list(mine["action"]) == [x["action"] for x in raw[tid]["histories"]]
    first = pd.Timestamp(raw[tid]["histories"][0]["createdAt"])
    assert mine["createdAt"].iloc[0] == first
    assert set(h["action"]) >= {"create", "assign"}


def test_children_of_a_frame_you_have(client: milekit.Client) -> None:
    tasks = milekit.tasks_frame(
        client=client, progress=False, fields=["title", "histories"], status="ONGOING"
    )
    a = milekit.children(tasks, "histories")
    b = milekit.children(tasks, "task_histories")
    c = milekit.task_histories_frame(client=client, progress=False, status="ONGOING")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    # a flattened parent frame works too (its objects are rebuilt first)
    vehicles = milekit.vehicles_frame(client=client, progress=False)
    flat = milekit.vehicles_frame(client=client, progress=False, flatten=True)
    assert "workingTime" not in flat.columns
    pd.testing.assert_frame_equal(
        milekit.children(flat, "workingTime"), milekit.children(vehicles, "workingTime")
    )
    results = milekit.routing_results_frame(client=client, progress=False)
    visits = milekit.children(results, "trips")  # real lists carry the plan (note 26)
    pd.testing.assert_frame_equal(
        visits, milekit.routing_result_visits_frame(client=client, progress=False)
    )
    with pytest.raises(errors.UsageError, match="no 'result' column"):
        milekit.children(results.drop(columns="result"), "trips")  # say how to get it


def test_carried_columns_and_keyed_rows(sandbox: Sandbox, client: milekit.Client) -> None:
    visits = milekit.routing_result_visits_frame(client=client, progress=False)
    plans = {r["_id"]: r for r in sandbox.store.values("routing_results")}
    row = visits.iloc[0]
    route = next(
        r
        for r in plans[row["resultId"]]["result"]["routing"]
        if any(t.get("visitId") == row["visitId"] for t in r["trips"])
    )
    assert row["vehicleId"] == route["vehicleId"] and row["vehicleName"] == route["vehicleName"]
    assert str(visits["eta"].dtype) == "time64[us][pyarrow]"
    comps = milekit.flow_components_frame(client=client, progress=False)
    flows = {f["_id"]: f for f in sandbox.store.values("flows")}
    pages = {(fid, p.get("id")) for fid, f in flows.items() for p in f["pages"]}
    assert {(a, b) for a, b in zip(comps["flowId"], comps["pageId"], strict=True)} <= pages
    caps = milekit.vehicle_capacities_frame(client=client, progress=False)
    v = sandbox.store.values("vehicles")[0]
    mine = caps[caps["vehicleId"] == v["_id"]].set_index("constraint")
    assert {k: (mine.at[k, "min"], mine.at[k, "max"]) for k in mine.index} == {
        k: (b["min"], b["max"]) for k, b in v["capacity"].items()
    }


def test_child_names_resolve_and_fail_clearly(client: milekit.Client) -> None:
    results = milekit.routing_results_frame(client=client, progress=False)
    with pytest.raises(errors.UsageError, match="several child tables"):
        milekit.children(results, "result")
    with pytest.raises(errors.UsageError, match="no child table 'stops'"):
        milekit.children(results, "stops")
    with pytest.raises(errors.UsageError, match="child of vehicles, not of routing_results"):
        milekit.children(results, "vehicle_capacities")
    with pytest.raises(errors.UsageError, match="unknown resource 'histories'"):
        milekit.frame("histories", client=client)


def test_quirk_11_an_object_where_a_list_is_due_is_one_element() -> None:
    child = registry.CHILDREN["vehicle_working_times"]
    docs = [
        ("v1", {"workingTime": {"startTime": "08:00", "endTime": "17:00"}}),
        ("v2", {"workingTime": [{"startTime": "07:00"}, {"startTime": "13:00"}]}),
        ("v3", {"workingTime": None}),
    ]
    rows = rows_of(child, docs)
    assert [(r["vehicleId"], r["startTime"]) for r in rows] == [
        ("v1", "08:00"),
        ("v2", "07:00"),
        ("v2", "13:00"),
    ]


def test_a_keyed_value_that_is_not_an_object_warns_and_keeps_its_row() -> None:
    from milekit.types.schema import MileTypeWarning

    child = registry.CHILDREN["vehicle_capacities"]
    with pytest.warns(MileTypeWarning, match="'weight' holds 150"):
        rows = rows_of(child, [("v1", {"capacity": {"weight": 150}})])
    assert rows == [{"vehicleId": "v1", "constraint": "weight"}]
