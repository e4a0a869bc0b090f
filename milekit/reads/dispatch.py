"""``frame(name, ...)``: the one way to read a resource's list, a view or a child table.

>>> import milekit
>>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
...     hubs = milekit.frame("hubs", client=c, progress=False)
...     me = milekit.frame("me", client=c)
...     histories = milekit.frame("task_histories", client=c, progress=False)
>>> hubs.index.name, me.index.name, histories.columns[0]
('_id', '_id', 'taskId')

The registry says what a name is (:data:`~milekit.types.registry.RESOURCES`,
:data:`~milekit.types.registry.VIEWS`, :data:`~milekit.types.registry.CHILDREN`), and
:func:`reader_for` picks that kind's reader (:class:`~milekit.reads.table.Reader`):
:func:`~milekit.reads.frames.read_resource`, :func:`~milekit.reads.views.read_view` or
:func:`~milekit.reads.children.read_child`. The output options are checked here, once,
before any reader sends anything. :func:`view` and :func:`child_frame` are the deprecated
names of the same reads.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal, overload

import pandas as pd
import pyarrow as pa

from milekit import errors
from milekit.errors import MileWarning
from milekit.reads.children import read_child
from milekit.reads.frames import read_resource
from milekit.reads.pages import check_limit
from milekit.reads.table import Backend, Out, Output, Reader, ReadOptions
from milekit.reads.views import read_view
from milekit.types import registry
from milekit.wire.client import Client

#: the reader of each kind of table, by the registry's table of that kind's names; a name
#: none holds goes to the resource reader (whose error lists the known resources)
READERS: tuple[tuple[Mapping[str, object], Reader], ...] = (
    (registry.RESOURCES, read_resource),
    (registry.VIEWS, read_view),
    (registry.CHILDREN, read_child),
)


def reader_for(name: str) -> Reader:
    """The reader of ``name``'s kind of table, as the registry says.

    >>> reader_for("tasks").__name__, reader_for("me").__name__
    ('read_resource', 'read_view')
    """
    return next((reader for names, reader in READERS if name in names), read_resource)


@overload
def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Literal["pandas"] = "pandas",
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> pd.DataFrame: ...


@overload
def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Literal["arrow"],
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> pa.Table: ...


@overload
def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Literal["polars"],
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> Any: ...


def frame(
    resource: str = registry.DEFAULT_RESOURCE,
    *,
    client: Client | None = None,
    progress: bool | None = None,
    limit: int | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    resume: errors.IncompleteReadError | None = None,
    to: Output = "pandas",
    dtype_backend: Backend = "numpy_nullable",
    **filters: Any,
) -> Any:
    """Every row of ``resource`` matching ``filters``, as a typed DataFrame indexed by id.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     tasks = milekit.frame("tasks", client=c, progress=False)
    ...     hubs = milekit.frame("hubs", client=c, progress=False)
    >>> len(tasks), hubs.index.name, str(hubs["lat"].dtype)
    (5, '_id', 'Float64')

    Args:
        resource: a registry name: a resource (``milekit.types.registry.RESOURCES``:
            ``tasks``, ``hubs``, ``users``, ``routing_results`` …), a view (``VIEWS``:
            ``me``, ``tasks_tracking`` …; its path parameters and filters as keywords, no
            ``limit``) or a child table (``CHILDREN``: ``task_histories`` …; its parent's
            filters). The named helpers (``hubs_frame()`` …) call this with their own
            keyword filters.
        client: default the one from :func:`milekit.use` / the environment.
        progress: a progress bar (default: when in a terminal or notebook).
        limit: rows per request, a whole number of at least 1 (default and maximum: the
            resource's ``max_limit``; more is lowered to it).
        flatten: object columns become ``parent.child`` columns, typed from the registry
            (:func:`milekit.flatten`; :func:`milekit.unflatten` reverses it).
        split_coordinates: ``"lat,lng"`` text columns become float ``<col>.lat`` /
            ``<col>.lng`` columns.
        resume: the :class:`~milekit.errors.IncompleteReadError` of an earlier read of the
            same list: only its missing pages are fetched, and the frame holds every row
            (its filters are the earlier read's; give none, or the same).
        to: ``"pandas"`` (a DataFrame), ``"arrow"`` (a ``pyarrow.Table``, the id a
            column, built without any pandas or Python objects) or ``"polars"`` (a Polars
            DataFrame, from that table without a copy). Views and child tables too
            (a view's index is then the table's first column).
        dtype_backend: ``"numpy_nullable"`` (``Int64``, ``string``, ``category`` …) or
            ``"pyarrow"``: every column an ``ArrowDtype`` over the Arrow table, no copy.
        filters: the resource's list filters, checked before anything is sent. A
            ``fields=`` name the resource does not document is a UsageError, except that
            tasks (and data-source records) also have custom fields: such a name is looked
            up in their definitions (``GET /flows``, read first then, before any page).

    Every documented field gets its registry type (``schema`` module); tasks' custom flow
    columns (and data-source records' data-type fields) are typed from their definitions
    (:func:`milekit.flow_columns` gives the columns of each flow); other undocumented keys are
    typed from the data. Secret keys (users' ``personalToken``) are never kept.

    A read survives what a network does to it: every page is retried (any 5xx, 429,
    dropped connections) within the client's time budget, and pages that still fail do
    not stop the others. Then :class:`~milekit.errors.IncompleteReadError` is raised,
    with ``err.partial`` (a frame of every row that did arrive) and ``resume=err`` to
    fetch only the rest.
    """
    check_limit(limit)
    out = Out(to, dtype_backend, flatten, split_coordinates)
    options = ReadOptions(out, client, progress, limit, resume, filters)
    return reader_for(resource)(resource, options)


class MileDeprecationWarning(MileWarning, DeprecationWarning):
    """A milekit name kept for the code that calls it, to be removed: the message says
    what to call instead."""


def view(name: str, **options: Any) -> Any:
    """Deprecated: ``milekit.frame(name, ...)`` reads a view by its name.

    >>> import milekit, warnings
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     with warnings.catch_warnings(record=True) as got:
    ...         warnings.simplefilter("always")
    ...         me = milekit.view("me", client=c)
    >>> got[0].category.__name__, len(me)
    ('MileDeprecationWarning', 1)
    """
    registry.get_view(name)  # an unknown view is the error it always was
    _deprecated("view", name)
    return frame(name, **options)


def child_frame(name: str, **options: Any) -> Any:
    """Deprecated: ``milekit.frame(name, ...)`` reads a child table by its name.

    >>> import milekit, warnings
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     with warnings.catch_warnings(record=True) as got:
    ...         warnings.simplefilter("always")
    ...         h = milekit.child_frame("task_histories", client=c, progress=False)
    >>> got[0].category.__name__, h.columns[0]
    ('MileDeprecationWarning', 'taskId')
    """
    registry.get_child(name)  # an unknown child table is the error it always was
    _deprecated("child_frame", name)
    return frame(name, **options)


def _deprecated(old: str, name: str) -> None:
    warnings.warn(
        f"milekit.{old}() is deprecated: use milekit.frame({name!r}, ...)",
        MileDeprecationWarning,
        stacklevel=errors.caller_stacklevel(),
    )
