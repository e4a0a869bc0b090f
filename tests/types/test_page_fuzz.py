"""Mutated pages through every parse path (tests/types/page_fuzz.py says how)."""

from __future__ import annotations

from typing import Any

import pytest

from milekit.sandbox import Sandbox
from tests.types import page_fuzz


@pytest.fixture(scope="module")
def task_rows() -> list[dict[str, Any]]:
    import milekit

    with Sandbox(tasks=60, seed=5) as sb, milekit.Client(sb.token, sb.url, limiter=None) as c:
        rows: list[dict[str, Any]] = next(iter(c.pages("tasks", limit=60))).rows
    return rows


@pytest.mark.parametrize("native", [True, False], ids=["decoder", "no-decoder"])
def test_mutated_pages_read_the_same_or_end_in_a_milekit_error(
    task_rows: list[dict[str, Any]], native: bool
) -> None:
    counts = page_fuzz.check(page_fuzz.fuzz(task_rows, seed=20, count=1500), native)
    assert counts["same rows"] > 100 and counts["milekit error"] > 100, counts
