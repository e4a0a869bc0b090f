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

A file people open never runs what a task's text says, and never loses a value quietly:

- every text cell (data, header, flattened object, child sheet) is stored as text, never as
  a formula or an error value: ``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``@SUM(...)``,
  ``+1+1``, ``-2+3`` and ``#N/A`` show exactly as sent; those starting with ``= + - @``,
  TAB or CR are also marked "quote prefix", so editing the cell in Excel keeps it text;
- control characters Excel cannot hold (``ILLEGAL_CHARACTERS_RE``: all below U+0020 but tab,
  line feed and carriage return) become U+FFFD, with one :class:`ControlCharacterWarning`
  per workbook naming the columns and counts;
- values Excel cannot hold as numbers are written as text: integers beyond ±2**53
  (:data:`MAX_EXACT_INT`) as their digits, ``inf``/``-inf``/``nan``, decimals a double
  would round, bytes as hex, durations as ISO 8601 (``P0DT1H0M2S``), periods as ``2026-01``;
- datetimes without a zone are written as given (wall-clock, never shifted; their header
  names no zone);
- text longer than a cell's 32,767 characters (:data:`MAX_TEXT`) and duplicate column names
  are refused with a :class:`~milekit.errors.UsageError` naming the column (and row):
  the file never appears.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import warnings
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit.errors import MileWarning, UsageError, caller_stacklevel, need
from milekit.reads.children import children as children_of
from milekit.reads.inputs import ILLEGAL, as_frame
from milekit.types import registry, schema
from milekit.types.kinds import KINDS
from milekit.types.registry import FieldType

__all__ = [
    "MAX_EXACT_INT",
    "MAX_ROWS",
    "MAX_TEXT",
    "ControlCharacterWarning",
    "to_excel",
    "write_workbook",
]

#: rows of one Excel sheet, the header row included
MAX_ROWS = 1_048_576
#: characters of one Excel cell
MAX_TEXT = 32_767
#: integers beyond ±this lose digits as Excel numbers (doubles): they are written as text
MAX_EXACT_INT = 2**53
#: first characters that make a spreadsheet take typed text for a formula (OWASP)
FORMULA_START = frozenset("=+-@\t\r")
#: texts openpyxl would store as Excel error values (openpyxl.cell.cell.ERROR_CODES)
ERROR_TEXTS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
Converter = Callable[[pa.ChunkedArray], list[Any]]


class ControlCharacterWarning(MileWarning):
    """Text held characters an Excel cell cannot (control characters other than tab,
    line feed and carriage return): they were written as U+FFFD, the rest kept."""


def check_directory(path: Path) -> Path:
    """``path`` if the directory it goes in exists, else a UsageError naming it: an output
    file never creates directories on the way (a mistyped path would be made silently).

    >>> check_directory(Path("/does/not/exist/x.parquet"))
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: the directory /does/not/exist does not exist: ...
    """
    parent = path.parent
    if not parent.exists():
        raise UsageError(
            f"the directory {parent} does not exist: create it first (milekit writes the "
            f"file {path.name}, never the directories on its way)"
        )
    if not parent.is_dir():
        raise UsageError(f"{parent} is not a directory: {path.name} cannot be written in it")
    return path


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
    df: pd.DataFrame | pa.Table | Mapping[str, pd.DataFrame] | Any,
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
    The file appears atomically (written beside it, then renamed); its directory must
    exist (else a UsageError naming it). Arrow tables, Polars frames and pyarrow-backed
    pandas frames (what ``milekit.frame(to=...)`` returns) are written as the pandas frame
    would be; anything else is a ``TypeError``. :func:`milekit.read_excel` reads the
    workbook back.
    """
    target = check_directory(Path(path))
    tz = check_zone(tz)
    need("openpyxl", "excel", "milekit.to_excel")  # before any work: the one-line hint
    if not isinstance(df, Mapping | pd.DataFrame):  # pandas frames go as they are
        df = as_frame(df, "to_excel")
    if isinstance(df, Mapping):
        if children:
            raise UsageError("children= goes with one frame; give child tables as sheets")
        sheets = [(str(n), _table_of(_pandas(f))) for n, f in df.items()]
    else:
        sheets = _sheets_of(df, sheet, children)
    fd, tmp = tempfile.mkstemp(prefix=".milekit-", suffix=".xlsx", dir=target.parent or ".")
    os.close(fd)
    try:
        write_workbook(Path(tmp), [(n, t.schema, [t]) for n, t in sheets], tz)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _pandas(data: Any) -> pd.DataFrame:
    return data if isinstance(data, pd.DataFrame) else as_frame(data, "to_excel")


def _sheets_of(
    df: pd.DataFrame, sheet: str | None, children: bool | Sequence[str]
) -> list[tuple[str, pa.Table]]:
    meta = df.attrs.get("milekit") or {}
    name = sheet or str(meta.get("resource") or meta.get("view") or "Sheet1")
    sheets = [(name, _table_of(df))]
    for child in _child_names(meta, df, children):
        sheets.append((child, _table_of(children_of(df, child))))
    return sheets


def _table_of(df: pd.DataFrame) -> pa.Table:
    """The frame (its named index first) as an Arrow table whose every column Excel can
    be given: pandas kinds with no Excel or milekit type become text first, and datetimes
    without a zone stay without one (``from_pandas`` would take them for UTC)."""
    flat = df.reset_index() if df.index.name is not None else df
    _check_unique([str(c) for c in flat.columns])
    naive = [str(n) for n in flat.columns if _is_naive(flat[n])]
    lists = _lists_of_text(df)
    changed = {
        n: r for n in flat.columns if (r := _excel_ready(flat[n], n in lists)) is not flat[n]
    }
    if changed:
        flat = flat.copy()
        for n, r in changed.items():
            flat[n] = r
    table = schema.from_pandas(flat)
    for name in naive:
        i = table.schema.get_field_index(name)
        f = table.schema.field(i)
        naked = pa.timestamp("us")  # the UTC-typed digits are the wall-clock ones given
        table = table.set_column(i, f.with_type(naked), table.column(i).cast(naked))
    return table


def _check_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    twice: set[str] = set()
    for n in names:
        (twice if n in seen else seen).add(n)
    if twice:
        raise UsageError(
            f"duplicate column names {sorted(twice)}: an Excel header names each column once; "
            "rename them first"
        )


def _is_naive(s: pd.Series[Any]) -> bool:
    return pd.api.types.is_datetime64_dtype(s.dtype) and not isinstance(s.dtype, pd.DatetimeTZDtype)


def _lists_of_text(df: pd.DataFrame) -> set[str]:
    """The frame's Array of String columns, by the registry entry it was read from (a
    resource, view or child table; none for another frame)."""
    meta = df.attrs.get("milekit") or {}
    name = str(meta.get("resource") or meta.get("view") or meta.get("child") or "")
    rows = registry.rows_of(name)
    if rows is None:
        return set()
    return {f.name for f in rows.fields if KINDS[f.type].text_list}


def _excel_ready(s: pd.Series[Any], list_of_text: bool = False) -> pd.Series[Any]:
    """One column with its pandas kinds that have no Excel (or milekit) type as text:
    durations as ISO 8601, periods as ``2026-01``, bytes as hex; uint64 kept exact. In a
    ``list_of_text`` column a lone string (``df.loc[mask, "label"] = "Return"``) is the
    one-item list it stands for, as the API and push take it."""
    if list_of_text and pd.api.types.is_object_dtype(s.dtype):
        if any(isinstance(v, str) for v in s):
            return s.map(lambda v: [v] if isinstance(v, str) else v)
    if pd.api.types.is_timedelta64_dtype(s.dtype) or isinstance(s.dtype, pd.PeriodDtype):
        return _texts_of(s)
    if pd.api.types.is_object_dtype(s.dtype) and any(_is_odd(v) for v in s):
        return _texts_of(s)
    if s.dtype == "uint64":  # beyond int64 from_pandas refuses: keep it unsigned
        return s.astype(pd.ArrowDtype(pa.uint64()))
    return s


def _is_odd(v: Any) -> bool:
    return isinstance(v, (bytes, bytearray, memoryview, dt.timedelta, pd.Period))


def _texts_of(s: pd.Series[Any]) -> pd.Series[Any]:
    out = [None if _is_missing(v) else _odd_text(v) for v in s]
    return pd.Series(out, index=s.index, name=s.name, dtype=object)


def _is_missing(v: Any) -> bool:
    return v is None or (pd.api.types.is_scalar(v) and bool(pd.isna(v)))


def _odd_text(v: Any) -> Any:
    """A value Excel cannot take as it is, as text; anything else as it is."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, dt.timedelta):
        return str(pd.Timedelta(v).isoformat())
    if isinstance(v, pd.Period):
        return str(v)
    return v


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
    """Write sheets of ``(name, schema, tables)`` to ``path``, streaming; rows written.

    Gives one :class:`ControlCharacterWarning` when text had characters Excel cannot hold.
    """
    openpyxl = need("openpyxl", "excel", "writing .xlsx")
    wb = openpyxl.Workbook(write_only=True)
    total = 0
    replaced: dict[str, int] = {}
    try:
        for name, s, tables in sheets:
            total += _write_sheets(wb, name, _Columns(s, tz, replaced), tables, on_rows)
    except BaseException:
        _discard(wb)
        raise
    wb.save(str(path))
    if replaced:
        counts = ", ".join(f"{k}: {n} cell{'s' * (n > 1)}" for k, n in replaced.items())
        warnings.warn(
            f"characters Excel cannot hold (control characters) were written as U+FFFD in {counts}",
            ControlCharacterWarning,
            stacklevel=caller_stacklevel(),
        )
    return total


def _discard(wb: Any) -> None:
    """Close a write-only workbook that will not be saved: its sheets' streams, and
    their temporary files."""
    for ws in wb.worksheets:
        writer = ws._writer
        try:
            ws.close()
        except Exception:  # a stream broken by the error being raised
            pass
        if writer is not None:
            Path(writer.out).unlink(missing_ok=True)


def _write_sheets(
    wb: Any,
    name: str,
    columns: _Columns,
    tables: Iterable[pa.Table],
    on_rows: Callable[[int], None] | None,
) -> int:
    """One logical sheet, continued on ``name (2)`` … past Excel's row limit."""
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
            for row in columns.rows(chunk, _Place(ws, used + 1)):
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
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    ws = wb.create_sheet(_sheet_title(title))
    # openpyxl's write-only sheets write no <dimension> (the size is not known when the
    # top of the sheet is streamed): a placeholder as long as the longest range is
    # written now, and overwritten with the used range when the sheet is done (_finish)
    ws.calculate_dimension = lambda: _WIDEST
    ws.freeze_panes = "B2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    cells = []
    for text, kind in zip(columns.header, columns.kinds, strict=True):
        cell = _text_cell(ws, text)
        cell.font, cell.fill = bold, fill
        cell.comment = Comment(kind, "milekit")
        cells.append(cell)
    ws.append(cells)
    for i, width in enumerate(columns.widths):
        ws.column_dimensions[_letter(i)].width = width
    return ws


def _text_cell(ws: Any, text: str) -> Any:
    """A cell holding ``text`` as text, whatever it starts with: never a formula or an
    error value; one a spreadsheet would take for a formula when typed is also marked
    "quote prefix" (what Excel does for ``'=1+1``), so editing it keeps it text."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    if text[:1] in FORMULA_START:
        cell.quotePrefix = True
    return cell


#: the widest used range of a sheet: the placeholder of each sheet's ``<dimension>``
_WIDEST = "A1:XFD1048576"


def _finish(ws: Any, width: int, rows: int) -> None:
    """Close a finished sheet (its filter set) and record its used range in its
    ``<dimension>`` (what readers such as openpyxl's read-only mode size a sheet by)."""
    used = f"A1:{_letter(max(width, 1) - 1)}{max(rows, 1)}"
    ws.auto_filter.ref = used
    ws.close()  # the sheet's XML is complete in its temporary file; the workbook zips it
    _record_dimension(Path(ws._writer.out), used)


def _record_dimension(sheet_xml: Path, used: str) -> None:
    """Overwrite the placeholder range in a sheet's ``<dimension ref=...>`` (in its first
    bytes) with ``used``, padded with spaces inside the tag (valid XML), in place."""
    placeholder = f'ref="{_WIDEST}"'.encode()
    with sheet_xml.open("r+b") as f:
        head = f.read(8192)
        at = head.find(placeholder)
        if at < 0:  # pragma: no cover - an openpyxl that writes no <dimension> at all
            return
        f.seek(at)
        f.write(f'ref="{used}"'.encode().ljust(len(placeholder)))


def _sheet_title(title: str) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\`` (nor a control
    character, which would make the workbook unreadable XML)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in ILLEGAL.sub("_", title))
    return clean[:31] or "Sheet1"


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


class _Place(NamedTuple):
    """Where a chunk of rows goes: its sheet and the sheet row of its first row."""

    ws: Any
    row: int


class _Columns:
    """How each column of a schema becomes Excel cells: objects flattened into
    ``parent.child`` columns, a header, the API type for its comment, a width, a plan per
    column, and ``replaced`` counting per column the cells whose control characters were
    replaced (shared by the sheets of one workbook)."""

    def __init__(self, s: pa.Schema, tz: str, replaced: dict[str, int]) -> None:
        self.fields = _flat_fields(s)
        self.replaced = replaced
        self.header: list[str] = []
        self.kinds: list[str] = []
        self.widths: list[float] = []
        self.plans: list[_Plan] = []
        for path, f in self.fields:
            plan = _column_plan(".".join(path), f, tz)
            label = self._clean(plan.label, plan.label)
            kind = (schema.meta_of(f)[0] or FieldType.STRING).value
            self.header.append(label)
            self.kinds.append(kind + (f", {plan.zone}" if plan.zone else ""))
            self.plans.append(plan)
            self.widths.append(20.0 if plan.temporal else min(max(len(label) + 2, 10), 40))
        _check_unique(self.header)

    def rows(self, table: pa.Table, at: _Place) -> Iterator[tuple[Any, ...]]:
        """The table's rows as cell values (openpyxl gives datetimes, dates and times
        their number formats: ``yyyy-mm-dd h:mm:ss``, ``yyyy-mm-dd``, ``h:mm:ss``)."""
        cols = []
        for (path, _), plan, label in zip(self.fields, self.plans, self.header, strict=True):
            col = _column_at(table, path)
            values = plan.convert(col) if col is not None else [None] * table.num_rows
            cols.append(self._texts(values, label, table, at) if plan.text else values)
        if cols:
            yield from zip(*cols, strict=True)

    def _texts(self, values: list[Any], label: str, table: pa.Table, at: _Place) -> list[Any]:
        """The column's strings as Excel holds them: control characters replaced, cells a
        spreadsheet would take for formulas or errors as text cells, too long refused."""
        for i, v in enumerate(values):  # the converter's own list: changed in place
            if type(v) is not str or not v:
                continue
            text = v if v.isprintable() else self._clean(v, label)
            if len(text) > MAX_TEXT:
                raise UsageError(self._too_long(label, table, at, i, len(text)))
            if text[0] in FORMULA_START or text in ERROR_TEXTS:
                values[i] = _text_cell(at.ws, text)
            elif text is not v:
                values[i] = text
        return values

    def _clean(self, text: str, label: str) -> str:
        clean, n = ILLEGAL.subn("\ufffd", text)
        if n:
            self.replaced[label] = self.replaced.get(label, 0) + 1
        return clean

    def _too_long(self, label: str, table: pa.Table, at: _Place, i: int, size: int) -> str:
        first = _column_at(table, self.fields[0][0]) if self.fields else None
        key = first[i].as_py() if first is not None else None
        who = f" ({self.header[0]} {key!r})" if key is not None else ""
        return (
            f"column {label!r}, sheet {at.ws.title!r} row {at.row + i:,}{who}: "
            f"{size:,} characters, and an Excel cell holds at most {MAX_TEXT:,}. Nothing "
            "was written; export to .parquet or .csv (no such limit), or shorten or drop "
            "the column first to write the rest knowingly"
        )


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


class _Plan(NamedTuple):
    """How one leaf column is written: its header, the kind of time it holds
    (``datetime``, ``time``, ``date`` or None: openpyxl gives such cells their number
    formats), the zone its header and comment name, its converter, and whether its cells
    may hold any text (those are checked one by one)."""

    label: str
    temporal: str | None
    zone: str | None
    convert: Converter
    text: bool


def _column_plan(label: str, f: pa.Field, tz: str) -> _Plan:
    """The plan of one leaf column, by its Arrow type."""
    t = f.type
    if pa.types.is_timestamp(t) and t.tz is not None:
        return _Plan(f"{label} ({tz})", "datetime", tz, lambda c: _local(c, tz), False)
    if pa.types.is_timestamp(t):  # no zone: wall-clock times, written as given
        return _Plan(label, "datetime", None, _plain, False)
    if pa.types.is_time(t):
        return _Plan(label, "time", None, _plain, False)
    if pa.types.is_date(t):
        return _Plan(label, "date", None, _plain, False)
    if pa.types.is_dictionary(t):
        inner = _column_plan(label, pa.field(f.name, t.value_type), tz)
        return inner._replace(convert=lambda c: inner.convert(c.cast(t.value_type)))
    return _Plan(label, None, None, *_VALUE_PLANS.get(_kind(t), (_plain, True)))


def _kind(t: pa.DataType) -> str:
    """The family of a non-temporal Arrow type that decides how its cells are written."""
    return next((name for name, test in _KINDS if test(t)), "text")


_KINDS: tuple[tuple[str, Callable[[pa.DataType], bool]], ...] = (
    ("list", lambda t: pa.types.is_list(t) or pa.types.is_large_list(t)),
    ("null", pa.types.is_null),
    ("json", lambda t: pa.types.is_struct(t) or pa.types.is_map(t)),
    ("decimal", pa.types.is_decimal),
    ("integer", pa.types.is_integer),
    ("float", pa.types.is_floating),
    ("bytes", lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)),
    ("bytes", pa.types.is_fixed_size_binary),
    ("duration", pa.types.is_duration),
    ("boolean", pa.types.is_boolean),
)


def _plain(col: pa.ChunkedArray) -> list[Any]:
    return list(col.to_pylist())


def _nulls(col: pa.ChunkedArray) -> list[None]:
    return [None] * len(col)


def _integers(col: pa.ChunkedArray) -> list[int | str | None]:
    """Integers; those beyond ±2**53, which a double (an Excel number) would round, as
    their digits."""
    values = list(col.to_pylist())
    low, high = (v.as_py() for v in pc.min_max(col).values())
    if low is None or (-MAX_EXACT_INT <= low and high <= MAX_EXACT_INT):
        return values
    return [str(v) if v is not None and abs(v) > MAX_EXACT_INT else v for v in values]


def _floats(col: pa.ChunkedArray) -> list[float | str | None]:
    """Floats; ``inf``, ``-inf`` and ``nan`` (no Excel number) as that text."""
    values = list(col.to_pylist())
    if pc.all(pc.is_finite(col)).as_py() is not False:
        return values
    return [v if v is None or math.isfinite(v) else str(v) for v in values]


def _decimals(col: pa.ChunkedArray) -> list[float | str | None]:
    """Decimals as numbers when a double holds them exactly, else as their digits."""
    out: list[float | str | None] = []
    for v in col.to_pylist():
        f = None if v is None else float(v)
        out.append(f if v is None or Decimal(repr(f)) == v else str(v))
    return out


def _hex(col: pa.ChunkedArray) -> list[str | None]:
    return [None if v is None else bytes(v).hex() for v in col.to_pylist()]


def _durations(col: pa.ChunkedArray) -> list[str | None]:
    """Durations as ISO 8601 text (``P0DT1H0M2S``): an Excel time of day stops at 24h."""
    return [None if v is None else str(pd.Timedelta(v).isoformat()) for v in col.to_pylist()]


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


#: converter and "may hold any text" per kind of column (:func:`_kind`)
_VALUE_PLANS: dict[str, tuple[Converter, bool]] = {
    "list": (_joined, True),
    "null": (_nulls, False),
    "json": (_json, True),
    "decimal": (_decimals, False),
    "integer": (_integers, False),
    "float": (_floats, False),
    "bytes": (_hex, False),
    "duration": (_durations, False),
    "boolean": (_plain, False),
    "text": (_plain, True),
}
