"""push() beyond tasks: every write goes by the registry's paths and methods (PATCH where the
API has it, the whole row by PUT where it has not, bulk where it exists), and a frame fresh
from the API has nothing to push."""

from __future__ import annotations

from typing import Any

import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.types.registry import RESOURCES
from milekit.writes.push import PushValidationError

READABLE = [
    n for n, s in RESOURCES.items() if s.list_path and n not in ("tasks_gallery", "flow_fields")
]


@pytest.fixture(scope="module")
def sb() -> Any:
    with Sandbox(tasks=40) as box:
        yield box


@pytest.fixture
def c(sb: Sandbox) -> Any:
    with milekit.Client(sb.token, sb.url) as client:
        yield client


@pytest.mark.parametrize("resource", READABLE)
def test_a_fresh_frame_has_nothing_to_push(c: milekit.Client, resource: str) -> None:
    """JSON-typed columns (JSON text in the snapshot, objects in the frame) included."""
    df = milekit.frame(resource, client=c, progress=False)
    assert milekit.diff(df).empty


# resource, column, value, the request it must make
EDITS = [
    ("vehicles", "name", "Truck X", ("PATCH", "/vehicle/{id}")),
    ("hubs", "address", "Jl. Baru 1", ("PUT", "/hub/{id}")),
    ("teams", "name", "Night Shift B", ("PUT", "/team/{id}/")),
    ("export_configs", "name", "Cfg X", ("PUT", "/export-config/{id}/")),
    ("data", "outletName", "Toko Baru", ("PATCH", "/datas/bulk")),
    ("automations", "name", "Auto X", ("PATCH", "/automation/{id}")),
    ("users", "name", "Budi X", ("PATCH", "/user/{id}")),
]


@pytest.mark.parametrize(("resource", "column", "value", "request_"), EDITS)
def test_one_edit_lands_through_the_registry_paths(
    sb: Sandbox, c: milekit.Client, resource: str, column: str, value: Any, request_: Any
) -> None:
    df = milekit.frame(resource, client=c, progress=False)
    rid = df.index[-1]
    df.at[rid, column] = value
    plan = milekit.push(df, resource, client=c, dry_run=True, progress=False).plan
    assert [(r.method, r.path) for r in plan.requests] == [request_]
    before = len(sb.store.write_log)
    result = milekit.push(df, resource, client=c, progress=False)
    assert result.frame.loc[rid, "status"] == "ok"
    assert len(sb.store.write_log) == before + 1  # one write, for the one edited row
    assert milekit.get(resource, rid, client=c).at[rid, column] == value


def test_an_undocumented_column_is_refused_not_dropped(c: milekit.Client) -> None:
    df = milekit.frame("flows", client=c, progress=False)
    rid = df.index[0]
    df.at[rid, "description"] = "the API documents no such key"
    with pytest.raises(PushValidationError, match="not a documented field of flows"):
        milekit.push(df, "flows", client=c, progress=False)
