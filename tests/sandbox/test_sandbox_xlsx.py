"""The sandbox reads uploaded workbooks with openpyxl: what the hand-written reader got
wrong (issue 15) is read as Excel holds it."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import openpyxl

from milekit.sandbox.xlsx import read, write


def _book(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_date_cells_come_back_as_dates_not_serial_numbers() -> None:
    data = _book(
        [["dataId", "due", "at"], ["A-1", dt.date(2026, 10, 1), dt.datetime(2026, 10, 1, 7, 30)]]
    )
    assert read(data)[1] == ["A-1", "2026-10-01", "2026-10-01 07:30:00"]


def test_cells_without_references_keep_their_columns() -> None:
    """Some generators write ``<c>`` without ``r="B2"``: the hand-written reader put all
    of a row's cells in column A, each over the last."""
    data = _book([["dataId", "note", "qty"], ["A-1", None, 5]])
    z = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for name in z.namelist():
            body = z.read(name)
            if name.startswith("xl/worksheets/sheet"):
                body = re.sub(rb' r="[A-Z]+\d+"', b"", body)  # no cell references at all
                body = body.replace(b'<c t="n"></c>', b"")
                body = re.sub(rb"(<c [^>]*>)<v>5</v>", rb"<c/>\1<v>5</v>", body)
            w.writestr(name, body)
    rows = read(out.getvalue())
    assert rows[0] == ["dataId", "note", "qty"]
    assert rows[1] == ["A-1", None, 5]


def test_exports_round_trip_through_the_same_library() -> None:
    rows = [["_id", "items", "ok", "n"], ["t1", [{"qty": 2}], True, 1.5]]
    assert read(write(rows)) == [["_id", "items", "ok", "n"], ["t1", '[{"qty":2}]', True, 1.5]]
