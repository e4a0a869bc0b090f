"""The sandbox's workbooks: exports written and uploads read with openpyxl.

>>> data = write([["dataId", "qty", "ok"], ["A-1", 3, True]])
>>> read(data)
[['dataId', 'qty', 'ok'], ['A-1', 3, True]]

Used by the task/data exports (``POST /tasks/export`` with ``download=xlsx``) and by
``POST /data/import`` of a workbook. Cells are read as Excel holds them: a date cell is a
date (given as ``YYYY-MM-DD``, or ``YYYY-MM-DD HH:MM:SS`` with a time of day), never its
serial number; a row's cells keep their columns whether or not the file spells each
cell's reference.

openpyxl comes with ``milekit[excel]``: without it, these two operations answer 501 with
the ``pip install`` to run (the app turns :class:`~milekit.errors.MissingExtraError` into
that answer); the rest of the sandbox needs only the core.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import orjson

from milekit.errors import need

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write(rows: list[list[Any]]) -> bytes:
    """An .xlsx workbook with one sheet holding ``rows`` (lists and dicts become JSON text)."""
    wb = _openpyxl().Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    for row in rows:
        ws.append([orjson.dumps(v).decode() if isinstance(v, (list, dict)) else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read(data: bytes) -> list[list[Any]]:
    """The first sheet's rows (ValueError if ``data`` is not a workbook); trailing empty
    cells of a row are left out."""
    openpyxl = _openpyxl()
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        raise ValueError(f"not an xlsx workbook: {e}") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise ValueError("not an xlsx workbook: no worksheet")
        rows = []
        for row in ws.iter_rows(values_only=True):
            values = [_value(v) for v in row]
            while values and values[-1] is None:
                values.pop()
            rows.append(values)
        return rows
    finally:
        wb.close()


def _value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time() else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return v


def _openpyxl() -> Any:
    return need("openpyxl", "excel", "the sandbox's .xlsx support")
