"""The sandbox's thread-safe document store, optionally persisted to SQLite.

>>> from milekit.sandbox.seed import build_org
>>> store = Store(build_org(tasks=5))
>>> doc = dict(store.values("tasks")[0], title="renamed")
>>> store.apply([Op("put", "tasks", doc["_id"], doc, {"title": "renamed"})], "PATCH", "/task/x")
>>> store.get("tasks", doc["_id"])["title"], store.version("tasks"), store.write_log[-1]["seq"]
('renamed', 1, 1)

Documents are plain dicts kept per resource in insertion order. They are never mutated
in place: a write replaces the whole dict, so readers may hold references without a lock.
With ``db_path`` every write is committed to SQLite (table ``docs(resource, id, json)``)
before :meth:`Store.apply` returns, i.e. before the HTTP response is sent; at start an
existing database is loaded instead of the seed.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from milekit.sandbox.seed.base import Org

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    resource TEXT NOT NULL, id TEXT NOT NULL, json BLOB NOT NULL, PRIMARY KEY (resource, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, json BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS writes (
    seq INTEGER PRIMARY KEY, method TEXT, path TEXT, resource TEXT, id TEXT, body BLOB
);
"""
_UPSERT = (
    "INSERT INTO docs (resource, id, json) VALUES (?, ?, ?) "
    "ON CONFLICT (resource, id) DO UPDATE SET json = excluded.json"
)


def doc_id(doc: Doc) -> str:
    """A document's key: ``_id``, or ``id`` for the resources that use it (plugins).

    >>> doc_id({"id": "p1", "name": "x"})
    'p1'
    """
    key: str = doc["_id"] if "_id" in doc else doc["id"]
    return key


@dataclass(frozen=True)
class Op:
    """One write: ``put`` (insert or replace ``doc``) or ``delete``; ``body`` is what the
    client sent for it (kept in the write log).

    >>> Op("delete", "tasks", "6a6d37b6149f08d113bfc574").kind
    'delete'
    """

    kind: Literal["put", "delete"]
    resource: str
    id: str
    doc: Doc | None = None
    body: Any = None


class Store:
    """Resources as ``{id: doc}`` dicts, a version per resource and a log of every write.

    >>> from milekit.sandbox.seed import build_org
    >>> Store(build_org(tasks=3)).count("tasks")
    3
    """

    def __init__(self, org: Org | None, db_path: str | os.PathLike[str] | None = None) -> None:
        self.lock = threading.RLock()
        self._docs: dict[str, dict[str, Doc]] = {}
        self._versions: dict[str, int] = {}
        self.meta: dict[str, Any] = {}
        #: every applied write: {seq, method, path, resource, id, body}
        self.write_log: list[dict[str, Any]] = []
        self.db_path = Path(db_path) if db_path is not None else None
        self._db: sqlite3.Connection | None = None
        if self.db_path is not None and self.db_path.exists():
            self._db = self._connect(self.db_path)
            self._load()
        else:
            if org is None:
                raise ValueError("Store needs an Org unless db_path names an existing database")
            self.meta = {"organization": org.organization, "me": org.me}
            for name, docs in org.resources().items():
                self._docs[name] = {doc_id(d): d for d in docs}
                self._versions[name] = 0
            if self.db_path is not None:
                self._db = self._connect(self.db_path)
                self._save_all()
        # Hundreds of thousands of long-lived, acyclic documents: keep them out of the
        # cyclic GC's full collections, which would otherwise dominate every request's CPU.
        # Collect first, so no garbage that already exists in the host process (the
        # sandbox may run inside a user's notebook) is frozen with them and kept forever.
        gc.collect()
        gc.freeze()

    # --- reads --------------------------------------------------------------------------

    def get(self, resource: str, id: str) -> Doc | None:
        """The document, or None."""
        return self._docs.get(resource, {}).get(id)

    def values(self, resource: str) -> list[Doc]:
        """A snapshot list of the resource's documents, in insertion order."""
        with self.lock:
            return list(self._docs.get(resource, {}).values())

    def count(self, resource: str) -> int:
        return len(self._docs.get(resource, {}))

    def version(self, resource: str) -> int:
        """Bumped on every write to ``resource`` (monotonic, kept across restarts)."""
        return self._versions.get(resource, 0)

    # --- writes -------------------------------------------------------------------------

    def apply(self, ops: Sequence[Op], method: str, path: str) -> None:
        """Apply ``ops`` atomically: committed to SQLite first (if any), then in memory."""
        if not ops:
            return
        with self.lock:
            seq = len(self.write_log) and self.write_log[-1]["seq"]
            entries = []
            for op in ops:
                seq += 1
                entries.append(
                    {
                        "seq": seq,
                        "method": method,
                        "path": path,
                        "resource": op.resource,
                        "id": op.id,
                        "body": op.body,
                    }
                )
            versions = dict(self._versions)
            for op in ops:
                versions[op.resource] = versions.get(op.resource, 0) + 1
            if self._db is not None:
                self._persist(ops, entries, versions)
            for op in ops:
                docs = self._docs.setdefault(op.resource, {})
                if op.kind == "put":
                    assert op.doc is not None
                    docs[op.id] = op.doc
                else:
                    docs.pop(op.id, None)
            self._versions = versions
            self.write_log.extend(entries)

    def close(self) -> None:
        """Close the SQLite connection (if any)."""
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # --- SQLite -------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL + NORMAL: a committed write survives a crash of the process (the sandbox's
        # failure model); it only risks the last commits on a power loss.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    def _persist(self, ops: Sequence[Op], entries: list[dict[str, Any]], versions: Any) -> None:
        db = self._db
        assert db is not None
        db.execute("BEGIN")
        try:
            for op in ops:
                if op.kind == "put":
                    db.execute(_UPSERT, (op.resource, op.id, orjson.dumps(op.doc)))
                else:
                    db.execute(
                        "DELETE FROM docs WHERE resource = ? AND id = ?", (op.resource, op.id)
                    )
            db.executemany(
                "INSERT INTO writes (seq, method, path, resource, id, body) VALUES (?,?,?,?,?,?)",
                [
                    (
                        e["seq"],
                        e["method"],
                        e["path"],
                        e["resource"],
                        e["id"],
                        orjson.dumps(e["body"]),
                    )
                    for e in entries
                ],
            )
            db.execute(
                "INSERT OR REPLACE INTO meta (key, json) VALUES ('versions', ?)",
                (orjson.dumps(versions),),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _save_all(self) -> None:
        db = self._db
        assert db is not None
        db.execute("BEGIN")
        for name, docs in self._docs.items():
            db.executemany(_UPSERT, ((name, i, orjson.dumps(d)) for i, d in docs.items()))
        meta = dict(self.meta, versions=self._versions)
        db.executemany(
            "INSERT OR REPLACE INTO meta (key, json) VALUES (?, ?)",
            [(k, orjson.dumps(v)) for k, v in meta.items()],
        )
        db.execute("COMMIT")

    def _load(self) -> None:
        db = self._db
        assert db is not None
        for key, raw in db.execute("SELECT key, json FROM meta"):
            self.meta[key] = orjson.loads(raw)
        self._versions = dict(self.meta.pop("versions", {}))
        for resource, id, raw in db.execute("SELECT resource, id, json FROM docs ORDER BY rowid"):
            self._docs.setdefault(resource, {})[id] = orjson.loads(raw)
        for name in self._docs:
            self._versions.setdefault(name, 0)
        self.write_log = [
            {"seq": s, "method": m, "path": p, "resource": r, "id": i, "body": orjson.loads(b)}
            for s, m, p, r, i, b in db.execute(
                "SELECT seq, method, path, resource, id, body FROM writes ORDER BY seq"
            )
        ]
