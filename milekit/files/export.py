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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from milekit._version import __version__
from milekit.errors import UsageError, need
from milekit.files.excel import check_directory, check_zone
from milekit.files.sink import Format, Sink, csv_safe_text, csv_unsafe_column
from milekit.notebook.progress import rows_progress
from milekit.reads.filters import encode_filters
from milekit.reads.inputs import as_frame
from milekit.reads.pages import iter_tables
from milekit.reads.plan import ReadPlan, frame_attrs, read_plan
from milekit.reads.table import ATTRS_KEY, RESOURCE_KEY, empty_table
from milekit.types import registry, schema
from milekit.types.registry import FieldType
from milekit.wire.client import Client
from milekit.wire.context import get_client

F = FieldType
SIDECAR_SUFFIX = ".schema.json"
#: the footer key of the index column of milekit's files
INDEX_KEY = b"milekit.index"


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
    if f == "xlsx":
        return "xlsx"
    raise UsageError(
        f"cannot tell the format of {str(path)!r}: use a .parquet, .csv or .xlsx suffix"
    )


def check_tz(tz: str | None, fmt: Format) -> str:
    """The zone an ``.xlsx`` workbook's datetimes are written in (default UTC); ``tz=``
    for any other format is a UsageError (Parquet and CSV keep UTC instants with their
    zone: there is nothing to convert).

    >>> check_tz(None, "xlsx"), check_tz("Asia/Jakarta", "xlsx")
    ('UTC', 'Asia/Jakarta')
    >>> check_tz("Asia/Jakarta", "parquet")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: tz= is for .xlsx workbooks (Excel has no time zones); ...
    """
    if fmt == "xlsx":
        return check_zone(tz or "UTC")
    if tz is not None:
        raise UsageError(
            f"tz= is for .xlsx workbooks (Excel has no time zones); a {fmt} file keeps "
            "datetimes as UTC instants with their zone: convert after reading instead"
        )
    return "UTC"


def export(
    resource: str,
    path: str | os.PathLike[str],
    *,
    client: Client | None = None,
    format: str | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    tz: str | None = None,
    csv_safe: bool = False,
    **filters: Any,
) -> ExportResult:
    """Write every row of ``resource`` matching ``filters`` to Parquet, CSV or Excel (by suffix).

    The file appears atomically (written beside it, then renamed), so a failed export
    never leaves half a file under the target name. An ``.xlsx`` workbook holds datetimes
    in ``tz`` (default UTC; :func:`milekit.to_excel` says how cells are written; text is
    always written as text, never as a formula) and continues on further sheets past
    Excel's 1,048,576 rows; ``tz=`` with Parquet or CSV (which keep UTC instants with
    their zone) is a UsageError.

    The directory the file goes in must exist (else a UsageError naming it, before
    anything is sent): no directory is ever created on the way.

    ``csv_safe=True`` (CSV only) quotes text cells a spreadsheet would run as a formula
    (starting with ``= + - @`` TAB or CR, OWASP's advice) with a leading ``'``: the file
    is then for people to open; :func:`read_csv` takes the quotes off again.
    """
    spec = registry.get(resource)
    target = check_directory(Path(path))
    fmt = format_of(target, format)
    tz = check_tz(tz, fmt)
    if fmt == "xlsx":  # before anything is sent
        need("openpyxl", "excel", "milekit.export to .xlsx")
    if csv_safe and fmt != "csv":
        raise UsageError(f"csv_safe= is for .csv files; {fmt} cells are never formulas")
    params = encode_filters(spec.query, spec.rows, filters, spec.custom)
    client = client or get_client()
    plan = read_plan(spec, params, client)  # custom columns typed from their definitions
    tmpdir = Path(tempfile.mkdtemp(prefix=".milekit-export-", dir=target.parent))
    try:
        out = tmpdir / ("out." + fmt)
        meta = file_metadata(spec, frame_attrs_of(spec, params, plan))
        sink = Sink(out, fmt, spec.id_field, meta, spill_dir=tmpdir,
                    empty_schema=plan.empty().schema, sheet=spec.name, tz=tz,
                    csv_safe=csv_safe)  # fmt: skip
        pages = 0
        for table in iter_tables(
            spec, params, client=client, progress=progress, limit=limit, plan=plan
        ):
            sink.write(table)
            pages += 1
        show = progress if sink.spilled else False  # else the file is written already
        with rows_progress(f"writing {target.name}", sink.rows_in, enabled=show) as bar:
            done = sink.finish(on_rows=bar)
        os.replace(out, target)
        if fmt == "csv":
            _write_sidecar(target, done.schema, spec, csv_safe)
        return ExportResult(
            target, fmt, done.rows, len(done.schema), done.duplicates_dropped, pages
        )
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


Attrs = Callable[[Sequence[str]], dict[str, Any]]


def file_metadata(
    spec: registry.ResourceSpec, attrs: Attrs | None = None
) -> Callable[[pa.Schema], dict[bytes, bytes]]:
    """The Parquet footer of a file of ``spec`` with a given schema: milekit's keys (the
    resource, the index, the frame's ``attrs`` when ``attrs`` gives them for its columns)
    and pandas' own (so plain ``pd.read_parquet`` restores the index and the dtypes)."""

    def meta(s: pa.Schema) -> dict[bytes, bytes]:
        return footer(s, spec.name, spec.id_field, attrs(s.names) if attrs is not None else None)

    return meta


def footer(
    s: pa.Schema, resource: str, index: str, attrs: Mapping[str, Any] | None = None
) -> dict[bytes, bytes]:
    """The footer of a milekit Parquet file of schema ``s``: the resource, the index
    column ("" for none), milekit's version, pandas' own entry and the frame's attrs."""
    out = {
        RESOURCE_KEY: resource.encode(),
        INDEX_KEY: index.encode(),
        b"milekit.version": __version__.encode(),
        b"pandas": schema.pandas_metadata(s, index or None),
    }
    if attrs is not None:
        out[ATTRS_KEY] = orjson.dumps(attrs, default=str)
    return out


def frame_attrs_of(spec: registry.ResourceSpec, params: Mapping[str, str], plan: ReadPlan) -> Attrs:
    return lambda columns: frame_attrs(spec, params, plan, columns)


def _write_sidecar(
    target: Path, s: pa.Schema, spec: registry.ResourceSpec, csv_safe: bool = False
) -> None:
    doc: dict[str, Any] = {
        "milekit": __version__,
        "resource": spec.name,
        "index": spec.id_field,
        "columns": [{"name": f.name, "type": (schema.meta_of(f)[0] or F.STRING).value} for f in s],
        "arrow_schema": base64.b64encode(s.serialize().to_pybytes()).decode(),
    }
    if csv_safe:  # text cells quoted against formulas: read_csv takes the quotes off
        doc["csv_safe"] = True
    Path(str(target) + SIDECAR_SUFFIX).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


# --- reading back ----------------------------------------------------------------------------


def read_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Parquet file written by milekit -> the same dtypes and values as the frame.

    Frames saved with ``df.to_parquet`` or :func:`to_parquet` read back too.
    """
    table = pq.read_table(str(path))
    meta = table.schema.metadata or {}
    index = meta.get(INDEX_KEY, b"").decode() or _pandas_index(meta, table.column_names)
    table = _documented_nulls(table, _documented(_resource_of(meta)))
    df = schema.to_pandas(table.replace_schema_metadata(None), index=index)
    if ATTRS_KEY in meta:
        df.attrs["milekit"] = orjson.loads(meta[ATTRS_KEY])
    return df


def _resource_of(meta: Mapping[bytes, bytes]) -> str:
    """The resource a file holds: milekit's footer, else the frame's attrs pandas' own
    writer kept (``df.to_parquet``)."""
    if RESOURCE_KEY in meta:
        return meta[RESOURCE_KEY].decode()
    try:
        attrs = orjson.loads(meta.get(b"PANDAS_ATTRS", b"{}")).get("milekit") or {}
        return str(attrs.get("resource") or attrs.get("view") or "")
    except (orjson.JSONDecodeError, AttributeError):
        return ""


def _documented_nulls(table: pa.Table, documented: pa.Schema | None) -> pa.Table:
    """Columns without a value and without milekit's type (a plain pandas file of a frame
    on a quiet day) take their documented API type: an empty Object column stays one."""
    if documented is None:
        return table
    fields, changed = list(table.schema), False
    for i, f in enumerate(fields):
        known = documented.field(f.name) if f.name in documented.names else None
        if pa.types.is_null(f.type) and not (f.metadata or {}).get(schema.META) and known:
            fields[i], changed = f.with_metadata(known.metadata), True
    if not changed:
        return table
    # the types are the same, only the fields' metadata changes: no cast (Arrow's cast
    # of a struct column with nulls can build an invalid array, pyarrow 26)
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))


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


def to_parquet(df: Any, path: str | os.PathLike[str], resource: str | None = None) -> Path:
    """Write a (possibly edited) milekit frame to Parquet, keeping its API types and its
    index (``milekit.read_parquet`` restores both).

    ``df``: a pandas frame, or what ``milekit.frame(to="arrow"|"polars")``,
    ``tasks_table()`` or ``dtype_backend="pyarrow"`` return (typed as the pandas frame
    would be); anything else is a ``TypeError``. ``resource`` defaults to the frame's own
    (a view's name for view frames), else tasks. The directory the file goes in must
    exist (else a UsageError naming it).
    """
    check_directory(Path(path))
    if not isinstance(df, pd.DataFrame):  # pandas frames (any dtypes) go as they are
        df = as_frame(df, "to_parquet", resource)
    meta = df.attrs.get("milekit") or {}
    if resource is not None:
        name = registry.get(resource).name
    else:
        name = str(meta.get("resource") or meta.get("view") or registry.DEFAULT_RESOURCE)
    index = df.index.name if isinstance(df.index.name, str) else ""
    table = schema.enum_ordered(schema.from_pandas(df, _documented(name)))
    kept = {k: v for k, v in meta.items() if k != "snapshot"}  # a token of this process
    file_meta = footer(table.schema, name, index, kept)
    pq.write_table(table.replace_schema_metadata(file_meta), str(path), compression="zstd")
    return Path(path)


def _documented(name: str) -> pa.Schema | None:
    """The documented columns of a resource, view or child table (their API types: an
    all-null Object column is not taken for text); None for a name of none of them."""
    rows = registry.rows_of(name)
    return empty_table(rows).schema if rows else None


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV file written by :func:`export` (with its sidecar) -> the typed frame.

    A file written with ``csv_safe=True`` reads back as exactly: its sidecar says so, and
    the quotes put before text cells (and names) are taken off.
    """
    side = Path(str(path) + SIDECAR_SUFFIX)
    if not side.exists():
        raise UsageError(f"{side} is missing: milekit.read_csv needs the schema sidecar")
    doc = orjson.loads(side.read_bytes())
    target = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(doc["arrow_schema"])))
    safe = bool(doc.get("csv_safe"))
    names = {f.name: csv_safe_text(f.name) if safe else f.name for f in target}
    convert = pacsv.ConvertOptions(
        column_types={names[f.name]: pa.string() for f in target},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )
    raw = pacsv.read_csv(str(path), convert_options=convert)
    cols = [_from_text(_as_written(raw.column(names[f.name]), f, safe), f) for f in target]
    table = pa.Table.from_arrays(cols, schema=target)
    return schema.to_pandas(table, index=doc.get("index"))


def _as_written(col: pa.ChunkedArray, f: pa.Field, safe: bool) -> pa.ChunkedArray:
    """A text column of a ``csv_safe`` file without the quotes it was given."""
    if safe and (pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)):
        return csv_unsafe_column(col)  # type: ignore[no-any-return]
    return col


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
