"""What each version of a Delta lake carries and says: the marks of the run that made it
(:class:`DeltaState`), the rows it added, changed and deleted, and the lake read back as
it was after any run.

>>> import milekit, tempfile
>>> lake = tempfile.mkdtemp() + "/tasks"
>>> with milekit.Sandbox(tasks=40) as sb, milekit.Client(sb.token, sb.url) as c:
...     _ = milekit.sync("tasks", lake, client=c, progress=False, format="delta")
>>> history = delta_history(lake)
>>> [int(history.loc[0, name]) for name in ("version", "added", "run")]
[0, 40, 1]
>>> len(read_delta(lake, version=0)), state_of(open_table(lake, {})).resource
(40, 'tasks')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pandas as pd

from milekit._version import __version__
from milekit.files.delta_changes import HASH
from milekit.files.delta_store import clean, deltalake_module, open_table, options_for, table_uri
from milekit.files.delta_types import decode_schema, restore
from milekit.files.lake import LakeError, check_selection
from milekit.types import registry, schema
from milekit.types.model import ResourceSpec

__all__ = [
    "COUNTS_KEY",
    "STATE_KEY",
    "DeltaState",
    "check_delta",
    "counts_doc",
    "delta_history",
    "read_delta",
    "state_of",
]

#: the key of a commit's custom metadata that holds the run's state (:class:`DeltaState`)
STATE_KEY = "milekit_state"
#: the key of a commit's custom metadata that holds the rows the run added, changed and
#: deleted, where deltalake's own metrics do not tell them (a replace: a WRITE's metrics
#: count the rows it wrote, not which of them were new)
COUNTS_KEY = "milekit_rows"


@dataclass
class DeltaState:
    """What a run commits beside its rows: the marks the next run reads from."""

    resource: str
    filters: dict[str, str]
    high_water: str | None
    last_run: str
    schema: str  #: the Arrow schema of what it wrote (delta_types.encode_schema)
    milekit: str = __version__
    #: the rows of each open status the run read: the next run asks for that many pages
    #: of each at once, not page 1 first (a round trip each)
    open_rows: dict[str, int] = field(default_factory=dict)


def state_of(table: Any, version: int | None = None) -> DeltaState | None:
    """The state of the newest milekit commit at or before ``version`` (None: none)."""
    for entry in table.history():
        if version is not None and entry.get("version", -1) > version:
            continue
        doc = entry.get(STATE_KEY)
        if doc:
            try:
                marks = orjson.loads(doc)
                known = {f.name for f in dataclasses.fields(DeltaState)}
                # a key a later milekit added is not this one's business
                return DeltaState(**{k: v for k, v in marks.items() if k in known})
            except (orjson.JSONDecodeError, TypeError, AttributeError) as e:
                raise LakeError(f"a commit's {STATE_KEY} is not milekit's ({e})") from None
    return None


def check_delta(
    table: Any, spec: ResourceSpec, params: Mapping[str, str], uri: str
) -> DeltaState | None:
    """The lake's state, after checking it is ``spec``'s lake with these filters."""
    if table is None:
        return None
    state = state_of(table)
    if state is None:
        raise LakeError(f"{uri} is a Delta table milekit.sync did not write: it is not touched")
    check_selection(uri, state.resource, state.filters, spec, params)
    return state


def read_delta(
    uri: str | os.PathLike[str],
    *,
    version: int | None = None,
    as_of: dt.datetime | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The frame a Delta lake holds, now or as a run left it (``version``/``as_of``)."""
    where = table_uri(uri)
    options = options_for(where, storage_options)
    table = open_table(where, options)
    if table is None:
        raise LakeError(f"no Delta lake at {where}")
    if version is not None or as_of is not None:
        table.load_as_version(version if version is not None else as_of)
    state = state_of(table, table.version())
    if state is None:
        raise LakeError(f"{where} holds no milekit.sync commit at that version")
    spec = registry.get(state.resource)
    try:
        read = table.to_pyarrow_table()
    except (OSError, deltalake_module().exceptions.DeltaError) as e:
        raise LakeError(
            f"cannot read version {table.version()} of {where} (vacuumed?): {clean(e, options)}"
        ) from None
    if HASH in read.column_names:
        read = read.drop_columns([HASH])
    got = restore(read, decode_schema(state.schema))
    return schema.to_pandas(got, index=spec.id_field)


def delta_history(
    uri: str | os.PathLike[str], *, storage_options: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per version: when, what operation, rows added, changed and deleted."""
    where = table_uri(uri)
    table = open_table(where, options_for(where, storage_options))
    if table is None:
        raise LakeError(f"no Delta lake at {where}")
    rows = []
    for e in table.history():
        added, changed, deleted = _counts(e)
        rows.append(
            {
                "version": int(e["version"]),
                "time": pd.Timestamp(int(e["timestamp"]), unit="ms", tz="UTC"),
                "operation": str(e.get("operation", "")),
                "added": added,
                "changed": changed,
                "deleted": deleted,
                "run": bool(e.get(STATE_KEY)),
            }
        )
    return pd.DataFrame(rows).sort_values("version").reset_index(drop=True)


def counts_doc(added: int, changed: int, deleted: int) -> str:
    """The rows a run added, changed and deleted, as its commit's :data:`COUNTS_KEY`."""
    return orjson.dumps({"added": added, "changed": changed, "deleted": deleted}).decode()


def _counts(entry: Mapping[str, Any]) -> tuple[int, int, int]:
    """The rows a commit added, changed and deleted: the run's own count where its commit
    carries one (:data:`COUNTS_KEY`), else deltalake's metrics (a merge's, a write's)."""
    m = entry.get("operationMetrics") or {}
    got = {
        "added": m.get("num_target_rows_inserted", m.get("num_added_rows", 0)),
        "changed": m.get("num_target_rows_updated", 0),
        "deleted": m.get("num_target_rows_deleted", 0),
    }
    try:
        mine = orjson.loads(entry.get(COUNTS_KEY) or "{}")
        got.update({k: v for k, v in mine.items() if k in got and isinstance(v, int)})
    except (orjson.JSONDecodeError, AttributeError):
        pass  # not milekit's: deltalake's metrics
    return int(got["added"] or 0), int(got["changed"] or 0), int(got["deleted"] or 0)
