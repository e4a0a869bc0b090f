"""The tasks' field typing, by hand: the API's documented data types (docs/api-notes.md,
notes 6 and 37) and MileApp's ``components.schemas.Task``, corrected where real answers or
the examples disagree (notes 21-24, 30; noted on each field). The registry
(:mod:`milekit.types.registry`) puts it on the contract's wire data for tasks;
``tests/types/test_registry.py`` checks that it covers every field the contract documents.

>>> TASK_FIELDS[0].name, next(f for f in TASK_FIELDS if f.name == "eta").type.value
('_id', 'Time')
"""

from __future__ import annotations

from milekit.types.model import Field, FieldType

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
    "isDeleted",
    "appVersion",
    "travelDistance",
}


#: Task fields as data: OpenAPI ``components.schemas.Task`` + the note 37 dtype table
_TASK_TABLE: list[Field] = [
    Field("_id", F.STRING, doc="24-hex ObjectId"),
    Field("organizationId", F.STRING),
    Field("flow", F.STRING, doc="flow name"),
]
_TASK_TABLE += [Field(n, F.STRING) for n in _ID_FIELDS]
_TASK_TABLE += [
    Field("title", F.STRING),
    Field("content", F.STRING),
    Field("label", F.ARRAY_STRING, doc="a list in data; String in the docs (note 21)"),
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
_TASK_TABLE += [Field(n, F.DATETIME) for n in _DATETIME_FIELDS]
_TASK_TABLE += [
    Field(
        "hub",
        F.OBJECT,
        doc="on every real task, list items included (note 23)",
        children=(
            Field("_id", F.STRING),
            Field("id", F.STRING, doc="the task schema says id, data says _id (note 9)"),
            Field("name", F.STRING),
            Field("lat", F.FLOAT),
            Field("lng", F.FLOAT),
        ),
    ),
    Field(
        "assignedTo",
        F.OBJECT,
        doc="the assignee; null when unassigned (note 24)",
        children=(
            Field("_id", F.STRING),
            Field("id", F.STRING),
            Field("name", F.STRING),
            Field("email", F.STRING),
            Field("hubId", F.ARRAY_STRING),
            Field("roleId", F.STRING),
            Field("role", F.STRING, doc="the user's role name (note 24)"),
            Field("firstLogin", F.BOOLEAN),
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
            Field("speed", F.INTEGER, doc="null in data, typed string in the schema (note 30)"),
            Field(
                "workingTime",
                F.OBJECT,
                children=(
                    Field("startTime", F.TIME, doc="time of day, '08:00' (note 6)"),
                    Field("endTime", F.TIME, doc="time of day (note 6)"),
                    Field("multiday", F.INTEGER),
                ),
            ),
        ),
    ),
    Field(
        "organization",
        F.OBJECT,
        doc="on every real task (note 23)",
        children=(
            Field("_id", F.STRING),
            Field("id", F.STRING),
            Field("name", F.STRING),
            Field("email", F.STRING),
        ),
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
        doc="an object in the schema, a list in data (note 11)",
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
    Field(
        "deviceInformation",
        F.OBJECT,
        doc='an object such as {"os": "13"}; obj[] in the schema (note 23)',
        children=(Field("os", F.STRING),),
    ),
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
    Field("travelDistance", F.FLOAT, doc="meters; typed String in the docs (note 22)"),
    Field("visitGroupPriority", F.INTEGER, doc="0-100; typed String in the docs (note 22)"),
    Field("inLocation", F.DATETIME, doc="entered the geo-lock radius (note 23)"),
    Field("outLocation", F.DATETIME, doc="left the geo-lock radius (note 23)"),
    Field("useGeoLock", F.BOOLEAN),
    Field("isSample", F.BOOLEAN),
    Field("isLastDoneOrder", F.BOOLEAN),
    Field("isDeleted", F.BOOLEAN, doc="on every real task (note 23)"),
    Field(
        "appVersion",
        F.OBJECT,
        doc='the mobile app that worked the task: {"name": "5.21.3", "version": 521} (note 51)',
        children=(Field("name", F.STRING), Field("version", F.INTEGER)),
    ),
]
_TASK_TABLE += [
    Field(n, F.STRING)
    for n in (
        "splitNumber",
        "visitGroup",
        "useVisitGroup",
        "vehicleSubHubDistanceLimit",
    )
]


#: The task fields, each writable unless the server sets it (``_READ_ONLY``)
TASK_FIELDS: tuple[Field, ...] = tuple(
    Field(f.name, f.type, f.name not in _READ_ONLY, f.enum, f.children, f.doc) for f in _TASK_TABLE
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
