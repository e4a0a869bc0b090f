"""Record the sandbox's answers to a broad, fixed set of requests: one sha256 a request.

Usage (from anywhere; paths are relative to the repository)::

    python tools/sandbox_answers.py                  # print "sha256  status  METHOD url" lines
    python tools/sandbox_answers.py --out a.txt      # the same, into a file
    python tools/sandbox_answers.py --compare a.txt  # exit 1 and list the requests that differ

For a refactoring of the sandbox that must not change what it answers: record the answers
before, change the code, compare after. The requests: every GET list route of the route
table (plain, a page further with a sort, each declared filter with a value taken from a
stored document, ``fields=``), every detail route for two ids, the irregular reads, then a
scripted sequence of writes (create, put, patch, delete, bulk) and invalid requests (their
error answers). A digest covers the status and the body's bytes.

The answers are deterministic: a seeded organisation, a fixed clock and a fixed stream of
"random" bytes (ObjectIds, tokens); the app is called in process (WSGI, no socket), so
nothing else varies between two runs of the same code.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_RNG = random.Random(24)
os.urandom = lambda n: _RNG.randbytes(n)  # before the app makes its ObjectIds

from milekit.sandbox import SandboxApp, Store, build_org  # noqa: E402
from milekit.sandbox.http import PREFIX, Route  # noqa: E402
from milekit.types.registry import RESOURCES  # noqa: E402

_CLOCK = 1_790_000_000.0
Answer = tuple[str, int, str]  #: (request line, status, sha256 of the body)


def _app() -> SandboxApp:
    return SandboxApp(Store(build_org(seed=7, tasks=300)), rate_limit=None, clock=lambda: _CLOCK)


def _call(app: SandboxApp, method: str, url: str, body: Any = None) -> tuple[int, bytes]:
    path, _, query = url.partition("?")
    raw = b"" if body is None else orjson.dumps(body)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": PREFIX + path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "sandbox.local",
        "HTTP_AUTHORIZATION": f"Bearer {app.token}",
    }
    got: list[int] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        got.append(int(status.split()[0]))

    out = b"".join(app(environ, start_response))
    return got[0], out


def _routes(app: SandboxApp) -> list[Route]:
    """The route table in a fixed order (by path, then method), whatever the modules' order."""
    return sorted(app.router.routes, key=lambda r: (r.path.rstrip("/"), r.method))


def _first_ids(app: SandboxApp, resource: str, n: int = 2) -> list[str]:
    key = RESOURCES[resource].id_field if resource in RESOURCES else "_id"
    return [str(d[key]) for d in app.store.values(resource)[:n]]


def _filter_value(app: SandboxApp, resource: str, param: str) -> str | None:
    for doc in app.store.values(resource)[:50]:
        v = doc.get(param)
        if isinstance(v, list) and v and isinstance(v[0], str):
            return v[0]
        if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v):
            return str(v)
    return None


def _reads(app: SandboxApp) -> Iterator[tuple[str, str, Any]]:
    for route in _routes(app):
        if route.op is None or route.method != "GET":
            continue
        resource, attr = route.op
        spec = RESOURCES[resource]
        if attr == "list_path":
            path = route.path
            yield "GET", path, None
            by, order = spec.sort_params
            sort = f"&{by}=_id" if by else ""
            sort += f"&{order}=asc" if order else ""
            yield "GET", f"{path}?{spec.page_param}=2&{spec.limit_param}=3{sort}", None
            yield "GET", f"{path}?{spec.limit_param}=2&fields=name", None
            for param in spec.filters:
                value = _filter_value(app, resource, param)
                if value is not None:
                    yield "GET", f"{path}?{param}={quote(value)}&{spec.limit_param}=4", None
        elif attr == "detail_path":
            for id_ in _first_ids(app, resource):
                yield "GET", route.path.replace("{id}", quote(id_)), None
            yield "GET", route.path.replace("{id}", "000000000000000000000000"), None
    task = app.store.values("tasks")[0]
    user = app.store.values("users")[0]
    flow = app.store.values("flows")[0]
    result = _first_ids(app, "routing_results", 1)
    extra = [
        "/tasks?limit=5&page=20&q=a%20b",
        "/tasks?limit=5&page=30&fields=title",
        "/tasks?limit=20&fields=title,status",
        "/tasks/tracking?limit=3",
        "/flow-components",
        "/user",
        f"/user/email/{quote(user['email'])}",
        f"/task/public/{task['_id']}",
        f"/flow/{quote(flow['name'])}/fields",
        f"/activities/workflow/{flow['_id']}",
        *(f"/result/{r}/history" for r in result),
        "/trash",
        "/trash?page=1",
        "/nowhere",
    ]
    for url in extra:
        yield "GET", url, None


def _writes(app: SandboxApp) -> Iterator[tuple[str, str, Any]]:
    """Writes on every resource's standard paths: an invalid body, a copy of a stored
    document back (PUT/PATCH), a delete, and bulk bodies built from stored documents."""
    for route in _routes(app):
        if route.op is None or route.method == "GET":
            continue
        resource, attr = route.op
        if not app.store.count(resource):
            continue
        ids = _first_ids(app, resource, 3)
        doc = app.store.get(resource, ids[0]) if ids else None
        yield route.method, route.path.replace("{id}", "nope"), {"x": 1}
        yield route.method, route.path.replace("{id}", ids[-1] if ids else "x"), "not an object"
        if doc is None:
            continue
        if attr in ("update_path", "patch_path"):
            body = {k: v for k, v in doc.items() if not k.startswith("_")}
            yield route.method, route.path.replace("{id}", ids[0]), body
        elif attr == "create_path":
            body = {k: v for k, v in doc.items() if not k.startswith("_") and k != "id"}
            yield route.method, route.path, body
        elif attr == "delete_path":
            yield route.method, route.path.replace("{id}", ids[-1]), None
        elif attr.startswith("bulk_"):
            items = [
                {k: v for k, v in d.items() if k != "id"} for d in app.store.values(resource)[:2]
            ]
            for key in ("tasks", "data", "ids", "vehicles", "schedules", "locationHistories"):
                yield route.method, route.path, {key: items if key != "ids" else ids[:2]}


def _actions(app: SandboxApp) -> Iterator[tuple[str, str, Any]]:
    """Irregular writes and writes with bodies made to pass (and fail) validation."""
    me = app.store.meta["me"]["_id"]
    user = next(u["_id"] for u in app.store.values("users") if u["_id"] != me)
    hub = app.store.values("hubs")[0]["_id"]
    locked = [d["_id"] for d in app.store.values("locked_members")][:1]
    yield "PATCH", "/user", {"name": "Renamed Me", "status": "inactive", "x": 1}
    yield "PATCH", f"/user/{user}", {"name": "New Name"}
    yield "PUT", f"/user/{user}", {"name": "Full Name", "email": "new.mail@demo.mile.app"}
    yield "PUT", f"/user/{user}", {"email": "not an email"}
    yield "POST", "/team", {"name": "Night Shift", "hubId": hub}
    yield "POST", "/team", {"name": "night shift", "hubId": hub}
    yield "POST", "/hub", {"name": "Depot X", "lat": 100, "lng": 1}
    yield "POST", "/hub", {"name": "Depot Y", "lat": -6.2, "lng": 106.8, "address": "Jl. X"}
    for email in [*locked, "nobody@demo.mile.app"]:
        yield "POST", "/member/unlock", {"email": email}
    for password in ("short", "Abcdef1!xyz", "Abcdef1!xyz"):
        yield "POST", "/member/reset-password", {"userId": user, "password": password}
    yield "DELETE", f"/member/{me}", None
    yield "DELETE", f"/member/{user}", None
    for path in ("/flows/check-version", "/automation-retries", "/location-history/generate-token"):
        yield "POST", path, {}
    yield "PUT", "/flow-reorder", {}
    yield "GET", "/members/locked", None
    yield "GET", "/users?fields=name,email", None


def answers(app: SandboxApp | None = None, *, undo: bool = False) -> list[Answer]:
    """Every request's (line, status, sha256), reads first, then the writes in order
    (``undo``: of the bodies with the paginator fixes undone, :func:`_undo_link_fixes`)."""
    app = app or _app()
    out: list[Answer] = []

    def run(requests: Callable[[SandboxApp], Iterator[tuple[str, str, Any]]]) -> None:
        for method, url, body in list(requests(app)):
            status, data = _call(app, method, url, body)
            line = f"{method} {url}" + (
                "" if body is None else f" {_digest(orjson.dumps(body))[:8]}"
            )
            out.append((line, status, _digest(_undo_link_fixes(data) if undo else data)))

    run(_reads)
    run(_writes)
    run(_actions)
    run(_reads)  # the same reads after the writes
    # what the writes left: the write log (with the bodies it keeps) and every document
    log = orjson.dumps(app.store.write_log, option=orjson.OPT_SORT_KEYS)
    out.append(("store write log", len(app.store.write_log), _digest(log)))
    for resource in _stored(app):
        docs = orjson.dumps(app.store.values(resource), option=orjson.OPT_SORT_KEYS)
        out.append((f"store {resource}", app.store.count(resource), _digest(docs)))
    return out


def _stored(app: SandboxApp) -> list[str]:
    """Every collection written or in the registry, by name."""
    return sorted({e["resource"] for e in app.store.write_log} | set(RESOURCES))


def _undo_link_fixes(data: bytes) -> bytes:
    """The body as it was before issue 24's paginator fixes: no ``page`` in ``links[]``
    items, a space in page URLs as ``+`` (so one comparison shows every other change)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if list(node) == ["url", "label", "page", "active"]:
                node = {k: v for k, v in node.items() if k != "page"}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and node.startswith("http://") and "?" in node:
            return node.replace("%20", "+")
        return node

    return orjson.dumps(walk(doc))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lines(rows: list[Answer]) -> list[str]:
    overall = _digest("\n".join(f"{s} {d}" for _, s, d in rows).encode())
    return [*(f"{d}  {s}  {line}" for line, s, d in rows), f"{overall}  all  {len(rows)} requests"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path)
    parser.add_argument(
        "--undo-link-fixes",
        action="store_true",
        help="hash bodies with links' page removed and %%20 spelt + (issue 24's fixes)",
    )
    args = parser.parse_args(argv)
    lines = _lines(answers(undo=args.undo_link_fixes))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    if args.compare:
        old = args.compare.read_text().splitlines()
        differ = [f"- {a}\n+ {b}" for a, b in zip(old, lines, strict=False) if a != b]
        if len(old) != len(lines):
            differ.append(f"{len(old)} answers before, {len(lines)} now")
        print("\n".join(differ) or f"same: {lines[-1]}")
        return 1 if differ else 0
    if not args.out:
        print("\n".join(lines))
    else:
        print(lines[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
