"""One read path: frame() reads resources, views and child tables; get() and the push
read-back share one by-id reader; list answers are read by their declared shape."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import milekit
from milekit import errors
from milekit.reads.pages import iter_tables
from milekit.sandbox import Sandbox
from milekit.types import registry
from milekit.wire import envelope


def test_frame_reads_a_view_by_its_name_as_the_view_helper_does(client: milekit.Client) -> None:
    via_frame = milekit.frame("flow_fields_by_name", flow_name="Pickup", client=client)
    via_helper = milekit.flow_fields_by_name_frame("Pickup", client=client)
    pd.testing.assert_frame_equal(via_frame, via_helper)
    assert via_frame.attrs["milekit"]["view"] == "flow_fields_by_name"


def test_frame_reads_a_child_table_by_its_name(client: milekit.Client) -> None:
    h = milekit.frame("task_histories", client=client, progress=False)
    assert list(h.columns[:2]) == ["taskId", "_id"]
    assert str(h["createdAt"].dtype) == "datetime64[us, UTC]"
    assert h.attrs["milekit"] == {"child": "task_histories", "parent": "tasks"}


def test_view_is_a_deprecated_alias_of_frame(client: milekit.Client) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"use milekit\.frame\('flow_fields_by_name'"
    ) as got:
        old = milekit.view("flow_fields_by_name", flow_name="Pickup", client=client)
    assert issubclass(got[0].category, milekit.MileWarning)
    assert got[0].filename == __file__  # pointed at the caller's line
    new = milekit.frame("flow_fields_by_name", flow_name="Pickup", client=client)
    pd.testing.assert_frame_equal(old, new)
    with pytest.raises(errors.UsageError, match="unknown view 'tasks'"):
        milekit.view("tasks", client=client)


def test_child_frame_is_a_deprecated_alias_of_frame(client: milekit.Client) -> None:
    with pytest.warns(DeprecationWarning, match=r"use milekit\.frame\('vehicle_capacities'"):
        old = milekit.child_frame("vehicle_capacities", client=client, progress=False)
    new = milekit.frame("vehicle_capacities", client=client, progress=False)
    pd.testing.assert_frame_equal(old, new)
    with pytest.raises(errors.UsageError, match="unknown child table 'tasks'"):
        milekit.child_frame("tasks", client=client)


def test_frame_refuses_options_a_view_does_not_take(client: milekit.Client) -> None:
    with pytest.raises(errors.UsageError, match="takes no limit"):
        milekit.frame("me", limit=5, client=client)
    with pytest.raises(errors.UsageError, match="resume= continues a read of a resource"):
        err = errors.IncompleteReadError("tasks", {2: errors.ServerError(500, "x")}, last_page=2)
        milekit.frame("task_histories", resume=err, client=client)


def test_frame_of_records_takes_the_data_type_keyword(client: milekit.Client) -> None:
    """The group keyword is declared (CustomFields.keyword), not special-cased in a helper."""
    df = milekit.frame("data", data_type="Store", client=client, progress=False)
    assert set(df["dataTypeId"]) == {
        d["_id"] for d in milekit.frame("data_types", client=client, progress=False).reset_index()
        .to_dict("records") if d["name"] == "Store"
    }  # fmt: skip
    assert "outletName" in milekit.custom_columns(df)["Store"]
    helper = milekit.data_frame(data_type="Store", client=client, progress=False)
    pd.testing.assert_frame_equal(df, helper)


def test_read_object_reads_by_id_and_refuses_an_empty_one_before_sending(fresh: Sandbox) -> None:
    tasks = registry.get("tasks")
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        some = next(iter(fresh.store.values("tasks")))
        doc = c.read_object(tasks, some["_id"])
        assert doc["_id"] == some["_id"] and doc["title"] == some["title"]
        with pytest.raises(errors.NotFoundError):
            c.read_object(tasks, "0" * 24)
        sent = len(fresh.app.request_log)
        with pytest.raises(errors.UsageError, match="must not be empty"):
            c.read_object(tasks, "")
        assert len(fresh.app.request_log) == sent


def test_read_object_by_another_key(client: milekit.Client, sandbox: Sandbox) -> None:
    user = next(iter(sandbox.store.values("users")))
    users = registry.get("users")
    doc = client.read_object(users, {"email": user["email"]}, path="/user/email/{email}")
    assert doc["_id"] == user["_id"]


@pytest.mark.parametrize(
    ("shape", "body"),
    [
        ("activity", {"status": True, "data": {"data": [{"_id": "a"}], "total": 1}}),
        ("laravel", {"status": True, "data": {"activities": [{"_id": "a"}], "total": 1}}),
        ("gallery", {"status": True, "tasks": {"data": [{"_id": "a"}], "total": 1}}),
    ],
)
def test_a_list_is_read_by_its_declared_shape_not_guessed(
    shape: str, body: dict[str, object]
) -> None:
    """An answer of another shape than the registry declares is an error that says so,
    not a guess that may read the wrong rows."""
    listing = next(s.listing for s in registry.RESOURCES.values() if s.list_shape == shape)
    with pytest.raises(errors.ResponseError, match=f"cannot find the {shape} list"):
        envelope.list_page(body, listing, 1)


def test_every_declared_shape_has_a_strategy() -> None:
    shapes = {s.list_shape for s in registry.RESOURCES.values()}
    assert shapes <= set(envelope.SHAPES)


def test_a_read_fetches_at_most_lookahead_pages_ahead_of_its_reader(fresh: Sandbox) -> None:
    """A reader slower than the wire (a lake's incremental run compares every page) holds
    at most ``lookahead`` fetched pages; with the default 256 the pages of a large read
    piled up in memory (the run's peak grew with the table)."""

    def fetched_while_reader_waits(lookahead: int) -> int:
        before = len(fresh.app.request_log)
        with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
            tables = iter_tables(
                registry.TASKS, {}, client=c, progress=False, limit=10, lookahead=lookahead
            )
            next(tables), next(tables)  # pages 1 and 2; the reader stops here a while
            time.sleep(1.0)  # 30 pages take 0.3 s at 100 a second
            sent = [r for r in list(fresh.app.request_log)[before:] if r.path == "/api/v3/tasks"]
            tables.close()
        return len(sent)

    assert fetched_while_reader_waits(4) <= 2 + 4
    assert fetched_while_reader_waits(256) == 30  # every page, read or not
