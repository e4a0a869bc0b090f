"""What the resource services share: the registry's standard routes, the context, list answers.

>>> [f"{r.method} {r.path}" for r in resource_routes(RESOURCES["roles"], list=print,
...                                                   detail=print)]
['GET /roles', 'GET /role/{id}']

A resource's standard operations (list, detail, create, update, patch, delete, bulk) are
routed by :func:`resource_routes` at the paths and methods its registry entry
(:data:`milekit.types.registry.RESOURCES`) declares; only the irregular actions are spelt out
by the resource modules. :class:`Ctx` is what a resource service sees of the sandbox (the
store, the clock, ids, the task service's shared operations). This layer sits on
:mod:`milekit.sandbox.http` (requests, routing, Laravel's conventions) and under the resource
modules; it imports neither a resource module nor the app.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from milekit.sandbox.http import (
    Handler,
    HttpError,
    Request,
    Route,
    attribute,
    page_args,
    paginator,
    sort_docs,
)
from milekit.sandbox.store import Doc, Op, Store
from milekit.types.registry import RESOURCES, ResourceSpec

__all__ = [
    "STANDARD",
    "Ctx",
    "ObjectIds",
    "TaskOps",
    "form_missing",
    "id_field",
    "laravel",
    "paging",
    "resource_routes",
    "sort_listed",
    "standard_operations",
]


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

# --- the context shared by the resource services ------------------------------------------


class TaskOps(Protocol):
    """What the other resources use of the task service (dispatch, reorder, activities)."""

    def build_new(self, body: Any, now: float, taken: set[str]) -> Doc: ...

    def build_patch(self, old: Doc, body: Any, now: float) -> Doc: ...

    def matching(self, q: dict[str, str]) -> list[Doc]: ...


class ObjectIds:
    """Fresh ObjectIds: 4 bytes of time, 5 random bytes fixed per instance (as MongoDB fixes
    them per process) and a 3-byte counter, so ids sort in creation order.

    >>> ids = ObjectIds(lambda: 1_700_000_000.0)
    >>> a, b = ids(), ids()
    >>> len(a), a[:8], a < b
    (24, '6553f100', True)
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._counter = int.from_bytes(os.urandom(3), "big")
        self._process = os.urandom(5).hex()

    def __call__(self) -> str:
        with self._lock:
            self._counter = (self._counter + 1) & 0xFFFFFF
            c = self._counter
        return f"{int(self.clock()) & 0xFFFFFFFF:08x}{self._process}{c:06x}"


class Ctx:
    """The store, the clock, ids and the task service, as the resource services see them."""

    def __init__(
        self, store: Store, tasks: TaskOps, clock: Callable[[], float], ids: ObjectIds
    ) -> None:
        self.store = store
        self.tasks = tasks
        self.clock = clock
        self.new_id = ids  #: ``ctx.new_id()``: a fresh 24-hex ObjectId

    @property
    def org_id(self) -> str:
        org_id: str = self.store.meta["organization"]["id"]
        return org_id

    def now(self) -> float:
        return self.clock()

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


def id_field(resource: str) -> str:
    """The key holding a document's id: the registry's ``id_field`` (``_id`` for the
    sandbox's internal collections).

    >>> id_field("plugins"), id_field("flows"), id_field("routing_histories")
    ('id', '_id', '_id')
    """
    spec = RESOURCES.get(resource)
    return spec.id_field if spec is not None else "_id"


# --- list helpers -------------------------------------------------------------------------

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


def laravel(req: Request, docs: Sequence[Any], page: int, limit: int) -> dict[str, Any]:
    """One page of ``docs`` as Laravel's paginator (13 keys) for this request's URL."""
    chunk = list(docs[(page - 1) * limit : page * limit])
    return paginator(chunk, len(docs), page, limit, req.url, req.raw_query)


def form_missing(spec: ResourceSpec, r: Request) -> str | None:
    """The first of ``spec``'s required fields that is neither a form field nor a file of
    a multipart request ``r`` (None when all are there)."""
    for key in spec.required_on_create:
        if not r.form.get(key) and key not in r.files:
            return key
    return None
