"""A text column is one dtype under pandas 2.2 and 3.x (docs/guides/reading.md, "pandas and
Python versions"): ``pd.StringDtype("pyarrow")``, ``pd.NA`` for a missing value, in the frame
and in every file read back, whatever pandas' own default for text is (``str`` under 3,
``object`` under 2.2, ``string[pyarrow_numpy]`` under 2.2 with ``future.infer_string``).
CI runs this module under both lines (.ci/run)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd
import pytest

import milekit
from milekit.registry import FieldType
from milekit.sandbox import Sandbox
from milekit.types.kinds import KINDS, TEXT

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


@pytest.fixture(scope="module")
def tasks(sandbox: Sandbox) -> pd.DataFrame:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        return milekit.tasks_frame(client=c, progress=False, limit=300)


def test_a_text_column_is_string_pyarrow_with_na(tasks: pd.DataFrame) -> None:
    assert KINDS[FieldType.STRING].dtype is TEXT == pd.StringDtype("pyarrow")
    assert TEXT.storage == "pyarrow" and TEXT.na_value is pd.NA and str(TEXT) == "string"
    for c in ("title", "organizationId", "parentTaskId"):
        assert tasks[c].dtype == TEXT, c
    assert tasks["parentTaskId"].isna().any() and tasks["parentTaskId"].hasnans
    assert tasks["parentTaskId"][tasks["parentTaskId"].isna()].iloc[0] is pd.NA


def test_a_text_column_the_user_adds_is_read_back_as_text(
    tasks: pd.DataFrame, tmp_path: Path
) -> None:
    """pandas' own text dtype (``str`` under 3, ``object`` under 2.2) becomes the frame's."""
    df = tasks.copy()
    df["note"] = ["checked" if i % 2 else None for i in range(len(df))]
    assert str(df["note"].dtype) == ("str" if PANDAS_3 else "object")
    back = milekit.read_parquet(milekit.to_parquet(df, tmp_path / "t.parquet"))
    assert back["note"].dtype == TEXT
    assert back["note"].isna().sum() == len(df) // 2
    pd.testing.assert_frame_equal(back.drop(columns="note"), tasks)


@pytest.mark.parametrize("storage", ["python", "pyarrow"])
def test_plain_pandas_reads_text_as_the_frames_dtype_whatever_its_string_storage(
    tasks: pd.DataFrame, tmp_path: Path, storage: str
) -> None:
    """The file's pandas entry names ``string[pyarrow]``: pandas 2.2's default storage
    (``python``) would otherwise give ``string[python]``."""
    path = milekit.to_parquet(tasks, tmp_path / "t.parquet")
    with pd.option_context("mode.string_storage", storage):
        back = pd.read_parquet(path)
    text = [c for c in tasks.columns if tasks[c].dtype == TEXT]
    assert len(text) > 30 and all(back[c].dtype == TEXT for c in text)


def test_a_read_under_pandas_3s_text_inference_gives_the_same_frame(
    sandbox: Sandbox, tasks: pd.DataFrame, tmp_path: Path
) -> None:
    """Under pandas 2.2 with ``future.infer_string`` (pandas 3's default, opted into), the
    frame and its Parquet and CSV round trips are the default frame."""
    opt_in = (
        contextlib.nullcontext() if PANDAS_3 else pd.option_context("future.infer_string", True)
    )
    with opt_in, milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        df = milekit.tasks_frame(client=c, progress=False, limit=300)
        csv = milekit.export("tasks", tmp_path / "t.csv", client=c, progress=False, limit=300)
        from_csv = milekit.read_csv(csv.path)
        from_parquet = milekit.read_parquet(milekit.to_parquet(df, tmp_path / "t.parquet"))
    for got in (df, from_csv, from_parquet):
        pd.testing.assert_frame_equal(_labels_inferred_now(got), tasks)


def _labels_inferred_now(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its column labels and categories typed by pandas' text inference as it
    is set now: milekit leaves both to pandas (``str`` under 3; ``object`` under 2.2, or
    ``string[pyarrow_numpy]`` with ``future.infer_string``)."""
    cats = {c: pd.CategoricalDtype(list(df[c].cat.categories)) for c in _categoricals(df)}
    return df.set_axis(pd.Index(list(df.columns)), axis=1).astype(cats)


def _categoricals(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
