"""The resource registry: every MileApp object type described as data.

>>> from milekit.registry import RESOURCES
>>> spec = RESOURCES["tasks"]
>>> spec.list_path, spec.id_field, spec.field("startTime").type
('/tasks', '_id', <FieldType.DATETIME: 'Datetime'>)

The frames, the exporter, the push path and the sandbox all read this module, so they
cannot drift apart. Field types follow the API reference's documented data types
(``../shared/mileapp-api.md`` §1.3 and the per-resource tables) and MileApp's OpenAPI
schemas (``components.schemas.Task`` …), corrected where the reference's Quirks say the
examples disagree (noted on each field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Literal


class FieldType(StrEnum):
    """The API's documented data types (reference §1.3), plus enum and free-form JSON."""

    STRING = "String"
    INTEGER = "Integer"
    FLOAT = "Float"
    BOOLEAN = "Boolean"
    DATETIME = "Datetime"
    TIME = "Time"
    DATE = "Date"
    ENUM = "Enum"
    OBJECT = "Object"  #: an object with documented keys -> struct / dict
    ARRAY_STRING = "Array of String"
    ARRAY_OBJECT = "Array of Object"
    JSON = "JSON"  #: a free-form object (no documented keys) -> dict, JSON text in files


@dataclass(frozen=True)
class Field:
    """One documented field of an object type.

    >>> Field("status", FieldType.ENUM, enum=("UNASSIGNED", "ONGOING", "DONE")).type.value
    'Enum'
    """

    name: str
    type: FieldType
    writable: bool = True
    enum: tuple[str, ...] = ()
    children: tuple[Field, ...] = ()  #: keys of an OBJECT / items of an ARRAY_OBJECT
    doc: str = ""


ListShape = Literal["laravel", "array", "activity", "elastic", "gallery"]


@dataclass(frozen=True)
class ResourceSpec:
    """Where a resource lives on the wire and what its objects look like.

    >>> RESOURCES["tasks"].envelope_list
    'tasks'
    """

    name: str
    list_path: str
    detail_path: str  #: with ``{id}``
    create_path: str | None
    id_field: str
    envelope_list: str  #: key under which the list (paginator) sits
    envelope_one: str  #: key under which one object sits
    list_shape: ListShape
    max_limit: int
    fields: tuple[Field, ...]
    filters: Mapping[str, str] = field(default_factory=dict)  #: query param -> doc
    sort_params: tuple[str, str] = ("sortBy", "sortOrder")
    bulk_create_path: str | None = None
    bulk_update_path: str | None = None  #: PATCH (partial) and PUT (replace) share it
    bulk_delete_path: str | None = None
    bulk_max: int = 2000
    required_on_create: tuple[str, ...] = ()
    #: keys the list endpoint leaves out unless asked for with ``fields=`` (Quirk 14)
    detail_only: tuple[str, ...] = ()

    def field(self, name: str) -> Field:
        """The documented field ``name`` (KeyError if unknown)."""
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


F = FieldType

_DATETIME_FIELDS = (
    "startTime",
    "endTime",
    "createdTime",
    "updatedTime",
    "assignedTime",
    "doneTime",
    "openTaskTime",
    "expectedDoneTime",
)

_ID_FIELDS = (
    "flowId",
    "hubId",
    "refId",
    "idLocal",
    "routingResultId",
    "parentTaskId",
    "parentId",
    "assignedVehicleId",
    "workflowId",
)

_READ_ONLY = {
    "_id",
    "organizationId",
    "organization",
    "hub",
    "assignedTo",
    "assignedBy",
    "assignedTime",
    "assignedVehicle",
    "createdBy",
    "createdFrom",
    "createdTime",
    "updatedBy",
    "updatedTime",
    "doneBy",
    "doneTime",
    "doneFrom",
    "doneCoordinate",
    "histories",
    "deviceInformation",
    "openTaskTime",
    "status",
    "subId",
    "parentId",
    "taskType",
    "workflow",
    "doneOrder",
    "isLastDoneOrder",
    "inLocation",
    "outLocation",
    "idleDuration",
    "isSample",
}


def _task_fields() -> tuple[Field, ...]:
    """Task fields: OpenAPI ``components.schemas.Task`` + reference §2.1 dtype table."""
    s: list[Field] = [
        Field("_id", F.STRING, doc="24-hex ObjectId"),
        Field("organizationId", F.STRING),
        Field("flow", F.STRING, doc="flow name"),
    ]
    s += [Field(n, F.STRING) for n in _ID_FIELDS]
    s += [
        Field("title", F.STRING),
        Field("content", F.STRING),
        Field("label", F.STRING),
        Field("status", F.ENUM, enum=("UNASSIGNED", "ONGOING", "DONE")),
        Field("subStatus", F.STRING),
        Field("assignee", F.ARRAY_STRING, doc="user e-mails"),
        Field("subId", F.ARRAY_STRING),
        Field("assignedBy", F.STRING),
        Field("createdBy", F.STRING),
        Field("updatedBy", F.STRING),
        Field("doneBy", F.STRING),
        Field("createdFrom", F.ENUM, enum=("WEB", "API", "Automation", "Mobile")),
        Field("doneFrom", F.ENUM, enum=("WEB", "MOBILE", "System")),
        Field("taskType", F.ENUM, enum=("activityMaster", "activityChild")),
        Field("geoLockTrigger", F.ENUM, enum=("onTaskStart", "onTaskDone")),
        Field("autoSplit", F.ENUM, enum=("Equal", "Maximize")),
    ]
    s += [Field(n, F.DATETIME) for n in _DATETIME_FIELDS]
    s += [
        Field(
            "hub",
            F.OBJECT,
            children=(
                Field("_id", F.STRING),
                Field("id", F.STRING, doc="the task schema says id, data says _id (Quirk 9)"),
                Field("name", F.STRING),
                Field("lat", F.FLOAT),
                Field("lng", F.FLOAT),
            ),
        ),
        Field(
            "assignedTo",
            F.OBJECT,
            children=(
                Field("_id", F.STRING),
                Field("id", F.STRING),
                Field("name", F.STRING),
                Field("email", F.STRING),
                Field("hubId", F.ARRAY_STRING),
                Field("roleId", F.STRING),
            ),
        ),
        Field(
            "assignedVehicle",
            F.OBJECT,
            children=(
                Field("_id", F.STRING),
                Field("id", F.STRING),
                Field("name", F.STRING),
                Field("assignee", F.STRING),
                Field("speed", F.STRING, doc="typed string in the schema (Quirk 10)"),
                Field(
                    "workingTime",
                    F.OBJECT,
                    children=(
                        Field("startTime", F.STRING),
                        Field("endTime", F.STRING),
                        Field("multiday", F.INTEGER),
                    ),
                ),
            ),
        ),
        Field(
            "organization",
            F.OBJECT,
            children=(Field("id", F.STRING), Field("name", F.STRING), Field("email", F.STRING)),
        ),
        Field(
            "workflow",
            F.OBJECT,
            children=(
                Field("_id", F.STRING),
                Field("name", F.STRING),
                Field("organizationId", F.STRING),
            ),
        ),
        Field(
            "geoLock",
            F.ARRAY_OBJECT,
            doc="an object in the schema, a list in data (Quirk 11)",
            children=(Field("geoLocation", F.STRING), Field("radius", F.INTEGER)),
        ),
        Field(
            "histories",
            F.ARRAY_OBJECT,
            children=(
                Field("_id", F.STRING),
                Field("action", F.STRING),
                Field("notes", F.STRING),
                Field("changeData", F.JSON),
                Field("createdAt", F.DATETIME),
            ),
        ),
        Field("deviceInformation", F.JSON, doc="obj[] with undocumented keys"),
        Field("orderIndex", F.INTEGER, doc="number in the schema; epoch-derived ints in data"),
        Field("waitingTime", F.INTEGER),
        Field("duration", F.INTEGER),
        Field("distance", F.INTEGER),
        Field("routePlannedOrder", F.INTEGER),
        Field("idleDuration", F.INTEGER),
        Field("doneOrder", F.INTEGER),
        Field("travelDuration", F.FLOAT),
        Field("eta", F.TIME, doc="string in the schema; a time of day ('08:34:00') in data"),
        Field("etd", F.TIME),
        Field("expectedCoordinate", F.STRING, doc='"lat,lng"'),
        Field("createdCoordinate", F.STRING, doc='"lat,lng"'),
        Field("doneCoordinate", F.STRING, doc='number in the schema, "lat,lng" in data'),
        Field("useGeoLock", F.BOOLEAN),
        Field("isSample", F.BOOLEAN),
        Field("isLastDoneOrder", F.BOOLEAN),
    ]
    s += [
        Field(n, F.STRING)
        for n in (
            "splitNumber",
            "visitGroup",
            "visitGroupPriority",
            "useVisitGroup",
            "vehicleSubHubDistanceLimit",
            "inLocation",
            "outLocation",
            "travelDistance",
        )
    ]
    return tuple(
        Field(f.name, f.type, f.name not in _READ_ONLY, f.enum, f.children, f.doc) for f in s
    )


TASK_FILTERS: dict[str, str] = {
    "fields": "CSV projection, e.g. _id,title,status,startTime",
    "flow": "CSV of flow names",
    "flowId": "CSV of flow ids",
    "status": "UNASSIGNED, ONGOING or DONE",
    "hubId": "hub id",
    "assignee": "user e-mail",
    "doneBy": "name of the user who completed the task",
    "active": "'true': only tasks whose start-end window contains now",
    "isVisit": "'true': only tasks whose end time is still in the future",
    "routingResultId": "tasks dispatched from that routing result",
    "sortBy": "createdTime (default), orderIndex, startTime, doneTime, ...",
    "sortOrder": "desc (default) or asc",
    "timeBy": "createdTime, startTime or doneTime: which field timeFrom/timeTo apply to",
    "timeFrom": "range start, 'Y-m-d H:i:s' (UTC) or a datetime",
    "timeTo": "range end, 'Y-m-d H:i:s' (UTC) or a datetime",
}

TASKS = ResourceSpec(
    name="tasks",
    list_path="/tasks",
    detail_path="/task/{id}",
    create_path="/task",
    id_field="_id",
    envelope_list="tasks",
    envelope_one="task",
    list_shape="laravel",
    max_limit=1000,
    fields=_task_fields(),
    filters=TASK_FILTERS,
    bulk_create_path="/tasks/bulk/",
    bulk_update_path="/tasks/bulk",
    bulk_delete_path="/tasks/bulk",
    bulk_max=2000,
    required_on_create=("flow", "hubId"),
    detail_only=("hub", "organizationId", "orderIndex", "histories"),
)

#: Every registered resource by name.
RESOURCES: dict[str, ResourceSpec] = {TASKS.name: TASKS}


def get(name: str) -> ResourceSpec:
    """The spec of resource ``name``; a clear error listing the known ones otherwise.

    >>> get("tasks").list_path
    '/tasks'
    """
    try:
        return RESOURCES[name]
    except KeyError:
        from milekit.errors import UsageError

        raise UsageError(
            f"unknown resource {name!r}; known: {', '.join(sorted(RESOURCES))}"
        ) from None
