"""Reading back a workbook ``to_excel``/``export(...xlsx)`` wrote, after a person edited it.

>>> import milekit, tempfile
>>> d = tempfile.mkdtemp()
>>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False)
>>> back = read_excel(milekit.to_excel(df, d + "/t.xlsx", tz="Asia/Jakarta"))
>>> back.index.name, back["startTime"].equals(df["startTime"])
('_id', True)
>>> back["label"].tolist() == df["label"].tolist()
True

Each cell goes back to the value the API would send, then is typed as a page from the API
is (:func:`milekit.types.schema.rows_to_table`): documented columns by the registry, the
others by the API type in their header's comment. Datetimes are read in the zone their
header names (``startTime (Asia/Jakarta)``); list cells are split on ``", "`` (JSON when
they hold objects; an empty one is an empty list); ``parent.child`` columns are folded
back into objects; numbers typed into a text column are taken as their text; a cleared
cell is missing. A sheet continued past Excel's row limit (``tasks (2)`` …) is read whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
import pandas as pd

from milekit.errors import UsageError, need
from milekit.types import registry, schema
from milekit.types.kinds import KINDS
from milekit.types.registry import Field, FieldType, ResourceSpec

F = FieldType
_ZONED = re.compile(r"^(?P<name>.+) \((?P<zone>[^()]+)\)$")
_NUMBERS = (int, float)


class _Column(NamedTuple):
    """One header cell: its path (``hub.name`` -> ``("hub", "name")``), API type, zone."""

    path: tuple[str, ...]
    type: FieldType
    zone: str | None


def read_excel(
    path: str | os.PathLike[str], resource: str | None = None, *, sheet: str | None = None
) -> pd.DataFrame:
    """The typed frame of a workbook milekit wrote (a person may have edited it).

    ``resource``: whose rows the sheet holds (default: the sheet's name when it is a
    resource, else the default). ``sheet``: the sheet to read (default: the resource's,
    else the first). The frame has no snapshot: :func:`milekit.push` compares it with the
    server (rows changed there since the workbook was made are conflicts).
    """
    openpyxl = need("openpyxl", "excel", "milekit.read_excel")
    wb = openpyxl.load_workbook(str(path), data_only=True)
    try:
        title = _sheet_title(wb.sheetnames, sheet, resource)
        default = title if title in registry.RESOURCES else registry.DEFAULT_RESOURCE
        spec = registry.get(resource or default)
        parts = [wb[n] for n in _parts(wb.sheetnames, title)]
        header = [c for c in next(parts[0].iter_rows(min_row=1, max_row=1))]
        columns = [_column(c.value, c.comment, spec) for c in header]
        rows = [r for ws in parts for r in ws.iter_rows(min_row=2, values_only=True)]
    finally:
        wb.close()
    docs = [_document(r, columns) for r in rows if any(v is not None for v in r)]
    keys = list(dict.fromkeys(c.path[0] for c in columns))
    table = schema.rows_to_table(docs, _row_schema(spec, columns), columns=keys)
    df = schema.to_pandas(table, index=spec.id_field)
    df.attrs["milekit"] = {"resource": spec.name}
    return df


def _sheet_title(names: Sequence[str], sheet: str | None, resource: str | None) -> str:
    if sheet is not None:
        if sheet not in names:
            raise UsageError(f"no sheet {sheet!r} in the workbook; it has {list(names)}")
        return sheet
    if resource is not None and resource in names:
        return resource
    return names[0]


def _parts(names: Sequence[str], title: str) -> list[str]:
    """The sheet and its continuations past Excel's row limit, in order."""
    more = re.compile(re.escape(title[:27]) + r" \((\d+)\)$")
    cont = sorted((int(m.group(1)), n) for n in names if (m := more.match(n)))
    return [title, *(n for _, n in cont)]


def _column(label: Any, comment: Any, spec: ResourceSpec) -> _Column:
    """A header cell: its name, its API type (the registry's, else its comment's) and the
    zone its datetimes are in (``name (zone)``; ``Datetime, zone`` in its comment)."""
    text = str(label or "")
    kind, _, zone = (comment.text if comment is not None else "").partition(", ")
    m = _ZONED.match(text)
    if m is not None and (zone or _is_zone(m.group("zone"))):
        text, zone = m.group("name"), zone or m.group("zone")
    path = tuple(text.split(".")) if "." in text and text.split(".")[0] in spec.rows else (text,)
    ft = _documented(spec, path) or _kind(kind)
    return _Column(path, ft, zone or None)


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return name == "UTC"
    return True


def _documented(spec: ResourceSpec, path: tuple[str, ...]) -> FieldType | None:
    f: Field | None = spec.rows.get(path[0])
    for name in path[1:]:
        f = next((c for c in f.children if c.name == name), None) if f is not None else None
    return f.type if f is not None and (len(path) > 1 or f.type != F.OBJECT) else None


def _kind(text: str) -> FieldType:
    try:
        return FieldType(text.strip())
    except ValueError:
        return F.STRING


def _row_schema(spec: ResourceSpec, columns: Sequence[_Column]) -> registry.RowSchema:
    """The resource's rows, with the custom columns typed as their header comments say."""
    extra = tuple(
        Field(c.path[0], c.type)
        for c in columns
        if len(c.path) == 1 and c.path[0] not in spec.rows and c.type != F.STRING
    )
    return dataclasses.replace(spec, fields=spec.fields + extra).rows if extra else spec.rows


def _document(row: Sequence[Any], columns: Sequence[_Column]) -> dict[str, Any]:
    """One sheet row as the API's JSON object (objects rebuilt from their columns)."""
    doc: dict[str, Any] = {}
    for col, value in zip(columns, row, strict=False):
        v = _api_value(value, col)
        if len(col.path) == 1:
            doc[col.path[0]] = v
            continue
        at = doc.get(col.path[0])
        v = None if v == [] else v  # an object's empty list cell: the key is not there
        if v is None and not isinstance(at, dict):
            doc.setdefault(col.path[0], None)
            continue
        node = doc[col.path[0]] = at if isinstance(at, dict) else {}
        for name in col.path[1:-1]:
            node = node.setdefault(name, {})
        node[col.path[-1]] = v
    return doc


def _api_value(v: Any, col: _Column) -> Any:
    """A cell as the API would send it for a column of ``col.type``."""
    form = KINDS[col.type].sheet
    if isinstance(v, str) and not v.strip() and form != "text":
        v = None
    if form == "list":
        return _list(v)
    if v is None:
        return None
    if form == "instant":
        return _instant(v, col.zone)
    if form == "date":
        return v.date().isoformat() if isinstance(v, dt.datetime) else _text(v)
    if form == "time":
        return v.time().isoformat() if isinstance(v, dt.datetime) else _text(v)
    if form == "json" and isinstance(v, str):
        try:
            return orjson.loads(v)
        except orjson.JSONDecodeError:
            return v
    if form == "text":
        return _text(v)
    if form == "number" and isinstance(v, str):
        return _number(v)
    if form == "bool" and isinstance(v, str):
        return {"true": True, "false": False}.get(v.strip().lower(), v)
    return v


def _list(v: Any) -> list[Any]:
    """A list cell: ``a, b`` (or JSON); empty -> ``[]`` (what an empty list was written as)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return []
    text = _text(v)
    if text.startswith("["):
        try:
            got = orjson.loads(text)
        except orjson.JSONDecodeError:
            got = None
        if isinstance(got, list):
            return got
    return [x.strip() for x in text.split(",") if x.strip()]


def _text(v: Any) -> str:
    """Text as typed; a number typed into a text cell as its digits (``12.0`` -> ``12``)."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    return str(v)


def _number(text: str) -> Any:
    """A number written as text (integers beyond 2**53 are: kept exact) or typed so."""
    clean = text.strip().replace(",", "")
    try:
        return int(clean)
    except ValueError:
        pass
    try:
        return float(clean)
    except ValueError:
        return text  # not a number: push names the cell


def _instant(v: Any, zone: str | None) -> Any:
    """A datetime cell (wall-clock in ``zone``) or typed text, as ISO 8601 with its offset."""
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        v = dt.datetime.combine(v, dt.time())
    if isinstance(v, str):
        try:
            v = pd.Timestamp(v.strip()).to_pydatetime()
        except ValueError:
            return v  # not a datetime: push names the cell
    if not isinstance(v, dt.datetime):
        return v
    if v.tzinfo is None and zone is not None:
        v = v.replace(tzinfo=zoneinfo.ZoneInfo(zone) if zone != "UTC" else dt.UTC)
    return v.isoformat()
