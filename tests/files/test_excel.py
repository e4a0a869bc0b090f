"""Excel out: real datetimes in the chosen zone, times of day, lists joined, objects
flattened, a typed header with filter and frozen panes, child tables on their own sheets,
large exports streamed and continued on further sheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import milekit
from milekit.files import excel
from milekit.sandbox import Sandbox


@pytest.fixture(scope="module")
def tasks(sandbox: Sandbox) -> pd.DataFrame:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        return milekit.tasks_frame(client=c, progress=False)


@pytest.fixture(scope="module")
def sheet(tasks: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> object:
    path = milekit.to_excel(tasks, tmp_path_factory.mktemp("xlsx") / "t.xlsx", tz="Asia/Jakarta")
    return openpyxl.load_workbook(path)["tasks"]


def _header(ws: object) -> list[str]:
    return [c.value for c in ws[1]]  # type: ignore[index]


def _column(ws: object, name: str) -> list[object]:
    col = _header(ws).index(name)
    return [row[col] for row in ws.iter_rows(min_row=2, values_only=True)]  # type: ignore[attr-defined]


def test_datetimes_are_excel_datetimes_in_the_chosen_zone(
    tasks: pd.DataFrame, tmp_path: Path
) -> None:
    path = milekit.to_excel(tasks, tmp_path / "t.xlsx", tz="Asia/Jakarta")
    ws = openpyxl.load_workbook(path)["tasks"]
    got = _column(ws, "createdTime (Asia/Jakarta)")
    want = tasks["createdTime"].dt.tz_convert("Asia/Jakarta").dt.tz_localize(None)
    assert all(isinstance(v, dt.datetime) for v in got)
    assert [pd.Timestamp(v) for v in got] == list(want)
    cell = ws.cell(row=2, column=_header(ws).index("createdTime (Asia/Jakarta)") + 1)
    assert cell.is_date and "yyyy" in cell.number_format
    assert "Datetime, Asia/Jakarta" in ws.cell(row=1, column=cell.column).comment.text


def test_times_lists_objects_and_the_header(tasks: pd.DataFrame, sheet: object) -> None:
    ws: Any = sheet
    header = _header(ws)
    assert header[0] == "_id" and ws.freeze_panes == "B2"
    assert (
        ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{len(tasks) + 1}"
    )
    eta = [v for v in _column(ws, "eta") if v is not None]
    assert eta and all(isinstance(v, dt.time) for v in eta)
    assignees = _column(ws, "assignee")
    want = [", ".join(a) if isinstance(a, list) else None for a in tasks["assignee"]]
    assert assignees == want
    assert "hub.name" in header and "hub" not in header  # objects become columns
    hub_names = _column(ws, "hub.name")
    assert hub_names == [h["name"] if isinstance(h, dict) else None for h in tasks["hub"]]
    assert all(ws.cell(row=1, column=i + 1).font.bold for i in range(len(header)))


def test_totals_match_the_frame(tasks: pd.DataFrame, sheet: object) -> None:
    ws: Any = sheet
    waiting = [v for v in _column(ws, "waitingTime") if v is not None]
    assert sum(waiting) == int(tasks["waitingTime"].sum())
    assert len(_column(ws, "_id")) == len(tasks)


def test_child_tables_go_to_sheets_of_their_own(sandbox: Sandbox, tmp_path: Path) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        vehicles = milekit.vehicles_frame(client=c, progress=False)
    path = milekit.to_excel(vehicles, tmp_path / "v.xlsx", children=True)
    wb = openpyxl.load_workbook(path)
    caps = milekit.children(vehicles, "capacity")
    child = next(
        n for n, ch in milekit.registry.CHILDREN.items()
        if ch.parent == "vehicles" and ch.path[0] == "capacity"
    )  # fmt: skip
    assert wb.sheetnames[0] == "vehicles"
    assert _header(wb[child])[: len(caps.columns)] == list(caps.columns)
    assert wb[child].max_row == len(caps) + 1
    with pytest.raises(milekit.errors.UsageError, match="no child table"):
        milekit.to_excel(vehicles, tmp_path / "x.xlsx", children=["nope"])


def test_export_streams_a_workbook_and_continues_past_the_row_limit(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "MAX_ROWS", 1001)  # 1,000 rows and the header a sheet
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        info = milekit.export("tasks", tmp_path / "t.xlsx", client=c, progress=False, limit=700)
    wb = openpyxl.load_workbook(info.path, read_only=True)
    assert info.format == "xlsx" and info.rows == 2500
    assert wb.sheetnames == ["tasks", "tasks (2)", "tasks (3)"]
    sizes = [sum(1 for _ in wb[n].iter_rows(min_row=2)) for n in wb.sheetnames]
    assert sizes == [1000, 1000, 500]
    assert all(
        next(wb[n].iter_rows(max_row=1, values_only=True))[0] == "_id" for n in wb.sheetnames
    )


def test_an_unknown_time_zone_is_refused_before_anything_is_sent(
    fresh: Sandbox, tmp_path: Path
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        with pytest.raises(milekit.errors.UsageError, match="time zone"):
            milekit.export("tasks", tmp_path / "t.xlsx", client=c, tz="Mars/Olympus")
    assert list(fresh.app.request_log) == []
