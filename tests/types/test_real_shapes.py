"""Real answers, not only documented ones: a page shaped like a real ``GET /tasks`` answer
(``data/real-tasks-page.json``, docs/api-notes.md notes 21-30 and 51) reads on the fast path with
no warning, every column in its proper dtype."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.types import registry, schema

PAGE = Path(__file__).resolve().parents[2] / "data" / "real-tasks-page.json"

#: the dtype of every documented column the real page carries
EXPECTED = {
    "label": "object",  # a list of strings (note 21)
    "travelDistance": "Float64",  # a number (note 22)
    "visitGroupPriority": "Int64",
    "assignedTo": "object",  # {_id, name, email, hubId, role, firstLogin} (note 24)
    "hub": "object",
    "organization": "object",
    "organizationId": "string",
    "isDeleted": "boolean",
    "orderIndex": "Int64",
    "openTaskTime": "datetime64[us, UTC]",
    "expectedDoneTime": "datetime64[us, UTC]",
    "inLocation": "datetime64[us, UTC]",
    "outLocation": "datetime64[us, UTC]",
    "idleDuration": "Int64",
    "appVersion": "object",  # {"name": "5.21.3", "version": 521} (note 51)
    "deviceInformation": "object",
    "createdCoordinate": "string",
    "geoLockTrigger": "category",
    "idLocal": "string",
    "visitGroup": "string",
    "eta": "time64[us][pyarrow]",
    "etd": "time64[us][pyarrow]",
    "startTime": "datetime64[us, UTC]",
    "doneTime": "datetime64[us, UTC]",
    "status": "category",
    "assignedVehicle": "object",
}


def test_a_real_page_reads_on_the_fast_path_without_warnings() -> None:
    content = PAGE.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parser = schema.PageParser(registry.TASKS.rows, registry.TASKS.listing)
        table, total, last = parser.parse(content)  # no miss
        df = schema.to_pandas(table, index="_id")
    assert (total, last, len(df)) == (22, 4, 6)
    got = {c: str(df[c].dtype) for c in EXPECTED}
    assert got == EXPECTED
    first = df.iloc[0]
    assert first["label"] == ["COD"] and df.iloc[1]["label"] == ["FRZ", "Fragile"]
    assert first["assignedTo"]["hubId"] == ["65a1f1d8e4b0a13d9c7e5512"]
    assert first["assignedTo"]["firstLogin"] is False
    assert first["travelDistance"] == pytest.approx(4321.9)
    assert first["deviceInformation"] == {"os": "12", "brand": "xiaomi", "model": "Redmi 10C"}
    assert pd.isna(df.iloc[4]["assignedTo"])  # unassigned: null (note 24)
    assert first["assignedVehicle"]["speed"] is None  # null, not text (note 30)
    assert first["appVersion"] == {"name": "5.21.3", "version": 521}  # note 51


def test_the_python_path_types_a_real_page_the_same(sandbox: Sandbox) -> None:
    rows = json.loads(PAGE.read_bytes())["tasks"]["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slow = schema.to_pandas(schema.rows_to_table(rows, registry.TASKS.rows), index="_id")
        parser = schema.PageParser(registry.TASKS.rows, registry.TASKS.listing)
        fast = schema.to_pandas(parser.parse(PAGE.read_bytes())[0], index="_id")
    pd.testing.assert_frame_equal(slow, fast)


def test_tasks_frame_reads_a_real_answer_whole(fresh: Sandbox) -> None:
    body = json.loads(PAGE.read_bytes())
    body["tasks"]["last_page"] = 1
    fresh.faults.add(status=200, body=body, times=None, path_prefix="/tasks", method="GET")
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            df = milekit.tasks_frame(client=c, progress=False)
    assert len(df) == 6 and {c: str(df[c].dtype) for c in EXPECTED} == EXPECTED
    assert df["kota"].tolist()[:2] == ["Jakarta Timur", "Bekasi"]  # custom flow columns


def test_a_mistyped_column_costs_one_warning_per_read_and_that_column_alone() -> None:
    # a documented Integer sent as text on some rows of every page: the column falls back
    # to text (its digits kept), told once for the read, not once per page (issue 21)
    with Sandbox(tasks=2100) as sb:
        for i, task in enumerate(sb.store.values("tasks")):
            if i % 7 == 0:
                task["waitingTime"] = f"{i} min"
        with milekit.Client(sb.token, sb.url, limiter="process") as c:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                table = milekit.tasks_table(client=c, progress=False)
    told = [str(w.message) for w in caught if w.category is schema.MileTypeWarning]
    assert len(told) == 1 and "'waitingTime'" in told[0], told
    assert table.num_rows == 2100
    assert str(table.schema.field("waitingTime").type) == "string"
    assert "0 min" in table.column("waitingTime").to_pylist()
    assert str(table.schema.field("startTime").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("orderIndex").type) == "int64"
