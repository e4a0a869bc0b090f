"""The resource registry against MileApp's OpenAPI contract (``data/openapi``).

The generated module must equal a fresh run of ``tools/gen_registry.py``; every operation
of the contract must be placed; every readable resource must be complete; the field types
users rely on, and every hand correction, are checked one by one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.types import _generated as gen
from milekit.types import registry
from milekit.types.registry import (
    CHILDREN,
    DETAIL_FORMS,
    NOT_FRAMES,
    OPERATIONS,
    RESOURCES,
    TASKS,
    VIEWS,
    Field,
    FieldType,
    ResourceSpec,
    get,
    get_child,
)

F = FieldType
ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "data" / "openapi" / "openapi-full.json"
TOOLS = ROOT / "tools"

#: the registry names other parts of milekit (sandbox, frames) are built against
REQUIRED = {
    "tasks",
    "task_schedules",
    "activities",
    "location_histories",
    "flows",
    "flow_logs",
    "automations",
    "automation_logs",
    "data",
    "data_types",
    "vehicles",
    "routing_results",
    "users",
    "teams",
    "roles",
    "hubs",
    "export_configs",
    "export_logs",
    "import_monitoring",
    "plugins",
    "app_integrations",
}


@cache
def contract() -> dict[str, Any]:
    return json.loads(OPENAPI.read_bytes())  # type: ignore[no-any-return]


def _load(name: str) -> ModuleType:
    """A module of tools/ (not a package), loaded by path."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def field_at(fields: tuple[Field, ...], dotted: str) -> Field:
    """The field at a dotted path (``workingTime.startTime``)."""
    head, _, rest = dotted.partition(".")
    f = next((f for f in fields if f.name == head), None)
    if f is None:
        raise KeyError(dotted)
    return field_at(f.children, rest) if rest else f


# --- the generated module is the generator's output -----------------------------------------


def test_generated_module_equals_a_fresh_run(tmp_path: Path) -> None:
    out = tmp_path / "fresh.py"
    r = subprocess.run(
        [sys.executable, str(TOOLS / "gen_registry.py"), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    committed = (ROOT / "milekit" / "types" / "_generated.py").read_bytes()
    assert out.read_bytes() == committed, "stale: run python tools/gen_registry.py"


def test_generated_module_names_its_input_and_says_do_not_edit() -> None:
    import hashlib

    text = (ROOT / "milekit" / "types" / "_generated.py").read_text(encoding="utf-8")
    assert "DO NOT EDIT" in text.splitlines()[0]
    assert "python tools/gen_registry.py" in text
    assert gen.OPENAPI_SHA256 == hashlib.sha256(OPENAPI.read_bytes()).hexdigest()


def test_the_package_never_reads_the_openapi_file() -> None:
    script = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'open' else None)\n"
        "import milekit.types.registry as r\n"
        "assert len(r.RESOURCES) > 20\n"
        "print('\\n'.join(opened))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    assert "openapi" not in r.stdout.lower()


def test_an_unsettled_disagreement_stops_the_generator() -> None:
    gr = _load("gen_registry")
    ov = gr.ov
    saved = ov.FIELD_FIXES["vehicles"].pop("speed")
    try:
        with pytest.raises(gr.GenerationError, match=r"vehicles: speed: schema says string"):
            gr.generate()
    finally:
        ov.FIELD_FIXES["vehicles"]["speed"] = saved


def test_a_fix_that_matches_nothing_stops_the_generator() -> None:
    gr = _load("gen_registry")
    ov = gr.ov
    ov.FIELD_FIXES["hubs"]["noSuchField"] = ov.Fix("String")
    try:
        with pytest.raises(gr.GenerationError, match="noSuchField"):
            gr.generate()
    finally:
        del ov.FIELD_FIXES["hubs"]["noSuchField"]


def test_the_generator_reads_enums_and_times_the_way_the_docs_write_them() -> None:
    gr = _load("gen_registry")
    assert gr.enum_from_description("types. \n *enum: task, data, routingResult* \n x") == (
        "task",
        "data",
        "routingResult",
    )
    assert gr.enum_from_description("**enum**: `UNASSIGNED`,`ONGOING`,`DONE`\n**Ex") == (
        "UNASSIGNED",
        "ONGOING",
        "DONE",
    )
    assert gr.enum_from_description(
        "Available values are: \n `en` : English (USA) \n `id` : Indonesia (IDN)"
    ) == ("en", "id")
    assert gr.enum_from_description("Name of the hub.") == ()
    assert gr.temporal(["2023-02-03 01:32:11", "2021-12-14T04:30:45.538000Z"]) == "Datetime"
    assert gr.temporal(["2022-11-02", "2024-09-01 00:00"]) == "Datetime"
    assert gr.temporal(["2023-08-08"]) == "Date"
    assert gr.temporal(["8:00:00", "08:30"]) == "Time"
    assert gr.temporal(["08:00", "Jakarta"]) is None


# --- operations ---------------------------------------------------------------------------


def test_all_144_operations_are_listed_in_the_contracts_order() -> None:
    expected = [
        (m.upper(), p, op.get("operationId"), op["tags"][0])
        for p, item in contract()["paths"].items()
        for m, op in item.items()
        if m in ("get", "post", "put", "patch", "delete")
    ]
    assert len(expected) == 144
    assert [(o.method, o.path, o.operation_id, o.tag) for o in OPERATIONS] == expected


def test_every_operation_belongs_to_a_registered_resource() -> None:
    kinds = {
        "list",
        "detail",
        "create",
        "replace",
        "update",
        "delete",
        "bulk_create",
        "bulk_update",
        "bulk_delete",
        "action",
        "other",
    }
    for o in OPERATIONS:
        assert o.kind in kinds
        if o.path == "/file/view":
            assert o.resource is None
        else:
            assert o.resource in RESOURCES, o


def test_every_get_is_a_frame_or_says_why_not() -> None:
    for o in OPERATIONS:
        if o.method != "GET":
            assert (o.method, o.path) not in NOT_FRAMES
            continue
        if o.kind in ("list", "detail"):
            assert o.resource in RESOURCES
            assert (o.method, o.path) not in NOT_FRAMES
        elif any(_shape(v.path) == _shape(o.path) for v in VIEWS.values()):
            assert (o.method, o.path) not in NOT_FRAMES, o  # a view, read as a frame
        else:
            assert len(NOT_FRAMES[(o.method, o.path)]) > 20, o
    assert list(NOT_FRAMES) == [("GET", "/file/view")]
    assert NOT_FRAMES[("GET", "/file/view")].startswith("streams one stored file")
    assert "raw=True" in NOT_FRAMES[("GET", "/file/view")]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")


def test_views_and_detail_forms_are_operations_of_the_contract() -> None:
    gets = {_shape(o.path): o for o in OPERATIONS if o.method == "GET"}
    for v in VIEWS.values():
        op = gets[_shape(v.path)]
        assert op.kind == "other", v.name
        assert v.like is None or v.like in RESOURCES or v.like in CHILDREN

        assert v.index is None or v.index in v.rows.field_names, v.name
    for resource, forms in DETAIL_FORMS.items():
        assert resource in RESOURCES
        for f in forms:
            assert gets[_shape(f.path)].kind == "detail"
            assert gets[_shape(f.path)].resource == resource


def test_each_resource_is_read_through_its_own_list_operation() -> None:
    lists = {o.resource: o.path for o in OPERATIONS if o.kind == "list"}
    assert set(lists) == set(RESOURCES)
    for name, spec in RESOURCES.items():
        assert lists[name] == spec.list_path


def _norm(path: str) -> str:
    path = path.removesuffix("/#")
    params = re.findall(r"\{[^}]+\}", path)
    return path.replace(params[0], "{id}") if len(params) == 1 else path


def test_the_paths_of_a_resource_are_its_operations() -> None:
    by = {(o.resource, o.method, _norm(o.path)): o.kind for o in OPERATIONS}
    for name, spec in RESOURCES.items():
        wanted: list[tuple[str | None, str, str]] = [
            (spec.detail_path or None, "GET", "detail"),
            (spec.create_path, "POST", "create"),
            (spec.update_path, spec.update_method, "replace"),
            (spec.patch_path, "PATCH", "update"),
            (spec.delete_path, "DELETE", "delete"),
            (spec.bulk_create_path, "POST", "bulk_create"),
            (spec.bulk_replace_path, "PUT", "bulk_update"),
            (spec.bulk_delete_path, "DELETE", "bulk_delete"),
        ]
        for path, method, kind in wanted:
            if path is not None:
                assert by.get((name, method, path)) == kind, (name, method, path)
        if spec.bulk_update_path is not None:  # PATCH many, or PUT where that is all
            p = spec.bulk_update_path
            assert "bulk_update" in (by.get((name, "PATCH", p)), by.get((name, "PUT", p)))
    tasks = RESOURCES["tasks"]
    assert (tasks.bulk_create_path, tasks.bulk_update_path, tasks.bulk_replace_path) == (
        "/tasks/bulk/",
        "/tasks/bulk",
        "/tasks/bulk",
    )
    assert RESOURCES["users"].delete_path == "/member/{id}"
    assert RESOURCES["routing_results"].create_path == "/routing"
    assert RESOURCES["app_integrations"].update_method == "POST"
    assert RESOURCES["data"].bulk_upsert_path == "/data/bulk/upsert"


# --- every resource is complete ---------------------------------------------------------


def test_the_agreed_resource_names_are_all_there() -> None:
    assert set(RESOURCES) >= REQUIRED
    assert set(RESOURCES) - REQUIRED <= {
        "tasks_gallery",
        "task_tracking",
        "flow_fields",
        "flow_components",
        "locked_members",
        "routing_result_history",
    }


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_resource_is_complete(name: str) -> None:
    spec = get(name)
    assert spec.name == name
    assert spec.id_field in spec.field_names
    assert spec.list_shape in ("laravel", "array", "activity", "elastic", "gallery")
    assert isinstance(spec.envelope_list, str) and isinstance(spec.envelope_one, str)
    assert spec.list_path.startswith("/") and spec.tag and spec.doc
    assert len(spec.fields) >= 3
    assert len({f.type for f in spec.fields}) >= 2
    assert 0 < spec.max_limit <= 1000
    if spec.default_limit is not None:
        assert spec.default_limit <= spec.max_limit
    assert spec.page_param == "page"
    assert spec.limit_param in ("limit", "pageSize")
    assert spec.page_param not in spec.filters and spec.limit_param not in spec.filters
    for f in spec.fields:
        _check_field(f)
    assert not set(spec.secret_fields) & set(spec.field_names)


def _check_field(f: Field) -> None:
    assert isinstance(f.type, FieldType)
    if f.type is F.ENUM:
        assert f.enum and all(isinstance(v, str) for v in f.enum)
    else:
        assert not f.enum
    if f.type in (F.OBJECT, F.ARRAY_OBJECT):
        assert f.children, f.name
    else:
        assert not f.children, f.name
    for c in f.children:
        _check_field(c)


def test_envelopes_and_shapes_follow_the_reference() -> None:
    # note 4 note 1 (keys), note 4 (shapes), note 35 (paging, sorting)
    want = {
        "tasks": ("tasks", "task", "laravel"),
        "location_histories": ("tasks", "location_history", "laravel"),
        "task_schedules": ("taskSchedules", "taskSchedules", "laravel"),
        "flows": ("flows", "flow", "laravel"),
        "data_types": ("data_types", "data_type", "laravel"),
        "data": ("data", "data", "laravel"),
        "automations": ("data", "data", "laravel"),
        "teams": ("data", "data", "laravel"),
        "routing_results": ("data", "data", "laravel"),
        "plugins": ("data", "data", "laravel"),
        "hubs": ("data", "data", "array"),
        "users": ("data", "data", "array"),
        "roles": ("data", "data", "array"),
        "activities": ("data", "data", "activity"),
        "automation_logs": ("data", "", "elastic"),
        "export_logs": ("data", "", "elastic"),
        "tasks_gallery": ("tasks", "", "gallery"),
    }
    for name, (lst, one, shape) in want.items():
        spec = RESOURCES[name]
        assert (spec.envelope_list, spec.envelope_one, spec.list_shape) == (lst, one, shape)
    assert RESOURCES["vehicles"].envelope_list == ""  # a bare paginator (schema, note 50)
    assert RESOURCES["activities"].limit_param == "pageSize"
    assert RESOURCES["activities"].default_limit == 15
    assert RESOURCES["activities"].sort_params == ("sort", "order")
    assert RESOURCES["flows"].sort_params == ("sort_by", "sort_order")
    assert RESOURCES["vehicles"].sort_params == ("sortBy", "sortOrder")
    assert RESOURCES["location_histories"].sort_params == (None, "sortOrder")
    maxima = {n: RESOURCES[n].max_limit for n in ("export_logs", "import_monitoring", "plugins")}
    assert maxima == {"export_logs": 100, "import_monitoring": 100, "plugins": 100}
    assert RESOURCES["tasks"].max_limit == RESOURCES["vehicles"].max_limit == 1000
    assert RESOURCES["plugins"].id_field == "id"  # note 34: plugins expose id, not _id
    assert RESOURCES["locked_members"].id_field == "email"
    assert not RESOURCES["users"].paginated and not RESOURCES["roles"].paginated
    assert RESOURCES["hubs"].paginated  # page/limit accepted, a plain array answered
    assert RESOURCES["task_schedules"].bulk_max == 50
    assert RESOURCES["location_histories"].bulk_key == "location_histories"
    assert RESOURCES["plugins"].create_content_type == "multipart/form-data"


def test_filters_are_the_documented_query_parameters() -> None:
    vehicles = RESOURCES["vehicles"].filters
    assert list(vehicles) == ["hubId", "name", "tags", "assignee", "sortBy", "sortOrder"]
    assert vehicles["name"].startswith("This field will search vehicles")
    assert all(doc for spec in RESOURCES.values() for doc in spec.filters.values())
    assert set(RESOURCES["location_histories"].filters) >= {"email", "timeBy", "eventName"}
    assert "pageSize" not in RESOURCES["activities"].filters
    assert set(RESOURCES["export_logs"].filters) == {
        "sortBy",
        "sortOrder",
        "dataName",
        "dataType",
        "status",
        "email",
    }
    # tasks keep their curated filters: no cursor mode (its answer is undocumented, note 35)
    assert "lazyLoad" not in TASKS.filters and "lazyLoad" in gen.RESOURCES["tasks"].filters


# --- the field types users rely on ----------------------------------------------------------


def test_vehicle_fields() -> None:
    v = RESOURCES["vehicles"]
    wt = v.field("workingTime")
    assert wt.type is F.OBJECT  # an array in the schema, an object in data (note 11)
    assert (wt.child("startTime").type, wt.child("endTime").type) == (F.TIME, F.TIME)
    assert wt.child("multiday").type is F.INTEGER
    assert v.field("breakTime").child("startTime").type is F.TIME
    assert v.field("speed").type is F.INTEGER  # typed string in the schema (note 10)
    assert v.field("capacity").type is F.JSON  # {constraint: {min, max}}
    assert v.field("oddEven").enum == ("odd", "even")
    assert v.field("tags").type is F.ARRAY_STRING
    assert v.field("updatedTime").type is F.DATETIME
    assert v.required_on_create == ("name", "assignee", "workingTime", "hubId")


def test_routing_result_fields() -> None:
    r = RESOURCES["routing_results"]
    assert r.field("routingDate").type is F.DATE
    for name in ("createdTime", "updatedTime", "finishTime"):
        assert r.field(name).type is F.DATETIME
    assert r.field("status").enum == ("ongoing", "done", "failed")
    trips = field_at(r.fields, "result.routing.trips")
    assert trips.type is F.ARRAY_OBJECT
    assert (trips.child("eta").type, trips.child("etd").type) == (F.TIME, F.TIME)
    assert trips.child("coordinate").type is F.STRING
    assert trips.child("order").type is F.INTEGER
    assert field_at(r.fields, "result.summary.avgFinishTime").type is F.TIME
    assert r.field("user").child("name").type is F.STRING
    assert "data" not in r.field_names  # the list schema's {data: string} artefact


def test_user_fields() -> None:
    u = RESOURCES["users"]
    assert u.field("email").type is F.STRING
    assert u.field("status").enum == ("active", "inactive", "pending", "disabled", "reject")
    assert u.field("language").enum == ("en", "id", "jp", "zh", "vi", "tl", "th")
    assert u.field("hubId").type is F.ARRAY_STRING
    assert u.field("lastLogin").type is F.DATETIME
    assert u.field("role").type is F.OBJECT
    assert "personalToken" not in u.field_names and u.secret_fields == ("personalToken",)
    assert set(u.writable_fields) == {"name", "email", "phoneNumber", "hubId", "teamId"}


def test_automation_enums() -> None:
    a = RESOURCES["automations"]
    assert a.field("event").enum == (
        "onTaskCreated",
        "onTaskFinished",
        "onTaskAssigned",
        "onDataSourceCreated",
        "onRoutingResultFinished",
        "onRoutingResultDispatched",
        "onStartTrip",
        "onFinishTrip",
    )
    assert "webhook" in a.field("automationType").enum
    assert "notification" in a.field("automationType").enum
    assert a.field("dataType").enum == ("task", "data", "routingResult", "locationHistory")
    assert a.field("isActive").type is F.BOOLEAN
    details = a.field("automationDetails")
    assert details.child("headers").type is F.JSON
    assert details.child("assignee").type is F.ARRAY_STRING
    assert {"automationDetails", "rules", "name", "event"} <= set(a.writable_fields)


def test_location_history_fields() -> None:
    h = RESOURCES["location_histories"]
    for name in ("createdTime", "updatedTime", "startTime"):
        assert h.field(name).type is F.DATETIME  # naive 'Y-m-d H:i:s' (note 6)
    assert (h.field("lat").type, h.field("lon").type) == (F.FLOAT, F.FLOAT)
    assert h.field("time").type is F.INTEGER  # epoch milliseconds
    assert h.field("finish").child("finishTime").type is F.DATETIME
    assert h.field("eventName").enum == ("otw", "nearBy", "done")
    assert h.required_on_create == ("email", "lat", "lon")
    assert h.field("createdTime").writable  # set by the writer (note 40)


def test_other_spot_checks() -> None:
    s = RESOURCES["task_schedules"]
    assert (s.field("startTime").type, s.field("endTime").type) == (F.DATE, F.DATE)
    assert field_at(s.fields, "schedules.time").type is F.ARRAY_STRING  # note 11
    assert s.field("task").type is F.JSON
    assert field_at(s.fields, "logExecuted.status").enum == ("PENDING", "SUCCESS", "FAILED")
    assert RESOURCES["data"].dynamic_fields and RESOURCES["tasks"].dynamic_fields
    assert RESOURCES["data"].field("createdTime").type is F.DATETIME
    assert field_at(RESOURCES["flows"].fields, "configurations.adjustment").type is F.INTEGER
    assert RESOURCES["import_monitoring"].field("status").enum == (
        "onprocess",
        "success",
        "partially",
        "failed",
    )
    assert RESOURCES["import_monitoring"].field("processedAt").type is F.DATETIME
    assert RESOURCES["export_logs"].field("requestAt").type is F.DATETIME
    assert RESOURCES["automation_logs"].field("statusCode").type is F.INTEGER
    assert RESOURCES["locked_members"].field("attempt").type is F.INTEGER
    assert RESOURCES["hubs"].field("lat").type is F.FLOAT
    assert RESOURCES["hubs"].field("countryCode").type is F.STRING
    assert RESOURCES["teams"].field("totalUser").type is F.INTEGER
    assert RESOURCES["plugins"].field("createdTime").type is F.DATETIME
    # a master task's status is its children's (note 39; the list filter's documented values)
    assert RESOURCES["activities"].field("status").enum == ("UNASSIGNED", "ONGOING", "DONE")
    assert RESOURCES["roles"].detail_only == ("permission",)
    assert RESOURCES["export_configs"].field("flowIds").type is F.ARRAY_STRING


def test_server_fields_are_read_only_and_bodies_writable() -> None:
    for spec in RESOURCES.values():
        for name in ("_id", "organizationId", "updatedTime"):
            if name in spec.field_names:
                assert not spec.field(name).writable, (spec.name, name)
    assert {"name", "hubId", "workingTime", "speed"} <= set(RESOURCES["vehicles"].writable_fields)
    assert "hubs" not in RESOURCES["vehicles"].writable_fields
    assert "lat" in RESOURCES["hubs"].writable_fields
    assert RESOURCES["roles"].writable_fields == ()  # read-only resource
    assert not RESOURCES["activities"].field("tasks").writable


# --- the hand corrections apply ---------------------------------------------------------------


def test_every_field_fix_is_in_the_generated_module() -> None:
    ov = _load("registry_overrides")
    seen = 0
    for resource, fixes in ov.FIELD_FIXES.items():
        fields = gen.RESOURCES[resource].fields
        for path, fix in fixes.items():
            if fix.drop:
                with pytest.raises(KeyError):
                    field_at(fields, path)
                continue
            f = field_at(fields, path)
            seen += 1
            if fix.type is not None:
                assert f.type.value == fix.type, (resource, path)
            if fix.enum is not None:
                assert f.enum == fix.enum, (resource, path)
            if fix.writable is not None:
                assert f.writable is fix.writable, (resource, path)
            if fix.note:
                assert fix.note in f.doc, (resource, path)
    assert seen > 80


def test_resource_fixes_apply() -> None:
    ov = _load("registry_overrides")
    for resource, fixes in ov.RESOURCE_FIXES.items():
        for attr, value in fixes.items():
            assert getattr(gen.RESOURCES[resource], attr) == value, (resource, attr)


def test_the_fixes_correct_what_the_schema_says() -> None:
    schemas = contract()["components"]["schemas"]
    assert schemas["Vehicle"]["properties"]["speed"]["type"] == "string"
    assert schemas["Vehicle"]["properties"]["workingTime"]["type"] == "array"
    assert schemas["Task"]["properties"]["geoLock"]["type"] == "object"
    assert schemas["Task"]["properties"]["doneCoordinate"]["type"] == "number"
    assert "_id" not in schemas["Task"]["properties"]["hub"]["properties"]
    assert TASKS.field("geoLock").type is F.ARRAY_OBJECT
    assert TASKS.field("doneCoordinate").type is F.STRING
    assert TASKS.field("hub").child("_id").type is F.STRING
    assert RESOURCES["vehicles"].field("speed").type is F.INTEGER


# --- the contract's own examples read cleanly ---------------------------------------------------


def test_the_contracts_list_examples_read_with_the_registry_types() -> None:
    """Every documented list example unwraps with the registry's envelope and shape and
    converts with its field types without a MileTypeWarning (warnings are errors here)."""
    from milekit.types import schema
    from milekit.wire import envelope

    gr = _load("gen_registry")
    api = gr.Api(contract())
    read = set()
    for name, spec in RESOURCES.items():
        op = api.op("GET", spec.list_path)
        for ex in (ex for m in api.success_media(op) for ex in api.examples(m)):
            if name == "users":  # the documented example is a bare user (notes 35, 49)
                with pytest.raises(errors.ResponseError):
                    envelope.list_page(ex, spec.listing, 1)
                continue
            page = envelope.list_page(ex, spec.listing, 1)
            assert page.rows, name
            table = schema.rows_to_table(page.rows, spec.rows)
            schema.to_pandas(table)
            if name != "data_types":  # its example items carry no _id
                assert spec.id_field in table.column_names, name
            read.add(name)
    assert read == set(RESOURCES) - {"users", "activities", "plugins"}  # no list example


# --- tasks: hand typing over the contract's wire data -------------------------------------


def _compare(hand: tuple[Field, ...], derived: tuple[Field, ...], where: str = "") -> list[str]:
    out = []
    by = {f.name: f for f in hand}
    for d in derived:
        h = by.get(d.name)
        if h is None:
            out.append(f"missing {where}{d.name}")
            continue
        if (h.type, h.enum) != (d.type, d.enum):
            out.append(f"{where}{d.name}: hand {h.type.value}{h.enum}, contract {d.type.value}")
        out += _compare(h.children, d.children, f"{where}{d.name}.")
    return out


def test_hand_task_typing_covers_the_contract() -> None:
    assert _compare(TASKS.fields, gen.RESOURCES["tasks"].fields) == []
    extra = set(TASKS.field_names) - set(gen.RESOURCES["tasks"].field_names)
    assert extra == {"workflow"}  # on activity children (note 39)


def test_tasks_take_their_wire_data_from_the_contract() -> None:
    derived = gen.RESOURCES["tasks"]
    for attr in (
        "list_path",
        "detail_path",
        "create_path",
        "envelope_list",
        "envelope_one",
        "list_shape",
        "max_limit",
        "bulk_create_path",
        "bulk_update_path",
        "bulk_delete_path",
        "bulk_max",
        "update_path",
        "patch_path",
        "delete_path",
        "detail_only",
    ):
        assert getattr(TASKS, attr) == getattr(derived, attr), attr
    assert RESOURCES["tasks"] is TASKS
    assert RESOURCES["tasks_gallery"].fields == TASKS.fields


# --- child tables ------------------------------------------------------------------------------


def test_child_tables() -> None:
    want = {
        "task_histories": ("tasks", ("histories",), "taskId"),
        "flow_components": ("flows", ("pages", "components"), "flowId"),
        "routing_result_visits": ("routing_results", ("result", "routing", "trips"), "resultId"),
        "vehicle_working_times": ("vehicles", ("workingTime",), "vehicleId"),
        "vehicle_capacities": ("vehicles", ("capacity",), "vehicleId"),
    }
    for name, (parent, path, key) in want.items():
        c = get_child(name)
        assert (c.parent, c.path, c.key) == (parent, path, key)
    for c in CHILDREN.values():
        holder = field_at(RESOURCES[c.parent].fields, ".".join(c.path))
        if c.keyed_by:
            assert holder.type is F.JSON
        else:
            assert holder.type in (F.OBJECT, F.ARRAY_OBJECT)
            assert {f.name for f in c.fields} == {f.name for f in holder.children}
        assert c.fields and len(set(c.columns)) == len(c.columns), c.name
        for _, dotted in c.carry:
            field_at(RESOURCES[c.parent].fields, dotted)
    assert get_child("task_histories").fields == TASKS.field("histories").children
    assert get_child("flow_components").carry == (("pageId", "pages.id"),)
    visits = get_child("routing_result_visits")
    assert visits.field("eta").type is F.TIME and "vehicleId" in visits.columns
    assert get_child("vehicle_working_times").field("startTime").type is F.TIME
    caps = get_child("vehicle_capacities")
    assert caps.keyed_by == "constraint"
    assert caps.columns == ("vehicleId", "constraint", "min", "max")


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(errors.UsageError, match=r"unknown resource 'vehicle'; known: .*vehicles"):
        get("vehicle")
    with pytest.raises(errors.UsageError, match="unknown child table 'trips'"):
        get_child("trips")


# --- the client pages with the registry's parameter names ---------------------------------------


def test_unpaginated_lists_are_read_in_one_request(fresh: Sandbox) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        pages = list(c.pages("users"))
    assert len(pages) == 1 and len(pages[0].rows) == len(fresh.store.values("users"))
    [req] = [r for r in fresh.app.request_log if r.path.endswith("/users")]
    assert "page=" not in req.query and "limit=" not in req.query


def test_activities_are_paged_with_page_size(fresh: Sandbox) -> None:
    with milekit.Client(fresh.token, fresh.url, limiter="process", retry=False) as c:
        try:
            list(c.pages("activities", {"status": "ONGOING"}))
        except errors.ApiError:
            pass  # whether the sandbox serves activities or not, the query is what counts
    [req] = [r for r in fresh.app.request_log if r.path.endswith("/activities")][:1]
    assert "pageSize=1000" in req.query and "page=1" in req.query
    assert "limit=" not in req.query


def test_resource_spec_defaults_keep_old_constructions_working() -> None:
    spec = ResourceSpec(
        "x", "/xs", "/x/{id}", None, "_id", "data", "data", "laravel", 10, (Field("_id", F.STRING),)
    )
    assert (spec.page_param, spec.limit_param, spec.paginated, spec.sort_params) == (
        "page",
        "limit",
        True,
        ("sortBy", "sortOrder"),
    )


# --- the declared behaviour generic code reads --------------------------------------------


def _all_filters() -> list[registry.Filters]:
    views = [v.query for v in registry.VIEWS.values() if v.query is not None]
    return [*(s.query for s in registry.RESOURCES.values()), *views]


def test_every_time_by_filter_declares_the_fields_it_may_name() -> None:
    """A list whose ``timeBy`` has no declared fields would refuse every value."""
    bare = [q.owner for q in _all_filters() if "timeBy" in q and not q.time_by]
    assert bare == []
    assert all(q.kind("timeBy") == "time_by" for q in _all_filters() if "timeBy" in q)


def test_every_filter_kind_names_a_filter_of_its_list() -> None:
    sort_orders = {q.sort_params[1] for q in _all_filters()}
    stray = [
        (q.owner, k) for q in _all_filters() for k in q.kinds if k not in q and k not in sort_orders
    ]
    assert stray == []


def test_custom_fields_point_at_readable_definitions() -> None:
    for spec in registry.RESOURCES.values():
        c = spec.custom
        if c is None:
            continue
        source = registry.get(c.source)
        assert "name" in source.rows, spec.name  # groups are named
        assert c.group_by in spec.rows, spec.name  # rows say their group
        if c.keyword:  # the keyword sends a name or an id: the list takes both
            assert c.by_name in spec.query and c.by_id in spec.query, spec.name
        assert spec.dynamic_fields, spec.name  # custom columns are kept


def test_child_tables_and_views_have_row_schemas_of_their_own() -> None:
    for child in registry.CHILDREN.values():
        assert child.rows is not None and child.rows.field_names[0] == child.key
        assert child.rows.name == child.name  # not the parent's spec in disguise
    for v in registry.VIEWS.values():
        assert v.rows is not None and v.query is not None and v.rows.name == v.name
        assert (v.listing is not None) == (v.shape == "paged"), v.name
        if v.listing is not None:
            assert v.listing.path == v.path and v.listing.name == v.name


def test_the_default_resource_is_registered() -> None:
    assert registry.DEFAULT_RESOURCE in registry.RESOURCES
