"""tasks_frame(): every dtype rule checked on real sandbox responses."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest

import milekit
from milekit import errors
from milekit.reads.pages import iter_tables
from milekit.sandbox import Sandbox
from milekit.types import registry, schema
from milekit.types.registry import TASKS


@pytest.fixture(scope="module")
def mixed() -> Iterator[Sandbox]:
    """Tasks in every datetime and time-of-day spelling the API uses (note 6), not only
    the ISO 8601 real tasks carry (note 25): the parser must read them all."""
    with Sandbox(tasks=2500, mixed_datetimes=True) as sb:
        yield sb


@pytest.fixture(scope="module")
def df(mixed: Sandbox) -> pd.DataFrame:
    with milekit.Client(mixed.token, mixed.url, limiter="process") as c:
        return milekit.tasks_frame(client=c, progress=False)


@pytest.fixture(scope="module")
def raw(mixed: Sandbox) -> dict[str, dict]:
    return {t["_id"]: t for t in mixed.store.values("tasks")}


def test_one_row_per_task_indexed_by_id(df: pd.DataFrame, raw: dict) -> None:
    assert df.index.name == "_id"
    assert df.index.is_unique and set(df.index) == set(raw)


def test_documented_dtypes(df: pd.DataFrame) -> None:
    expect = {
        "startTime": "datetime64[us, UTC]",
        "doneTime": "datetime64[us, UTC]",
        "eta": "time64[us][pyarrow]",
        "waitingTime": "Int64",
        "doneOrder": "Int64",
        "travelDuration": "Float64",
        "useGeoLock": "boolean",
        "title": "string",
        "flow": "string",
        "status": "category",
        "assignee": "object",
        "assignedVehicle": "object",
    }
    got = {k: str(df[k].dtype) for k in expect}
    assert got == expect
    assert list(df["status"].cat.categories[:3]) == ["UNASSIGNED", "ONGOING", "DONE"]


def test_every_datetime_spelling_is_the_right_utc_instant(df: pd.DataFrame, raw: dict) -> None:
    spellings: dict[str, int] = {}
    for tid, t in raw.items():
        for field in ("createdTime", "updatedTime", "startTime", "doneTime"):
            v = t.get(field)
            if not isinstance(v, str):
                continue
            kind = "naive" if v[-6] not in "+-" and not v.endswith("Z") else v[19:20] + v[-1]
            spellings[kind] = spellings.get(kind, 0) + 1
            ts = pd.Timestamp(v)
            expected = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            assert df.at[tid, field] == expected, (tid, field, v)
    assert len(spellings) >= 3  # naive, offset, Z with fractions all occurred


def test_time_spellings_compare_equal(df: pd.DataFrame, raw: dict) -> None:
    seen = set()
    for tid, t in raw.items():
        v = t.get("eta")
        if isinstance(v, str):
            seen.add(len(v))
            h, m, *sec = v.split(":")  # planned times carry seconds (note 52)
            assert df.at[tid, "eta"] == dt.time(int(h), int(m), int(sec[0]) if sec else 0)
    assert len(seen) >= 2  # "8:34", "08:34", "08:34:00" all occurred


def test_missing_and_null_become_na_never_strings(df: pd.DataFrame, raw: dict) -> None:
    unassigned = [i for i, t in raw.items() if t.get("status") == "UNASSIGNED"]
    assert unassigned
    assert df.loc[unassigned, "doneTime"].isna().all()
    assert df.loc[unassigned, "assignee"].isna().all()
    for col in df.columns:
        if str(df[col].dtype) == "string":
            assert not df[col].isin(["None", "nan", "NaN", "null"]).any(), col
    nulls = [i for i, t in raw.items() if "label" in t and t["label"] is None]
    if "label" in df:
        assert df.loc[nulls, "label"].isna().all()


def test_lists_and_objects_are_python_values(df: pd.DataFrame, raw: dict) -> None:
    tid = next(i for i, t in raw.items() if t.get("assignee"))
    assert df.at[tid, "assignee"] == raw[tid]["assignee"]
    assert isinstance(df.at[tid, "assignee"], list)
    edited = df.copy()
    edited.at[tid, "assignee"] = ["someone@demo.mile.app"]  # what the push issue relies on
    assert edited.at[tid, "assignee"] == ["someone@demo.mile.app"]
    with_vehicle = [i for i, t in raw.items() if isinstance(t.get("assignedVehicle"), dict)]
    for i in with_vehicle[:20]:
        got = df.at[i, "assignedVehicle"]
        assert {k: v for k, v in got.items() if v is not None} == {
            k: v for k, v in raw[i]["assignedVehicle"].items() if v is not None
        }


def test_custom_flow_fields_are_typed_per_column(df: pd.DataFrame, raw: dict) -> None:
    custom = [c for c in df.columns if c not in TASKS.rows]
    assert {"codAmount", "packageWeight", "receiverName", "items"} <= set(custom)
    # typed from the flow's components (inputType "number" -> Float64, note 37), not guessed
    # from the values (codAmount holds whole numbers only)
    assert str(df["codAmount"].dtype) == "Float64"
    assert str(df["packageWeight"].dtype) == "Float64"
    assert str(df["receiverName"].dtype) == "string"
    for c in custom:
        if df[c].dtype == object:
            kinds = {type(v) for v in df[c] if v is not None}
            assert len(kinds) == 1, (c, kinds)  # never object-of-mixed-types
    tid = next(i for i, t in raw.items() if t.get("items"))
    assert df.at[tid, "items"] == raw[tid]["items"]


def test_filters_and_projection(mixed: Sandbox, raw: dict) -> None:
    with milekit.Client(mixed.token, mixed.url, limiter="process") as c:
        since = dt.datetime(2026, 10, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
        done = milekit.tasks_frame(
            client=c,
            progress=False,
            status="done",
            timeBy="createdTime",
            timeFrom=since,
            fields=["title", "status", "createdTime"],
        )
    assert list(done.columns) == ["title", "status", "createdTime"]
    assert (done["status"] == "DONE").all()
    assert (done["createdTime"] >= pd.Timestamp("2026-10-01 00:00", tz="UTC")).all()
    expected = {
        i
        for i, t in raw.items()
        if t.get("status") == "DONE"
        and pd.Timestamp(t["createdTime"]).tz_localize(None) >= pd.Timestamp("2026-10-01")
        if pd.Timestamp(t["createdTime"]).tzinfo is None
    } | {
        i
        for i, t in raw.items()
        if t.get("status") == "DONE"
        and pd.Timestamp(t["createdTime"]).tzinfo is not None
        and pd.Timestamp(t["createdTime"]) >= pd.Timestamp("2026-10-01", tz="UTC")
    }
    assert set(done.index) == expected


def test_bad_filters_fail_before_any_request(sandbox: Sandbox) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        for bad in (
            {"stauts": "DONE"},
            {"status": "FINISHED"},
            {"timeFrom": "yesterday-ish"},
            {"sortOrder": "up"},
            {"timeBy": "whenever"},
        ):
            with pytest.raises(errors.UsageError):
                milekit.frame("tasks", client=c, progress=False, **bad)
            if "stauts" not in bad:
                with pytest.raises(errors.UsageError):
                    milekit.tasks_frame(client=c, progress=False, **bad)
        with pytest.raises(TypeError, match="stauts"):  # a real signature: a typo is caught
            milekit.tasks_frame(client=c, progress=False, stauts="DONE")  # type: ignore[call-arg]
        assert c.stats.requests == 0


def test_default_client_from_environment(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", sandbox.token)
    monkeypatch.setenv("MILEAPP_BASE_URL", sandbox.url)
    df = milekit.tasks_frame(progress=False, status="ONGOING")
    assert len(df) and (df["status"] == "ONGOING").all()


def test_fast_and_fallback_parsers_agree(sandbox: Sandbox) -> None:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        content = c.request("GET", "/tasks", params={"limit": 500}, raw=True).content
    fast, total, last = schema.PageParser(TASKS.rows, TASKS.listing).parse(content)
    slow = schema.rows_to_table(orjson.loads(content)["tasks"]["data"], TASKS.rows)
    a, b = schema.to_pandas(fast, "_id"), schema.to_pandas(slow, "_id")
    pd.testing.assert_frame_equal(a, b[a.columns])
    assert total == 2500 and last == 5


def test_values_that_do_not_fit_are_kept_and_warned() -> None:
    rows = [
        {"_id": "a", "waitingTime": 5},
        {"_id": "b", "waitingTime": 2.5},
        {"_id": "c", "weird": 1},
        {"_id": "d", "weird": "x"},
    ]
    with pytest.warns(schema.MileTypeWarning, match="waitingTime"):
        t = schema.rows_to_table(rows, TASKS.rows)
    df = schema.to_pandas(t, "_id")
    assert df["waitingTime"].tolist()[:2] == [5.0, 2.5]  # widened, not truncated
    assert df["weird"].tolist()[2:] == ["1", "x"]  # mixed -> text, never mixed objects


def test_a_type_change_costs_its_column_not_the_page() -> None:
    page = {
        "tasks": {
            "current_page": 1,
            "last_page": 1,
            "total": 2,
            "data": [{"_id": "a", "x": 1}, {"_id": "b", "x": "one"}],
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = schema.PageParser(TASKS.rows, TASKS.listing).parse(orjson.dumps(page))[0]
        t = schema.rows_to_table(page["tasks"]["data"], TASKS.rows)  # type: ignore[index]
    assert t.column("x").type == pa.string()
    assert fast.equals(t, check_metadata=True)  # the decoder types it as the Python path


def test_rows_shifted_by_new_data_between_pages_come_once(fresh: Sandbox) -> None:
    """Offset pagination: tasks created while a read runs push rows of page 1 onto page 2;
    the frame still has each task once."""
    hub = fresh.store.values("hubs")[0]["_id"]

    class CreatesAfterPageOne(milekit.Client):
        created = False

        def request(self, method: str, path: str, **kw: Any) -> Any:
            resp = super().request(method, path, **kw)
            if path == "/tasks" and not self.created:
                self.created = True  # 7 newer tasks: page 2 now starts 7 rows earlier
                body = [{"flow": "Pickup", "hubId": hub} for _ in range(7)]
                super().request("POST", "/tasks/bulk/", json={"tasks": body})
            return resp

    with CreatesAfterPageOne(fresh.token, fresh.url, max_workers=1) as c:
        df = milekit.frame("tasks", client=c, progress=False, limit=100)
    before = {d["_id"] for d in fresh.store.values("tasks")}
    assert df.index.is_unique
    assert len(df) == 300  # every task that existed when the read began, once
    assert set(df.index) <= before


def _in_fresh_interpreter(code: str) -> None:
    """Run ``code`` in a new Python: the collector's state is per process, and this test
    process has frozen objects already (the in-process sandboxes' stores do)."""
    import subprocess
    import sys
    import textwrap

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_gc_paused_hands_new_objects_to_the_oldest_generation() -> None:
    _in_fresh_interpreter(
        """
        import gc
        from milekit.reads.table import gc_paused

        with gc_paused():
            made = [[i] for i in range(1000)]
        assert gc.isenabled()
        young = {id(o) for o in gc.get_objects(generation=0)}
        assert not any(id(o) in young for o in made)  # no catch-up scan of them as young
        oldest = {id(o) for o in gc.get_objects(generation=2)}
        assert all(id(o) in oldest for o in made)  # still collectable by a full collection
        assert gc.get_freeze_count() == 0
        """
    )


def test_gc_paused_leaves_a_process_frozen_heap_alone() -> None:
    _in_fresh_interpreter(
        """
        import gc
        from milekit.reads.table import gc_paused

        gc.freeze()  # e.g. a pre-fork server keeping its heap out of the collector
        frozen = gc.get_freeze_count()
        with gc_paused():
            made = [[i] for i in range(10)]
        assert gc.get_freeze_count() == frozen  # not unfrozen by milekit
        assert made and gc.isenabled()
        """
    )


@pytest.mark.parametrize("limit", [-5, 0, True, 2.5, "100"])
def test_a_limit_that_is_not_a_positive_count_is_refused_before_any_request(
    fresh: Sandbox, limit: Any
) -> None:
    """Item 12: ``limit=-5`` was sent (``limit=-5`` on the wire), 0 silently meant the
    default. ``limit`` is rows per page: a whole number of at least 1."""
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        for resource in ("tasks", "hubs", "task_histories"):
            with pytest.raises(errors.UsageError, match=r"limit= is rows per page"):
                milekit.frame(resource, client=c, progress=False, limit=limit)
        with pytest.raises(errors.UsageError, match=r"limit= is rows per page"):
            next(iter_tables(registry.get("hubs"), {}, client=c, progress=False, limit=limit))
        assert c.stats.requests == 0 and list(fresh.app.request_log) == []


def test_limit_above_the_most_allowed_is_lowered_to_it(fresh: Sandbox) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        assert len(milekit.frame("hubs", client=c, progress=False, limit=10**6)) > 0
    assert all("limit=1000" in r.query for r in fresh.app.request_log if "hubs" in r.path)


def test_an_unknown_field_is_refused_before_the_list_is_read(
    fresh: Sandbox, tmp_path: Path
) -> None:
    """Item 12: ``fields="nope"`` gave a column of nulls. A field neither documented nor a
    custom (flow) field is a UsageError naming it and the resource's fields; a flow's
    field (``codAmount``) is a field. Tasks' custom fields are only known from the flows
    (``GET /flows``): that read comes first then, no page of the list is sent."""
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        with pytest.raises(errors.UsageError, match=r"'nope'.*hubs.* name") as e:
            milekit.frame("hubs", client=c, progress=False, fields="name,nope")
        assert "'name'" not in str(e.value).split(";")[0]  # only the unknown is named
        with pytest.raises(errors.UsageError, match=r"'nope', 'nope2'.*title.*codAmount"):
            milekit.tasks_frame(client=c, progress=False, fields=["title", "nope", "nope2"])
        with pytest.raises(errors.UsageError, match=r"'nope'"):
            milekit.export("tasks", tmp_path / "x.parquet", client=c, progress=False, fields="nope")
        assert list(tmp_path.iterdir()) == []
        assert not [r for r in fresh.app.request_log if r.path.endswith(("/tasks", "/hubs"))]
        df = milekit.tasks_frame(client=c, progress=False, fields="title,codAmount")
        assert list(df.columns) == ["title", "codAmount"]
