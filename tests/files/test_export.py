"""Export round trips: Parquet (milekit, pandas, DuckDB, Polars) and CSV with a sidecar."""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import milekit
from milekit import errors
from milekit.cli import main
from milekit.files.sink import Segment, _keep_masks
from milekit.sandbox import Sandbox


@pytest.fixture(scope="module")
def frame_and_files(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("export")
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, progress=False)
        pq = milekit.export("tasks", d / "tasks.parquet", client=c, progress=False, limit=700)
        csv = milekit.export("tasks", d / "tasks.csv", client=c, progress=False, limit=700)
    return df, pq, csv


def test_parquet_round_trip_is_exact(frame_and_files) -> None:
    df, pq, _ = frame_and_files
    assert pq.rows == len(df) and pq.pages == 4
    pd.testing.assert_frame_equal(milekit.read_parquet(pq.path), df)


def test_csv_round_trip_is_exact(frame_and_files) -> None:
    df, _, csv = frame_and_files
    assert Path(str(csv.path) + ".schema.json").exists()
    pd.testing.assert_frame_equal(milekit.read_csv(csv.path), df)


def test_parquet_opens_natively_in_pandas_duckdb_polars(frame_and_files) -> None:
    df, pq, _ = frame_and_files
    plain = pd.read_parquet(pq.path)
    assert len(plain) == len(df)
    assert str(plain["startTime"].dtype).startswith("datetime64") and "UTC" in str(
        plain["startTime"].dtype
    )
    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{pq.path}'").fetchall()}
    assert types["startTime"] == "TIMESTAMP WITH TIME ZONE"
    assert types["eta"] == "TIME"
    assert types["assignee"] == "VARCHAR[]"
    assert types["assignedVehicle"].startswith("STRUCT(")
    assert types["items"].startswith("STRUCT(") and types["items"].endswith("[]")
    n_done = con.execute(f"SELECT count(*) FROM '{pq.path}' WHERE status = 'DONE'").fetchall()
    assert n_done[0][0] == int((df["status"] == "DONE").sum())
    con.close()
    p = pl.read_parquet(pq.path)
    assert p.schema["startTime"] == pl.Datetime("us", "UTC")
    assert p.schema["eta"] == pl.Time
    assert p.schema["assignee"] == pl.List(pl.String)
    assert isinstance(p.schema["assignedVehicle"], pl.Struct)


def test_parquet_rewritten_by_polars_reads_back(frame_and_files, tmp_path: Path) -> None:
    """Polars (and DuckDB) write enum columns with unsigned dictionary indices."""
    df, pq, _ = frame_and_files
    pl.read_parquet(pq.path).write_parquet(tmp_path / "polars.parquet")
    back = milekit.read_parquet(tmp_path / "polars.parquet").set_index("_id")
    for col in ("status", "createdFrom"):
        assert isinstance(back[col].dtype, pd.CategoricalDtype)
        pd.testing.assert_series_equal(back[col].astype("string"), df[col].astype("string"))
        assert set(back[col].cat.categories) == set(df[col].dropna())


def test_frame_saved_by_plain_pandas_keeps_its_category_order(
    frame_and_files, tmp_path: Path
) -> None:
    df, _, _ = frame_and_files
    df = df.assign(status=df["status"].cat.reorder_categories(df["status"].cat.categories[::-1]))
    df.to_parquet(tmp_path / "plain.parquet")  # pandas' own writer: no milekit types
    back = milekit.read_parquet(tmp_path / "plain.parquet")
    assert list(back["status"].cat.categories) == list(df["status"].cat.categories)
    pd.testing.assert_frame_equal(back, df)  # its index (from pandas' metadata) too


def test_edited_frame_written_with_to_parquet_keeps_types(frame_and_files, tmp_path: Path) -> None:
    df, _, _ = frame_and_files
    edited = df.copy()
    tid = edited.index[0]
    edited.at[tid, "assignee"] = ["new@demo.mile.app"]
    edited.at[tid, "waitingTime"] = pd.NA
    milekit.to_parquet(edited, tmp_path / "edited.parquet")
    back = milekit.read_parquet(tmp_path / "edited.parquet")
    pd.testing.assert_frame_equal(back, edited)


def test_failed_export_leaves_no_partial_file(fresh: Sandbox, tmp_path: Path) -> None:
    fresh.faults.add(status=500, times=None, path_prefix="/api/v3/tasks")
    target = tmp_path / "out.parquet"
    retry = milekit.RetryPolicy(attempts=2)
    with milekit.Client(fresh.token, fresh.url, limiter="process", retry=retry) as c:
        with pytest.raises(errors.ServerError):
            milekit.export("tasks", target, client=c, progress=False, limit=100)
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_is_refused_before_sending() -> None:
    with milekit.Client("t0ken-1234", "http://127.0.0.1:9") as c, pytest.raises(errors.UsageError):
        milekit.export("tasks", "x.xls", client=c)  # closed: see test_frames_all.py


def test_duplicates_across_pages_dropped_by_real_id(tmp_path: Path) -> None:
    parts = []
    for i, ids in enumerate((["a", "b"], ["b", "c"], ["x", "y"])):
        p = tmp_path / f"p{i}.arrow"
        t = pa.table({"_id": ids})
        with pa.OSFile(str(p), "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
            w.write_table(t)
        parts.append(Segment(p, parquet=False))
    hashes = [np.array([hash(x) for x in ids], dtype=np.int64) for ids in (["a", "b"], ["b", "c"])]
    keep = _keep_masks(parts[:2], hashes, "_id")
    assert keep[0] is None and keep[1] is not None and keep[1].tolist() == [False, True]
    # a forced 64-bit hash collision between different ids ("b" vs "x") drops nothing
    colliding = [np.array([1, 2], dtype=np.int64), np.array([2, 3], dtype=np.int64)]
    keep = _keep_masks([parts[0], parts[2]], colliding, "_id")
    assert all(k is None or k.all() for k in keep)


def test_cli_export_with_filter(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", sandbox.token)
    out = tmp_path / "done.parquet"
    assert (
        main(["export", "tasks", "-o", str(out), "--status", "DONE", "--base-url", sandbox.url])
        == 0
    )
    df = milekit.read_parquet(out)
    assert len(df) and (df["status"] == "DONE").all()
    assert "wrote" in capsys.readouterr().out


def test_demo_runs_end_to_end(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--tasks", "800", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tasks per status" in out and "DONE" in out and "identical" in out
    assert (tmp_path / "tasks.parquet").exists() and (tmp_path / "tasks.csv").exists()
    assert len(milekit.read_csv(tmp_path / "tasks.csv")) == 800
    assert "sandbox-token" not in out


def test_parquet_row_groups_span_pages(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages are gathered into row groups of ROW_GROUP_ROWS rows (one row group per page
    made files with thousands of tiny row groups), and the file still reads back exactly."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(importlib.import_module("milekit.files.sink"), "ROW_GROUP_ROWS", 1000)
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, progress=False)
        path = milekit.export("tasks", tmp_path / "t.parquet", client=c, progress=False, limit=700)
    meta = pq.ParquetFile(path.path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    n = len(df)
    assert n > 2000 and sizes == [1000] * (n // 1000) + ([n % 1000] if n % 1000 else [])
    back = milekit.read_parquet(path.path)
    pd.testing.assert_frame_equal(back, df)


def test_plain_pandas_reads_a_milekit_parquet_file_back_as_the_frame(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Issue 15: a file read with plain pd.read_parquet lost the _id index and 42 of 56
    dtypes (Int64 -> float64, string -> str, boolean -> object). pandas' own footer entry
    now travels with milekit's: every column comes back with the frame's dtype, the index
    with its name and values (its dtype is pandas' own choice for a `string` index it
    reads back: `str` under pandas 3, `object` under 2.2; docs/guides/reading.md, "pandas
    and Python versions")."""
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, progress=False)
        exported = milekit.export("tasks", tmp_path / "t.parquet", client=c, progress=False)
    saved = milekit.to_parquet(df, tmp_path / "edited.parquet")
    for path in (exported.path, saved):
        back = pd.read_parquet(path)
        assert back.index.name == "_id" and back.index.astype(df.index.dtype).equals(df.index)
        assert back.dtypes.to_dict() == df.dtypes.to_dict()
        pd.testing.assert_frame_equal(back, df, check_index_type=False, check_like=False)


def test_read_parquet_gives_back_the_frames_attrs(sandbox: Sandbox, tmp_path: Path) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, progress=False, status="DONE")
        info = milekit.export(
            "tasks", tmp_path / "t.parquet", client=c, progress=False, status="DONE"
        )
    saved = milekit.to_parquet(df, tmp_path / "edited.parquet")
    want = {k: v for k, v in df.attrs["milekit"].items() if k != "snapshot"}
    for path in (info.path, saved):
        got = milekit.read_parquet(path).attrs["milekit"]
        assert {k: got[k] for k in want} == want
        assert milekit.flow_columns(milekit.read_parquet(path)) == milekit.flow_columns(df)


#: cells a spreadsheet runs as formulas (OWASP), and one starting with the quote itself
RISKY = ["=1+1", "+1+1", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "'kept"]


def _csv_cells(path: Path, column: str) -> dict[str, str]:
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return {row["_id"]: row[column] for row in csv.DictReader(f)}


def test_csv_safe_neutralises_formula_cells_and_still_reads_back_exactly(
    fresh: Sandbox, tmp_path: Path
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        ids = list(milekit.tasks_frame(client=c, progress=False).index[: len(RISKY)])
        for tid, title in zip(ids, RISKY, strict=True):
            c.request("PATCH", f"/task/{tid}", json={"title": title})
        df = milekit.tasks_frame(client=c, progress=False)
        plain = milekit.export("tasks", tmp_path / "plain.csv", client=c, progress=False)
        safe = milekit.export(
            "tasks", tmp_path / "safe.csv", client=c, progress=False, csv_safe=True
        )
    as_sent, quoted = _csv_cells(plain.path, "title"), _csv_cells(safe.path, "title")
    for tid, title in zip(ids, RISKY, strict=True):
        assert as_sent[tid] == title  # off by default: the values are the values
        assert quoted[tid] == "'" + title
    others = [t for t in df.index if t not in ids]
    assert all(quoted[t] == as_sent[t] for t in others)
    numbers = _csv_cells(safe.path, "travelDuration")  # numbers are left alone
    assert numbers == _csv_cells(plain.path, "travelDuration")
    pd.testing.assert_frame_equal(milekit.read_csv(safe.path), df)
    pd.testing.assert_frame_equal(milekit.read_csv(plain.path), df)


def test_csv_safe_quotes_a_risky_header_too(tmp_path: Path) -> None:
    from milekit.files.sink import Sink

    sink = Sink(tmp_path / "o.csv", "csv", "_id", lambda s: {}, spill_dir=tmp_path, csv_safe=True)
    sink.write(pa.table({"_id": ["a"], "=cmd|' /C calc'!A0": ["-1"], "n": [-1]}))
    sink.finish()
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines == ['"_id","\'=cmd|\' /C calc\'!A0","n"', '"a","\'-1","-1"']


def test_csv_safe_is_refused_for_other_formats_before_sending(
    fresh: Sandbox, tmp_path: Path
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        for name in ("t.parquet", "t.xlsx"):
            with pytest.raises(errors.UsageError, match=r"csv_safe= is for \.csv files"):
                milekit.export("tasks", tmp_path / name, client=c, csv_safe=True)
    assert list(fresh.app.request_log) == []


def test_cli_export_csv_safe(
    fresh: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        tid = milekit.tasks_frame(client=c, progress=False).index[0]
        c.request("PATCH", f"/task/{tid}", json={"title": "=1+1"})
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    out = tmp_path / "t.csv"
    args = ["export", "tasks", "-o", str(out), "--csv-safe", "--base-url", fresh.url]
    assert main([*args, "--no-progress"]) == 0
    assert _csv_cells(out, "title")[tid] == "'=1+1"
    assert milekit.read_csv(out).loc[tid, "title"] == "=1+1"


# --- what the user gave is checked before anything is sent (issue 21 item 9) --------------


@pytest.mark.parametrize("name", ["x.parquet", "x.csv", "x.xlsx"])
def test_export_into_a_missing_directory_is_refused_before_sending(
    fresh: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    missing = tmp_path / "does" / "not" / "exist"
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        with pytest.raises(errors.UsageError, match="does not exist") as e:
            milekit.export("tasks", missing / name, client=c, progress=False)
    assert str(missing) in str(e.value)
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    with pytest.raises(SystemExit, match="does not exist") as exit_:
        main(["export", "tasks", "-o", str(missing / name), "--base-url", fresh.url])
    assert str(missing) in str(exit_.value)
    assert not (tmp_path / "does").exists()  # no directory made on the way
    assert list(fresh.app.request_log) == []


def test_to_parquet_and_to_excel_refuse_a_missing_directory(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1, 2]})
    missing = tmp_path / "nowhere"
    with pytest.raises(errors.UsageError, match="does not exist"):
        milekit.to_parquet(df, missing / "x.parquet")
    with pytest.raises(errors.UsageError, match="does not exist"):
        milekit.to_excel(df, missing / "x.xlsx")
    (tmp_path / "file").write_text("")
    with pytest.raises(errors.UsageError, match="not a directory"):
        milekit.to_parquet(df, tmp_path / "file" / "x.parquet")
    assert not missing.exists()


@pytest.mark.parametrize("name", ["x.parquet", "x.csv"])
def test_tz_is_refused_for_files_that_keep_the_zone(
    fresh: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        with pytest.raises(errors.UsageError, match=r"tz= is for \.xlsx"):
            milekit.export("tasks", tmp_path / name, client=c, tz="Asia/Jakarta")
        with pytest.raises(errors.UsageError, match=r"tz= is for \.xlsx"):
            milekit.export("tasks", tmp_path / name, client=c, tz="UTC")
    monkeypatch.setenv("MILEAPP_TOKEN", fresh.token)
    with pytest.raises(SystemExit, match=r"tz= is for \.xlsx|--tz is for \.xlsx"):
        main(["export", "tasks", "-o", str(tmp_path / name), "--tz", "Asia/Jakarta",
              "--base-url", fresh.url])  # fmt: skip
    assert list(fresh.app.request_log) == []
    assert list(tmp_path.iterdir()) == []


def test_a_lone_string_in_a_list_column_is_a_one_item_list_in_files_and_pushes(
    fresh: Sandbox, tmp_path: Path
) -> None:
    """``df.loc[mask, "label"] = "Return"`` leaves a str in an Array of String column
    (pandas assigns it as it is): to_parquet, milekit.diff and push take it as
    ``["Return"]``, as the API does."""
    with milekit.Client(fresh.token, fresh.url, limiter=None) as c:
        df = milekit.tasks_frame(client=c, progress=False, limit=1000)
        mask = df["status"] == "DONE"
        df.loc[mask, "label"] = "Return"
        path = milekit.to_parquet(df, tmp_path / "edited.parquet")
        back = milekit.read_parquet(path)
        assert pa.types.is_list(pa.parquet.read_schema(path).field("label").type)
        assert all(v == ["Return"] for v in back.loc[mask, "label"])
        assert all(isinstance(v, list) for v in back.loc[~mask, "label"])
        changes = milekit.diff(df)
        assert len(changes) and all(v == ["Return"] for v in changes["new"])
        result = milekit.push(df, client=c, progress=False)
        assert result.ok
        again = milekit.tasks_frame(client=c, progress=False, limit=1000)
    assert all(v == ["Return"] for v in again.loc[mask[mask].index, "label"])
