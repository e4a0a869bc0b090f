"""The generic stored resource: list (filters, sort, paging, projection), get, create,
update, patch and delete of one registry resource, and the one envelope builder.

>>> envelope("status code message item", key="data", item={"_id": "a"}, message="Done.",
...          code=201)
{'status': True, 'code': 201, 'message': 'Done.', 'data': {'_id': 'a'}}
>>> docs = [{"_id": "a", "hubId": ["h1"]}, {"_id": "b", "hubId": ["h2"]}]
>>> [d["_id"] for d in Filter("hubId", "overlap").keep(docs, {"hubId": "h2,h3"})]
['b']

A resource module declares what its resource does differently, as data on a subclass of
:class:`StoredResource`: the registry name (``name``), its list filters (:class:`Filter`:
"keep the docs whose field is among the comma-separated values" and the like), its default
order, the layout of each answer (:class:`Answer`: status, key order, message) and what a
projection always keeps; it writes code only for what no other resource does (its
validation, its irregular actions). Paths, envelope keys, paging and sort parameters come
from the registry (:data:`milekit.types.registry.RESOURCES`), the routes from
:func:`~milekit.sandbox.common.resource_routes` (:meth:`StoredResource.routes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from milekit.sandbox.common import (
    Ctx,
    laravel,
    paging,
    resource_routes,
    sort_listed,
    standard_operations,
)
from milekit.sandbox.http import Request, Response, Route, csv, project
from milekit.sandbox.store import Doc, Op
from milekit.types.registry import RESOURCES, ResourceSpec

__all__ = ["DATA", "Answer", "Filter", "StoredResource", "elastic", "envelope", "keep"]

#: the item's key where an answer names none (a wire key that spells a resource's name)
DATA = "data"
#: how a filter compares a document's field with the query value
Match = Literal["in", "eq", "overlap", "folded", "upper", "contains"]


def envelope(
    layout: str,
    *,
    key: str = DATA,
    item: Any = None,
    message: str | None = None,
    code: int = 200,
    **extra: Any,
) -> dict[str, Any]:
    """An answer's body, its keys in the order ``layout`` names them: ``status`` (true),
    ``code`` and ``statusCode`` (``code``), ``message``, ``item`` (``item`` under ``key``:
    the resource's envelope key), ``property`` (``item`` under ``property``, how updates of
    hubs, users and teams answer, note 1); any other name takes its value from ``extra``.

    >>> envelope("item status", item=[1])
    {'data': [1], 'status': True}
    """
    slots: dict[str, Any] = {
        "status": True,
        "code": code,
        "statusCode": code,
        "message": message,
        "property": item,
        **extra,
    }
    return {(key if n == "item" else n): item if n == "item" else slots[n] for n in layout.split()}


def elastic(
    key: str,
    hits: list[Doc],
    page: int,
    limit: int,
    query: Doc,
    sort: Doc,
    *,
    message: str,
) -> dict[str, Any]:
    """A page of Elasticsearch ``hits`` as the log lists answer it: ``total``, the page
    under ``key`` and the search's ``params`` (``query`` and ``sort``: Elasticsearch's).

    >>> elastic("data", [{"_id": 1}, {"_id": 2}], 2, 1, {}, {}, message="ok")["data"]
    [{'_id': 2}]
    """
    params = {"from": (page - 1) * limit, "size": limit, "query": query, "sort": [sort]}
    return envelope(
        "status message total item params",
        key=key,
        item=hits[(page - 1) * limit : page * limit],
        message=message,
        total=len(hits),
        params=params,
    )


@dataclass(frozen=True)
class Filter:
    """A declared list filter: keep the documents whose ``fields`` (the query parameter's
    own name by default; dotted paths reach into objects) match the parameter's value.

    ``match``: ``in`` -- the field is one of the comma-separated values; ``eq`` -- the
    field is the value (commas and all); ``overlap`` --
    the field (a list) shares one of them; ``folded`` / ``upper`` -- ``in`` compared in
    lower / upper case; ``contains`` -- the value is part of one of ``fields`` (case
    folded).

    >>> Filter("q", "contains", ("name", "email")).keep(
    ...     [{"name": "Ana", "email": "x@y"}, {"name": "Bo"}], {"q": "an"})
    [{'name': 'Ana', 'email': 'x@y'}]
    """

    param: str
    match: Match = "in"
    fields: tuple[str, ...] = ()

    def keep(self, docs: list[Doc], q: dict[str, str]) -> list[Doc]:
        """``docs`` this filter keeps for query ``q`` (all of them without the parameter)."""
        raw = q.get(self.param)
        if not raw:
            return docs
        names = self.fields or (self.param,)
        if self.match == "eq":
            return [d for d in docs if _dig(d, names[0]) == raw]
        if self.match == "contains":
            needle = raw.lower()
            return [d for d in docs if any(needle in str(_dig(d, n) or "").lower() for n in names)]
        wanted = set(csv(raw))
        if self.match == "folded":
            wanted = {w.lower() for w in wanted}
            return [d for d in docs if str(_dig(d, names[0]) or "").lower() in wanted]
        if self.match == "upper":
            wanted = {w.upper() for w in wanted}
        if self.match == "overlap":
            return [d for d in docs if wanted & set(_dig(d, names[0]) or [])]
        return [d for d in docs if _dig(d, names[0]) in wanted]


def keep(docs: list[Doc], q: dict[str, str], filters: Sequence[Filter]) -> list[Doc]:
    """``docs`` that every one of ``filters`` keeps, in order."""
    for f in filters:
        docs = f.keep(docs, q)
    return docs


def _dig(doc: Doc, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class Answer:
    """How one operation answers: the HTTP status, the body's ``layout`` (see
    :func:`envelope`), its ``message`` and, where it is not the resource's envelope key,
    the ``key`` of its item."""

    layout: str
    message: str | None = None
    status: int = 200
    key: str | None = None

    def body(
        self, key: str, item: Any, *, message: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """The body for ``item`` under ``key`` (``message`` replaces the declared one)."""
        said = self.message if message is None else message
        key = self.key or key
        return envelope(self.layout, key=key, item=item, message=said, code=self.status, **extra)


class StoredResource:
    """One registry resource kept in the store: the standard operations, declared.

    Subclasses set ``name`` and what differs; they override :meth:`build` (a new or
    changed document from a request) to be written to, :meth:`listing` for list filters
    that are not data, and add methods for irregular actions. The other hooks:
    :meth:`documents` (what the list starts from), :meth:`page_of` (the list's own page
    shape), :meth:`one` / :meth:`target` (a resource's own 404, who may write),
    :meth:`ops` / :meth:`removals` (what else a write or a delete changes: a log entry,
    dependent documents) and :meth:`removed` (what a delete answers with).
    """

    name: ClassVar[str]
    #: the list filters (applied in order, before any of :meth:`refine`)
    filters: ClassVar[tuple[Filter, ...]] = ()
    #: the default order of the list: (field, "asc"/"desc"); None: stored order
    order: ClassVar[tuple[str, str] | None] = ("createdTime", "desc")
    #: the highest page the list serves (None: no limit)
    max_page: ClassVar[int | None] = None
    #: keys a ``fields=`` projection always keeps (after the id)
    always: ClassVar[tuple[str, ...]] = ()
    not_found: ClassVar[str] = "Data not found"
    listed: ClassVar[Answer] = Answer("status message item", "Success")
    got: ClassVar[Answer] = Answer("status message item", "Success")
    created: ClassVar[Answer] = Answer("status message item", "Success", 201)
    updated: ClassVar[Answer] = Answer("status message item", "Success")
    #: how a PATCH answers where it differs from an update
    patched: ClassVar[Answer | None] = None
    deleted: ClassVar[Answer] = Answer("status message item", "Success")

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.spec: ResourceSpec = RESOURCES[self.name]

    # --- routes ---------------------------------------------------------------------------

    #: the standard operation -> the method serving it
    _HANDLERS: ClassVar[dict[str, str]] = {
        "list": "index",
        "detail": "get",
        "create": "create",
        "update": "update",
        "patch": "patch",
        "delete": "delete",
    }

    def routes(self, **handlers: Any) -> list[Route]:
        """The routes of every standard operation the registry declares for this resource
        (``handlers`` replace the methods named in ``_HANDLERS``; the bulk ones are given)."""
        declared = {a.removesuffix("_path") for a, _, _ in standard_operations(self.spec)}
        served = {k: getattr(self, m) for k, m in self._HANDLERS.items() if k in declared}
        return resource_routes(self.spec, **(served | handlers))

    # --- reads ----------------------------------------------------------------------------

    def documents(self, r: Request) -> list[Doc]:
        """Every document the list may show (before the filters)."""
        return self.ctx.store.values(self.name)

    def listing(self, r: Request) -> list[Doc]:
        """The filtered documents of ``GET`` list ``r`` (the declared filters; override
        to add the ones that are not data)."""
        return keep(self.documents(r), r.query, self.filters)

    def item(self, doc: Doc) -> Doc:
        """A document as the list and the detail show it (override to hide keys)."""
        return doc

    def index(self, r: Request) -> Response:
        """One page of the filtered, sorted documents, projected with ``fields=``."""
        q, spec = r.query, self.spec
        page, limit = paging(q, spec, max_page=self.max_page) if spec.paginated else (1, 0)
        docs = self.listing(r)
        if self.order is not None:
            by, direction = self.order
            docs = sort_listed(docs, q, spec, default_by=by, default_order=direction)
        total = len(docs)
        if spec.paginated and spec.list_shape != "laravel":  # the page only
            docs = docs[(page - 1) * limit : page * limit]
        hidden = set(spec.detail_only)  # keys only the detail shows
        items: list[Any] = [self.item(d) for d in docs]
        if hidden:
            items = [{k: v for k, v in d.items() if k not in hidden} for d in items]
        fields = csv(q.get("fields")) if "fields" in spec.filters else []
        if fields:
            items = [project(d, fields, (spec.id_field, *self.always)) for d in items]
        rows = self.page_of(r, items, page, limit, total)
        key = spec.envelope_list  # "" and a layout of the item alone: the rows are the body
        body = rows if not key and self.listed.layout == "item" else self.listed.body(key, rows)
        return Response(self.listed.status, body)

    def page_of(self, r: Request, items: list[Any], page: int, limit: int, total: int) -> Any:
        """The list's rows as the answer carries them: Laravel's paginator over every item,
        else the items of the page as a plain array (override for another shape; ``total``:
        how many documents the filters kept)."""
        return laravel(r, items, page, limit) if self.spec.list_shape == "laravel" else items

    def one(self, id_: str) -> Doc:
        """The stored document, or the resource's 404."""
        return self.ctx.get(self.name, id_, self.not_found)

    def target(self, id_: str) -> Doc:
        """The stored document a write (update, patch, delete) addresses, or a 404."""
        return self.one(id_)

    def get(self, r: Request) -> Response:
        doc = self.item(self.one(r.params["id"]))
        return Response(self.got.status, self.got.body(self.spec.envelope_one, doc))

    # --- writes ---------------------------------------------------------------------------

    def build(self, r: Request, old: Doc | None, *, full: bool) -> Doc:
        """The document to store for write ``r``: a new one (``old`` None) or ``old``
        changed (``full``: a PUT, else a PATCH). Raises HttpError on invalid input."""
        raise NotImplementedError(f"{self.name}: no writes")

    def sent(self, r: Request) -> Any:
        """What the client sent, as the write log keeps it (the JSON body)."""
        return r.body

    def ops(self, r: Request, old: Doc | None, doc: Doc) -> list[Op]:
        """What write ``r`` stores: ``doc`` (``old`` changed, or new); override to store
        more with it (a log entry, a counter)."""
        return [Op("put", self.name, doc[self.spec.id_field], doc, self.sent(r))]

    def removals(self, r: Request, old: Doc) -> list[Op]:
        """What delete ``r`` of ``old`` writes: its removal; override to remove or change
        what depends on it with it."""
        return [Op("delete", self.name, old[self.spec.id_field], None, r.body)]

    def removed(self, old: Doc) -> Any:
        """What a delete answers with: the deleted document."""
        return old

    def _write(self, r: Request, old: Doc | None, answer: Answer, *, full: bool) -> Response:
        doc = self.build(r, old, full=full)
        self.ctx.write(r, self.ops(r, old, doc))
        return Response(answer.status, answer.body(self.spec.envelope_one, self.item(doc)))

    def create(self, r: Request) -> Response:
        return self._write(r, None, self.created, full=True)

    def update(self, r: Request) -> Response:
        return self._write(r, self.target(r.params["id"]), self.updated, full=True)

    def patch(self, r: Request) -> Response:
        answer = self.patched or self.updated
        return self._write(r, self.target(r.params["id"]), answer, full=False)

    def delete(self, r: Request) -> Response:
        old = self.target(r.params["id"])
        self.ctx.write(r, self.removals(r, old))
        answer = self.deleted.body(self.spec.envelope_one, self.removed(old))
        return Response(self.deleted.status, answer)
