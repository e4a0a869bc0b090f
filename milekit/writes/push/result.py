"""What a push tells: its plan, its result row by row, and why it refused to start.

>>> PlannedRequest("PATCH", "/tasks/bulk", 1, 3, 120).items
3
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from milekit.errors import UsageError
from milekit.types.encode import is_missing
from milekit.writes.diff import Changes, Problem, group_problems
from milekit.writes.push.model import STATUSES, RowPlan

if TYPE_CHECKING:
    from collections.abc import Sequence


class Rerun(Protocol):
    """Push some rows of a push again (:func:`milekit.writes.push.pipeline.run` for its
    context, given to the result by the run, which sits above this module)."""

    def __call__(self, rows: set[int], deletes: set[str], progress: bool) -> PushResult: ...


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


@dataclass(frozen=True)
class Revert:
    """A cell a push overwrites that the server changed since the file was read."""

    id: str
    column: str
    server: Any  #: the server's value now (what is undone)
    file: Any  #: the value written


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
    #: rows held back: changed on the server since the file was read (``overwrite=True``
    #: writes them)
    conflicts: int = 0
    #: cells written over a value the server changed since the file was read
    reverted: list[Revert] = field(default_factory=list)
    id_field: str = "_id"
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
    def reverts(self) -> pd.DataFrame:
        """The cells this push writes over a value changed on the server since the file
        was read (only with ``overwrite=True``): ``_id``, ``column``, ``server``, ``file``."""
        r = self.reverted
        return pd.DataFrame(
            {
                self.id_field: pd.array([x.id for x in r], dtype="string"),
                "column": pd.array([x.column for x in r], dtype="string"),
                "server": pd.Series([x.server for x in r], dtype=object),
                "file": pd.Series([x.file for x in r], dtype=object),
            }
        )

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
        if self.conflicts:
            lines.append(
                f"  conflicts: {self.conflicts:,} rows changed on the server since the file was "
                "read: not sent (overwrite=True writes them)"
            )
        if self.reverted:
            rows = len({x.id for x in self.reverted})
            lines.append(
                f"  would revert {len(self.reverted):,} cells in {rows:,} rows changed on the "
                "server since the file was read (plan.reverts lists them):"
            )
            for x in self.reverted[:5]:
                lines.append(f"    {x.id} {x.column}: server {x.server!r} -> file {x.file!r}")
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
    _rerun: Rerun | None = field(default=None, repr=False)
    _plans: list[RowPlan] = field(default_factory=list, repr=False)

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
        if self._rerun is None:
            raise UsageError("this result cannot be retried (it came from a dry run)")
        st = self.frame["status"].to_numpy()
        failed = [p for p in self._plans if st[p.slot] == "failed"]
        rows = {p.row for p in failed if p.row >= 0}
        deletes = {p.id for p in failed if p.row < 0 and p.id is not None}
        return self._rerun(rows, deletes, progress)

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
        if self.plan.reverted:  # overwrite=True, asked for
            lines.append(
                f"  overwrote {len(self.plan.reverted):,} cells changed on the server since "
                "the file was read (plan.reverts lists them)"
            )
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
