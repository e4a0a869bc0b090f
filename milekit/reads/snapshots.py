"""The snapshot of every frame milekit returns: held by a token in ``df.attrs``.

>>> import milekit
>>> with milekit.Sandbox(tasks=3) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False)
>>> snap, source = lookup(df)
>>> snap.table.num_rows, source, lookup(df.head(1).copy())[1], resource_of(df) == snap.resource
(3, 'frame', 'derived', True)

Frames returned by milekit (``milekit.frame``/``tasks_frame``) remember the typed Arrow
table they were built from. The snapshot is held by a small token in
``df.attrs["milekit"]`` (a :class:`SnapshotToken`: text that pandas shares instead of
copying when it copies ``attrs``): it costs no copy (the frame was converted out of it),
edits made in place under copy-on-write cannot reach it (Arrow buffers are immutable and
the frame owns its own memory), and it goes away with the last frame that holds it.

A frame *derived* from a milekit frame (``df[mask].copy()``, ``df.query(...)``, a column
subset) carries the same small token in ``df.attrs["milekit"]``, which holds the snapshot:
it can be pushed even after the frame it came from is gone. Rows missing from a derived
frame are not taken as deletions (it is naturally a subset). Frames from elsewhere (a
Parquet file, a pickle) need ``original=``.

The readers (:mod:`milekit.reads.frames`, :mod:`milekit.reads.objects`) keep the snapshot
(:func:`remember`); :mod:`milekit.writes.diff` and :func:`milekit.push` look it up. This
module knows nothing of either: it sits at the bottom of ``reads``.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from milekit.errors import UsageError
from milekit.types import registry, schema
from milekit.types.encode import field_type_of, is_missing
from milekit.types.registry import FieldType, ResourceSpec

SnapshotSource = Literal["frame", "derived", "original"]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The typed Arrow table a frame was built from (its id column included)."""

    spec: ResourceSpec
    table: pa.Table
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def resource(self) -> str:
        return self.spec.name

    @property
    def id_field(self) -> str:
        return self.spec.id_field

    @cached_property
    def ids(self) -> list[str | None]:
        if self.id_field not in self.table.column_names:
            return [None] * self.table.num_rows
        return [_norm_id(v) for v in self.table.column(self.id_field).to_pylist()]

    @cached_property
    def positions(self) -> dict[str, int]:
        """id -> row of its first occurrence."""
        out: dict[str, int] = {}
        for i, v in enumerate(self.ids):
            if v is not None and v not in out:
                out[v] = i
        return out

    def field_type(self, column: str) -> tuple[FieldType, tuple[str, ...]] | None:
        """The API type the snapshot recorded for ``column`` (None if it has no such column,
        or if every value is missing: a type inferred from no values says nothing)."""
        if column not in self.table.column_names:
            return None
        col = self.table.column(column)
        if len(col) and col.null_count == len(col):
            return None
        f = self.table.schema.field(column)
        ft, enum = schema.meta_of(f)
        return (ft if ft is not None else field_type_of(f.type)), tuple(enum)


# --- the snapshot registry ------------------------------------------------------------------


class _Cell:
    """Where a frame's snapshot is: the frame and every frame derived from it share one
    cell (through the token in their ``attrs``), so a push that moves the frame's snapshot
    forward moves theirs too, and the snapshot lives as long as any of them."""

    __slots__ = ("__weakref__", "snap")

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap


class SnapshotToken(str):
    """The ``snapshot`` entry of ``df.attrs["milekit"]``: text (``df.to_parquet`` writes
    ``attrs`` as JSON), holding its :class:`_Cell`. pandas deep-copies ``attrs`` into
    every frame it derives (``copy()``, a column subset, a filter): the token is not
    copied but shared, and with it the snapshot. Pickled, it is plain text.

    >>> import copy, pickle
    >>> t = SnapshotToken("abc", _Cell(None))  # type: ignore[arg-type]
    >>> copy.deepcopy(t) is t, type(pickle.loads(pickle.dumps(t))).__name__
    (True, 'str')
    """

    cell: _Cell

    def __new__(cls, text: str, cell: _Cell) -> SnapshotToken:
        token = super().__new__(cls, text)
        token.cell = cell
        return token

    def __copy__(self) -> SnapshotToken:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SnapshotToken:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (str, (str(self),))


_lock = threading.Lock()
#: frames milekit returned (or pushed), by ``id``: their own snapshot, not a derived one
_by_frame: dict[int, weakref.ref[pd.DataFrame]] = {}


def remember(df: pd.DataFrame, table: pa.Table, spec: ResourceSpec) -> Snapshot:
    """Keep ``table`` as the snapshot of ``df`` for as long as ``df`` (or a frame derived
    from it) lives.

    ``table`` must not share memory with ``df`` (milekit frames are converted out of their
    table, so it does not).
    """
    snap = Snapshot(spec, table)
    register(df, snap)
    return snap


def register(df: pd.DataFrame, snap: Snapshot) -> None:
    """``snap`` becomes ``df``'s snapshot. A frame milekit returned keeps its cell (the
    frames derived from it follow it forward); any other frame gets a cell of its own."""
    key = id(df)
    meta = df.attrs.get("milekit")
    meta = dict(meta) if isinstance(meta, dict) else {}
    token = meta.get("snapshot")
    with _lock:
        ref = _by_frame.get(key)
        known = ref is not None and ref() is df
        if known and isinstance(token, SnapshotToken):
            token.cell.snap = snap
        else:
            token = SnapshotToken(snap.token, _Cell(snap))
            if not known:
                ref = weakref.ref(df)
                _by_frame[key] = ref
                weakref.finalize(df, _forget, key, ref)
    meta.update(resource=snap.resource, snapshot=token)
    df.attrs["milekit"] = meta


def _forget(key: int, ref: weakref.ref[pd.DataFrame]) -> None:
    with _lock:
        if _by_frame.get(key) is ref:
            del _by_frame[key]


def lookup(df: pd.DataFrame) -> tuple[Snapshot, SnapshotSource] | None:
    """The snapshot of ``df``: its own, or (for a derived frame) the one it came with."""
    meta = df.attrs.get("milekit")
    token = meta.get("snapshot") if isinstance(meta, dict) else None
    if not isinstance(token, SnapshotToken):
        return None
    with _lock:
        ref = _by_frame.get(id(df))
        own = ref is not None and ref() is df
    return token.cell.snap, "frame" if own else "derived"


def snapshot_of(
    edited: pd.DataFrame, original: pd.DataFrame | None, resource: str | None = None
) -> tuple[Snapshot, SnapshotSource]:
    """The snapshot to diff ``edited`` against (``original`` wins when given)."""
    if original is not None:
        if not isinstance(original, pd.DataFrame):
            raise UsageError(f"original must be a DataFrame, got {type(original).__name__}")
        name = resource or resource_of(original) or resource_of(edited) or registry.DEFAULT_RESOURCE
        spec = registry.get(name)
        if id_values(original, spec.id_field) is None:
            raise UsageError(f"original has no {spec.id_field!r} index or column")
        table = schema.from_pandas(original)
        return Snapshot(spec, table), "original"
    found = lookup(edited)
    if found is None:
        raise UsageError(
            "this frame has no milekit snapshot (it was not returned by milekit.frame/"
            "tasks_frame, or the frame it was derived from is gone): pass original=<the "
            "frame as fetched>, e.g. milekit.read_parquet('snapshot.parquet')"
        )
    return found


def resource_of(df: pd.DataFrame) -> str | None:
    """The resource a frame's attrs name, if any."""
    meta = df.attrs.get("milekit")
    name = meta.get("resource") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def _norm_id(v: Any) -> str | None:
    if v is None or is_missing(v):
        return None
    s = str(v)
    return s if s.strip() else None


def id_values(df: pd.DataFrame, id_field: str) -> list[str | None] | None:
    if df.index.name == id_field:
        return [_norm_id(v) for v in df.index.tolist()]
    if id_field in df.columns:
        return [_norm_id(v) for v in df[id_field].tolist()]
    return None
