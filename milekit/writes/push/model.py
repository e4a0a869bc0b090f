"""A push's state: its options and context, and one :class:`RowPlan` per row.

>>> table = RowTable([RowPlan(0, "a", "patch"), RowPlan(1, "b", "none", status="unchanged")])
>>> table.settle(table[0], "ok", "updated", 200)
>>> table.frame("_id")["status"].tolist()
['ok', 'unchanged']
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from milekit.reads.snapshots import Snapshot, SnapshotSource
from milekit.types.registry import FieldType, ResourceSpec
from milekit.wire.client import Client
from milekit.writes.push.journal import PushJournal

Action = Literal["patch", "put", "create", "delete", "none"]
#: ``ok``: written and acknowledged; ``unchanged``: the same as the server's, nothing sent
Status = Literal["ok", "unchanged", "failed", "skipped", "unknown", "conflict"]
STATUSES: tuple[Status, ...] = ("ok", "unchanged", "failed", "skipped", "unknown", "conflict")
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


@dataclass(frozen=True)
class Options:
    replace: bool
    create: bool
    delete: bool
    check_conflicts: bool
    max_request_bytes: int
    overwrite: bool = False


@dataclass
class Context:
    """Everything a push needs again for :meth:`PushResult.retry_failed`."""

    edited: pd.DataFrame
    spec: ResourceSpec
    snapshot: Snapshot
    source: SnapshotSource
    options: Options
    client: Client
    #: column -> (API type, enum) of the last comparison
    ftypes: dict[str, tuple[FieldType, tuple[str, ...]]] = field(default_factory=dict)
    journal: PushJournal | None = None
    #: compared with the server's current rows (a file): id -> how the server changed the
    #: row since the file was read (its ``updated`` stamp)
    stale: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class RowPlan:
    """One row of a push, from the plan to its result: what it does, its write (the body
    sent, the values the server should end up with) and what became of it."""

    slot: int  #: its row in the result table
    id: str | None  #: the object's id on the server (None: a row to create, until created)
    action: Action
    row: int = -1  #: the edited frame's row (-1: a snapshot row to delete)
    label: str | None = None  #: what the result table shows: the id, or the row's label
    status: Status = "ok"
    message: str | None = None
    http: int | None = None
    code: str | None = None
    #: canonical values of the whole row (put/create), as validated
    values: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)  #: what is sent for it
    intended: dict[str, Any] = field(default_factory=dict)  #: column -> value it should get
    old: dict[str, Any] = field(default_factory=dict)  #: column -> its snapshot value
    size: int = 0  #: bytes of ``body``
    key: str = ""  #: the row in a journal: its id, or its label (or position) to create
    hash: str = ""  #: the write's fingerprint (:func:`milekit.writes.push.journal.body_hash`)

    def __post_init__(self) -> None:
        if self.label is None:
            self.label = self.id

    @property
    def to_write(self) -> bool:
        """A row the push writes (not unchanged, not left alone, not held as a conflict)."""
        return self.action != "none" and self.status not in ("skipped", "conflict")


class RowTable:
    """Every row's plan in result order (edited rows, then rows to delete); statuses are
    settled from the sending threads under one lock."""

    def __init__(self, rows: list[RowPlan]) -> None:
        self.rows = rows
        self._lock = threading.RLock()

    def __getitem__(self, slot: int) -> RowPlan:
        return self.rows[slot]

    def __iter__(self) -> Iterator[RowPlan]:
        return iter(self.rows)

    def settle(
        self,
        row: RowPlan,
        status: Status,
        message: str | None = None,
        http: int | None = None,
        code: str | None = None,
    ) -> None:
        with self._lock:
            row.status, row.message, row.http, row.code = status, message, http, code

    @contextmanager
    def held(self) -> Iterator[None]:
        """No row is settled meanwhile: an answer landing after Ctrl-C (its request
        finishes in its thread) waits, so what is read inside tells one story."""
        with self._lock:
            yield

    def frame(self, id_field: str) -> pd.DataFrame:
        """The result table: one row per row, indexed by id."""
        with self._lock:
            rows = list(self.rows)
            return pd.DataFrame(
                {
                    "action": pd.array([r.action for r in rows], dtype="string"),
                    "status": pd.array([r.status for r in rows], dtype="string"),
                    "http_status": pd.array([r.http for r in rows], dtype="Int64"),
                    "message": pd.array([r.message for r in rows], dtype="string"),
                    "failedCode": pd.array([r.code for r in rows], dtype="string"),
                },
                index=pd.Index(pd.array([r.label for r in rows], dtype="string"), name=id_field),
            )
