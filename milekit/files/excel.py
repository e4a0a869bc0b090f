"""Excel workbooks: real datetimes in a zone you choose, times of day, lists joined,
objects flattened into columns, a typed header with an autofilter and frozen panes.

>>> import milekit, tempfile, openpyxl
>>> d = tempfile.mkdtemp()
>>> with milekit.Sandbox(tasks=20) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False)
>>> path = milekit.to_excel(df, d + "/tasks.xlsx", tz="Asia/Jakarta")
>>> ws = openpyxl.load_workbook(path)["tasks"]
>>> ws["A1"].value, ws.freeze_panes, ws.auto_filter.ref.startswith("A1:")
('_id', 'B2', True)
>>> [c.value for c in ws[1] if str(c.value).startswith("createdTime")]
['createdTime (Asia/Jakarta)']

Excel has no time zones: datetimes are converted to ``tz`` (default UTC) and written as
Excel datetimes, and their header says which zone. A sheet holds at most 1,048,576 rows
(the header included): longer data continues on ``<name> (2)``, ``<name> (3)`` … each with
its header, filter and frozen panes, so nothing is refused late or dropped
(:data:`MAX_ROWS`). Workbooks are written with openpyxl's write-only mode, row by row:
memory stays flat whatever the number of rows. Each header cell carries a comment with the
column's API type.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit.types import registry, schema
from milekit.types.registry import FieldType
from milekit.wire.errors import UsageError

__all__ = ["MAX_ROWS", "to_excel", "write_workbook"]

#: rows of one Excel sheet, the header row included
MAX_ROWS = 1_048_576
Converter = Callable[[pa.ChunkedArray], list[Any]]


def check_zone(tz: str) -> str:
    """``tz`` if it names a time zone (``UTC``, ``Asia/Jakarta``), else a UsageError."""
    if tz == "UTC":
        return tz
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = "use an IANA name such as 'Asia/Jakarta'"
        raise UsageError(f"unknown time zone {tz!r}: {hint}") from None
    return tz


def to_excel(
    df: pd.DataFrame | Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    tz: str = "UTC",
    sheet: str | None = None,
    children: bool | Sequence[str] = False,
) -> Path:
    """Write a milekit frame (its index as the first column) to an .xlsx workbook, or
    several frames (``{"sheet name": df, ...}``), one sheet each, in that order.

    ``children=True`` (or a list of child-table names, ``milekit.children``) adds a sheet
    per child table of the frame's resource, each row keyed by its parent's id.
    The file appears atomically (written beside it, then renamed).
    """
    tz = check_zone(tz)
    if isinstance(df, Mapping):
        if children:
            raise UsageError("children= goes with one frame; give child tables as sheets")
        sheets = [(str(name), _table_of(frame)) for name, frame in df.items()]
    else:
        sheets = _sheets_of(df, sheet, children)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".milekit-", suffix=".xlsx", dir=target.parent or ".")
    os.close(fd)
    try:
        write_workbook(Path(tmp), [(n, t.schema, [t]) for n, t in sheets], tz)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _sheets_of(
    df: pd.DataFrame, sheet: str | None, children: bool | Sequence[str]
) -> list[tuple[str, pa.Table]]:
    meta = df.attrs.get("milekit") or {}
    name = sheet or str(meta.get("resource") or meta.get("view") or "Sheet1")
    sheets = [(name, _table_of(df))]
    for child in _child_names(meta, df, children):
        from milekit.reads.children import children as child_frame

        sheets.append((child, _table_of(child_frame(df, child))))
    return sheets


def _table_of(df: pd.DataFrame) -> pa.Table:
    flat = df.reset_index() if df.index.name is not None else df
    return schema.from_pandas(flat)


def _child_names(meta: dict[str, Any], df: pd.DataFrame, wanted: bool | Sequence[str]) -> list[str]:
    if wanted is False:
        return []
    owner = str(meta.get("resource") or "")
    mine = [n for n, c in registry.CHILDREN.items() if c.parent == owner and c.path[0] in df]
    if wanted is True:
        return mine
    unknown = [n for n in wanted if n not in mine]
    if unknown:
        raise UsageError(f"no child table {unknown} in this frame; it has: {mine or 'none'}")
    return list(wanted)


def write_workbook(
    path: Path,
    sheets: Iterable[tuple[str, pa.Schema, Iterable[pa.Table]]],
    tz: str = "UTC",
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Write sheets of ``(name, schema, tables)`` to ``path``, streaming; rows written."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    total = 0
    for name, s, tables in sheets:
        total += _write_sheets(wb, name, s, tables, tz, on_rows)
    wb.save(str(path))
    return total


def _write_sheets(
    wb: Any,
    name: str,
    s: pa.Schema,
    tables: Iterable[pa.Table],
    tz: str,
    on_rows: Callable[[int], None] | None,
) -> int:
    """One logical sheet, continued on ``name (2)`` … past Excel's row limit."""
    columns = _Columns(s, tz)
    part, used, total = 1, MAX_ROWS, 0
    ws: Any = None
    for table in tables:
        at = 0
        while at < table.num_rows:
            if used >= MAX_ROWS:
                if ws is not None:
                    _finish(ws, len(columns.header), used)
                part += ws is not None
                ws = _new_sheet(wb, name if part == 1 else f"{name} ({part})", columns)
                used = 1
            chunk = table.slice(at, MAX_ROWS - used)
            for row in columns.rows(chunk):
                ws.append(row)
            used += chunk.num_rows
            at += chunk.num_rows
            total += chunk.num_rows
        if on_rows is not None:
            on_rows(table.num_rows)
    if ws is None:
        ws, used = _new_sheet(wb, name, columns), 1
    _finish(ws, len(columns.header), used)
    return total


def _new_sheet(wb: Any, title: str, columns: _Columns) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    ws = wb.create_sheet(_sheet_title(title))
    ws.freeze_panes = "B2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    cells = []
    for text, kind in zip(columns.header, columns.kinds, strict=True):
        cell = WriteOnlyCell(ws, value=text)
        cell.font, cell.fill = bold, fill
        cell.comment = Comment(kind, "milekit")
        cells.append(cell)
    ws.append(cells)
    for i, width in enumerate(columns.widths):
        ws.column_dimensions[_letter(i)].width = width
    return ws


def _finish(ws: Any, width: int, rows: int) -> None:
    ws.auto_filter.ref = f"A1:{_letter(max(width, 1) - 1)}{max(rows, 1)}"


def _sheet_title(title: str) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)
    return clean[:31] or "Sheet1"


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


class _Columns:
    """How each column of a schema becomes Excel cells: objects flattened into
    ``parent.child`` columns, a header, the API type for its comment, a width and a
    converter per column."""

    def __init__(self, s: pa.Schema, tz: str) -> None:
        self.fields = _flat_fields(s)
        self.header: list[str] = []
        self.kinds: list[str] = []
        self.widths: list[float] = []
        self.converters: list[Converter] = []
        for path, f in self.fields:
            label, temporal, convert = _column_plan(".".join(path), f, tz)
            kind = (schema.meta_of(f)[0] or FieldType.STRING).value
            self.header.append(label)
            self.kinds.append(kind + (f", {tz}" if temporal == "datetime" else ""))
            self.converters.append(convert)
            self.widths.append(20.0 if temporal else min(max(len(label) + 2, 10), 40))

    def rows(self, table: pa.Table) -> Iterator[tuple[Any, ...]]:
        """The table's rows as cell values (openpyxl gives datetimes, dates and times
        their number formats: ``yyyy-mm-dd h:mm:ss``, ``yyyy-mm-dd``, ``h:mm:ss``)."""
        cols = []
        for (path, _), convert in zip(self.fields, self.converters, strict=True):
            col = _column_at(table, path)
            cols.append(convert(col) if col is not None else [None] * table.num_rows)
        if cols:
            yield from zip(*cols, strict=True)


def _flat_fields(s: pa.Schema) -> list[tuple[tuple[str, ...], pa.Field]]:
    """Leaf fields of ``s``: a struct's fields in its place, recursively."""
    out: list[tuple[tuple[str, ...], pa.Field]] = []

    def walk(prefix: tuple[str, ...], f: pa.Field) -> None:
        if pa.types.is_struct(f.type) and f.type.num_fields:
            for i in range(f.type.num_fields):
                walk((*prefix, f.name), f.type.field(i))
        else:
            out.append(((*prefix, f.name), f))

    for f in s:
        walk((), f)
    return out


def _column_at(table: pa.Table, path: tuple[str, ...]) -> pa.ChunkedArray | None:
    if path[0] not in table.column_names:
        return None
    col: Any = table.column(path[0])
    for name in path[1:]:
        if not pa.types.is_struct(col.type) or col.type.get_field_index(name) < 0:
            return None
        col = pc.struct_field(col, name)
    return col


def _column_plan(label: str, f: pa.Field, tz: str) -> tuple[str, str | None, Converter]:
    """The header, the kind of time the column holds (``datetime``, ``time``, ``date``, or
    None; openpyxl gives such cells their number formats) and the converter of one leaf
    column."""
    t = f.type
    if pa.types.is_timestamp(t):
        return f"{label} ({tz})", "datetime", lambda c: _local(c, tz)
    if pa.types.is_time(t):
        return label, "time", _plain
    if pa.types.is_date(t):
        return label, "date", _plain
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return label, None, _joined
    if pa.types.is_dictionary(t):
        return label, None, lambda c: c.cast(t.value_type).to_pylist()
    if pa.types.is_null(t):
        return label, None, lambda c: [None] * len(c)
    if pa.types.is_struct(t) or pa.types.is_map(t):
        return label, None, _json
    if pa.types.is_decimal(t):
        return label, None, lambda c: [None if v is None else float(v) for v in c.to_pylist()]
    return label, None, _plain


def _plain(col: pa.ChunkedArray) -> list[Any]:
    return list(col.to_pylist())


def _local(col: pa.ChunkedArray, tz: str) -> list[dt.datetime | None]:
    """UTC instants as the naive wall-clock times of ``tz`` (what Excel can hold)."""
    zoned = col.cast(pa.timestamp("us", tz=tz))
    return list(pc.local_timestamp(zoned).to_pylist())


def _joined(col: pa.ChunkedArray) -> list[str | None]:
    """A list cell as text: scalars joined by ", ", objects as JSON."""
    out: list[str | None] = []
    for v in col.to_pylist():
        if v is None:
            out.append(None)
        elif any(isinstance(x, (dict, list)) for x in v):
            out.append(orjson.dumps(v, default=str).decode())
        else:
            out.append(", ".join("" if x is None else str(x) for x in v))
    return out


def _json(col: pa.ChunkedArray) -> list[str | None]:
    return [None if v is None else orjson.dumps(v, default=str).decode() for v in col.to_pylist()]
