"""What every sandbox endpoint shares: requests, responses, the route table, validation.

>>> router = Router([Route("GET", "/hub/{id}", lambda r: Response(200, {"id": r.params["id"]}))])
>>> handler, params = router.resolve("GET", "/hub/abc")
>>> params
{'id': 'abc'}
>>> router.resolve("PUT", "/hub/abc")
Traceback (most recent call last):
...
milekit.sandbox.tasks.HttpError: The PUT method is not supported for this route.

The route table is data: a list of :class:`Route` (method, path template, handler).
A resource's standard operations (list, detail, create, update, patch, delete, bulk) are
routed by :func:`resource_routes` at the paths and methods its registry entry
(:data:`milekit.types.registry.RESOURCES`) declares; only the irregular actions are spelt out
by the modules. :class:`Router` matches like Laravel: a route whose path *and* method
match wins (literal paths before templated ones), a path known only under other methods
is a 405 with ``Allow``, anything else a 404. Handlers take a :class:`Request` (path parameters in
``params``, JSON in ``body``, multipart fields in ``form``/``files``) and return a
:class:`Response`; they raise :class:`~milekit.sandbox.tasks.HttpError` for errors.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, NoReturn
from urllib.parse import unquote

from milekit.sandbox.store import Doc, Op, Store
from milekit.sandbox.tasks import (
    HttpError,
    TaskService,
    attribute,
    instant,
    iso_now,
    paginator,
)
from milekit.types.registry import RESOURCES, ResourceSpec

__all__ = [
    "BAD_REQUEST",
    "PREFIX",
    "STANDARD",
    "Ctx",
    "HttpError",
    "Raw",
    "Request",
    "Response",
    "Route",
    "Router",
    "Upload",
    "V",
    "attribute",
    "instant",
    "iso_micro",
    "iso_now",
    "naive",
    "page_args",
    "paginator",
    "paging",
    "project",
    "resource_routes",
    "sort_docs",
    "sort_listed",
    "standard_operations",
]

PREFIX = "/api/v3"
BAD_REQUEST = "Bad request - invalid parameters provided."
_HEX24 = re.compile(r"^[0-9a-f]{24}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """What a handler sees of one request."""

    method: str
    path: str  #: below /api/v3, without the trailing slash
    raw_path: str  #: as sent
    query: dict[str, str]  #: last value wins, like PHP
    raw_query: str
    base: str  #: scheme://host:port
    body: Any = None  #: the decoded JSON body (None without one)
    params: dict[str, str] = field(default_factory=dict)  #: path parameters
    form: dict[str, str] = field(default_factory=dict)  #: multipart / urlencoded fields
    files: dict[str, Upload] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The absolute URL of the path, without the query (a paginator's ``path``)."""
        return f"{self.base}{PREFIX}{self.path}"


class Raw(NamedTuple):
    """A non-JSON response body (``GET /file/view`` streams images)."""

    data: bytes
    content_type: str


class Response(NamedTuple):
    status: int
    body: Any  #: JSON-serialisable, or :class:`Raw`
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One row of the route table: ``method`` + ``path`` template (``{name}`` parameters).

    ``op`` names the registry operation a standard route serves: ``(resource, attribute)``
    such as ``("flows", "update_path")`` (set by :func:`resource_routes`); ``None`` for the
    irregular actions.
    """

    method: str
    path: str
    handler: Handler
    op: tuple[str, str] | None = None


class Router:
    """The compiled route table (see the module docstring for the matching rules)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            template = route.path.rstrip("/") or "/"
            methods = by_path.setdefault(template, {})
            if route.method in methods:
                raise ValueError(f"duplicate route {route.method} {template}")
            methods[route.method] = route
        # literal paths first, then by number of parameters: /task/schedules before /task/{id}
        ordered = sorted(by_path.items(), key=lambda kv: kv[0].count("{"))
        self._table = [(_compile(t), t, m) for t, m in ordered]

    @property
    def operations(self) -> list[tuple[str, str]]:
        """Every (method, template) served, in matching order."""
        return [(m, t) for _, t, methods in self._table for m in methods]

    @property
    def routes(self) -> list[Route]:
        """Every route, in matching order."""
        return [r for _, _, methods in self._table for r in methods.values()]

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler and path parameters for a request (HttpError 404/405 otherwise)."""
        route, params = self.match(method, path)
        return route.handler, params

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and path parameters for a request (HttpError 404/405 otherwise).

        >>> Router([Route("GET", "/x/{id}", print, ("xs", "detail_path"))]).match(
        ...     "GET", "/x/7")[0].op
        ('xs', 'detail_path')
        """
        allowed: list[str] = []
        for rx, _, methods in self._table:
            m = rx.match(path)
            if m is None:
                continue
            route = methods.get(method)
            if route is not None:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
            allowed += [x for x in methods if x not in allowed]
        if allowed:
            raise HttpError(
                405,
                f"The {method} method is not supported for this route.",
                [("Allow", ", ".join(allowed))],
            )
        raise HttpError(404, "Data not found")


def _compile(template: str) -> re.Pattern[str]:
    out = re.escape(template)
    out = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", out)
    return re.compile(f"^{out}$")


#: The standard operations of a resource: the ResourceSpec attribute holding the path ->
#: the HTTP method (a full update uses the spec's ``update_method``: POST for app
#: integrations).
STANDARD: dict[str, str] = {
    "list_path": "GET",
    "detail_path": "GET",
    "create_path": "POST",
    "update_path": "PUT",
    "patch_path": "PATCH",
    "delete_path": "DELETE",
    "bulk_create_path": "POST",
    "bulk_update_path": "PATCH",
    "bulk_replace_path": "PUT",
    "bulk_delete_path": "DELETE",
    "bulk_upsert_path": "POST",
}


def standard_operations(spec: ResourceSpec) -> list[tuple[str, str, str]]:
    """``(attribute, method, path)`` of every standard operation ``spec`` declares.

    >>> [f"{method} {path}" for _, method, path in standard_operations(RESOURCES["teams"])]
    ['GET /teams', 'GET /team/{id}', 'POST /team', 'PUT /team/{id}/', 'DELETE /team/{id}/']
    """
    out: list[tuple[str, str, str]] = []
    for attr, method in STANDARD.items():
        path = getattr(spec, attr)
        if path:
            out.append((attr, spec.update_method if attr == "update_path" else method, path))
    return out


def resource_routes(spec: ResourceSpec, **handlers: Handler) -> list[Route]:
    """The routes of ``spec``'s standard operations, at the registry's paths and methods.

    ``handlers`` are keyed by operation (the attribute without ``_path``): ``list``,
    ``detail``, ``create``, ``update``, ``patch``, ``delete``, ``bulk_create``,
    ``bulk_update``, ``bulk_replace``, ``bulk_delete``, ``bulk_upsert``. Every operation
    the spec declares needs a handler and every handler a declared operation, so the
    sandbox serves exactly what the client reads from the registry. The registry's
    ``{id}`` placeholder is the router's ``{id}`` parameter (trailing slashes are
    matched either way, note 7).

    >>> [(r.method, r.path) for r in resource_routes(RESOURCES["roles"], list=print,
    ...                                               detail=print)]
    [('GET', '/roles'), ('GET', '/role/{id}')]
    >>> resource_routes(RESOURCES["roles"], list=print)
    Traceback (most recent call last):
    ...
    ValueError: roles: no handler for detail_path GET /role/{id}
    """
    routes: list[Route] = []
    for attr, method, path in standard_operations(spec):
        kind = attr.removesuffix("_path")
        handler = handlers.pop(kind, None)
        if handler is None:
            raise ValueError(f"{spec.name}: no handler for {attr} {method} {path}")
        if set(re.findall(r"\{(\w+)\}", path)) - {"id"}:
            raise ValueError(f"{spec.name}: {attr} {path} has a parameter other than {{id}}")
        routes.append(Route(method, path, handler, (spec.name, attr)))
    if handlers:
        raise ValueError(f"{spec.name}: the registry declares no {', '.join(sorted(handlers))}")
    return routes


# --- time spellings (note 6) ------------------------------------------------------


def iso_micro(now: float) -> str:
    """``2026-11-28T16:35:13.123456Z``: flows, hubs, teams, roles, plugins ...

    >>> iso_micro(0)
    '1970-01-01T00:00:00.000000Z'
    """
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def naive(now: float) -> str:
    """``2026-11-28 16:35:13`` (UTC, no zone): data sources, location history, imports.

    >>> naive(86400)
    '1970-01-02 00:00:00'
    """
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%d %H:%M:%S")


# --- the context shared by the resource services ------------------------------------------


class Ctx:
    """The store, the clock and the task service, as the resource services see them."""

    def __init__(self, store: Store, tasks: TaskService, clock: Callable[[], float]) -> None:
        self.store = store
        self.tasks = tasks
        self.clock = clock
        self._lock = threading.Lock()

    @property
    def org_id(self) -> str:
        org_id: str = self.store.meta["organization"]["id"]
        return org_id

    @property
    def me(self) -> Doc:
        """The API user behind the token (the admin user document)."""
        me_id = self.store.meta["me"]["_id"]
        doc = self.store.get("users", me_id)
        return doc if doc is not None else dict(self.store.meta["me"])

    @property
    def email(self) -> str:
        email: str = self.me.get("email") or self.store.meta["me"]["email"]
        return email

    def now(self) -> float:
        return self.clock()

    def new_id(self) -> str:
        """A fresh 24-hex ObjectId."""
        return self.tasks.new_id()

    def es_id(self) -> str:
        """A 20-character Elasticsearch id (``-DethoIBewA7zVXNTstW``)."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(alphabet[b % 64] for b in os.urandom(20))

    def get(self, resource: str, id: str, message: str = "Data not found", **extra: Any) -> Doc:
        """The document, or a 404 with ``message`` (and ``extra`` keys in the body)."""
        doc = self.store.get(resource, id)
        if doc is None:
            raise HttpError(404, message, extra=extra or None)
        return doc

    def find(self, resource: str, pred: Callable[[Doc], bool]) -> Doc | None:
        for d in self.store.values(resource):
            if pred(d):
                return d
        return None

    def write(self, req: Request, ops: Sequence[Op]) -> None:
        """Apply ``ops`` through the store (and its write log) as part of ``req``."""
        self.store.apply(ops, req.method, req.raw_path)

    def put(self, req: Request, resource: str, doc: Doc, body: Any = None) -> None:
        """Store ``doc`` under its id (the registry's ``id_field``: ``id`` for plugins)."""
        self.write(req, [Op("put", resource, doc[id_field(resource)], doc, body)])

    def delete(self, req: Request, resource: str, id: str, body: Any = None) -> None:
        self.write(req, [Op("delete", resource, id, None, body)])

    def remove(self, req: Request, resource: str, doc: Doc, body: Any = None) -> None:
        """Delete the stored ``doc`` (by its registry ``id_field``)."""
        self.delete(req, resource, doc[id_field(resource)], body)

    def hub(self, hub_id: Any, name: str = "hub id") -> Doc:
        """The hub, or 400 "The selected hub id is invalid."."""
        doc = self.store.get("hubs", hub_id) if isinstance(hub_id, str) else None
        if doc is None:
            raise HttpError(400, f"The selected {name} is invalid.")
        return doc

    def user_by_email(self, email: str) -> Doc | None:
        return self.find("users", lambda u: u.get("email") == email)


def id_field(resource: str) -> str:
    """The key holding a document's id: the registry's ``id_field`` (``_id`` for the
    sandbox's internal collections).

    >>> id_field("plugins"), id_field("flows"), id_field("routing_histories")
    ('id', '_id', '_id')
    """
    spec = RESOURCES.get(resource)
    return spec.id_field if spec is not None else "_id"


# --- list helpers -------------------------------------------------------------------------


def paging(
    q: dict[str, str], spec: ResourceSpec, *, max_page: int | None = None
) -> tuple[int, int]:
    """``(page, limit)`` read with ``spec``'s parameter names, default and maximum page size.

    >>> paging({"pageSize": "5"}, RESOURCES["activities"])
    (1, 5)
    >>> paging({}, RESOURCES["plugins"])
    (1, 10)
    >>> paging({"limit": "101"}, RESOURCES["plugins"])  # capped (note 28)
    (1, 100)
    """
    return page_args(
        q,
        default=spec.default_limit or spec.max_limit,
        maximum=spec.max_limit,
        page=spec.page_param,
        limit=spec.limit_param,
        max_page=max_page,
    )


def sort_listed(
    docs: list[Doc],
    q: dict[str, str],
    spec: ResourceSpec,
    *,
    default_by: str,
    default_order: str = "desc",
) -> list[Doc]:
    """:func:`sort_docs` with the field and order read under ``spec``'s ``sort_params``
    (``sortBy``/``sortOrder``, ``sort_by``/``sort_order`` for flows, ``sort``/``order``
    for activities); a list without a sort-field parameter sorts by ``default_by``.

    >>> docs = [{"_id": "a", "n": 2}, {"_id": "b", "n": 1}]
    >>> q = {"sort_by": "n", "sort_order": "asc"}
    >>> [d["_id"] for d in sort_listed(docs, q, RESOURCES["flows"], default_by="_id")]
    ['b', 'a']
    """
    by_param, order_param = spec.sort_params
    return sort_docs(
        docs,
        q.get(by_param) if by_param else None,
        q.get(order_param) if order_param else None,
        default_by=default_by,
        default_order=default_order,
        key_name=attribute(order_param or "sortOrder"),
    )


def page_args(
    q: dict[str, str],
    *,
    default: int = 20,
    maximum: int | None = 1000,
    page: str = "page",
    limit: str = "limit",
    max_page: int | None = None,
) -> tuple[int, int]:
    """``(page, limit)`` from the query, with Laravel's messages for bad values.

    >>> page_args({"page": "2", "limit": "50"})
    (2, 50)
    >>> page_args({"limit": "5000"})  # capped, not refused (note 28)
    (1, 1000)
    """
    p = _int_arg(q, page, 1)
    n = _int_arg(q, limit, default)
    if p < 1:
        raise HttpError(400, f"The {attribute(page)} must be at least 1.")
    if max_page is not None and p > max_page:
        raise HttpError(400, f"The {attribute(page)} may not be greater than {max_page}.")
    if n < 1:
        raise HttpError(400, f"The {attribute(limit)} must be at least 1.")
    if maximum is not None and n > maximum:
        n = maximum  # real clients read limit=5000 and get their rows (note 28)
    return p, n


def _int_arg(q: dict[str, str], name: str, default: int) -> int:
    raw = q.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"The {attribute(name)} must be an integer.") from None


def laravel(req: Request, docs: Sequence[Any], page: int, limit: int) -> dict[str, Any]:
    """One page of ``docs`` as Laravel's paginator (13 keys) for this request's URL."""
    chunk = list(docs[(page - 1) * limit : page * limit])
    return paginator(chunk, len(docs), page, limit, req.url, req.raw_query)


def listed(
    req: Request,
    spec: ResourceSpec,
    docs: Sequence[Any],
    page: int,
    limit: int,
    *,
    message: str = "Success",
    code: bool = False,
) -> Response:
    """A list endpoint's 200 answer: ``status`` (and ``code`` where the endpoint's example
    has it), ``message``, then one page of ``docs`` as the Laravel paginator under the
    resource's envelope key."""
    body: dict[str, Any] = {"status": True}
    if code:
        body["code"] = 200
    body["message"] = message
    body[spec.envelope_list] = laravel(req, docs, page, limit)
    return Response(200, body)


def csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def project(doc: Doc, fields: Sequence[str], always: Sequence[str] = ()) -> Doc:
    """``doc`` reduced to ``fields`` (plus ``always``); unknown names are skipped."""
    keep = [*always, *(f for f in fields if f not in always)]
    return {k: doc[k] for k in keep if k in doc}


def sort_docs(
    docs: list[Doc],
    by: str | None,
    order: str | None,
    *,
    default_by: str,
    default_order: str = "desc",
    key_name: str = "sort order",
) -> list[Doc]:
    """Sort like Mongo: missing/null first, numbers and datetimes by value, then strings.

    Datetime-looking fields (``…Time``, ``…At``, ``…Date``, ``timestamp``) compare as
    instants whatever their spelling; ties are broken by ``_id``/``id``.
    """
    field_name = by or default_by
    direction = (order or default_order).lower()
    if direction not in ("asc", "desc"):
        raise HttpError(400, f"The selected {key_name} is invalid.")
    is_time = field_name.endswith(("Time", "At", "Date", "time", "timestamp"))

    def key(d: Doc) -> tuple[Any, ...]:
        tie = str(d.get("_id", d.get("id", "")))
        v = _dig(d, field_name)
        if v is None:
            return (0, 0, tie)
        if isinstance(v, bool):
            return (3, int(v), tie)
        if isinstance(v, (int, float)):
            return (1, v, tie)
        if isinstance(v, str):
            if is_time:
                t = instant(v)
                if t is not None:
                    return (1, t, tie)
            return (2, v.lower(), tie)
        return (4, str(v), tie)

    return sorted(docs, key=key, reverse=direction == "desc")


def _dig(d: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def truthy(value: Any) -> bool | None:
    """``True``/``False`` from a query or form value; None when absent or not boolean."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    s = str(value).strip().lower()
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    return None


def bulk_summary(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """``{"success", "failed", <key>: [...]}`` (note 1)."""
    ok = sum(1 for r in results if r.get("status") is True)
    return {"success": ok, "failed": len(results) - ok, key: results}


def bulk_items(body: Any, key: str, maximum: int, name: str | None = None) -> list[Any]:
    """The array under ``key`` of a bulk body, or Laravel's 400."""
    if not isinstance(body, dict):
        raise HttpError(400, BAD_REQUEST)
    label = name or attribute(key)
    items = body.get(key)
    if items is None or items == []:
        raise HttpError(400, f"The {label} field is required.")
    if not isinstance(items, list):
        raise HttpError(400, f"The {label} must be an array.")
    if len(items) > maximum:
        raise HttpError(400, f"The {label} may not have more than {maximum} items.")
    return items


# --- validation ---------------------------------------------------------------------------


class V:
    """Laravel-style validation of one JSON object (messages like "The name field is required.").

    >>> V({"speed": "fast"}).int_("speed")
    Traceback (most recent call last):
    ...
    milekit.sandbox.tasks.HttpError: The speed must be an integer.

    ``raw_names`` keeps attribute names as sent ("The workflowId field is required.");
    ``extra`` goes into every error body (``code``, ``failedCode`` ...). ``required``
    names the keys that must be present (a resource's ``required_on_create`` from the
    registry): each typed check of such a key requires it (in the endpoint's own order of
    checks, as Laravel validates rule by rule), and :meth:`check_required` requires the
    ones no check has looked at.

    >>> V({"name": "x"}, required=("name", "hubId")).str_("hubId")
    Traceback (most recent call last):
    ...
    milekit.sandbox.tasks.HttpError: The hub id field is required.
    """

    def __init__(
        self,
        body: Any,
        *,
        raw_names: bool = False,
        extra: dict[str, Any] | None = None,
        status: int = 400,
        required: Iterable[str] = (),
    ) -> None:
        if not isinstance(body, dict):
            raise HttpError(status, BAD_REQUEST, extra=extra)
        self.body: dict[str, Any] = body
        self.raw_names = raw_names
        self.extra = extra
        self.status = status
        self.must = tuple(required)

    def _must(self, key: str, required: bool | None) -> bool:
        return key in self.must if required is None else required

    def check_required(self) -> None:
        """Every key of ``required`` must be present (call it after the typed checks)."""
        self.required(*self.must)

    def name(self, key: str) -> str:
        return key if self.raw_names else attribute(key)

    def fail(self, message: str) -> NoReturn:
        raise HttpError(self.status, message, extra=self.extra)

    def has(self, key: str) -> bool:
        return key in self.body

    def present(self, key: str) -> bool:
        v = self.body.get(key)
        return v is not None and v != "" and v != []

    def required(self, *keys: str) -> None:
        for k in keys:
            if not self.present(k):
                self.fail(f"The {self.name(k)} field is required.")

    def str_(
        self,
        key: str,
        *,
        required: bool | None = None,
        enum: Sequence[str] | None = None,
        min_len: int | None = None,
        max_len: int | None = None,
        nullable: bool = True,
    ) -> str | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            if not nullable and key in self.body:
                self.fail(f"The {self.name(key)} must be a string.")
            return None
        if not isinstance(v, str):
            self.fail(f"The {self.name(key)} must be a string.")
        if enum is not None and v not in enum:
            self.fail(f"The selected {self.name(key)} is invalid.")
        if min_len is not None and max_len is not None and not min_len <= len(v) <= max_len:
            self.fail(f"The {self.name(key)} must be between {min_len} and {max_len} characters.")
        if max_len is not None and len(v) > max_len:
            self.fail(f"The {self.name(key)} may not be greater than {max_len} characters.")
        return v

    def int_(
        self,
        key: str,
        *,
        required: bool | None = None,
        lo: int | None = None,
        hi: int | None = None,
        coerce: bool = True,
    ) -> int | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if isinstance(v, str) and coerce and re.fullmatch(r"-?\d+", v.strip()):
            v = int(v)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(f"The {self.name(key)} must be an integer.")
        if lo is not None and v < lo:
            self.fail(f"The {self.name(key)} must be at least {lo}.")
        if hi is not None and v > hi:
            self.fail(f"The {self.name(key)} may not be greater than {hi}.")
        return v

    def num(self, key: str, *, required: bool | None = None, coerce: bool = True) -> float | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if isinstance(v, str) and coerce:
            try:
                v = float(v)
            except ValueError:
                self.fail(f"The {self.name(key)} must be a number.")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(f"The {self.name(key)} must be a number.")
        return float(v)

    def bool_(self, key: str, *, required: bool | None = None) -> bool | None:
        if self._must(key, required) and key not in self.body:
            self.fail(f"The {self.name(key)} field is required.")
        v = self.body.get(key)
        if v is None:
            return None
        b = truthy(v)
        if b is None or not isinstance(v, (bool, str, int)):
            self.fail(f"The {self.name(key)} field must be true or false.")
        return b

    def list_(
        self, key: str, *, required: bool | None = None, max_items: int | None = None
    ) -> list[Any] | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if not isinstance(v, list):
            self.fail(f"The {self.name(key)} must be an array.")
        if max_items is not None and len(v) > max_items:
            self.fail(f"The {self.name(key)} may not have more than {max_items} items.")
        return v

    def strings(
        self, key: str, *, required: bool | None = None, max_items: int | None = None
    ) -> list[str] | None:
        """An array of strings (a lone string is taken as a one-item list)."""
        v = self.body.get(key)
        if isinstance(v, str) and v:
            v = [v]
            self.body = dict(self.body, **{key: v})
        items = self.list_(key, required=required, max_items=max_items)
        if items is not None and not all(isinstance(x, str) for x in items):
            self.fail(f"The {self.name(key)} must be an array of strings.")
        return items

    def obj(self, key: str, *, required: bool | None = None) -> dict[str, Any] | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            self.fail(f"The {self.name(key)} must be an object.")
        return v

    def date(self, key: str, *, required: bool | None = None) -> str | None:
        """A date or datetime in one of the accepted spellings (kept as sent)."""
        v = self.str_(key, required=required)
        if v is not None and instant(v) is None:
            self.fail(f"The {self.name(key)} is not a valid date.")
        return v

    def time(self, key: str, value: Any, label: str | None = None) -> str:
        """A time of day ``H:i`` / ``H:i:s``."""
        if not isinstance(value, str) or not _TIME.match(value.strip()):
            self.fail(f"The {label or self.name(key)} does not match the format H:i.")
        return value.strip()

    def email(self, key: str, *, required: bool | None = None) -> str | None:
        v = self.str_(key, required=required)
        if v is not None and not _EMAIL.match(v):
            self.fail(f"The {self.name(key)} must be a valid email address.")
        return v

    def coordinate(self, key: str, *, required: bool | None = None) -> str | None:
        """A ``"lat,lng"`` string."""
        v = self.str_(key, required=required)
        if v is not None and parse_coord(v) is None:
            self.fail(f"The {self.name(key)} is not a valid coordinate.")
        return v


def parse_coord(value: Any) -> tuple[float, float] | None:
    """``(lat, lng)`` from ``"lat,lng"`` (None if it is not one).

    >>> parse_coord("-6.2,106.8"), parse_coord("nowhere")
    ((-6.2, 106.8), None)
    """
    if not isinstance(value, str) or "," not in value:
        return None
    a, _, b = value.partition(",")
    try:
        lat, lng = float(a), float(b)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def is_object_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX24.match(value))


def is_date(value: Any) -> bool:
    """``Y-m-d`` and a real calendar date."""
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True
