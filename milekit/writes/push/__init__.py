"""Push an edited frame back: changed cells only, in bulk, nothing lost, nothing doubled.

>>> import milekit
>>> with milekit.Sandbox(tasks=30) as sb, milekit.Client(sb.token, sb.url) as c:
...     df = milekit.tasks_frame(client=c, progress=False)
...     df.loc[df["flow"] == "Pickup", "label"] = "Return"
...     result = milekit.push(df, client=c, progress=False)
...     again = milekit.tasks_frame(client=c, progress=False)
>>> result.ok, [(r.method, r.path) for r in result.requests]
(True, [('PATCH', '/tasks/bulk')])
>>> {tuple(labels) for labels in again.loc[again["flow"] == "Pickup", "label"]}
{('Return',)}

How a push goes:

1. **Diff** (:mod:`milekit.writes.diff`): the edited frame against the snapshot milekit took when
   it fetched the frame (or ``original=``): changed cells, rows without a known id, rows
   missing from the frame. A frame with neither (a file read back) is compared with the
   server's current rows, and rows the server changed since the file was read (their
   ``updatedTime``) are held back as ``conflict`` (:mod:`~milekit.writes.push.server`).
2. **Validate** everything before anything is sent, into one :class:`PushValidationError`
   listing every problem (:mod:`~milekit.writes.push.validate`).
3. **Plan** requests from the registry: bulk endpoints where the resource has them
   (``PATCH``/``PUT /tasks/bulk``, ``POST /tasks/bulk/``, ``DELETE /tasks/bulk``), chunked
   by count (``bulk_max``) *and* by body size (well under the size that gives 413), else
   one request per object. ``dry_run=True`` stops here and returns the plan.
4. **Send** through the one :class:`~milekit.wire.client.Client` (its rate limiter and retry
   loop: 429 and 503+Retry-After are retried there; nothing else is, for a write).
5. **Reconcile**: a write whose answer was lost (timeout, dropped connection, a 5xx) is
   ``unknown``: the rows are read back and compared with the intended values (and the
   snapshot's) before deciding. Applied -> ``ok``; still the old value -> sent again (it
   provably was not applied); anything else -> ``conflict``. A write is never sent twice
   unless the server shows it was not applied.
6. The frame's snapshot moves forward for the rows that were written, so pushing the same
   frame again sends nothing; created rows get their new ids in the frame's index.

The package, in floors (a module imports only the floors below it; the layering test
``tests/writes/test_push_layering.py`` holds it): :mod:`~milekit.writes.push.journal`
(the file of a push's writes) < :mod:`~milekit.writes.push.model` (the state: one
:class:`~milekit.writes.push.model.RowPlan` per row) < :mod:`~milekit.writes.push.result`
(what a push tells) < :mod:`~milekit.writes.push.validate`,
:mod:`~milekit.writes.push.reconcile` < :mod:`~milekit.writes.push.plan` <
:mod:`~milekit.writes.push.send` (with Ctrl-C) < :mod:`~milekit.writes.push.pipeline` (one
push, start to end), :mod:`~milekit.writes.push.server` (a frame without a snapshot
against the server) < this module (:func:`push`).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import pyarrow as pa

from milekit.errors import UsageError
from milekit.reads.inputs import as_frame
from milekit.reads.snapshots import lookup, resource_of, snapshot_of
from milekit.types import registry
from milekit.wire.client import Client
from milekit.wire.context import get_client
from milekit.writes.push.journal import PushJournal
from milekit.writes.push.model import MAX_REQUEST_BYTES, Context, Options
from milekit.writes.push.pipeline import run
from milekit.writes.push.result import (
    Plan,
    PlannedRequest,
    PushInterrupted,
    PushResult,
    PushValidationError,
    RequestRecord,
)
from milekit.writes.push.server import against_server, fetch_original

__all__ = [
    "MAX_REQUEST_BYTES",
    "Plan",
    "PlannedRequest",
    "PushInterrupted",
    "PushResult",
    "PushValidationError",
    "RequestRecord",
    "fetch_original",
    "push",
]


def push(
    edited: pd.DataFrame | pa.Table | Any,
    resource: str | None = None,
    *,
    original: pd.DataFrame | None = None,
    dry_run: bool = False,
    replace: bool = False,
    create: bool = False,
    delete: bool = False,
    check_conflicts: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    client: Client | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    journal: str | os.PathLike[str] | None = None,
) -> PushResult:
    """Write the edits of ``edited`` back to MileApp; see the module doc for the steps.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False)
    ...     df.loc[df.index[:3], "content"] = "moved"
    ...     plan = milekit.push(df, client=c, dry_run=True).plan
    >>> plan.rows["patch"], [(r.method, r.path, r.items) for r in plan.requests]
    (3, [('PATCH', '/tasks/bulk', 3)])

    Args:
        edited: a frame from ``milekit.frame``/``tasks_frame`` edited in place, or any
            frame indexed by ``_id`` with ``original=`` the frame as fetched.
        resource: the registry name (``"tasks"``, ``"hubs"`` …); default: the resource the
            frame was read from (its snapshot, or ``original``'s), else ``"tasks"``.
        original: the snapshot to diff against when ``edited`` has none. A frame with
            neither (read from a file) is compared with the server's current rows: rows
            whose ``updatedTime`` on the server differs from the frame's (changed by
            someone since the file was read) are ``conflict`` and not sent; a frame
            without that column is refused unless ``overwrite=True``.
        dry_run: plan and validate, send nothing (only ``GET /flows`` when custom flow
            columns must be checked).
        replace: PUT whole rows (``flow`` and ``hubId`` required) instead of PATCHing cells.
            The row is the frame's writable columns: fields the frame does not have (left
            out by ``fields=``, or detail-only ones such as ``orderIndex``) are not resent,
            and MileApp documents PUT as a full replace.
        create: POST rows that have no known id; otherwise they are ``skipped``.
        delete: DELETE rows of the snapshot missing from ``edited``; otherwise ``skipped``.
        check_conflicts: re-read the rows first; a row changed on the server since the
            snapshot (in a column being written) gets ``conflict`` and is not sent.
        overwrite: for a frame compared with the server: write the rows changed on the
            server since the file was read too (the plan's ``reverts`` lists the cells
            this undoes), and push a frame that has no ``updatedTime`` to check.
        progress: a progress bar when someone is watching (terminal or notebook).
        client: default: :func:`milekit.get_client`.
        max_request_bytes: cap on one request body (chunks split below it).
        journal: a file recording each row's write as it is sent and answered
            (:mod:`milekit.writes.push.journal`): the same push run again after an
            interruption sends no row twice (rows written are reported ``ok``, rows in
            doubt are read back first). The CLI keeps one beside the edits file.

    ``result.counts`` tells rows written (``ok``) from rows already as the server has them
    (``unchanged``). Ctrl-C stops sending and raises :class:`PushInterrupted` (a
    ``KeyboardInterrupt``) whose ``result`` says what was sent, what is unknown and what
    was not sent.
    """
    if resource is not None:
        registry.get(resource)  # an unknown name fails before anything else
    if max_request_bytes < 1024:
        raise UsageError("max_request_bytes must be at least 1024")
    edited = as_frame(edited, "push", resource)
    client = client or get_client()
    stale: dict[str, str] = {}
    if original is None and lookup(edited) is None:  # a file: compared with the server
        if delete:
            raise UsageError(
                "delete=True needs original= (the frame or file as fetched): compared with "
                "the server, rows missing from this frame are not known. Nothing was sent"
            )
        name = resource or resource_of(edited) or registry.DEFAULT_RESOURCE
        base = against_server(edited, registry.get(name), client, overwrite=overwrite)
        edited, original, stale = base.edited, base.original, base.stale
        resource = name
    snap, source = snapshot_of(edited, original, resource)
    spec = registry.get(resource or snap.resource)
    if snap.resource != spec.name:
        raise UsageError(
            f"this frame holds {snap.resource}, not {spec.name}: push(df, {snap.resource!r})"
        )
    if delete and source == "derived":
        raise UsageError(
            "delete=True needs the frame milekit returned (edited in place) or original=: "
            "this frame was derived from it (filtered/copied), so rows missing from it are "
            "not deletions"
        )
    ctx = Context(
        edited=edited,
        spec=spec,
        snapshot=snap,
        source=source,
        options=Options(replace, create, delete, check_conflicts, max_request_bytes, overwrite),
        client=client,
        journal=PushJournal(journal, spec.name) if journal is not None else None,
        stale=stale,
    )
    return run(ctx, only_rows=None, only_deletes=None, progress=progress, dry_run=dry_run)
