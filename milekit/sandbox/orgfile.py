"""Org files: a tester's own organisation, loaded on top of the demo or instead of it.

>>> from milekit.sandbox.seed import build_org
>>> org = load_org({"hubs": [{"name": "Depok Hub", "lat": -6.4, "lng": 106.79}]},
...                build_org(tasks=0), replace=True)
>>> [h["name"] for h in org.hubs], org.hubs[0]["deleteAccess"], org.tasks
(['Depok Hub'], True, [])

One JSON object (``docs/guides/sandbox.md`` documents it, :func:`org_schema` is its JSON
Schema): ``hubs``, ``roles``, ``teams``, ``users``, ``flows``, ``vehicles`` and ``tasks``,
each a list of objects shaped as the API answers them (the registry's fields and types,
:data:`milekit.types.registry.RESOURCES`), every key optional but a few. Loading checks the
file in three passes, each failure an :class:`~milekit.errors.OrgFileError` naming the
file, the JSON path and what was expected: the shape and the types; then, against the
demo (``replace=False``) or the file alone, required keys, unique ids / e-mails / flow
names and every reference (a user's hubs, teams and role, a team's hub, a vehicle's hub
and assignee, a task's flow, hub, assignees and vehicle, its custom keys from its flow);
then the keys left out are filled as the sandbox fills them for an object created through
the API (ids, timestamps, the embedded hub, assignee and role, a task's history).

An object whose ``_id`` the demo already has updates that object (its keys over the
demo's) instead of adding one. :func:`export_org` writes the same format back, and loading
an export instead of the demo gives the same objects again.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from milekit.errors import OrgFileError
from milekit.sandbox.http import instant, is_object_id, iso_micro, iso_now
from milekit.sandbox.seed import NEW_TASK_KEYS, Doc, Org, assigned_to
from milekit.sandbox.seed.base import SEED_NOW, object_id
from milekit.sandbox.store import Store
from milekit.types.registry import RESOURCES, Field, FieldType

__all__ = [
    "FORMAT",
    "MAPPING",
    "SECTIONS",
    "export_org",
    "load_org",
    "org_schema",
    "read_org",
    "write_schema",
]

FORMAT = "milekit-org/1"  #: the value of the optional ``format`` key
MAPPING = "<org mapping>"  #: how errors name an org given as a dict
#: the lists of a file, in load order: what is referenced comes before what refers to it
SECTIONS = ("hubs", "roles", "teams", "users", "flows", "vehicles", "tasks")
_TOP = ("$schema", "format", *SECTIONS)
#: keys an object must have once merged with the demo object of the same ``_id``
_REQUIRED: dict[str, tuple[str, ...]] = {
    "hubs": ("name", "lat", "lng"),
    "roles": ("name",),
    "teams": ("name", "hubId"),
    "users": ("name", "email"),
    "flows": ("name",),
    "vehicles": ("name", "hubId"),
    "tasks": ("flow", "hubId"),
}
#: keys the demo's objects carry beyond the contract's fields (kept by the sandbox)
_EXTRA: dict[str, dict[str, FieldType]] = {
    "vehicles": {"type": FieldType.STRING},
    "flows": {"description": FieldType.STRING},
}
_PRIVATE = ("personalToken",)  # never exported (a secret, note 47)
_EXPECT: dict[FieldType, str] = {
    FieldType.STRING: "a string",
    FieldType.INTEGER: "a whole number",
    FieldType.FLOAT: "a number",
    FieldType.BOOLEAN: "true or false",
    FieldType.DATETIME: "an ISO 8601 datetime (2026-08-01T07:00:00+00:00)",
    FieldType.TIME: "a time of day (HH:MM or H:MM:SS)",
    FieldType.DATE: "a date (YYYY-MM-DD)",
    FieldType.OBJECT: "an object",
    FieldType.JSON: "an object or a list",
    FieldType.ARRAY_STRING: "a list of strings",
    FieldType.ARRAY_OBJECT: "a list of objects",
}


def fields_of(section: str) -> dict[str, Field]:
    """The keys an object of ``section`` may have, with their types.

    >>> fields_of("vehicles")["type"].type.value, fields_of("hubs")["lat"].type.value
    ('String', 'Float')
    """
    out = {f.name: f for f in RESOURCES[section].fields}
    out.update({k: Field(k, t) for k, t in _EXTRA.get(section, {}).items()})
    return out


def _got(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _is_time(v: str) -> bool:
    h, _, rest = v.partition(":")
    parts = rest.split(":") if rest else []
    return (
        h.isdigit()
        and len(h) <= 2
        and 1 <= len(parts) <= 2
        and all(len(p) == 2 and p.isdigit() for p in parts)
    )


def _checks(f: Field) -> Callable[[Any], bool]:
    t = f.type
    if t is FieldType.STRING:
        return lambda v: isinstance(v, str)
    if t is FieldType.INTEGER:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if t is FieldType.FLOAT:
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if t is FieldType.BOOLEAN:
        return lambda v: isinstance(v, bool)
    if t is FieldType.DATETIME:
        return lambda v: isinstance(v, str) and instant(v) is not None
    if t is FieldType.TIME:
        return lambda v: isinstance(v, str) and _is_time(v)
    if t is FieldType.DATE:
        return lambda v: isinstance(v, str) and instant(v) is not None
    if t is FieldType.ENUM:
        return lambda v: v in f.enum
    if t is FieldType.OBJECT:
        return lambda v: isinstance(v, dict)
    if t is FieldType.JSON:
        return lambda v: isinstance(v, (dict, list))
    if t is FieldType.ARRAY_STRING:
        return lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)
    return lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v)


def _expected(f: Field) -> str:
    if f.type is FieldType.ENUM:
        return "one of " + ", ".join(f.enum)
    return _EXPECT[f.type]


# --- pass 1: the file's shape and types ----------------------------------------------------


def read_org(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[str, Doc]:
    """``(name, org)``: the org file (or mapping) parsed and its shape and types checked.

    >>> read_org({"hubz": []})
    Traceback (most recent call last):
    ...
    milekit.errors.OrgFileError: <org mapping>: $.hubz: expected one of the keys $schema, \
format, hubs, roles, teams, users, flows, vehicles, tasks (unknown key)
    """
    if isinstance(source, Mapping):
        name, data = MAPPING, orjson.loads(orjson.dumps(dict(source)))  # a private copy
    else:
        name = os.fspath(source)
        try:
            raw = Path(name).read_bytes()
        except OSError as e:
            raise OrgFileError(name, "$", "a readable file", e.strerror) from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise OrgFileError(name, f"line {e.lineno} column {e.colno}", "JSON", e.msg) from None
    if not isinstance(data, dict):
        raise OrgFileError(name, "$", "a JSON object", _got(data))
    for key, value in data.items():
        if key not in _TOP:
            raise OrgFileError(name, f"$.{key}", f"one of the keys {', '.join(_TOP)} (unknown key)")
        if key == "format" and value != FORMAT:
            raise OrgFileError(name, "$.format", repr(FORMAT), _got(value))
        if key in SECTIONS:
            _check_section(name, key, value)
    return name, data


def _check_section(name: str, section: str, items: Any) -> None:
    if not isinstance(items, list):
        raise OrgFileError(name, f"$.{section}", "a list of objects", _got(items))
    known = fields_of(section)
    for i, item in enumerate(items):
        where = f"$.{section}[{i}]"
        if not isinstance(item, dict):
            raise OrgFileError(name, where, "an object", _got(item))
        for key, value in item.items():
            f = known.get(key)
            if f is None:
                if section == "tasks":
                    continue  # a custom key: checked against the task's flow (pass 2)
                raise OrgFileError(name, f"{where}.{key}", f"a {section} key (unknown key)")
            if key == "_id" and not is_object_id(value):
                raise OrgFileError(name, f"{where}._id", "a 24-hex ObjectId", _got(value))
            if value is not None and not _checks(f)(value):
                raise OrgFileError(name, f"{where}.{key}", _expected(f), _got(value))


# --- pass 2: against the organisation -------------------------------------------------------


@dataclass
class _Index:
    """The objects a reference may point at: the demo's (on top) and the file's."""

    by_id: dict[str, dict[str, Doc]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  #: user e-mail -> _id
    flows: dict[str, Doc] = field(default_factory=dict)  #: flow name -> flow

    def add(self, section: str, doc: Doc) -> None:
        self.by_id.setdefault(section, {})[doc["_id"]] = doc
        if section == "users":
            self.emails[doc["email"]] = doc["_id"]
        elif section == "flows":
            self.flows[doc["name"]] = doc


@dataclass
class _Loader:
    name: str
    base: Org
    replace: bool
    now: float
    index: _Index = field(default_factory=_Index)
    file_ids: dict[str, set[str]] = field(default_factory=dict)  #: the _ids the file gave

    def fail(self, path: str, expected: str, got: Any = ...) -> None:
        raise OrgFileError(self.name, path, expected, None if got is ... else _got(got))

    def where(self) -> str:
        return "(in the file)" if self.replace else "(in the file or the demo)"

    def ref(self, path: str, section: str, value: Any) -> Doc:
        """The object ``value`` names (an ``_id``, a flow's name, a user's e-mail)."""
        if section == "flows":
            doc = self.index.flows.get(value)
            what = "the name of a flow"
        elif section == "emails":
            doc = self.index.by_id["users"].get(self.index.emails.get(value, ""))
            what = "the e-mail of a user"
        else:
            doc = self.index.by_id.get(section, {}).get(value)
            what = f"the _id of a {section.removesuffix('s')}"
        if doc is None:
            self.fail(path, f"{what} {self.where()}", value)
        assert doc is not None
        return doc


def load_org(source: Any, base: Org, *, replace: bool = False, now: float = SEED_NOW) -> Org:
    """``base`` (the demo) with the org file ``source`` loaded on top of it, or, with
    ``replace``, the file's objects alone in ``base``'s organisation (its record, the
    token's user and, unless the file lists its own, its roles). ``now`` stamps the
    objects the file leaves undated: the demo's "now" by default, so the same file
    always gives the same documents. Raises :class:`~milekit.errors.OrgFileError`."""
    name, data = read_org(source)
    ld = _Loader(name, base, replace, now)
    out = base if not replace else Org(base.organization, base.me, roles=list(base.roles))
    for section in SECTIONS:
        docs: list[Doc] = getattr(out, section)
        for doc in docs:
            ld.index.add(section, doc)
        positions = {d["_id"]: k for k, d in enumerate(docs)}
        for i, item in enumerate(data.get(section, [])):
            path = f"$.{section}[{i}]"
            doc = _resolve(ld, section, path, item, positions)
            if doc["_id"] in positions:
                docs[positions[doc["_id"]]] = doc
            else:
                positions[doc["_id"]] = len(docs)
                docs.append(doc)
            ld.index.add(section, doc)
    _count_team_users(out)
    return out


def _resolve(ld: _Loader, section: str, path: str, item: Doc, positions: dict[str, int]) -> Doc:
    """One file object checked against the organisation, merged or filled."""
    old = None
    if "_id" in item:
        mine = ld.file_ids.setdefault(section, set())
        if item["_id"] in mine:
            ld.fail(f"{path}._id", "a unique _id", item["_id"])
        mine.add(item["_id"])
        if item["_id"] in positions:
            old = ld.index.by_id[section][item["_id"]]
    doc = dict(old, **item) if old is not None else dict(item)
    for key in _REQUIRED[section]:
        if doc.get(key) in (None, ""):
            ld.fail(f"{path}.{key}", f"a value (the {section} key {key} is required)")
    _unique(ld, section, path, doc)
    CHECK_REFS[section](ld, path, doc)
    if old is None:
        doc.setdefault("_id", _new_id(section, path, item, ld.now))
        doc = FILL[section](ld, doc)
    return doc


def _unique(ld: _Loader, section: str, path: str, doc: Doc) -> None:
    if section == "users":
        owner = ld.index.emails.get(doc["email"])
        if owner is not None and owner != doc.get("_id"):
            ld.fail(f"{path}.email", "a unique e-mail", doc["email"])
    if section == "flows":
        other = ld.index.flows.get(doc["name"])
        if other is not None and other["_id"] != doc.get("_id"):
            ld.fail(f"{path}.name", "a unique flow name", doc["name"])


def _new_id(section: str, path: str, item: Doc, now: float) -> str:
    """A fresh ObjectId stamped ``now``, the same for the same object of the same file."""
    digest = hashlib.sha256(orjson.dumps([section, path, item], option=orjson.OPT_SORT_KEYS))
    return object_id(random.Random(digest.digest()), int(now))


def _count_team_users(org: Org) -> None:
    counts: dict[str, int] = {}
    for u in org.users:
        for t in u.get("teamId") or []:
            counts[t] = counts.get(t, 0) + 1
    org.teams = [
        t if "totalUser" in t else dict(t, totalUser=counts.get(t["_id"], 0)) for t in org.teams
    ]


# --- references ------------------------------------------------------------------------------


def _no_refs(ld: _Loader, path: str, doc: Doc) -> None:
    """Hubs, roles and flows point at nothing."""


def _team_refs(ld: _Loader, path: str, doc: Doc) -> None:
    ld.ref(f"{path}.hubId", "hubs", doc["hubId"])


def _user_refs(ld: _Loader, path: str, doc: Doc) -> None:
    for j, hub in enumerate(doc.get("hubId") or []):
        ld.ref(f"{path}.hubId[{j}]", "hubs", hub)
    for j, team in enumerate(doc.get("teamId") or []):
        ld.ref(f"{path}.teamId[{j}]", "teams", team)
    if doc.get("roleId") is not None:
        ld.ref(f"{path}.roleId", "roles", doc["roleId"])


def _vehicle_refs(ld: _Loader, path: str, doc: Doc) -> None:
    ld.ref(f"{path}.hubId", "hubs", doc["hubId"])
    if doc.get("assignee"):
        ld.ref(f"{path}.assignee", "emails", doc["assignee"])


def _task_refs(ld: _Loader, path: str, doc: Doc) -> None:
    flow = ld.ref(f"{path}.flow", "flows", doc["flow"])
    if doc.get("flowId") not in (None, flow["_id"]):
        ld.fail(f"{path}.flowId", f"the _id of flow {flow['name']!r}", doc["flowId"])
    ld.ref(f"{path}.hubId", "hubs", doc["hubId"])
    for j, email in enumerate(doc.get("assignee") or []):
        ld.ref(f"{path}.assignee[{j}]", "emails", email)
    if doc.get("assignedVehicleId") is not None:
        ld.ref(f"{path}.assignedVehicleId", "vehicles", doc["assignedVehicleId"])
    known = fields_of("tasks")
    custom = {c.get("id") for p in flow.get("pages") or [] for c in p.get("components") or []}
    for key in doc:
        if key not in known and key not in custom:
            keys = ", ".join(sorted(str(c) for c in custom))
            ld.fail(f"{path}.{key}", f"a task key or a field of flow {flow['name']!r}: {keys} "
                    "(unknown key)")  # fmt: skip


CHECK_REFS: dict[str, Callable[[_Loader, str, Doc], None]] = {
    "hubs": _no_refs,
    "roles": _no_refs,
    "teams": _team_refs,
    "users": _user_refs,
    "flows": _no_refs,
    "vehicles": _vehicle_refs,
    "tasks": _task_refs,
}


# --- pass 3: the keys left out, as the sandbox fills them for created objects -------------------


def _stamps(ld: _Loader, micro: bool) -> Doc:
    stamp = iso_micro(ld.now) if micro else iso_now(ld.now)
    return {"createdTime": stamp, "updatedTime": stamp}


def _org_id(ld: _Loader) -> str:
    org_id: str = ld.base.organization["id"]
    return org_id


def _fill_hub(ld: _Loader, doc: Doc) -> Doc:
    """As ``POST /hub``: the organisation's country (from a hub it has), deletable."""
    sample = next(iter(ld.index.by_id.get("hubs", {}).values()), {})
    out: Doc = {"_id": doc["_id"], "address": None}
    if "country" in sample:
        out.update(country=sample["country"], countryCode=sample.get("countryCode"))
    out.update(organizationId=_org_id(ld), deleteAccess=True, **_stamps(ld, True))
    return out | doc


def _fill_role(ld: _Loader, doc: Doc) -> Doc:
    out: Doc = {"_id": doc["_id"], "isAdmin": False, "isDefault": False, "isDeleted": False}
    out.update(permissionList=[], permissionDetails=[], permission=[])
    return out | {"organizationId": _org_id(ld), **_stamps(ld, True)} | doc


def _fill_team(ld: _Loader, doc: Doc) -> Doc:
    """As ``POST /team`` (``totalUser`` counted once every user is loaded)."""
    return {"_id": doc["_id"], "organizationId": _org_id(ld), **_stamps(ld, True)} | doc


def _fill_user(ld: _Loader, doc: Doc) -> Doc:
    """Active, in no hub or team, with the organisation's default role (the one an invited
    user gets), embedded as the demo's users embed it."""
    roles = ld.index.by_id.get("roles", {})
    role_id = doc.get("roleId")
    if "roleId" not in doc:
        role_id = next((r["_id"] for r in roles.values() if r.get("isDefault")), None)
    role = roles.get(role_id or "")
    out: Doc = {"_id": doc["_id"], "phoneNumber": None, "status": "active", "language": "en"}
    out.update(provider="web", hubId=[], teamId=[], roleId=role_id)
    out["role"] = {"_id": role["_id"], "name": role["name"]} if role is not None else None
    out.update(organizationId=_org_id(ld), firstLogin=False, **_stamps(ld, False))
    return out | doc


def _fill_flow(ld: _Loader, doc: Doc) -> Doc:
    """As ``POST /flow``: default time configurations, the next order index, version 1."""
    flows = ld.index.by_id.get("flows", {}).values()
    me = ld.base.me["email"]
    out: Doc = {"_id": doc["_id"], "pages": []}
    out["configurations"] = [
        {"id": "startTime", "adjustment": 0},
        {"id": "endTime", "adjustment": 24},
    ]
    last = max((f.get("orderIndex") or 0 for f in flows), default=0)
    out.update(isDefault=False, orderIndex=last + 1)
    out.update(organizationId=_org_id(ld), version=1, createdBy=me, updatedBy=me)
    out = out | _stamps(ld, True) | doc
    pages = out["pages"] or []
    out["pages"] = [p if "id" in p else dict(p, id=f"page{i}") for i, p in enumerate(pages)]
    return out


def _fill_vehicle(ld: _Loader, doc: Doc) -> Doc:
    """As ``POST /vehicle``: speed 25, no fixed cost, no tags, its hub embedded."""
    hub = ld.index.by_id["hubs"][doc["hubId"]]
    out: Doc = {"_id": doc["_id"], "speed": 25, "fixedCost": 0, "tags": []}
    out["hubs"] = [{"_id": hub["_id"], "name": hub["name"], "address": hub.get("address")}]
    return out | {"organizationId": _org_id(ld), **_stamps(ld, False)} | doc


def _fill_task(ld: _Loader, doc: Doc) -> Doc:
    """As ``POST /task``: every standard key (null until set), created by the token's user
    now, open for a day, its flow, hub and first assignee embedded, one history line."""
    org, me, now = ld.base.organization, ld.base.me["email"], ld.now
    stamp = iso_now(now)
    hub = ld.index.by_id["hubs"][doc["hubId"]]
    out: Doc = {"_id": doc["_id"], "organizationId": org["id"]}
    out["organization"] = {"_id": org["id"], "name": org["name"], "email": org["email"]}
    out.update(label=[], isDeleted=False, assignedVehicle=None, **NEW_TASK_KEYS)
    out.update(flowId=ld.index.flows[doc["flow"]]["_id"], startTime=stamp)
    out.update(endTime=iso_now(now + 86400), createdFrom="API", createdBy=me, createdTime=stamp)
    out["orderIndex"] = int(now * 1000) * 100 + int(doc["_id"][-6:], 16) % 100
    out["hub"] = {"_id": hub["_id"], "name": hub["name"], "lat": hub["lat"], "lng": hub["lng"]}
    assignee = doc.get("assignee") or []
    out["status"] = "ONGOING" if assignee else "UNASSIGNED"
    out["assignedTo"] = None
    if assignee:
        user = ld.index.by_id["users"][ld.index.emails[assignee[0]]]
        out.update(assignedBy=me, assignedTime=stamp, assignedTo=assigned_to(user))
    history: Doc = {"_id": _new_id("histories", doc["_id"], {}, now), "action": "create"}
    history.update(notes="Task created", changeData={}, createdAt=iso_micro(now))
    out.update(histories=[history], updatedTime=stamp)
    return out | doc


FILL: dict[str, Callable[[_Loader, Doc], Doc]] = {
    "hubs": _fill_hub,
    "roles": _fill_role,
    "teams": _fill_team,
    "users": _fill_user,
    "flows": _fill_flow,
    "vehicles": _fill_vehicle,
    "tasks": _fill_task,
}


# --- export and schema ------------------------------------------------------------------------


def export_org(store: Store) -> Doc:
    """The store's organisation in the org-file format (what :func:`load_org` reads).

    >>> from milekit.sandbox.seed import build_org
    >>> out = export_org(Store(build_org(tasks=2)))
    >>> out["format"], list(out)[1:], len(out["tasks"])
    ('milekit-org/1', ['hubs', 'roles', 'teams', 'users', 'flows', 'vehicles', 'tasks'], 2)
    """
    out: Doc = {"format": FORMAT}
    for section in SECTIONS:
        docs = store.values(section)
        out[section] = [{k: v for k, v in d.items() if k not in _PRIVATE} for d in docs]
    return out


def _type_schema(f: Field) -> Doc:
    t = f.type
    if f.name == "_id":
        return {"type": "string", "pattern": "^[0-9a-f]{24}$"}
    if t is FieldType.ENUM:
        return {"enum": [*f.enum, None]}
    simple = {
        FieldType.STRING: "string",
        FieldType.INTEGER: "integer",
        FieldType.FLOAT: "number",
        FieldType.BOOLEAN: "boolean",
        FieldType.DATETIME: "string",
        FieldType.DATE: "string",
        FieldType.TIME: "string",
        FieldType.OBJECT: "object",
    }
    if t in simple:
        out: Doc = {"type": [simple[t], "null"]}
        if t is FieldType.TIME:
            out["pattern"] = r"^\d{1,2}:\d{2}(:\d{2})?$"
        return out
    if t is FieldType.JSON:
        return {"type": ["object", "array", "null"]}
    item = "string" if t is FieldType.ARRAY_STRING else "object"
    return {"type": ["array", "null"], "items": {"type": item}}


def org_schema() -> Doc:
    """The org file's JSON Schema (``docs/guides/sandbox-org.schema.json``).

    Types and unknown keys only: required keys and references depend on what the file is
    loaded into (the demo or nothing), so :func:`load_org` checks them.

    >>> sorted(org_schema()["properties"])[:3]
    ['$schema', 'flows', 'format']
    """
    defs: Doc = {}
    for section in SECTIONS:
        defs[section] = {
            "type": "object",
            "properties": {k: _type_schema(f) for k, f in sorted(fields_of(section).items())},
            "additionalProperties": section == "tasks",  # tasks: their flow's fields
        }
    props: Doc = {"$schema": {"type": "string"}, "format": {"const": FORMAT}}
    props |= {s: {"type": "array", "items": {"$ref": f"#/$defs/{s}"}} for s in SECTIONS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "milekit sandbox org file",
        "description": "An organisation for milekit.Sandbox(org=...) and milekit sandbox "
        "--org: docs/guides/sandbox.md. Required keys and references are checked on load.",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "$defs": defs,
    }


def write_schema() -> None:
    """Print :func:`org_schema` as the committed ``docs/guides/sandbox-org.schema.json``."""
    sys.stdout.write(orjson.dumps(org_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
