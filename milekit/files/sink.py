"""Typed page tables into one Parquet or CSV file, as they arrive, in flat memory.

>>> import tempfile, pyarrow as pa
>>> d = Path(tempfile.mkdtemp())
>>> sink = Sink(d / "out.parquet", "parquet", "_id", lambda s: {}, spill_dir=d)
>>> for ids in (["a", "b"], ["b", "c"]):  # offset pagination can repeat a row
...     sink.write(pa.table({"_id": ids, "n": [1, 2]}))
>>> done = sink.finish()
>>> done.rows, done.duplicates_dropped, pq.read_table(d / "out.parquet")["_id"].to_pylist()
(3, 1, ['a', 'b', 'c'])

Parquet is written while the pages come (row groups of :data:`ROW_GROUP_ROWS` rows), so
the file is ready when the last page is in: exporting costs what fetching costs. Two
things can only be known at the end, and each sends the sink down a slower, still
flat-memory path:

- a page whose columns do not fit the file's schema (a custom field that first appears on
  page 300, a column null so far that gets values): from then on pages are spilled to
  temporary Arrow IPC files, and at the end the file and the spills are streamed into a new
  file of the unified schema;
- a row id seen twice (offset pagination while the data changes): only an 8-byte hash per
  row is kept; repeats are confirmed on the real ids and the file rewritten without them.

CSV has no schema to fit, only text, and an Excel sheet's header comes first: their pages
are always spilled and written at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from milekit.files.excel import write_workbook
from milekit.types import schema

Format = Literal["parquet", "csv", "xlsx"]
Hashes = np.ndarray[Any, np.dtype[np.int64]]
Mask = np.ndarray[Any, np.dtype[np.bool_]]
#: rows per Parquet row group: pages are gathered up to this many before a write (one row
#: group per 1000-row page made 1000 tiny row groups and a 10 MB footer for 1M tasks)
ROW_GROUP_ROWS = 65_536


@dataclass(frozen=True)
class Written:
    """What :meth:`Sink.finish` wrote."""

    rows: int
    schema: pa.Schema
    duplicates_dropped: int
    rewritten: bool


def batches_of(
    path: Path, batch: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """A local Parquet file ``batch`` rows at a time, holding one row group's bytes at a
    time: with Arrow's default ``pre_buffer`` a file read through ``iter_batches`` kept the
    bytes of every row group it had read until the end (+220 MB for the 153 MB scratch
    file of a 1M-task run, +39 MB at 200k: the run's peak grew with the table).

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pq.write_table(pa.table({"a": range(5)}), f)
    >>> [b.num_rows for b in batches_of(f, 2)]
    [2, 2, 1]
    """
    f = pq.ParquetFile(str(path), pre_buffer=False)
    yield from f.iter_batches(batch_size=batch, columns=columns, use_threads=False)


class Segment:
    """Rows already written somewhere: a Parquet file (read row group by row group) or one
    spilled Arrow IPC file."""

    def __init__(self, path: Path, parquet: bool) -> None:
        self.path, self.parquet = path, parquet

    def tables(self) -> Iterator[pa.Table]:
        if self.parquet:
            f = pq.ParquetFile(str(self.path))
            for i in range(f.num_row_groups):
                yield f.read_row_group(i)
            return
        with pa.memory_map(str(self.path)) as src:
            yield pa.ipc.open_file(src).read_all()

    def ids(self, id_field: str) -> list[Any]:
        """The rows' ids in order (None for a row without one)."""
        if self.parquet:
            f = pq.ParquetFile(str(self.path))
            if id_field not in f.schema_arrow.names:
                return [None] * f.metadata.num_rows
            col = f.read(columns=[id_field])[id_field]
        else:
            with pa.memory_map(str(self.path)) as src:
                table = pa.ipc.open_file(src).read_all()
            if id_field not in table.column_names:
                return [None] * table.num_rows
            col = table.column(id_field)
        return list(col.to_pylist())


class Sink:
    """One output file, fed typed page tables (:meth:`write`), closed by :meth:`finish`.

    ``path`` is written in place: give a temporary name and rename it when finished.
    ``metadata(schema)`` is what goes into the Parquet footer of a file of that schema.
    ``spill_dir`` holds the spills. ``empty_schema`` (or a function that gives it, asked
    only then) is the file's schema when no page had a column.
    """

    def __init__(
        self,
        path: Path,
        fmt: Format,
        id_field: str,
        metadata: Callable[[pa.Schema], Mapping[bytes, bytes]],
        *,
        spill_dir: Path,
        empty_schema: pa.Schema | Callable[[], pa.Schema] | None = None,
        sheet: str = "Sheet1",
        tz: str = "UTC",
        csv_safe: bool = False,
    ) -> None:
        self.sheet, self.tz, self.csv_safe = sheet, tz, csv_safe
        self.path, self.fmt, self.id_field = path, fmt, id_field
        self._meta = metadata
        self._spill_dir = spill_dir
        self._empty = empty_schema
        self._writer: pq.ParquetWriter | None = None
        self._held: list[pa.Table] = []
        self.held_rows = 0
        self._hashes: list[Hashes] = []
        self._segments: list[Segment] = []
        self._schemas: list[pa.Schema] = []

    @property
    def spilled(self) -> bool:
        """Whether :meth:`finish` will write the file again from spills (CSV always)."""
        return any(not seg.parquet for seg in self._segments)

    @property
    def rows_in(self) -> int:
        """Rows taken so far (repeats included)."""
        return sum(len(h) for h in self._hashes)

    def write(self, table: pa.Table) -> None:
        """Take one page (any number of rows; empty pages only lend their columns)."""
        self._schemas.append(table.schema)
        if not table.num_rows:
            return
        self._hashes.append(_id_hashes(table, self.id_field))
        table = schema.enum_ordered(table)
        if self.fmt == "parquet" and len(self._segments) <= 1:
            fitted = self._fitted(table)
            if fitted is not None:
                self._held.append(fitted)
                self.held_rows += fitted.num_rows
                if self.held_rows >= ROW_GROUP_ROWS:
                    self.flush(whole_groups=True)
                return
        self._spill(table)

    def _fitted(self, table: pa.Table) -> pa.Table | None:
        """``table`` in the file's schema, or None when it does not fit it."""
        if self._writer is None and not self._segments:
            s = table.schema.with_metadata(self._meta(table.schema))
            self._writer = pq.ParquetWriter(str(self.path), s, compression="zstd")
            self._segments.append(Segment(self.path, parquet=True))
        if self._writer is None:
            return None
        target = self._writer.schema
        bare = target.remove_metadata()
        if table.schema.remove_metadata().equals(bare, check_metadata=True):
            return table.replace_schema_metadata(target.metadata)
        if not schema.unified_schema([bare, table.schema]).equals(bare, check_metadata=True):
            self.flush()  # from here on every page is spilled, in order
            self._writer.close()
            self._writer = None
            return None
        return schema.conform(table, bare).replace_schema_metadata(target.metadata)

    def flush(self, whole_groups: bool = False) -> None:
        """Write the held pages: all of them as one row group (a caller short of memory
        may ask), or with ``whole_groups`` as many full row groups as they make."""
        if not self._held or self._writer is None:
            self._held, self.held_rows = [], 0
            return
        held = pa.concat_tables(self._held)
        size = ROW_GROUP_ROWS if whole_groups else max(held.num_rows, 1)
        while held.num_rows >= size:
            self._writer.write_table(held.slice(0, size), row_group_size=size)
            held = held.slice(size)
        self._held, self.held_rows = ([held] if held.num_rows else []), held.num_rows

    def _spill(self, table: pa.Table) -> None:
        part = self._spill_dir / f"{self.path.name}.{len(self._segments):06d}.arrow"
        with pa.OSFile(str(part), "wb") as out, pa.ipc.new_file(out, table.schema) as w:
            w.write_table(table)
        self._segments.append(Segment(part, parquet=False))

    def finish(self, on_rows: Callable[[int], None] | None = None) -> Written:
        """Close the file: rows written, the schema, repeats dropped, whether it was
        rewritten (``on_rows`` is told the rows of a rewrite as they go)."""
        self.flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        keep = _keep_masks(self._segments, self._hashes, self.id_field)
        dropped = int(sum(int((~k).sum()) for k in keep if k is not None))
        rows = sum(len(h) for h in self._hashes) - dropped
        only_file = len(self._segments) == 1 and self._segments[0].parquet
        if only_file and not dropped:
            return Written(rows, pq.read_schema(str(self.path)), 0, False)
        target = self._unified()
        out = self._spill_dir / f"{self.path.name}.rewrite"
        tables = _conformed(self._segments, keep, target, on_rows)
        if self.fmt == "xlsx":
            write_workbook(out, [(self.sheet, target, tables)], self.tz)
        else:
            _write(out, self.fmt, target.with_metadata(self._meta(target)), tables, self.csv_safe)
        for seg in self._segments:
            if not seg.parquet:
                seg.path.unlink(missing_ok=True)
        os.replace(out, self.path)
        return Written(rows, target, dropped, True)

    def _unified(self) -> pa.Schema:
        schemas = [s for s in self._schemas if len(s)]
        if not schemas:
            empty = self._empty() if callable(self._empty) else self._empty
            return empty if empty is not None else pa.schema([])
        return schema.unified_schema(schemas)


def _id_hashes(table: pa.Table, id_field: str) -> Hashes:
    """One hash per row (the row count of the page is its length): of the id, or of the
    row's position when the page has no id column (a candidate never confirmed, below)."""
    if id_field not in table.column_names:
        return np.arange(table.num_rows, dtype=np.int64)
    ids = table.column(id_field).to_pylist()
    return np.fromiter((hash(x) for x in ids), dtype=np.int64, count=len(ids))


def _keep_masks(segments: list[Segment], hashes: list[Hashes], id_field: str) -> list[Mask | None]:
    """Per segment, which rows to keep (first occurrence of each id wins); None = all."""
    keep: list[Mask | None] = [None] * len(segments)
    allh = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.int64)
    if not len(allh):
        return keep
    uniq, counts = np.unique(allh, return_counts=True)
    if (counts == 1).all():
        return keep
    sizes = _segment_sizes(segments, hashes)
    offsets = np.cumsum([0, *sizes])
    # Candidate repeats by hash, confirmed on the real ids (a 64-bit collision must not
    # drop a row).
    dup = set(uniq[counts > 1].tolist())
    seen: set[Any] = set()
    ids_cache: dict[int, list[Any]] = {}
    for pos in (i for i, h in enumerate(allh.tolist()) if h in dup):  # ascending
        s = int(np.searchsorted(offsets, pos, side="right") - 1)
        if s not in ids_cache:
            ids_cache[s] = segments[s].ids(id_field)
        rid = ids_cache[s][pos - offsets[s]]
        if rid is None:
            continue  # a row without an id repeats nothing
        if rid not in seen:
            seen.add(rid)
            continue
        mask = keep[s]
        if mask is None:
            mask = keep[s] = np.ones(sizes[s], dtype=bool)
        mask[pos - offsets[s]] = False
    return keep


def _segment_sizes(segments: list[Segment], hashes: list[Hashes]) -> list[int]:
    """Rows per segment: the file holds every page before the first spill."""
    spilled = sum(1 for s in segments if not s.parquet)
    sizes = [len(h) for h in hashes]
    if segments and segments[0].parquet:
        head = len(sizes) - spilled
        return [sum(sizes[:head]), *sizes[head:]]
    return sizes


def _conformed(
    segments: list[Segment],
    keep: list[Mask | None],
    target: pa.Schema,
    on_rows: Callable[[int], None] | None,
) -> Iterator[pa.Table]:
    for seg, mask in zip(segments, keep, strict=True):
        at = 0
        for table in seg.tables():
            n = table.num_rows
            if mask is not None:
                table = table.filter(pa.array(mask[at : at + n]))
            at += n
            yield schema.conform(table.replace_schema_metadata(None), target)
            if on_rows is not None:
                on_rows(table.num_rows)


def _write(
    out: Path, fmt: Format, target: pa.Schema, tables: Iterable[pa.Table], csv_safe: bool = False
) -> None:
    if fmt == "parquet":
        with pq.ParquetWriter(str(out), target, compression="zstd") as w:
            for group in row_groups(tables, ROW_GROUP_ROWS):
                w.write_table(group.replace_schema_metadata(target.metadata))
        return
    names = [csv_safe_text(f.name) if csv_safe else f.name for f in target]
    csv_schema = pa.schema([pa.field(n, pa.string()) for n in names])
    with pacsv.CSVWriter(
        str(out), csv_schema, write_options=pacsv.WriteOptions(quoting_style="all_valid")
    ) as w:
        for t in tables:
            w.write_table(csv_text(t, csv_schema, csv_safe))


def row_groups(
    tables: Iterable[pa.Table],
    size: int,
    join: Callable[[list[pa.Table]], pa.Table] = pa.concat_tables,
) -> Iterator[pa.Table]:
    """Page tables gathered into tables of ``size`` rows (the last one shorter), each made
    by ``join`` (tables whose columns differ: :func:`milekit.types.schema.unify`); memory
    holds at most one group's pages, whatever the number of rows.

    >>> t = pa.table({"a": [1, 2, 3]})
    >>> [g.num_rows for g in row_groups([t] * 5, 7)]
    [7, 7, 1]
    """
    held: list[pa.Table] = []
    count = 0
    for t in tables:
        held.append(t)
        count += t.num_rows
        while count >= size:
            joined = join(held)
            yield joined.slice(0, size)
            rest = joined.slice(size)
            held, count = ([rest] if rest.num_rows else []), rest.num_rows
    if count:
        yield join(held)


#: a cell a spreadsheet runs as a formula starts with one of ``= + - @`` TAB CR (OWASP);
#: ``csv_safe`` quotes those, and those starting with the quote itself (so it can be undone)
CSV_RISKY = r"^([=+\-@\t\r'])"


def csv_safe_text(text: str) -> str:
    """``text`` as ``csv_safe`` writes it.

    >>> csv_safe_text("=1+1"), csv_safe_text("'x"), csv_safe_text("a-b")
    ("'=1+1", "''x", 'a-b')
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "'") else text


def csv_safe_column(col: pa.ChunkedArray | pa.Array) -> Any:
    """A text column as ``csv_safe`` writes it (see :data:`CSV_RISKY`)."""
    return pc.replace_substring_regex(col, pattern=CSV_RISKY, replacement=r"'\1")


def csv_unsafe_column(col: pa.ChunkedArray | pa.Array) -> Any:
    """A text column of a ``csv_safe`` file as it was: one leading quote taken off."""
    return pc.replace_substring_regex(col, pattern="^'", replacement="")


def csv_text(table: pa.Table, csv_schema: pa.Schema, csv_safe: bool = False) -> pa.Table:
    """Every column as text: nested values as JSON, timestamps as ISO 8601 with Z; with
    ``csv_safe`` text cells a spreadsheet would run as formulas quoted (numbers, times and
    JSON never start like a formula, and are left as they are)."""
    cols = []
    for f, col in zip(table.schema, table.columns, strict=True):
        t = f.type
        if csv_safe and (pa.types.is_string(t) or pa.types.is_dictionary(t)):
            cols.append(csv_safe_column(col.cast(pa.string())))
            continue
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
