"""Where a Delta lake lives: a local path or object storage, the storage options deltalake
is given, opening the table, and credentials kept out of every error text.

>>> table_uri("s3://bucket/lake/tasks"), options_for("s3://bucket/lake/tasks", None)
('s3://bucket/lake/tasks', {'conditional_put': 'etag'})
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from milekit.errors import need
from milekit.files.lake import LakeError

__all__ = [
    "clean",
    "deltalake_module",
    "is_delta",
    "is_remote",
    "open_table",
    "options_for",
    "table_uri",
]

#: URI schemes of object storage (deltalake's own object store layer reads them)
REMOTE = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://")


def is_remote(uri: str | os.PathLike[str]) -> bool:
    """Whether ``uri`` names object storage rather than a local path.

    >>> is_remote("s3://bucket/lake/tasks"), is_remote("lake/tasks")
    (True, False)
    """
    return str(uri).startswith(REMOTE)


def table_uri(uri: str | os.PathLike[str]) -> str:
    """What deltalake is given: a URI as it is, a local path made absolute."""
    return str(uri) if is_remote(uri) else os.path.abspath(uri)


def options_for(uri: str, given: Mapping[str, str] | None) -> dict[str, str]:
    """``storage_options`` for deltalake: on S3, commits by a conditional put (S3 and the
    S3-compatible stores that support ``If-None-Match``), unless given otherwise.

    >>> options_for("s3://b/t", None)
    {'conditional_put': 'etag'}
    """
    out = {"conditional_put": "etag"} if uri.startswith(("s3://", "s3a://")) else {}
    return {**out, **dict(given or {})}


def is_delta(uri: str | os.PathLike[str], options: Mapping[str, str] | None = None) -> bool:
    """Whether a Delta table is at ``uri`` (locally: its ``_delta_log`` folder)."""
    if not is_remote(uri):
        return (Path(uri) / "_delta_log").is_dir()
    dl = deltalake_module()
    return bool(dl.DeltaTable.is_deltatable(table_uri(uri), options_for(str(uri), options)))


def deltalake_module() -> Any:
    """The ``deltalake`` module, or :class:`~milekit.errors.MissingExtraError` naming the
    extra that brings it."""
    return need("deltalake", "lake", "a Delta lake (milekit.sync to object storage)")


def open_table(uri: str, options: dict[str, str], version: int | None = None) -> Any:
    """The table at ``uri``, or None when there is none; an error without credentials."""
    dl = deltalake_module()
    try:
        if not dl.DeltaTable.is_deltatable(uri, options):
            return None
        return dl.DeltaTable(uri, version=version, storage_options=options)
    except (OSError, dl.exceptions.DeltaError) as e:
        raise LakeError(f"cannot open the Delta table at {uri}: {clean(e, options)}") from None


def clean(error: BaseException, options: Mapping[str, str]) -> str:
    """An error's text with every credential it could repeat taken out."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    secrets = [v for v in options.values() if len(v) >= 6]
    secrets += [v for k, v in os.environ.items() if _secret(k) and len(v) >= 6]
    for s in secrets:
        text = text.replace(s, "***")
    return text[:300]


def _secret(key: str) -> bool:
    k = key.upper()
    return any(w in k for w in ("SECRET", "TOKEN", "PASSWORD", "KEY", "SAS", "CREDENTIAL"))
