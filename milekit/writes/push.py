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
   missing from the frame.
2. **Validate** everything before anything is sent, into one :class:`PushValidationError`
   listing every problem: read-only columns edited, values that do not fit the column's
   type, unknown columns (a custom flow column must be a component of the row's flow,
   read from ``GET /flows``), duplicate ids, ``flow``/``hubId`` missing on create/replace.
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
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import orjson
import pandas as pd
import pyarrow as pa

from milekit.types import registry, schema
from milekit.types.encode import canonical, coarse, is_missing, wire
from milekit.types.registry import FieldType, ResourceSpec
from milekit.wire import envelope
from milekit.wire.client import Client, estimate_seconds
from milekit.wire.context import get_client
from milekit.wire.errors import (
    ApiError,
    MileError,
    NotFoundError,
    PayloadTooLargeError,
    ResponseError,
    TransportError,
    UsageError,
)
from milekit.writes.diff import (
    UNKNOWN,
    Changes,
    Problem,
    Snapshot,
    SnapshotSource,
    _register,
    compare,
    group_problems,
    snapshot_of,
)
from milekit.writes.journal import PushJournal, body_hash

F = FieldType
Action = Literal["patch", "put", "create", "delete", "none"]
Status = Literal["ok", "failed", "skipped", "unknown", "conflict"]
STATUSES: tuple[Status, ...] = ("ok", "failed", "skipped", "unknown", "conflict")
ACTIONS: tuple[Action, ...] = ("patch", "put", "create", "delete", "none")

#: Default cap on one request body. MileApp documents 413 but no size; nginx, commonly in
#: front of Laravel, rejects bodies over 1 MiB by default, so stay well under that.
MAX_REQUEST_BYTES = 512 * 1024
#: Send -> reconcile -> resend rounds before rows are left ``unknown``/``failed``.
MAX_ROUNDS = 6
#: Bulk requests in flight at once (each carries up to ``bulk_max`` rows; the server works
#: through them one by one anyway). Per-object requests use the client's ``max_workers``,
#: which keeps the rate limiter, not the round trip, the bottleneck.
BULK_IN_FLIGHT = 4
#: Up to this many rows are read back one GET each; more go through the list endpoint
#: when that takes fewer requests.
_PER_ID_READS = 32
#: Seconds one read-back may take with its retries (a server that died is given up on)
READ_BACK_BUDGET = 10.0

_WIRE_OVERHEAD = 64  #: bytes of the bulk envelope around the items


class PushValidationError(UsageError):
    """The edited frame cannot be pushed; ``problems`` lists every reason (nothing was sent)."""

    def __init__(self, resource: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = group_problems(self.problems)
        head = f"cannot push {resource}: {len(lines)} problem{'s' if len(lines) != 1 else ''}"
        super().__init__(head + " (nothing was sent)\n  - " + "\n  - ".join(lines))


class PushInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a push. ``result`` says, row by row, what was acknowledged (``ok``),
    what was on its way (``unknown``: it may have been applied) and what was not sent
    (``skipped``). A push with the same ``journal=`` later sends none of it twice."""

    def __init__(self, result: PushResult) -> None:
        c = result.counts
        super().__init__(
            f"the push was interrupted: {c['ok']:,} rows ok, {c['unknown']:,} unknown (in "
            f"flight), {c['skipped']:,} not sent"
        )
        self.result = result


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRequest:
    """Requests of one kind in a plan."""

    method: str
    path: str
    requests: int
    items: int
    bytes: int


@dataclass
class Plan:
    """What a push sends (or, after ``dry_run=True``, would send)."""

    resource: str
    requests: list[PlannedRequest]
    rows: dict[str, int]  #: rows per action (patch/put/create/delete/none)
    skipped: dict[str, int]  #: rows left alone, per reason
    estimated_seconds: float  #: lower bound at the client's rate budget
    rate: str
    cells: int  #: changed cells written
    _changes: Changes | None = field(default=None, repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def changes(self) -> pd.DataFrame:
        """The changed cells written (``_id``, ``column``, ``old``, ``new``), as ``diff``."""
        if self._frame is None:
            assert self._changes is not None
            self._frame = self._changes.frame()
            self._changes = None
        return self._frame

    @property
    def total_requests(self) -> int:
        return sum(r.requests for r in self.requests)

    def __repr__(self) -> str:
        lines = [f"Push plan for {self.resource}:"]
        acts = ", ".join(f"{n:,} {a}" for a, n in self.rows.items() if n and a != "none")
        lines.append(
            f"  rows: {acts or 'nothing to write'}; {self.rows.get('none', 0):,} unchanged"
        )
        lines.append(f"  changed cells: {self.cells:,}")
        for r in self.requests:
            lines.append(
                f"  {r.method:<6} {r.path:<16} {r.requests:>6,} request"
                f"{'s' if r.requests != 1 else ' '}  {r.items:>8,} items  {r.bytes / 1024:,.0f} KiB"
            )
        for reason, n in self.skipped.items():
            lines.append(f"  skipped {n:,}: {reason}")
        lines.append(
            f"  estimated time: >= {self.estimated_seconds:.1f}s for {self.total_requests:,} "
            f"requests at {self.rate}"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class RequestRecord:
    """One request a push made (after the client's own retries)."""

    method: str
    path: str
    items: int
    http_status: int | None
    attempts: int
    elapsed: float
    outcome: str  #: ok, partial, failed, unknown, split (413: sent again in halves)
    round: int


@dataclass
class PushResult:
    """What happened to every row. ``frame`` is indexed like the edited frame."""

    resource: str
    frame: pd.DataFrame
    requests: list[RequestRecord]
    plan: Plan
    dry_run: bool
    elapsed: float
    reads: int = 0  #: GETs made to check conflicts and reconcile
    _ctx: _Context | None = field(default=None, repr=False)
    _rows: dict[int, int] = field(default_factory=dict, repr=False)
    _deletes: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status (every status present)."""
        got = self.frame["status"].value_counts()
        return {s: int(got.get(s, 0)) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """No row failed, conflicted or stayed unknown."""
        c = self.counts
        return c["failed"] == c["unknown"] == c["conflict"] == 0

    def failed(self) -> pd.DataFrame:
        """The rows that did not make it (failed, unknown, conflict)."""
        return self.frame[self.frame["status"].isin(["failed", "unknown", "conflict"])]

    def retry_failed(self, *, progress: bool = True) -> PushResult:
        """Push again only the rows whose status is ``failed`` (current values of the frame)."""
        if self._ctx is None:
            raise UsageError("this result cannot be retried (it came from a dry run)")
        st = self.frame["status"].to_numpy()
        rows = {k for k, slot in self._rows.items() if st[slot] == "failed"}
        deletes = {i for i, slot in self._deletes.items() if st[slot] == "failed"}
        return _run(
            self._ctx, only_rows=rows, only_deletes=deletes, progress=progress, dry_run=False
        )

    def _table(self) -> pd.DataFrame:
        return pd.crosstab(self.frame["action"], self.frame["status"])

    def __repr__(self) -> str:
        if self.dry_run:
            return "PushResult (dry run: nothing sent)\n" + repr(self.plan)
        c = self.counts
        n = len(self.frame)
        lines = [
            f"PushResult({self.resource}): {n:,} rows, {len(self.requests):,} write requests"
            f" + {self.reads:,} reads in {self.elapsed:.1f}s",
            "  " + "  ".join(f"{s} {c[s]:,}" for s in STATUSES),
        ]
        for action, row in self._table().iterrows():
            parts = ", ".join(f"{s} {int(v):,}" for s, v in row.items() if v)
            lines.append(f"  {action}: {parts}")
        bad = self.failed()
        if len(bad):
            lines.append(f"  not ok (first {min(5, len(bad))} of {len(bad):,}):")
            for rid, r in bad.head(5).iterrows():
                code = f" [{r['failedCode']}]" if not is_missing(r["failedCode"]) else ""
                http = f" {r['http_status']}" if not is_missing(r["http_status"]) else ""
                lines.append(f"    {rid} {r['action']} {r['status']}{http}: {r['message']}{code}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.dry_run:
            return "<pre>" + html.escape(repr(self)) + "</pre>"
        c = self.counts
        head = (
            f"<b>PushResult({html.escape(self.resource)})</b>: {len(self.frame):,} rows, "
            f"{len(self.requests):,} write requests + {self.reads:,} reads in "
            f"{self.elapsed:.1f}s<br>" + " · ".join(f"{s} <b>{c[s]:,}</b>" for s in STATUSES)
        )
        body = self._table().to_html()
        bad = self.failed()
        if len(bad):
            body += "<p>not ok (first 20):</p>" + bad.head(20).to_html()
        return head + body


# --- the internal state of a push -------------------------------------------------------------


@dataclass
class _Options:
    replace: bool
    create: bool
    delete: bool
    check_conflicts: bool
    max_request_bytes: int


@dataclass
class _Context:
    """Everything a push needs again for :meth:`PushResult.retry_failed`."""

    edited: pd.DataFrame
    spec: ResourceSpec
    snapshot: Snapshot
    source: SnapshotSource
    options: _Options
    client: Client
    #: column -> (API type, enum) of the last comparison
    ftypes: dict[str, tuple[FieldType, tuple[str, ...]]] = field(default_factory=dict)
    journal: PushJournal | None = None


@dataclass
class _Item:
    """One row's write."""

    slot: int  #: row of the result table
    id: str | None
    action: Action
    body: dict[str, Any]
    intended: dict[str, Any]  #: column -> canonical value the server should end up with
    old: dict[str, Any]  #: column -> canonical snapshot value (UNKNOWN if not known)
    size: int = 0
    slot_row: int = -1  #: the row of the edited frame (-1: a row to delete)
    key: str = ""  #: the row in a journal: its id, or its label (or position) to create
    hash: str = ""  #: the write's fingerprint (:func:`milekit.writes.journal.body_hash`)


@dataclass
class _Slots:
    """The result table under construction (one slot per row)."""

    ids: list[str | None]
    action: list[str]
    status: list[str]
    http: list[int | None]
    message: list[str | None]
    code: list[str | None]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(
        self,
        slot: int,
        status: str,
        message: str | None = None,
        http: int | None = None,
        code: str | None = None,
    ) -> None:
        with self.lock:
            self.status[slot] = status
            self.message[slot] = message
            self.http[slot] = http
            self.code[slot] = code

    def frame(self, id_field: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "action": pd.array(self.action, dtype="string"),
                "status": pd.array(self.status, dtype="string"),
                "http_status": pd.array(self.http, dtype="Int64"),
                "message": pd.array(self.message, dtype="string"),
                "failedCode": pd.array(self.code, dtype="string"),
            },
            index=pd.Index(pd.array(self.ids, dtype="string"), name=id_field),
        )


# --- the public function ------------------------------------------------------------------------


def push(
    edited: pd.DataFrame,
    resource: str | None = None,
    *,
    original: pd.DataFrame | None = None,
    dry_run: bool = False,
    replace: bool = False,
    create: bool = False,
    delete: bool = False,
    check_conflicts: bool = False,
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
        original: the snapshot to diff against when ``edited`` has none.
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
        progress: a progress bar when someone is watching (terminal or notebook).
        client: default: :func:`milekit.get_client`.
        max_request_bytes: cap on one request body (chunks split below it).
        journal: a file recording each row's write as it is sent and answered
            (:mod:`milekit.writes.journal`): the same push run again after an interruption sends
            no row twice (rows written are reported ``ok``, rows in doubt are read back
            first). The CLI keeps one beside the edits file.

    Ctrl-C stops sending and raises :class:`PushInterrupted` (a ``KeyboardInterrupt``)
    whose ``result`` says what was sent, what is unknown and what was not sent.
    """
    if resource is not None:
        registry.get(resource)  # an unknown name fails before anything else
    if max_request_bytes < 1024:
        raise UsageError("max_request_bytes must be at least 1024")
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
    ctx = _Context(
        edited=edited,
        spec=spec,
        snapshot=snap,
        source=source,
        options=_Options(replace, create, delete, check_conflicts, max_request_bytes),
        client=client or get_client(),
        journal=PushJournal(journal, spec.name) if journal is not None else None,
    )
    return _run(ctx, only_rows=None, only_deletes=None, progress=progress, dry_run=dry_run)


def fetch_original(
    edited: pd.DataFrame, resource: str = "tasks", *, client: Client | None = None
) -> pd.DataFrame:
    """The server's current rows for the ids of ``edited``, typed like a fetched frame.

    For pushing a frame that has no snapshot (a file) without the file it came from:
    ``push(edited, original=fetch_original(edited))`` writes what differs from the server
    now. Ids the server does not have are left out (rows to create).

    >>> import milekit
    >>> with milekit.Sandbox(tasks=5) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     df = milekit.tasks_frame(client=c, progress=False)
    ...     now = fetch_original(df[["title"]], client=c)
    >>> now.equals(df[["title"]])
    True
    """
    client = client or get_client()
    from milekit.reads.frames import read_plan
    from milekit.writes.diff import _id_values

    # typed as frames type it: custom columns from their flow / data type definitions
    spec = read_plan(registry.get(resource), {}, client).spec
    idf = spec.id_field

    values = _id_values(edited, idf)
    if values is None:
        raise UsageError(f"the frame has no {idf!r} index or column")
    ids = [i for i in dict.fromkeys(values) if i is not None]
    columns = [str(c) for c in edited.columns if c != idf]
    docs = _Reader(client, spec).read_back(ids, columns)
    unread = [i for i in ids if i not in docs]
    if unread:
        raise MileError(f"could not read {len(unread)} of {len(ids)} rows back (e.g. {unread[0]})")
    keys = [idf, *columns]
    rows = [{k: d.get(k) for k in keys} for i in ids if (d := docs[i]) is not None]
    table = schema.rows_to_table(rows, spec, columns=keys)
    return schema.to_pandas(table, index=idf)


# --- planning -------------------------------------------------------------------------------------


def _writable(spec: ResourceSpec, column: str) -> bool:
    f = spec._by_name.get(column)
    return f is None or f.writable


def _run(
    ctx: _Context,
    *,
    only_rows: set[int] | None,
    only_deletes: set[str] | None,
    progress: bool,
    dry_run: bool,
) -> PushResult:
    t0 = time.perf_counter()
    spec, opts, edited = ctx.spec, ctx.options, ctx.edited
    changes = compare(edited, ctx.snapshot, ctx.source)
    ctx.ftypes = changes.ftypes
    problems = list(changes.problems)

    # which rows do what
    row_action: dict[int, Action] = {}
    skipped: dict[int, str] = {}
    new_rows = set(changes.new_rows)
    for k in range(len(changes.ids)):
        if only_rows is not None and k not in only_rows:
            continue
        if k in new_rows:
            if opts.create:
                row_action[k] = "create"
            else:
                skipped[k] = "no known id: pass create=True to create it"
                row_action[k] = "create"
        elif k in changes.cells:
            # no PATCH endpoint (hubs, teams, flows …): the row goes whole, by its update path
            partial = spec.patch_path is not None or spec.bulk_update_path is not None
            row_action[k] = "put" if opts.replace or not partial else "patch"
        else:
            row_action[k] = "none"
    deletes: list[str] = []
    skipped_deletes: list[str] = []
    if changes.source != "derived":
        for i in changes.missing:
            if only_deletes is not None and i not in only_deletes:
                continue
            (deletes if opts.delete else skipped_deletes).append(i)

    # validation
    flows = _Flows(ctx.client)
    written = [k for k, a in row_action.items() if a != "none" and k not in skipped]
    full_rows = [k for k in written if row_action[k] in ("put", "create")]
    full_values, type_errors = _row_values(edited, full_rows, changes)
    problems += type_errors
    _validate(ctx, changes, row_action, written, full_values, flows, problems)
    if problems:
        raise PushValidationError(spec.name, list(dict.fromkeys(problems)))

    # the result table: edited rows (in order), then the rows to delete
    slot_of: dict[int, int] = {}
    ids: list[str | None] = []
    for k in sorted(row_action):
        slot_of[k] = len(ids)
        ids.append(changes.ids[k])
    del_slot: dict[str, int] = {}
    for i in deletes + skipped_deletes:
        del_slot[i] = len(ids)
        ids.append(i)
    n = len(ids)
    slots = _Slots(
        ids=ids,
        action=["none"] * n,
        status=["ok"] * n,
        http=[None] * n,
        message=[None] * n,
        code=[None] * n,
    )
    for k, a in row_action.items():
        s = slot_of[k]
        slots.action[s] = a
        if k in skipped:
            slots.status[s], slots.message[s] = "skipped", skipped[k]
        elif a == "none":
            slots.message[s] = "unchanged"
    for i in deletes + skipped_deletes:
        s = del_slot[i]
        slots.action[s] = "delete"
        if i in skipped_deletes:
            slots.status[s] = "skipped"
            slots.message[s] = "missing from the edited frame: pass delete=True to delete it"

    items = _build_items(ctx, changes, row_action, written, full_values, slot_of, flows)
    items += [_Item(del_slot[i], i, "delete", {spec.id_field: i}, {}, {}) for i in deletes]
    keys = _row_keys(edited, changes)
    for it in items:
        it.size = len(orjson.dumps(it.body, option=orjson.OPT_NON_STR_KEYS))
        it.key = it.id if it.id is not None else keys.get(it.slot_row, f"#{it.slot}")
        it.hash = body_hash(it.action, it.body)
    plan = _plan(ctx, items, changes, written, row_action, skipped, skipped_deletes)
    if dry_run:
        for it in items:
            slots.set(it.slot, "skipped", "dry run: not sent")
        return PushResult(spec.name, slots.frame(spec.id_field), [], plan, True, 0.0)

    run = _Runner(ctx, slots)
    interrupted = run.go(items, progress)
    created = {it.slot: it.id for it in items if it.action == "create" and it.id}
    _advance_snapshot(ctx, changes, slots, slot_of, del_slot, created)
    result = PushResult(
        spec.name,
        slots.frame(spec.id_field),
        list(run.records),
        plan,
        False,
        time.perf_counter() - t0,
        reads=run.reads,
        _ctx=ctx,
        _rows=slot_of,
        _deletes=del_slot,
    )
    if interrupted:
        raise PushInterrupted(result)
    return result


def _row_keys(edited: pd.DataFrame, changes: Changes) -> dict[int, str]:
    """Row -> its key in a journal when it has no id yet (a row to create): the frame's
    index label when it has one (a placeholder such as "new-1"), else its position."""
    out: dict[int, str] = {}
    for k in changes.new_rows:
        label = edited.index[k]
        out[k] = f"#{k}" if is_missing(label) else f"label:{label}"
    return out


class _Flows:
    """Flow components by flow name, read once per push (``GET /flows``) when needed."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._components: dict[str, dict[str, dict[str, Any]]] | None = None
        self.error: str | None = None

    def components(self) -> dict[str, dict[str, dict[str, Any]]] | None:
        if self._components is None and self.error is None:
            try:
                self._components = _read_flows(self.client)
            except MileError as e:
                self.error = str(e)
        return self._components


def _read_flows(client: Client) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    page = 1
    while True:
        body = client.request("GET", "/flows", params={"limit": 1000, "page": page}).body
        inner = envelope.unwrap(body, "flows")
        rows = inner.get("data") if isinstance(inner, dict) else inner
        if not isinstance(rows, list):
            raise ResponseError("cannot find the flows in the GET /flows answer")
        for flow in rows:
            if not isinstance(flow, dict) or not isinstance(flow.get("name"), str):
                continue
            comps: dict[str, dict[str, Any]] = {}
            for pg in flow.get("pages") or []:
                for c in (pg or {}).get("components") or []:
                    if isinstance(c, dict) and isinstance(c.get("id"), str):
                        comps[c["id"]] = c
            out[flow["name"]] = comps
        last = inner.get("last_page") if isinstance(inner, dict) else None
        if not isinstance(last, int) or page >= last:
            return out
        page += 1


def _component_problem(comp: dict[str, Any], value: Any) -> str | None:
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


def _validate(
    ctx: _Context,
    changes: Changes,
    row_action: dict[int, Action],
    written: list[int],
    full_values: dict[int, dict[str, Any]],
    flows: _Flows,
    problems: list[Problem],
) -> None:
    spec, edited = ctx.spec, ctx.edited
    known = spec._by_name
    snap_cols = set(ctx.snapshot.table.column_names)
    full_rows = [k for k in written if row_action[k] in ("put", "create")]
    if spec.name == "tasks":  # custom columns are the components of each row's flow
        custom_cols = [c for c in changes.columns if c not in known]
        new_custom = [c for c in custom_cols if c not in snap_cols]
        need_flows = bool(new_custom)
        # which custom columns carry a value to write, per row
        per_row_custom: dict[int, list[str]] = {}
        for k in written:
            if row_action[k] in ("put", "create"):
                continue
            cols = [c for c in changes.cells.get(k, {}) if c not in known]
            if cols:
                per_row_custom[k] = cols
        for k in full_rows:
            cols = [c for c in custom_cols if full_values[k].get(c) is not None]
            if cols:
                per_row_custom[k] = cols
        need_flows = need_flows or bool(per_row_custom)
        comps = flows.components() if need_flows else None
        if need_flows and comps is None:
            # cannot read the flows: at least require the column to be in the snapshot
            for c in new_custom:
                problems.append(
                    Problem(
                        "unknown column (not a documented field, not in the original frame, and "
                        f"the flows could not be read: {flows.error})",
                        c,
                    )
                )
        if comps is not None:
            all_components = {cid for comp in comps.values() for cid in comp}
            for c in new_custom:
                if c not in all_components:
                    problems.append(
                        Problem("unknown column (not a documented field nor a flow component)", c)
                    )
            flow_of = _flows_of_rows(edited, changes, list(per_row_custom))
            for k, cols in per_row_custom.items():
                fname = flow_of.get(k)
                comp_map = comps.get(fname) if fname is not None else None
                for c in cols:
                    if c not in all_components:
                        continue  # reported above
                    if comp_map is None:
                        problems.append(
                            Problem(f"the row's flow {fname!r} is unknown", "flow", changes.ids[k])
                        )
                        break
                    if c not in comp_map:
                        problems.append(
                            Problem(
                                f"not a component of the row's flow {fname!r}", c, changes.ids[k]
                            )
                        )
                        continue
                    if row_action[k] in ("put", "create"):
                        value = full_values[k].get(c)
                    else:
                        value = changes.cells[k][c][1]
                    why = _component_problem(comp_map[c], value)
                    if why is not None:
                        problems.append(Problem(why, c, changes.ids[k]))
    elif not spec.dynamic_fields:
        # a key the API does not document would be ignored by it: refuse, never drop it
        for k in written:
            for c in changes.cells.get(k, {}):
                if c not in known:
                    problems.append(
                        Problem(
                            f"not a documented field of {spec.name} (the API would ignore it)",
                            c,
                            changes.ids[k],
                        )
                    )
    # read-only columns edited (existing rows)
    for k in written:
        if row_action[k] == "create":
            continue
        for c in changes.cells.get(k, {}):
            if not _writable(spec, c):
                problems.append(
                    Problem("read-only column edited (the server sets it)", c, changes.ids[k])
                )
    problems += _cleared_required(spec, changes, row_action, written)
    problems += _edited_ids(changes)
    # required fields and value types on whole rows
    for k in full_rows:
        values = full_values[k]
        for name in spec.required_on_create:
            if values.get(name) is None:
                what = "create" if row_action[k] == "create" else "replace"
                problems.append(Problem(f"required on {what}", name, changes.ids[k]))


def _cleared_required(
    spec: ResourceSpec, changes: Changes, row_action: dict[int, Action], written: list[int]
) -> list[Problem]:
    """A required field (``flow``, ``hubId``) cleared by an update: the server refuses it."""
    out: list[Problem] = []
    for k in written:
        if row_action[k] != "patch":
            continue
        for name in spec.required_on_create:
            cell = changes.cells.get(k, {}).get(name)
            if cell is not None and cell[1] is None:
                out.append(Problem("required: it cannot be cleared", name, changes.ids[k]))
    return out


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


def _flows_of_rows(
    edited: pd.DataFrame, changes: Changes, rows: list[int]
) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    if not rows:
        return out
    if "flow" in edited.columns:
        col = edited["flow"]
        for k in rows:
            v = col.iloc[k]
            out[k] = None if is_missing(v) else str(v)
        return out
    snap = changes.snapshot.table
    if "flow" in snap.column_names:
        flows = snap.column("flow")
        for k in rows:
            p = changes.old_pos[k]
            v = flows[p].as_py() if p >= 0 else None
            out[k] = None if v is None else str(v)
        return out
    return {k: None for k in rows}


def _row_values(
    edited: pd.DataFrame, rows: list[int], changes: Changes
) -> tuple[dict[int, dict[str, Any]], list[Problem]]:
    """Canonical values of whole rows (for replace/create), and the values that do not fit."""
    out: dict[int, dict[str, Any]] = {k: {} for k in rows}
    problems: list[Problem] = []
    if not rows:
        return out, problems
    for c in changes.columns:
        ft, enum = changes.ftypes[c]
        values = edited[c].iloc[rows].tolist()
        for k, v in zip(rows, values, strict=True):
            try:
                out[k][c] = canonical(v, ft, enum)
            except ValueError as e:
                out[k][c] = None
                problems.append(Problem(str(e), c, changes.ids[k]))
    return out, problems


def _build_items(
    ctx: _Context,
    changes: Changes,
    row_action: dict[int, Action],
    written: list[int],
    full_values: dict[int, dict[str, Any]],
    slot_of: dict[int, int],
    flows: _Flows,
) -> list[_Item]:
    spec = ctx.spec
    idf = spec.id_field
    known = spec._by_name
    full_rows = [k for k in written if row_action[k] in ("put", "create")]
    old_full = _snapshot_rows(changes, [k for k in full_rows if changes.old_pos[k] >= 0])
    comps = flows.components() if flows._components is not None else None
    flow_of = _flows_of_rows(ctx.edited, changes, full_rows) if full_rows else {}
    items: list[_Item] = []
    for k in written:
        action = row_action[k]
        rid = changes.ids[k]
        if action == "patch":
            cells = changes.cells[k]
            body: dict[str, Any] = {idf: rid}
            intended: dict[str, Any] = {}
            old: dict[str, Any] = {}
            for c, (o, v) in cells.items():
                ft = changes.ftypes[c][0]
                body[c] = wire(v, ft)
                intended[c] = v
                old[c] = o
            for key in spec.bulk_match:  # what bulk updates are matched by (data, note 43)
                if key not in body and key in ctx.edited.columns:
                    v = ctx.edited[key].iloc[k]
                    if isinstance(v, str):
                        body[key] = v
            items.append(_Item(slot_of[k], rid, action, body, intended, old, slot_row=k))
            continue
        values = full_values[k]
        fname = flow_of.get(k)
        comp_map = comps.get(fname) if comps is not None and fname is not None else None
        body = {idf: rid} if action == "put" else {}
        intended = {}
        for c in changes.columns:
            if not _writable(spec, c) or (c not in known and not spec.dynamic_fields):
                continue
            v = values.get(c)
            if c not in known and comp_map is not None and c not in comp_map:
                continue  # another flow's component (NA on this row: validated)
            intended[c] = v
            if v is not None:
                body[c] = wire(v, changes.ftypes[c][0])
        old = {c: old_full.get(k, {}).get(c, UNKNOWN) for c in intended}
        rid = rid if action == "put" else None
        items.append(_Item(slot_of[k], rid, action, body, intended, old, slot_row=k))
    return items


def _snapshot_rows(changes: Changes, rows: list[int]) -> dict[int, dict[str, Any]]:
    """Canonical snapshot values of whole rows."""
    from milekit.types.encode import canonical_column

    out: dict[int, dict[str, Any]] = {k: {} for k in rows}
    if not rows:
        return out
    table = changes.snapshot.table
    take = pa.array([changes.old_pos[k] for k in rows], pa.int64())
    for c in changes.columns:
        if c not in table.column_names:
            continue
        vals = canonical_column(table.column(c).take(take), changes.ftypes[c][0])
        for k, v in zip(rows, vals, strict=True):
            out[k][c] = v
    return out


def _plan(
    ctx: _Context,
    items: list[_Item],
    changes: Changes,
    written: list[int],
    row_action: dict[int, Action],
    skipped: dict[int, str],
    skipped_deletes: list[str],
) -> Plan:
    counts: dict[str, int] = {a: 0 for a in ACTIONS}
    for k, a in row_action.items():
        if k not in skipped:
            counts[a] += 1
    counts["delete"] = sum(1 for it in items if it.action == "delete")
    reasons: dict[str, int] = {}
    for why in skipped.values():
        reasons[why] = reasons.get(why, 0) + 1
    if skipped_deletes:
        reasons["missing from the edited frame: pass delete=True to delete them"] = len(
            skipped_deletes
        )
    kinds: dict[tuple[str, str], list[int]] = {}
    for chunk in _chunks(ctx.spec, items, ctx.options.max_request_bytes):
        agg = kinds.setdefault((chunk.method, chunk.path_label), [0, 0, 0])
        agg[0] += 1
        agg[1] += len(chunk.items)
        agg[2] += chunk.bytes
    requests = [PlannedRequest(m, p, a[0], a[1], a[2]) for (m, p), a in kinds.items()]
    n_requests = sum(r.requests for r in requests)
    limiter = ctx.client.limiter
    rate = (
        f"{limiter.limit} req/{limiter.period:g}s"
        if limiter is not None
        else "no client-side limit"
    )
    sent_rows = set(written)
    cells = {k: v for k, v in changes.cells.items() if k in sent_rows}
    view = Changes(**{**changes.__dict__, "cells": cells})
    return Plan(
        resource=ctx.spec.name,
        requests=requests,
        rows=counts,
        skipped=reasons,
        estimated_seconds=estimate_seconds(n_requests, limiter),
        rate=rate,
        cells=sum(len(v) for v in cells.values()),
        _changes=view,
    )


# --- chunks ---------------------------------------------------------------------------------------

_METHOD: dict[str, str] = {"patch": "PATCH", "put": "PUT", "create": "POST", "delete": "DELETE"}


@dataclass
class _Chunk:
    method: str
    path: str
    path_label: str  #: the path with ``{id}`` left in (for plans)
    bulk: bool
    action: Action
    items: list[_Item]
    bytes: int


def _verb(action: Action) -> str:
    return {"create": "create", "patch": "update", "put": "replace", "delete": "delete"}[action]


def _bulk_path(spec: ResourceSpec, action: Action) -> str | None:
    if action == "patch":
        return spec.bulk_update_path
    if action == "put":
        return spec.bulk_replace_path
    if action == "create":
        return spec.bulk_create_path
    if action == "delete":
        return spec.bulk_delete_path
    return None


def _chunks(spec: ResourceSpec, items: Iterable[_Item], max_bytes: int) -> list[_Chunk]:
    by_action: dict[Action, list[_Item]] = {}
    for it in items:
        by_action.setdefault(it.action, []).append(it)
    out: list[_Chunk] = []
    for action in ("delete", "patch", "put", "create"):
        group = by_action.get(action)  # type: ignore[call-overload]
        if not group:
            continue
        method = _METHOD[action]
        path = _bulk_path(spec, action)
        if path is not None:
            cur: list[_Item] = []
            size = _WIRE_OVERHEAD
            for it in group:
                if cur and (len(cur) >= spec.bulk_max or size + it.size + 1 > max_bytes):
                    out.append(_Chunk(method, path, path, True, action, cur, size))
                    cur, size = [], _WIRE_OVERHEAD
                cur.append(it)
                size += it.size + 1
            if cur:
                out.append(_Chunk(method, path, path, True, action, cur, size))
            continue
        # no bulk endpoint: one request per object, on the path the registry gives
        template = {
            "create": spec.create_path,
            "patch": spec.patch_path,
            "put": spec.update_path,
            "delete": spec.delete_path,
        }[action]
        if template is None:
            raise UsageError(f"{spec.name}: the API has no endpoint to {_verb(action)} one")
        if action == "put":
            method = spec.update_method  # app integrations update with POST
        for it in group:
            p = template.replace("{id}", quote(str(it.id), safe=""))
            out.append(_Chunk(method, p, template, False, action, [it], it.size))
    return out


# --- sending and reconciling -----------------------------------------------------------------


class _Reader:
    """Reads rows back by id: one GET each, or the list endpoint when that is cheaper.

    Each read has a short retry budget (:data:`READ_BACK_BUDGET`), and the first read
    the server does not answer at all within it (it is down) stops the others: ``down``
    then holds that error and the rows stay unread (a dead server is not asked again and
    again).
    """

    def __init__(self, client: Client, spec: ResourceSpec) -> None:
        self.client = client
        self.spec = spec
        self.reads = 0
        self.down: MileError | None = None
        self._lock = threading.Lock()
        self._retry = dataclasses.replace(
            client.retry, budget=min(client.retry.budget, READ_BACK_BUDGET)
        )

    def read_back(self, ids: list[str], columns: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Server documents by id (None: not found); ids that could not be read are absent."""
        out: dict[str, dict[str, Any] | None] = {}
        ids = list(dict.fromkeys(ids))
        rest = ids
        if len(ids) > _PER_ID_READS:
            rest = self._read_list(ids, columns, out)
        self._read_each(rest, out)
        return out

    def _read_list(
        self, ids: list[str], columns: Sequence[str], out: dict[str, dict[str, Any] | None]
    ) -> list[str]:
        spec = self.spec
        try:
            probe = self.client.request(
                "GET",
                spec.list_path,
                params={"limit": 1, "page": 1, "fields": spec.id_field},
                retry=self._retry,
            )
            with self._lock:
                self.reads += 1
            total = envelope.list_page(probe.body, spec, 1).total
        except TransportError as e:  # no answer within the budget: the server is down
            self.down = self.down or e
            return ids
        except MileError:
            return ids
        if total is None or math.ceil(total / spec.max_limit) >= len(ids):
            return ids
        wanted = set(ids)
        fields = ",".join(dict.fromkeys([spec.id_field, *columns]))
        try:
            for page in self.client.pages(spec, {"fields": fields}):
                with self._lock:
                    self.reads += 1
                for row in page.rows:
                    rid = row.get(spec.id_field)
                    if rid in wanted:
                        out[str(rid)] = row
        except MileError:
            pass
        # not seen: deleted, or skipped while offsets shifted; ask for each
        return [i for i in ids if i not in out]

    def _read_each(self, ids: list[str], out: dict[str, dict[str, Any] | None]) -> None:
        spec = self.spec

        def one(i: str) -> tuple[str, dict[str, Any] | None, bool]:
            if self.down is not None:
                return i, None, False
            path = spec.detail_path.replace("{id}", quote(i, safe=""))
            try:
                resp = self.client.request("GET", path, retry=self._retry)
            except NotFoundError:
                return i, None, True
            except TransportError as e:
                self.down = self.down or e  # no answer within the budget: it is down
                return i, None, False
            except MileError:
                return i, None, False
            finally:
                with self._lock:
                    self.reads += 1
            doc = envelope.unwrap(resp.body, spec.envelope_one)
            return i, doc if isinstance(doc, dict) else None, isinstance(doc, dict)

        if not ids:
            return
        workers = max(1, min(self.client.max_workers, len(ids)))
        with ThreadPoolExecutor(workers, thread_name_prefix="milekit-read") as pool:
            for i, doc, known in pool.map(one, ids):
                if known:
                    out[i] = doc


class _Runner:
    def __init__(self, ctx: _Context, slots: _Slots) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.client = ctx.client
        self.slots = slots
        self.records: list[RequestRecord] = []
        self.reader = _Reader(ctx.client, ctx.spec)
        self.round = 0
        self.bar: Callable[[int], None] = lambda n: None
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()  #: slots of rows whose request is on its way
        self._sent: set[int] = set()  #: slots of rows sent at least once
        self._stopped = False  #: Ctrl-C: nothing more is sent

    @property
    def reads(self) -> int:
        return self.reader.reads

    # -- the loop ----------------------------------------------------------------------------

    def go(self, items: list[_Item], progress: bool) -> bool:
        """Send ``items`` (after what a journal knows of them); True when Ctrl-C stopped
        it, with every row's status saying what became of it."""
        for it in items:  # until it is settled (a row Ctrl-C kept from the wire stays so)
            self.slots.set(it.slot, "skipped", "not sent")
        doubtful: list[_Item] = []
        if self.ctx.journal is not None:
            items, doubtful = self._from_journal(items)
        if self.ctx.options.check_conflicts:
            items = self.check_conflicts(items)
        try:
            with _progress(len(items) + len(doubtful), progress) as bar:
                self.bar = bar
                self.execute(items, doubtful)
        except KeyboardInterrupt:
            self._interrupted(items + doubtful)
            return True
        return False

    def execute(self, items: list[_Item], doubtful: Sequence[_Item] = ()) -> None:
        """Rounds of send -> reconcile; ``doubtful`` rows are read back before any send."""
        pending: list[_Item] = items
        unread: list[_Item] = list(doubtful)
        for self.round in range(1, MAX_ROUNDS + 1):
            chunks = _chunks(self.spec, pending, self.ctx.options.max_request_bytes)
            unknown: list[_Item] = list(unread)
            for got in self._map(self._send, chunks):
                unknown.extend(got)
            if not unknown:
                return
            pending, unread = self.reconcile(unknown, last=self.round == MAX_ROUNDS)
            self._journal(unknown)
            if not pending and not unread:
                return

    def _map(
        self, fn: Callable[[_Chunk], list[_Item]], work: Sequence[_Chunk]
    ) -> list[list[_Item]]:
        """``fn`` of every chunk on worker threads. Ctrl-C stops waiting and sends nothing
        more; a request already on its way finishes in its thread (and its answer goes
        to the journal)."""
        if not work:
            return []
        cap = BULK_IN_FLIGHT if all(w.bulk for w in work) else self.client.max_workers
        pool = ThreadPoolExecutor(max(1, min(cap, len(work))), thread_name_prefix="milekit-push")
        futures = [pool.submit(fn, w) for w in work]
        try:
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _interrupted(self, items: list[_Item]) -> None:
        """After Ctrl-C: rows on their way are ``unknown``, rows never sent ``skipped``."""
        with self._lock:
            self._stopped = True  # a chunk a worker took but did not start stays unsent
            flying, sent = set(self._in_flight), set(self._sent)
        for it in items:
            if it.slot in flying:
                self.slots.set(
                    it.slot,
                    "unknown",
                    "in flight when the push was interrupted: it may have been applied",
                )
            elif it.slot not in sent and self.slots.status[it.slot] == "skipped":
                self.slots.set(it.slot, "skipped", "not sent: the push was interrupted")

    def _from_journal(self, items: list[_Item]) -> tuple[list[_Item], list[_Item]]:
        """Rows to send, and rows to read back first (an earlier push sent the same write
        and did not learn its fate); rows the journal has as written are ``ok``."""
        assert self.ctx.journal is not None
        send: list[_Item] = []
        doubtful: list[_Item] = []
        for it in items:
            e = self.ctx.journal.last(it.key)
            if e is None or e.hash != it.hash or e.status not in ("ok", "sent", "unknown"):
                send.append(it)
            elif e.status == "ok":
                it.id = e.id if it.action == "create" and e.id else it.id
                self.slots.set(it.slot, "ok", f"{_ok_message(it)} by an earlier push (journal)")
            elif it.action == "create":  # no id to read it back by: never sent twice
                self.slots.set(
                    it.slot,
                    "unknown",
                    "an earlier push sent this create and was interrupted: it may exist; "
                    "check, then edit the row or the journal",
                )
            else:
                msg = "an earlier push sent it and was interrupted: read back first"
                self.slots.set(it.slot, "unknown", msg)
                doubtful.append(it)
        return send, doubtful

    def _journal(self, items: Iterable[_Item], status: str | None = None) -> None:
        """Record ``items`` (their current status, or ``status``) in the journal."""
        j = self.ctx.journal
        if j is None:
            return
        st, msg = self.slots.status, self.slots.message
        j.record_many(
            [
                (
                    it.key,
                    it.action,
                    it.hash,
                    status or st[it.slot],
                    it.id if it.action == "create" else None,
                    None if status else msg[it.slot],
                )
                for it in items
            ]
        )

    def _record(
        self, chunk: _Chunk, http: int | None, attempts: int, t0: float, outcome: str
    ) -> None:
        rec = RequestRecord(
            chunk.method,
            chunk.path_label,
            len(chunk.items),
            http,
            attempts,
            time.perf_counter() - t0,
            outcome,
            self.round,
        )
        with self._lock:
            self.records.append(rec)

    # -- one request -------------------------------------------------------------------------

    def _send(self, chunk: _Chunk) -> list[_Item]:
        """Send one chunk; settle its rows (and journal them before and after); return the
        rows whose fate is unknown."""
        slots = {it.slot for it in chunk.items}
        with self._lock:  # the same lock as Ctrl-C's: either it is sent and says so, or not
            if self._stopped:
                return []
            self._in_flight |= slots
            self._sent |= slots
        self._journal(chunk.items, "sent")
        try:
            return self._send_chunk(chunk)
        finally:
            with self._lock:
                self._in_flight -= slots
            self._journal(chunk.items)

    def _send_chunk(self, chunk: _Chunk) -> list[_Item]:
        key = self.spec.bulk_key or self.spec.envelope_list
        payload: Any
        if chunk.bulk:
            payload = {key: [it.body for it in chunk.items]}
            if chunk.action == "create":
                payload = {"background": False, key: payload[key]}
        else:
            body = dict(chunk.items[0].body)
            if chunk.action != "create":
                body.pop(self.spec.id_field, None)
            payload = body if chunk.action != "delete" else None
        t0 = time.perf_counter()
        try:
            resp = self.client.request(chunk.method, chunk.path, json=payload)
        except PayloadTooLargeError as e:
            if len(chunk.items) > 1:
                self._record(chunk, e.status, 1, t0, "split")
                half = len(chunk.items) // 2
                out: list[_Item] = []
                for part in (chunk.items[:half], chunk.items[half:]):
                    size = _WIRE_OVERHEAD + sum(it.size + 1 for it in part)
                    sub = _Chunk(
                        chunk.method, chunk.path, chunk.path_label, True, chunk.action, part, size
                    )
                    out += self._send_chunk(sub)
                return out
            return self._fail(chunk, t0, e)
        except ApiError as e:
            if _not_applied(e):
                return self._fail(chunk, t0, e)
            return self._unknown(chunk, t0, e.status, f"{e.status} {e.api_message}")
        except TransportError as e:
            if not e.sent:
                return self._fail(chunk, t0, e)
            return self._unknown(chunk, t0, None, f"no answer: {e.message}")
        except ResponseError as e:
            return self._unknown(chunk, t0, None, e.message)
        except MileError as e:  # refused before sending (e.g. a body the client rejects)
            return self._fail(chunk, t0, e)
        if chunk.bulk:
            unknown = self._settle_bulk(chunk, resp.status, resp.body)
        else:
            unknown = []
            it = chunk.items[0]
            if chunk.action == "create":
                doc = envelope.unwrap(resp.body, self.spec.envelope_one)
                new_id = doc.get(self.spec.id_field) if isinstance(doc, dict) else None
                it.id = str(new_id) if new_id is not None else None
            self.slots.set(it.slot, "ok", _ok_message(it), resp.status)
        outcome = "ok" if not unknown else "unknown"
        if any(self.slots.status[it.slot] == "failed" for it in chunk.items):
            outcome = "partial"
        self._record(chunk, resp.status, resp.attempts, t0, outcome)
        self.bar(len(chunk.items) - len(unknown))
        return unknown

    def _fail(self, chunk: _Chunk, t0: float, e: MileError) -> list[_Item]:
        status = e.status if isinstance(e, ApiError) else None
        code = e.failed_code if isinstance(e, ApiError) else None
        msg = e.api_message if isinstance(e, ApiError) else e.message
        for it in chunk.items:
            self.slots.set(it.slot, "failed", msg, status, code)
        self._record(chunk, status, 1, t0, "failed")
        self.bar(len(chunk.items))
        return []

    def _unknown(self, chunk: _Chunk, t0: float, status: int | None, msg: str) -> list[_Item]:
        for it in chunk.items:
            self.slots.set(it.slot, "unknown", msg, status)
        self._record(chunk, status, 1, t0, "unknown")
        return list(chunk.items)

    def _settle_bulk(self, chunk: _Chunk, status: int, body: Any) -> list[_Item]:
        key = self.spec.envelope_list
        inner = body.get("response", body) if isinstance(body, dict) else body
        results = inner.get(key) if isinstance(inner, dict) else None
        items = chunk.items
        if isinstance(results, list) and len(results) == len(items):
            by_id = {
                r.get(self.spec.id_field): r
                for r in results
                if isinstance(r, dict) and r.get(self.spec.id_field) is not None
            }
            for it, r in zip(items, results, strict=True):
                if not isinstance(r, dict):
                    r = {}
                rid = r.get(self.spec.id_field)
                if it.action != "create" and it.id is not None and rid not in (None, it.id):
                    r = by_id.get(it.id, {})  # answers out of order: match by id
                ok = r.get("status") in (True, "true", "success", 1)
                msg = r.get("message")
                code = r.get("failedCode")
                if ok:
                    if it.action == "create" and rid is not None:
                        it.id = str(rid)
                    self.slots.set(it.slot, "ok", str(msg) if msg else _ok_message(it), status)
                else:
                    self.slots.set(
                        it.slot,
                        "failed",
                        str(msg) if msg else "the server did not apply this row",
                        status,
                        str(code) if code is not None else None,
                    )
            return []
        failed = inner.get("failed") if isinstance(inner, dict) else None
        failed_index = inner.get("failed_index") if isinstance(inner, dict) else None
        if isinstance(failed_index, list) and all(isinstance(i, int) for i in failed_index):
            bad = set(failed_index)
            for n, it in enumerate(items):
                if n in bad:
                    self.slots.set(it.slot, "failed", "the server did not apply this row", status)
                else:
                    self.slots.set(it.slot, "ok", _ok_message(it), status)
            return []
        if failed == 0 and all(it.action != "create" for it in items):
            for it in items:
                self.slots.set(it.slot, "ok", _ok_message(it), status)
            return []
        for it in items:  # an answer we cannot map to rows: read them back
            self.slots.set(it.slot, "unknown", "the answer does not say which rows applied", status)
        return list(items)

    # -- deciding ------------------------------------------------------------------------------

    def _compare(self, it: _Item, doc: dict[str, Any]) -> tuple[bool, bool, list[str]]:
        """(matches the intended values, matches the snapshot, columns that match neither)."""
        is_new = is_old = True
        neither: list[str] = []
        for c, want in it.intended.items():
            ft, enum = _ftype(self.ctx, c)
            try:
                have = coarse(canonical(doc.get(c), ft, enum), ft)
            except ValueError:
                have = doc.get(c)
            new_ok = have == coarse(want, ft)
            o = it.old.get(c, UNKNOWN)
            old_ok = o is not UNKNOWN and have == coarse(o, ft)
            is_new = is_new and new_ok
            is_old = is_old and (old_ok or new_ok)
            if not new_ok and not old_ok:
                neither.append(c)
        return is_new, is_old and not is_new, neither

    def reconcile(self, items: list[_Item], *, last: bool) -> tuple[list[_Item], list[_Item]]:
        """Settle unknown rows by reading them back: (rows to send again, rows not read)."""
        resend: list[_Item] = []
        unread: list[_Item] = []
        readable = [it for it in items if it.id is not None]
        for it in items:
            if it.id is None:  # a create whose answer was lost: it has no id to look for
                self.slots.set(
                    it.slot,
                    "unknown",
                    "the create may have been applied (its answer was lost); not sent again "
                    "to avoid a duplicate: check before retrying",
                    self.slots.http[it.slot],
                )
        columns = sorted({c for it in readable for c in it.intended})
        docs = self.reader.read_back([str(it.id) for it in readable], columns)
        if self.reader.down is not None:
            last = True  # the server does not answer: another round would only wait
        for it in readable:
            assert it.id is not None
            if it.id not in docs:
                unread.append(it)  # stays unknown; read again next round
                continue
            self.bar(1)
            doc = docs[it.id]
            if it.action == "delete":
                if doc is None:
                    self.slots.set(it.slot, "ok", "deleted (confirmed by reading back)")
                else:
                    resend.append(it)
                continue
            if doc is None:
                self.slots.set(it.slot, "failed", "not found on the server", 404)
                continue
            if it.action == "create":
                self.slots.set(it.slot, "ok", "created (confirmed by reading back)")
                continue
            is_new, is_old, neither = self._compare(it, doc)
            if is_new:
                self.slots.set(it.slot, "ok", f"{it.action} applied (confirmed by reading back)")
            elif is_old:
                resend.append(it)
            else:
                self.slots.set(
                    it.slot,
                    "conflict",
                    "changed on the server by someone else: " + ", ".join(neither),
                )
        if last:
            for it in resend:
                self.slots.set(
                    it.slot,
                    "failed",
                    f"not applied after {MAX_ROUNDS} attempts (read back: unchanged)",
                    self.slots.http[it.slot],
                )
            down = self.reader.down
            why = f" (the server does not answer: {down.message})" if down is not None else ""
            for it in unread:
                msg = self.slots.message[it.slot] or ""
                self.slots.set(
                    it.slot,
                    "unknown",
                    f"{msg}; could not be read back to confirm{why}",
                    self.slots.http[it.slot],
                )
            return [], []
        return resend, unread

    def check_conflicts(self, items: list[_Item]) -> list[_Item]:
        """Read the rows first; drop (as ``conflict``) those changed since the snapshot."""
        targets = [it for it in items if it.action in ("patch", "put") and it.id is not None]
        if not targets:
            return items
        columns = sorted({c for it in targets for c in it.intended})
        docs = self.reader.read_back([str(it.id) for it in targets], columns)
        refused: set[int] = set()
        for it in targets:
            assert it.id is not None
            if it.id not in docs:
                self.slots.set(it.slot, "failed", "could not re-read the row to check conflicts")
                refused.add(it.slot)
                continue
            doc = docs[it.id]
            if doc is None:
                self.slots.set(it.slot, "failed", "not found on the server", 404)
                refused.add(it.slot)
                continue
            changed = []
            for c, want in it.intended.items():
                o = it.old.get(c, UNKNOWN)
                if o is UNKNOWN:
                    continue
                ft, enum = _ftype(self.ctx, c)
                try:
                    have = coarse(canonical(doc.get(c), ft, enum), ft)
                except ValueError:
                    have = doc.get(c)
                if have != coarse(o, ft) and have != coarse(want, ft):
                    changed.append(f"{c} (snapshot {_brief(o, ft)}, server {_brief(have, ft)})")
            if changed:
                self.slots.set(
                    it.slot,
                    "conflict",
                    "changed on the server since the snapshot: " + "; ".join(changed),
                )
                refused.add(it.slot)
        return [it for it in items if it.slot not in refused]


def _brief(v: Any, ft: FieldType) -> str:
    if isinstance(v, int) and ft in (F.DATETIME, F.TIME) and not isinstance(v, bool):
        v = wire(v * 1_000_000 if v < 10**14 else v, ft)
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _ftype(ctx: _Context, column: str) -> tuple[FieldType, tuple[str, ...]]:
    got = ctx.ftypes.get(column)
    if got is None:
        from milekit.writes.diff import column_type

        got = ctx.ftypes[column] = column_type(column, ctx.spec, ctx.snapshot)
    return got


def _not_applied(e: ApiError) -> bool:
    """An error answer that proves the write was not applied."""
    if e.status == 503:
        return e.retry_after is not None  # "come back later"
    return 400 <= e.status < 500


def _ok_message(it: _Item) -> str:
    return {"patch": "updated", "put": "replaced", "create": "created", "delete": "deleted"}.get(
        it.action, "ok"
    )


# --- after the push -------------------------------------------------------------------------------


def _advance_snapshot(
    ctx: _Context,
    changes: Changes,
    slots: _Slots,
    slot_of: dict[int, int],
    del_slot: dict[str, int],
    created: dict[int, str],
) -> None:
    """Make what was written the frame's new snapshot; give created rows their ids."""
    edited, spec = ctx.edited, ctx.spec
    idf = spec.id_field
    if created:
        ids = list(changes.ids)
        for k, slot in slot_of.items():
            if created.get(slot):
                ids[k] = created[slot]
        new_ids = pd.array(ids, dtype="string")
        if edited.index.name == idf:
            edited.index = pd.Index(new_ids, name=idf)
        else:
            edited[idf] = new_ids
        for k, slot in slot_of.items():
            if slot in created:
                slots.ids[slot] = ids[k]
        changes.ids = ids
    took_edited: list[int] = []
    took_old: list[int] = []
    for k in range(len(changes.ids)):
        at = slot_of.get(k)
        st = slots.status[at] if at is not None else None
        if st == "ok" and changes.ids[k] is not None:
            took_edited.append(k)
        elif changes.old_pos[k] >= 0:
            took_old.append(changes.old_pos[k])
    if changes.source != "derived":
        for i in changes.missing:
            d = del_slot.get(i)
            if d is None or not (slots.action[d] == "delete" and slots.status[d] == "ok"):
                took_old.append(ctx.snapshot.positions[i])
    old = ctx.snapshot.table
    try:
        now = schema.from_pandas(edited, old.schema)
        parts = [
            now.take(pa.array(took_edited, pa.int64())),
            old.take(pa.array(took_old, pa.int64())),
        ]
        table = schema.unify(parts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        return  # keep the old snapshot: the next push re-sends nothing it should not
    snap = Snapshot(spec.name, table, idf)
    _register(edited, snap)
    ctx.snapshot = snap
    ctx.source = "frame"


class _progress:
    """A tqdm bar over rows written, shown only when someone is watching."""

    def __init__(self, total: int, enabled: bool) -> None:
        from milekit.notebook.progress import _interactive

        self.bar: Any = None
        self.lock = threading.Lock()
        if enabled and total and _interactive():
            from milekit.notebook.progress import _in_notebook

            if _in_notebook():
                from tqdm.notebook import tqdm
            else:
                from tqdm import tqdm
            self.bar = tqdm(total=total, desc="push", unit=" rows", file=sys.stderr)

    def __enter__(self) -> Callable[[int], None]:
        def update(n: int) -> None:
            if self.bar is not None and n:
                with self.lock:
                    self.bar.update(n)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
