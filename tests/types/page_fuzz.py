"""Mutated list pages through every parse path: each page ends in the same rows as the
reference path (``orjson`` + Python conversion) or in a milekit error; never a crash, a
hang, a foreign exception or a silent difference.

Run in-process by tests/types/test_page_fuzz.py (the normal build, decoder on and off),
and as a script under AddressSanitizer + UBSan by the sanitizer test there:
``python page_fuzz.py SEED COUNT``, printing ``ok`` and the outcome counts.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from milekit import errors
from milekit.reads.pages import parse_page
from milekit.types import registry, schema
from milekit.wire import envelope

SPEC = registry.TASKS

#: byte strings a mutation drops into a page
HOSTILE = [
    b"[" * 60, b"]" * 60, b"{" * 60, b'{"a":' * 60, b"[" * 5000, b"null", b"[]", b"{}",
    b'"', b"\\", b"\\u0000", b"\\ud800", b"\xff", b"\xc3", b"\x00", b"1e400", b"-0",
    b"1e19", b"18446744073709551616", b"-9223372036854775809", b"NaN", b"Infinity", b"true",
    b'"x":1,', b'"title":', b'"label":"one"', b'"orderIndex":{"a":1}', b",", b":", b" " * 50,
    b'"total":1e19,', b'"last_page":-1,', b'"tasks":null,', b'"data":{},',
]  # fmt: skip


def seed_pages(rows: list[dict[str, Any]]) -> list[bytes]:
    """Pages of 20 rows built from real task rows (three of them, with ``total``)."""
    out = []
    for at in range(0, min(len(rows), 60), 20):
        body = {"tasks": {"current_page": 1 + at // 20, "data": rows[at : at + 20],
                          "last_page": 3, "per_page": 20, "total": 60}}  # fmt: skip
        out.append(orjson.dumps(body))
    return out


def mutate(page: bytes, rng: random.Random) -> bytes:
    """One to three random edits: truncate, flip, insert, delete or repeat a span."""
    b = bytearray(page)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(b) + 1)
        kind = rng.randrange(6)
        if kind == 0:
            del b[rng.randrange(len(b) // 2, len(b) + 1) :]
        elif kind == 1 and b:
            b[min(at, len(b) - 1)] = rng.randrange(256)
        elif kind in (2, 3):
            b[at:at] = rng.choice(HOSTILE)
        elif kind == 4:
            del b[at : at + rng.randint(1, 40)]
        else:
            end = min(len(b), at + rng.randint(1, 200))
            b[at:at] = b[at:end]
    return bytes(b)


def _reference(content: bytes) -> pa.Table | None:
    """The plain path: orjson and Python conversion (None: it cannot read the page)."""
    try:
        page = envelope.list_page(orjson.loads(content), SPEC.listing, 1)
        return schema.rows_to_table(page.rows, SPEC.rows)
    except Exception:
        return None


def _outcome(parser: schema.PageParser, content: bytes) -> pa.Table | errors.ResponseError:
    try:
        return parse_page(parser, SPEC.rows, None, content, 1).table
    except errors.ResponseError as e:
        return e


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return [dict(sorted(r.items())) for r in table.to_pylist()]


def check(pages: Iterator[bytes], native: bool) -> Counter[str]:
    """Every page through one path against the reference; raises AssertionError naming
    the first page that differs. Returns the outcome counts."""
    import warnings

    counts: Counter[str] = Counter()
    for content in pages:
        # a parser per page: one learns which undocumented columns hold date-like text
        # and reads them so on its later pages (all-null there) as a read's union would
        parser = schema.PageParser(SPEC.rows, SPEC.listing, native=native)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", schema.MileTypeWarning)
            got = _outcome(parser, content)
            ref = _reference(content)
        if isinstance(got, errors.ResponseError):
            counts["milekit error"] += 1
            continue
        assert ref is not None, f"read where the reference cannot: {content[:300]!r}"
        assert _rows(got) == _rows(ref), f"rows differ from the reference: {content[:300]!r}"
        counts["same rows"] += 1
    return counts


def fuzz(rows: list[dict[str, Any]], seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    pages = seed_pages(rows)
    for _ in range(count):
        yield mutate(rng.choice(pages), rng)


if __name__ == "__main__":  # under the sanitizers: python page_fuzz.py ROWS.json SEED COUNT
    import json

    task_rows = json.loads(open(sys.argv[1]).read())
    for on in (True, False):
        print(on, dict(check(fuzz(task_rows, int(sys.argv[2]), int(sys.argv[3])), on)))
    print("ok")
