"""The seeded demo organisation is pinned: the same seed gives the same bytes.

>>> len(DIGESTS)
3

Each digest is the sha256 of the JSON the store holds right after seeding (its meta, then
every resource's documents in the order it serves them, keys in their own order), so a
change to an id, a value, a key's order or a document's order anywhere in the seed shows.
The digests were taken before the seed became a package; a refactoring keeps them, a
deliberate change of the demo data updates them (and says so).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from milekit.sandbox import Store, build_org

#: (build_org's keyword arguments, sha256 of the seeded store)
DIGESTS: list[tuple[dict[str, Any], str]] = [
    ({}, "67b9935f0d6c806c59407c7543b8763308dac9afb10751514c662e2ac508466a"),
    ({"seed": 1, "tasks": 600}, "ecc3d2f857f9a2666ecdbb2fd04a9d2677a527c9f04ccc9e9f7154a01e30b9b0"),
    (
        {"seed": 3, "tasks": 400, "mixed_datetimes": True},
        "0099e3e6a9f717c7252dffb428f364694c0146f31d6b47f3caacdcf66a4ec7c5",
    ),
]


def store_digest(**kwargs: Any) -> str:
    """sha256 of the store seeded by ``build_org(**kwargs)``, as canonical JSON."""
    org = build_org(**kwargs)
    store = Store(org)
    dump = {"meta": store.meta, "docs": {r: store.values(r) for r in sorted(org.resources())}}
    return hashlib.sha256(orjson.dumps(dump)).hexdigest()


@pytest.mark.parametrize(("kwargs", "digest"), DIGESTS, ids=lambda v: str(v)[:40])
def test_the_seeded_store_is_byte_for_byte_the_same(kwargs: dict[str, Any], digest: str) -> None:
    assert store_digest(**kwargs) == digest
