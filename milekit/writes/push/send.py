"""Sending a push: rounds of send -> reconcile, the journal, and Ctrl-C.

>>> not_applied(__import__("milekit").errors.BadRequestError(400, "no"))
True

Requests go through the one :class:`~milekit.wire.client.Client` (its rate limiter and
retry loop: 429 and 503 + ``Retry-After`` are retried there; nothing else is, for a write).
Every send runs on a worker thread, so Ctrl-C never cuts a request mid-way: it stops the
push, the rows on their way are ``unknown`` and the rows never sent ``skipped``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from milekit.errors import (
    ApiError,
    MileError,
    PayloadTooLargeError,
    ResponseError,
    TransportError,
)
from milekit.notebook.progress import interactive, new_bar
from milekit.wire import envelope
from milekit.wire.workers import results
from milekit.writes.push.model import BULK_IN_FLIGHT, MAX_ROUNDS, Context, RowPlan, RowTable
from milekit.writes.push.plan import WIRE_OVERHEAD, Chunk, chunks
from milekit.writes.push.reconcile import Reader, Reconciler
from milekit.writes.push.result import RequestRecord


class Runner(Reconciler):
    """Sends the rows of one push and settles every one of them."""

    def __init__(self, ctx: Context, table: RowTable) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.client = ctx.client
        self.table = table
        self.records: list[RequestRecord] = []
        self.reader = Reader(ctx.client, ctx.spec)
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

    def go(self, rows: list[RowPlan], progress: bool) -> bool:
        """Send ``rows`` (after what a journal knows of them); True when Ctrl-C stopped
        it, with every row's status saying what became of it."""
        for p in rows:  # until it is settled (a row Ctrl-C kept from the wire stays so)
            self.table.settle(p, "skipped", "not sent")
        doubtful: list[RowPlan] = []
        if self.ctx.journal is not None:
            rows, doubtful = self._from_journal(rows)
        if self.ctx.options.check_conflicts:
            rows = self.check_conflicts(rows)
        try:
            with Progress(len(rows) + len(doubtful), progress) as bar:
                self.bar = bar
                self.execute(rows, doubtful)
        except KeyboardInterrupt:
            self._interrupted(rows + doubtful)
            return True
        return False

    def execute(self, rows: list[RowPlan], doubtful: Sequence[RowPlan] = ()) -> None:
        """Rounds of send -> reconcile; ``doubtful`` rows are read back before any send."""
        pending: list[RowPlan] = rows
        unread: list[RowPlan] = list(doubtful)
        for self.round in range(1, MAX_ROUNDS + 1):
            work = chunks(self.spec, pending, self.ctx.options.max_request_bytes)
            unknown: list[RowPlan] = list(unread)
            for got in self._map(self._send, work):
                unknown.extend(got)
            if not unknown:
                return
            pending, unread = self.reconcile(unknown, last=self.round == MAX_ROUNDS)
            self._journal(unknown)
            if not pending and not unread:
                return

    def _map(
        self, fn: Callable[[Chunk], list[RowPlan]], work: Sequence[Chunk]
    ) -> list[list[RowPlan]]:
        """``fn`` of every chunk on worker threads. Ctrl-C stops waiting and sends nothing
        more; a request already on its way finishes in its thread (and its answer goes
        to the journal)."""
        if not work:
            return []
        cap = BULK_IN_FLIGHT if all(w.bulk for w in work) else self.client.max_workers
        pool = ThreadPoolExecutor(max(1, min(cap, len(work))), thread_name_prefix="milekit-push")
        futures = [pool.submit(fn, w) for w in work]
        try:
            return results(futures)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _interrupted(self, rows: list[RowPlan]) -> None:
        """After Ctrl-C: rows on their way are ``unknown``, rows never sent ``skipped``."""
        with self._lock:
            self._stopped = True  # a chunk a worker took but did not start stays unsent
            flying, sent = set(self._in_flight), set(self._sent)
        for p in rows:
            if p.slot in flying:
                msg = "in flight when the push was interrupted: it may have been applied"
                self.table.settle(p, "unknown", msg)
            elif p.slot not in sent and p.status == "skipped":
                self.table.settle(p, "skipped", "not sent: the push was interrupted")

    # -- the journal ---------------------------------------------------------------------------

    def _from_journal(self, rows: list[RowPlan]) -> tuple[list[RowPlan], list[RowPlan]]:
        """Rows to send, and rows to read back first (an earlier push sent the same write
        and did not learn its fate); rows the journal has as written are ``ok``."""
        assert self.ctx.journal is not None
        send: list[RowPlan] = []
        doubtful: list[RowPlan] = []
        for p in rows:
            e = self.ctx.journal.last(p.key)
            if e is None or e.hash != p.hash or e.status not in ("ok", "sent", "unknown"):
                send.append(p)
            elif e.status == "ok":
                p.id = e.id if p.action == "create" and e.id else p.id
                self.table.settle(p, "ok", f"{ok_message(p)} by an earlier push (journal)")
            elif p.action == "create":  # no id to read it back by: never sent twice
                self.table.settle(p, "unknown", _CREATE_IN_DOUBT)
            else:
                msg = "an earlier push sent it and was interrupted: read back first"
                self.table.settle(p, "unknown", msg)
                doubtful.append(p)
        return send, doubtful

    def _journal(self, rows: Iterable[RowPlan], status: str | None = None) -> None:
        """Record ``rows`` (their current status, or ``status``) in the journal."""
        j = self.ctx.journal
        if j is not None:
            j.record_many([_journal_line(p, status) for p in rows])

    # -- one request -------------------------------------------------------------------------

    def _record(
        self, chunk: Chunk, http: int | None, attempts: int, t0: float, outcome: str
    ) -> None:
        took = time.perf_counter() - t0
        rows = len(chunk.rows)
        rec = RequestRecord(
            chunk.method, chunk.path_label, rows, http, attempts, took, outcome, self.round
        )
        with self._lock:
            self.records.append(rec)

    def _send(self, chunk: Chunk) -> list[RowPlan]:
        """Send one chunk; settle its rows (and journal them before and after); return the
        rows whose fate is unknown."""
        slots = {p.slot for p in chunk.rows}
        with self._lock:  # the same lock as Ctrl-C's: either it is sent and says so, or not
            if self._stopped:
                return []
            self._in_flight |= slots
            self._sent |= slots
        self._journal(chunk.rows, "sent")
        try:
            return self._send_chunk(chunk)
        finally:
            with self._lock:
                self._in_flight -= slots
            self._journal(chunk.rows)

    def _payload(self, chunk: Chunk) -> Any:
        key = self.spec.bulk_key or self.spec.envelope_list
        if chunk.bulk:
            items = [p.body for p in chunk.rows]
            return {"background": False, key: items} if chunk.action == "create" else {key: items}
        body = dict(chunk.rows[0].body)
        if chunk.action != "create":
            body.pop(self.spec.id_field, None)
        return body if chunk.action != "delete" else None

    def _send_chunk(self, chunk: Chunk) -> list[RowPlan]:
        t0 = time.perf_counter()
        try:
            resp = self.client.request(chunk.method, chunk.path, json=self._payload(chunk))
        except PayloadTooLargeError as e:
            if len(chunk.rows) > 1:
                return self._split(chunk, t0, e)
            return self._fail(chunk, t0, e)
        except ApiError as e:
            if not_applied(e):
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
        unknown = self._settle_answer(chunk, resp.status, resp.body)
        outcome = "ok" if not unknown else "unknown"
        if any(p.status == "failed" for p in chunk.rows):
            outcome = "partial"
        self._record(chunk, resp.status, resp.attempts, t0, outcome)
        self.bar(len(chunk.rows) - len(unknown))
        return unknown

    def _split(self, chunk: Chunk, t0: float, e: ApiError) -> list[RowPlan]:
        """413: the chunk is sent again in halves."""
        self._record(chunk, e.status, 1, t0, "split")
        half = len(chunk.rows) // 2
        out: list[RowPlan] = []
        for part in (chunk.rows[:half], chunk.rows[half:]):
            size = WIRE_OVERHEAD + sum(p.size + 1 for p in part)
            sub = Chunk(chunk.method, chunk.path, chunk.path_label, True, chunk.action, part, size)
            out += self._send_chunk(sub)
        return out

    def _fail(self, chunk: Chunk, t0: float, e: MileError) -> list[RowPlan]:
        api = e if isinstance(e, ApiError) else None
        status = api.status if api is not None else None
        code = api.failed_code if api is not None else None
        msg = api.api_message if api is not None else e.message
        for p in chunk.rows:
            self.table.settle(p, "failed", msg, status, code)
        self._record(chunk, status, 1, t0, "failed")
        self.bar(len(chunk.rows))
        return []

    def _unknown(self, chunk: Chunk, t0: float, status: int | None, msg: str) -> list[RowPlan]:
        for p in chunk.rows:
            self.table.settle(p, "unknown", msg, status)
        self._record(chunk, status, 1, t0, "unknown")
        return list(chunk.rows)

    # -- answers -------------------------------------------------------------------------------

    def _settle_answer(self, chunk: Chunk, status: int, body: Any) -> list[RowPlan]:
        """Settle the rows of an answered chunk; return the rows the answer leaves open."""
        if not chunk.bulk:
            p = chunk.rows[0]
            if chunk.action == "create":
                doc = envelope.unwrap(body, self.spec.envelope_one)
                new_id = doc.get(self.spec.id_field) if isinstance(doc, dict) else None
                p.id = str(new_id) if new_id is not None else None
            self.table.settle(p, "ok", ok_message(p), status)
            return []
        inner = body.get("response", body) if isinstance(body, dict) else body
        inner = inner if isinstance(inner, dict) else {}
        results = inner.get(self.spec.envelope_list)
        if isinstance(results, list) and len(results) == len(chunk.rows):
            self._per_item(chunk.rows, results, status)
            return []
        failed_index = inner.get("failed_index")
        if isinstance(failed_index, list) and all(isinstance(i, int) for i in failed_index):
            bad = set(failed_index)
            for n, p in enumerate(chunk.rows):
                if n in bad:
                    self.table.settle(p, "failed", "the server did not apply this row", status)
                else:
                    self.table.settle(p, "ok", ok_message(p), status)
            return []
        if inner.get("failed") == 0 and all(p.action != "create" for p in chunk.rows):
            for p in chunk.rows:
                self.table.settle(p, "ok", ok_message(p), status)
            return []
        for p in chunk.rows:  # an answer we cannot map to rows: read them back
            self.table.settle(p, "unknown", "the answer does not say which rows applied", status)
        return list(chunk.rows)

    def _per_item(self, rows: list[RowPlan], results: list[Any], status: int) -> None:
        """A bulk answer with one result per row (matched by id when out of order)."""
        idf = self.spec.id_field
        by_id = {r.get(idf): r for r in results if isinstance(r, dict) and r.get(idf) is not None}
        for p, r in zip(rows, results, strict=True):
            r = r if isinstance(r, dict) else {}
            rid = r.get(idf)
            if p.action != "create" and p.id is not None and rid not in (None, p.id):
                r = by_id.get(p.id, {})  # answers out of order: match by id
            msg, code = r.get("message"), r.get("failedCode")
            if r.get("status") in (True, "true", "success", 1):
                if p.action == "create" and rid is not None:
                    p.id = str(rid)
                self.table.settle(p, "ok", str(msg) if msg else ok_message(p), status)
            else:
                why = str(msg) if msg else "the server did not apply this row"
                self.table.settle(p, "failed", why, status, str(code) if code is not None else None)


def _journal_line(
    p: RowPlan, status: str | None
) -> tuple[str, str, str, str, str | None, str | None]:
    """One row's journal line: its current status (and message), or ``status``."""
    new_id = p.id if p.action == "create" else None
    return p.key, p.action, p.hash, status or p.status, new_id, None if status else p.message


_CREATE_IN_DOUBT = (
    "an earlier push sent this create and was interrupted: it may exist; check, then edit "
    "the row or the journal"
)


def not_applied(e: ApiError) -> bool:
    """An error answer that proves the write was not applied."""
    if e.status == 503:
        return e.retry_after is not None  # "come back later"
    return 400 <= e.status < 500


def ok_message(p: RowPlan) -> str:
    return {"patch": "updated", "put": "replaced", "create": "created", "delete": "deleted"}.get(
        p.action, "ok"
    )


class Progress:
    """A tqdm bar over rows written, shown only when someone is watching."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar: Any = None
        self.lock = threading.Lock()
        if enabled and total and interactive():
            self.bar = new_bar("push", " rows", total)

    def __enter__(self) -> Callable[[int], None]:
        def update(n: int) -> None:
            if self.bar is not None and n:
                with self.lock:
                    self.bar.update(n)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
