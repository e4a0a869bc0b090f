"""Export to Parquet and CSV, streaming page by page, and read the files back typed.

>>> import milekit, tempfile, os
>>> d = tempfile.mkdtemp()
>>> with milekit.Sandbox(tasks=25) as sb, milekit.Client(sb.token, sb.url) as c:
...     info = milekit.export("tasks", os.path.join(d, "t.parquet"), client=c, progress=False)
...     df = milekit.tasks_frame(client=c, progress=False)
>>> info.rows, milekit.read_parquet(info.path).dtypes.equals(df.dtypes)
(25, True)

Memory stays flat however many rows there are: each page is typed as it arrives and
spilled to a temporary Arrow IPC file; once every page is in (and the column set and
types are known — a custom field can first appear on page 300), the parts are streamed
into the final file one at a time, rows seen twice (offset pagination while data changes)
dropped. Only an 8-byte hash per row is kept in memory.

Parquet keeps native types (TIMESTAMP UTC, TIME, LIST, STRUCT; enums dictionary-encoded)
plus milekit's field metadata, so it opens in pandas, DuckDB and Polars, and
:func:`read_parquet` restores the exact dtypes. CSV writes lists and objects as JSON and
puts the Arrow schema in a sidecar ``<file>.schema.json`` that :func:`read_csv` uses.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from milekit._version import __version__
from milekit.notebook.progress import rows_progress
from milekit.reads.filters import encode_filters
from milekit.reads.frames import empty_table, iter_tables, read_plan
from milekit.types import registry, schema
from milekit.types.registry import FieldType
from milekit.wire.client import Client
from milekit.wire.context import get_client
from milekit.wire.errors import UsageError

F = FieldType
Format = Literal["parquet", "csv"]
SIDECAR_SUFFIX = ".schema.json"
#: rows per Parquet row group: pages are gathered up to this many before a write (one row
#: group per 1000-row page made 1000 tiny row groups and a 10 MB footer for 1M tasks)
ROW_GROUP_ROWS = 65_536


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote."""

    path: Path
    format: Format
    rows: int
    columns: int
    duplicates_dropped: int
    pages: int


def format_of(path: Path, fmt: str | None) -> Format:
    f = (fmt or path.suffix.lstrip(".")).lower()
    if f in ("parquet", "pq"):
        return "parquet"
    if f == "csv":
        return "csv"
    raise UsageError(f"cannot tell the format of {str(path)!r}: use a .parquet or .csv suffix")


def export(
    resource: str,
    path: str | os.PathLike[str],
    *,
    client: Client | None = None,
    format: str | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    **filters: Any,
) -> ExportResult:
    """Write every row of ``resource`` matching ``filters`` to Parquet or CSV (by suffix).

    The file appears atomically (written beside it, then renamed), so a failed export
    never leaves half a file under the target name.
    """
    spec = registry.get(resource)
    target = Path(path)
    fmt = format_of(target, format)
    params = encode_filters(spec.query, spec.rows, filters, spec.custom)
    client = client or get_client()
    plan = read_plan(spec, params, client)  # custom columns typed from their definitions
    target.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".milekit-export-", dir=target.parent))
    try:
        parts: list[Path] = []
        hashes: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        schemas: list[pa.Schema] = []
        fetched = 0
        for i, table in enumerate(
            iter_tables(spec, params, client=client, progress=progress, limit=limit, plan=plan)
        ):
            part = tmpdir / f"part-{i:06d}.arrow"
            with pa.OSFile(str(part), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
            parts.append(part)
            schemas.append(table.schema)
            hashes.append(_id_hashes(table, spec.id_field))
            fetched += table.num_rows
        keep = _keep_masks(parts, hashes, spec.id_field)
        del hashes
        dropped = int(sum((~k).sum() for k in keep if k is not None))
        if not any(len(s) for s in schemas):  # no rows: the columns there would have been
            schemas = [empty_table(plan.rows, plan.columns).schema]
        final_schema = schema.unified_schema(schemas)
        out = tmpdir / ("out." + fmt)
        with rows_progress(f"writing {target.name}", fetched - dropped, enabled=progress) as bar:
            tables = _conformed(parts, keep, final_schema, on_table=bar)
            rows = _write(out, fmt, final_schema, tables, spec)
        os.replace(out, target)
        if fmt == "csv":
            _write_sidecar(target, final_schema, spec)
        return ExportResult(target, fmt, rows, len(final_schema), dropped, len(parts))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _id_hashes(table: pa.Table, id_field: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    if id_field not in table.column_names:
        return np.empty(0, dtype=np.int64)
    ids = table.column(id_field).to_pylist()
    return np.fromiter((hash(x) for x in ids), dtype=np.int64, count=len(ids))


def _keep_masks(
    parts: list[Path], hashes: list[np.ndarray[Any, np.dtype[np.int64]]], id_field: str
) -> list[np.ndarray[Any, np.dtype[np.bool_]] | None]:
    """Per part, which rows to keep (first occurrence of each id wins); None = all."""
    keep: list[np.ndarray[Any, np.dtype[np.bool_]] | None] = [None] * len(parts)
    if not hashes or not sum(len(h) for h in hashes):
        return keep
    allh = np.concatenate(hashes)
    _, first, counts = np.unique(allh, return_index=True, return_counts=True)
    if (counts == 1).all():
        return keep
    # Candidate duplicates by hash: confirm on the real ids (a 64-bit collision must not
    # drop a row).
    offsets = np.cumsum([0] + [len(h) for h in hashes])
    dup_hashes = set(np.unique(allh)[counts > 1].tolist())
    positions = [i for i, h in enumerate(allh.tolist()) if h in dup_hashes]
    seen: set[Any] = set()
    drop: set[int] = set()
    ids_cache: dict[int, list[Any]] = {}
    for pos in positions:  # ascending: first occurrence is kept
        p = int(np.searchsorted(offsets, pos, side="right") - 1)
        if p not in ids_cache:
            with pa.memory_map(str(parts[p])) as src:
                ids_cache[p] = pa.ipc.open_file(src).read_all().column(id_field).to_pylist()
        rid = ids_cache[p][pos - offsets[p]]
        if rid in seen:
            drop.add(pos)
        else:
            seen.add(rid)
    del first
    for pos in drop:
        p = int(np.searchsorted(offsets, pos, side="right") - 1)
        mask = keep[p]
        if mask is None:
            mask = keep[p] = np.ones(len(hashes[p]), dtype=bool)
        mask[pos - offsets[p]] = False
    return keep


def _conformed(
    parts: list[Path],
    keep: list[np.ndarray[Any, np.dtype[np.bool_]] | None],
    target: pa.Schema,
    on_table: Callable[[int], None] | None = None,
) -> Iterator[pa.Table]:
    for part, mask in zip(parts, keep, strict=True):
        with pa.memory_map(str(part)) as src:
            table = pa.ipc.open_file(src).read_all()
        if mask is not None:
            table = table.filter(pa.array(mask))
        yield schema.conform(table, target)
        if on_table is not None:
            on_table(table.num_rows)  # after the writer took it


def _file_metadata(spec: registry.ResourceSpec) -> dict[bytes, bytes]:
    return {
        b"milekit.resource": spec.name.encode(),
        b"milekit.index": spec.id_field.encode(),
        b"milekit.version": __version__.encode(),
    }


def _write(
    out: Path,
    fmt: Format,
    target: pa.Schema,
    tables: Iterable[pa.Table],
    spec: registry.ResourceSpec,
) -> int:
    rows = 0
    if fmt == "parquet":
        file_schema = target.with_metadata(_file_metadata(spec))
        with pq.ParquetWriter(str(out), file_schema, compression="zstd") as w:
            for group in _row_groups(tables, ROW_GROUP_ROWS):
                w.write_table(
                    group.replace_schema_metadata(file_schema.metadata),
                    row_group_size=ROW_GROUP_ROWS,
                )
                rows += group.num_rows
        return rows
    csv_schema = pa.schema([pa.field(f.name, pa.string()) for f in target])
    with pacsv.CSVWriter(
        str(out), csv_schema, write_options=pacsv.WriteOptions(quoting_style="all_valid")
    ) as w:
        for t in tables:
            w.write_table(_csv_text(t, csv_schema))
            rows += t.num_rows
    return rows


def _row_groups(tables: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """Page tables gathered into tables of ``size`` rows (the last one shorter); memory
    holds at most one group's pages, whatever the number of rows.

    >>> t = pa.table({"a": [1, 2, 3]})
    >>> [g.num_rows for g in _row_groups([t] * 5, 7)]
    [7, 7, 1]
    """
    held: list[pa.Table] = []
    count = 0
    for t in tables:
        held.append(t)
        count += t.num_rows
        while count >= size:
            joined = pa.concat_tables(held)
            yield joined.slice(0, size)
            rest = joined.slice(size)
            held, count = ([rest] if rest.num_rows else []), rest.num_rows
    if count:
        yield pa.concat_tables(held)


def _csv_text(table: pa.Table, csv_schema: pa.Schema) -> pa.Table:
    """Every column as text: nested values as JSON, timestamps as ISO 8601 with Z."""
    cols = []
    for f, col in zip(table.schema, table.columns, strict=True):
        t = f.type
        if pa.types.is_nested(t):
            cols.append(
                pa.array(
                    [None if v is None else orjson.dumps(v).decode() for v in col.to_pylist()],
                    pa.string(),
                )
            )
        elif pa.types.is_timestamp(t):
            cols.append(pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ"))
        elif pa.types.is_dictionary(t):
            cols.append(col.cast(pa.string()))
        elif pa.types.is_null(t):
            cols.append(pa.nulls(len(col), pa.string()))
        else:
            cols.append(pc.cast(col, pa.string()))
    return pa.Table.from_arrays(cols, schema=csv_schema)


def _write_sidecar(target: Path, s: pa.Schema, spec: registry.ResourceSpec) -> None:
    doc = {
        "milekit": __version__,
        "resource": spec.name,
        "index": spec.id_field,
        "columns": [{"name": f.name, "type": (schema.meta_of(f)[0] or F.STRING).value} for f in s],
        "arrow_schema": base64.b64encode(s.serialize().to_pybytes()).decode(),
    }
    Path(str(target) + SIDECAR_SUFFIX).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


# --- reading back ----------------------------------------------------------------------------


def read_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Parquet file written by milekit -> the same dtypes and values as the frame.

    Frames saved with ``df.to_parquet`` or :func:`to_parquet` read back too.
    """
    table = pq.read_table(str(path))
    meta = table.schema.metadata or {}
    index = meta.get(b"milekit.index", b"").decode() or _pandas_index(meta, table.column_names)
    return schema.to_pandas(table.replace_schema_metadata(None), index=index)


def _pandas_index(meta: Mapping[bytes, bytes], columns: Sequence[str]) -> str | None:
    """The one named index column pandas' own writer recorded (``df.to_parquet``), if any.

    >>> _pandas_index({b"pandas": b'{"index_columns": ["_id"]}'}, ["_id", "title"])
    '_id'
    """
    try:
        names = orjson.loads(meta.get(b"pandas", b"{}")).get("index_columns") or []
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if len(names) == 1 and isinstance(names[0], str) and names[0] in columns:
        return str(names[0])
    return None


def to_parquet(df: pd.DataFrame, path: str | os.PathLike[str], resource: str | None = None) -> Path:
    """Write a (possibly edited) milekit frame to Parquet, keeping its API types and its
    index (``milekit.read_parquet`` restores both).

    ``resource`` defaults to the frame's own (a view's name for view frames), else tasks.
    """
    meta = df.attrs.get("milekit") or {}
    if resource is not None:
        name = registry.get(resource).name
    else:
        name = str(meta.get("resource") or meta.get("view") or registry.DEFAULT_RESOURCE)
    index = df.index.name if isinstance(df.index.name, str) else ""
    table = schema.from_pandas(df)
    file_meta = {
        b"milekit.resource": name.encode(),
        b"milekit.index": index.encode(),
        b"milekit.version": __version__.encode(),
    }
    pq.write_table(table.replace_schema_metadata(file_meta), str(path), compression="zstd")
    return Path(path)


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV file written by :func:`export` (with its sidecar) -> the typed frame."""
    side = Path(str(path) + SIDECAR_SUFFIX)
    if not side.exists():
        raise UsageError(f"{side} is missing: milekit.read_csv needs the schema sidecar")
    doc = orjson.loads(side.read_bytes())
    target = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(doc["arrow_schema"])))
    convert = pacsv.ConvertOptions(
        column_types={f.name: pa.string() for f in target},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )
    raw = pacsv.read_csv(str(path), convert_options=convert)
    cols = [_from_text(raw.column(f.name), f) for f in target]
    table = pa.Table.from_arrays(cols, schema=target)
    return schema.to_pandas(table, index=doc.get("index"))


def _from_text(col: pa.ChunkedArray, f: pa.Field) -> pa.Array:
    t = f.type
    text = col.combine_chunks()
    if pa.types.is_string(t):
        return text
    if pa.types.is_nested(t):
        return pa.array([None if v is None else orjson.loads(v) for v in text.to_pylist()], t)
    if pa.types.is_timestamp(t):
        return schema.parse_datetimes(text.to_pylist())
    if pa.types.is_time(t):
        return schema.parse_times(text.to_pylist())
    if pa.types.is_dictionary(t):
        return text.dictionary_encode()
    if pa.types.is_null(t):
        return pa.nulls(len(text))
    return pc.cast(text, t)
