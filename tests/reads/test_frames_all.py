"""Every readable resource as a typed frame, from the sandbox: dtypes from the registry,
indexed by the id field, every row, a Parquet round trip that keeps the dtypes; the
named helpers; lowercase enums; secrets never kept."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

import milekit
from milekit import errors
from milekit.reads.frames import dtypes_of
from milekit.sandbox import Sandbox
from milekit.types import registry
from milekit.types.registry import FieldType

ROOT = Path(__file__).resolve().parents[2]
READABLE = sorted(registry.RESOURCES)


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(sandbox.token, sandbox.url, limiter="process") as c:
        yield c


@pytest.fixture(scope="module")
def frames(client: milekit.Client) -> dict[str, pd.DataFrame]:
    """Frames read once per module, on first use."""
    return {}


def _frame(frames: dict[str, pd.DataFrame], client: milekit.Client, name: str) -> pd.DataFrame:
    if name not in frames:
        frames[name] = milekit.frame(name, client=client, progress=False)
    return frames[name]


def _expected_rows(sandbox: Sandbox, name: str) -> int:
    """How many rows the sandbox holds for ``name`` (what a full read must return)."""
    store = sandbox.store
    if name == "tasks_gallery":  # tasks with a photo or signature value
        flows = {f["name"]: f for f in store.values("flows")}

        def photos(t: dict[str, Any]) -> bool:
            comps = [
                c
                for p in flows[t["flow"]]["pages"]
                for c in p["components"]
                if c.get("component") in ("photo", "signature", "capture")
            ]
            return any(t.get(c["id"]) for c in comps)

        return sum(1 for t in store.values("tasks") if photos(t))
    if name == "flow_fields":
        return store.count("flows")
    if name == "export_logs":  # note 44: the caller's exports by default
        me = store.meta["me"]["email"]
        return sum(1 for h in store.values("export_logs") if h["_source"].get("email") == me)
    return store.count(name)


@pytest.mark.parametrize("name", READABLE)
def test_frame_of_every_resource(
    name: str, sandbox: Sandbox, client: milekit.Client, frames: dict[str, pd.DataFrame]
) -> None:
    spec = registry.get(name)
    df = _frame(frames, client, name)
    assert df.index.name == spec.id_field
    assert df.index.is_unique
    assert len(df) == _expected_rows(sandbox, name) > 0
    assert df.attrs["milekit"]["resource"] == name
    # every documented column has the registry's dtype
    want = dtypes_of(spec.rows)
    got = {c: str(df[c].dtype) for c in df.columns if c in want}
    assert got == {c: want[c] for c in got}
    assert len(got) >= min(3, len(want) - 1), "documented columns are missing"
    for c in df.columns:
        s = df[c]
        if str(s.dtype).startswith("datetime64"):
            assert str(s.dtype) == "datetime64[us, UTC]", c
        if s.dtype == object:
            kinds = {type(v) for v in s if v is not None and v is not pd.NA}
            scalars = kinds - {dict, list}
            f = spec.rows.get(str(c))
            if f is not None and f.type == FieldType.JSON:
                continue  # free-form JSON: any JSON value per row, by definition
            assert not scalars or len(kinds) == 1, (c, kinds)  # never mixed scalars
        if str(s.dtype) == "string":
            assert not s.isin(["None", "nan", "NaN", "null"]).any(), c


@pytest.mark.parametrize("name", READABLE)
def test_parquet_round_trip_keeps_dtypes(
    name: str, client: milekit.Client, frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    df = _frame(frames, client, name)
    info = milekit.export(name, tmp_path / f"{name}.parquet", client=client, progress=False)
    assert info.rows == len(df)
    back = milekit.read_parquet(info.path)
    assert back.index.name == df.index.name
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, df)


def test_cli_exports_any_resource(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("MILEAPP_TOKEN", sandbox.token)
    from milekit.cli import main

    out = tmp_path / "hubs.parquet"
    assert main(["export", "hubs", "-o", str(out), "--base-url", sandbox.url]) == 0
    df = milekit.read_parquet(out)
    assert len(df) == sandbox.store.count("hubs") and str(df["lat"].dtype) == "Float64"
    assert "wrote 8 hubs" in capsys.readouterr().out


def test_empty_result_is_a_typed_frame(client: milekit.Client) -> None:
    df = milekit.hubs_frame(client=client, progress=False, name="no such hub anywhere")
    assert len(df) == 0 and df.index.name == "_id"
    assert str(df["lat"].dtype) == "Float64" and str(df["createdTime"].dtype).startswith(
        "datetime64[us"
    )


# --- the named helpers ----------------------------------------------------------------------


def test_named_helpers_cover_every_resource_and_child() -> None:
    from milekit.reads.named import CHILD_HELPERS, RESOURCE_HELPERS

    assert sorted(RESOURCE_HELPERS.values()) == READABLE
    assert sorted(CHILD_HELPERS.values()) == sorted(registry.CHILDREN)
    wanted = (
        "tasks_frame flows_frame hubs_frame teams_frame users_frame roles_frame "
        "vehicles_frame task_schedules_frame activities_frame location_histories_frame "
        "data_frame data_types_frame routing_results_frame automations_frame "
        "automation_logs_frame export_configs_frame export_logs_frame "
        "import_monitoring_frame flow_logs_frame plugins_frame app_integrations_frame "
        "task_histories_frame flow_components_frame routing_result_visits_frame "
        "vehicle_working_times_frame vehicle_capacities_frame"
    ).split()
    for helper in wanted:
        assert helper in milekit.__all__ and callable(getattr(milekit, helper)), helper


@pytest.mark.parametrize("helper", sorted(__import__("milekit").reads.named.RESOURCE_HELPERS))
def test_helper_signature_is_the_resource_filters(helper: str) -> None:
    from milekit.reads.named import RESOURCE_HELPERS

    spec = registry.get(RESOURCE_HELPERS[helper])
    fn = getattr(milekit, helper)
    params = inspect.signature(fn).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    options = {"client", "progress", "limit", "flatten", "split_coordinates", "resume"}
    options |= {"dtype_backend"}
    extra = {"data_type"} if spec.name == "data" else set()
    assert set(params) == set(spec.filters) | options | extra
    doc = inspect.getdoc(fn) or ""
    first, _, rest = doc.partition("\n\n")
    assert spec.list_path in first and rest.startswith(">>> ")  # opens with an example
    for f in spec.filters:
        assert f"``{f}``" in doc, f


def test_named_helpers_module_is_fresh(tmp_path: Path) -> None:
    out = tmp_path / "fresh.py"
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_frames.py"), "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    committed = (ROOT / "milekit" / "reads" / "named.py").read_bytes()
    assert out.read_bytes() == committed, "stale: run python tools/gen_frames.py"


def test_data_frame_by_data_type_name_or_id(sandbox: Sandbox, client: milekit.Client) -> None:
    types = {d["name"]: d for d in sandbox.store.values("data_types")}
    store = types["Store"]
    before = len(sandbox.app.request_log)
    by_name = milekit.data_frame(client=client, progress=False, data_type="Store")
    by_id = milekit.data_frame(client=client, progress=False, data_type=store["_id"])
    pd.testing.assert_frame_equal(by_name, by_id)
    expected = [d for d in sandbox.store.values("data") if d["dataTypeId"] == store["_id"]]
    assert len(by_name) == len(expected) > 0
    log = list(sandbox.app.request_log)[before:]
    queries = [r.query for r in log if r.path.endswith("/data")]
    assert any("dataTypeName=Store" in q for q in queries)
    assert any(f"dataTypeId={store['_id']}" in q for q in queries)


# --- filters: enums in the API's own spelling (note 15) ------------------------------------


@pytest.mark.parametrize(
    ("helper", "filters", "column", "sent"),
    [
        ("users_frame", {"status": "ACTIVE"}, "status", "status=active"),
        ("tasks_frame", {"status": "done"}, "status", "status=DONE"),
        ("activities_frame", {"status": "done"}, "status", "status=DONE"),
        ("export_logs_frame", {"status": "DONE"}, "status", "status=Done"),
        ("import_monitoring_frame", {"status": "Success"}, "status", "status=success"),
        ("flow_logs_frame", {"action": "PUT"}, "action", "action=put"),
        ("automations_frame", {"event": "ONTASKCREATED"}, "event", "event=onTaskCreated"),
        ("location_histories_frame", {"eventName": "OTW"}, "eventName", "eventName=otw"),
    ],
)
def test_enum_filters_match_any_case_and_send_the_api_spelling(
    helper: str,
    filters: dict[str, str],
    column: str,
    sent: str,
    sandbox: Sandbox,
    client: milekit.Client,
) -> None:
    before = len(sandbox.app.request_log)
    df = getattr(milekit, helper)(client=client, progress=False, **filters)
    value = sent.split("=", 1)[1]
    assert len(df) > 0 and (df[column].astype(str) == value).all()
    log = list(sandbox.app.request_log)[before:]
    assert log and all(sent in r.query for r in log if "/flows" not in r.path)


def test_enum_filter_outside_the_enum_fails_before_sending(client: milekit.Client) -> None:
    before = client.stats.requests
    with pytest.raises(errors.UsageError, match="active, inactive"):
        milekit.users_frame(client=client, progress=False, status="asleep")
    with pytest.raises(errors.UsageError, match="did you mean 'sort_by'"):
        milekit.frame("flows", client=client, progress=False, sort_byy="name")
    assert client.stats.requests == before


def test_sort_filters_take_the_resource_spelling(sandbox: Sandbox, client: milekit.Client) -> None:
    before = len(sandbox.app.request_log)
    df = milekit.frame("flows", client=client, progress=False, sortBy="name", sortOrder="asc")
    assert list(df["name"]) == sorted(df["name"])
    log = list(sandbox.app.request_log)[before:]
    assert log and all("sort_by=name&sort_order=asc" in r.query for r in log)


# --- secrets ------------------------------------------------------------------------------------


def test_personal_tokens_are_never_kept_or_written(fresh: Sandbox, tmp_path: Path) -> None:
    users = fresh.store.values("users")[:3]
    secret = "pt_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    body = {"data": [{**u, "personalToken": f"{secret}{i}"} for i, u in enumerate(users)]}
    fresh.faults.add(status=200, body=body, times=None, path_prefix="/api/v3/users")
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        df = milekit.users_frame(client=c, progress=False)
        assert len(df) == 3 and "personalToken" not in df.columns
        pq = milekit.export("users", tmp_path / "u.parquet", client=c, progress=False)
        csv = milekit.export("users", tmp_path / "u.csv", client=c, progress=False)
        flat = milekit.users_frame(client=c, progress=False, flatten=True)
        with pytest.raises(errors.UsageError, match="secret"):
            milekit.users_frame(client=c, progress=False, fields=["name", "personalToken"])
    assert not any(col.startswith("personalToken") for col in flat.columns)
    for path in (pq.path, csv.path, Path(str(csv.path) + ".schema.json")):
        assert secret.encode() not in path.read_bytes()
    assert secret not in df.to_string() and secret not in repr(df.attrs)


def test_a_secret_in_a_paginated_page_is_dropped_on_the_fast_path(fresh: Sandbox) -> None:
    # a users list answered as a Laravel paginator goes through the Arrow fast path,
    # which types unknown keys on its own: the secret must be dropped there too
    import dataclasses

    from milekit.reads.pages import iter_pages
    from milekit.types import schema

    spec = dataclasses.replace(registry.get("users"), list_shape="laravel")
    rows = [{"_id": "u1", "name": "A", "personalToken": "pt_fast_path_secret"}]
    page = {"data": {"current_page": 1, "last_page": 1, "total": 1, "data": rows}}
    parsed, *_ = schema.PageParser(spec.rows, spec.listing).parse(orjson.dumps(page))
    assert "personalToken" in parsed.column_names  # the parser alone would keep it
    fresh.faults.add(status=200, body=page, times=None, path_prefix="/api/v3/users")
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        pages = list(iter_pages(spec.listing, spec.rows, {}, client=c, progress=False, cells=True))
    assert len(pages) == 1 and pages[0].table.column_names == ["_id", "name"]
    assert "personalToken" not in pages[0].cells


def test_unknown_resource_is_a_clear_error() -> None:
    # closed: an open client's shared limiter is a SQLite connection (unclosed, a
    # ResourceWarning under Python 3.13)
    with milekit.Client("t0ken-1234", "http://127.0.0.1:9") as c:
        with pytest.raises(errors.UsageError, match="known: "):
            milekit.frame("hub", client=c)


def test_numpy_free_cells_in_object_columns(
    client: milekit.Client, frames: dict[str, pd.DataFrame]
) -> None:
    df = _frame(frames, client, "routing_results")
    for c in df.columns:
        if df[c].dtype == object:
            assert not any(isinstance(v, np.ndarray) for v in df[c]), c


@pytest.mark.parametrize(
    "name", [n for n in READABLE if registry.get(n).list_shape == "laravel" and n != "tasks"]
)
def test_fast_and_fallback_parsers_agree_on_every_paginated_resource(
    name: str, client: milekit.Client
) -> None:
    from milekit.reads.plan import read_plan
    from milekit.types import schema
    from milekit.wire import envelope

    spec = registry.get(name)
    plan = read_plan(spec, {}, client)
    params = {spec.limit_param: spec.max_limit, spec.page_param: 1}
    content = client.request("GET", spec.list_path, params=params, raw=True).content
    slow_rows = envelope.list_page(orjson.loads(content), spec.listing, 1).rows
    slow = schema.to_pandas(schema.rows_to_table(slow_rows, plan.rows, plan.columns))
    try:
        fast_table, *_ = schema.PageParser(plan.rows, spec.listing, plan.columns).parse(content)
    except schema.FastPathMiss:
        # the Python path reads these (frames above): a bare paginator (vehicles), free-form
        # JSON objects (flow logs' rawData, schedules' task, data types' field defaults)
        assert name in {"vehicles", "flow_logs", "task_schedules", "data_types"}, name
        return
    fast = schema.to_pandas(fast_table)
    pd.testing.assert_frame_equal(fast, slow[fast.columns])
    assert set(fast.columns) == set(slow.columns)
