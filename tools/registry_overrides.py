"""Hand-written input of ``tools/gen_registry.py``: which resources exist, and corrections.

Everything else in ``milekit/types/_generated.py`` is derived from the OpenAPI file.
Every correction cites the project's note on it (``docs/api-notes.md``, numbered): a
correction without a source does not belong here. The generator fails on a correction that
matches nothing, and on any schema/example disagreement that is not settled here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where a resource sits in the contract."""

    tag: str  #: OpenAPI tag whose operations are classified for it
    list: str  #: path of its list operation (GET)
    one: str | None = None  #: singular prefix: GET/PUT/PATCH/DELETE {one}/{x}, POST {one}
    schemas: tuple[str, ...] = ()  #: components.schemas describing one object
    bulk: tuple[str, ...] = ()  #: its bulk paths, spelt as in the contract
    #: custom top-level keys (flow components, data-type fields; note 12): fields come
    #: from the schema only, example keys outside it are custom data, not fields
    dynamic: bool = False
    #: also learn from the objects in create/update answers (not only list/detail)
    examples_from_writes: bool = False


@dataclass(frozen=True)
class Fix:
    """A correction of one field, addressed by dotted path (``workingTime.startTime``)."""

    type: str | None = None  #: a FieldType value ("Datetime", "Integer", "JSON" …)
    enum: tuple[str, ...] | None = None  #: values (makes the field an Enum)
    note: str = ""  #: appended to the field's doc
    writable: bool | None = None
    add: bool = False  #: a documented field in neither the contract's schema nor examples
    drop: bool = False  #: a doc artefact, or a secret that must not become a column


@dataclass(frozen=True)
class Child:
    """An array of objects inside a resource, read as a table (``ChildSpec``)."""

    parent: str
    path: tuple[str, ...]
    key: str
    carry: tuple[tuple[str, str], ...] = ()
    keyed_by: str | None = None
    #: the row fields of a ``keyed_by`` child: (name, type, doc)
    row_fields: tuple[tuple[str, str, str], ...] = ()
    doc: str = ""


# --- the resources -------------------------------------------------------------------------

SOURCES: dict[str, Source] = {
    "tasks": Source(
        "Task",
        "/tasks",
        one="/task",
        schemas=("Task",),
        bulk=("/tasks/bulk/", "/tasks/bulk/#", "/tasks/bulk"),
        dynamic=True,  # flow components are top-level task keys (note 12)
    ),
    "tasks_gallery": Source("Task", "/tasks-gallery", schemas=("Task",), dynamic=True),
    "task_schedules": Source(
        "Task Schedule",
        "/task/schedules",
        one="/task/schedule",
        schemas=("TaskSchedule",),
        bulk=("/task/schedules/bulk",),
    ),
    "activities": Source("Activity", "/activities", one="/activity", schemas=("ActivityObject",)),
    "location_histories": Source(
        "Location History",
        "/location-histories",
        one="/location-history",
        schemas=("LocationHistory", "LocationHistoryResponse"),
        bulk=("/location-history/bulk",),
    ),
    "flows": Source("Flow", "/flows", one="/flow", schemas=("Flow",)),
    "flow_logs": Source("Flow", "/flow-logs"),
    "flow_fields": Source("Flow", "/flow-fields"),
    "automations": Source("Automation", "/automations", one="/automation", schemas=("Automation",)),
    "automation_logs": Source("Automation", "/automation-log"),
    "data": Source(
        "Data Source",
        "/data",
        one="/data",
        schemas=("DataSource",),
        bulk=("/data/bulk", "/datas/bulk"),
        dynamic=True,  # the data type's fields are top-level record keys (note 43)
    ),
    "data_types": Source("Data Type", "/data-types", one="/data-type", schemas=("DataType",)),
    "vehicles": Source(
        "Vehicle", "/vehicles", one="/vehicle", schemas=("Vehicle",), bulk=("/vehicles/",)
    ),
    "routing_results": Source(
        "Routing", "/results", one="/result", schemas=("Routing",), examples_from_writes=True
    ),
    "users": Source("User", "/users", one="/user", schemas=("User",)),
    "locked_members": Source("User", "/members/locked"),
    "teams": Source("Team", "/teams", one="/team", schemas=("Team",)),
    "roles": Source("Role", "/roles", one="/role", schemas=("Role",)),
    "hubs": Source("Hub", "/hubs", one="/hub", schemas=("Hub",)),
    "export_configs": Source(
        "Export Config", "/export-configs", one="/export-config", schemas=("ExportConfig",)
    ),
    "export_logs": Source("Export Task", "/tasks/export-log"),
    "import_monitoring": Source(
        "Data Import",
        "/import-monitoring",
        one="/import-monitoring",
        schemas=("ImportMonitoringObject",),
    ),
    "plugins": Source("Plugin", "/plugins", one="/plugin", schemas=("Plugin",)),
    "app_integrations": Source(
        "App Integration", "/app-integrations", one="/app-integration", schemas=("AppIntegration",)
    ),
}

#: the resource an operation of a tag belongs to when no rule places it
TAG_DEFAULT: dict[str, str] = {
    "Task": "tasks",
    "Task Schedule": "task_schedules",
    "Activity": "activities",
    "Location History": "location_histories",
    "Flow": "flows",
    "Automation": "automations",
    "Data Source": "data",
    "Data Type": "data_types",
    "Vehicle": "vehicles",
    "Routing": "routing_results",
    "User": "users",
    "Team": "teams",
    "Role": "roles",
    "Hub": "hubs",
    "Export Config": "export_configs",
    "Export Task": "export_logs",
    "Data Import": "import_monitoring",
    "Plugin": "plugins",
    "App Integration": "app_integrations",
}

#: operations the path rules place wrongly or not at all: (method, path) -> (resource, kind)
OPERATION_FIXES: dict[tuple[str, str], tuple[str | None, str]] = {
    # note 47: users have no public create; they are deleted as members, updated as /user
    ("DELETE", "/member/{userId}"): ("users", "delete"),
    ("GET", "/user/email/{email}"): ("users", "detail"),
    ("PATCH", "/user"): ("users", "update"),  # the caller's own name/e-mail/phone
    # note 46: a routing result is created by optimising (POST /routing)
    ("POST", "/routing"): ("routing_results", "create"),
    # note 40: PUT /location-history/ replaces the point identified by email + createdTime
    ("PUT", "/location-history/"): ("location_histories", "replace"),
    # note 43: records are also addressed by type name + dataId, and by hub + type + dataId
    ("GET", "/data/type/{dataTypeName}/{dataId}"): ("data", "detail"),
    ("GET", "/data/hub/{hubId}/type/{dataTypeName}/{data_id}"): ("data", "detail"),
    ("PUT", "/data/hub/{hub_id}/type/{dataTypeName}/{dataId}"): ("data", "replace"),
    ("DELETE", "/data/hub/{hubId}/type/{dataTypeName}/{dataId}"): ("data", "delete"),
    # note 42: retries act on logged executions
    ("POST", "/automation-retries"): ("automation_logs", "action"),
    ("PATCH", "/automation-retry/{log_id}"): ("automation_logs", "action"),
}

#: GET operations that are neither a resource's list nor its detail read, and why
NOT_FRAMES: dict[tuple[str, str], str] = {
    ("GET", "/task/public/{task_id}"): (
        "one task's public tracking view (task, list items, last locations; note 37), not a list"
    ),
    ("GET", "/tasks/tracking"): (
        "a per-worker productivity summary for one hub and time range: one object keyed "
        "by e-mail, no envelope (notes 37, 3)"
    ),
    ("GET", "/location-history/tracking/{token}"): (
        "the last known locations behind one public tracking token (note 40); the rows are "
        "location_histories"
    ),
    ("GET", "/activities/workflow/{workflowId}"): (
        "the activities of one workflow: the activities list with a workflowId filter (note 39)"
    ),
    ("GET", "/result/{resultId}/history"): (
        "the edit history of one routing result (note 46), read per result id"
    ),
    ("GET", "/flow-components"): (
        "the rows of flow_fields with flowId/fields/isMerge filters (note 41); components per "
        "flow are also the flow_components child table"
    ),
    ("GET", "/flow/{flowName}/fields"): (
        "the components of one flow, by name (note 41): the flow_components child table "
        "holds them for every flow"
    ),
    ("GET", "/flow/{flowName}/task"): "a ready-made create-task body for one flow (note 41)",
    ("GET", "/user"): ("the caller's own user: no envelope, legacy snake_case keys (notes 47, 3)"),
    ("GET", "/file/view"): "streams one stored file (photos, signatures), binary (note 48)",
}

# The page size: where an endpoint states no maximum (note 35 names the lists that do),
# 1000 is used, the maximum of every list that states one (note 35: "max 1000 where a
# maximum is stated").
_NOT_STATED = 1000

#: resource-level corrections: ResourceSpec attribute -> value
RESOURCE_FIXES: dict[str, dict[str, object]] = {
    "tasks": {
        "bulk_max": 2000,  # note 37: POST /tasks/bulk/ takes at most 2000 tasks
        # real list items carry hub, organizationId, orderIndex ... (note 23): not histories
        "detail_only": ("histories",),
    },
    "task_schedules": {"max_limit": _NOT_STATED},  # notes 38, 35: no maximum stated
    "activities": {"max_limit": _NOT_STATED},  # notes 39, 35: pageSize, no maximum stated
    "location_histories": {
        "bulk_max": 1000,  # note 40: POST /location-history/bulk ≤ 1000
        "required_on_create": ("email", "lat", "lon"),  # note 40: email R, lat R, lon R
    },
    "automation_logs": {"max_limit": _NOT_STATED},  # notes 42, 35: default 10, no maximum
    "data": {
        "max_limit": _NOT_STATED,  # notes 43, 35: default 20, no maximum stated
        # note 43: "POST /data {dataId R, dataTypeId R, hubId R (unless commonData)}": a record
        # of a shared (commonData) type has no hub, so hubId is the server's per-type check
        # (the schema's unconditional "required" would refuse valid creates client-side)
        "required_on_create": ("dataId", "dataTypeId"),
        "bulk_max": 2000,  # note 43: bulk create/upsert/patch ≤ 2000 (bulk delete ≤ 3000)
        "bulk_upsert_path": "/data/bulk/upsert",  # note 43: matched on dataId (+ type)
        # note 43: PATCH /datas/bulk {"data": [{dataId, dataTypeId, ...}]}: items are matched
        # by dataId + dataTypeId (+ hubId for a type that is not commonData), not by _id
        "bulk_match": ("dataId", "dataTypeId", "hubId"),
    },
    # note 45: POST /vehicles/ states no maximum; 2000 as for tasks and data (notes 37, 43)
    "vehicles": {"bulk_max": 2000},
    "users": {
        # notes 35, 49, 50: the documented examples are malformed (a bare user); the
        # internal docs and real clients read a plain array under "data"
        "envelope_list": "data",
        "list_shape": "array",
        "envelope_one": "data",  # note 47: GET /user/{id} as User__userId_: {status, data}
        # note 47: "personalToken — never log or persist it"
        "secret_fields": ("personalToken",),
    },
    "locked_members": {"id_field": "email"},  # note 47: items are {email, attempt, ttl}
    "roles": {"detail_only": ("permission",)},  # note 47: permission (obj[]) — detail only
    "export_configs": {"max_limit": _NOT_STATED},  # notes 44, 35: default 20, no maximum
    "app_integrations": {"max_limit": _NOT_STATED},  # notes 48, 35: no maximum stated
}

#: field corrections per resource: dotted path -> Fix
FIELD_FIXES: dict[str, dict[str, Fix]] = {
    "tasks": {
        # note 37 dtype table and note 15: the data's spelling, not the prose's
        "status": Fix(enum=("UNASSIGNED", "ONGOING", "DONE")),
        "createdFrom": Fix(enum=("WEB", "API", "Automation", "Mobile")),  # note 37
        "doneFrom": Fix(enum=("WEB", "MOBILE", "System")),  # note 37
        "geoLockTrigger": Fix(enum=("onTaskStart", "onTaskDone")),  # note 37
        "autoSplit": Fix(enum=("Equal", "Maximize")),  # note 37
        # note 9: the task schema says hub.id, data says hub._id; same for the others
        "hub._id": Fix("String", add=True, note="the schema says id, data says _id (note 9)"),
        "assignedTo._id": Fix("String", add=True, note="note 9"),
        "assignedVehicle._id": Fix("String", add=True, note="note 9"),
        "assignedVehicle.speed": Fix("Integer", note="null in data; typed string (note 30)"),
        # notes 21, 22: real tasks hold a list of labels and numbers for these two
        "label": Fix("Array of String", note="a list in data (note 21)"),
        "travelDistance": Fix("Float", note="meters, a number in data (note 22)"),
        "visitGroupPriority": Fix("Integer", note="0-100, a number in data (note 22)"),
        "inLocation": Fix("Datetime", note="note 23"),
        "isDeleted": Fix("Boolean", add=True, note="on every real task (note 23)"),
        "appVersion": Fix("Object", add=True, note="an object, {name, version} (note 51)"),
        "appVersion.name": Fix("String", add=True, note='"5.21.3" (note 51)'),
        "appVersion.version": Fix("Integer", add=True, note="521 (note 51)"),
        "outLocation": Fix("Datetime", note="note 23"),
        # note 11: geoLock is an object in the schema, a list in data
        "geoLock": Fix("Array of Object", note="an object in the schema, a list in data (note 11)"),
        # notes 11, 37: doneCoordinate typed number, "lat,lng" text in practice
        "doneCoordinate": Fix("String", note='number in the schema, "lat,lng" in data'),
        # note 37: orderIndex is an epoch-derived integer (fits int64 exactly)
        "orderIndex": Fix("Integer", note="number in the schema; epoch-derived ints in data"),
        # notes 37, 46: eta/etd are times of day ("08:34:00")
        "eta": Fix("Time", note="string in the schema; a time of day in data"),
        "etd": Fix("Time"),
        # note 6: vehicle working hours are times of day ("08:00")
        "assignedVehicle.workingTime.startTime": Fix("Time"),
        "assignedVehicle.workingTime.endTime": Fix("Time"),
        # note 37 dtype table: the activity keys a task carries (note 39)
        "taskType": Fix("Enum", enum=("activityMaster", "activityChild"), add=True),
        "subStatus": Fix("String", add=True),
        "subId": Fix("Array of String", add=True),
        "parentId": Fix("String", add=True),
        "workflowId": Fix("String", add=True),
        "deviceInformation": Fix("Object", note='an object, {"os": "13"} (note 23)'),
        "deviceInformation.os": Fix("String", add=True, note="the example's one key (note 23)"),
    },
    "tasks_gallery": {
        "status": Fix(enum=("UNASSIGNED", "ONGOING", "DONE")),  # note 15, as tasks
        "geoLock": Fix("Array of Object", note="note 11, as tasks"),
        "doneCoordinate": Fix("String", note="note 11, as tasks"),
        "orderIndex": Fix("Integer", note="note 37, as tasks"),
    },
    "task_schedules": {
        # note 38: daily, weekly, monthly, byDate, custom
        "periode": Fix(enum=("daily", "weekly", "monthly", "byDate", "custom")),
        # note 11: schedules[].time is typed string, every example holds a list
        "schedules.time": Fix("Array of String", note='a list like ["07:00"] (note 11)'),
        # notes 6, 38: the active window is given as dates ('Y-m-d')
        "startTime": Fix("Date", note="a date (note 6); custom schedules show 'Y-m-d H:i'"),
        "endTime": Fix("Date", note="a date (note 6)"),
    },
    "activities": {
        # note 39: a master is a task whose status follows its children's (task statuses);
        # the list filter documents UNASSIGNED, ONGOING, DONE and the examples hold
        # ONGOING/DONE, while the ActivityObject schema alone says ONGOING/COMPLETED/FAILED
        "status": Fix(enum=("UNASSIGNED", "ONGOING", "DONE"), note="task statuses (note 39)"),
        # note 39 lists master-task fields the ActivityObject schema leaves out
        "flow": Fix("String", add=True, note="note 39"),
        "title": Fix("String", add=True, note="note 39"),
        "assignee": Fix("Array of String", add=True, note="union of the children's (note 39)"),
        "subStatus": Fix("String", add=True, note="nullable (note 39)"),
        "startTime": Fix("Datetime", add=True, note="the earliest child's (note 39)"),
        "endTime": Fix("Datetime", add=True, note="the latest child's (note 39)"),
        "createdFrom": Fix("String", add=True, note="note 39"),
        "workflow.steps": Fix(note="left out of master responses (note 14)"),
        # note 39: the object's tasks are child ids; the create body's tasks are step bodies
        "tasks": Fix(writable=False, note="child task ids (note 39)"),
    },
    "location_histories": {
        # note 27: a float on every record, often negative (the schema says integer)
        "trackedTime": Fix("Float", note="on every record, often negative (note 27)"),
        # note 40: eventName is a category of otw / nearBy / done
        "eventName": Fix(enum=("otw", "nearBy", "done")),
        # note 40: time is an epoch in milliseconds
        "time": Fix(note="epoch milliseconds (note 6)"),
        "data": Fix("JSON", add=True, note="free object of custom records (note 40)"),
        # note 40: the write body sets the point's createdTime ('Y-m-d H:i:s'); PUT
        # /location-history/ finds the point by email + createdTime
        "createdTime": Fix(writable=True, note="set by the writer (note 40)"),
    },
    "flows": {
        # note 41: adjustment is an int (hours); the schema says string
        "configurations.adjustment": Fix("Integer", note="hours; typed string in the schema"),
        # note 41: pages are {id, enabled, title, showTooltip, components}; components
        # also carry preValue
        "pages.title": Fix("String", add=True, note="note 41"),
        "pages.showTooltip": Fix("Boolean", add=True, note="note 41"),
        "pages.components.preValue": Fix("String", add=True, note="note 41"),
    },
    "flow_logs": {
        # note 41: rawData / changeData are whole flow documents (before / after)
        "rawData": Fix("JSON", note="the flow before the change (note 41)"),
        "changeData": Fix("JSON", note="the flow after the change (note 41)"),
        "action": Fix(enum=("create", "put", "reorder")),  # note 41
    },
    "automations": {
        # note 42: headers is a map {name: value}; the schema says array
        "automationDetails.headers": Fix("JSON", note="{name: value} (note 42)"),
        # note 42: taskData / dataSource are objects of field values; assignee e-mails
        "automationDetails.taskData": Fix("JSON", note="{field: value} (note 42)"),
        "automationDetails.dataSource": Fix("JSON", note="{field: value} (note 42)"),
        "automationDetails.assignee": Fix("Array of String", note="e-mails (note 42)"),
        # note 42: the WhatsApp notification's keys
        "automationDetails.channel": Fix("String", add=True, note="notification (note 42)"),
        "automationDetails.taskFieldReceiver": Fix("String", add=True, note="note 42"),
        "automationDetails.secretKey": Fix("String", add=True, note="note 42"),
        "automationDetails.message": Fix("String", add=True, note="note 42"),
    },
    "automation_logs": {
        # note 10: attempt and statusCode are numbers written as strings ("0", "201")
        "attempt": Fix("Integer", note='a number written as a string, "0" (note 10)'),
        "statusCode": Fix("Integer", note='a number written as a string, "201" (note 10)'),
    },
    "data_types": {
        # note 11: a field's default is "true", 12 or "09:00"
        "fields.default": Fix("JSON", note='"true", 12, "09:00" … (note 11)'),
        # note 43: optionData is the option list (strings in every example)
        "fields.optionData": Fix("Array of String", note="note 43"),
        # note 43: providerConfig is null or {url, key}
        "providerConfig": Fix("JSON", add=True, note="null or {url, key} (note 43)"),
        "provider": Fix("Enum", enum=("internal", "external-api"), add=True, note="note 43"),
    },
    "vehicles": {
        # notes 10, 45: speed is typed string, sent and stored as an int (km/h)
        "speed": Fix("Integer", note="km/h; typed string in the schema (note 10)"),
        # notes 11, 45: workingTime/breakTime/capacity are arrays in the schema,
        # objects in every example
        "workingTime": Fix("Object", note="an array in the schema, an object in data"),
        "breakTime": Fix("Object", note="an array in the schema, an object in data"),
        # notes 6, 45: working and break hours are times of day ("08:00")
        "breakTime.startTime": Fix("Time"),
        "breakTime.endTime": Fix("Time"),
        "capacity": Fix("JSON", note='{constraint: {min, max}}, e.g. {"weight": …} (note 45)'),
        # note 45: the body takes oddEven (odd/even); the request schemas leave it out
        "oddEven": Fix(writable=True),
    },
    "routing_results": {
        # note 46: status is ongoing | done | failed (note 15: lower case)
        "status": Fix(enum=("ongoing", "done", "failed")),
        # notes 11, 46: configuration and result are objects (arrays in the schema)
        "configuration": Fix("Object", note="an array in the schema, an object in data"),
        "configuration.name": Fix("String", note="typed boolean in the schema (note 46)"),
        # note 11: clustering is an enum string in requests, false in stored results
        "configuration.clustering": Fix("JSON", note="a string or false (note 11)"),
        "result": Fix("Object", note="an array in the schema, an object in data (note 46)"),
        "result.routing.workingTime": Fix("Object", note="note 46"),
        # note 6: working hours are times of day; the schema says integer
        "result.routing.workingTime.startTime": Fix("Time"),
        "result.routing.workingTime.endTime": Fix("Time"),
        "result.routing.vehicleTags": Fix("Array of String", note="note 46"),
        # note 46: trips carry waiting minutes, a "lat,lng" coordinate, eta/etd times
        "result.routing.trips.waitingTime": Fix("Integer", note="minutes (note 46)"),
        "result.routing.trips.coordinate": Fix("String", note='"lat,lng" (note 34)'),
        "result.routing.trips.etd": Fix("Time", note='"08:34:00" (note 46)'),
        # note 46: a visit's constraint values are its capacity amounts (any number up to
        # 9 999 999 999, e.g. kilograms), which the route totals of the same constraints
        # (totalWeight, totalVolume) sum as numbers; the examples happen to hold integers
        "result.routing.trips.weight": Fix("Float", note="a capacity amount (note 46)"),
        "result.routing.trips.volume": Fix("Float", note="a capacity amount (note 46)"),
        "result.dropped.weight": Fix("Float", note="a capacity amount (note 46)"),
        "result.dropped.volume": Fix("Float", note="a capacity amount (note 46)"),
        # note 6: time windows are times of day
        "result.routing.trips.timeWindow.startTime": Fix("Time"),
        "result.routing.trips.timeWindow.endTime": Fix("Time"),
        # note 46: finish times of routes are times of day, as the summary's
        # min/max/avgFinishTime ("08:46:00") that aggregate them
        "result.routing.finishTime": Fix("Time", note="time of day (note 46)"),
        # note 26: what real routes and trips carry beside the documented keys
        "result.routing.breakTime": Fix("Object", add=True, note="note 26"),
        "result.routing.breakTime.startTime": Fix("Time", add=True, note="note 26"),
        "result.routing.breakTime.endTime": Fix("Time", add=True, note="note 26"),
        "result.routing.trips.etaStr": Fix("String", add=True, note="eta as text (note 26)"),
        "result.routing.trips.etdStr": Fix("String", add=True, note="etd as text (note 26)"),
        "summary.minFinishTime": Fix("Time", note='"08:46:00" (note 46)'),
        "summary.maxFinishTime": Fix("Time", note='"08:46:00" (note 46)'),
        "summary.avgFinishTime": Fix("Time", note='"08:46:00" (note 46)'),
        # note 46: dropped[] items are visits (+ reason): ids like "taskId-<id>" (note 34)
        "result.dropped.id": Fix("String", note="visit id (note 34)"),
        "result.dropped.address": Fix("String", note="typed number in the schema"),
        "result.dropped.isHub": Fix("Boolean", note="typed string in the schema"),
        "result.dropped.tags": Fix("Array of String", note="note 46"),
        "result.dropped.visitTime": Fix("Float", note="minutes (note 46)"),
        "result.dropped.capacity": Fix("JSON", note="{constraint: value} (note 46)"),
        # note 6: time windows are times of day
        "result.dropped.timeWindows.startTime": Fix("Time"),
        "result.dropped.timeWindows.endTime": Fix("Time"),
        "hubId": Fix("String", note="an array in the schema, one id in data (note 46)"),
        # note 46 lists createdFrom; the Routing schema types it integer and describes it as
        # "a string indicating the source" (note 10: numbers vs strings); tasks' and
        # activities' createdFrom is text ("WEB", "API", notes 37, 39)
        "createdFrom": Fix("String", note="typed integer, described as a string (note 10)"),
        "user": Fix("Object", note="{name} (note 46)"),
        # note 50: real clients read summary at the item's top level
        "summary": Fix("Object", note="also under result (notes 46, 50)"),
        # note 50: keys real result items carry that the spec does not list
        "dispatchStatus": Fix("String", add=True, note='"done", … (note 50)'),
        "dispatchMessage": Fix("String", add=True, note="note 50"),
        "isShown": Fix("Boolean", add=True, note="note 50"),
        "totalResultHistories": Fix("Integer", add=True, note="note 50"),
        # the list schema describes its items as {data: string}: a doc artefact (note 46)
        "data": Fix(drop=True),
    },
    "users": {
        # note 47: role and organization are objects, hubId/teamId lists of ids
        "role": Fix("Object", note="an array in the schema, an object in data (note 47)"),
        "role.createdTime": Fix("Datetime", note="typed object in the schema"),
        "organization": Fix("Object", note="an array in the schema (note 47)"),
        "hubId": Fix("Array of String", note="hub ids (note 47)"),
        "teamId": Fix("Array of String", note="team ids; empty = all teams (note 47)"),
        "personalToken": Fix(drop=True),  # note 47: a secret, never persisted
    },
    "locked_members": {
        "attempt": Fix("Integer", note='a number written as a string, "5" (note 10)'),
    },
    "hubs": {
        # note 47 lists countryCode beside country (obj); a code like "IDN" wherever a value
        # is shown (note 46 result.countryCode, the ActivityObject's hub.countryCode string);
        # the Hub schema alone types it number (note 10: numbers vs strings)
        "countryCode": Fix("String", note='a code like "IDN"; typed number in the Hub schema'),
    },
    "export_configs": {
        # note 44: fields is obj[] {id, component, title, source, inputType, uniqueTitle}
        "fields": Fix("Array of Object", note="typed object in the schema (note 44)"),
        "flowIds": Fix("Array of String", note="note 44"),
    },
    "export_logs": {
        # notes 44, 15: Processing / Done / Failed; data types as the filter lists
        "status": Fix(enum=("Processing", "Done", "Failed")),
        "dataType": Fix(enum=("task", "data", "vehicle", "driver", "route")),
    },
}

#: child tables
CHILDREN: dict[str, Child] = {
    "task_histories": Child(
        "tasks", ("histories",), "taskId", doc="a task's change history (note 37)"
    ),
    "flow_components": Child(
        "flows",
        ("pages", "components"),
        "flowId",
        carry=(("pageId", "pages.id"),),
        doc="the form components of every flow page; their ids are task keys (note 41)",
    ),
    "routing_result_routes": Child(
        "routing_results",
        ("result", "routing"),
        "resultId",
        doc="one planned route per vehicle (note 46)",
    ),
    "routing_result_visits": Child(
        "routing_results",
        ("result", "routing", "trips"),
        "resultId",
        carry=(
            ("vehicleId", "result.routing.vehicleId"),
            ("vehicleName", "result.routing.vehicleName"),
            ("assignee", "result.routing.assignee"),
        ),
        doc="every stop of every route, hub stops included (note 46: store trips as a table)",
    ),
    "routing_result_dropped": Child(
        "routing_results",
        ("result", "dropped"),
        "resultId",
        doc="visits the optimiser could not place, with the reason (note 46)",
    ),
    "vehicle_working_times": Child(
        "vehicles",
        ("workingTime",),
        "vehicleId",
        doc="working hours (an object per vehicle in data, an array in the schema; note 11)",
    ),
    "vehicle_capacities": Child(
        "vehicles",
        ("capacity",),
        "vehicleId",
        keyed_by="constraint",
        row_fields=(("min", "Integer", "note 45"), ("max", "Integer", "note 45")),
        doc='one row per capacity constraint: {"weight": {"min": 10, "max": 1000}} (note 45)',
    ),
    "data_type_fields": Child(
        "data_types", ("fields",), "dataTypeId", doc="the fields of every data type (note 43)"
    ),
}
