"""``milekit.sync`` / ``read_lake`` / ``lake_history``: the lake's format chosen, then the
Hive Parquet lake (:mod:`milekit.files.lake`) or the Delta table
(:mod:`milekit.files.delta_lake`) does the work.

>>> lake_format("s3://bucket/lake/tasks"), lake_format("no/such/lake")
('delta', 'parquet')

A lake keeps the format it was made in: a folder with a milekit state beside it is a
Hive lake, one with ``_delta_log`` a Delta table. A new lake in object storage is a Delta
table (the Hive lake's renames and file lock need one machine's disk); a new local lake
is a Hive lake unless ``format="delta"`` (it needs no extra, and every reader reads a
folder of Parquet files). docs/lake.md says why.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq

from milekit.errors import UsageError
from milekit.files import delta_lake, delta_store, delta_versions, lake
from milekit.files.lake import DEFAULT_OVERLAP, LakeError, SyncResult
from milekit.reads.filters import encode_filters
from milekit.reads.table import empty_table
from milekit.types import registry, schema
from milekit.wire.client import Client
from milekit.wire.context import get_client

__all__ = ["lake_format", "lake_history", "read_lake", "sync"]

Format = Literal["parquet", "delta"]


def lake_format(
    path: str | os.PathLike[str],
    wanted: str | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> Format:
    """The format of the lake at ``path``: the one it has, else ``wanted``, else the
    default for where it is; a LakeError when ``wanted`` is not the one it has."""
    if wanted not in (None, "parquet", "delta"):
        raise UsageError(f"format is 'delta' or 'parquet', not {wanted!r}")
    if delta_store.is_remote(path):
        if wanted == "parquet":
            raise UsageError(
                f"{path}: the Hive Parquet lake is for one machine's disk; object storage "
                "takes format='delta'"
            )
        return "delta"
    has: Format | None = None
    if lake.has_state(path):
        has = "parquet"
    elif delta_store.is_delta(path, storage_options):
        has = "delta"
    if has is not None and wanted is not None and wanted != has:
        raise LakeError(f"{path} is a {has} lake, not {wanted}: it keeps its format")
    return has or ("delta" if wanted == "delta" else "parquet")


def sync(
    resource: str,
    path: str | os.PathLike[str],
    *,
    client: Client | None = None,
    full: bool = False,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    progress: bool | None = None,
    format: str | None = None,
    storage_options: Mapping[str, str] | None = None,
    retention: dt.timedelta | None = None,
    **filters: Any,
) -> SyncResult:
    """Bring the lake at ``path`` (a folder, or ``s3://``, ``gs://``, ``az://`` …) up to
    date with ``resource``: docs/lake.md.

    ``format``: ``"delta"`` or ``"parquet"`` for a new lake (an existing one keeps its
    own; object storage is always Delta). ``storage_options`` go to deltalake as they
    are (credentials otherwise come from the environment); they are never stored.
    ``retention`` (Delta): after the run, the files of versions older than that are
    vacuumed (those versions can no longer be read).
    """
    kind = lake_format(path, format, storage_options)
    if kind == "parquet":
        if storage_options or retention is not None:
            raise UsageError("storage_options and retention are for a Delta lake")
        return lake.sync(
            resource, path, client=client, full=full, overlap=overlap, progress=progress,
            **filters,
        )  # fmt: skip
    spec = registry.get(resource)
    params = encode_filters(spec.query, spec.rows, filters, spec.custom)
    if not isinstance(overlap, dt.timedelta) or overlap < dt.timedelta(0):
        raise UsageError(f"overlap must be a duration of zero or more, got {overlap!r}")
    return delta_lake.sync_delta(
        spec, str(path), params, client or get_client(), full=full, overlap=overlap,
        progress=progress, storage_options=storage_options, retention=retention,
    )  # fmt: skip


def read_lake(
    path: str | os.PathLike[str],
    *,
    version: int | None = None,
    as_of: dt.datetime | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The frame a lake holds, with the dtypes of the resource's frame; for a Delta lake,
    as the run that made ``version`` left it, or the last run before ``as_of``."""
    if lake_format(path, None, storage_options) == "parquet":
        if version is not None or as_of is not None:
            raise UsageError("a Hive Parquet lake keeps no versions: version= needs Delta")
        return _read_hive(Path(path))
    return delta_versions.read_delta(
        path, version=version, as_of=as_of, storage_options=storage_options
    )


def _read_hive(path: Path) -> pd.DataFrame:
    """A Hive lake's frame: its recorded files (the partition column is left out: it is
    the month of ``createdTime``)."""
    state = lake.LakeState.load(path)
    if state is None:
        raise LakeError(
            f"{path} has no state file ({lake.home_of(path).name}/{lake.STATE_FILE} beside "
            "it): not a lake written by milekit.sync"
        )
    spec = registry.get(state.resource)
    tables = [pq.read_table(str(path / name)) for name in sorted(state.partitions)]
    tables = [t.replace_schema_metadata(None) for t in tables]
    table = schema.unify(tables) if tables else empty_table(spec.rows)
    return schema.to_pandas(table, index=spec.id_field)


def lake_history(
    path: str | os.PathLike[str], *, storage_options: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The versions of a Delta lake: version, time (UTC), operation, rows added, changed
    and deleted, and whether it is a sync run (``run``)."""
    if lake_format(path, None, storage_options) == "parquet":
        raise UsageError(f"{path} is a Hive Parquet lake: it keeps no history (Delta does)")
    return delta_versions.delta_history(path, storage_options=storage_options)
