"""Generate ``milekit/types/_generated.py`` from MileApp's OpenAPI contract.

Usage (from anywhere; paths are relative to the repository)::

    python tools/gen_registry.py               # rewrite milekit/types/_generated.py
    python tools/gen_registry.py --check       # exit 1 if the committed module is stale
    python tools/gen_registry.py --output F    # write somewhere else (tests)

Inputs: ``data/openapi/openapi-full.json`` (the contract, 144 operations) and the hand
corrections in ``tools/registry_overrides.py`` (each citing its note in
docs/api-notes.md). The output is deterministic (same inputs -> same bytes) and passed
through ``ruff format``. The installed package never reads the OpenAPI file.

What is derived, per resource (the resources themselves, with their OpenAPI tag, list path
and object schema, are named in ``registry_overrides.SOURCES``):

* paths: every operation of the resource's tag is classified by method and path shape
  (list, ``{one}/{id}`` detail/replace/update/delete, ``{one}`` create, bulk paths,
  everything else action/other); ``OPERATION_FIXES`` settles the irregular ones;
* envelope keys and list shape: from the list and detail response examples (or schemas),
  after stripping ``status``/``message``/``code`` and a lone ``response`` (notes 1-4);
* page/limit parameter names, default and maximum page size, sort parameter spelling and
  the filters: from the list operation's query parameters and their descriptions;
* fields: the object schema(s) (``$ref``/``allOf`` followed), then the response examples
  (fields missing from the schema, and the evidence for Datetime/Date/Time vs String);
  enums from ``enum`` or the descriptions' ``*enum: a, b*`` / "Available values" lists;
  writable = named in a create/replace/update request body (schema or example);
* a schema/example disagreement about a field's JSON type is never guessed: generation
  fails until ``registry_overrides.FIELD_FIXES`` settles it (with a citation).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = ROOT / "data" / "openapi" / "openapi-full.json"
OUTPUT = ROOT / "milekit" / "types" / "_generated.py"

sys.path.insert(0, str(Path(__file__).resolve().parent))
import registry_overrides as ov  # noqa: E402  (tools/ is not a package)

from milekit.types.model import FieldType  # noqa: E402  (the package's one list of types)

METHODS = ("get", "post", "put", "patch", "delete")
#: envelope keys that never hold the payload (note 1); ``total``/``params`` sit beside
#: Elasticsearch hits, ``metadata``/``dataVersion`` beside the task paginator
META = frozenset(
    {"status", "message", "code", "statusCode", "metadata", "dataVersion", "total", "params"}
)
PAGINATOR = frozenset({"current_page", "last_page", "per_page", "first_page_url"})
GALLERY = frozenset({"buffer", "page_processed", "total_estimate"})
#: keys the server fills (note 49: organizationId, createdTime, updatedTime …);
#: request examples that show them (a whole object as a PUT example) are artefacts
SERVER_KEYS = frozenset(
    {"_id", "organizationId", "createdTime", "updatedTime", "createdBy", "updatedBy"}
)
PAGE_PARAMS = ("page",)
LIMIT_PARAMS = ("limit", "pageSize")
SORT_BY = ("sortBy", "sort_by", "sort")
SORT_ORDER = ("sortOrder", "sort_order", "order")
#: The API's field types (``FieldType`` values), and the constant each is written as
TYPES = tuple(t.value for t in FieldType)
TYPE_CONST = {t.value: f"F.{t.name}" for t in FieldType}

# Values as the note 6 lists them: ISO 8601 (any precision, zone or not),
# 'Y-m-d H:i:s' (and 'Y-m-d H:i'), bare dates, times of day ('8:00:00' included).
RE_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
RE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RE_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
#: names of date-time fields when no example shows a value (note 6)
RE_DATETIME_NAME = re.compile(r"(Time|At|_at|Date)$")


class GenerationError(Exception):
    pass


# --- the contract ------------------------------------------------------------------------


class Api:
    """The OpenAPI document with ``$ref`` resolution."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def resolve(self, ref: str) -> Any:
        node: Any = self.doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def deref(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node = self.resolve(node["$ref"])
            seen += 1
            if seen > 50:
                raise GenerationError("$ref cycle")
        return node

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    yield method.upper(), path, op

    def op(self, method: str, path: str) -> dict[str, Any]:
        return self.doc["paths"][path][method.lower()]  # type: ignore[no-any-return]

    def parameters(self, op: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.deref(p) for p in op.get("parameters", [])]

    def media(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The JSON media objects of a response or request body."""
        node = self.deref(node)
        return [m for ct, m in (node.get("content") or {}).items() if "json" in ct]

    def success_media(self, op: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for code, resp in op.get("responses", {}).items():
            if str(code).startswith("2"):
                out += self.media(resp)
        return out

    def examples(self, media: dict[str, Any]) -> list[Any]:
        """Every example of a media object: ``example``, ``examples[*].value``, and the
        schema's own ``example`` (through ``$ref``)."""
        found: list[Any] = []
        if "example" in media:
            found.append(media["example"])
        for ex in (media.get("examples") or {}).values():
            ex = self.deref(ex)
            if isinstance(ex, dict) and "value" in ex:
                found.append(ex["value"])
        schema = self.deref(media.get("schema") or {})
        if isinstance(schema, dict) and "example" in schema:
            found.append(schema["example"])
        return [unnest_example(self, e) for e in found]

    def props(self, schema: Any) -> dict[str, Any]:
        """Properties of an object schema, ``allOf``/``oneOf``/``anyOf`` merged, in order."""
        schema = self.deref(schema)
        out: dict[str, Any] = {}
        if not isinstance(schema, dict):
            return out
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(key, []):
                for name, p in self.props(sub).items():
                    out.setdefault(name, p)
        for name, p in (schema.get("properties") or {}).items():
            out[name] = p
        return out

    def required(self, schema: Any) -> list[str]:
        schema = self.deref(schema)
        out = list(schema.get("required") or []) if isinstance(schema, dict) else []
        for sub in schema.get("allOf", []) if isinstance(schema, dict) else []:
            out += [r for r in self.required(sub) if r not in out]
        return out


def unnest_example(api: Api, ex: Any) -> Any:
    """Doc artefacts: an example that is itself ``{"title"/"properties", "example": …}``
    (``newExampleUser``, ``GETRolesResp``) means its inner example; ``$ref`` examples
    (``resultHistory``) mean the referenced schema's example."""
    for _ in range(5):
        if isinstance(ex, dict) and "$ref" in ex and len(ex) == 1:
            ex = api.resolve(ex["$ref"]).get("example")
        elif (
            isinstance(ex, dict)
            and "example" in ex
            and set(ex) - {"example"} <= {"title", "properties", "type", "description"}
        ):
            ex = ex["example"]
        else:
            break
    return ex


def one_line(text: str | None, limit: int = 140) -> str:
    """The first sentence of a description, markdown and examples stripped."""
    if not text:
        return ""
    t = re.split(r"\*\*(?:Example|Default|Note)", text, maxsplit=1)[0]
    t = t.replace("**", "").replace("`", "'")
    t = re.sub(r"\s+", " ", t).strip()
    m = re.match(r"(.+?[.:])(\s|$)", t)
    if m and len(m.group(1)) >= 12:
        t = m.group(1)
    t = t.rstrip(" .:")
    if len(t) > limit:
        t = t[: limit - 1].rstrip() + "…"
    return t


def enum_from_description(text: str | None) -> tuple[str, ...]:
    """Enumerations the descriptions spell out (``*enum: a, b*``, ``**enum**: `a`,`b```,
    "Available/Accepted values are: `a` : …", ``**Values:** `a`, `b```)."""
    if not text:
        return ()
    m = re.search(r"\*enum:\s*([^*]+)\*", text)
    if m:
        return tuple(v.strip() for v in m.group(1).split(",") if v.strip())
    m = re.search(r"\*\*enum\*\*:\s*((?:`[^`]+`\s*,?\s*)+)", text)
    if m:
        return tuple(re.findall(r"`([^`]+)`", m.group(1)))
    m = re.search(
        r"(?:Available values are|Accepted values are|\*\*Available values\*\*|\*\*Values:\*\*)"
        r":?\s*(.*)",
        text,
        re.S,
    )
    if m:
        rest = m.group(1)
        defined = re.findall(r"`([^`]+)`\s*:", rest)  # a definition list
        if defined:
            return tuple(defined)
        return tuple(re.findall(r"`([^`]+)`", rest.split("\n")[0]))
    return ()


# --- field inference -----------------------------------------------------------------------


@dataclasses.dataclass
class Node:
    """What the contract says about one field, before it becomes a ``Field``."""

    name: str
    schema_type: str | None = None  # JSON-schema type, None when only examples know it
    fmt: str | None = None
    enum: tuple[str, ...] = ()
    doc: str = ""
    item_type: str | None = None  # arrays: the items' JSON-schema type
    free: bool = False  # object with additionalProperties and no properties
    children: dict[str, Node] = dataclasses.field(default_factory=dict)
    samples: list[Any] = dataclasses.field(default_factory=list)  # example values
    kinds: set[str] = dataclasses.field(default_factory=set)  # their JSON kinds
    item_kinds: set[str] = dataclasses.field(default_factory=set)
    writable: bool = False


def json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def node_from_schema(api: Api, name: str, schema: Any, depth: int = 0) -> Node:
    schema = api.deref(schema)
    if not isinstance(schema, dict):
        return Node(name)
    props = api.props(schema)
    t = schema.get("type")
    if t is None:
        t = "object" if props else ("array" if "items" in schema else None)
    enum = tuple(v for v in schema.get("enum") or () if isinstance(v, str))
    n = Node(
        name,
        schema_type=t,
        fmt=schema.get("format"),
        enum=enum or enum_from_description(schema.get("description")),
        doc=one_line(schema.get("description")),
    )
    if "example" in schema and t not in ("object", "array"):
        add_sample(n, schema["example"], 0)
    if depth > 12:
        n.free = True
        return n
    if t == "object":
        n.free = not props
        for k, p in props.items():
            n.children[k] = node_from_schema(api, k, p, depth + 1)
    elif t == "array":
        items = api.deref(schema.get("items") or {})
        item_props = api.props(items)
        it = items.get("type") if isinstance(items, dict) else None
        if it is None and item_props:
            it = "object"
        n.item_type = it
        for k, p in item_props.items():
            n.children[k] = node_from_schema(api, k, p, depth + 1)
        if it == "object" and not item_props:
            n.free = True
    return n


def add_sample(n: Node, v: Any, depth: int, grow: bool = True) -> None:
    """Merge one example value into ``n`` (children found in examples are added when
    ``grow``; a free-form object's keys never become children)."""
    k = json_kind(v)
    n.kinds.add(k)
    if k == "object":
        if n.free or depth > 12:
            return
        for key, val in v.items():
            child = n.children.get(key)
            if child is None:
                if not grow:
                    continue
                child = n.children[key] = Node(key)
            add_sample(child, val, depth + 1)
    elif k == "array":
        for item in v:
            ik = json_kind(item)
            n.item_kinds.add(ik)
            if ik == "object" and not n.free:
                for key, val in item.items():
                    child = n.children.get(key)
                    if child is None:
                        child = n.children[key] = Node(key)
                    add_sample(child, val, depth + 1)
            elif ik not in ("object", "array", "null"):
                n.samples.append(item)
    elif k != "null":
        n.samples.append(v)


SCHEMA_KINDS = {
    "string": {"string"},
    "integer": {"integer"},
    "number": {"integer", "number"},
    "boolean": {"boolean"},
    "array": {"array"},
    "object": {"object"},
}


def temporal(samples: Iterable[Any]) -> str | None:
    """Datetime / Date / Time when every (string) example is one; else None."""
    kinds = set()
    for s in samples:
        if not isinstance(s, str) or s == "":
            return None
        if RE_DATETIME.match(s):
            kinds.add("Datetime")
        elif RE_DATE.match(s):
            kinds.add("Date")
        elif RE_TIME.match(s):
            kinds.add("Time")
        else:
            return None
    if not kinds:
        return None
    if kinds == {"Time"}:
        return "Time"
    if kinds == {"Date"}:
        return "Date"
    if kinds <= {"Date", "Datetime"}:
        return "Datetime"
    return None


@dataclasses.dataclass
class Resolved:
    name: str
    type: str
    writable: bool
    enum: tuple[str, ...]
    children: tuple[Resolved, ...]
    doc: str


class Issues:
    """What the generator cannot decide alone (reported together, generation fails), and
    which field fixes were used (a fix that matches nothing is an error too)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.settled: set[tuple[str, str]] = set()


def scalar_type(n: Node) -> str:
    """The type of a string/number/boolean node from its schema and examples."""
    t = n.schema_type
    if t in ("integer",):
        return "Integer"
    if t == "number":
        return "Float"
    if t == "boolean":
        return "Boolean"
    # strings (and example-only scalars)
    if t is None:
        ks = n.kinds - {"null"}
        if ks == {"boolean"}:
            return "Boolean"
        if ks == {"integer"}:
            return "Integer"
        if ks and ks <= {"integer", "number"}:
            return "Float"
    if n.enum:
        return "Enum"
    if n.fmt == "date-time":
        return "Datetime"
    if n.fmt == "date":
        return "Date"
    if n.fmt == "time":
        return "Time"
    tt = temporal(n.samples)
    if tt:
        return tt
    if not n.samples and (RE_DATETIME_NAME.search(n.name) or "timestamp" in n.doc.lower()):
        return "Datetime"
    return "String"


def resolve(n: Node, where: str, issues: Issues, fixes: dict[str, Any], resource: str) -> Resolved:
    """A node -> a field: the schema type, refined by the examples, unless a fix says."""
    fix = fixes.get(where)
    if fix is not None:
        issues.settled.add((resource, where))
    observed = n.kinds - {"null"}
    st = n.schema_type
    if st is not None and observed and not observed <= SCHEMA_KINDS.get(st, set()):
        if fix is None or fix.type is None:
            issues.found.append(
                f"{resource}: {where}: schema says {st}, examples show {'/'.join(sorted(observed))}"
            )
    items_seen = n.item_kinds - {"null"}
    if (
        st == "array"
        and n.item_type in SCHEMA_KINDS
        and items_seen
        and not items_seen <= SCHEMA_KINDS[n.item_type]
        and (fix is None or fix.type is None)
    ):
        issues.found.append(
            f"{resource}: {where}: schema says array of {n.item_type}, examples show "
            f"items {'/'.join(sorted(items_seen))}"
        )
    if (
        st is None
        and len(observed - {"integer", "number"}) + bool(observed & {"integer", "number"}) > 1
        and (fix is None or fix.type is None)
    ):
        issues.found.append(f"{resource}: {where}: examples disagree: {'/'.join(sorted(observed))}")
    kind = st or (sorted(observed)[0] if len(observed) == 1 else None)
    if kind is None and observed <= {"integer", "number"} and observed:
        kind = "number"
    children: tuple[Resolved, ...] = ()
    if kind == "object":
        if n.free or not n.children:
            ftype = "JSON"
        else:
            ftype = "Object"
    elif kind == "array":
        item = n.item_type or (
            sorted(n.item_kinds - {"null"})[0] if len(n.item_kinds - {"null"}) == 1 else None
        )
        if item == "object":
            ftype = "JSON" if n.free or not n.children else "Array of Object"
        elif item == "string":
            ftype = "Array of String"
        else:
            ftype = "JSON"
    else:
        ftype = scalar_type(n)
    enum = n.enum if ftype == "Enum" else ()
    doc = n.doc
    if fix is not None:
        if fix.type is not None:
            if fix.type not in TYPES:
                raise GenerationError(f"{resource}: {where}: unknown type {fix.type!r}")
            ftype = fix.type
        if fix.enum is not None:
            enum = tuple(fix.enum)
            if fix.type is None:
                ftype = "Enum"
        if ftype != "Enum":
            enum = ()
        if fix.note:
            doc = f"{doc} ({fix.note})" if doc else fix.note
    if ftype in ("Object", "Array of Object"):
        children = tuple(
            resolve(c, f"{where}.{c.name}", issues, fixes, resource) for c in n.children.values()
        )
        if not children:
            issues.found.append(f"{resource}: {where}: {ftype} without documented keys")
    if ftype == "Enum" and not enum:
        raise GenerationError(f"{resource}: {where}: Enum without values")
    writable = n.writable if (fix is None or fix.writable is None) else fix.writable
    return Resolved(n.name, ftype, writable, enum, children, doc)


def walk_to(root: dict[str, Node], path: str, resource: str) -> tuple[dict[str, Node], str]:
    parts = path.split(".")
    container = root
    for p in parts[:-1]:
        if p not in container:
            raise GenerationError(f"{resource}: fix for {path}: no field {p!r}")
        container = container[p].children
    return container, parts[-1]


def add_fields(root: dict[str, Node], fixes: dict[str, Any], resource: str) -> None:
    """Create the fields a fix adds, and open the ones a fix makes an Object (before the
    examples are merged, so they learn their keys from the examples)."""
    for path, fix in fixes.items():
        if not fix.add:
            if fix.type in ("Object", "Array of Object"):
                try:
                    container, leaf = walk_to(root, path, resource)
                except GenerationError:
                    continue
                if leaf in container:
                    container[leaf].free = False
            continue
        container, leaf = walk_to(root, path, resource)
        if leaf in container:
            raise GenerationError(f"{resource}: add {path}: the field exists already")
        if fix.type is None:
            raise GenerationError(f"{resource}: added field {path} needs a type")
        container[leaf] = Node(
            leaf,
            schema_type={"Object": "object", "Array of Object": "array"}.get(fix.type),
            item_type="object" if fix.type == "Array of Object" else None,
        )


def drop_fields(root: dict[str, Node], fixes: dict[str, Any], resource: str) -> None:
    """Remove the fields a fix drops (after the examples are merged)."""
    for path, fix in fixes.items():
        if fix.drop:
            container, leaf = walk_to(root, path, resource)
            if leaf not in container:
                raise GenerationError(f"{resource}: drop {path}: no such field")
            del container[leaf]


# --- envelopes and list shapes ---------------------------------------------------------------


def is_envelope(body: Any) -> bool:
    """An envelope's ``status`` is a boolean; a string ``status`` is an object's field."""
    return isinstance(body, dict) and isinstance(body.get("status", True), bool)


def meta_keys(body: dict[str, Any]) -> list[str]:
    """The keys of ``body`` that may hold the payload."""
    if not is_envelope(body):
        return list(body)
    return [k for k in body if k not in META]


def strip(body: Any) -> Any:
    if isinstance(body, dict) and set(body) == {"response"} and isinstance(body["response"], dict):
        return body["response"]
    if isinstance(body, dict) and "response" in body and isinstance(body["response"], dict):
        rest = set(body) - {"response"} - META
        if not rest:
            return body["response"]
    return body


def list_location(body: Any) -> tuple[str, str, list[Any]] | None:
    """(envelope key, list shape, items) of a list answer, or None when not recognisable."""
    body = strip(body)
    if isinstance(body, list):
        return "", "array", body
    if not isinstance(body, dict):
        return None
    if PAGINATOR & set(body) and "data" in body:  # a bare paginator (vehicles example)
        return "", "laravel", list(body.get("data") or [])
    keys = meta_keys(body)
    if len(keys) != 1:
        return None
    key = keys[0]
    inner = body[key]
    if isinstance(inner, list):
        if inner and all(isinstance(i, dict) and "_source" in i for i in inner):
            return key, "elastic", [{"_id": i.get("_id"), **i["_source"]} for i in inner]
        return key, "array", inner
    if isinstance(inner, dict):
        if "activities" in inner:
            return key, "activity", list(inner.get("activities") or [])
        if GALLERY & set(inner):
            return key, "gallery", list(inner.get("data") or [])
        if "data" in inner and PAGINATOR & set(inner):
            return key, "laravel", list(inner.get("data") or [])
    return None


def list_location_schema(api: Api, schema: Any) -> tuple[str, str, Any] | None:
    """Like :func:`list_location`, from a response schema: (key, shape, item schema)."""
    props = api.props(schema)
    keys = [k for k in props if k not in META]
    if len(keys) != 1:
        return None
    key = keys[0]
    inner = api.deref(props[key])
    ip = api.props(inner)
    if "activities" in ip:
        return key, "activity", api.deref(ip["activities"]).get("items")
    if "data" in ip and PAGINATOR & set(ip):
        return key, "laravel", api.deref(ip["data"]).get("items")
    if isinstance(inner, dict) and inner.get("type") == "array":
        items = api.deref(inner.get("items") or {})
        iprops = api.props(items)
        if "_source" in iprops:
            return key, "elastic", iprops["_source"]
        return key, "array", items
    return None


def one_location(body: Any) -> tuple[str, Any] | None:
    """(envelope key, object) of a single-object answer; key "" when there is no envelope."""
    body = strip(body)
    if not isinstance(body, dict):
        return None
    keys = meta_keys(body)
    if len(keys) == 1 and isinstance(body[keys[0]], dict):
        return keys[0], body[keys[0]]
    if not is_envelope(body) or ("status" not in body and len(keys) > 1):
        return "", body
    return None


# --- operations --------------------------------------------------------------------------------


def norm_path(path: str) -> str:
    """A documented path for the spec: one ``{param}`` -> ``{id}``, the ``/#`` artefact
    that keeps PUT ``/tasks/bulk`` apart from POST ``/tasks/bulk/`` removed (note 37)."""
    path = path.removesuffix("/#")
    params = re.findall(r"\{[^}]+\}", path)
    if len(params) == 1:
        path = path.replace(params[0], "{id}")
    return path


def classify(api: Api) -> list[dict[str, Any]]:
    """Every operation with the resource and kind it belongs to."""
    by_tag: dict[str, list[str]] = {}
    for name, src in ov.SOURCES.items():
        by_tag.setdefault(src.tag, []).append(name)
    out: list[dict[str, Any]] = []
    seen_fixes: set[tuple[str, str]] = set()
    for method, path, op in api.operations():
        tag = (op.get("tags") or [""])[0]
        resource: str | None = None
        kind = "other" if method == "GET" else "action"
        fix = ov.OPERATION_FIXES.get((method, path))
        if fix is not None:
            seen_fixes.add((method, path))
            resource, kind = fix
        else:
            for name in by_tag.get(tag, []):
                src = ov.SOURCES[name]
                got = classify_one(method, path, src)
                if got:
                    resource, kind = name, got
                    break
            else:
                resource = ov.TAG_DEFAULT.get(tag)
        out.append(
            {
                "method": method,
                "path": path,
                "operation_id": op.get("operationId"),
                "tag": tag,
                "resource": resource,
                "kind": kind,
                "summary": one_line(op.get("summary"), 100),
            }
        )
    stale = set(ov.OPERATION_FIXES) - seen_fixes
    if stale:
        raise GenerationError(f"OPERATION_FIXES for unknown operations: {sorted(stale)}")
    return out


def classify_one(method: str, path: str, src: Any) -> str | None:
    if method == "GET" and path == src.list:
        return "list"
    if path in src.bulk:
        return {
            "POST": "bulk_create",
            "PUT": "bulk_update",
            "PATCH": "bulk_update",
            "DELETE": "bulk_delete",
        }[method]
    if src.one is None:
        return None
    if is_object_path(src, path):
        return {
            "GET": "detail",
            "PUT": "replace",
            "POST": "replace",
            "PATCH": "update",
            "DELETE": "delete",
        }[method]
    if method == "POST" and path in (src.one, src.one + "/"):
        return "create"
    return None


# --- resources ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Listing:
    """What the list and detail answers say: envelopes, shape, example objects."""

    envelope_list: str | None = None
    shape: str | None = None
    envelope_one: str = ""
    item_schema: Any = None
    examples: list[Any] = dataclasses.field(default_factory=list)


def is_object_path(src: Any, path: str) -> bool:
    """``{one}/{x}`` (a trailing slash allowed, note 7): one object's path."""
    return bool(src.one) and re.fullmatch(re.escape(src.one) + r"/\{[^}/]+\}/?", path) is not None


def read_listing(
    api: Api, src: Any, list_op: dict[str, Any], detail: Any, mine: list[dict[str, Any]]
) -> Listing:
    """Envelope keys and list shape from the examples (else the schemas), and every
    example object of the resource (list items, the detail object, and with
    ``examples_from_writes`` the objects of create/update answers)."""
    out = Listing()
    for media in api.success_media(list_op):
        for ex in api.examples(media):
            loc = list_location(ex)
            if loc:
                out.envelope_list, out.shape, items = loc
                out.examples += [i for i in items if isinstance(i, dict)]
        sloc = list_location_schema(api, media.get("schema"))
        if sloc:
            if out.envelope_list is None:
                out.envelope_list, out.shape = sloc[0], sloc[1]
            out.item_schema = sloc[2]
    writes = [o for o in mine if o["kind"] in ("create", "replace", "update")]
    for o in [detail, *writes] if detail else writes:
        for media in api.success_media(api.op(o["method"], o["path"])):
            for ex in api.examples(media):
                loc1 = one_location(ex)
                if loc1 is None:
                    continue
                if o is detail and not out.envelope_one:
                    out.envelope_one = loc1[0]
                if o is detail or src.examples_from_writes:
                    out.examples.append(loc1[1])
    if not out.envelope_one and detail is not None:
        for media in api.success_media(api.op("GET", detail["path"])):
            keys = [k for k in api.props(media.get("schema")) if k not in META]
            if len(keys) == 1:
                out.envelope_one = keys[0]
    return out


def read_paging(
    api: Api, name: str, list_op: dict[str, Any], shape: str, fix: dict[str, Any], issues: Issues
) -> dict[str, Any]:
    """Page/limit parameter names, default and maximum page size, sort spelling, filters."""
    params = [p for p in api.parameters(list_op) if p.get("in") == "query"]
    names = [p["name"] for p in params]
    page_param = next((p for p in PAGE_PARAMS if p in names), "page")
    limit_param = next((p for p in LIMIT_PARAMS if p in names), "limit")
    # a Laravel paginator reads ``page`` even where the parameter is not listed
    paginated = any(p in names for p in PAGE_PARAMS) or shape == "laravel"
    default_limit = max_limit = None
    limit = next((p for p in params if p["name"] == limit_param), None)
    if limit is not None:
        sch = api.deref(limit.get("schema") or {})
        desc = limit.get("description") or ""
        default_limit = sch.get("default")
        m = re.search(r"\*\*Default:\*\*\s*`(\d+)`", desc)
        if default_limit is None and m:
            default_limit = int(m.group(1))
        max_limit = sch.get("maximum")
        m = re.search(r"\*\*Max:\*\*\s*`(\d+)`", desc)
        if max_limit is None and m:
            max_limit = int(m.group(1))
    default_limit = fix.pop("default_limit", default_limit)
    max_limit = fix.pop("max_limit", max_limit)
    if max_limit is None and not paginated:
        max_limit = 1000  # not paginated: never sent as a page size
    if max_limit is None:
        issues.found.append(f"{name}: no documented maximum page size (RESOURCE_FIXES)")
        max_limit = 0
    return {
        "max_limit": max_limit,
        "filters": {
            p["name"]: one_line(p.get("description"), 160)
            for p in params
            if p["name"] not in (page_param, limit_param)
        },
        "sort_params": (
            next((p for p in SORT_BY if p in names), None),
            next((p for p in SORT_ORDER if p in names), None),
        ),
        "page_param": page_param,
        "limit_param": limit_param,
        "default_limit": default_limit,
        "paginated": paginated,
    }


@dataclasses.dataclass
class Bodies:
    """What the create/replace/update request bodies say."""

    writable: set[str] = dataclasses.field(default_factory=set)
    nodes: dict[str, Node] = dataclasses.field(default_factory=dict)
    required: list[str] = dataclasses.field(default_factory=list)
    content_type: str = "application/json"


def read_bodies(api: Api, mine: list[dict[str, Any]]) -> Bodies:
    """Writable keys: the request schemas' properties, the labelled request examples
    (``x-examples``), and an open schema's own example; never the server's keys."""
    out = Bodies()
    for o in mine:
        if o["kind"] not in ("create", "replace", "update"):
            continue
        rb = api.op(o["method"], o["path"]).get("requestBody")
        if not rb:
            continue
        rb = api.deref(rb)
        for ct, media in (rb.get("content") or {}).items():
            req_props = api.props(media.get("schema"))
            for k, p in req_props.items():
                out.writable.add(k)
                out.nodes.setdefault(k, node_from_schema(api, k, p))
            if not req_props:  # an open schema: its example is the body
                for ex in api.examples(media):
                    if isinstance(ex, dict):
                        out.writable |= set(ex)
            if o["kind"] == "create":
                out.content_type = ct
                out.required = api.required(media.get("schema"))
        for exs in (rb.get("x-examples") or {}).values():
            for ex in exs.values():
                if isinstance(ex, dict) and isinstance(ex.get("value"), dict):
                    out.writable |= set(ex["value"])
    out.writable -= SERVER_KEYS
    return out


def read_fields(
    api: Api, name: str, src: Any, listing: Listing, bodies: Bodies, issues: Issues
) -> tuple[list[Resolved], dict[str, Node]]:
    """The object schema(s) (and the list's item schema), then the examples, the fixes,
    the request bodies (writable, enums they spell out) -> resolved fields."""
    root: dict[str, Node] = {}
    schemas = [api.doc["components"]["schemas"][s] for s in src.schemas]
    if listing.item_schema is not None and api.props(listing.item_schema):
        schemas.append(listing.item_schema)
    for sch in schemas:
        for k, p in api.props(sch).items():
            if k not in root:
                root[k] = node_from_schema(api, k, p)
            else:  # a second schema: add its children, keep the first's typing
                for ck, cn in node_from_schema(api, k, p).children.items():
                    root[k].children.setdefault(ck, cn)
    if listing.shape == "elastic" and "_id" not in root:
        root = {"_id": Node("_id", "string", doc="Elasticsearch document id"), **root}
    fixes = ov.FIELD_FIXES.get(name, {})
    add_fields(root, fixes, name)
    wrapper = Node("", "object", children=root)
    for ex in listing.examples:
        add_sample(wrapper, ex, 0, grow=not src.dynamic)
    drop_fields(root, fixes, name)
    for k, n in root.items():
        mark_writable(n, k in bodies.writable)
        req = bodies.nodes.get(k)
        if req is not None and not n.enum and req.enum and n.schema_type in ("string", None):
            n.enum = req.enum  # the request schema spells out the values
        if req is not None and not n.doc:
            n.doc = req.doc
    return [resolve(n, k, issues, fixes, name) for k, n in root.items()], root


def read_bulk(
    api: Api, name: str, mine: list[dict[str, Any]], fix: dict[str, Any], issues: Issues
) -> dict[str, Any]:
    """The array key of bulk bodies and its ``maxItems`` (POST's first)."""
    key = most = None
    for o in sorted(mine, key=lambda o: o["kind"] != "bulk_create"):
        if not o["kind"].startswith("bulk_"):
            continue
        rb = api.op(o["method"], o["path"]).get("requestBody")
        for media in api.media(rb) if rb else []:
            for k, p in api.props(media.get("schema")).items():
                p = api.deref(p)
                if p.get("type") == "array":
                    key = key or k
                    most = most or p.get("maxItems")
    out: dict[str, Any] = {"bulk_key": fix.pop("bulk_key", key)}
    most = fix.pop("bulk_max", most)
    if most is not None:
        out["bulk_max"] = most
    elif out["bulk_key"] is not None:
        issues.found.append(f"{name}: bulk operations without a documented maximum")
    return out


def build_resource(
    api: Api, name: str, ops: list[dict[str, Any]], issues: Issues
) -> dict[str, Any]:
    """One resource's ``ResourceSpec`` arguments."""
    src = ov.SOURCES[name]
    fix = dict(ov.RESOURCE_FIXES.get(name, {}))
    mine = [o for o in ops if o["resource"] == name]

    def first(kind: str, method: str | None = None, templated: bool | None = None) -> Any:
        for o in mine:
            if o["kind"] != kind or (method and o["method"] != method):
                continue
            if templated is not None and ("{" in o["path"]) != templated:
                continue
            return o
        return None

    def path_of(kind: str, method: str | None = None, templated: bool | None = None) -> Any:
        o = first(kind, method, templated)
        return norm_path(o["path"]) if o else None

    lst = first("list")
    if lst is None:
        raise GenerationError(f"{name}: no list operation {src.list}")
    list_op = api.op("GET", lst["path"])
    # the primary detail read is {one}/{id}; others (by e-mail, by type + dataId) follow
    detail = next(
        (o for o in mine if o["kind"] == "detail" and is_object_path(src, o["path"])), None
    ) or first("detail", templated=True)

    listing = read_listing(api, src, list_op, detail, mine)
    listing.envelope_list = fix.pop("envelope_list", listing.envelope_list)
    listing.shape = fix.pop("list_shape", listing.shape)
    listing.envelope_one = fix.pop("envelope_one", listing.envelope_one)
    if listing.envelope_list is None or listing.shape is None:
        issues.found.append(f"{name}: cannot find the list envelope of {src.list}")
        listing.envelope_list, listing.shape = "?", "laravel"
    paging = read_paging(api, name, list_op, listing.shape, fix, issues)
    bodies = read_bodies(api, mine)
    fields, root = read_fields(api, name, src, listing, bodies, issues)
    id_field = fix.pop("id_field", "_id" if "_id" in root else ("id" if "id" in root else None))
    if id_field is None:
        issues.found.append(f"{name}: no id field (RESOURCE_FIXES)")
        id_field = "?"

    create = first("create")
    replace = first("replace", templated=True)
    spec: dict[str, Any] = {
        "name": name,
        "list_path": lst["path"],
        "detail_path": norm_path(detail["path"]) if detail else "",
        "create_path": norm_path(create["path"]) if create else None,
        "id_field": id_field,
        "envelope_list": listing.envelope_list,
        "envelope_one": listing.envelope_one,
        "list_shape": listing.shape,
        "max_limit": paging.pop("max_limit"),
        "fields": fields,
        "filters": paging.pop("filters"),
        "sort_params": paging.pop("sort_params"),
        "bulk_create_path": path_of("bulk_create", "POST"),
        "bulk_update_path": path_of("bulk_update", "PATCH") or path_of("bulk_update", "PUT"),
        "bulk_delete_path": path_of("bulk_delete", "DELETE"),
        "required_on_create": tuple(r for r in bodies.required if r in root),
        "tag": src.tag,
        "doc": one_line(list_op.get("summary"), 100),
        **paging,
        "update_path": norm_path(replace["path"]) if replace else None,
        "update_method": replace["method"] if replace else "PUT",
        "patch_path": path_of("update", "PATCH", templated=True),
        "delete_path": path_of("delete", "DELETE", templated=True),
        "bulk_replace_path": path_of("bulk_update", "PUT"),
        "create_content_type": bodies.content_type,
        "dynamic_fields": src.dynamic,
        **read_bulk(api, name, mine, fix, issues),
    }
    for k in list(fix):
        if k not in spec and k not in DEFAULTS:
            raise GenerationError(f"{name}: unknown resource fix {k!r}")
        spec[k] = fix.pop(k)
    return spec


def mark_writable(n: Node, w: bool) -> None:
    n.writable = w
    for c in n.children.values():
        mark_writable(c, w)


def build_children(resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name, ch in ov.CHILDREN.items():
        parent = resources[ch.parent]
        fields: list[Resolved] = parent["fields"]
        node: Resolved | None = None
        for step in ch.path:
            pool = fields if node is None else list(node.children)
            node = next((f for f in pool if f.name == step), None)
            if node is None:
                raise GenerationError(f"child {name}: {ch.parent} has no {'.'.join(ch.path)}")
        assert node is not None
        row = node.children
        if ch.keyed_by:
            if node.type != "JSON":
                raise GenerationError(f"child {name}: keyed_by needs a free-form object")
            row = tuple(Resolved(n, t, node.writable, (), (), d) for n, t, d in ch.row_fields)
        elif not row:
            raise GenerationError(f"child {name}: {'.'.join(ch.path)} has no documented items")
        for _column, dotted in ch.carry:
            parts = dotted.split(".")
            if tuple(parts[:-1]) != ch.path[: len(parts) - 1]:
                raise GenerationError(f"child {name}: carry {dotted} is not on the path")
        out.append(
            {
                "name": name,
                "parent": ch.parent,
                "path": ch.path,
                "key": ch.key,
                "fields": row,
                "carry": ch.carry,
                "keyed_by": ch.keyed_by,
                "doc": ch.doc,
            }
        )
    return out


# --- emitting ----------------------------------------------------------------------------------


def py(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, tuple):
        inner = ", ".join(py(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{py(k)}: {py(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def emit_field(f: Resolved) -> str:
    args = [py(f.name), TYPE_CONST[f.type]]
    if not f.writable:
        args.append("writable=False")
    if f.enum:
        args.append(f"enum={py(f.enum)}")
    if f.children:
        args.append("children=(" + ", ".join(emit_field(c) for c in f.children) + ",)")
    if f.doc:
        args.append(f"doc={py(f.doc)}")
    return f"Field({', '.join(args)})"


DEFAULTS = {
    "filters": {},
    "sort_params": ("sortBy", "sortOrder"),
    "bulk_create_path": None,
    "bulk_update_path": None,
    "bulk_delete_path": None,
    "bulk_max": 2000,
    "required_on_create": (),
    "detail_only": (),
    "tag": "",
    "doc": "",
    "page_param": "page",
    "limit_param": "limit",
    "default_limit": None,
    "paginated": True,
    "update_path": None,
    "update_method": "PUT",
    "patch_path": None,
    "delete_path": None,
    "bulk_replace_path": None,
    "bulk_upsert_path": None,
    "bulk_key": None,
    "bulk_match": (),
    "create_content_type": "application/json",
    "dynamic_fields": False,
    "secret_fields": (),
}


def emit_resource(spec: dict[str, Any]) -> str:
    parts = []
    for k, v in spec.items():
        if k in DEFAULTS and DEFAULTS[k] == v:
            continue
        if k == "fields":
            parts.append("fields=(" + ", ".join(emit_field(f) for f in v) + ",)")
        else:
            parts.append(f"{k}={py(v)}")
    return "ResourceSpec(" + ", ".join(parts) + ")"


def emit_child(ch: dict[str, Any]) -> str:
    parts = [
        f"name={py(ch['name'])}",
        f"parent={py(ch['parent'])}",
        f"path={py(tuple(ch['path']))}",
        f"key={py(ch['key'])}",
        "fields=(" + ", ".join(emit_field(f) for f in ch["fields"]) + ",)",
    ]
    if ch["carry"]:
        parts.append(f"carry={py(tuple(tuple(c) for c in ch['carry']))}")
    if ch["keyed_by"]:
        parts.append(f"keyed_by={py(ch['keyed_by'])}")
    if ch["doc"]:
        parts.append(f"doc={py(ch['doc'])}")
    return "ChildSpec(" + ", ".join(parts) + ")"


HEADER = '''\
"""MileApp's resources as data, generated from the OpenAPI contract. DO NOT EDIT.

Generated by ``tools/gen_registry.py`` from ``data/openapi/openapi-full.json`` (sha256
below) and the hand corrections in ``tools/registry_overrides.py``. To change anything,
edit those and regenerate::

    python tools/gen_registry.py

``tests/types/test_registry.py`` fails when this file differs from a fresh run. Use it through
:mod:`milekit.types.registry`, which adds the hand-written task typing on top.
"""

# ruff: noqa: E501

from __future__ import annotations

from milekit.types.model import ChildSpec, Field, Operation, ResourceSpec
from milekit.types.model import FieldType as F

OPENAPI_SHA256 = {digest_lit}
'''


def generate(spec_file: Path = SPEC_FILE) -> str:
    raw = spec_file.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    api = Api(json.loads(raw))
    ops = classify(api)
    issues = Issues()
    resources = {name: build_resource(api, name, ops, issues) for name in ov.SOURCES}
    unused = {
        (r, p) for r, fx in ov.FIELD_FIXES.items() for p, f in fx.items() if not f.drop
    } - issues.settled
    added = {(r, p) for r, fx in ov.FIELD_FIXES.items() for p, f in fx.items() if f.add}
    unused -= added
    if unused:
        raise GenerationError(f"FIELD_FIXES for fields that do not exist: {sorted(unused)}")
    if issues.found:
        raise GenerationError(
            "undecided by the contract; settle each in registry_overrides "
            "(FIELD_FIXES / RESOURCE_FIXES), citing its note (docs/api-notes.md):\n  "
            + "\n  ".join(issues.found)
        )
    children = build_children(resources)
    not_frames = dict(ov.NOT_FRAMES)
    other_gets = {
        (o["method"], o["path"])
        for o in ops
        if o["method"] == "GET" and o["kind"] not in ("list", "detail")
    }
    if set(not_frames) != other_gets:
        raise GenerationError(
            "NOT_FRAMES must say why each GET that is not a list/detail read is no frame: "
            f"missing {sorted(other_gets - set(not_frames))}, "
            f"extra {sorted(set(not_frames) - other_gets)}"
        )

    out = [HEADER.format(digest_lit=py(digest))]
    out.append("#: Every readable object type, by registry name.")
    out.append("RESOURCES: dict[str, ResourceSpec] = {")
    for name, spec in resources.items():
        out.append(f"    {py(name)}: {emit_resource(spec)},")
    out.append("}\n")
    out.append("#: Arrays of objects inside resources, read as tables of their own.")
    out.append("CHILDREN: dict[str, ChildSpec] = {")
    for ch in children:
        out.append(f"    {py(ch['name'])}: {emit_child(ch)},")
    out.append("}\n")
    out.append("#: All operations of the contract, in its order.")
    out.append("OPERATIONS: tuple[Operation, ...] = (")
    for o in ops:
        args = ", ".join(
            py(o[k]) for k in ("method", "path", "operation_id", "tag", "resource", "kind")
        )
        out.append(f"    Operation({args}, summary={py(o['summary'])}),")
    out.append(")\n")
    out.append("#: GET operations that are not a resource's list or detail read, and why.")
    out.append("NOT_FRAMES: dict[tuple[str, str], str] = {")
    for (m, p), why in not_frames.items():
        out.append(f"    ({py(m)}, {py(p)}): {py(why)},")
    out.append("}")
    return ruff_format("\n".join(out) + "\n")


def ruff_format(source: str, filename: Path = OUTPUT) -> str:
    """``source`` as ``ruff format`` writes it (with the project's settings for
    ``filename``); the generators commit only formatted code."""
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(filename), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if r.returncode != 0:
        raise GenerationError("ruff format failed:\n" + r.stderr)
    return r.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    args = ap.parse_args(argv)
    try:
        text = generate()
    except GenerationError as e:
        print(f"gen_registry: {e}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python tools/gen_registry.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"wrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
