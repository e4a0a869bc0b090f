"""Child tables: the arrays of objects inside a resource, one row per element.

>>> import milekit
>>> with milekit.Sandbox(tasks=20) as sb, milekit.Client(sb.token, sb.url) as c:
...     h = milekit.frame("task_histories", client=c, progress=False)
>>> list(h.columns[:3]), str(h["createdAt"].dtype), h["taskId"].nunique()
(['taskId', '_id', 'action'], 'datetime64[us, UTC]', 20)

Each child table is described in the registry (:data:`milekit.types.registry.CHILDREN`): its
parent resource, the ``path`` to the array (every list level on the way is unrolled; an
object where a list is due counts as one element, note 11), the column holding the
parent's id (``taskId``, ``flowId``, ``resultId`` …), columns carried down from enclosing
levels (a flow page's ``pageId``, a route's ``vehicleId``) and the element fields, typed
like any frame's columns. Keys the registry does not describe are kept, typed from the data.

:func:`read_child` (the reader :func:`milekit.frame` picks for a child table's name)
reads the parent (asking for the array with ``fields=`` where the list leaves it out, as
tasks' ``histories``, note 14); :func:`children` takes a parent frame you already have.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from milekit.errors import UsageError
from milekit.reads.flat import unflatten
from milekit.reads.frames import read_resource
from milekit.reads.table import Out, ReadOptions
from milekit.types import registry, schema
from milekit.types.registry import ChildSpec
from milekit.wire.context import get_client


def _resolve(name: str, resource: str | None) -> ChildSpec:
    if name in registry.CHILDREN:
        return registry.CHILDREN[name]
    if resource is None:
        return registry.get_child(name)  # a clear error with the known names
    mine = [c for c in registry.CHILDREN.values() if c.parent == resource]
    for pick in (
        lambda c: ".".join(c.path) == name,
        lambda c: c.path[-1] == name,
        lambda c: c.path[0] == name,
    ):
        hits = [c for c in mine if pick(c)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UsageError(
                f"{name!r} names several child tables of {resource}: "
                f"{', '.join(c.name for c in hits)}"
            )
    known = ", ".join(f"{c.name} ({'.'.join(c.path)})" for c in mine) or "none"
    raise UsageError(f"no child table {name!r} in {resource}; its child tables: {known}")


def _items(v: Any) -> list[dict[str, Any]]:
    if isinstance(v, list):
        return [x for x in v if isinstance(x, dict)]
    if isinstance(v, dict):
        return [v]  # note 11: an object where the schema has a list
    return []


def rows_of(
    child: ChildSpec, parents: Iterable[tuple[Any, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The child rows of ``(parent id, parent document)`` pairs.

    >>> c = registry.CHILDREN["vehicle_capacities"]
    >>> rows_of(c, [("v1", {"capacity": {"weight": {"min": 0, "max": 900}}})])
    [{'vehicleId': 'v1', 'constraint': 'weight', 'min': 0, 'max': 900}]
    """
    carry_at: dict[str, list[tuple[str, str]]] = {}
    for column, dotted in child.carry:
        level, _, key = dotted.rpartition(".")
        carry_at.setdefault(level, []).append((column, key))
    out: list[dict[str, Any]] = []
    for pid, doc in parents:
        for carried, item in _walk(child, [doc], 0, {}, carry_at):
            if child.keyed_by:
                out.extend(_keyed(child, pid, carried, item))
            else:
                out.append({child.key: pid, **carried, **item})
    return out


def _walk(
    child: ChildSpec,
    items: list[dict[str, Any]],
    depth: int,
    carried: dict[str, Any],
    carry_at: dict[str, list[tuple[str, str]]],
) -> Iterator[tuple[dict[str, Any], Any]]:
    """(carried columns, element) at the end of ``child.path``; with ``keyed_by`` the
    element is the keyed container itself."""
    key = child.path[depth]
    last = depth == len(child.path) - 1
    level = ".".join(child.path[: depth + 1])
    for item in items:
        value = item.get(key)
        if last and child.keyed_by:
            if isinstance(value, dict):
                yield carried, value
            continue
        for elem in _items(value):
            here = carried
            if level in carry_at:
                here = {**carried, **{col: elem.get(k) for col, k in carry_at[level]}}
            if last:
                yield here, _without_carried(elem, child)
            else:
                yield from _walk(child, [elem], depth + 1, here, carry_at)


def _without_carried(elem: dict[str, Any], child: ChildSpec) -> dict[str, Any]:
    return elem if child.key not in elem else {k: v for k, v in elem.items() if k != child.key}


def _keyed(
    child: ChildSpec, pid: Any, carried: dict[str, Any], container: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    assert child.keyed_by is not None
    for k, v in container.items():
        row = {child.key: pid, **carried, child.keyed_by: k}
        if isinstance(v, dict):
            row.update(v)
        elif v is not None:
            warnings.warn(
                f"{child.name}: {k!r} holds {v!r}, not an object of "
                f"{', '.join(f.name for f in child.fields)}; its row has them empty",
                schema.MileTypeWarning,
                stacklevel=4,
            )
        yield row


def children(df: pd.DataFrame, name: str, *, resource: str | None = None) -> pd.DataFrame:
    """The child table ``name`` of a parent frame: one row per array element.

    ``name`` is a registry child name (``"task_histories"``) or the array's name in the
    parent (``"histories"``, ``"trips"``, ``"components"``); ``resource`` defaults to the
    frame's (``df.attrs``). The parent's id column comes first, then carried columns and
    the element's fields, typed from the registry.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     vehicles = milekit.vehicles_frame(client=c, progress=False)
    >>> caps = milekit.children(vehicles, "capacity")
    >>> list(caps.columns), str(caps["max"].dtype)
    (['vehicleId', 'constraint', 'min', 'max'], 'Int64')
    """
    table, child, attrs = _child_table(df, name, resource)
    out: pd.DataFrame = Out().deliver(table, child.name, attrs)
    return out


def _child_table(
    df: pd.DataFrame, name: str, resource: str | None
) -> tuple[pa.Table, ChildSpec, dict[str, Any]]:
    """The typed table of :func:`children`, its child table and its attrs."""
    meta = df.attrs.get("milekit") or {}
    resource = resource or meta.get("resource")
    child = _resolve(name, resource)
    parent = registry.get(child.parent)
    if resource is not None and resource != parent.name:
        raise UsageError(f"{child.name} is a child of {parent.name}, not of {resource}")
    if df.index.name == parent.id_field:
        ids = list(df.index)
    elif parent.id_field in df.columns:
        ids = df[parent.id_field].tolist()
    else:
        raise UsageError(f"the frame has no {parent.id_field!r} (index or column)")
    root, depth = _root_column(df, child)
    if root not in df.columns:  # flattened into root.* columns: rebuild the objects
        parts = [c for c in df.columns if str(c).startswith(root + ".")]
        cells = unflatten(df[parts].set_axis(range(len(df)), axis=0))[root].tolist()
    else:
        cells = df[root].tolist()
    docs: list[tuple[Any, dict[str, Any]]] = []
    for pid, cell in zip(ids, cells, strict=True):
        doc: Any = cell
        for key in reversed(child.path[:depth]):
            doc = {key: doc}
        docs.append((pid, doc))
    assert child.rows is not None  # the registry fills it in
    rows = rows_of(child, docs)
    table = schema.rows_to_table(rows, child.rows, child.rows.field_names)
    return table, child, {"child": child.name, "parent": parent.name}


def _root_column(df: pd.DataFrame, child: ChildSpec) -> tuple[str, int]:
    """The frame column holding the array (its first path step, or a flattened
    ``a.b`` prefix of the path) and how many path steps it stands for."""
    for depth in range(len(child.path), 0, -1):
        name = ".".join(child.path[:depth])
        if name in df.columns or any(str(c).startswith(name + ".") for c in df.columns):
            return name, depth
    raise UsageError(
        f"the frame has no {child.path[0]!r} column: read the parent with it "
        f"(e.g. fields=[..., {child.path[0]!r}]) or use milekit.frame({child.name!r})"
    )


def read_child(name: str, options: ReadOptions) -> Any:
    """Read the parent resource and return its child table ``name``, as ``options.out``
    says: what :func:`milekit.frame` reads for a child table's name (a
    :class:`~milekit.reads.table.Reader`).

    ``options.filters`` are the parent's list filters (``frame("task_histories",
    status="DONE")``). When the parent's list takes ``fields=``, only the parent id and
    the array are asked for (which also brings arrays the list leaves out by default,
    such as tasks' ``histories``, note 14). A child table takes no ``resume=``.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     comps = milekit.frame("flow_components", client=c, progress=False)
    ...     caps = milekit.frame("vehicle_capacities", client=c, to="arrow")
    >>> sorted(set(comps["inputType"]))[:3], caps.column_names[:2]
    (['boolean', 'coordinate', 'date'], ['vehicleId', 'constraint'])
    """
    options.refuse_resume(name)
    out, filters = options.out, dict(options.filters)
    child = registry.get_child(name)
    parent = registry.get(child.parent)
    if "fields" in parent.filters:
        given = filters.get("fields") or []
        names = given.split(",") if isinstance(given, str) else list(given)
        if child.path[0] not in names:
            names.append(child.path[0])
        filters["fields"] = names
    client = options.client or get_client()
    parents = ReadOptions(Out(), client, options.progress, options.limit, filters=filters)
    df = read_resource(parent.name, parents)
    root = child.path[0]
    if len(df) and parent.detail_path and (root not in df.columns or df[root].isna().all()):
        # the list leaves the array out even when asked (a server that strips the
        # routing results' plan from its list, note 26): read it from each object's detail
        docs = client.concurrently(lambda i: client.read_object(parent, i), list(df.index))
        df = df.copy()
        df[root] = _cells([d.get(root) for d in docs])
    table, child, attrs = _child_table(df, child.name, parent.name)
    return out.deliver(table, child.name, attrs, None, child.rows)


def _cells(values: list[Any]) -> Any:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
