"""Stored files: what uploads and exports write, and ``GET /file/view`` that streams them.

>>> from milekit.sandbox.app import SandboxApp
>>> from milekit.sandbox.seed import build_org
>>> from milekit.sandbox.store import Store
>>> app = SandboxApp(Store(build_org(tasks=5)))
>>> status, _, body = app.call("GET", "/api/v3/file/view?url=https://elsewhere.example/x")
>>> status, body["message"]
(400, 'The url is invalid.')

A file lives in the store's ``files`` collection under its URL on the demo storage host
(:data:`STORAGE`); photos and signatures the seeded tasks point at are served as a
placeholder image.
"""

from __future__ import annotations

import re
import struct
import zlib

from milekit.sandbox.common import (
    Ctx,
)
from milekit.sandbox.http import (
    HttpError,
    Raw,
    Request,
    Response,
    Route,
)
from milekit.sandbox.store import Op

STORAGE = "https://storage.demo.mile.app"


def routes(ctx: Ctx) -> list[Route]:
    files = Files(ctx)
    return [Route("GET", "/file/view", files.view)]


def store_file(ctx: Ctx, r: Request, folder: str, filename: str, data: bytes) -> str:
    """Keep an uploaded file (internal ``files`` collection); its storage URL."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename) or "file"
    url = f"{STORAGE}/{folder}/{int(ctx.now())}_{safe}"
    doc = {"_id": url, "contentType": _content_type(safe), "hex": data.hex()}
    ctx.write(r, [Op("put", "files", url, doc, {"file": safe, "bytes": len(data)})])
    return url


def _content_type(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "svg": "image/svg+xml",
        "js": "text/javascript",
        "json": "application/json",
        "csv": "text/csv",
    }.get(ext, "application/octet-stream")


def placeholder_png() -> bytes:
    """A valid 1x1 grey PNG (what seeded photo URLs show)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


class Files:
    """``GET /file/view?url=``: streams a stored file; seeded photo URLs get a placeholder."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def view(self, r: Request) -> Response:
        url = r.query.get("url", "")
        if not url:
            raise HttpError(400, "The url field is required.")
        doc = self.ctx.store.get("files", url)
        if doc is not None:
            return Response(200, Raw(bytes.fromhex(doc["hex"]), doc["contentType"]))
        if not url.startswith(STORAGE + "/"):
            raise HttpError(400, "The url is invalid.")
        if url.lower().endswith((".jpg", ".jpeg", ".png")) and _seeded(self.ctx, url):
            return Response(200, Raw(placeholder_png(), "image/png"))
        raise HttpError(400, "The url is invalid.")


def _seeded(ctx: Ctx, url: str) -> bool:
    """A URL the seed put on some task (a photo or signature component value)."""
    tid = url.removeprefix(STORAGE + "/").split("/")
    if len(tid) >= 2 and tid[0] in ("photos", "signatures"):
        key = tid[1].split(".")[0]
        return ctx.store.get("tasks", key) is not None
    return False
