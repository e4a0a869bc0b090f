"""Planning a push: what each row does, the body it sends, and the requests they make.

>>> verb("patch"), METHOD["create"]
('update', 'POST')

Rows go whole by the resource's update path when it has no PATCH endpoint; bulk endpoints
take chunks of at most ``bulk_max`` rows *and* ``max_request_bytes``; without one, each row
is one request on the registry's path (``{id}`` filled in).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from milekit.errors import UsageError
from milekit.types.encode import canonical_column, display, is_missing, wire
from milekit.types.registry import ResourceSpec
from milekit.wire.ratelimit import estimate_seconds
from milekit.writes.diff import UNKNOWN, Changes
from milekit.writes.push.journal import body_hash
from milekit.writes.push.model import ACTIONS, Action, Context, RowPlan, RowTable
from milekit.writes.push.reconcile import brief
from milekit.writes.push.result import Plan, PlannedRequest, Revert
from milekit.writes.push.validate import Groups, groups_of_rows, writable

WIRE_OVERHEAD = 64  #: bytes of the bulk envelope around the items
METHOD: dict[str, str] = {"patch": "PATCH", "put": "PUT", "create": "POST", "delete": "DELETE"}
_NO_ID = "no known id: pass create=True to create it"
_MISSING = "missing from the edited frame: pass delete=True to delete it"


def plan_rows(
    ctx: Context, changes: Changes, only_rows: set[int] | None, only_deletes: set[str] | None
) -> RowTable:
    """One plan per row: the edited rows in order, then the snapshot's rows missing from
    the frame (deletions, unless the frame is a subset)."""
    rows: list[RowPlan] = []
    new = set(changes.new_rows)
    for k in range(len(changes.ids)):
        if only_rows is None or k in only_rows:
            p = RowPlan(len(rows), changes.ids[k], _action(ctx, changes, k, new), row=k)
            if k in new and not ctx.options.create:
                p.status, p.message = "skipped", _NO_ID
            elif p.action == "none":
                p.status, p.message = "unchanged", "unchanged"
            elif p.id in ctx.stale and not ctx.options.overwrite:
                p.status, p.message = "conflict", _stale_message(ctx, changes, k)
            rows.append(p)
    if changes.source != "derived":
        for i in changes.missing:
            if only_deletes is None or i in only_deletes:
                p = RowPlan(len(rows), i, "delete", body={ctx.spec.id_field: i})
                if not ctx.options.delete:
                    p.status, p.message = "skipped", _MISSING
                rows.append(p)
    return RowTable(rows)


def _stale_message(ctx: Context, changes: Changes, k: int) -> str:
    """Why a row changed on the server since the file was read is not sent, and its cells."""
    why = ctx.stale[str(changes.ids[k])]
    if k not in changes.cells:  # the server no longer has it
        return f"{why}: not created again; overwrite=True creates it"
    cells = []
    for c, (server, mine) in changes.cells[k].items():
        ft = changes.ftypes[c][0]
        old = "?" if server is UNKNOWN else brief(server, ft)
        cells.append(f"{c} (server {old}, file {brief(mine, ft)})")
    return (
        f"changed on the server since the file was read ({why}): "
        f"not sent; the file differs in {'; '.join(cells)}. overwrite=True writes the "
        "file's values"
    )


def reverted_cells(ctx: Context, changes: Changes, writes: list[RowPlan]) -> list[Revert]:
    """The cells the writes overwrite in rows changed on the server since the file was
    read (``overwrite=True``): what the push undoes of someone else's work."""
    out: list[Revert] = []
    for p in writes:
        if p.row < 0 or p.id is None or p.id not in ctx.stale:
            continue
        for c, (server, mine) in changes.cells.get(p.row, {}).items():
            ft = changes.ftypes[c][0]
            was = None if server is UNKNOWN else display(server, ft)
            out.append(Revert(p.id, c, was, display(mine, ft)))
    return out


def _action(ctx: Context, changes: Changes, k: int, new: set[int]) -> Action:
    if k in new:
        return "create"
    if k not in changes.cells:
        return "none"
    # no PATCH endpoint (hubs, teams, flows …): the row goes whole, by its update path
    partial = ctx.spec.patch_path is not None or ctx.spec.bulk_update_path is not None
    return "put" if ctx.options.replace or not partial else "patch"


def build_writes(ctx: Context, changes: Changes, plans: list[RowPlan], groups: Groups) -> None:
    """Fill in each row's write: its body, the values it should end up with, the snapshot's,
    its size, and its journal key and fingerprint."""
    full = [p for p in plans if p.action in ("put", "create") and p.row >= 0]
    old_full = _snapshot_rows(changes, [p.row for p in full if changes.old_pos[p.row] >= 0])
    custom = ctx.spec.custom
    group_of = groups_of_rows(ctx.edited, changes, [p.row for p in full], custom.group_by) if (
        custom is not None
    ) else {}  # fmt: skip
    for p in plans:
        if p.action == "patch":
            _patch_body(ctx, changes, p)
        elif p.action in ("put", "create"):
            _whole_body(ctx, changes, p, groups.of(group_of.get(p.row)))
            p.old = {c: old_full.get(p.row, {}).get(c, UNKNOWN) for c in p.intended}
            p.id = p.id if p.action == "put" else None
        p.size = len(orjson.dumps(p.body, option=orjson.OPT_NON_STR_KEYS))
        p.key = p.id if p.id is not None else _row_key(ctx.edited, p.row, p.slot)
        p.hash = body_hash(p.action, p.body)


def _patch_body(ctx: Context, changes: Changes, p: RowPlan) -> None:
    """The changed cells, and the keys bulk updates are matched by (data, note 43)."""
    p.body = {ctx.spec.id_field: p.id}
    for c, (o, v) in changes.cells[p.row].items():
        p.body[c] = wire(v, changes.ftypes[c][0])
        p.intended[c] = v
        p.old[c] = o
    for key in ctx.spec.bulk_match:
        if key not in p.body and key in ctx.edited.columns:
            v = ctx.edited[key].iloc[p.row]
            if isinstance(v, str):
                p.body[key] = v


def _whole_body(
    ctx: Context, changes: Changes, p: RowPlan, components: dict[str, Any] | None
) -> None:
    """Every writable column of the row (a replace keeps its id; a create has none)."""
    spec = ctx.spec
    p.body = {spec.id_field: p.id} if p.action == "put" else {}
    for c in changes.columns:
        documented = c in spec.rows
        if not writable(spec, c) or (not documented and not spec.dynamic_fields):
            continue
        if not documented and components is not None and c not in components:
            continue  # another flow's component (NA on this row: validated)
        v = p.values.get(c)
        p.intended[c] = v
        if v is not None:
            p.body[c] = wire(v, changes.ftypes[c][0])


def _row_key(edited: pd.DataFrame, row: int, slot: int) -> str:
    """A row without an id in a journal: its index label when it has one (a placeholder
    such as "new-1"), else its position."""
    if row < 0:
        return f"#{slot}"
    label = edited.index[row]
    return f"#{row}" if is_missing(label) else f"label:{label}"


def _snapshot_rows(changes: Changes, rows: list[int]) -> dict[int, dict[str, Any]]:
    """Canonical snapshot values of whole rows."""
    out: dict[int, dict[str, Any]] = {k: {} for k in rows}
    if not rows:
        return out
    table = changes.snapshot.table
    take = pa.array([changes.old_pos[k] for k in rows], pa.int64())
    for c in changes.columns:
        if c in table.column_names:
            vals = canonical_column(table.column(c).take(take), changes.ftypes[c][0])
            for k, v in zip(rows, vals, strict=True):
                out[k][c] = v
    return out


def make_plan(ctx: Context, table: RowTable, changes: Changes) -> Plan:
    """The plan: rows per action, rows left alone and why, the requests, the time."""
    counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
    counts.update(Counter(p.action for p in table if p.to_write or p.action == "none"))
    reasons = Counter(
        "missing from the edited frame: pass delete=True to delete them"
        if p.message == _MISSING
        else str(p.message)
        for p in table
        if p.status == "skipped"
    )
    writes = [p for p in table if p.to_write]
    kinds: dict[tuple[str, str], list[int]] = {}
    for chunk in chunks(ctx.spec, writes, ctx.options.max_request_bytes):
        agg = kinds.setdefault((chunk.method, chunk.path_label), [0, 0, 0])
        agg[0], agg[1], agg[2] = agg[0] + 1, agg[1] + len(chunk.rows), agg[2] + chunk.bytes
    requests = [PlannedRequest(m, path, *a) for (m, path), a in kinds.items()]
    limiter = ctx.client.limiter
    rate = f"{limiter.limit} req/{limiter.period:g}s" if limiter else "no client-side limit"
    written = {p.row for p in writes}
    cells = {k: v for k, v in changes.cells.items() if k in written}
    return Plan(
        conflicts=sum(1 for p in table if p.status == "conflict"),
        reverted=reverted_cells(ctx, changes, writes),
        id_field=ctx.spec.id_field,
        resource=ctx.spec.name,
        requests=requests,
        rows=counts,
        skipped=dict(reasons),
        estimated_seconds=estimate_seconds(sum(r.requests for r in requests), limiter),
        rate=rate,
        cells=sum(len(v) for v in cells.values()),
        _changes=Changes(**{**changes.__dict__, "cells": cells}),
    )


@dataclass
class Chunk:
    """One request's worth of rows."""

    method: str
    path: str
    path_label: str  #: the path with ``{id}`` left in (for plans)
    bulk: bool
    action: Action
    rows: list[RowPlan]
    bytes: int


def verb(action: Action) -> str:
    return {"create": "create", "patch": "update", "put": "replace", "delete": "delete"}[action]


def bulk_path(spec: ResourceSpec, action: Action) -> str | None:
    return {
        "patch": spec.bulk_update_path,
        "put": spec.bulk_replace_path,
        "create": spec.bulk_create_path,
        "delete": spec.bulk_delete_path,
    }.get(action)


def chunks(spec: ResourceSpec, rows: Iterable[RowPlan], max_bytes: int) -> list[Chunk]:
    """The requests that carry ``rows``: deletes, updates, replaces, then creates."""
    by_action: dict[Action, list[RowPlan]] = {}
    for p in rows:
        by_action.setdefault(p.action, []).append(p)
    out: list[Chunk] = []
    for action in ("delete", "patch", "put", "create"):
        group = by_action.get(action)  # type: ignore[call-overload]
        if group:
            path = bulk_path(spec, action)
            if path is not None:
                out += _bulk_chunks(spec, action, path, group, max_bytes)
            else:
                out += _one_by_one(spec, action, group)
    return out


def _bulk_chunks(
    spec: ResourceSpec, action: Action, path: str, group: list[RowPlan], max_bytes: int
) -> list[Chunk]:
    out: list[Chunk] = []
    cur: list[RowPlan] = []
    size = WIRE_OVERHEAD
    for p in group:
        if cur and (len(cur) >= spec.bulk_max or size + p.size + 1 > max_bytes):
            out.append(Chunk(METHOD[action], path, path, True, action, cur, size))
            cur, size = [], WIRE_OVERHEAD
        cur.append(p)
        size += p.size + 1
    if cur:
        out.append(Chunk(METHOD[action], path, path, True, action, cur, size))
    return out


def _one_by_one(spec: ResourceSpec, action: Action, group: list[RowPlan]) -> list[Chunk]:
    """No bulk endpoint: one request per object, on the path the registry gives."""
    template = {
        "create": spec.create_path,
        "patch": spec.patch_path,
        "put": spec.update_path,
        "delete": spec.delete_path,
    }[action]
    if template is None:
        raise UsageError(f"{spec.name}: the API has no endpoint to {verb(action)} one")
    method = spec.update_method if action == "put" else METHOD[action]  # POST: app integrations
    out: list[Chunk] = []
    for p in group:
        path = template if p.id is None else spec.object_path(template, p.id)
        out.append(Chunk(method, path, template, False, action, [p], p.size))
    return out
