"""Frames in the backend the user works in: an Arrow table, a Polars frame, or pandas with
ArrowDtype columns, each with the values and types of the default frame."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.types import schema


@pytest.fixture(scope="module")
def reads(sandbox: Sandbox) -> dict[str, object]:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        return {
            "pandas": milekit.tasks_frame(client=c, progress=False),
            "arrow": milekit.tasks_table(client=c, progress=False),
            "polars": milekit.frame("tasks", client=c, progress=False, to="polars"),
            "pyarrow": milekit.tasks_frame(client=c, progress=False, dtype_backend="pyarrow"),
        }


def test_tasks_table_is_the_frame_as_arrow(reads: dict[str, object]) -> None:
    df, table = reads["pandas"], reads["arrow"]
    assert isinstance(df, pd.DataFrame) and isinstance(table, pa.Table)
    assert table.column_names == [df.index.name, *df.columns]
    back = schema.to_pandas(table.replace_schema_metadata(None), index="_id")
    df0 = df.copy()
    df0.attrs = {}
    pd.testing.assert_frame_equal(back, df0)
    assert pa.types.is_timestamp(table.schema.field("createdTime").type)
    assert table.schema.field("createdTime").type.tz == "UTC"
    assert pa.types.is_dictionary(table.schema.field("status").type)
    attrs = orjson.loads(table.schema.metadata[b"milekit.attrs"])
    assert (
        attrs["resource"] == "tasks"
        and attrs["custom_columns"] == df.attrs["milekit"]["custom_columns"]
    )


def test_polars_output(reads: dict[str, object]) -> None:
    df, frame = reads["pandas"], reads["polars"]
    assert isinstance(frame, pl.DataFrame) and frame.height == len(df)
    assert frame.schema["status"] == pl.Categorical
    assert frame.schema["createdTime"] == pl.Datetime("us", "UTC")
    assert frame.schema["waitingTime"] == pl.Int64
    assert frame["_id"].to_list() == list(df.index)
    done = frame.filter(pl.col("status") == "DONE").height
    assert done == int((df["status"] == "DONE").sum())


def test_pyarrow_backend_gives_arrow_dtypes_with_the_same_values(reads: dict[str, object]) -> None:
    df, arrowed = reads["pandas"], reads["pyarrow"]
    assert isinstance(arrowed, pd.DataFrame)
    assert all(isinstance(d, pd.ArrowDtype) for d in arrowed.dtypes)
    assert arrowed.index.name == "_id" and list(arrowed.columns) == list(df.columns)
    assert arrowed["waitingTime"].sum() == df["waitingTime"].sum()
    assert list(arrowed.index) == list(df.index)
    created = arrowed["createdTime"].astype("datetime64[us, UTC]")
    assert (created.to_numpy() == df["createdTime"].to_numpy()).all()
    assert arrowed.attrs["milekit"]["resource"] == "tasks"


@pytest.mark.parametrize(
    "bad", [{"to": "excel"}, {"dtype_backend": "numpy"}, {"to": "arrow", "flatten": True}]
)
def test_bad_output_options_are_refused_before_anything_is_sent(
    fresh: Sandbox, bad: dict[str, object]
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        with pytest.raises(milekit.errors.UsageError):
            milekit.frame("tasks", client=c, **bad)  # type: ignore[call-overload]
    assert list(fresh.app.request_log) == []


# --- views and child tables: the same options, the same output step (issue 21 item 6) ------


def _other_params(sb: Sandbox, name: str) -> dict[str, object]:
    if name == "workflow_activities":
        return {"workflow_id": sb.store.values("activities")[0]["workflowId"]}
    return {"flow_name": "Pickup"} if name == "flow_fields_by_name" else {}


#: views of each shape (one object, rows, groups, a paged list) and child tables
OTHERS = [
    "me",
    "flow_fields_by_name",
    "flow_components_view",
    "workflow_activities",
    "task_histories",
    "vehicle_capacities",
]


@pytest.mark.parametrize("name", OTHERS)
def test_views_and_child_tables_honour_to_and_dtype_backend(sandbox: Sandbox, name: str) -> None:
    kw = _other_params(sandbox, name)
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.frame(name, client=c, progress=False, **kw)
        table = milekit.frame(name, client=c, progress=False, to="arrow", **kw)
        polars = milekit.frame(name, client=c, progress=False, to="polars", **kw)
        arrowed = milekit.frame(name, client=c, progress=False, dtype_backend="pyarrow", **kw)
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    assert isinstance(table, pa.Table), type(table)
    index = [df.index.name] if df.index.name is not None else []
    assert table.column_names == [*index, *df.columns]
    back = schema.to_pandas(table.replace_schema_metadata(None), index=df.index.name)
    plain = df.copy()
    plain.attrs = {}
    pd.testing.assert_frame_equal(back, plain)
    assert orjson.loads(table.schema.metadata[b"milekit.attrs"]) == df.attrs["milekit"]
    assert table.schema.metadata[b"milekit.resource"] == name.encode()
    assert isinstance(polars, pl.DataFrame), type(polars)
    assert polars.columns == table.column_names and polars.height == len(df)
    assert isinstance(arrowed, pd.DataFrame)
    assert all(isinstance(d, pd.ArrowDtype) for d in arrowed.dtypes), arrowed.dtypes
    assert list(arrowed.columns) == list(df.columns) and arrowed.index.name == df.index.name
    assert list(arrowed.index) == list(df.index)
    assert arrowed.attrs["milekit"] == df.attrs["milekit"]


@pytest.fixture(scope="module")
def quiet() -> Iterator[Sandbox]:
    """A sandbox of this module's own, whose request log the refusals must leave empty."""
    with Sandbox(tasks=10) as sb:
        yield sb


OPTION = r"to=|dtype_backend=|flatten="
BAD = [
    {"to": "nonsense"},
    {"dtype_backend": "x"},
    {"to": "arrow", "flatten": True},
    {"to": "polars", "split_coordinates": True},
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items()))
@pytest.mark.parametrize("name", ["me", "flow_fields_by_name", "task_histories"])
def test_bad_options_of_views_and_child_tables_are_refused_before_anything_is_sent(
    quiet: Sandbox, name: str, bad: dict[str, object]
) -> None:
    kw = {**_other_params(quiet, name), **bad}
    before = len(quiet.app.request_log)
    with milekit.Client(quiet.token, quiet.url, limiter=None) as c:
        with pytest.raises(milekit.errors.UsageError, match=OPTION):
            milekit.frame(name, client=c, progress=False, **kw)  # type: ignore[call-overload]
    assert len(quiet.app.request_log) == before


def test_the_view_and_child_helpers_take_dtype_backend(sandbox: Sandbox) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        me = milekit.me_frame(client=c, dtype_backend="pyarrow")
        caps = milekit.vehicle_capacities_frame(client=c, progress=False, dtype_backend="pyarrow")
    for df in (me, caps):
        assert len(df) and all(isinstance(d, pd.ArrowDtype) for d in df.dtypes), df.dtypes
    assert me.index.name == "_id" and caps.attrs["milekit"]["child"] == "vehicle_capacities"
