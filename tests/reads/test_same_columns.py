"""Columns come from the registry, never from the rows (issue 21 item 1): a read of no
rows, of one row and of every row give every documented column of the resource (and the
flows' custom fields) with the same dtypes; keys the registry does not know are kept as
extra columns. A nightly report or lake does not break on a quiet day."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.sandbox.http import Raw
from milekit.types import registry

READABLE = sorted(registry.RESOURCES)


@pytest.fixture(scope="module")
def own() -> Iterator[Sandbox]:
    with Sandbox(tasks=120, seed=3) as sb:
        yield sb


def _rows_list(body: Any) -> list[Any] | None:
    """The list of objects nearest the answer's root: the page's rows, whatever the
    shape (lists inside a row are further down)."""
    level = [body]
    while level:
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                return v
            nxt.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else ())
        level = nxt
    return None


def _read(sb: Sandbox, name: str, keep: int | None) -> pd.DataFrame:
    """``name`` read whole (``keep`` None), or with every page answering its first
    ``keep`` rows only."""
    spec = registry.get(name)
    sb.faults.clear()
    with milekit.Client(sb.token, sb.url, limiter=None) as c:
        if keep is not None:
            body = orjson.loads(c.request("GET", spec.listing.path, raw=True).content)
            rows = _rows_list(body)
            assert rows is not None, name
            del rows[keep:]
            raw = Raw(orjson.dumps(body), "application/json")
            sb.faults.add(status=200, body=raw, path_prefix=spec.listing.path, method="GET",
                          times=None)  # fmt: skip
        try:
            return milekit.frame(name, client=c, progress=False)
        finally:
            sb.faults.clear()


@pytest.mark.filterwarnings("ignore::milekit.MileWarning")
@pytest.mark.parametrize("name", READABLE)
def test_no_row_one_row_and_every_row_have_the_same_columns(own: Sandbox, name: str) -> None:
    full, one, empty = (_read(own, name, keep) for keep in (None, 1, 0))
    assert len(empty) == 0 and len(one) == 1 and len(full) >= 1
    documented = [c for c in registry.get(name).rows.field_names if c in full.columns]
    # the registry's columns, in its order, in all three; extra keys only where sent
    assert [c for c in empty.columns if c in documented] == documented
    assert [c for c in one.columns if c in documented] == documented
    assert set(empty.columns) <= set(one.columns) <= set(full.columns)
    for c in empty.columns:
        assert str(empty[c].dtype) == str(full[c].dtype) == str(one[c].dtype), c


def test_the_issues_examples(own: Sandbox, tmp_path: Path) -> None:
    with milekit.Client(own.token, own.url, limiter=None) as c:
        full = milekit.tasks_frame(client=c, progress=False)
        quiet = milekit.tasks_frame(client=c, progress=False, status="UNASSIGNED")
        none = milekit.tasks_frame(
            client=c, progress=False, status="DONE", timeBy="doneTime", timeFrom="2030-01-01"
        )
        exported = milekit.export(
            "tasks", tmp_path / "t.parquet", client=c, progress=False, status="DONE",
            timeBy="doneTime", timeFrom="2030-01-01",
        )  # fmt: skip
    assert list(quiet.columns) == list(none.columns) == list(full.columns)
    assert quiet["doneTime"].isna().all() and "assignee" in quiet.columns
    assert none.groupby("status", observed=True).size().sum() == 0  # no KeyError
    back = milekit.read_parquet(exported.path)
    assert exported.rows == 0 and list(back.columns) == list(full.columns)
    assert back.dtypes.to_dict() == full.dtypes.to_dict()


@pytest.mark.parametrize("out", ["arrow", "polars", "pyarrow", "csv", "xlsx", "lake"])
def test_every_output_of_a_quiet_day_has_every_column(
    own: Sandbox, tmp_path: Path, out: str
) -> None:
    quiet = {"status": "DONE", "timeBy": "doneTime", "timeFrom": "2030-01-01"}
    with milekit.Client(own.token, own.url, limiter=None) as c:
        full = list(milekit.tasks_frame(client=c, progress=False).columns)
        if out in ("arrow", "polars"):
            got = milekit.frame("tasks", client=c, progress=False, to=out, **quiet)
            names = list(got.schema.names if out == "arrow" else got.columns)
            assert names == ["_id", *full] and len(got) == 0
        elif out == "pyarrow":
            got = milekit.frame("tasks", client=c, progress=False, dtype_backend=out, **quiet)
            assert list(got.columns) == full and len(got) == 0
        elif out == "lake":  # every column in the lake too
            milekit.sync("tasks", tmp_path / "lake", client=c, progress=False)
            assert list(milekit.read_lake(tmp_path / "lake").columns) == full
        else:
            path = tmp_path / f"t.{out}"
            done = milekit.export("tasks", path, client=c, progress=False, **quiet)
            assert done.rows == 0 and done.columns == len(full) + 1  # the id a column
            if out == "csv":
                assert list(milekit.read_csv(path).columns) == full
            else:
                import openpyxl

                book = openpyxl.load_workbook(path, read_only=True)  # keeps the file open
                try:
                    assert len(next(book.active.iter_rows())) == len(full) + 1
                finally:
                    book.close()
