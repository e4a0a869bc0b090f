"""Custom columns typed from their definitions: flow components for tasks (``inputType``),
data-type fields for data-source records; per-flow column maps; the definitions cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import milekit
from milekit.reads import custom
from milekit.reads.custom import Definitions, component_field
from milekit.sandbox import Sandbox
from milekit.types import registry
from milekit.types.registry import Field, FieldType

F = FieldType


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        yield c


def _components(sandbox: Sandbox) -> dict[str, list[dict[str, Any]]]:
    return {
        f["name"]: [c for p in f["pages"] for c in p["components"]]
        for f in sandbox.store.values("flows")
    }


DTYPE_OF_INPUT = {  # the sandbox flows' inputType vocabulary -> the frame's dtype
    "string": "string",
    "phone": "string",
    "textarea": "string",
    "coordinate": "string",
    "number": "Float64",
    "date": "date32[day][pyarrow]",
    "boolean": "boolean",
    "list": "object",
    "photo": "string",
    "signature": "string",
}


@pytest.mark.parametrize("flow", ["Delivery", "Pickup", "Visit", "House Inspection"])
def test_one_flow_has_exactly_its_columns_typed_from_its_components(
    flow: str, sandbox: Sandbox, client: milekit.Client
) -> None:
    comps = _components(sandbox)
    df = milekit.tasks_frame(client=client, progress=False, flow=flow)
    mine = [c["id"] for c in comps[flow]]
    others = {c["id"] for f, cs in comps.items() if f != flow for c in cs} - set(mine)
    custom_cols = [c for c in df.columns if c not in registry.TASKS.rows]
    assert custom_cols == mine  # all of them (even if no task has a value), in flow order
    assert not others & set(df.columns)
    for c in comps[flow]:
        assert str(df[c["id"]].dtype) == DTYPE_OF_INPUT[c["inputType"]], c
    assert milekit.flow_columns(df) == {flow: mine}
    assert (df["flow"] == flow).all() and len(df) == sum(
        1 for t in sandbox.store.values("tasks") if t["flow"] == flow
    )


def test_values_keep_their_meaning(sandbox: Sandbox, client: milekit.Client) -> None:
    df = milekit.tasks_frame(client=client, progress=False, flow="House Inspection")
    raw = {t["_id"]: t for t in sandbox.store.values("tasks") if t["flow"] == "House Inspection"}
    tid = next(i for i, t in raw.items() if "inspectionPassed" in t)
    assert df.at[tid, "inspectionPassed"] == raw[tid]["inspectionPassed"]
    assert str(df.at[tid, "inspectionDate"]) == raw[tid]["inspectionDate"]
    assert df.at[tid, "rooms"] == raw[tid]["rooms"]


def test_a_mixed_frame_keeps_a_map_per_flow(sandbox: Sandbox, client: milekit.Client) -> None:
    comps = _components(sandbox)
    df = milekit.tasks_frame(client=client, progress=False)
    cols = milekit.flow_columns(df)
    assert cols == {f: [c["id"] for c in cs] for f, cs in comps.items()}
    assert milekit.custom_columns(df) == cols
    # a row of one flow has nothing in another flow's columns
    pickups = df[df["flow"] == "Pickup"]
    assert pickups[cols["Delivery"]].isna().all().all()
    # the same columns, typed the same, as the per-flow frames
    one = milekit.tasks_frame(client=client, progress=False, flow="Delivery")
    assert all(str(df[c].dtype) == str(one[c].dtype) for c in cols["Delivery"])
    # the map is data about the frame, not in it
    assert "flow_columns" not in df.columns and df.attrs["milekit"]["group_by"] == "flow"


def test_flows_by_id_and_several_flows(sandbox: Sandbox, client: milekit.Client) -> None:
    ids = {f["name"]: f["_id"] for f in sandbox.store.values("flows")}
    df = milekit.tasks_frame(client=client, progress=False, flowId=ids["Pickup"])
    assert list(milekit.flow_columns(df)) == ["Pickup"]
    two = milekit.tasks_frame(client=client, progress=False, flow=["Pickup", "Visit"])
    assert list(milekit.flow_columns(two)) == ["Pickup", "Visit"]
    assert "receiverName" not in two.columns


def test_projection_leaves_other_custom_columns_out(client: milekit.Client) -> None:
    df = milekit.tasks_frame(client=client, progress=False, fields=["flow", "codAmount"])
    assert list(df.columns) == ["flow", "codAmount"] and str(df["codAmount"].dtype) == "Float64"
    assert milekit.flow_columns(df)["Delivery"] == ["codAmount"]
    plain = milekit.tasks_frame(client=client, progress=False, fields=["title"])
    assert milekit.flow_columns(plain) == {}  # no custom column asked for: no flows read


def test_flow_columns_needs_a_tasks_frame(client: milekit.Client) -> None:
    hubs = milekit.hubs_frame(client=client, progress=False)
    with pytest.raises(milekit.errors.UsageError, match="tasks frame"):
        milekit.flow_columns(hubs)
    with pytest.raises(milekit.errors.UsageError, match="no custom-column map"):
        milekit.custom_columns(pd.DataFrame({"a": [1]}))


def test_data_records_are_typed_from_their_data_type(
    sandbox: Sandbox, client: milekit.Client
) -> None:
    df = milekit.data_frame(client=client, progress=False, data_type="Store")
    assert str(df["outletHours"].dtype) == "Float64"  # "number"
    assert str(df["outletOpenInWeekend"].dtype) == "boolean"
    assert str(df["outletCloseOrder"].dtype) == "datetime64[us, UTC]"  # format date-time
    assert str(df["outletName"].dtype) == "string"
    fields = next(d for d in sandbox.store.values("data_types") if d["name"] == "Store")["fields"]
    assert milekit.custom_columns(df) == {"Store": [f["id"] for f in fields if f["id"] != "dataId"]}
    assert "customerName" not in df.columns  # the other data type's field
    both = milekit.data_frame(client=client, progress=False)
    assert set(milekit.custom_columns(both)) == {"Store", "Customer"}


def test_definitions_are_read_once_per_client_for_a_while(
    fresh: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(custom, "CACHE", custom.Cache(ttl=60, clock=lambda: now[0]))

    def flow_reads() -> int:
        return sum(1 for r in fresh.app.request_log if r.path == "/api/v3/flows")

    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        milekit.tasks_frame(client=c, progress=False)
        milekit.tasks_frame(client=c, progress=False, flow="Pickup")
        assert flow_reads() == 1
        now[0] += 61
        milekit.tasks_frame(client=c, progress=False)
        assert flow_reads() == 2
    with milekit.Client(fresh.token, fresh.url, limiter="process") as other:
        milekit.tasks_frame(client=other, progress=False)  # another client reads its own
        assert flow_reads() == 3


def test_unreadable_definitions_fall_back_to_typing_from_data(
    fresh: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(custom, "CACHE", custom.Cache())
    fresh.faults.add(status=403, times=None, path_prefix="/api/v3/flows")
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        with pytest.warns(
            milekit.reads.plan.DefinitionsWarning, match="typed from the data"
        ) as rec:
            df = milekit.tasks_frame(client=c, progress=False)
        assert [r.filename for r in rec] == [__file__]  # points at the caller's line
    assert len(df) == 300 and str(df["codAmount"].dtype) == "Int64"  # inferred: whole numbers
    assert milekit.flow_columns(df) == {}


@pytest.mark.parametrize(
    ("comp", "ftype"),
    [
        ({"id": "a", "component": "input", "inputType": "number"}, F.FLOAT),
        ({"id": "a", "component": "input", "inputType": "Integer"}, F.INTEGER),
        ({"id": "a", "component": "input", "inputType": "time"}, F.TIME),
        ({"id": "a", "component": "input", "inputType": "datetime"}, F.DATETIME),
        ({"id": "a", "component": "input", "inputType": "checkbox"}, F.BOOLEAN),
        ({"id": "a", "component": "select", "inputType": "string", "max": 2}, F.ARRAY_STRING),
        ({"id": "a", "component": "select", "inputType": "string", "max": 1}, F.STRING),
        ({"id": "a", "component": "input", "inputType": "multiple choice"}, F.ARRAY_STRING),
        ({"id": "a", "component": "bill"}, F.ARRAY_OBJECT),
        ({"id": "a", "component": "capture", "inputType": "string"}, F.STRING),
        ({"id": "a", "type": "string", "format": "date-time"}, F.DATETIME),  # a data-type field
        ({"id": "a", "component": "input", "inputType": "hologram"}, None),  # unknown: infer
        ({"id": "a", "component": "view", "inputType": "string"}, None),  # stores nothing
        ({"component": "input", "inputType": "string"}, None),  # no id
    ],
)
def test_component_types(comp: dict[str, Any], ftype: FieldType | None) -> None:
    f = component_field(comp)
    assert (f.type if f is not None else None) == ftype


def test_a_column_two_flows_type_differently_is_typed_from_the_data() -> None:
    defs = Definitions(
        "tasks",
        "flow",
        {
            "A": (Field("amount", F.FLOAT), Field("note", F.STRING)),
            "B": (Field("amount", F.STRING), Field("title", F.STRING)),
        },
    )
    got = defs.fields_for(None, known=["title"])
    assert [f.name for f in got] == ["note"]  # amount clashes; title is documented
    assert [f.name for f in defs.fields_for(["A"], known=[])] == ["amount", "note"]
