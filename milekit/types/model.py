"""The registry's data model: what a MileApp object type looks like, as plain frozen data.

Kept apart from :mod:`milekit.types.registry` so that the generated module
(:mod:`milekit.types._generated`) and the registry can both import it without an
import cycle. Import these names from :mod:`milekit.types.registry`, which re-exports them.

>>> f = Field("lat", FieldType.FLOAT, writable=False)
>>> f.type.value, f.writable
('Float', False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Literal


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


ListShape = Literal["laravel", "array", "activity", "elastic", "gallery"]

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

    def field(self, name: str) -> Field:
        """The documented field ``name`` (KeyError if unknown)."""
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def writable_fields(self) -> tuple[str, ...]:
        """Top-level fields a create/replace/update body may carry."""
        return tuple(f.name for f in self.fields if f.writable)


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
