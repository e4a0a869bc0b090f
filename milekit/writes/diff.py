"""What changed in an edited frame: a cell-level diff against milekit's snapshot.

>>> import milekit
>>> with milekit.Sandbox(tasks=20) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False)
>>> first = df.index[0]
>>> df.at[first, "title"] = "Renamed"
>>> d = milekit.diff(df)
>>> d[["column", "new"]].values.tolist(), d["_id"].iloc[0] == first
([['title', 'Renamed']], True)

The snapshot a frame is compared with is held by :mod:`milekit.reads.snapshots` (the
readers keep it when they build the frame); this module compares.

Values are compared by their API type (:mod:`milekit.types.encode`): missing vs missing is
unchanged, lists and dicts by value, datetimes by instant (any zone), times by value.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit.errors import UsageError
from milekit.reads.snapshots import Snapshot, SnapshotSource, id_values, snapshot_of
from milekit.types import schema
from milekit.types.encode import (
    canonical,
    canonical_column,
    display,
    is_missing,
)
from milekit.types.kinds import KINDS
from milekit.types.registry import FieldType, ResourceSpec

F = FieldType

#: the old value of a cell in a column the snapshot does not have
UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "<unknown>"})()

# --- comparing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a push cannot go ahead (grouped by ``message`` in the error text)."""

    message: str
    column: str | None = None
    id: str | None = None
    value: str | None = None


@dataclass
class Changes:
    """The edited frame compared with its snapshot, row by row and cell by cell."""

    spec: ResourceSpec
    snapshot: Snapshot
    source: SnapshotSource
    ids: list[str | None]  #: per edited row (None: no id)
    old_pos: list[int]  #: per edited row: its snapshot row, -1 if none
    columns: list[str]  #: the edited frame's data columns
    ftypes: dict[str, tuple[FieldType, tuple[str, ...]]]
    #: edited row -> column -> (old canonical | UNKNOWN, new canonical)
    cells: dict[int, dict[str, tuple[Any, Any]]]
    missing: list[str]  #: snapshot ids absent from the edited frame
    added_columns: list[str]  #: edited columns the snapshot does not have
    problems: list[Problem]
    duplicates: list[str]

    @property
    def new_rows(self) -> list[int]:
        return [k for k, p in enumerate(self.old_pos) if p < 0]

    def frame(self) -> pd.DataFrame:
        """One row per changed cell: ``_id``, ``column``, ``old``, ``new``."""
        rows: list[tuple[Any, ...]] = []
        for k in sorted(self.cells):
            for col, (old, new) in self.cells[k].items():
                ft = self.ftypes[col][0]
                o = None if old is UNKNOWN else display(old, ft)
                rows.append((self.ids[k], col, o, display(new, ft)))
        out = pd.DataFrame(
            {
                self.spec.id_field: pd.array([r[0] for r in rows], dtype="string"),
                "column": pd.array([r[1] for r in rows], dtype="string"),
                "old": _objects([r[2] for r in rows]),
                "new": _objects([r[3] for r in rows]),
            }
        )
        return out


def _objects(values: list[Any]) -> pd.Series[Any]:
    return pd.Series(values, dtype=object) if values else pd.Series([], dtype=object)


def column_type(
    name: str, spec: ResourceSpec, snap: Snapshot, series: pd.Series[Any] | None = None
) -> tuple[FieldType, tuple[str, ...]]:
    """The API type of a column: as the snapshot recorded it (it may have widened a
    documented type), else the registry's, else from the edited column's dtype."""
    got = snap.field_type(name)
    if got is not None:
        return got
    f = spec.rows.get(name)
    if f is not None:
        return f.type, f.enum
    if series is not None:
        if pd.api.types.is_object_dtype(series.dtype):
            _, ft = schema.infer(schema.none_for_na(series.tolist()))
            return ft, ()
        _, ft = schema.series_to_arrow(series, None, None)
        return ft, ()
    return F.STRING, ()


def compare(edited: pd.DataFrame, snap: Snapshot, source: SnapshotSource) -> Changes:
    """Compare ``edited`` with ``snap`` (nothing is sent; problems are collected, not raised)."""
    if not isinstance(edited, pd.DataFrame):
        raise UsageError(f"expected a DataFrame, got {type(edited).__name__}")
    spec = snap.spec
    idf = spec.id_field
    ids = id_values(edited, idf)
    if ids is None:
        raise UsageError(
            f"the frame has no {idf!r} index or column: milekit frames are indexed by "
            f"{idf!r} (df.set_index({idf!r}) after a reset_index())"
        )
    names = [str(c) for c in edited.columns]
    dup_cols = sorted({c for c in names if names.count(c) > 1})
    counts: dict[str, int] = {}
    for i in ids:
        if i is not None:
            counts[i] = counts.get(i, 0) + 1
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    problems = [Problem("duplicate column", c) for c in dup_cols]
    problems += [Problem("duplicate id", None, i) for i in duplicates]
    pos = snap.positions
    old_pos = [pos.get(i, -1) if i is not None else -1 for i in ids]
    columns = [c for c in names if c != idf and c not in dup_cols]
    cells, ftypes, added = _cells(edited, snap, columns, ids, old_pos, problems)
    return Changes(
        spec=spec,
        snapshot=snap,
        source=source,
        ids=ids,
        old_pos=old_pos,
        columns=columns,
        ftypes=ftypes,
        cells=cells,
        missing=[i for i in pos if i not in counts],
        added_columns=added,
        problems=problems,
        duplicates=duplicates,
    )


Cells = dict[int, dict[str, tuple[Any, Any]]]


def _cells(
    edited: pd.DataFrame,
    snap: Snapshot,
    columns: list[str],
    ids: list[str | None],
    old_pos: list[int],
    problems: list[Problem],
) -> tuple[Cells, dict[str, tuple[FieldType, tuple[str, ...]]], list[str]]:
    """The changed cells of the rows the snapshot has (row -> column -> (old, new)), each
    column's API type, and the columns the snapshot lacks (their values are all new)."""
    matched = [k for k, p in enumerate(old_pos) if p >= 0]
    take = pa.array([old_pos[k] for k in matched], pa.int64())
    all_rows = matched == list(range(len(ids)))
    cells: Cells = {}
    ftypes: dict[str, tuple[FieldType, tuple[str, ...]]] = {}
    added: list[str] = []
    for col in columns:
        s = edited[col]
        ft, enum = ftypes[col] = column_type(col, snap.spec, snap, s)
        sub = s if all_rows else s.iloc[matched]
        if col in snap.table.column_names:
            old_arr = snap.table.column(col).take(take).combine_chunks()
            changed = _changed(old_arr, sub, ft, enum)
        else:
            added.append(col)
            changed = _new_values(sub, ft, enum)
        for j, old, new, err in changed:
            k = matched[j]
            if err is not None:
                problems.append(Problem(err, col, ids[k]))
            cells.setdefault(k, {})[col] = (old, new)
    return cells, ftypes, added


def _new_values(
    sub: pd.Series[Any], ft: FieldType, enum: Sequence[str]
) -> list[tuple[int, Any, Any, str | None]]:
    """A column the snapshot lacks: every present value is new (its old one unknown)."""
    out: list[tuple[int, Any, Any, str | None]] = []
    for j, v in enumerate(sub.tolist()):
        if is_missing(v):
            continue
        try:
            out.append((j, UNKNOWN, canonical(v, ft, enum), None))
        except ValueError as e:
            out.append((j, UNKNOWN, v, str(e)))
    return out


_SCALAR = (
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_timestamp,
    pa.types.is_time,
    pa.types.is_date,
)


def _comparable(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_dictionary(t) or pa.types.is_large_string(t):
        return arr.cast(pa.string())
    if pa.types.is_timestamp(t):
        return arr.cast(pa.timestamp("us", tz="UTC")) if t.tz else arr.cast(pa.timestamp("us"))
    if pa.types.is_floating(t):
        arr = arr.cast(pa.float64())
        return pc.if_else(pc.is_nan(arr), pa.scalar(None, pa.float64()), arr)
    if pa.types.is_integer(t):
        return arr.cast(pa.int64())
    return arr


def _changed(
    old: pa.Array, new: pd.Series[Any], ft: FieldType, enum: Sequence[str]
) -> list[tuple[int, Any, Any, str | None]]:
    """``(row, old canonical, new canonical, problem)`` for every cell that differs."""
    candidates: Sequence[int] | None = None
    if not pd.api.types.is_object_dtype(new.dtype) and not KINDS[ft].cells:
        try:
            new_arr, _ = schema.series_to_arrow(new, ft, old.type)
            a, b = _comparable(old), _comparable(new_arr)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError):
            a = b = None
        if a is not None and b is not None and a.type == b.type and _is_scalar(a.type):
            same = pc.fill_null(pc.equal(a, b), False)
            both_null = pc.and_(pc.is_null(a), pc.is_null(b))
            changed = pc.invert(pc.or_(same, both_null))
            candidates = pc.indices_nonzero(changed).to_pylist()
            if not candidates:
                return []
    out: list[tuple[int, Any, Any, str | None]] = []
    news = new.tolist()
    if candidates is not None:
        olds = canonical_column(old.take(pa.array(candidates, pa.int64())), ft)
        for i, o in zip(candidates, olds, strict=True):
            _add(out, i, o, news[i], ft, enum)
        return out
    # Python values on both sides: most cells are the very objects (or equal copies) the
    # frame was built with, so compare them as they are and canonicalise only mismatches.
    raw = schema.cell_values(old, ft)
    for i, (o, v) in enumerate(zip(raw, news, strict=True)):
        if o is v or _same(o, v):
            continue
        try:
            co = canonical(o, ft, enum)
        except ValueError:
            co = o
        _add(out, i, co, v, ft, enum)
    return out


_PLAIN = frozenset({str, int, float, bool, list, dict})


def _same(a: Any, b: Any) -> bool:
    """Equal plain Python values of the same type (no NA inside to make ``==`` ambiguous)."""
    t = type(a)
    if t is not type(b) or t not in _PLAIN:
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _add(
    out: list[tuple[int, Any, Any, str | None]],
    i: int,
    old: Any,
    value: Any,
    ft: FieldType,
    enum: Sequence[str],
) -> None:
    try:
        new = canonical(value, ft, enum)
    except ValueError as e:
        out.append((i, old, value, str(e)))
        return
    if new != old:
        out.append((i, old, new, None))


def _is_scalar(t: pa.DataType) -> bool:
    return any(check(t) for check in _SCALAR)


# --- the public function ----------------------------------------------------------------------


def diff(edited: pd.DataFrame, original: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per changed cell of ``edited``: ``_id``, ``column``, ``old``, ``new``.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False)
    >>> len(milekit.diff(df))                       # nothing edited yet
    0
    >>> df.loc[df["flow"] == "Delivery", "label"] = "Fragile"
    >>> set(milekit.diff(df)["column"])
    {'label'}

    ``original`` is only needed for frames milekit did not return (re-read from Parquet,
    for example). Rows of ``edited`` the snapshot does not have, and snapshot rows missing
    from ``edited``, are not cells: :func:`milekit.push` reports them (create/delete).
    Values that do not fit their column's type are listed with ``new`` as given.
    """
    snap, source = snapshot_of(edited, original)
    return compare(edited, snap, source).frame()


def group_problems(problems: Sequence[Problem], limit: int = 5) -> list[str]:
    """Problems as readable lines, one per (message, column), ids listed up to ``limit``."""
    lines: list[str] = []
    key = lambda p: (p.message, p.column or "")  # noqa: E731
    for (message, column), group in itertools.groupby(sorted(problems, key=key), key=key):
        items = list(group)
        where = f"column {column!r}: " if column else ""
        ids = [p.id for p in items if p.id]
        text = f"{where}{message}"
        if ids:
            shown = ", ".join(ids[:limit]) + (
                f" and {len(ids) - limit} more" if len(ids) > limit else ""
            )
            text += f" ({len(ids)} row{'s' if len(ids) != 1 else ''}: {shown})"
        lines.append(text)
    return lines
