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
from milekit.types.kinds import KINDS
from milekit.types.registry import CustomFields, Field, FieldType, ResourceSpec
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
    if fmt in INPUT_TYPES and KINDS[INPUT_TYPES[fmt]].temporal:
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
    ``dataTypeId`` for records); ``names`` maps a group's id to its name; ``raw`` keeps
    each group's definitions as the API sent them (field id -> definition), for the
    push path's checks of values against them.
    """

    source: str  #: the resource the definitions were read from
    group_by: str
    groups: dict[str, tuple[Field, ...]]
    names: dict[str, str] = field(default_factory=dict)  #: group id -> group name
    raw: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

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


def raw_rows(client: Client, resource: ResourceSpec) -> list[dict[str, Any]]:
    """Every row of ``resource``'s list, as the API sent them (no typing)."""
    return [row for page in client.pages(resource, {}) for row in page.rows]


def read_definitions(client: Client, custom: CustomFields) -> Definitions:
    """The definitions of ``custom`` (``GET /flows``: each flow's ``pages[].components``;
    ``GET /data-types``: each type's ``fields``), typed by :func:`component_field`."""
    source = registry.get(custom.source)
    groups: dict[str, tuple[Field, ...]] = {}
    names: dict[str, str] = {}
    raw: dict[str, dict[str, dict[str, Any]]] = {}
    for definition in raw_rows(client, source):
        name = definition.get("name")
        if not isinstance(name, str):
            continue
        fields: dict[str, Field] = {}
        kept: dict[str, dict[str, Any]] = {}
        for item in _at(definition, custom.fields_at):
            f = component_field(item, group=f"{custom.label} {name}")
            if f is not None and f.name not in fields:
                fields[f.name] = f
            if isinstance(item.get("id"), str):
                kept.setdefault(item["id"], item)
        groups[name], raw[name] = tuple(fields.values()), kept
        if isinstance(definition.get(source.id_field), str):
            names[definition[source.id_field]] = name
    return Definitions(source.name, custom.group_by, groups, names, raw)


def _at(node: Any, path: Sequence[str]) -> list[dict[str, Any]]:
    """The objects at ``path`` below ``node``, every list on the way unrolled (an object
    where a list is due counts as one item, note 11)."""
    level = [node]
    for key in path:
        level = [item for n in level if isinstance(n, dict) for item in _as_list(n.get(key))]
    return [x for x in level if isinstance(x, dict)]


def _as_list(v: Any) -> list[Any]:
    if isinstance(v, list):
        return v
    return [v] if isinstance(v, dict) else []  # note 11: an object where a list is due


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
        self._by_client: weakref.WeakKeyDictionary[
            Client, dict[CustomFields, tuple[float, Definitions]]
        ]
        self._by_client = weakref.WeakKeyDictionary()

    def get(self, client: Client, custom: CustomFields) -> Definitions:
        now = self.clock()
        with self._lock:
            hit = self._by_client.get(client, {}).get(custom)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        defs = read_definitions(client, custom)
        with self._lock:
            self._by_client.setdefault(client, {})[custom] = (self.clock(), defs)
        return defs

    def clear(self) -> None:
        with self._lock:
            self._by_client.clear()


CACHE = Cache()


def definitions(custom: CustomFields, client: Client) -> Definitions:
    """The definitions of a resource's custom columns (cached per client)."""
    return CACHE.get(client, custom)


def selected_groups(
    custom: CustomFields, params: Mapping[str, str], defs: Definitions
) -> list[str]:
    """The groups the filters pick (``flow=``/``flowId=``, ``dataTypeName=``/``dataTypeId=``);
    all groups when they pick none."""
    picked: list[str] = []
    for v in _csv(params.get(custom.by_name)):
        if v in defs.groups and v not in picked:
            picked.append(v)
    for v in _csv(params.get(custom.by_id)):
        g = defs.names.get(v)
        if g is not None and g not in picked:
            picked.append(g)
    if params.get(custom.by_name) or params.get(custom.by_id):
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
