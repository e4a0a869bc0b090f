"""The streaming sink behind export() and sync(): Parquet written while pages arrive, and
the two things only the end can tell (a page that does not fit, a repeated id) handled by
a rewrite that loses and doubles nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from milekit.files import sink as sink_mod
from milekit.files.sink import Sink, batches_of
from milekit.types import schema
from milekit.types.registry import FieldType


def _field(name: str, t: pa.DataType, ft: FieldType) -> pa.Field:
    return pa.field(name, t, metadata=schema.field_meta(ft))


def _page(ids: list[str], extra: dict[str, list[object]] | None = None) -> pa.Table:
    cols = {"_id": pa.array(ids), "n": pa.array(range(len(ids)), pa.int64())}
    fields = [
        _field("_id", pa.string(), FieldType.STRING),
        _field("n", pa.int64(), FieldType.INTEGER),
    ]
    for k, v in (extra or {}).items():
        cols[k] = pa.array(v, pa.string())
        fields.append(_field(k, pa.string(), FieldType.STRING))
    return pa.Table.from_pydict(cols, schema=pa.schema(fields))


def _sink(tmp_path: Path, fmt: str = "parquet") -> Sink:
    return Sink(
        tmp_path / f"out.{fmt}",
        fmt,
        "_id",
        lambda s: {b"milekit.resource": b"x"},
        spill_dir=tmp_path,
    )  # type: ignore[arg-type]


def test_pages_that_fit_are_written_as_they_come_without_a_rewrite(tmp_path: Path) -> None:
    s = _sink(tmp_path)
    for i in range(5):
        s.write(_page([f"{i}-{j}" for j in range(3)]))
    done = s.finish()
    assert (done.rows, done.duplicates_dropped, done.rewritten) == (15, 0, False)
    f = pq.ParquetFile(s.path)
    assert f.metadata.num_rows == 15 and f.schema_arrow.metadata[b"milekit.resource"] == b"x"
    assert list(tmp_path.iterdir()) == [s.path]  # nothing spilled


def test_a_column_that_first_appears_late_is_kept_and_earlier_rows_get_nulls(
    tmp_path: Path,
) -> None:
    s = _sink(tmp_path)
    s.write(_page(["a", "b"]))
    s.write(_page(["c"], {"note": ["late"]}))
    s.write(_page(["d"]))
    done = s.finish()
    assert done.rewritten and done.rows == 4
    t = pq.read_table(s.path)
    assert t["_id"].to_pylist() == ["a", "b", "c", "d"]
    assert t["note"].to_pylist() == [None, None, "late", None]
    assert schema.meta_of(t.schema.field("note"))[0] == FieldType.STRING
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]  # spills removed


def test_a_page_missing_columns_still_fits_without_a_rewrite(tmp_path: Path) -> None:
    s = _sink(tmp_path)
    s.write(_page(["a"], {"note": ["x"]}))
    s.write(_page(["b"]))  # no note on this page: nulls, same file
    done = s.finish()
    assert not done.rewritten
    assert pq.read_table(s.path)["note"].to_pylist() == ["x", None]


def test_a_repeated_id_is_dropped_once_whichever_path_the_page_took(tmp_path: Path) -> None:
    s = _sink(tmp_path)
    s.write(_page(["a", "b"]))
    s.write(_page(["b", "c"], {"note": ["again", "c"]}))  # repeat on a spilled page
    s.write(_page(["c", "d"]))
    done = s.finish()
    assert (done.rows, done.duplicates_dropped) == (4, 2)
    t = pq.read_table(s.path)
    assert t["_id"].to_pylist() == ["a", "b", "c", "d"]
    assert t["note"].to_pylist() == [None, None, "c", None]  # first occurrence wins


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_no_rows_gives_a_file_with_the_expected_columns(tmp_path: Path, fmt: str) -> None:
    empty = _page([]).schema
    s = Sink(
        tmp_path / f"o.{fmt}", fmt, "_id", lambda s: {}, spill_dir=tmp_path, empty_schema=empty
    )  # type: ignore[arg-type]
    done = s.finish()
    assert done.rows == 0 and done.schema.names == ["_id", "n"]
    assert s.path.exists()


def test_row_groups_are_whole_whatever_the_page_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sink_mod, "ROW_GROUP_ROWS", 4)
    s = _sink(tmp_path)
    for i in range(4):
        s.write(_page([f"{i}-{j}" for j in range(3)]))
    s.finish()
    meta = pq.ParquetFile(s.path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4, 4, 4]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_pages_without_the_id_column_are_counted_and_kept(tmp_path: Path, fmt: str) -> None:
    """Rows are counted per page, not per id hash: a page without the id column (a
    projection that leaves it out) still counts its rows, and none is taken for a repeat."""
    s = _sink(tmp_path, fmt)
    s.write(_page(["a", "b"]))
    s.write(_page(["x", "y", "z"]).drop_columns(["_id"]))
    s.write(_page(["b", "c"]))  # "b" again: the one real repeat
    s.write(_page(["u", "v", "w"]).drop_columns(["_id"]))  # rows without ids never repeat
    assert s.rows_in == 10
    done = s.finish()
    assert (done.rows, done.duplicates_dropped) == (9, 1)


def test_a_scratch_file_is_read_back_one_row_group_at_a_time(tmp_path: Path) -> None:
    """Read through Arrow's iter_batches with its default pre-buffering, a scratch file's
    bytes stayed in memory until the end: the lake runs' peak grew with the table (+220 MB
    at 1M tasks). batches_of holds about one row group (1 MB here) of a 20 MB file."""
    path = tmp_path / "scratch.parquet"
    t = pa.table({"x": pa.array([os.urandom(50).hex() for _ in range(200_000)])})
    pq.write_table(t, path, row_group_size=10_000, compression="none")
    del t
    size = path.stat().st_size
    held, rows = 0, 0
    for b in batches_of(path, 1000):
        held, rows = max(held, pa.total_allocated_bytes()), rows + b.num_rows
    assert rows == 200_000
    assert held < size / 5  # default iter_batches: the whole file (21 of 20 MB)
