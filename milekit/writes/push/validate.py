"""Everything wrong with a push, found before anything is sent.

>>> component_problem({"component": "input", "inputType": "number"}, "12")
'the flow component takes a number'

Every problem is collected (not the first one): read-only columns edited, values that do
not fit their column, unknown columns (a custom column must be a component of the row's
flow, read from ``GET /flows``), undocumented columns of resources without custom fields,
duplicate ids, an edited id, a required field cleared or missing on a create/replace.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from milekit.errors import MileError
from milekit.reads.custom import Definitions, read_definitions
from milekit.types.encode import canonical, is_missing
from milekit.types.registry import CustomFields, ResourceSpec
from milekit.wire.client import Client
from milekit.writes.diff import Changes, Problem
from milekit.writes.push.model import Context, RowPlan

_WHOLE = {"create": "create", "put": "replace"}  #: actions that send whole rows
#: group name -> field id -> its definition (a flow's components)
Components = dict[str, dict[str, dict[str, Any]]]


class Groups:
    """The definitions of a resource's custom columns (``spec.custom``: each flow's
    components for tasks), read once per push, fresh (not the frames' cache), when needed."""

    def __init__(self, client: Client, custom: CustomFields | None) -> None:
        self.client = client
        self.custom = custom
        self._defs: Definitions | None = None
        self.error: str | None = None

    def definitions(self) -> Definitions | None:
        if self.custom is not None and self._defs is None and self.error is None:
            try:
                self._defs = read_definitions(self.client, self.custom)
            except MileError as e:
                self.error = str(e)
        return self._defs

    def components(self) -> Components | None:
        defs = self.definitions()
        return defs.raw if defs is not None else None

    @property
    def read(self) -> Definitions | None:
        """The definitions if they were read (no request)."""
        return self._defs

    def of(self, key: str | None) -> dict[str, dict[str, Any]] | None:
        """The fields of a row's group (its ``group_by`` value: a name or an id), if read."""
        defs = self._defs
        group = defs.group_of(key) if defs is not None and key is not None else None
        return defs.raw.get(group) if defs is not None and group is not None else None


def component_problem(comp: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` does not fit a flow component (the API's rules), or None."""
    kind = comp.get("inputType")
    if value is None:
        return None
    if comp.get("component") == "list" or kind == "list":
        return None if isinstance(value, list) else "the flow component takes a list"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "the flow component takes a number"
    if kind == "boolean":
        return None if isinstance(value, bool) else "the flow component takes true/false"
    return None if isinstance(value, str) else "the flow component takes text"


def writable(spec: ResourceSpec, column: str) -> bool:
    f = spec.rows.get(column)
    return f is None or f.writable


def validate(ctx: Context, changes: Changes, plans: list[RowPlan], groups: Groups) -> list[Problem]:
    """Every problem of the rows to write (``plans``, each with its edited row)."""
    spec = ctx.spec
    problems: list[Problem] = []
    if spec.custom is not None and spec.custom.strict:  # each row's group's fields only
        problems += _custom_fields(ctx, changes, plans, groups, spec.custom)
    elif not spec.dynamic_fields:
        problems += _undocumented(spec, changes, plans)
    problems += _read_only(spec, changes, plans)
    problems += _cleared_required(spec, changes, plans)
    problems += _edited_ids(changes)
    problems += _missing_required(spec, changes, plans)
    return problems


def _custom_cells(changes: Changes, plan: RowPlan, custom: list[str]) -> list[str]:
    """The custom columns ``plan`` writes a value to."""
    if plan.action in ("put", "create"):
        return [c for c in custom if plan.values.get(c) is not None]
    return [c for c in changes.cells.get(plan.row, {}) if c in custom]


def _custom_fields(
    ctx: Context, changes: Changes, plans: list[RowPlan], groups: Groups, custom: CustomFields
) -> list[Problem]:
    known = ctx.spec.rows
    cols = [c for c in changes.columns if c not in known]
    new = [c for c in cols if c not in ctx.snapshot.table.column_names]
    per_row = {p.row: mine for p in plans if (mine := _custom_cells(changes, p, cols))}
    if not new and not per_row:
        return []
    comps = groups.components()
    if comps is None:  # cannot read the definitions: at least the column must be known
        why = (
            "unknown column (not a documented field, not in the original frame, and the "
            f"{custom.source} could not be read: {groups.error})"
        )
        return [Problem(why, c) for c in new]
    everywhere = {cid for comp in comps.values() for cid in comp}
    problems = [
        Problem(f"unknown column (not a documented field nor a {custom.label} component)", c)
        for c in new
        if c not in everywhere
    ]
    group_of = groups_of_rows(ctx.edited, changes, list(per_row), custom.group_by)
    by_row = {p.row: p for p in plans}
    for k, mine in per_row.items():
        problems += _row_components(
            changes, by_row[k], mine, groups, group_of.get(k), everywhere, custom
        )
    return problems


def _row_components(
    changes: Changes,
    plan: RowPlan,
    cols: list[str],
    groups: Groups,
    group: str | None,
    everywhere: set[str],
    custom: CustomFields,
) -> list[Problem]:
    """The custom cells of one row against its group's fields."""
    rid = changes.ids[plan.row]
    comp_map = groups.of(group)
    out: list[Problem] = []
    for c in (c for c in cols if c in everywhere):  # the others are unknown columns
        if comp_map is None:
            unknown = f"the row's {custom.label} {group!r} is unknown"
            return [Problem(unknown, custom.group_by, rid)]
        if c not in comp_map:
            out.append(Problem(f"not a component of the row's {custom.label} {group!r}", c, rid))
            continue
        full = plan.action in ("put", "create")
        value = plan.values.get(c) if full else changes.cells[plan.row][c][1]
        why = component_problem(comp_map[c], value)
        if why is not None:
            out.append(Problem(why, c, rid))
    return out


def _undocumented(spec: ResourceSpec, changes: Changes, plans: list[RowPlan]) -> list[Problem]:
    """A key the API does not document would be ignored by it: refuse, never drop it."""
    why = f"not a documented field of {spec.name} (the API would ignore it)"
    return [
        Problem(why, c, changes.ids[p.row])
        for p in plans
        for c in changes.cells.get(p.row, {})
        if c not in spec.rows
    ]


def _read_only(spec: ResourceSpec, changes: Changes, plans: list[RowPlan]) -> list[Problem]:
    """Read-only columns edited on existing rows."""
    return [
        Problem("read-only column edited (the server sets it)", c, changes.ids[p.row])
        for p in plans
        if p.action != "create"
        for c in changes.cells.get(p.row, {})
        if not writable(spec, c)
    ]


def _cleared_required(spec: ResourceSpec, changes: Changes, plans: list[RowPlan]) -> list[Problem]:
    """A required field (``flow``, ``hubId``) cleared by an update: the server refuses it."""
    out: list[Problem] = []
    for p in plans:
        if p.action != "patch":
            continue
        for name in spec.required_on_create:
            cell = changes.cells.get(p.row, {}).get(name)
            if cell is not None and cell[1] is None:
                out.append(Problem("required: it cannot be cleared", name, changes.ids[p.row]))
    return out


def _missing_required(spec: ResourceSpec, changes: Changes, plans: list[RowPlan]) -> list[Problem]:
    """Whole rows (a create, a replace) without a required field."""
    return [
        Problem(f"required on {_WHOLE[p.action]}", name, changes.ids[p.row])
        for p in plans
        if p.action in _WHOLE
        for name in spec.required_on_create
        if p.values.get(name) is None
    ]


def _edited_ids(changes: Changes) -> list[Problem]:
    """Rows whose id is new where the snapshot's row at the same place is gone from the
    frame: the id was edited (ids are the server's), not a row to create and one to delete.
    Rows added after the snapshot's length, or in a subset, are creations (placeholders)."""
    snap_ids = changes.snapshot.ids
    missing = set(changes.missing)
    aligned = changes.source != "derived" or (  # a whole copy: its rows where they were
        len(changes.ids) == len(snap_ids)
        and all(p in (k, -1) for k, p in enumerate(changes.old_pos))
    )
    out: list[Problem] = []
    for k in changes.new_rows:
        new = changes.ids[k]
        if new is None or k >= len(snap_ids) or not aligned:
            continue
        was = snap_ids[k]
        if was is not None and was in missing:
            idf = changes.spec.id_field
            out.append(Problem(f"the id was edited (it was {was}): ids are read-only", idf, new))
    return out


def groups_of_rows(
    edited: pd.DataFrame, changes: Changes, rows: list[int], column: str
) -> dict[int, str | None]:
    """Each row's group (its flow): the frame's ``column``, else the snapshot's."""
    if not rows:
        return {}
    if column in edited.columns:
        col = edited[column]
        return {k: None if is_missing(v := col.iloc[k]) else str(v) for k in rows}
    snap = changes.snapshot.table
    if column in snap.column_names:
        flows = snap.column(column)
        out: dict[int, str | None] = {}
        for k in rows:
            p = changes.old_pos[k]
            v = flows[p].as_py() if p >= 0 else None
            out[k] = None if v is None else str(v)
        return out
    return dict.fromkeys(rows)


def row_values(edited: pd.DataFrame, plans: list[RowPlan], changes: Changes) -> list[Problem]:
    """Fill ``plan.values`` with the canonical values of whole rows (put, create); the
    values that do not fit their column are problems."""
    problems: list[Problem] = []
    rows = [p for p in plans if p.action in ("put", "create")]
    if not rows:
        return problems
    for c in changes.columns:
        ft, enum = changes.ftypes[c]
        values = edited[c].iloc[[p.row for p in rows]].tolist()
        for p, v in zip(rows, values, strict=True):
            try:
                p.values[c] = canonical(v, ft, enum)
            except ValueError as e:
                p.values[c] = None
                problems.append(Problem(str(e), c, changes.ids[p.row]))
    return problems
