"""The sandbox reads the one registry (:data:`milekit.types.registry.RESOURCES`).

For every resource, the sandbox's route table serves the standard operations the registry
declares (list, detail, create, update, patch, delete, bulk) at the declared paths with
the declared methods, and every other route is an operation of the contract
(:data:`milekit.types.registry.OPERATIONS`). Over a real loopback socket, every list answers
with its rows under the registry's envelope key and list shape (as the client's own
:func:`milekit.wire.envelope.list_page` reads them), pages with the registry's page/limit
parameter names, default page size and maximum (above it: the documented 400, as for
tasks), and sorts with the registry's sort parameter spellings; detail reads answer
under ``envelope_one`` with ``id_field``; creates require ``required_on_create``; bulk
calls take ``bulk_key`` and ``bulk_max``.

The same checks then run against a sandbox built from a *changed* registry (every path,
envelope key and parameter renamed, page sizes and bulk maxima lowered, a required field
added): the sandbox follows the change, so it reads the registry rather than agreeing
with it. Tasks and the gallery keep their entries there: the task query engine reads the
tasks entry once, at import (``milekit.sandbox.resources.task.service.SPEC``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
import requests

from milekit.sandbox import Sandbox
from milekit.sandbox.http import attribute
from milekit.types.registry import OPERATIONS, RESOURCES, ResourceSpec, overridden
from milekit.wire import envelope
from tests.reference import PAGINATOR_KEYS
from tests.sandbox.conftest import AUTH
from tests.sandbox.test_sandbox_resources import CRUDS, first, worker

#: ResourceSpec path attribute -> (HTTP method, the contract's operation kind); a full
#: update uses the spec's ``update_method`` (POST for app integrations)
STANDARD: dict[str, tuple[str, str]] = {
    "list_path": ("GET", "list"),
    "detail_path": ("GET", "detail"),
    "create_path": ("POST", "create"),
    "update_path": ("PUT", "replace"),
    "patch_path": ("PATCH", "update"),
    "delete_path": ("DELETE", "delete"),
    "bulk_create_path": ("POST", "bulk_create"),
    "bulk_update_path": ("PATCH", "bulk_update"),
    "bulk_replace_path": ("PUT", "bulk_update"),  # PUT /tasks/bulk/# in the contract
    "bulk_delete_path": ("DELETE", "bulk_delete"),
    "bulk_upsert_path": ("POST", "action"),  # POST /data/bulk/upsert
}
#: Where the sandbox's answer or limit differs from the registry's one value, as the
#: reference documents: (resource, attribute) -> (bulk maximum, answer array key)
BULK_EXCEPTIONS: dict[tuple[str, str], tuple[int | None, str | None]] = {
    # note 43: DELETE /datas/bulk takes up to 3000 (the registry's bulk_max is the others')
    ("data", "bulk_delete_path"): (3000, None),
    # note 45: POST /vehicles/ answers {"success", "failed", "data": [{_id, message}]}
    ("vehicles", "bulk_create_path"): (None, "data"),
}
#: The field a list is sorted by in the sort check (default: the id field): plugins sort
#: only by name/createdTime/updatedTime/usageCount (note 48); automation-log hits sort on
#: their ``_source`` (note 42), which holds no id
SORT_FIELD = {"plugins": "name", "automation_logs": "timestamp"}
ORDER_SPELLINGS = ("sortOrder", "sort_order", "order")  # note 9


def declared(spec: ResourceSpec) -> list[tuple[str, str, str]]:
    """``(attribute, method, path)`` of the standard operations ``spec`` declares."""
    out = []
    for attr, (method, _) in STANDARD.items():
        path = getattr(spec, attr)
        if path:
            out.append((attr, spec.update_method if attr == "update_path" else method, path))
    return out


def shape(path: str) -> str:
    """A path with parameter names, ``#`` and trailing slashes left out (notes 7-8)."""
    return re.sub(r"\{\w+\}", "{}", path.replace("#", "").rstrip("/")) or "/"


OPS = {(o.method, shape(o.path)): o for o in OPERATIONS}


def changed(spec: ResourceSpec) -> ResourceSpec:
    """``spec`` with every path, key and parameter renamed, maxima lowered and a required
    field added (the id field and list shape stay: the stored documents carry them)."""
    out: dict[str, Any] = {a: "/v9" + getattr(spec, a) for a in STANDARD if getattr(spec, a)}
    by, order = spec.sort_params
    out.update(
        envelope_list=f"v9_{spec.envelope_list}" if spec.envelope_list else "",
        envelope_one=f"v9_{spec.envelope_one}" if spec.envelope_one else "",
        page_param="p9",
        limit_param="n9",
        sort_params=(by and f"v9{by}", order and f"v9{order}"),
        bulk_key="v9Items" if spec.bulk_key else None,
        bulk_max=3,
    )
    if spec.create_path:
        out["required_on_create"] = (*spec.required_on_create, "v9Key")
    if spec.paginated:
        out.update(max_limit=7, default_limit=3)
    return dataclasses.replace(spec, **out)


CHANGED = {n: changed(s) for n, s in RESOURCES.items() if n not in ("tasks", "tasks_gallery")}


class World(NamedTuple):
    """A running sandbox and the registry it was built from."""

    variant: str  #: "registry" or "changed"
    sb: Sandbox
    specs: dict[str, ResourceSpec]
    http: requests.Session


@pytest.fixture(scope="module", params=["registry", "changed"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "registry":
        specs = dict(RESOURCES)
        sb = Sandbox(tasks=300, seed=3, rate_limit=None)
    else:
        specs = {**RESOURCES, **CHANGED}
        with overridden(**CHANGED):
            sb = Sandbox(tasks=300, seed=3, rate_limit=None)  # reads the changed registry
    with sb, requests.Session() as http:
        http.headers.update(AUTH)
        yield World(request.param, sb, specs, http)


def names(pred: Callable[[ResourceSpec], object] = lambda s: True) -> list[str]:
    return [n for n, s in RESOURCES.items() if pred(s)]


# --- the registry and the contract ------------------------------------------------------------


def test_every_declared_operation_is_an_operation_of_the_contract() -> None:
    for name, spec in RESOURCES.items():
        for attr, method, path in declared(spec):
            op = OPS.get((method, shape(path)))
            assert op is not None, (name, attr, method, path)
            assert (op.resource, op.kind) == (name, STANDARD[attr][1]), (name, attr, op)


# --- the route table ------------------------------------------------------------------------


def test_the_route_table_serves_every_declared_operation(world: World) -> None:
    router = world.sb.app.router
    served = 0
    for name, spec in world.specs.items():
        for attr, method, path in declared(spec):
            concrete = path.replace("{id}", "a1b2").rstrip("/")  # the app strips it (note 7)
            route, params = router.match(method, concrete)
            assert route.op == (name, attr), (name, attr, method, path, route)
            assert params == ({"id": "a1b2"} if "{id}" in path else {})
            served += 1
    assert served == sum(len(declared(s)) for s in RESOURCES.values()) >= 90


def test_every_other_route_is_a_documented_action(world: World) -> None:
    """Routes not built from the registry are the contract's irregular operations, never a
    standard one spelt out by hand; together the routes serve all 144 operations."""
    standard = {(m, shape(p)) for s in RESOURCES.values() for _, m, p in declared(s)}
    literal = set()
    for route in world.sb.app.router.routes:
        key = (route.method, shape(route.path))
        if route.op is not None:
            continue
        literal.add(key)
        if key == ("POST", "/plugin/{}"):
            continue  # Laravel's _method=PUT spoof of PUT /plugin/{id} (note 48)
        assert key in OPS, key
        assert key not in standard, f"{key} is a standard operation: route it from the registry"
    assert len(literal) >= 30
    served = {(r.method, shape(r.path)) for r in world.sb.app.router.routes}
    if world.variant == "registry":
        assert set(OPS) <= served and len(served) == len(OPS) + 1 == 145  # + the spoof
    else:  # the changed registry moved every standard operation but the tasks'
        assert {(m, shape(p)) for s in CHANGED.values() for _, m, p in declared(s)} <= served


def test_the_paths_of_the_other_registry_are_unknown(world: World) -> None:
    """Each sandbox serves its own registry's paths only: the registry's sandbox knows
    nothing under /v9, the changed one answers 404/405 on every path it moved."""
    other = CHANGED if world.variant == "registry" else RESOURCES
    checked = 0
    for name in CHANGED:
        for attr, method, path in declared(other[name]):
            url = world.sb.url + path.replace("{id}", "0" * 24)
            r = world.http.request(method, url, json={})
            assert r.status_code in (404, 405), (name, attr, method, path, r.status_code)
            assert r.json()["status"] is False
            checked += 1
    assert checked >= 70


# --- lists ----------------------------------------------------------------------------------


def row_id(spec: ResourceSpec, row: dict[str, Any]) -> Any:
    return row.get(spec.id_field)


def listed(spec: ResourceSpec, body: Any) -> tuple[list[dict[str, Any]], int | None]:
    """The rows of a list answer, found with the registry's envelope key and list shape,
    and the page size the answer states (None where it states none)."""
    env = body[spec.envelope_list] if spec.envelope_list else body
    if spec.list_shape == "laravel":
        assert PAGINATOR_KEYS <= set(env)
        return env["data"], env["per_page"]
    if spec.list_shape == "array":
        assert isinstance(env, list)
        return env, None
    if spec.list_shape == "activity":
        assert {"activities", "total", "currentPage", "lastPage", "perPage"} <= set(env)
        return env["activities"], env["perPage"]
    if spec.list_shape == "elastic":
        assert isinstance(env, list) and all({"_id", "_source"} <= set(h) for h in env)
        return env, body["params"]["size"]
    assert spec.list_shape == "gallery"
    assert {"data", "buffer", "page_processed", "last_page", "total_estimate"} <= set(env)
    return env["data"], None


def get_rows(
    w: World, spec: ResourceSpec, params: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    r = w.http.get(w.sb.url + spec.list_path, params=params)
    assert r.status_code == 200, (spec.name, params, r.text[:300])
    rows, size = listed(spec, r.json())
    page = envelope.list_page(r.json(), spec.listing, 1)  # the client reads the same rows
    assert len(page.rows) == len(rows)
    if spec.list_shape != "elastic":
        assert [row_id(spec, x) for x in page.rows] == [row_id(spec, x) for x in rows]
    assert all(row_id(spec, x) for x in rows), spec.name
    return rows, size


@pytest.mark.parametrize("name", names())
def test_lists_answer_under_the_registry_envelope_and_page_with_its_parameters(
    world: World, name: str
) -> None:
    spec = world.specs[name]
    rows, size = get_rows(world, spec)
    assert rows, name
    if not spec.paginated:  # users, roles, locked members, flow fields: one answer
        held = "flows" if name == "flow_fields" else name  # one row of fields per flow
        assert size is None and len(rows) == world.sb.store.count(held)
        again, _ = get_rows(world, spec, {"limit": 1, "page": 2, "pageSize": 1})
        assert again == rows
        return
    limit, page = spec.limit_param, spec.page_param
    everything, _ = get_rows(world, spec, {limit: spec.max_limit})
    default = spec.default_limit
    assert default is not None
    assert len(rows) == min(default, len(everything)) and size in (None, default)
    one, size = get_rows(world, spec, {limit: 1})
    assert len(one) == 1 and size in (None, 1)
    if len(everything) > 1:
        second, _ = get_rows(world, spec, {limit: 1, page: 2})
        assert [row_id(spec, x) for x in second] == [row_id(spec, everything[1])]
    other = "limit" if limit != "limit" else "pageSize"
    ignored, size = get_rows(world, spec, {other: 1})  # another spelling is not the limit
    assert len(ignored) == len(rows) and size in (None, default)
    # above the maximum: capped to it (note 28)
    over, size = get_rows(world, spec, {limit: spec.max_limit * 5})
    assert len(over) == len(everything) and size in (None, spec.max_limit), name


@pytest.mark.parametrize("name", names(lambda s: s.sort_params != (None, None)))
def test_lists_sort_with_the_registry_parameter_names(world: World, name: str) -> None:
    spec = world.specs[name]
    url = world.sb.url + spec.list_path
    by, order = spec.sort_params
    assert order is not None
    for spelling in {*ORDER_SPELLINGS, order}:
        r = world.http.get(url, params={spelling: "sideways"})
        if spelling == order:
            assert r.status_code == 400, (name, spelling, r.text[:200])
            assert r.json()["message"] == f"The selected {attribute(order)} is invalid."
        else:
            assert r.status_code == 200, (name, spelling, r.text[:200])  # not this list's
    if by is None:
        return  # sorted by a fixed field (location history by time, logs by createdTime)
    field = SORT_FIELD.get(name, spec.id_field)
    size = {spec.limit_param: min(50, spec.max_limit)}

    def values(direction: str) -> list[str]:
        rows, _ = get_rows(world, spec, {**size, by: field, order: direction})
        return [str(x.get(field) or x.get("_source", {}).get(field) or "").lower() for x in rows]

    asc, desc = values("asc"), values("desc")
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True), name
    assert len(set(asc)) > 1 and asc != desc, name


@pytest.mark.parametrize("name", names(lambda s: bool(s.detail_path)))
def test_detail_reads_answer_under_envelope_one_with_the_id_field(world: World, name: str) -> None:
    spec = world.specs[name]
    rows, _ = get_rows(world, spec)
    ident = row_id(spec, rows[0])
    r = world.http.get(world.sb.url + spec.detail_path.replace("{id}", quote(ident, safe="")))
    assert r.status_code == 200, (name, r.text[:200])
    assert r.json()[spec.envelope_one][spec.id_field] == ident
    assert envelope.unwrap(r.json(), spec.envelope_one)[spec.id_field] == ident


# --- creates and bulk calls -------------------------------------------------------------------

Payload = Callable[[Sandbox], tuple[Any, bool]]  #: a valid create body, multipart or not


def _crud(name: str) -> Payload:
    crud = next(c for c in CRUDS if c.name == name)
    return lambda sb: (crud.create(sb)[2], crud.multipart)


def _hub(sb: Sandbox) -> str:
    return str(first(sb, "hubs")["_id"])


PAYLOADS: dict[str, Payload] = {
    **{c.name: _crud(c.name) for c in CRUDS},
    "tasks": lambda sb: ({"flow": "Pickup", "hubId": _hub(sb), "title": "Registry"}, False),
    "activities": lambda sb: (
        {
            "workflowId": first(sb, "workflows")["_id"],
            "hubId": _hub(sb),
            "tasks": [{"assignee": worker(sb)["email"]}, {"receiverName": "Budi"}],
        },
        False,
    ),
}


def send(w: World, method: str, url: str, body: Any, multipart: bool) -> requests.Response:
    if multipart:
        return w.http.request(method, url, files=body)
    return w.http.request(method, url, json=body)


def test_every_creatable_resource_has_a_payload() -> None:
    assert set(PAYLOADS) == set(names(lambda s: bool(s.create_path)))


@pytest.mark.parametrize("name", names(lambda s: bool(s.create_path)))
def test_creates_require_the_registry_required_fields(world: World, name: str) -> None:
    spec = world.specs[name]
    assert spec.create_path is not None and spec.required_on_create
    payload, multipart = PAYLOADS[name](world.sb)
    logged = len(world.sb.store.write_log)
    for key in spec.required_on_create:
        body = {k: v for k, v in payload.items() if k != key}
        r = send(world, "POST", world.sb.url + spec.create_path, body, multipart)
        assert r.status_code == 400, (name, key, r.status_code, r.text[:200])
        label = key if name == "activities" else attribute(key)  # note 36: "The workflowId ..."
        assert r.json()["message"] == f"The {label} field is required.", (name, key)
    assert len(world.sb.store.write_log) == logged
    r = send(world, "POST", world.sb.url + spec.create_path, payload, multipart)
    if "v9Key" in spec.required_on_create:
        assert r.status_code == 400  # the changed registry's extra field is missing
    else:
        assert r.status_code in (200, 201), (name, r.text[:300])  # the rest was valid


BULK = [
    (n, attr, method, path)
    for n, s in RESOURCES.items()
    for attr, method, path in declared(s)
    if attr.startswith("bulk_")
]


@pytest.mark.parametrize(
    "name,attr,method,path", BULK, ids=[f"{n}.{a.removesuffix('_path')}" for n, a, _, _ in BULK]
)
def test_bulk_calls_take_the_registry_bulk_key_and_maximum(
    world: World, name: str, attr: str, method: str, path: str
) -> None:
    spec = world.specs[name]
    key = spec.bulk_key
    assert key is not None
    url = world.sb.url + getattr(spec, attr)
    maximum, answer_key = BULK_EXCEPTIONS.get((name, attr), (None, None))
    maximum = maximum or spec.bulk_max
    r = world.http.request(method, url, json={})
    assert (
        r.status_code == 400 and r.json()["message"] == f"The {attribute(key)} field is required."
    )
    r = world.http.request(method, url, json={key: [{}] * (maximum + 1)})
    assert r.status_code == 400, (name, attr, r.text[:200])
    assert r.json()["message"] == f"The {attribute(key)} may not have more than {maximum} items."
    r = world.http.request(method, url, json={key: [{}]})  # one invalid item: a summary
    assert r.status_code in (200, 201), (name, attr, r.text[:200])
    body = r.json()
    assert (body["success"], body["failed"]) == (0, 1)
    assert len(body[answer_key or key]) == 1


# --- corrections found on the way -------------------------------------------------------------


def test_data_records_need_a_hub_only_when_their_type_is_not_common() -> None:
    """note 43: hubId is required "unless commonData": the registry no longer demands it of
    every record (the client would refuse valid creates); the sandbox checks it per type."""
    assert RESOURCES["data"].required_on_create == ("dataId", "dataTypeId")
    with Sandbox(tasks=5, seed=3, rate_limit=None) as sb, requests.Session() as http:
        http.headers.update(AUTH)
        types = {d["name"]: d for d in sb.store.values("data_types")}
        assert types["Customer"]["commonData"] and not types["Store"]["commonData"]
        common = {"dataId": "C-NEW", "dataTypeId": types["Customer"]["_id"], "customerName": "A"}
        r = http.post(sb.url + "/data", json=common)
        assert r.status_code == 201 and "hubId" not in r.json()["data"]
        store = {"dataId": "S-NEW", "dataTypeId": types["Store"]["_id"], "outletName": "B"}
        r = http.post(sb.url + "/data", json={**store, "outletType": "warung"})
        assert (r.status_code, r.json()["message"]) == (400, "The hub id field is required.")


def test_automations_need_the_keys_of_their_type_not_an_automation_details_object() -> None:
    """POST /automation's schema requires name, event and automationType (the registry's
    required fields); what a type needs inside automationDetails is checked per type."""
    assert RESOURCES["automations"].required_on_create == ("name", "event", "automationType")
    with Sandbox(tasks=5, seed=3, rate_limit=None) as sb, requests.Session() as http:
        http.headers.update(AUTH)
        body = {"name": "Hook", "event": "onTaskCreated", "automationType": "webhook"}
        r = http.post(sb.url + "/automation", json=body)
        assert (r.status_code, r.json()["message"]) == (
            400,
            "The automation details.url field is required.",
        )
        details = {"automationDetails": {"url": "https://erp.example/hook"}}
        assert http.post(sb.url + "/automation", json={**body, **details}).status_code == 200


def test_vehicles_bulk_create_takes_the_registry_bulk_max() -> None:
    """POST /vehicles/ states no maximum (note 45); the registry's 2000 (as tasks and data) is
    what the client chunks by, so the sandbox takes 2000 too (it refused above 1000)."""
    spec = RESOURCES["vehicles"]
    assert spec.bulk_max == 2000
    with Sandbox(tasks=5, seed=3, rate_limit=None) as sb, requests.Session() as http:
        http.headers.update(AUTH)
        hub = _hub(sb)
        items = [{"name": f"B {k} T", "hubId": hub} for k in range(spec.bulk_max)]
        r = http.post(sb.url + "/vehicles/", json={"vehicles": items})
        assert r.status_code == 200 and (r.json()["success"], r.json()["failed"]) == (2000, 0)
