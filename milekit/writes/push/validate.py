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

from milekit.reads.custom import raw_rows
from milekit.types.encode import canonical, is_missing
from milekit.types.registry import ResourceSpec
from milekit.wire.client import Client
from milekit.wire.errors import MileError
from milekit.writes.diff import Changes, Problem
from milekit.writes.push.model import Context, RowPlan

_WHOLE = {"create": "create", "put": "replace"}  #: actions that send whole rows
#: flow name -> component id -> component
Components = dict[str, dict[str, dict[str, Any]]]


class Flows:
    """Flow components by flow name, read once per push (``GET /flows``) when needed."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._components: Components | None = None
        self.error: str | None = None

    def components(self) -> Components | None:
        if self._components is None and self.error is None:
            try:
                self._components = _components(raw_rows(self.client, "flows"))
            except MileError as e:
                self.error = str(e)
        return self._components

    @property
    def read(self) -> Components | None:
        """The components if they were read (no request)."""
        return self._components


def _components(flows: list[dict[str, Any]]) -> Components:
    out: Components = {}
    for flow in flows:
        if not isinstance(flow.get("name"), str):
            continue
        comps: dict[str, dict[str, Any]] = {}
        for pg in flow.get("pages") or []:
            for c in (pg or {}).get("components") or []:
                if isinstance(c, dict) and isinstance(c.get("id"), str):
                    comps[c["id"]] = c
        out[flow["name"]] = comps
    return out


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
    f = spec._by_name.get(column)
    return f is None or f.writable


def validate(ctx: Context, changes: Changes, plans: list[RowPlan], flows: Flows) -> list[Problem]:
    """Every problem of the rows to write (``plans``, each with its edited row)."""
    spec = ctx.spec
    problems: list[Problem] = []
    if spec.name == "tasks":  # custom columns are the components of each row's flow
        problems += _flow_components(ctx, changes, plans, flows)
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


def _flow_components(
    ctx: Context, changes: Changes, plans: list[RowPlan], flows: Flows
) -> list[Problem]:
    known = ctx.spec._by_name
    custom = [c for c in changes.columns if c not in known]
    new = [c for c in custom if c not in ctx.snapshot.table.column_names]
    per_row = {p.row: cols for p in plans if (cols := _custom_cells(changes, p, custom))}
    if not new and not per_row:
        return []
    comps = flows.components()
    if comps is None:  # cannot read the flows: at least the column must be in the snapshot
        why = (
            "unknown column (not a documented field, not in the original frame, and the "
            f"flows could not be read: {flows.error})"
        )
        return [Problem(why, c) for c in new]
    everywhere = {cid for comp in comps.values() for cid in comp}
    problems = [
        Problem("unknown column (not a documented field nor a flow component)", c)
        for c in new
        if c not in everywhere
    ]
    flow_of = flows_of_rows(ctx.edited, changes, list(per_row))
    by_row = {p.row: p for p in plans}
    for k, cols in per_row.items():
        problems += _row_components(changes, by_row[k], cols, comps, flow_of.get(k), everywhere)
    return problems


def _row_components(
    changes: Changes,
    plan: RowPlan,
    cols: list[str],
    comps: Components,
    flow: str | None,
    everywhere: set[str],
) -> list[Problem]:
    """The custom cells of one row against its flow's components."""
    rid = changes.ids[plan.row]
    comp_map = comps.get(flow) if flow is not None else None
    out: list[Problem] = []
    for c in (c for c in cols if c in everywhere):  # the others are unknown columns
        if comp_map is None:
            return [Problem(f"the row's flow {flow!r} is unknown", "flow", rid)]
        if c not in comp_map:
            out.append(Problem(f"not a component of the row's flow {flow!r}", c, rid))
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
        if c not in spec._by_name
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


def flows_of_rows(edited: pd.DataFrame, changes: Changes, rows: list[int]) -> dict[int, str | None]:
    """Each row's flow: the frame's ``flow`` column, else the snapshot's."""
    if not rows:
        return {}
    if "flow" in edited.columns:
        col = edited["flow"]
        return {k: None if is_missing(v := col.iloc[k]) else str(v) for k in rows}
    snap = changes.snapshot.table
    if "flow" in snap.column_names:
        flows = snap.column("flow")
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
