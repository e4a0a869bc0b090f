"""Settling writes whose answer was lost, and checking for conflicts, by reading back.

>>> brief("x" * 50, FieldType.STRING)
"'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."

A row whose write's answer was lost (timeout, dropped connection, a 5xx) is read back and
compared with the values it should have and with the snapshot's: applied -> ``ok``; still
the old values -> sent again (it provably was not applied); anything else -> ``conflict``.
A create whose answer was lost has no id to read back by and is never sent again.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from milekit.errors import MileError, NotFoundError, TransportError
from milekit.types.encode import canonical, coarse, wire
from milekit.types.registry import FieldType, ResourceSpec
from milekit.wire import envelope
from milekit.wire.client import Client
from milekit.writes.diff import UNKNOWN, column_type
from milekit.writes.push.model import MAX_ROUNDS, Context, RowPlan, RowTable

F = FieldType
#: Up to this many rows are read back one GET each; more go through the list endpoint
#: when that takes fewer requests.
PER_ID_READS = 32
#: Seconds one read-back may take with its retries (a server that died is given up on)
READ_BACK_BUDGET = 10.0

Docs = dict[str, dict[str, Any] | None]
_LOST_CREATE = (
    "the create may have been applied (its answer was lost); not sent again to avoid a "
    "duplicate: check before retrying"
)


class Reader:
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
        budget = min(client.retry.budget, READ_BACK_BUDGET)
        self._retry = dataclasses.replace(client.retry, budget=budget)

    def read_back(self, ids: list[str], columns: Sequence[str]) -> Docs:
        """Server documents by id (None: not found); ids that could not be read are absent."""
        out: Docs = {}
        ids = list(dict.fromkeys(ids))
        rest = self._read_list(ids, columns, out) if len(ids) > PER_ID_READS else ids
        self._read_each(rest, out)
        return out

    def _count(self) -> None:
        with self._lock:
            self.reads += 1

    def _read_list(self, ids: list[str], columns: Sequence[str], out: Docs) -> list[str]:
        """Many rows: the list endpoint (its pages), when that takes fewer requests."""
        spec = self.spec
        try:
            probe = self.client.request(
                "GET",
                spec.list_path,
                params={"limit": 1, "page": 1, "fields": spec.id_field},
                retry=self._retry,
            )
            self._count()
            total = envelope.list_page(probe.body, spec.listing, 1).total
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
                self._count()
                for r in page.rows:
                    if r.get(spec.id_field) in wanted:
                        out[str(r[spec.id_field])] = r
        except MileError:
            pass
        # not seen: deleted, or skipped while offsets shifted; ask for each
        return [i for i in ids if i not in out]

    def _read_each(self, ids: list[str], out: Docs) -> None:
        if not ids:
            return
        workers = max(1, min(self.client.max_workers, len(ids)))
        with ThreadPoolExecutor(workers, thread_name_prefix="milekit-push-read") as pool:
            for i, doc, known in pool.map(self._one, ids):
                if known:
                    out[i] = doc

    def _one(self, i: str) -> tuple[str, dict[str, Any] | None, bool]:
        """One row: ``(id, document or None when not found, whether it was read)``."""
        if self.down is not None:
            return i, None, False
        try:
            doc = self.client.read_object(self.spec, i, retry=self._retry)
        except NotFoundError:
            return i, None, True
        except TransportError as e:
            self.down = self.down or e  # no answer within the budget: it is down
            return i, None, False
        except MileError:
            return i, None, False
        finally:
            self._count()
        return i, doc, True


def server_value(ctx: Context, column: str, doc: dict[str, Any]) -> Any:
    """A document's value of ``column`` in the comparable (coarse canonical) form."""
    ft, enum = ftype(ctx, column)
    try:
        return coarse(canonical(doc.get(column), ft, enum), ft)
    except ValueError:
        return doc.get(column)


def compare(ctx: Context, p: RowPlan, doc: dict[str, Any]) -> tuple[bool, bool, list[str]]:
    """(matches the intended values, matches the snapshot, columns that match neither)."""
    is_new = is_old = True
    neither: list[str] = []
    for c, want in p.intended.items():
        ft = ftype(ctx, c)[0]
        have = server_value(ctx, c, doc)
        new_ok = have == coarse(want, ft)
        o = p.old.get(c, UNKNOWN)
        old_ok = o is not UNKNOWN and have == coarse(o, ft)
        is_new = is_new and new_ok
        is_old = is_old and (old_ok or new_ok)
        if not new_ok and not old_ok:
            neither.append(c)
    return is_new, is_old and not is_new, neither


class Reconciler:
    """Reading rows back to settle them (the runner's side that reads)."""

    ctx: Context
    table: RowTable
    reader: Reader
    bar: Callable[[int], None]

    def reconcile(self, rows: list[RowPlan], *, last: bool) -> tuple[list[RowPlan], list[RowPlan]]:
        """Settle unknown rows by reading them back: (rows to send again, rows not read)."""
        for p in rows:
            if p.id is None:  # a create whose answer was lost: it has no id to look for
                self.table.settle(p, "unknown", _LOST_CREATE, p.http)
        readable = [p for p in rows if p.id is not None]
        columns = sorted({c for p in readable for c in p.intended})
        docs = self.reader.read_back([str(p.id) for p in readable], columns)
        last = last or self.reader.down is not None  # a dead server: another round waits
        resend: list[RowPlan] = []
        unread: list[RowPlan] = []
        for p in readable:
            if str(p.id) not in docs:
                unread.append(p)  # stays unknown; read again next round
            elif self._settle_read(p, docs[str(p.id)]):
                resend.append(p)
        if last:
            self._give_up(resend, unread)
            return [], []
        return resend, unread

    def _settle_read(self, p: RowPlan, doc: dict[str, Any] | None) -> bool:
        """Settle ``p`` from its document; True when it provably was not applied."""
        self.bar(1)
        if p.action == "delete":
            if doc is not None:
                return True
            self.table.settle(p, "ok", "deleted (confirmed by reading back)")
        elif doc is None:
            self.table.settle(p, "failed", "not found on the server", 404)
        elif p.action == "create":
            self.table.settle(p, "ok", "created (confirmed by reading back)")
        else:
            is_new, is_old, neither = compare(self.ctx, p, doc)
            if is_old:
                return True
            if is_new:
                self.table.settle(p, "ok", f"{p.action} applied (confirmed by reading back)")
            else:
                msg = "changed on the server by someone else: " + ", ".join(neither)
                self.table.settle(p, "conflict", msg)
        return False

    def _give_up(self, resend: list[RowPlan], unread: list[RowPlan]) -> None:
        """The last round: rows still not applied failed, rows not read stay unknown."""
        for p in resend:
            msg = f"not applied after {MAX_ROUNDS} attempts (read back: unchanged)"
            self.table.settle(p, "failed", msg, p.http)
        down = self.reader.down
        why = f" (the server does not answer: {down.message})" if down is not None else ""
        for p in unread:
            msg = f"{p.message or ''}; could not be read back to confirm{why}"
            self.table.settle(p, "unknown", msg, p.http)

    def check_conflicts(self, rows: list[RowPlan]) -> list[RowPlan]:
        """Read the rows first; drop (as ``conflict``) those changed since the snapshot."""
        targets = [p for p in rows if p.action in ("patch", "put") and p.id is not None]
        if not targets:
            return rows
        columns = sorted({c for p in targets for c in p.intended})
        docs = self.reader.read_back([str(p.id) for p in targets], columns)
        refused = {p.slot for p in targets if self._refused(p, docs)}
        return [p for p in rows if p.slot not in refused]

    def _refused(self, p: RowPlan, docs: Docs) -> bool:
        if str(p.id) not in docs:
            self.table.settle(p, "failed", "could not re-read the row to check conflicts")
            return True
        doc = docs[str(p.id)]
        if doc is None:
            self.table.settle(p, "failed", "not found on the server", 404)
            return True
        changed = []
        for c, want in p.intended.items():
            o = p.old.get(c, UNKNOWN)
            ft = ftype(self.ctx, c)[0]
            have = server_value(self.ctx, c, doc)
            if o is not UNKNOWN and have != coarse(o, ft) and have != coarse(want, ft):
                changed.append(f"{c} (snapshot {brief(o, ft)}, server {brief(have, ft)})")
        if changed:
            msg = "changed on the server since the snapshot: " + "; ".join(changed)
            self.table.settle(p, "conflict", msg)
        return bool(changed)


def brief(v: Any, ft: FieldType) -> str:
    if isinstance(v, int) and ft in (F.DATETIME, F.TIME) and not isinstance(v, bool):
        v = wire(v * 1_000_000 if v < 10**14 else v, ft)
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def ftype(ctx: Context, column: str) -> tuple[FieldType, tuple[str, ...]]:
    got = ctx.ftypes.get(column)
    if got is None:
        got = ctx.ftypes[column] = column_type(column, ctx.spec, ctx.snapshot)
    return got
