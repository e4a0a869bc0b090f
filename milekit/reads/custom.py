"""Custom columns typed from their definitions: flow components for tasks, data-type fields
for data-source records (notes 37, 41, notes 43, 12).

A task carries one top-level key per component of its flow, next to the system keys; a
data-source record one key per field of its data type. Their types are not in the API
contract but in those definitions, read once (``GET /flows``, ``GET /data-types``) and
kept per client for :data:`CACHE_SECONDS`:

>>> comp = {"id": "codAmount", "component": "input", "inputType": "number", "title": "COD"}
>>> component_field(comp).type.value
'Float'
>>> component_field({"id": "pod", "component": "photo", "inputType": "photo"}).type.value
'String'
>>> component_field({"id": "x", "component": "view", "inputType": "string"}) is None
True

The ``inputType`` vocabulary is not fully documented (note 37: "the full list of inputType
values is not documented"); :data:`INPUT_TYPES` maps every spelling seen in the
contract, docs/api-notes.md and the sandbox. A component whose type is unknown is left out:
its column is then typed from the data, as any undocumented column (never mixed types).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from milekit.types import registry
from milekit.types.registry import Field, FieldType, ResourceSpec
from milekit.wire.client import Client

F = FieldType

#: ``inputType`` (lower case) -> API type, for input components (notes 37, 41)
INPUT_TYPES: dict[str, FieldType] = {
    # numbers: a ``number`` component holds any number: Float64 (note 41)
    "number": F.FLOAT,
    "numeric": F.FLOAT,
    "decimal": F.FLOAT,
    "float": F.FLOAT,
    "currency": F.FLOAT,
    "money": F.FLOAT,
    "integer": F.INTEGER,
    "int": F.INTEGER,
    # text
    "string": F.STRING,
    "text": F.STRING,
    "textarea": F.STRING,
    "phone": F.STRING,
    "email": F.STRING,
    "url": F.STRING,
    "barcode": F.STRING,
    "qrcode": F.STRING,
    "option": F.STRING,  # data types: one of optionData (note 43)
    # dates and times (note 6)
    "date": F.DATE,
    "time": F.TIME,
    "datetime": F.DATETIME,
    "date-time": F.DATETIME,
    "datetime-local": F.DATETIME,
    "timestamp": F.DATETIME,
    # yes / no
    "boolean": F.BOOLEAN,
    "bool": F.BOOLEAN,
    "checkbox": F.BOOLEAN,
    "toggle": F.BOOLEAN,
    "switch": F.BOOLEAN,
    # several choices of a select
    "multiple choice": F.ARRAY_STRING,
    "multiplechoice": F.ARRAY_STRING,
    "multiple": F.ARRAY_STRING,
    "multiselect": F.ARRAY_STRING,
    "multi-select": F.ARRAY_STRING,
    # places: "lat,lng" text (note 34), split by ``split_coordinates=True``
    "coordinate": F.STRING,
    "coordinates": F.STRING,
    "geolocation": F.STRING,
    "location": F.STRING,
    "latlng": F.STRING,
    # files: their storage URL (note 37: photo/signature -> URL string)
    "photo": F.STRING,
    "image": F.STRING,
    "signature": F.STRING,
    "file": F.STRING,
    "voice": F.STRING,
    "audio": F.STRING,
    # item lists (note 37: list/bill -> obj[])
    "list": F.ARRAY_OBJECT,
    "bill": F.ARRAY_OBJECT,
}

#: the ``inputType`` values whose text is a ``"lat,lng"`` coordinate
COORDINATE_INPUTS = frozenset({"coordinate", "coordinates", "geolocation", "location", "latlng"})

#: components whose value is a file URL, a list of items, or nothing stored (note 41)
_FILE_COMPONENTS = frozenset({"photo", "signature", "capture", "voice"})
_LIST_COMPONENTS = frozenset({"list", "bill"})
_NO_VALUE_COMPONENTS = frozenset({"view"})

#: seconds the definitions of a client are reused before they are read again
CACHE_SECONDS = 60.0


def component_field(comp: Mapping[str, Any], *, group: str = "") -> Field | None:
    """The :class:`Field` a flow component (or a data-type field) stores, or ``None``
    when its value type is not known (or it stores none).

    >>> component_field({"id": "when", "inputType": "date"}).type.value
    'Date'
    >>> component_field({"id": "spot", "inputType": "coordinate"}).doc
    '"lat,lng" (coordinate)'
    >>> component_field({"id": "ok", "component": "select", "inputType": "boolean"}).type.value
    'Boolean'
    """
    cid = comp.get("id")
    if not isinstance(cid, str) or not cid:
        return None
    kind = str(comp.get("component") or "").lower()
    raw = comp.get("inputType") or comp.get("type") or ""
    input_type = str(raw).strip().lower()
    fmt = str(comp.get("format") or "").strip().lower()
    where = f" in {group}" if group else ""
    if kind in _NO_VALUE_COMPONENTS:
        return None
    if kind in _FILE_COMPONENTS:
        return Field(cid, F.STRING, doc=f"{kind} URL{where}")
    if kind in _LIST_COMPONENTS:
        return Field(cid, F.ARRAY_OBJECT, doc=f"{kind} items{where}")
    if fmt in INPUT_TYPES and INPUT_TYPES[fmt] in (F.DATE, F.TIME, F.DATETIME):
        return Field(cid, INPUT_TYPES[fmt], doc=f"{input_type} ({fmt}){where}")
    ftype = INPUT_TYPES.get(input_type)
    if ftype is None:
        return None
    if kind == "select" and ftype == F.STRING and _int(comp.get("max")) > 1:
        ftype = F.ARRAY_STRING  # a select that takes several options keeps a list
    if input_type in COORDINATE_INPUTS:
        return Field(cid, F.STRING, doc=f'"lat,lng" ({input_type}){where}')
    return Field(cid, ftype, doc=f"{input_type}{where}")


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Definitions:
    """The custom columns of one resource, by group (flow name / data type name).

    ``group_by`` is the row column that says a row's group (``flow`` for tasks,
    ``dataTypeId`` for records); ``names`` maps a group's id to its name.
    """

    resource: str
    group_by: str
    groups: dict[str, tuple[Field, ...]]
    names: dict[str, str] = field(default_factory=dict)  #: group id -> group name

    def group_of(self, key: str) -> str | None:
        """The group a row's ``group_by`` value (a name or an id) belongs to."""
        if key in self.groups:
            return key
        return self.names.get(key)

    def fields_for(self, groups: Iterable[str] | None, known: Iterable[str]) -> tuple[Field, ...]:
        """The union of the fields of ``groups`` (all when ``None``), documented names left
        out. A column two groups type differently is left out too: it is typed from the
        data instead (one type per column, never a mix)."""
        skip = set(known)
        wanted = list(self.groups) if groups is None else [g for g in groups if g in self.groups]
        out: dict[str, Field] = {}
        clash: set[str] = set()
        for g in wanted:
            for f in self.groups[g]:
                if f.name in skip:
                    continue
                have = out.get(f.name)
                if have is None:
                    out[f.name] = f
                elif have.type != f.type:
                    clash.add(f.name)
        return tuple(f for n, f in out.items() if n not in clash)


Reader = Callable[[Client], Definitions]


def raw_rows(client: Client, resource: str) -> list[dict[str, Any]]:
    spec = registry.get(resource)
    rows: list[dict[str, Any]] = []
    for page in client.pages(spec, {}):
        rows.extend(page.rows)
    return rows


def read_flows(client: Client) -> Definitions:
    """Flow components by flow name (``GET /flows``; each flow's ``pages[].components``)."""
    groups: dict[str, tuple[Field, ...]] = {}
    names: dict[str, str] = {}
    for flow in raw_rows(client, "flows"):
        name = flow.get("name")
        if not isinstance(name, str):
            continue
        fields: dict[str, Field] = {}
        for page in _as_list(flow.get("pages")):
            for comp in _as_list(page.get("components") if isinstance(page, dict) else None):
                if isinstance(comp, dict):
                    f = component_field(comp, group=f"flow {name}")
                    if f is not None and f.name not in fields:
                        fields[f.name] = f
        groups[name] = tuple(fields.values())
        if isinstance(flow.get("_id"), str):
            names[flow["_id"]] = name
    return Definitions("tasks", "flow", groups, names)


def read_data_types(client: Client) -> Definitions:
    """Data-type fields by data type name (``GET /data-types``; each type's ``fields``)."""
    groups: dict[str, tuple[Field, ...]] = {}
    names: dict[str, str] = {}
    for dtype in raw_rows(client, "data_types"):
        name = dtype.get("name")
        if not isinstance(name, str):
            continue
        fields: dict[str, Field] = {}
        for fd in _as_list(dtype.get("fields")):
            if isinstance(fd, dict):
                f = component_field(fd, group=f"data type {name}")
                if f is not None and f.name not in fields:
                    fields[f.name] = f
        groups[name] = tuple(fields.values())
        if isinstance(dtype.get("_id"), str):
            names[dtype["_id"]] = name
    return Definitions("data", "dataTypeId", groups, names)


def _as_list(v: Any) -> list[Any]:
    if isinstance(v, list):
        return v
    return [v] if isinstance(v, dict) else []  # note 11: an object where a list is due


#: resource -> (definitions reader, the filters that pick groups by name / by id)
READERS: dict[str, tuple[Reader, str, str]] = {
    "tasks": (read_flows, "flow", "flowId"),
    "tasks_gallery": (read_flows, "flow", "flowId"),
    "data": (read_data_types, "dataTypeName", "dataTypeId"),
}
#: resource -> the row column that names a row's group
GROUP_BY: dict[str, str] = {"tasks": "flow", "tasks_gallery": "flow", "data": "dataTypeId"}


class Cache:
    """Definitions per client, reused for ``ttl`` seconds (``clock`` injectable).

    >>> c = Cache(ttl=10, clock=lambda: 0.0)
    >>> c.ttl
    10
    """

    def __init__(self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._by_client: weakref.WeakKeyDictionary[Client, dict[str, tuple[float, Definitions]]]
        self._by_client = weakref.WeakKeyDictionary()

    def get(self, client: Client, key: str, read: Reader) -> Definitions:
        now = self.clock()
        with self._lock:
            hit = self._by_client.get(client, {}).get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        defs = read(client)
        with self._lock:
            self._by_client.setdefault(client, {})[key] = (self.clock(), defs)
        return defs

    def clear(self) -> None:
        with self._lock:
            self._by_client.clear()


CACHE = Cache()


def definitions(spec: ResourceSpec, client: Client) -> Definitions | None:
    """The custom-column definitions of ``spec``'s resource (cached), or ``None`` when it
    has no custom columns."""
    entry = READERS.get(spec.name)
    if entry is None:
        return None
    read = entry[0]
    return CACHE.get(client, read.__name__, read)


def selected_groups(spec: ResourceSpec, params: Mapping[str, str], defs: Definitions) -> list[str]:
    """The groups the filters pick (``flow=``/``flowId=``, ``dataTypeName=``/``dataTypeId=``);
    all groups when they pick none."""
    entry = READERS.get(spec.name)
    if entry is None:
        return list(defs.groups)
    _, by_name, by_id = entry
    picked: list[str] = []
    for v in _csv(params.get(by_name)):
        if v in defs.groups and v not in picked:
            picked.append(v)
    for v in _csv(params.get(by_id)):
        g = defs.names.get(v)
        if g is not None and g not in picked:
            picked.append(g)
    if params.get(by_name) or params.get(by_id):
        return picked
    return list(defs.groups)


def _csv(v: str | None) -> list[str]:
    return [x.strip() for x in (v or "").split(",") if x.strip()]


def column_map(
    defs: Definitions, groups: Sequence[str], columns: Iterable[str], known: Iterable[str] = ()
) -> dict[str, list[str]]:
    """group -> its custom columns present in the frame, in definition order (documented
    fields, such as a data type's ``dataId`` key, are not custom)."""
    have = set(columns) - set(known)
    return {g: [f.name for f in defs.groups.get(g, ()) if f.name in have] for g in groups}
