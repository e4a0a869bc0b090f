"""to_parquet, to_excel and push take every frame milekit returns (issue 21, item 5):
Arrow tables (``frame(to="arrow")``, ``tasks_table()``), Polars frames and pyarrow-backed
pandas frames, or refuse with a TypeError naming what they take."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import milekit
from milekit.sandbox import Sandbox

EDIT = "edited outside pandas"


@pytest.fixture
def c(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as client:
        yield client


def _arrow(c: milekit.Client) -> Any:
    return milekit.frame("tasks", client=c, to="arrow", progress=False)


def _table(c: milekit.Client) -> Any:
    return milekit.tasks_table(client=c, progress=False)


def _polars(c: milekit.Client) -> Any:
    return milekit.frame("tasks", client=c, to="polars", progress=False)


def _pyarrow_pandas(c: milekit.Client) -> Any:
    return milekit.frame("tasks", client=c, dtype_backend="pyarrow", progress=False)


READS: dict[str, Callable[[milekit.Client], Any]] = {
    "arrow": _arrow,
    "tasks_table": _table,
    "polars": _polars,
    "pyarrow-backed pandas": _pyarrow_pandas,
}


def _edit_first_title(data: Any) -> tuple[Any, str]:
    """``data`` with its first row's title changed, and that row's id."""
    if isinstance(data, pa.Table):
        first = data.column("_id")[0].as_py()
        mask = pc.equal(data.column("_id"), first)
        titles = pc.if_else(mask, pa.scalar(EDIT), data.column("title"))
        i = data.schema.get_field_index("title")
        return data.set_column(i, data.schema.field(i), titles), first
    if isinstance(data, pl.DataFrame):
        first = data["_id"][0]
        title = pl.when(pl.col("_id") == first).then(pl.lit(EDIT)).otherwise(pl.col("title"))
        return data.with_columns(title.alias("title")), first
    assert isinstance(data, pd.DataFrame)
    first = data.index[0]
    data.loc[first, "title"] = EDIT
    return data, str(first)


@pytest.mark.parametrize("kind", list(READS))
def test_to_parquet_and_to_excel_take_it(kind: str, c: milekit.Client, tmp_path: Path) -> None:
    # before: AttributeError ('Table' object has no attribute 'attrs' ...)
    data = READS[kind](c)
    expected = milekit.tasks_frame(client=c, progress=False)
    back = milekit.read_parquet(milekit.to_parquet(data, tmp_path / "t.parquet"))
    assert back.dtypes.to_dict() == expected.dtypes.to_dict()
    assert back.index.equals(expected.index) and back["title"].equals(expected["title"])
    assert len(milekit.diff(back, original=expected)) == 0
    sheet = milekit.read_excel(milekit.to_excel(data, tmp_path / "t.xlsx"))
    assert sheet.index.equals(expected.index) and sheet["startTime"].equals(expected["startTime"])


@pytest.mark.parametrize("kind", list(READS))
def test_push_takes_it(kind: str, fresh: Sandbox, c: milekit.Client) -> None:
    # before: AttributeError, or a false "this frame has no milekit snapshot"
    data, first = _edit_first_title(READS[kind](c))
    before = len(fresh.store.write_log)
    r = milekit.push(data, client=c, progress=False)
    assert r.ok and r.counts["ok"] == 1, r
    assert [w["id"] for w in fresh.store.write_log[before:]] == [first]
    assert fresh.store.get("tasks", first)["title"] == EDIT


@pytest.mark.parametrize("data", [{"_id": ["a"]}, [1, 2], "tasks.parquet"])
def test_anything_else_is_a_type_error_naming_what_is_taken(data: Any, tmp_path: Path) -> None:
    for write in (
        lambda: milekit.to_parquet(data, tmp_path / "x.parquet"),
        lambda: milekit.to_excel(data, tmp_path / "x.xlsx"),
        lambda: milekit.push(data, dry_run=True, progress=False),
    ):
        with pytest.raises(TypeError, match="pyarrow Table or a polars DataFrame"):
            write()
    assert list(tmp_path.iterdir()) == []
