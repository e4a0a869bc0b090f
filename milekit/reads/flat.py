"""Flat frames: object columns as ``parent.child`` columns, ``"lat,lng"`` text as floats,
and back.

>>> import milekit
>>> with milekit.Sandbox(tasks=20) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False, fields=["hub", "expectedCoordinate"])
>>> flat = flatten(df, coordinates=True)
>>> [c for c in flat.columns if c.startswith(("hub.", "expectedCoordinate."))][:6]
['hub._id', 'hub.name', 'hub.lat', 'hub.lng', 'expectedCoordinate.lat', 'expectedCoordinate.lng']
>>> str(flat["hub.lat"].dtype), str(flat["expectedCoordinate.lat"].dtype)
('Float64', 'Float64')
>>> back = unflatten(flat)
>>> list(back.columns) == list(df.columns), back["hub"].tolist() == df["hub"].tolist()
(True, True)

:func:`flatten` replaces each object column (API type ``Object``: a dict per row) by one
column per key, recursively, each typed from the registry's description of that key (the
same rules as top-level columns: ``datetime64[us, UTC]``, ``Int64``, ``time64`` …; keys
the registry does not know are typed from the data). Lists and free-form JSON objects stay
as they are (their keys are data, not columns). With ``coordinates=True`` the columns
that hold ``"lat,lng"`` text (the registry marks them, e.g. ``expectedCoordinate``; flow
components of a coordinate type too) become float ``<col>.lat`` / ``<col>.lng`` columns.

:func:`unflatten` rebuilds the nested objects and the coordinate text, in the API's wire
form (datetimes ``2024-10-07T07:44:18+00:00``, times ``08:00:00``, dates ``2024-10-07``)
so a push can send them. ``flatten(unflatten(flat))`` equals ``flat``. Two things a flat
frame cannot tell apart come back one way: an object whose keys are all null comes back as
a null object, and a coordinate comes back as the shortest text of its two floats
(``"-6.2,106.8"`` for ``"-6.200000,106.800000"``).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from milekit.errors import UsageError
from milekit.types import registry, schema
from milekit.types.kinds import TEXT
from milekit.types.registry import Field, FieldType, RowSchema

F = FieldType
SEP = "."


def is_coordinate(f: Field) -> bool:
    """Does ``f`` hold ``"lat,lng"`` text? (String fields the registry describes so.)

    >>> from milekit.types.registry import TASKS
    >>> is_coordinate(TASKS.field("expectedCoordinate")), is_coordinate(TASKS.field("title"))
    (True, False)
    """
    if f.type != F.STRING:
        return False
    doc = f.doc.lower()
    name = f.name.lower()
    return (
        '"lat,lng"' in doc
        or ("latitude" in doc and "longitude" in doc)
        or name.endswith(("coordinate", "geolocation"))
    )


def _meta(df: pd.DataFrame) -> dict[str, Any]:
    return dict(df.attrs.get("milekit") or {})


def _rows_of(df: pd.DataFrame) -> RowSchema | None:
    """The row schema of the frame's resource (``df.attrs``), if it has one."""
    name = _meta(df).get("resource")
    spec = registry.RESOURCES.get(name) if isinstance(name, str) else None
    return spec.rows if spec is not None else None


def flatten(
    df: pd.DataFrame,
    *,
    objects: bool = True,
    coordinates: bool = False,
    rows: RowSchema | None = None,
) -> pd.DataFrame:
    """Object columns -> ``parent.child`` columns (recursively), optionally ``"lat,lng"``
    columns -> ``<col>.lat``/``<col>.lng`` floats. See the module docstring.

    ``rows`` (default: the schema of the frame's resource, from ``df.attrs``) types the
    new columns.
    """
    meta = _meta(df)
    rows = rows if rows is not None else _rows_of(df)
    known = {f.name: f for f in rows.fields} if rows is not None else {}
    coord = set(meta.get("coordinate_columns") or ())
    coord |= {n for n, f in known.items() if is_coordinate(f)}
    data: dict[str, Any] = {}
    flattened: list[str] = list(meta.get("flattened") or ())
    for name in df.columns:
        s = df[name]
        f = known.get(str(name))
        if objects and SEP not in str(name) and _is_object_column(s, f):
            children = f.children if f is not None else ()
            parts = list(_flatten_cells(str(name), s.tolist(), children))
            if len(parts) == 1 and parts[0][0] == name:
                data[name] = s.array
                continue
            flattened.append(str(name))
            for child, values, cf in parts:
                data[child] = values
                if cf is not None and is_coordinate(cf):
                    coord.add(child)
            continue
        data[name] = s.array
    out = pd.DataFrame(data, index=df.index)
    if objects:
        meta["flattened"] = flattened
    if coordinates:
        out, split = _split_coordinates(out, coord)
        meta["split_coordinates"] = [*meta.get("split_coordinates", ()), *split]
    out.attrs["milekit"] = meta
    return out


def _is_object_column(s: pd.Series[Any], f: Field | None) -> bool:
    if not pd.api.types.is_object_dtype(s.dtype):
        return False
    if f is not None and f.type not in (F.OBJECT,):
        return False  # lists, and free-form JSON whose keys are data
    return _all_dicts(s.tolist())


def _all_dicts(values: Sequence[Any]) -> bool:
    """Every non-null value a dict, and at least one a non-empty dict."""
    some = False
    for v in values:
        if v is None or (not isinstance(v, dict | list) and pd.isna(v)):
            continue
        if not isinstance(v, dict):
            return False
        some = some or bool(v)
    return some


def _flatten_cells(
    prefix: str, cells: Sequence[Any], children: Sequence[Field]
) -> Iterator[tuple[str, Any, Field | None]]:
    """(column name, pandas array, its Field) for each leaf under ``prefix``."""
    dicts = [c for c in cells if isinstance(c, dict)]
    if not dicts:
        yield prefix, _object_array([None if _missing(c) else c for c in cells]), None
        return
    documented = {c.name: c for c in children}
    keys: dict[str, None] = {}
    for c in children:
        if any(c.name in d for d in dicts):
            keys[c.name] = None
    for d in dicts:
        keys.update(dict.fromkeys(k for k in d if k not in keys))
    for k in keys:
        values = [c.get(k) if isinstance(c, dict) else None for c in cells]
        cf = documented.get(k)
        name = f"{prefix}{SEP}{k}"
        nested = cf.type == F.OBJECT if cf is not None else True
        if nested and _all_dicts(values):
            yield from _flatten_cells(name, values, cf.children if cf is not None else ())
            continue
        yield name, _typed(name, values, cf), cf


def _typed(name: str, values: list[Any], f: Field | None) -> Any:
    if f is not None:
        arr, got = schema.convert(values, Field(name, f.type, enum=f.enum, doc=f.doc))
        enum = list(f.enum) if got == F.ENUM else []
    else:
        arr, got = schema.infer(values)
        enum = []
    pf = pa.field(name, arr.type, metadata=schema.field_meta(got, enum))
    return schema.column_to_pandas(pa.chunked_array([arr]), pf, got, enum)


def _object_array(values: list[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, list | dict | tuple | np.ndarray):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# --- coordinates -----------------------------------------------------------------------------


def _split_coordinates(df: pd.DataFrame, candidates: set[str]) -> tuple[pd.DataFrame, list[str]]:
    data: dict[str, Any] = {}
    split: list[str] = []
    for name in df.columns:
        s = df[name]
        if name in candidates and (
            pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype)
        ):
            pair = _parse_pairs(str(name), s.tolist())
            if pair is not None:
                data[f"{name}{SEP}lat"], data[f"{name}{SEP}lng"] = pair
                split.append(str(name))
                continue
        data[name] = s.array
    return pd.DataFrame(data, index=df.index), split


def _parse_pairs(name: str, values: list[Any]) -> tuple[Any, Any] | None:
    lats: list[float | None] = []
    lngs: list[float | None] = []
    for v in values:
        if _missing(v) or (isinstance(v, str) and not v.strip()):
            lats.append(None)
            lngs.append(None)  # note 13: "" is a missing coordinate
            continue
        got = _pair(v)
        if got is None:
            warnings.warn(
                f"column {name!r}: {v!r} is not a 'lat,lng' coordinate; the column is kept as text",
                schema.MileTypeWarning,
                stacklevel=4,
            )
            return None
        lats.append(got[0])
        lngs.append(got[1])
    return pd.array(lats, dtype="Float64"), pd.array(lngs, dtype="Float64")


def _pair(v: Any) -> tuple[float, float] | None:
    if not isinstance(v, str):
        return None
    parts = v.split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lng = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


# --- back to nested objects ---------------------------------------------------------------


def unflatten(df: pd.DataFrame, *, coordinates: Sequence[str] | None = None) -> pd.DataFrame:
    """Rebuild the objects and coordinate text of a frame :func:`flatten` made (the
    reverse: ``parent.child`` columns -> one ``parent`` column of dicts; ``<col>.lat`` +
    ``<col>.lng`` -> ``"lat,lng"`` text). Values come in the API's wire form.

    ``coordinates``: the columns that were split (default: as recorded in ``df.attrs``
    by :func:`flatten`; without that record ``<col>.lat``/``<col>.lng`` pairs would be
    rebuilt as ``{"lat", "lng"}`` objects).

    >>> flat = pd.DataFrame({"hub.name": ["Jakarta Hub", None], "hub.lat": [-6.2, None]})
    >>> unflatten(flat)["hub"].tolist()
    [{'name': 'Jakarta Hub', 'lat': -6.2}, None]
    """
    meta = _meta(df)
    split = list(coordinates if coordinates is not None else meta.get("split_coordinates", ()))
    cols = [str(c) for c in df.columns]
    data: dict[str, Any] = {}
    # 1. coordinates back to text (before objects: a split child sits inside its parent)
    merged: dict[str, Any] = {}
    for base in split:
        lat, lng = f"{base}{SEP}lat", f"{base}{SEP}lng"
        if lat not in df.columns or lng not in df.columns:
            raise UsageError(f"coordinate {base!r} was split but {lat!r}/{lng!r} are missing")
        merged[lat] = _coordinate_text(df[lat].tolist(), df[lng].tolist())
    columns: list[tuple[str, Any]] = []
    for c in cols:
        if c in merged:
            columns.append((c[: -len(SEP + "lat")], merged[c]))
        elif c.endswith(SEP + "lng") and c[: -len(SEP + "lng")] in split:
            continue
        else:
            columns.append((c, df[c]))
    # 2. dotted columns -> nested objects, at the place of their first column
    groups: dict[str, list[tuple[list[str], Any]]] = {}
    order: list[str] = []
    for name, values in columns:
        if SEP not in name:
            order.append(name)
            data[name] = values.array if isinstance(values, pd.Series) else values
            continue
        top, *rest = name.split(SEP)
        if top in data:
            raise UsageError(f"both {top!r} and {name!r} are columns: cannot rebuild {top!r}")
        if top not in groups:
            groups[top] = []
            order.append(top)
        raw = values.tolist() if isinstance(values, pd.Series) else list(values)
        groups[top].append((rest, raw))
    n = len(df)
    for top, leaves in groups.items():
        rows: list[Any] = []
        for i in range(n):
            node: dict[str, Any] = {}
            for path, raw in leaves:
                _put(node, path, wire(raw[i]))
            rows.append(_prune(node))
        data[top] = _object_array(rows)
    out = pd.DataFrame({k: data[k] for k in order}, index=df.index)
    meta.pop("split_coordinates", None)
    meta.pop("flattened", None)
    out.attrs["milekit"] = meta
    return out


def _coordinate_text(lats: list[Any], lngs: list[Any]) -> Any:
    out: list[str | None] = []
    for a, b in zip(lats, lngs, strict=True):
        out.append(None if _missing(a) or _missing(b) else f"{float(a)!r},{float(b)!r}")
    return pd.array(out, dtype=TEXT)


def _put(node: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = node[key] = {}
        node = nxt
    node[path[-1]] = value


def _prune(node: dict[str, Any]) -> dict[str, Any] | None:
    """Nested objects whose values are all null become null (bottom up)."""
    for k, v in node.items():
        if isinstance(v, dict):
            node[k] = _prune(v)
    return node if any(v is not None for v in node.values()) else None


def wire(v: Any) -> Any:
    """A frame value in the API's JSON form (NA -> None; datetimes ISO 8601 in UTC).

    >>> wire(pd.Timestamp("2024-10-07 07:44:18", tz="UTC")), wire(dt.time(8, 0)), wire(pd.NA)
    ('2024-10-07T07:44:18+00:00', '08:00:00', None)
    """
    if _missing(v):
        return None
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        frac = f".{ts.microsecond:06d}" if ts.microsecond else ""
        return ts.strftime("%Y-%m-%dT%H:%M:%S") + frac + "+00:00"
    if isinstance(v, dt.time):
        frac = f".{v.microsecond:06d}" if v.microsecond else ""
        return f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}{frac}"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v
