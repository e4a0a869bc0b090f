"""A frame without a snapshot (a file) compared with the server's current rows, safely.

>>> stamp_text(1_767_225_600_000_000)
'2026-01-01T00:00:00Z'

Without the file as fetched, the only thing to diff a file against is the server now. A
cell that differs is then either the user's edit or someone else's later change that the
file does not have: pushing it would undo that change. The file tells which rows the
server changed since it was read: each row carries the resource's ``updated`` stamp
(``updatedTime``) as it was read. A row whose stamp on the server differs is *stale*: its
differing cells are not sent but reported as ``conflict`` (``overwrite=True`` sends them,
and the plan lists them as cells it reverts). A file without the stamp column cannot be
checked: the push is refused before anything is sent unless ``original=`` or
``overwrite=True`` says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from milekit.errors import MileError, UsageError
from milekit.reads.inputs import ILLEGAL
from milekit.reads.plan import read_plan
from milekit.reads.snapshots import id_values
from milekit.types import registry, schema
from milekit.types.encode import canonical, is_missing
from milekit.types.registry import FieldType, ResourceSpec
from milekit.wire.client import Client
from milekit.wire.context import get_client
from milekit.writes.push.reconcile import Reader
from milekit.writes.push.validate import writable

#: stamps closer than this (microseconds) are the same: a file or a spreadsheet may keep
#: a stamp to the millisecond only
STAMP_TOLERANCE_US = 1_000


@dataclass
class ServerBase:
    """What a frame without a snapshot is pushed as."""

    edited: pd.DataFrame  #: its writable columns (the server owns the others)
    original: pd.DataFrame  #: the server's current values of them
    stale: dict[str, str]  #: id -> how its stamp moved since the file was read


def against_server(
    edited: pd.DataFrame, spec: ResourceSpec, client: Client, *, overwrite: bool
) -> ServerBase:
    """The server's current rows for ``edited``, and which rows changed since it was read.

    Raises :class:`UsageError` (nothing sent) when ``edited`` has no stamp column to check
    and ``overwrite`` is not set.
    """
    idf, stamp = spec.id_field, spec.updated
    ids = id_values(edited, idf)
    if ids is None:
        raise UsageError(f"the frame has no {idf!r} index or column")
    has_stamp = bool(stamp) and stamp in edited.columns
    if not has_stamp and not overwrite:
        raise UsageError(_unchecked(spec))
    keep = [str(c) for c in edited.columns if c == idf or writable(spec, str(c))]
    mine = edited[keep]
    asked = edited[[*keep, stamp]] if has_stamp else mine
    server = fetch_original(asked, spec.name, client=client)
    stale = _stale(ids, edited[stamp], server[stamp]) if has_stamp else {}
    data = [c for c in keep if c != idf]
    if mine.index.name != idf:  # ids in a column: compare by them
        return ServerBase(mine, server[data], stale)
    return ServerBase(_blanks_as_server(mine, server), server[data], stale)


def fetch_original(
    edited: pd.DataFrame,
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
) -> pd.DataFrame:
    """The server's current rows for the ids of ``edited``, typed like a fetched frame.

    For pushing a frame that has no snapshot (a file) without the file it came from:
    ``push(edited, original=fetch_original(edited))`` writes what differs from the server
    now. Ids the server does not have are left out (rows to create).

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False)
    ...     now = fetch_original(df[["title"]], client=c)
    >>> now.equals(df[["title"]])
    True
    """
    client = client or get_client()
    spec = registry.get(resource)
    # typed as frames type it: custom columns from their flow / data type definitions
    rows_schema = read_plan(spec, {}, client).rows
    idf = spec.id_field

    values = id_values(edited, idf)
    if values is None:
        raise UsageError(f"the frame has no {idf!r} index or column")
    ids = [i for i in dict.fromkeys(values) if i is not None]
    columns = [str(c) for c in edited.columns if c != idf]
    docs = Reader(client, spec).read_back(ids, columns)
    unread = [i for i in ids if i not in docs]
    if unread:
        raise MileError(f"could not read {len(unread)} of {len(ids)} rows back (e.g. {unread[0]})")
    keys = [idf, *columns]
    rows = [{k: d.get(k) for k in keys} for i in ids if (d := docs[i]) is not None]
    table = schema.rows_to_table(rows, rows_schema, columns=keys)
    return schema.to_pandas(table, index=idf)


def _blanks_as_server(mine: pd.DataFrame, server: pd.DataFrame) -> pd.DataFrame:
    """Cells that are the server's value as a spreadsheet holds it take the server's: a
    missing value, ``""`` and ``[]`` are one empty cell (and the same for the API), and
    control characters a cell cannot hold were written as U+FFFD; neither is an edit."""
    if mine.index.has_duplicates or not server.index.is_unique:
        return mine  # refused later (duplicate ids), with every other problem
    now = server.reindex(mine.index)
    out = mine.copy()
    for c in mine.columns:
        if c not in now.columns:
            continue
        ours, theirs = mine[c].tolist(), now[c].tolist()
        swap = [_as_written(a, b) for a, b in zip(ours, theirs, strict=True)]
        if any(swap):
            values = [b if m else a for a, b, m in zip(ours, theirs, swap, strict=True)]
            out[c] = pd.Series(values, index=mine.index, dtype=mine[c].dtype)
    return out


def _as_written(mine: Any, server: Any) -> bool:
    """Is ``mine`` the server's value as a spreadsheet holds it (a blank for a blank,
    U+FFFD for the control characters a cell cannot hold)?"""
    if isinstance(mine, str) and isinstance(server, str) and mine != server:
        return ILLEGAL.sub("\ufffd", server) == mine
    return _blank(mine) and _blank(server) and not _same_blank(mine, server)


def _blank(v: Any) -> bool:
    return is_missing(v) or (isinstance(v, str | list) and len(v) == 0)


def _same_blank(a: Any, b: Any) -> bool:
    return (is_missing(a) and is_missing(b)) or (type(a) is type(b) and not is_missing(a))


def _unchecked(spec: ResourceSpec) -> str:
    why = (
        f"the frame has no {spec.updated!r} column"
        if spec.updated
        else f"{spec.name} have no field the server stamps on every change"
    )
    return (
        f"{why}, so the rows changed on the server since it was read cannot be told from "
        "your edits: pushing it would overwrite them. Pass original= (the frame or file as "
        "fetched; CLI --original) to send only your edits, or overwrite=True (CLI "
        "--overwrite) to make the server match the frame. Nothing was sent"
    )


def _stale(ids: list[str | None], mine: pd.Series[Any], server: pd.Series[Any]) -> dict[str, str]:
    """id -> how the row's stamp moved since the file was read ("updatedTime file X,
    server Y"), for the rows the server changed or deleted since."""
    now = dict(zip(_ids(server), server.tolist(), strict=True))
    out: dict[str, str] = {}
    for i, v in zip(ids, mine.tolist(), strict=True):
        a = _instant(v)
        if i is None or (i not in now and a is None):
            continue  # a row to create (never read from the server)
        if i not in now:
            out[i] = f"deleted on the server; {mine.name} in the file {_shown(a)}"
            continue
        b = _instant(now[i])
        if a is None or b is None or abs(a - b) > STAMP_TOLERANCE_US:
            out[i] = f"{mine.name} file {_shown(a)}, server {_shown(b)}"
    return out


def _ids(s: pd.Series[Any]) -> list[str | None]:
    return [None if is_missing(v) else str(v) for v in s.index.tolist()]


def _instant(v: Any) -> int | None:
    try:
        got = canonical(v, FieldType.DATETIME)
    except ValueError:
        return None
    return got if isinstance(got, int) else None


def _shown(us: int | None) -> str:
    return "none" if us is None else stamp_text(us)


def stamp_text(us: int) -> str:
    """A stamp (microseconds since the epoch, UTC) as ISO 8601 text."""
    return str(pd.Timestamp(us, unit="us", tz="UTC").isoformat()).replace("+00:00", "Z")
