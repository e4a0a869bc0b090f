"""The resource registry: every MileApp object type described as data.

>>> from milekit.types.registry import RESOURCES
>>> spec = RESOURCES["tasks"]
>>> spec.list_path, spec.id_field, spec.field("startTime").type
('/tasks', '_id', <FieldType.DATETIME: 'Datetime'>)
>>> v = RESOURCES["vehicles"]
>>> v.envelope_one, v.field("workingTime").child("startTime").type.value
('data', 'Time')
>>> RESOURCES["activities"].limit_param, RESOURCES["flows"].sort_params
('pageSize', ('sort_by', 'sort_order'))
>>> CHILDREN["routing_result_visits"].path
('result', 'routing', 'trips')

The frames, the exporter, the push path and the sandbox all read this module, so they
cannot drift apart. Everything but the task typing is generated from MileApp's OpenAPI
contract by ``tools/gen_registry.py`` into :mod:`milekit.types._generated` (hand
corrections, each citing its note in ``docs/api-notes.md``, live in
``tools/registry_overrides.py``); the package never reads the OpenAPI file at run time.

Tasks keep their hand-written typing (:mod:`milekit.types.task_fields`: the API's
documented data types, notes 6 and 37, corrected where real answers disagree); their wire
data (paths, envelopes, paging, bulk) comes from the contract like every other resource's;
``tests/test_registry`` checks that the hand typing covers every field the contract
documents.

One function (``_build``) makes the registry from the contract's data, the task typing and
the declared behaviour below; :data:`RESOURCES`, :data:`CHILDREN`, :data:`VIEWS` and
:data:`NOT_FRAMES` are its read-only mappings (tests and benchmarks vary a resource with
:func:`overridden`).

Data model (:mod:`milekit.types.model`):

* :class:`ResourceSpec` -- a resource's endpoints: paths (``list_path``,
  ``detail_path``/``update_path``/``patch_path``/``delete_path`` with ``{id}``,
  ``create_path``, ``bulk_*_path``), ``id_field``, envelope keys (``envelope_list``,
  ``envelope_one``), ``list_shape`` (``laravel`` paginator, plain ``array``, ``activity``
  paginator, Elasticsearch ``elastic`` hits, ``gallery``), paging (``page_param``,
  ``limit_param``, ``default_limit``, ``max_limit``, ``paginated``), ``sort_params``,
  ``filters`` (query parameter -> description) and ``fields``; and the views generic code
  reads: ``spec.rows`` (:class:`RowSchema`), ``spec.listing`` (:class:`Listing`),
  ``spec.query`` (:class:`Filters`, with the kinds in :data:`FILTER_KINDS`) and the
  declared behaviour ``custom`` (:class:`CustomFields`: :data:`FLOW_COMPONENTS`,
  :data:`DATA_TYPE_FIELDS`) and ``time_by``.
* :class:`Field` -- name, :class:`FieldType`, ``writable``, ``enum``, ``children`` (for
  ``Object`` / ``Array of Object``), ``doc``.
* :class:`ChildSpec` (:data:`CHILDREN`) -- an array of objects inside a resource read as a
  table: ``parent``, ``path`` to the items, ``key`` (the parent-id column), ``carry``
  columns from enclosing levels, ``keyed_by`` for objects keyed by name, row ``fields``.
* :class:`Operation` (:data:`OPERATIONS`) -- all 144 operations with the resource and the
  kind (list/detail/create/replace/update/delete/bulk_*/action/other) they belong to.
* :class:`ViewSpec` (:data:`VIEWS`) -- the GET operations that are neither a list nor a
  detail read, read as frames (:func:`milekit.view`); :class:`DetailForm`
  (:data:`DETAIL_FORMS`) -- detail reads by other keys than the id (:func:`milekit.get`);
  :data:`NOT_FRAMES` says why the one GET left (``/file/view``) is not a frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple

from milekit.errors import UsageError
from milekit.types import _generated as _gen
from milekit.types.model import (
    PAGE_ROWS,
    Changes,
    ChildSpec,
    CustomFields,
    DetailForm,
    Field,
    FieldType,
    FilterKind,
    Filters,
    Listing,
    ListShape,
    Operation,
    OperationKind,
    ResourceSpec,
    RowSchema,
    ViewShape,
    ViewSpec,
    fill_path,
)
from milekit.types.task_fields import TASK_FIELDS, TASK_FILTERS

__all__ = [
    "CHILDREN",
    "DATA_TYPE_FIELDS",
    "DEFAULT_RESOURCE",
    "DETAIL_FORMS",
    "FILTER_KINDS",
    "FLOW_COMPONENTS",
    "NOT_FRAMES",
    "OPERATIONS",
    "PAGE_ROWS",
    "RESOURCES",
    "TASKS",
    "TASK_TIME_BY",
    "VIEWS",
    "ChildSpec",
    "CustomFields",
    "DetailForm",
    "Field",
    "FieldType",
    "FilterKind",
    "Filters",
    "ListShape",
    "Listing",
    "Operation",
    "OperationKind",
    "ResourceSpec",
    "RowSchema",
    "ViewShape",
    "ViewSpec",
    "fill_path",
    "get",
    "get_child",
    "get_view",
]

F = FieldType

# --- declared behaviour: what generic code reads instead of naming a resource -------------

#: A task's custom columns are its flow's components; a write may carry only those
#: (notes 12, 37, 41)
FLOW_COMPONENTS = CustomFields(
    "flows", ("pages", "components"), "flow", "flow", "flowId", "flow", strict=True
)
#: A data-source record's custom columns are its data type's fields (notes 12, 43)
DATA_TYPE_FIELDS = CustomFields(
    "data_types",
    ("fields",),
    "dataTypeId",
    "dataTypeName",
    "dataTypeId",
    "data type",
    keyword="data_type",
)
#: The fields a task list's ``timeBy`` may name (note 37); location history's (note 40)
TASK_TIME_BY = ("createdTime", "startTime", "doneTime")
_CUSTOM: dict[str, CustomFields] = {
    "tasks": FLOW_COMPONENTS,
    "tasks_gallery": FLOW_COMPONENTS,
    "data": DATA_TYPE_FIELDS,
}
_TIME_BY: dict[str, tuple[str, ...]] = {
    "tasks": TASK_TIME_BY,
    "tasks_gallery": TASK_TIME_BY,
    "location_histories": ("createdTime", "startTime"),
}
#: What an incremental ``milekit.sync`` reads (docs/lake.md): tasks are new by
#: ``createdTime`` (the server's clock), final once ``DONE`` (stamped ``doneTime``), open
#: while UNASSIGNED or ONGOING. Location histories are not here although they have a time
#: filter: their ``createdTime`` is the device's time of the point, and a phone that was
#: offline uploads hours-old points, which no window after a mark would see.
_CHANGES: dict[str, Changes] = {
    "tasks": Changes("createdTime", "doneTime", "status", ("UNASSIGNED", "ONGOING")),
}
#: The names of the field the server stamps whenever a row changes (a resource's
#: ``updated``: a read-only datetime field of one of these names)
_UPDATED = ("updatedTime", "updated_at")
#: The kind of each filter that is not plain text, by its name: the contract spells a
#: kind the same way wherever it appears (automation logs' dates are days, note 42); a
#: list's sort-order parameter (``sort_params``) is a ``sort_order`` too.
FILTER_KINDS: dict[str, FilterKind] = {
    **dict.fromkeys(("timeFrom", "timeTo", "dateFrom", "dateTo", "updatedTime"), "datetime"),
    **dict.fromkeys(("startDate", "endDate"), "date"),
    **dict.fromkeys(
        (
            "active",
            "isVisit",
            "startFinish",
            "isLatest",
            "byUser",
            "permission",
            "isSuccess",
            "limitUser",
        ),
        "bool",
    ),
    "fields": "fields",
    "timeBy": "time_by",
}


def _kinds(filters: Iterable[str], sort_order: str | None) -> dict[str, FilterKind]:
    kinds: dict[str, FilterKind] = {k: FILTER_KINDS[k] for k in filters if k in FILTER_KINDS}
    if sort_order is not None:
        kinds[sort_order] = "sort_order"
    return kinds


def _updated_field(spec: ResourceSpec) -> str:
    """The read-only datetime field the server stamps on every change, or ""."""
    stamps = (f.name for f in spec.fields if f.name in _UPDATED and f.type == F.DATETIME)
    return next((n for n in stamps if not spec.field(n).writable), "")


def _declared(spec: ResourceSpec) -> ResourceSpec:
    """``spec`` with its declared behaviour: custom columns, ``timeBy`` fields, filter kinds."""
    return dataclasses.replace(
        spec,
        custom=_CUSTOM.get(spec.name),
        time_by=_TIME_BY.get(spec.name, ()),
        changes=_CHANGES.get(spec.name),
        updated=_updated_field(spec),
        filter_kinds=_kinds(spec.filters, spec.sort_params[1]),
    )


#: All operations of the public API (144), in the contract's order.
OPERATIONS: tuple[Operation, ...] = _gen.OPERATIONS

#: Detail reads addressed by other keys than the id (:func:`milekit.get` keyword forms).
DETAIL_FORMS: Mapping[str, tuple[DetailForm, ...]] = MappingProxyType(
    {
        # note 45: by the data type's name and the record's primary key, optionally hub-scoped
        "data": (
            DetailForm("data", "/data/type/{data_type}/{data_id}"),
            DetailForm("data", "/data/hub/{hub_id}/type/{data_type}/{data_id}"),
        ),
        # note 47: one user by e-mail
        "users": (DetailForm("users", "/user/email/{email}"),),
    }
)

_S, _I, _FL, _DT = F.STRING, F.INTEGER, F.FLOAT, F.DATETIME

#: The views (GET operations that are neither a list nor a detail read) read as frames,
#: by name. Rows are typed like the resource (or child table) ``like``; the fields listed
#: here are the view's own keys (reference sections cited on each).
_VIEW_TABLE: tuple[ViewSpec, ...] = (
    ViewSpec(
        "tasks_tracking",
        "/tasks/tracking",
        "keyed",
        "email",
        key="email",
        envelope=("counting",),
        fields=(
            Field("email", _S, False, doc="the worker's e-mail (the key of ``counting``)"),
            Field("doneTask", _I, False),
            Field("ongoingTask", _I, False),
            Field("distance", _FL, False, doc="straight-line or snapped (isSnapToRoute)"),
            Field("duration", _I, False),
        ),
        filters={
            "hubId": "hub id",
            "timeFrom": "range start, 'Y-m-d H:i:s' (UTC) or a datetime",
            "timeTo": "range end, 'Y-m-d H:i:s' (UTC) or a datetime",
            "timeBy": "createdTime (default), startTime or doneTime",
            "createdFrom": "location source, e.g. mileAppField",
            "email": "one worker's e-mail",
            "isSnapToRoute": "1: snap-to-road distances instead of straight lines",
        },
        required=("hubId", "timeFrom", "timeTo"),
        doc="per-worker productivity in one hub and time range: one row per worker "
        "(note 37, no envelope, note 3); the totals are in df.attrs['milekit']['summary']",
    ),
    ViewSpec(
        "location_tracking",
        "/location-history/tracking/{token}",
        "paged",
        "_id",
        like="location_histories",
        doc="the location-history points behind one public tracking token (note 40)",
    ),
    ViewSpec(
        "workflow_activities",
        "/activities/workflow/{workflow_id}",
        "paged",
        "_id",
        like="activities",
        filters={"status": "UNASSIGNED, ONGOING or DONE"},
        doc="the activities of one workflow (note 39)",
    ),
    ViewSpec(
        "routing_result_history",
        "/result/{result_id}/history",
        "rows",
        "_id",
        envelope=("data",),
        fields=(
            Field("_id", _S, False),
            Field("resultId", _S, False, doc="the routing result"),
            Field("action", _S, False),
            Field("description", _S, False),
            Field(
                "visits",
                F.ARRAY_OBJECT,
                False,
                children=(Field("visitId", _S, False), Field("visitName", _S, False)),
            ),
            Field("vehicleFrom", _S, False),
            Field("vehicleTo", _S, False),
            Field("createdFrom", _S, False),
            Field("createdType", _S, False),
            Field("createdBy", _S, False),
            Field("version", _I, False),
            Field("organizationId", _S, False),
            Field("createdTime", _DT, False),
            Field("updatedTime", _DT, False),
        ),
        path_columns=(("resultId", "result_id"),),
        doc="the edit history of one routing result (note 46)",
    ),
    ViewSpec(
        "flow_components_view",
        "/flow-components",
        "groups",
        None,
        like="flow_components",
        envelope=("data",),
        inner="fields",
        carry=(("flowId", "_id"), ("flowName", "flowName")),
        fields=(Field("flowId", _S, False), Field("flowName", _S, False)),
        filters={
            "fieldType": "routeAs, basicStructurData, structurData, image, "
            "listItemData, reservedKey or all",
            "flowId": "CSV of flow ids",
            "fields": "CSV of component ids",
            "isMerge": "1: the components of the flows merged",
        },
        doc="the form components of the flows the filters pick, one row per component (note 41)",
    ),
    ViewSpec(
        "flow_fields_by_name",
        "/flow/{flow_name}/fields",
        "rows",
        "id",
        like="flow_components",
        envelope=("flowFields",),
        fields=(Field("flowName", _S, False),),
        path_columns=(("flowName", "flow_name"),),
        doc="the form components of one flow, by the flow's name (note 41)",
    ),
    ViewSpec(
        "flow_task_template",
        "/flow/{flow_name}/task",
        "one",
        "flow",
        like="tasks",
        envelope=("data", "bodyRequest"),
        custom=True,
        doc="a ready-made create-task body for one flow (note 41): one row typed like "
        "tasks, the flow's components typed from the flow",
    ),
    ViewSpec(
        "me",
        "/user",
        "one",
        "_id",
        like="users",
        # notes 47, 3: no envelope; legacy snake_case keys beside the camelCase ones
        fields=(
            Field("phone_number", _S, False),
            Field("organization_id", _S, False),
            Field("role_id", _S, False),
            Field("hub_id", F.ARRAY_STRING, False),
            Field("team_id", F.ARRAY_STRING, False),
            Field("is_deleted", F.BOOLEAN, False),
            Field("first_login", F.BOOLEAN, False),
            Field("created_at", _DT, False),
            Field("updated_at", _DT, False),
        ),
        doc="the signed-in user (note 47; milekit.whoami() is the same as an object)",
    ),
    ViewSpec(
        "public_task",
        "/task/public/{task_id}",
        "one",
        "_id",
        like="tasks",
        envelope=("data",),
        inner="task",
        path_columns=(("_id", "task_id"),),
        fields=(
            Field(
                "listItem",
                F.ARRAY_OBJECT,
                False,
                children=(
                    Field("title", _S, False),
                    Field("content", _S, False),
                    Field("data", F.JSON, False),
                    Field("qty", _FL, False),
                    Field("unitPrice", _FL, False),
                    Field("qtyProcessed", _FL, False),
                ),
            ),
            Field(
                "taskComponentDetail",
                F.ARRAY_OBJECT,
                False,
                children=(
                    Field("id", _S, False),
                    Field("inputType", _S, False),
                    Field("component", _S, False),
                ),
            ),
            Field(
                "location",
                F.ARRAY_OBJECT,
                False,
                doc="the assignees' last points; lat/lon are text in the answer",
                children=(
                    Field("email", _S, False),
                    Field("lat", _S, False),
                    Field("lon", _S, False),
                    Field("createdTime", _DT, False),
                    Field(
                        "user",
                        F.OBJECT,
                        False,
                        children=(Field("name", _S, False), Field("phoneNumber", _S, False)),
                    ),
                ),
            ),
        ),
        doc="one task's public tracking view (note 37): the task's public keys, its list "
        "items, the assignees' last locations",
    ),
)


# --- the build: contract + task typing + declared behaviour, once --------------------------


def _tasks() -> ResourceSpec:
    """Tasks: the contract's wire data (paths, envelopes, paging, bulk) with the hand typing."""
    return dataclasses.replace(
        _gen.RESOURCES["tasks"],
        fields=TASK_FIELDS,
        # the documented filters minus cursor mode (lazyLoad/cursor: page is ignored and
        # the answer's shape is not documented, note 35), with shorter docs
        filters=TASK_FILTERS,
        required_on_create=("flow", "hubId"),
        # real list items carry hub, organizationId, orderIndex ... (note 23); not histories
        detail_only=("histories",),
    )


def _resources() -> dict[str, ResourceSpec]:
    """Every resource with its declared behaviour; the gallery's items are typed as tasks."""
    tasks = _tasks()
    out = {name: _declared(tasks if name == "tasks" else s) for name, s in _gen.RESOURCES.items()}
    out["tasks_gallery"] = dataclasses.replace(out["tasks_gallery"], fields=tasks.fields)
    return out


def _parent_field(spec: ResourceSpec, dotted: str) -> Field | None:
    parts = dotted.split(".")
    f = spec.rows.get(parts[0])
    try:
        for p in parts[1:]:
            f = f.child(p) if f is not None else None
    except KeyError:
        return None
    return f


def _child_rows(child: ChildSpec, parent: ResourceSpec) -> RowSchema:
    """A child table's rows: the parent-id column (``key``, typed like the parent's id),
    the carried columns (typed like their parent fields), ``keyed_by``, the element fields.

    >>> _child_rows(CHILDREN["flow_components"], RESOURCES["flows"]).field_names[:3]
    ('flowId', 'pageId', 'id')
    """
    pid = parent.rows.get(parent.id_field)
    fields = [Field(child.key, pid.type if pid else F.STRING, False, doc=f"{parent.name} id")]
    for column, dotted in child.carry:
        pf = _parent_field(parent, dotted)
        ftype, enum = (pf.type, pf.enum) if pf is not None else (F.STRING, ())
        fields.append(Field(column, ftype, writable=False, enum=enum, doc=f"from {dotted}"))
    if child.keyed_by:
        fields.append(Field(child.keyed_by, F.STRING, writable=False, doc="the key"))
    taken = {f.name for f in fields}
    fields += [f for f in child.fields if f.name not in taken]
    return RowSchema(child.name, tuple(fields), child.key, doc=child.doc)


def _children(resources: Mapping[str, ResourceSpec]) -> dict[str, ChildSpec]:
    """The child tables with their row schemas (task histories typed as the tasks' field)."""
    out = dict(_gen.CHILDREN)
    histories = resources["tasks"].field("histories").children
    out["task_histories"] = dataclasses.replace(out["task_histories"], fields=histories)
    return {
        name: dataclasses.replace(c, rows=_child_rows(c, resources[c.parent]))
        for name, c in out.items()
    }


#: The fields a view's ``timeBy`` may name, for the views that take one
_VIEW_TIME_BY: dict[str, tuple[str, ...]] = {"tasks_tracking": TASK_TIME_BY}


def _view_rows(
    v: ViewSpec, resources: Mapping[str, ResourceSpec], children: Mapping[str, ChildSpec]
) -> RowSchema:
    """A view's rows: ``like``'s fields, the view's own added or overriding by name (and
    ``like``'s secrets, which are dropped).

    >>> VIEWS["public_task"].rows.field("startTime").type.value
    'Datetime'
    """
    base: tuple[Field, ...] = ()
    secrets: tuple[str, ...] = ()
    like = v.like or ""
    if like in resources:
        base, secrets = resources[like].fields, resources[like].secret_fields
    elif like in children:
        base = children[like].fields
    mine = {f.name: f for f in v.fields}
    fields = [mine.pop(f.name, f) for f in base]
    fields = [*mine.values(), *fields] if v.shape == "groups" else [*fields, *mine.values()]
    return RowSchema(v.name, tuple(fields), v.index or "", secret_fields=secrets, doc=v.doc)


def _with_rows(
    v: ViewSpec, resources: Mapping[str, ResourceSpec], children: Mapping[str, ChildSpec]
) -> ViewSpec:
    like = resources.get(v.like or "")
    sort = like.sort_params if like is not None else ("sortBy", "sortOrder")
    kinds = _kinds(v.filters, sort[1])
    query = Filters(v.name, v.filters, kinds, sort, _VIEW_TIME_BY.get(v.name, ()))
    listing = None
    if v.shape == "paged" and like is not None:
        listing = dataclasses.replace(like.listing, name=v.name, path=v.path)
    rows = _view_rows(v, resources, children)
    return dataclasses.replace(v, rows=rows, query=query, listing=listing)


def _not_frames(views: Iterable[ViewSpec]) -> dict[tuple[str, str], str]:
    """``(method, path)`` of the GET operations that are not frames -> why (the generated
    reasons of the views no longer apply: they are frames)."""

    def norm(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")

    covered = {norm(v.path) for v in views}
    out = {(m, p): why for (m, p), why in _gen.NOT_FRAMES.items() if norm(p) not in covered}
    out[("GET", "/file/view")] += (
        "; read it with milekit.Client.request('GET', '/file/view', params={'url': ...}, "
        "raw=True) and its .content"
    )
    return out


class _Built(NamedTuple):
    resources: Mapping[str, ResourceSpec]
    children: Mapping[str, ChildSpec]
    views: Mapping[str, ViewSpec]
    not_frames: Mapping[tuple[str, str], str]


#: Resources replaced for a while (:func:`overridden`): looked up before the built ones
_OVERRIDES: dict[str, ResourceSpec] = {}


def _build() -> _Built:
    """The registry, built once: read-only mappings of the resources, child tables, views
    and the GETs that are not frames."""
    resources = _resources()
    children = _children(resources)
    views = {v.name: _with_rows(v, resources, children) for v in _VIEW_TABLE}
    return _Built(
        MappingProxyType(ChainMap(_OVERRIDES, resources)),
        MappingProxyType(children),
        MappingProxyType(views),
        MappingProxyType(_not_frames(views.values())),
    )


_BUILT = _build()
#: Every registered resource by name.
RESOURCES: Mapping[str, ResourceSpec] = _BUILT.resources
#: Tasks: the contract's wire data with the hand typing (:mod:`milekit.types.task_fields`)
TASKS: ResourceSpec = RESOURCES["tasks"]
#: The resource :func:`milekit.frame` reads and a frame without a known resource is
#: taken to be (files saved by hand, frames built by the user): the API's main object.
DEFAULT_RESOURCE = TASKS.name
#: Child tables (arrays of objects inside resources) by name.
CHILDREN: Mapping[str, ChildSpec] = _BUILT.children
#: The views (GET operations that are neither a list nor a detail read) read as frames
VIEWS: Mapping[str, ViewSpec] = _BUILT.views
#: ``(method, path)`` of the GET operations that are not frames -> why
NOT_FRAMES: Mapping[tuple[str, str], str] = _BUILT.not_frames


@contextlib.contextmanager
def overridden(**specs: ResourceSpec) -> Iterator[None]:
    """For tests and benchmarks: resources replaced by name while the block runs (the
    registry is read-only otherwise).

    >>> with overridden(tasks=dataclasses.replace(TASKS, bulk_max=1)):
    ...     RESOURCES["tasks"].bulk_max
    1
    >>> RESOURCES["tasks"].bulk_max == TASKS.bulk_max
    True
    """
    saved = {n: _OVERRIDES[n] for n in specs if n in _OVERRIDES}
    _OVERRIDES.update(specs)
    try:
        yield
    finally:
        for n in specs:
            _OVERRIDES.pop(n, None)
        _OVERRIDES.update(saved)


def rows_of(name: str) -> RowSchema | None:
    """The rows' schema of a resource, view or child table by its name (what a frame's
    ``attrs`` or a file's footer records); None for any other name.

    >>> rows_of("task_histories").name, rows_of("nope")
    ('task_histories', None)
    """
    spec = RESOURCES.get(name) or VIEWS.get(name) or CHILDREN.get(name)
    return spec.rows if spec is not None else None


def get(name: str) -> ResourceSpec:
    """The spec of resource ``name``; a clear error listing the known ones otherwise.

    >>> get("tasks").list_path
    '/tasks'
    """
    try:
        return RESOURCES[name]
    except KeyError:
        known = ", ".join(sorted(RESOURCES))
        raise UsageError(f"unknown resource {name!r}; known: {known}") from None


def get_view(name: str) -> ViewSpec:
    """The view ``name``; a clear error listing the known ones otherwise.

    >>> get_view("tasks_tracking").index
    'email'
    """
    try:
        return VIEWS[name]
    except KeyError:
        raise UsageError(f"unknown view {name!r}; known: {', '.join(sorted(VIEWS))}") from None


def get_child(name: str) -> ChildSpec:
    """The child table ``name``; a clear error listing the known ones otherwise.

    >>> get_child("task_histories").key
    'taskId'
    """
    try:
        return CHILDREN[name]
    except KeyError:
        known = ", ".join(sorted(CHILDREN))
        raise UsageError(f"unknown child table {name!r}; known: {known}") from None
