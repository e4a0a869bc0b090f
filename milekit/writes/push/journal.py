"""A push's journal: every row's write, recorded as it is sent and as it is answered.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "push.jsonl"
>>> j = PushJournal(path, "tasks")
>>> j.record("6702f0", "patch", "h1", "sent")
>>> j.record("6702f0", "patch", "h1", "ok")
>>> PushJournal(path, "tasks").last("6702f0").status
'ok'

A push that is interrupted (Ctrl-C, a killed process, a lost connection) leaves rows whose
write may or may not have landed. Without a record of them, running the same push again
sends them again: written twice. With ``milekit.push(..., journal=path)`` (the CLI keeps
one beside the edits file), each row's write is appended to a JSON Lines file before it is
sent (``sent``) and again when its outcome is known (``ok``, ``failed``, ``unknown``,
``conflict``, ``skipped``), flushed to disk each time. The answer of a request still in
flight when the push was interrupted is recorded when it comes, even after the push has
returned. The next push with the same journal:

* does not send a row whose same write the journal has as ``ok`` (it reports it ``ok``);
* reads back a row whose same write was ``sent`` or ``unknown`` before deciding (applied:
  ``ok``; not applied: sent; changed by someone else: ``conflict``), and never re-sends a
  create that may have landed (it has no id to read back);
* sends every other row as usual.

A push killed while appending leaves a line cut short: it is skipped on load and cut off
before the next push appends, so the journal stays readable after any number of kills.

"The same write" is the row (its id, or its label for a row to create) with the same
action and body (a hash of it): a row edited again since is a new write.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from milekit.errors import UsageError

KIND = "milekit-push-journal"


@dataclass(frozen=True)
class Entry:
    """The last thing the journal knows of one row's write."""

    key: str
    action: str
    hash: str
    status: str
    id: str | None = None  #: the id a create was given
    at: str = ""


def body_hash(action: str, body: dict[str, Any]) -> str:
    """The write's fingerprint: its action and body (keys sorted).

    >>> body_hash("patch", {"b": 1, "a": 2}) == body_hash("patch", {"a": 2, "b": 1})
    True
    """
    data = orjson.dumps([action, body], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(data).hexdigest()[:32]


class PushJournal:
    """The journal file of the pushes of one resource (appended to, never rewritten)."""

    def __init__(self, path: str | os.PathLike[str], resource: str) -> None:
        self.path = Path(path)
        self.resource = resource
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with self.path.open("rb") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        for n, line in enumerate(lines):
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                if n == len(lines) - 1:
                    break  # a line cut short by a crash: the write it began is unknown
                raise UsageError(f"{self.path}: line {n + 1} is not a journal line") from None
            if n == 0:
                self._check_header(rec)
                continue
            key = str(rec.get("key"))
            old = self._entries.get(key)
            new_id = rec.get("id") or (old.id if old is not None else None)
            self._entries[key] = Entry(
                key, rec.get("action", ""), rec.get("hash", ""), rec.get("status", ""),
                new_id, rec.get("at", ""),
            )  # fmt: skip

    def _check_header(self, rec: Any) -> None:
        if not isinstance(rec, dict) or rec.get("kind") != KIND:
            raise UsageError(f"{self.path} is not a milekit push journal")
        if rec.get("resource") != self.resource:
            raise UsageError(
                f"{self.path} is the journal of a push of {rec.get('resource')}, not of "
                f"{self.resource}: give another journal path"
            )

    def last(self, key: str) -> Entry | None:
        """The last entry of row ``key`` (None: the journal has never seen it)."""
        return self._entries.get(key)

    def record(
        self,
        key: str,
        action: str,
        hash: str,
        status: str,
        *,
        id: str | None = None,
        message: str | None = None,
    ) -> None:
        """Append one line (and flush it to disk) for row ``key``."""
        self.record_many([(key, action, hash, status, id, message)])

    def record_many(self, rows: list[tuple[str, str, str, str, str | None, str | None]]) -> None:
        """Append a line per ``(key, action, hash, status, id, message)``, flushed once."""
        if not rows:
            return
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        out = bytearray()
        with self._lock:
            if _mend_tail(self.path) == 0:
                header = {"kind": KIND, "version": 1, "resource": self.resource}
                out += orjson.dumps(header) + b"\n"
            for key, action, hash, status, new_id, message in rows:
                rec: dict[str, Any] = {"key": key, "action": action, "hash": hash}
                rec.update(status=status, at=at)
                if new_id:
                    rec["id"] = new_id
                if message:
                    rec["message"] = message
                out += orjson.dumps(rec) + b"\n"
                old = self._entries.get(key)
                kept = new_id or (old.id if old is not None else None)
                self._entries[key] = Entry(key, action, hash, status, kept, at)
            with self.path.open("ab") as f:  # open per batch: a late answer needs no handle
                f.write(bytes(out))
                f.flush()
                os.fsync(f.fileno())

    def __repr__(self) -> str:
        return f"PushJournal({str(self.path)!r}, {self.resource!r}, rows={len(self._entries)})"


def _mend_tail(path: Path) -> int:
    """Make ``path`` end with a whole line before anything is appended; its size after.

    A process killed while appending leaves the start of a line without its newline.
    Appended onto, that fragment would glue to the next line and make a line in the middle
    that no load can read (item 11). So the fragment is cut off (its write's outcome is
    unknown, as when it is skipped on load); a whole record that only lacks its newline
    is kept and given one. Any number of interruptions leaves a journal every load reads.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0 or (f.seek(size - 1), f.read(1))[1] == b"\n":
            return size
        f.seek(0)
        data = f.read()
        start = data.rfind(b"\n") + 1
        try:
            orjson.loads(data[start:])
        except orjson.JSONDecodeError:
            f.truncate(start)  # the fragment of a line cut short
            return start
        f.write(b"\n")  # a whole line that only lost its newline
        return size + 1
