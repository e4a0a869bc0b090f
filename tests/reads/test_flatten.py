"""Flat frames: object columns as typed ``parent.child`` columns, ``"lat,lng"`` text as
floats, and the way back (for a push)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import milekit
from milekit.reads.flat import unflatten, wire
from milekit.sandbox import Sandbox
from milekit.types import registry
from milekit.types.registry import FieldType
from milekit.types.schema import MileTypeWarning, parse_time


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        yield c


#: hub is detail-only in task lists (note 14): ask for it
FIELDS = ["title", "hub", "assignedVehicle", "assignee", "items", "expectedCoordinate"]


@pytest.fixture(scope="module")
def tasks(client: milekit.Client) -> pd.DataFrame:
    return milekit.tasks_frame(client=client, progress=False, fields=FIELDS)


def test_object_columns_become_typed_columns(tasks: pd.DataFrame, client: milekit.Client) -> None:
    flat = milekit.tasks_frame(client=client, progress=False, fields=FIELDS, flatten=True)
    assert "hub" not in flat.columns and "assignedVehicle" not in flat.columns
    want = {
        "hub._id": "string",
        "hub.name": "string",
        "hub.lat": "Float64",
        "hub.lng": "Float64",
        "assignedVehicle.name": "string",
        "assignedVehicle.workingTime.startTime": "time64[us][pyarrow]",
        "assignedVehicle.workingTime.multiday": "Int64",
    }
    present = {c: str(flat[c].dtype) for c in want if c in flat.columns}
    assert present == {c: want[c] for c in present} and "hub.lat" in present
    assert "assignedVehicle.workingTime.startTime" in present
    # in place of the object, in the object's order
    cols = list(flat.columns)
    assert cols.index("hub._id") + 1 == cols.index("hub.name")
    # lists stay as they are
    assert flat["assignee"].dtype == object and flat["items"].dtype == object
    tid = tasks.index[tasks["hub"].notna()][0]
    assert flat.at[tid, "hub.lat"] == tasks.at[tid, "hub"]["lat"]
    with_vehicle = tasks.index[tasks["assignedVehicle"].notna()][0]
    start = tasks.at[with_vehicle, "assignedVehicle"]["workingTime"]["startTime"]
    assert flat.at[with_vehicle, "assignedVehicle.workingTime.startTime"] == parse_time(start)


def _normal(v: Any) -> Any:
    """A nested value with its time/date/datetime text in one spelling (wire form)."""
    if isinstance(v, dict):
        return {k: _normal(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normal(x) for x in v]
    if isinstance(v, str):
        try:
            return wire(parse_time(v))
        except ValueError:
            pass
        if re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", v):
            return wire(pd.Timestamp(v))
    return v


@pytest.mark.parametrize("name", sorted(registry.RESOURCES))
def test_flatten_unflatten_round_trip(name: str, client: milekit.Client) -> None:
    df = milekit.frame(name, client=client, progress=False)
    flat = milekit.flatten(df, coordinates=True)
    back = unflatten(flat)
    # the flat frame is rebuilt exactly from the nested one
    pd.testing.assert_frame_equal(milekit.flatten(back, coordinates=True), flat)
    # and the nested one has the same columns and values (times in one spelling,
    # coordinates as numbers)
    assert list(back.columns) == list(df.columns)
    spec = registry.get(name)
    split = set(flat.attrs["milekit"].get("split_coordinates", ()))
    for c in df.columns:
        f = spec.rows.get(str(c))
        if c in split:
            a = df[c].str.split(",", expand=True).astype(float)
            b = back[c].str.split(",", expand=True).astype(float)
            pd.testing.assert_frame_equal(a, b)
        elif df[c].dtype == object and f is not None and f.type == FieldType.OBJECT:
            for x, y in zip(df[c], back[c], strict=True):
                assert _normal(y) == _normal(_drop_empty(x)), (c, x, y)
        else:
            pd.testing.assert_series_equal(back[c], df[c], check_names=False)


def _drop_empty(v: Any) -> Any:
    """An object whose values are all null comes back as null (documented)."""
    if isinstance(v, dict):
        d = {k: _drop_empty(x) for k, x in v.items()}
        return d if any(x is not None for x in d.values()) else None
    return v


def test_coordinates_split_into_floats(tasks: pd.DataFrame, client: milekit.Client) -> None:
    everything = milekit.tasks_frame(client=client, progress=False)
    flat = milekit.tasks_frame(client=client, progress=False, split_coordinates=True)
    assert "expectedCoordinate" not in flat.columns
    assert "assignedVehicle" in flat.columns  # objects stay without flatten=True
    for col in ("expectedCoordinate", "doneCoordinate", "visitLocation"):  # + a component
        assert str(flat[f"{col}.lat"].dtype) == "Float64", col
        assert str(flat[f"{col}.lng"].dtype) == "Float64", col
    tasks = everything
    tid = tasks.index[0]
    lat, lng = map(float, tasks.at[tid, "expectedCoordinate"].split(","))
    assert (flat.at[tid, "expectedCoordinate.lat"], flat.at[tid, "expectedCoordinate.lng"]) == (
        lat,
        lng,
    )
    undone = tasks.index[tasks["doneCoordinate"].isna()]
    assert flat.loc[undone, "doneCoordinate.lat"].isna().all()
    assert flat.attrs["milekit"]["split_coordinates"] == [
        "expectedCoordinate",
        "createdCoordinate",  # on every real task (note 23)
        "doneCoordinate",
        "visitLocation",
    ]
    back = unflatten(flat)
    assert list(back.columns) == list(tasks.columns)
    assert back.at[tid, "expectedCoordinate"] == f"{lat!r},{lng!r}"


def test_blank_and_bad_coordinates() -> None:
    df = pd.DataFrame(
        {"expectedCoordinate": pd.array(["-6.2,106.8", "", None], dtype="string")},
        index=pd.Index(["a", "b", "c"], name="_id"),
    )
    df.attrs["milekit"] = {"resource": "tasks"}
    flat = milekit.flatten(df, objects=False, coordinates=True)
    assert flat["expectedCoordinate.lat"].tolist() == [-6.2, pd.NA, pd.NA]  # note 13
    bad = df.copy()
    bad.loc["b", "expectedCoordinate"] = "somewhere in Jakarta"
    with pytest.warns(MileTypeWarning, match="not a 'lat,lng' coordinate"):
        kept = milekit.flatten(bad, objects=False, coordinates=True)
    assert kept["expectedCoordinate"].tolist() == bad["expectedCoordinate"].tolist()


def test_unflatten_without_the_record_needs_the_coordinates_named() -> None:
    flat = pd.DataFrame({"spot.lat": [-6.2], "spot.lng": [106.8], "hub.lat": [1.5]})
    assert unflatten(flat)["spot"].tolist() == [{"lat": -6.2, "lng": 106.8}]
    named = unflatten(flat, coordinates=["spot"])
    assert named["spot"].tolist() == ["-6.2,106.8"] and named["hub"].tolist() == [{"lat": 1.5}]
    with pytest.raises(milekit.errors.UsageError, match=r"'ghost\.lat'"):
        unflatten(flat, coordinates=["ghost"])


def test_unflattened_values_are_in_wire_form() -> None:
    flat = pd.DataFrame(
        {
            "w.at": pd.array([pd.Timestamp("2024-10-07 07:44:18.5", tz="UTC")]),
            "w.t": pd.array([dt.time(8, 0)], dtype=pd.ArrowDtype(pa.time64("us"))),
            "w.n": pd.array([3], dtype="Int64"),
            "w.none": pd.array([pd.NA], dtype="Float64"),
        }
    )
    assert unflatten(flat)["w"].tolist() == [
        {"at": "2024-10-07T07:44:18.500000+00:00", "t": "08:00:00", "n": 3, "none": None}
    ]


def test_flattening_twice_changes_nothing(client: milekit.Client) -> None:
    flat = milekit.routing_results_frame(client=client, progress=False, flatten=True)
    pd.testing.assert_frame_equal(milekit.flatten(flat), flat)
    assert any(c.startswith("configuration.") for c in flat.columns)
