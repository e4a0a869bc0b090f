"""Minimal .xlsx writing and reading (one sheet, strings/numbers/booleans), stdlib only.

>>> data = write([["dataId", "qty", "ok"], ["A-1", 3, True]])
>>> read(data)
[['dataId', 'qty', 'ok'], ['A-1', 3, True]]

Enough for the sandbox's task/data exports (``POST /tasks/export`` with ``download=xlsx``)
and for ``POST /data/import`` of a workbook; not a general spreadsheet library.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"  # ElementTree's spelling

_PKG = "http://schemas.openxmlformats.org/package/2006"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

_FILES = {
    "[Content_Types].xml": (
        f'{_HEAD}<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_OFFICE}.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'{_HEAD}<workbook xmlns="{_SML}" xmlns:r="{_DOC}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ),
}


def _col(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    text = value if isinstance(value, str) else str(value)
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def write(rows: list[list[Any]]) -> bytes:
    """An .xlsx workbook with one sheet holding ``rows`` (lists and dicts become JSON text)."""
    import orjson

    lines = []
    for i, row in enumerate(rows):
        cells = "".join(
            _cell(
                f"{_col(j)}{i + 1}",
                orjson.dumps(v).decode() if isinstance(v, (list, dict)) else v,
            )
            for j, v in enumerate(row)
        )
        lines.append(f'<row r="{i + 1}">{cells}</row>')
    sheet = f'{_HEAD}<worksheet xmlns="{_SML}"><sheetData>{"".join(lines)}</sheetData></worksheet>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _FILES.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def read(data: bytes) -> list[list[Any]]:
    """The first sheet's rows (ValueError if ``data`` is not a workbook)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        shared: list[str] = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = ET.fromstring(z.read("xl/sharedStrings.xml"))
            for si in root.iter(f"{_NS}si"):
                shared.append("".join(t.text or "" for t in si.iter(f"{_NS}t")))
        sheets = sorted(n for n in z.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n))
        if not sheets:
            raise ValueError("no worksheet")
        root = ET.fromstring(z.read(sheets[0]))
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as e:
        raise ValueError(f"not an xlsx workbook: {e}") from None
    rows: list[list[Any]] = []
    for row in root.iter(f"{_NS}row"):
        values: dict[int, Any] = {}
        for c in row.iter(f"{_NS}c"):
            ref = c.get("r", "")
            letters = re.match(r"[A-Z]+", ref)
            col = 0
            for ch in letters.group(0) if letters else "A":
                col = col * 26 + ord(ch) - 64
            kind = c.get("t")
            v = c.find(f"{_NS}v")
            if kind == "inlineStr":
                value: Any = "".join(t.text or "" for t in c.iter(f"{_NS}t"))
            elif v is None or v.text is None:
                continue
            elif kind == "s":
                value = shared[int(v.text)]
            elif kind == "b":
                value = v.text == "1"
            elif kind == "str":
                value = v.text
            else:
                f = float(v.text)
                value = int(f) if f.is_integer() and "." not in v.text else f
            values[col - 1] = value
        width = max(values) + 1 if values else 0
        rows.append([values.get(i) for i in range(width)])
    return rows
