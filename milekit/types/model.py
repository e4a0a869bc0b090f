"""The registry's data model: what a MileApp object type looks like, as plain frozen data.

Four parts describe a resource, each read by its own generic code:

* :class:`RowSchema` -- the columns of one kind of row and their API types (a resource's
  objects, a child table's items, a view's rows): the typing code reads these;
* :class:`Listing` -- a list endpoint: path, how the answer holds the rows (its
  :data:`ListShape`), how it pages: the paginator reads these;
* :class:`Filters` -- a list's query parameters and their kinds: the filter encoder;
* :class:`ResourceSpec` -- the endpoints of a resource (list, one by id, create, update,
  bulk, delete), its row schema (``spec.rows``), listing (``spec.listing``), filters
  (``spec.query``), and where its custom columns come from (:class:`CustomFields`).

Child tables (:class:`ChildSpec`) and views (:class:`ViewSpec`) carry a row schema of their
own (``rows``), filled in by the registry, which knows their parents.

Kept apart from :mod:`milekit.types.registry` so that the generated module
(:mod:`milekit.types._generated`) and the registry can both import it without an
import cycle. Import these names from :mod:`milekit.types.registry`, which re-exports them.

>>> f = Field("lat", FieldType.FLOAT, writable=False)
>>> f.type.value, f.writable
('Float', False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal
from urllib.parse import quote


class FieldType(StrEnum):
    """The API's documented data types (note 6), plus enum and free-form JSON."""

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

    ``children`` are the keys of an ``OBJECT`` or of the items of an ``ARRAY_OBJECT``.
    ``writable`` is true when the field appears in a create/replace/update request body.

    >>> Field("status", FieldType.ENUM, enum=("UNASSIGNED", "ONGOING", "DONE")).type.value
    'Enum'
    """

    name: str
    type: FieldType
    writable: bool = True
    enum: tuple[str, ...] = ()
    children: tuple[Field, ...] = ()  #: keys of an OBJECT / items of an ARRAY_OBJECT
    doc: str = ""

    def child(self, name: str) -> Field:
        """The child ``name`` of an OBJECT / ARRAY_OBJECT field (KeyError if unknown).

        >>> Field("hub", FieldType.OBJECT, children=(Field("lat", FieldType.FLOAT),)).child(
        ...     "lat").type.value
        'Float'
        """
        for c in self.children:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")


#: The key under which Laravel's paginator holds its rows, and most envelopes their
#: payload (``{"status": true, "data": ...}``, note 1); it also spells a resource's name
PAGE_ROWS = "data"


@dataclass(frozen=True)
class RowSchema:
    """The columns of one kind of row and their API types.

    >>> rows = RowSchema("xs", (Field("_id", FieldType.STRING, False),
    ...                         Field("n", FieldType.INTEGER)), id_field="_id")
    >>> "n" in rows, rows.get("m"), rows.writable_fields
    (True, None, ('n',))
    >>> rows.extended([Field("m", FieldType.FLOAT)]).field_names
    ('_id', 'n', 'm')
    """

    name: str
    fields: tuple[Field, ...]
    id_field: str = ""  #: the column that indexes a frame of these rows ("" = none)
    #: rows carry keys besides the documented ones (task flow components, data-type
    #: fields, note 12): frames keep them, typed from their definitions or the data
    dynamic_fields: bool = False
    #: keys that hold secrets (users' ``personalToken``, note 47): never kept or written
    secret_fields: tuple[str, ...] = ()
    doc: str = ""

    def field(self, name: str) -> Field:
        """The documented field ``name`` (KeyError if unknown)."""
        return self._index[name]

    def get(self, name: str) -> Field | None:
        """The documented field ``name``, or None."""
        return self._index.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @cached_property
    def _index(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def writable_fields(self) -> tuple[str, ...]:
        """Top-level fields a create/replace/update body may carry."""
        return tuple(f.name for f in self.fields if f.writable)

    def extended(self, extra: Iterable[Field]) -> RowSchema:
        """These rows with ``extra`` fields (custom columns) added after the documented ones;
        a name already documented keeps its documented field."""
        more = tuple(f for f in extra if f.name not in self._index)
        return replace(self, fields=(*self.fields, *more)) if more else self


#: How a list answer holds its rows (read by :func:`milekit.wire.envelope.list_page`):
#: the Laravel paginator, a plain array, the activity paginator, Elasticsearch hits, the
#: task gallery.
ListShape = Literal["laravel", "array", "activity", "elastic", "gallery"]


@dataclass(frozen=True)
class Listing:
    """A list endpoint: where it is, how its answer holds the rows, how it pages.

    >>> Listing("xs", "/xs", "laravel", "data", "_id", 100).at("/ys").path
    '/ys'
    """

    name: str  #: what the rows are (messages, progress bars)
    path: str
    shape: ListShape
    envelope: str  #: key under which the list sits ("" = the body itself)
    id_field: str  #: the rows' id (repeats across shifting pages go by it)
    max_limit: int  #: the largest page size the endpoint accepts (note 35)
    page_param: str = "page"
    limit_param: str = "limit"  #: ``pageSize`` for activities
    default_limit: int | None = None
    paginated: bool = True  #: False: the list takes no page parameter (users, roles)

    def at(self, path: str) -> Listing:
        """The same listing at another path (a view's filled-in path)."""
        return replace(self, path=path)


#: How a filter's value is checked and sent (``Filters.kinds``): ``datetime`` ('Y-m-d
#: H:i:s' UTC), ``date`` ('Y-m-d'), ``bool`` ("true"/"false"), ``fields`` (a projection),
#: ``sort_order`` (asc/desc), ``time_by`` (one of ``Filters.time_by``), ``text`` (anything
#: else: one value or a list sent as CSV; enumerated fields match their enum).
FilterKind = Literal["text", "datetime", "date", "bool", "fields", "sort_order", "time_by"]


@dataclass(frozen=True)
class Filters:
    """A list's query parameters: their docs, kinds, sort spelling and ``timeBy`` fields.

    >>> q = Filters("xs", {"timeFrom": "start"}, {"timeFrom": "datetime"})
    >>> q.kind("timeFrom"), q.kind("other")
    ('datetime', 'text')
    """

    owner: str  #: the resource or view the filters belong to (messages)
    docs: Mapping[str, str]  #: query parameter -> what it does
    kinds: Mapping[str, FilterKind] = field(default_factory=dict)  #: the non-text ones
    sort_params: tuple[str | None, str | None] = ("sortBy", "sortOrder")
    #: the fields ``timeBy`` may name (notes 37, 40)
    time_by: tuple[str, ...] = ()

    def kind(self, name: str) -> FilterKind:
        return self.kinds.get(name, "text")

    def __contains__(self, name: object) -> bool:
        return name in self.docs


@dataclass(frozen=True)
class CustomFields:
    """Where a resource's custom columns are defined (note 12): the definitions are the
    rows of ``source``, each a group (a flow, a data type) named by its ``name`` key,
    its fields at ``fields_at``.

    >>> CustomFields("flows", ("pages", "components"), "flow", "flow", "flowId", "flow").label
    'flow'
    """

    source: str  #: the resource listing the definitions (``flows``, ``data_types``)
    fields_at: tuple[str, ...]  #: keys from a definition to its field list (lists unrolled)
    group_by: str  #: the row column naming a row's group (a group name or id)
    by_name: str  #: the filter that picks groups by name
    by_id: str  #: the filter that picks groups by id
    label: str  #: what a group is called in messages ("flow", "data type")
    #: a write may carry only the custom columns of its row's group (task flows, note 12)
    strict: bool = False
    #: a keyword that picks groups by name or id (``data_type="Store"``), sent as
    #: ``by_id`` when the value is an ObjectId, else as ``by_name``
    keyword: str = ""


def fill_path(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with each ``{name}`` replaced by its value, percent-encoded: the one
    place an id (or another key) goes into a path.

    >>> fill_path("/task/{id}", {"id": "a b/c"})
    '/task/a%20b%2Fc'
    >>> fill_path("/user/email/{email}", {"email": "a@b.c"})
    '/user/email/a@b.c'
    >>> fill_path("/task/{id}", {"id": ""})
    Traceback (most recent call last):
    ...
    ValueError: id must not be empty
    """
    out = template
    for k, v in values.items():
        text = str(v)
        if not text:
            raise ValueError(f"{k} must not be empty")
        out = out.replace("{" + k + "}", quote(text, safe="@"))
    return out


#: What an operation does to its resource (``Operation.kind``).
OperationKind = Literal[
    "list",
    "detail",
    "create",
    "replace",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "bulk_delete",
    "action",
    "other",
]


@dataclass(frozen=True)
class Changes:
    """How a list tells what changed since a time: what ``milekit.sync`` re-reads.

    ``created``: the ``timeBy`` field stamped when a row is made (never changes; its month
    is the row's lake partition). ``finished``: the ``timeBy`` field stamped when a row
    reaches a final status ("" = none). ``open_statuses``: the values of the
    ``status_filter`` a row can still leave; rows in them may change any time.

    >>> Changes("createdTime", "doneTime", "status", ("UNASSIGNED",)).incremental_reads
    3
    """

    created: str
    finished: str = ""
    status_filter: str = ""
    open_statuses: tuple[str, ...] = ()

    @property
    def incremental_reads(self) -> int:
        """Lists one incremental sync reads: new rows, finished rows, one per open status."""
        return 1 + bool(self.finished) + len(self.open_statuses)


@dataclass(frozen=True)
class ResourceSpec:
    """Where a resource lives on the wire and what its objects look like.

    Paths are as documented (trailing slashes kept, note 7); object paths carry ``{id}``.
    ``None`` means the API documents no such operation for the resource.

    >>> spec = ResourceSpec("x", "/xs", "/x/{id}", None, "_id", "data", "data", "laravel",
    ...                     100, (Field("_id", FieldType.STRING, writable=False),))
    >>> spec.field("_id").writable, spec.page_param, spec.limit_param
    (False, 'page', 'limit')
    """

    name: str
    list_path: str
    detail_path: str  #: with ``{id}``; "" when the API has no single-object read
    create_path: str | None
    id_field: str
    envelope_list: str  #: key under which the list (paginator) sits; "" = the body itself
    envelope_one: str  #: key under which one object sits ("" = no envelope)
    list_shape: ListShape
    max_limit: int  #: the largest page size the endpoint accepts (note 35)
    fields: tuple[Field, ...]
    filters: Mapping[str, str] = field(default_factory=dict)  #: query param -> doc
    sort_params: tuple[str | None, str | None] = ("sortBy", "sortOrder")
    bulk_create_path: str | None = None
    bulk_update_path: str | None = None  #: PATCH (partial); PUT too where ``bulk_replace_path``
    bulk_delete_path: str | None = None
    bulk_max: int = 2000  #: items per bulk call
    required_on_create: tuple[str, ...] = ()
    #: keys the list endpoint leaves out unless asked for with ``fields=`` (note 14)
    detail_only: tuple[str, ...] = ()
    # --- derived from the OpenAPI contract by tools/gen_registry.py ---------------------
    tag: str = ""  #: the OpenAPI tag (doc group)
    doc: str = ""  #: the list operation's summary
    page_param: str = "page"
    limit_param: str = "limit"  #: ``pageSize`` for activities
    default_limit: int | None = None  #: page size when none is sent
    paginated: bool = True  #: False: the list takes no page parameter (users, roles)
    update_path: str | None = None  #: full update (PUT, or ``update_method``)
    update_method: str = "PUT"  #: app integrations update with POST
    patch_path: str | None = None  #: partial update (PATCH)
    delete_path: str | None = None
    bulk_replace_path: str | None = None  #: PUT many
    bulk_upsert_path: str | None = None  #: create-or-update many (data sources)
    bulk_key: str | None = None  #: the array key of bulk bodies (``tasks``, ``data`` …)
    #: keys a bulk update item is matched by besides the id (data records: ``dataId`` +
    #: ``dataTypeId`` + ``hubId``, note 43); the push path sends them with every item
    bulk_match: tuple[str, ...] = ()
    create_content_type: str = "application/json"  #: multipart for plugins, app integrations
    #: custom top-level keys besides the documented fields (task flow components,
    #: data-source fields, note 12): frames keep undocumented columns, typed from data
    dynamic_fields: bool = False
    #: keys that hold secrets (users' ``personalToken``, note 47): never keep or write them
    secret_fields: tuple[str, ...] = ()
    # --- declared behaviour (set by the registry) ----------------------------------------
    #: where the custom columns are defined (tasks: their flows; records: data types)
    custom: CustomFields | None = None
    #: the fields the ``timeBy`` filter may name (notes 37, 40)
    time_by: tuple[str, ...] = ()
    #: the kinds of the filters that are not plain text (:data:`FilterKind`)
    filter_kinds: Mapping[str, FilterKind] = field(default_factory=dict)
    #: how to read only what changed since a time (None: a sync takes a full snapshot)
    changes: Changes | None = None
    #: the read-only field the server stamps whenever a row changes ("" = none): a push of
    #: a file checks each row's stamp against the server's before writing it
    updated: str = ""

    @cached_property
    def rows(self) -> RowSchema:
        """The schema of this resource's objects."""
        return RowSchema(
            self.name,
            self.fields,
            self.id_field,
            self.dynamic_fields,
            self.secret_fields,
            self.doc,
        )

    @cached_property
    def listing(self) -> Listing:
        """This resource's list endpoint."""
        return Listing(
            self.name,
            self.list_path,
            self.list_shape,
            self.envelope_list,
            self.id_field,
            self.max_limit,
            self.page_param,
            self.limit_param,
            self.default_limit,
            self.paginated,
        )

    @cached_property
    def query(self) -> Filters:
        """This resource's list filters."""
        return Filters(self.name, self.filters, self.filter_kinds, self.sort_params, self.time_by)

    def field(self, name: str) -> Field:
        """The documented field ``name`` (KeyError if unknown)."""
        return self.rows.field(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return self.rows.field_names

    @property
    def writable_fields(self) -> tuple[str, ...]:
        """Top-level fields a create/replace/update body may carry."""
        return self.rows.writable_fields

    def object_path(self, template: str, id: Any) -> str:
        """One of this resource's object paths (``detail_path`` …) for the object ``id``."""
        return fill_path(template, {"id": id})


@dataclass(frozen=True)
class ChildSpec:
    """An array of objects inside a resource, read as its own table (one row per item).

    ``path`` leads from the parent object to the items; every step that holds a list is
    flattened (a step holding a single object counts as a one-item list: the schema and
    the data disagree about lists vs objects, note 11). Each row carries the parent's id
    in column ``key`` and, from enclosing list levels, the ``carry`` columns
    ``(column, dotted path)`` (the dotted path starts with a prefix of ``path``). With
    ``keyed_by`` the container is an object whose keys name the rows (vehicle capacity
    ``{"weight": {"min", "max"}}``): the key goes to column ``keyed_by``.

    >>> c = ChildSpec("x_items", "xs", ("items",), "xId", (Field("n", FieldType.INTEGER),))
    >>> c.columns
    ('xId', 'n')
    """

    name: str
    parent: str  #: resource name
    path: tuple[str, ...]
    key: str  #: column holding the parent's id
    fields: tuple[Field, ...]
    carry: tuple[tuple[str, str], ...] = ()
    keyed_by: str | None = None
    doc: str = ""
    #: the rows' schema (key, carried columns, ``keyed_by``, fields), set by the registry
    rows: RowSchema | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The row's columns in order: parent key, carried columns, ``keyed_by``, fields."""
        head = (self.key, *(c for c, _ in self.carry))
        if self.keyed_by:
            head = (*head, self.keyed_by)
        return (*head, *(f.name for f in self.fields))

    def field(self, name: str) -> Field:
        """The documented row field ``name`` (KeyError if unknown)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Operation:
    """One of the public API's operations (all 144 of the OpenAPI file).

    ``path`` is spelt as in the OpenAPI file (``/tasks/bulk/#`` included, note 8);
    ``resource`` is the registry name it belongs to, or ``None``.

    >>> Operation("GET", "/file/view", "readFile", "File", None, "other").kind
    'other'
    """

    method: str
    path: str
    operation_id: str | None
    tag: str
    resource: str | None
    kind: OperationKind
    summary: str = ""


#: How a view's answer holds its rows (:class:`ViewSpec`).
ViewShape = Literal["paged", "one", "keyed", "rows", "groups"]


@dataclass(frozen=True)
class ViewSpec:
    """A GET operation that is neither a resource's list nor its detail read (a view),
    read as a frame: where it lives, how its answer holds the rows and how they are typed.

    ``path`` names its parameters as the Python keywords the caller passes
    (``/result/{result_id}/history``). Rows are typed like the resource or child table
    ``like`` (same field, same dtype), with ``fields`` added or overriding by name.
    ``shape``:

    * ``paged``: a list of ``like`` read page by page like the resource's list;
    * ``one``: one object (at ``envelope``) is one row; with ``inner`` the row is
      ``object[inner]`` plus the object's other keys as columns;
    * ``keyed``: an object keyed by ``key`` values (at ``envelope``), one row per key; the
      answer's other top-level keys go to ``df.attrs["milekit"]["summary"]``;
    * ``rows``: a list of objects (at ``envelope``), one row each;
    * ``groups``: a list of groups (at ``envelope``), one row per element of each group's
      ``inner`` list, with the group keys ``carry`` as columns (``(column, group key)``).

    ``path_columns`` put path parameters into the rows (``(column, parameter)``) when the
    answer leaves them out; ``index`` is the column that indexes the frame (``None``: a
    plain range index, the rows have no single key).

    >>> v = ViewSpec("x", "/x/{x_id}/history", "rows", "_id", envelope=("data",))
    >>> v.path_params
    ('x_id',)
    """

    name: str
    path: str
    shape: ViewShape
    index: str | None
    like: str | None = None  #: a resource (``RESOURCES``) or child table (``CHILDREN``)
    fields: tuple[Field, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)  #: query param -> doc
    required: tuple[str, ...] = ()  #: filters the API requires
    envelope: tuple[str, ...] = ()  #: keys leading from the unwrapped answer to the rows
    inner: str = ""
    key: str = ""
    carry: tuple[tuple[str, str], ...] = ()
    path_columns: tuple[tuple[str, str], ...] = ()
    #: custom columns (task flow components) typed from the rows' flows, as ``like``'s
    custom: bool = False
    doc: str = ""
    # --- set by the registry, which knows ``like`` -------------------------------------
    rows: RowSchema | None = None  #: the rows' schema
    query: Filters | None = None  #: the view's filters
    listing: Listing | None = None  #: for a ``paged`` view: ``like``'s listing at ``path``

    @property
    def path_params(self) -> tuple[str, ...]:
        """The path's parameters, in order."""
        return tuple(re.findall(r"\{([^}]+)\}", self.path))


@dataclass(frozen=True)
class DetailForm:
    """Another way to read one object of ``resource``: a detail path addressed by keys
    other than the id (``/user/email/{email}``), its parameters named as the keywords
    :func:`milekit.get` takes.

    >>> DetailForm("users", "/user/email/{email}").params
    ('email',)
    """

    resource: str
    path: str

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{([^}]+)\}", self.path))
