"""One push, start to end: compare, plan, validate, send, and move the snapshot on.

>>> import milekit
>>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False)
...     df.loc[df.index[:2], "title"] = "again"
...     first = milekit.push(df, client=c, progress=False)
...     second = milekit.push(df, client=c, progress=False)  # the snapshot moved on
>>> first.counts["ok"], first.counts["unchanged"], len(first.requests), len(second.requests)
(2, 3, 1, 0)
"""

from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa

from milekit.reads.snapshots import Snapshot, register
from milekit.types import schema
from milekit.writes.diff import Changes, compare
from milekit.writes.push.model import Context, RowPlan, RowTable
from milekit.writes.push.plan import build_writes, make_plan, plan_rows
from milekit.writes.push.result import PushInterrupted, PushResult, PushValidationError
from milekit.writes.push.send import Runner
from milekit.writes.push.validate import Groups, row_values, validate


def run(
    ctx: Context,
    *,
    only_rows: set[int] | None,
    only_deletes: set[str] | None,
    progress: bool,
    dry_run: bool,
) -> PushResult:
    """Push the rows of ``ctx.edited`` (all, or ``only_rows``/``only_deletes`` again)."""
    t0 = time.perf_counter()
    changes = compare(ctx.edited, ctx.snapshot, ctx.source)
    ctx.ftypes = changes.ftypes
    table = plan_rows(ctx, changes, only_rows, only_deletes)
    writes = [p for p in table if p.to_write]
    edits = [p for p in writes if p.row >= 0]
    groups = Groups(ctx.client, ctx.spec.custom)
    problems = [*changes.problems, *row_values(ctx.edited, edits, changes)]
    problems += validate(ctx, changes, edits, groups)
    if problems:
        raise PushValidationError(ctx.spec.name, list(dict.fromkeys(problems)))
    build_writes(ctx, changes, writes, groups)
    plan = make_plan(ctx, table, changes)
    if dry_run:
        for p in writes:
            table.settle(p, "skipped", "dry run: not sent")
        return PushResult(ctx.spec.name, table.frame(ctx.spec.id_field), [], plan, True, 0.0)
    runner = Runner(ctx, table)
    interrupted = runner.go(writes, progress)
    with table.held():  # the snapshot moves on for exactly the rows the result says ok
        advance_snapshot(ctx, changes, table)
        frame = table.frame(ctx.spec.id_field)
    result = PushResult(
        ctx.spec.name,
        frame,
        list(runner.records),
        plan,
        False,
        time.perf_counter() - t0,
        reads=runner.reads,
        _rerun=lambda rows, deletes, progress: run(
            ctx, only_rows=rows, only_deletes=deletes, progress=progress, dry_run=False
        ),
        _plans=list(table),
    )
    if interrupted:
        raise PushInterrupted(result)
    return result


def advance_snapshot(ctx: Context, changes: Changes, table: RowTable) -> None:
    """Make what was written the frame's new snapshot; give created rows their ids."""
    by_row = {p.row: p for p in table if p.row >= 0}
    _give_ids(ctx, changes, by_row)
    took_edited: list[int] = []
    took_old: list[int] = []
    for k, rid in enumerate(changes.ids):
        p = by_row.get(k)
        if p is not None and p.status == "ok" and rid is not None:
            took_edited.append(k)
        elif changes.old_pos[k] >= 0:
            took_old.append(changes.old_pos[k])
    if changes.source != "derived":
        deleted = {p.id for p in table if p.action == "delete" and p.status == "ok"}
        took_old += [ctx.snapshot.positions[i] for i in changes.missing if i not in deleted]
    old = ctx.snapshot.table
    try:
        now = schema.from_pandas(ctx.edited, old.schema)
        parts = [
            now.take(pa.array(took_edited, pa.int64())),
            old.take(pa.array(took_old, pa.int64())),
        ]
        new = schema.unify(parts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        return  # keep the old snapshot: the next push re-sends nothing it should not
    snap = Snapshot(ctx.spec, new)
    register(ctx.edited, snap)
    ctx.snapshot = snap
    ctx.source = "frame"


def _give_ids(ctx: Context, changes: Changes, by_row: dict[int, RowPlan]) -> None:
    """Created rows take the ids the server gave them, in the frame and in the result."""
    created = {k: p for k, p in by_row.items() if p.action == "create" and p.id}
    if not created:
        return
    ids = list(changes.ids)
    for k, p in created.items():
        ids[k] = p.id
        p.label = p.id
    idf = ctx.spec.id_field
    new_ids = pd.array(ids, dtype="string")
    if ctx.edited.index.name == idf:
        ctx.edited.index = pd.Index(new_ids, name=idf)
    else:
        ctx.edited[idf] = new_ids
    changes.ids = ids
