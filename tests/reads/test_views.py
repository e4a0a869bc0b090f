"""Every GET operation but the file stream as a typed frame: detail reads (milekit.get) and
views (milekit.view and the view helpers), against the sandbox: the list frames' dtypes
for shared columns, the index, the rows, a Parquet round trip, unknown ids, several ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.types import registry

DETAILED = sorted(n for n, s in registry.RESOURCES.items() if s.detail_path)


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[milekit.Client]:
    # the client's own limiter paces every request of this module (100 req/s)
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        yield c


@pytest.fixture(scope="module")
def lists(client: milekit.Client) -> dict[str, pd.DataFrame]:
    return {}


def _list(lists: dict[str, pd.DataFrame], client: milekit.Client, name: str) -> pd.DataFrame:
    if name not in lists:
        lists[name] = milekit.frame(name, client=client, progress=False)
    return lists[name]


def _same_dtypes(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    shared = [c for c in got.columns if c in want.columns]
    assert shared, "no column in common"
    return [c for c in shared if str(got[c].dtype) != str(want[c].dtype)]


def _dense(v: Any) -> Any:
    """A cell with its None-valued object keys left out (see _round_trip)."""
    if isinstance(v, dict):
        return {k: _dense(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_dense(x) for x in v]
    return v


def _round_trip(df: pd.DataFrame, path: Path) -> None:
    milekit.to_parquet(df, path)
    back = milekit.read_parquet(path)
    assert back.index.name == df.index.name
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    # an object column typed from the data is a Parquet STRUCT of every row's keys: a row
    # comes back with the other rows' keys as None (to_parquet does this to any frame)
    objects = [c for c in df.columns if df[c].dtype == object]
    for c in objects:
        assert [_dense(v) for v in back[c]] == [_dense(v) for v in df[c]], c
    pd.testing.assert_frame_equal(back.drop(columns=objects), df.drop(columns=objects))


@pytest.mark.parametrize("name", DETAILED)
def test_detail_read_is_typed_like_the_list(
    name: str, client: milekit.Client, lists: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    spec = registry.get(name)
    listed = _list(lists, client, name)
    ids = list(listed.index[:3])
    assert ids
    df = milekit.get(name, ids, client=client)
    assert df.index.name == spec.id_field
    assert list(df.index) == ids  # one row each, in the order asked
    assert _same_dtypes(df, listed) == []
    assert not set(spec.secret_fields) & set(df.columns)
    one = milekit.get(name, ids[0], client=client)
    assert len(one) == 1 and one.index[0] == ids[0]
    _round_trip(df, tmp_path / f"{name}.parquet")


@pytest.mark.parametrize("name", DETAILED)
def test_unknown_id_is_not_found(name: str, client: milekit.Client) -> None:
    with pytest.raises(errors.NotFoundError):
        milekit.get(name, "ffffffffffffffffffffffff", client=client)


def test_task_detail_has_histories_and_custom_columns(
    client: milekit.Client, lists: dict[str, pd.DataFrame]
) -> None:
    listed = _list(lists, client, "tasks")
    delivery = listed.index[listed["flow"] == "Delivery"][:2].tolist()
    df = milekit.get("tasks", delivery, client=client)
    assert str(df["histories"].dtype) == "object"
    assert all(isinstance(h, list) and h for h in df["histories"])
    with_h = milekit.tasks_frame(client=client, progress=False, fields=["histories", "flow"])
    assert df["histories"].tolist() == with_h.loc[delivery, "histories"].tolist()
    cols = milekit.custom_columns(df)
    assert list(cols) == ["Delivery"] and "packageWeight" in cols["Delivery"]
    assert str(df["packageWeight"].dtype) == "Float64"  # from the flow, not the data


def test_data_record_keyword_forms(sandbox: Sandbox, client: milekit.Client) -> None:
    records = [r for r in sandbox.store.values("data") if r.get("hubId")][:2]
    names = {t["_id"]: t["name"] for t in sandbox.store.values("data_types")}
    by_id = milekit.get("data", [r["_id"] for r in records], client=client)
    by_type = milekit.get(
        "data",
        data_type=[names[r["dataTypeId"]] for r in records],
        data_id=[r["dataId"] for r in records],
        client=client,
    )
    by_hub = milekit.get(
        "data",
        hub_id=[r["hubId"] for r in records],
        data_type=[names[r["dataTypeId"]] for r in records],
        data_id=[r["dataId"] for r in records],
        client=client,
    )
    for df in (by_type, by_hub):
        assert list(df.index) == list(by_id.index)
        pd.testing.assert_frame_equal(df[by_id.columns], by_id, check_like=True)
    assert by_type.attrs["milekit"]["custom_columns"]  # typed from the data types
    with pytest.raises(errors.NotFoundError):
        milekit.get("data", data_type="Store", data_id="NO-SUCH-KEY", client=client)


def test_user_by_email(sandbox: Sandbox, client: milekit.Client, lists: dict[str, Any]) -> None:
    users = _list(lists, client, "users")
    emails = users["email"].head(3).tolist()
    df = milekit.get("users", email=emails, client=client)
    assert df["email"].tolist() == emails and df.index.name == "_id"
    assert list(df.index) == list(users.index[:3])
    assert _same_dtypes(df, users) == []
    assert "personalToken" not in df.columns
    with pytest.raises(errors.NotFoundError):
        milekit.get("users", email="nobody@nowhere.example", client=client)


def test_get_refuses_bad_input_before_sending(client: milekit.Client) -> None:
    cases: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
        (("flow_logs", "x"), {}, "no single-object read"),
        (("tasks",), {}, "needs an id"),
        (("tasks", "x"), {"email": "a@b.c"}, "either an id"),
        (("users",), {"mail": "a@b.c"}, "keyword forms: email"),
        (("data",), {"data_type": ["A", "B"], "data_id": ["1"]}, "differ in length"),
        (("tasks", ""), {}, "must not be empty"),
        (("nope", "x"), {}, "unknown resource"),
    ]
    for args, kw, msg in cases:
        with pytest.raises(errors.UsageError, match=msg):
            milekit.get(*args, client=client, **kw)


# --- views --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def views(sandbox: Sandbox, client: milekit.Client) -> dict[str, pd.DataFrame]:
    store = sandbox.store
    hub = store.values("tasks")[0]["hubId"]
    todo = [t["_id"] for t in store.values("tasks") if t["status"] != "DONE"][:3]
    results = [r["_id"] for r in store.values("routing_results")][:2]
    wf = store.values("activities")[0]["workflowId"]
    c = client
    return {
        "tasks_tracking": milekit.tasks_tracking_frame(
            hubId=hub, timeFrom="2020-01-01", timeTo="2030-01-01", client=c
        ),
        "workflow_activities": milekit.workflow_activities_frame(wf, client=c, progress=False),
        "routing_result_history": milekit.routing_result_history_frame(results, client=c),
        "flow_components_view": milekit.flow_components_view_frame(client=c),
        "flow_fields_by_name": milekit.flow_fields_by_name_frame("Delivery", client=c),
        "flow_task_template": milekit.flow_task_template_frame(["Delivery", "Pickup"], client=c),
        "me": milekit.me_frame(client=c),
        "public_task": milekit.public_task_frame(todo, client=c),
    }


def test_every_view_has_a_helper() -> None:
    from milekit.reads.named import VIEW_HELPERS

    assert sorted(VIEW_HELPERS.values()) == sorted(registry.VIEWS)
    for helper in VIEW_HELPERS:
        assert callable(getattr(milekit, helper)) and helper in milekit.__all__


@pytest.mark.parametrize("name", sorted(set(registry.VIEWS) - {"location_tracking"}))
def test_view_index_rows_and_parquet(
    name: str, views: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    v = registry.VIEWS[name]
    df = views[name]
    assert len(df) > 0
    assert df.index.name == v.index
    if v.index:
        assert df.index.is_unique and not df.index.hasnans
    assert df.attrs["milekit"]["view"] == name
    _round_trip(df, tmp_path / f"{name}.parquet")


@pytest.mark.parametrize(
    ("name", "like"),
    [
        ("workflow_activities", "activities"),
        ("flow_task_template", "tasks"),
        ("public_task", "tasks"),
        ("me", "users"),
    ],
)
def test_view_dtypes_are_the_list_frames(
    name: str,
    like: str,
    views: dict[str, pd.DataFrame],
    client: milekit.Client,
    lists: dict[str, pd.DataFrame],
) -> None:
    assert _same_dtypes(views[name], _list(lists, client, like)) == []


def test_view_rows_match_the_sandbox(
    sandbox: Sandbox, views: dict[str, pd.DataFrame], client: milekit.Client
) -> None:
    store = sandbox.store
    track = views["tasks_tracking"]
    summary = track.attrs["milekit"]["summary"]
    hub = store.values("tasks")[0]["hubId"]
    q = {"hubId": hub, "timeFrom": "2020-01-01 00:00:00", "timeTo": "2030-01-01 00:00:00"}
    raw = client.request("GET", "/tasks/tracking", params=q).body
    assert summary == {k: v for k, v in raw.items() if k != "counting"}
    assert {e: {k: int(x) for k, x in row.items()} for e, row in track.iterrows()} == raw[
        "counting"
    ]
    assert str(track["doneTask"].dtype) == "Int64" and str(track["distance"].dtype) == "Float64"
    hist = views["routing_result_history"]
    results = [r["_id"] for r in store.values("routing_results")][:2]
    assert set(hist["resultId"]) <= set(results)
    assert str(hist["createdTime"].dtype) == "datetime64[us, UTC]"
    comps = views["flow_components_view"]
    assert list(comps.columns[:3]) == ["flowId", "flowName", "id"]
    assert set(comps["flowName"]) == {f["name"] for f in store.values("flows")}
    one = views["flow_fields_by_name"]
    assert one.index.name == "id" and set(one["flowName"]) == {"Delivery"}
    assert set(one.index) == set(comps.loc[comps["flowName"] == "Delivery", "id"])
    tpl = views["flow_task_template"]
    assert tpl.index.tolist() == ["Delivery", "Pickup"]
    assert str(tpl["startTime"].dtype) == "datetime64[us, UTC]"
    assert str(tpl["packageWeight"].dtype) == "Float64"  # a Delivery component, from the flow
    me = views["me"]
    assert me["email"].tolist() == [store.meta["me"]["email"]]
    assert str(me["created_at"].dtype) == "datetime64[us, UTC]"
    assert "status" in me.columns  # no envelope: the user's own status is kept
    pub = views["public_task"]
    todo = [t["_id"] for t in store.values("tasks") if t["status"] != "DONE"][:3]
    assert pub.index.tolist() == todo
    assert {"listItem", "histories", "location"} <= set(pub.columns)
    acts = views["workflow_activities"]
    wf = store.values("activities")[0]["workflowId"]
    assert set(acts["workflowId"]) == {wf}
    assert len(acts) == sum(1 for a in store.values("activities") if a.get("workflowId") == wf)


def test_view_errors(client: milekit.Client) -> None:
    with pytest.raises(errors.UsageError, match="needs hubId, timeFrom, timeTo"):
        milekit.frame("tasks_tracking", client=client)
    with pytest.raises(errors.UsageError, match="unknown filter"):
        milekit.frame("me", client=client, hubid="x")
    with pytest.raises(errors.UsageError, match="unknown resource"):
        milekit.frame("nope", client=client)
    with pytest.raises(errors.NotFoundError):
        milekit.routing_result_history_frame("ffffffffffffffffffffffff", client=client)
    with pytest.raises(errors.BadRequestError, match="flow name is invalid"):
        milekit.flow_fields_by_name_frame("No Such Flow", client=client)


def test_location_tracking(fresh: Sandbox, tmp_path: Path) -> None:
    """A token is a write (POST generate-token): on a sandbox of its own."""
    with milekit.Client(fresh.token, fresh.url) as c:
        point = fresh.store.values("location_histories")[0]
        day = str(point["createdTime"])[:10]
        body = {"email": point["email"], "date": day}
        token = c.request("POST", "/location-history/generate-token", json=body).body["token"]
        df = milekit.location_tracking_frame(token, client=c, progress=False)
        listed = milekit.location_histories_frame(client=c, progress=False, email=point["email"])
        with pytest.raises(errors.AuthError):
            milekit.location_tracking_frame("no-such-token", client=c, progress=False)
    want = listed[listed["createdTime"].dt.strftime("%Y-%m-%d") == day]
    assert df.index.name == "_id" and sorted(df.index) == sorted(want.index)
    assert _same_dtypes(df, listed) == []
    _round_trip(df, tmp_path / "tracking.parquet")
