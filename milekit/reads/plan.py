"""How a resource's list is read: its columns, custom ones included, and the frame's attrs.

>>> from milekit.types import registry
>>> plan = ReadPlan(registry.get("hubs").rows, None, None, ())
>>> plan.empty().num_rows
0

Where a resource has custom columns (tasks' flow components, data records' data-type
fields), the plan types them from their definitions (:mod:`milekit.reads.custom`; one cached
``GET /flows`` / ``GET /data-types``), read beside page 1 (:class:`PlanAhead`); an
unreadable definition is a :class:`DefinitionsWarning` and the columns are typed from the
data. Used by the resource reader, get(), export and sync.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from milekit import errors
from milekit.errors import MileWarning, UsageError
from milekit.reads import custom
from milekit.reads import flat as _flat
from milekit.reads.filters import unknown_fields
from milekit.reads.table import empty_table
from milekit.types.registry import CustomFields, ResourceSpec, RowSchema
from milekit.wire.client import Client
from milekit.wire.workers import READ_THREADS


@dataclass(frozen=True)
class ReadPlan:
    """How a list is read: its rows' schema extended by the custom columns (flow
    components, data-type fields), the columns every page must carry, and the definitions
    used.

    >>> from milekit.types import registry
    >>> plan = ReadPlan(registry.get("hubs").rows, None, None, ())
    >>> plan.rows.name, plan.columns
    ('hubs', None)
    """

    rows: RowSchema
    #: columns forced onto every page: the ``fields=`` projection, else every documented
    #: and custom column (present in the frame even where no row has a value)
    columns: tuple[str, ...] | None
    definitions: custom.Definitions | None
    groups: tuple[str, ...]  #: the flows / data types the filters select

    def empty(self) -> pa.Table:
        """The table of no rows: the columns a read by this plan would have had."""
        return empty_table(self.rows, self.columns)


class DefinitionsWarning(MileWarning):
    """The flows / data types could not be read: custom columns are typed from the data."""


def definitions_or_warn(
    fields: CustomFields, owner: str, client: Client
) -> custom.Definitions | None:
    """The definitions of ``owner``'s custom columns (flows, data types), or None with a
    :class:`DefinitionsWarning` when they cannot be read (the columns are then typed from
    the data)."""
    defs, error = _definitions_or_error(fields, client)
    if error is not None:
        _warn_definitions(owner, error)
    return defs


_UNREADABLE = (errors.ForbiddenError, errors.NotFoundError, errors.ResponseError)


def _definitions_or_error(
    fields: CustomFields, client: Client
) -> tuple[custom.Definitions | None, errors.MileError | None]:
    try:
        return custom.definitions(fields, client), None
    except _UNREADABLE as e:
        return None, e


def _warn_definitions(owner: str, error: errors.MileError) -> None:
    warnings.warn(
        f"{owner}: cannot read the definitions of the custom columns ({error}); "
        "they are typed from the data",
        DefinitionsWarning,
        stacklevel=errors.caller_stacklevel(),
    )


def _needs_definitions(spec: ResourceSpec, projection: tuple[str, ...] | None) -> bool:
    if spec.custom is None:
        return False
    return projection is None or not all(n in spec.rows for n in projection)


def _projection(params: Mapping[str, str]) -> tuple[str, ...] | None:
    return tuple(params["fields"].split(",")) if "fields" in params else None


def _check_projection(
    spec: ResourceSpec, projection: tuple[str, ...] | None, defs: custom.Definitions
) -> None:
    """A ``fields=`` name neither documented nor a custom field of any group (flow, data
    type) is a UsageError: the API would leave it out and the column be all nulls."""
    if projection is None:
        return
    names = {n for group in defs.raw.values() for n in group}
    names |= {f.name for group in defs.groups.values() for f in group}
    unknown = [n for n in projection if n not in spec.rows and n not in names]
    if unknown:
        raise UsageError(unknown_fields(spec.rows, unknown, names))


def read_plan(spec: ResourceSpec, params: Mapping[str, str], client: Client) -> ReadPlan:
    """The plan for reading ``spec`` with ``params``: where the resource has custom columns
    (``spec.custom``), those of the selected groups (flows, data types), typed from their
    definitions (one cached ``GET /flows`` / ``GET /data-types``)."""
    if spec.custom is None or not _needs_definitions(spec, _projection(params)):
        return _plan_from(spec, params, None)
    return _plan_from(spec, params, definitions_or_warn(spec.custom, spec.name, client))


def _plan_from(
    spec: ResourceSpec, params: Mapping[str, str], defs: custom.Definitions | None
) -> ReadPlan:
    projection = _projection(params)
    if defs is None or spec.custom is None:
        # unreadable definitions: custom names in a projection are accepted
        return ReadPlan(spec.rows, _every(spec.rows, projection), None, ())
    _check_projection(spec, projection, defs)
    groups = tuple(custom.selected_groups(spec.custom, params, defs))
    rows = spec.rows.extended(defs.fields_for(groups, spec.field_names))
    return ReadPlan(rows, _every(rows, projection), defs, groups)


def _every(rows: RowSchema, projection: tuple[str, ...] | None) -> tuple[str, ...]:
    """The columns every page of a read carries, whatever its rows hold: the ``fields=``
    projection, else every documented and custom field (a quiet day's report has the
    same columns as a busy day's); never a secret."""
    names = list(projection) if projection is not None else list(rows.field_names)
    if rows.id_field and rows.id_field not in names:
        names.insert(0, rows.id_field)
    return tuple(n for n in names if n not in rows.secret_fields)


class PlanAhead:
    """:func:`read_plan` with its definitions request (``GET /flows``) sent beside page
    1's, instead of one round trip before it: the plan is needed only once page 1 is
    parsed. A failed definitions read warns in :meth:`warn`, from the caller's thread.

    A ``fields=`` projection naming undocumented fields is checked against the
    definitions before page 1 is sent (they are read first then): a name that is no
    custom field either is a UsageError.

    >>> import milekit
    >>> from milekit.types import registry
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     ahead = PlanAhead(registry.TASKS, {"flow": "Pickup"}, c)
    ...     ahead.plan().columns[-3:]
    ('senderName', 'parcelCount', 'pickupNotes')
    """

    def __init__(self, spec: ResourceSpec, params: Mapping[str, str], client: Client) -> None:
        self._spec = spec
        self._params = dict(params)
        self._plan: ReadPlan | None = None
        self._error: errors.MileError | None = None
        self._lock = threading.Lock()
        self._future: Future[tuple[custom.Definitions | None, errors.MileError | None]] | None
        self._future = None
        if spec.custom is None or not _needs_definitions(spec, _projection(params)):
            return
        if _projection(params) is not None:  # names to check before a page is sent
            defs, self._error = _definitions_or_error(spec.custom, client)
            self._plan = _plan_from(spec, self._params, defs)
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix=READ_THREADS + "plan")
        self._future = pool.submit(_definitions_or_error, spec.custom, client)
        pool.shutdown(wait=False)

    def plan(self) -> ReadPlan:
        """The plan (waits for the definitions; any thread may ask, once or often)."""
        with self._lock:
            if self._plan is None:
                defs = None
                if self._future is not None:
                    defs, self._error = self._future.result()
                self._plan = _plan_from(self._spec, self._params, defs)
            return self._plan

    def warn(self) -> None:
        """Warn (:class:`DefinitionsWarning`) if the definitions could not be read."""
        if self._error is not None:
            _warn_definitions(self._spec.name, self._error)


def frame_attrs(
    spec: ResourceSpec, params: Mapping[str, str], plan: ReadPlan, columns: Iterable[str]
) -> dict[str, Any]:
    """``df.attrs["milekit"]`` of a frame of ``columns`` read with ``params`` (a file
    written by export() keeps it, and ``milekit.read_parquet`` gives it back)."""
    columns = list(columns)
    out: dict[str, Any] = {"resource": spec.name, "filters": dict(params)}
    out.update(custom_attrs(spec, plan.definitions, plan.groups, columns))
    coords = [c for c in columns if (f := plan.rows.get(c)) and _flat.is_coordinate(f)]
    if coords:
        out["coordinate_columns"] = coords
    return out


def custom_attrs(
    spec: ResourceSpec,
    defs: custom.Definitions | None,
    groups: Sequence[str],
    columns: Iterable[str],
) -> dict[str, Any]:
    """``group_by`` and the custom-column map of a frame of ``spec`` (none without custom
    columns; an empty map when no definitions were read)."""
    if spec.custom is None:
        return {}
    if defs is None:
        return {"group_by": spec.custom.group_by, "custom_columns": {}}
    return {
        "group_by": defs.group_by,
        "custom_columns": custom.column_map(defs, groups, columns, spec.field_names),
    }
