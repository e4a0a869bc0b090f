"""Hostile and malformed list pages served over HTTP: every one ends in a milekit error
naming the page (with ``err.partial`` and ``resume=`` working) or in the same frame as a
clean read; never a crash of the process, a foreign exception or a silent difference.

Each case is served by the sandbox as page 2 (or page 1) of a three-page task read, with
the C decoder on and off. The reads run in a child process (a crash would otherwise take
the test session with it): a case that kills the child is reported as a crash, and the
child is started again for the cases after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

import milekit
from milekit.sandbox import Sandbox
from milekit.sandbox.http import Raw
from milekit.types import limits, schema

_ROW = b'{"_id":"h1","title":"x","status":"DONE"}'


def _page(rows: bytes, total: bytes = b"30", last: bytes = b"3") -> bytes:
    return b'{"tasks":{"data":[' + rows + b'],"total":' + total + b',"last_page":' + last + b"}}"


def _deep(n: int, opening: bytes = b"[", closing: bytes = b"]") -> bytes:
    inner = b"1" if opening != b"[" else b""
    return _page(b'{"_id":"d","d":' + opening * n + inner + closing * n + b"}")


def _sparse(n: int) -> bytes:
    return b",".join(b'{"_id":"s%d","k%d":1}' % (i, i) for i in range(n))


#: name -> (page it replaces, bytes served, what must happen: "error" or "same")
CASES: dict[str, tuple[int, bytes, str]] = {
    "null body": (2, b"null", "error"),
    "null first page": (1, b"null", "error"),
    "a list body": (2, b"[1, 2]", "error"),
    "a string body": (2, b'"tasks"', "error"),
    "empty body": (2, b"", "error"),
    "truncated JSON": (2, _page(_ROW)[:-7], "error"),
    "nested 10^5 deep": (
        2,
        _page(b'{"_id":"d","d":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "error",
    ),
    "nested 2x10^4 deep": (
        2,
        _page(b'{"_id":"d","d":' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
        "error",
    ),
    "nested 70 deep": (2, _page(b'{"_id":"d","d":' + b"[" * 70 + b"]" * 70 + b"}"), "error"),
    "objects 70 deep": (
        2,
        _page(b'{"_id":"d","d":' + b'{"a":' * 70 + b"1" + b"}" * 70 + b"}"),
        "error",
    ),
    "6,000 rows with a key each": (2, _page(_sparse(6000)), "error"),
    "total Infinity": (2, _page(_ROW, total=b"Infinity"), "error"),
    "last_page 1e19": (2, _page(_ROW, last=b"1e19"), "error"),
    "last_page 1e19 on page 1": (1, _page(_ROW, last=b"1e19"), "error"),
    "last_page -1": (2, _page(_ROW, last=b"-1"), "error"),
    "invalid UTF-8 in a title": (2, _page(b'{"_id":"u","title":"a\xff\xfe"}'), "error"),
    "a lone surrogate": (2, _page(b'{"_id":"u","title":"a\\ud800"}'), "error"),
    "NUL in a key": (2, _page(b'{"_id":"n","note\\u0000x":"a"}'), "error"),
    "NUL in a key colliding": (2, _page(b'{"_id":"n","title\\u0000x":"a","title":"b"}'), "error"),
    "rows that are not objects": (2, _page(b"1,2"), "error"),
}


_CHILD = r"""
import json, sys, warnings
import milekit
from milekit.sandbox import Sandbox
from milekit.sandbox.http import Raw

cases = json.loads(sys.stdin.read())
warnings.simplefilter("ignore")
with Sandbox(tasks=30, seed=11) as sb, milekit.Client(sb.token, sb.url, limiter=None) as c:
    full = milekit.tasks_frame(client=c, limit=10, progress=False)
    for name, (page, body) in cases.items():
        sb.faults.clear()
        sb.faults.add(status=200, body=Raw(body.encode("latin-1"), "application/json"),
                      path_prefix="/tasks", query=f"page={page}&", times=None)
        out = {"case": name}
        try:
            df = milekit.tasks_frame(client=c, limit=10, progress=False)
            out.update(outcome="same" if df.equals(full) else "different", rows=len(df))
        except Exception as e:
            out.update(outcome="error", type=type(e).__name__,
                       milekit=isinstance(e, milekit.MileError), message=str(e)[:300])
            partial = getattr(e, "partial", None)
            out["partial"] = None if partial is None else len(partial)
            if hasattr(e, "missing"):
                sb.faults.clear()
                done = milekit.tasks_frame(client=c, limit=10, progress=False, resume=e)
                out["resumed"] = bool(done.equals(full))
        print(json.dumps(out), flush=True)
"""


def _run_all(native: bool) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "MILEKIT_NATIVE": "1" if native else "0"}
    todo = {n: (page, body.decode("latin-1")) for n, (page, body, _) in CASES.items()}
    results: dict[str, dict[str, Any]] = {}
    while todo:
        r = subprocess.run(
            [sys.executable, "-c", _CHILD], input=json.dumps(todo), capture_output=True,
            text=True, env=env, timeout=600,
        )  # fmt: skip
        for line in r.stdout.splitlines():
            got = json.loads(line)
            results[got["case"]] = got
            todo.pop(got["case"])
        if todo:  # the child died on the next case
            name = next(iter(todo))
            results[name] = {"case": name, "outcome": "crash", "rc": r.returncode,
                             "stderr": r.stderr[-500:]}  # fmt: skip
            todo.pop(name)
    return results


@pytest.fixture(scope="module", params=[True, False], ids=["decoder", "no-decoder"])
def outcomes(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    return _run_all(request.param)


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_page_ends_in_a_milekit_error_never_a_crash(
    outcomes: dict[str, dict[str, Any]], case: str
) -> None:
    page, _, expected = CASES[case]
    got = outcomes[case]
    assert got["outcome"] == expected, got
    if expected != "error":
        return
    assert got["milekit"] and got["type"] in ("ResponseError", "IncompleteReadError"), got
    assert f"page {page}" in got["message"], got
    if page == 2:  # the rest of the read is kept, and resuming finishes it
        assert got["type"] == "IncompleteReadError" and got["partial"] == 20, got
        assert got["resumed"] is True, got


def test_the_page_limits_are_the_decoders_and_the_documented_ones() -> None:
    from pathlib import Path

    if schema.NATIVE:  # the checks before Arrow's reader hold pages to the decoder's limits
        assert limits.MAX_DEPTH == schema._pagejson.MAX_DEPTH
        assert limits.MAX_KEYS == schema._pagejson.MAX_COLUMNS
    doc = (Path(__file__).parents[2] / "docs" / "performance.md").read_text()
    assert f"{limits.MAX_DEPTH} levels" in doc and f"{limits.MAX_KEYS:,} distinct keys" in doc
    assert f"{limits.CELLS_PER_BYTE} cells per byte" in doc


def _served(sb: Sandbox, rows: bytes) -> None:
    """Page 2 of a 10-row-per-page task read answers these rows (with the same counts)."""
    body = b'{"tasks":{"data":[' + rows + b'],"total":300,"last_page":30}}'
    sb.faults.add(status=200, body=Raw(body, "application/json"), path_prefix="/tasks",
                  query="page=2&", times=None)  # fmt: skip


def _read(sb: Sandbox) -> pd.DataFrame:
    with milekit.Client(sb.token, sb.url, limiter=None) as c:
        return milekit.tasks_frame(client=c, limit=10, progress=False)


@pytest.fixture(params=[True, False], ids=["decoder", "no-decoder"])
def native(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(schema, "NATIVE", request.param)
    return bool(request.param)


def test_an_object_in_an_integer_field_costs_that_column_only(fresh: Sandbox, native: bool) -> None:
    _served(fresh, b'{"_id":"o1","title":"kept","orderIndex":{"x":1},"duration":5}')
    with pytest.warns(schema.MileTypeWarning, match="orderIndex") as caught:
        df = _read(fresh)
    assert len(df) == 291 and df.loc["o1", "title"] == "kept"
    assert df.loc["o1", "duration"] == 5 and str(df["duration"].dtype) == "Int64"
    assert json.loads(df.loc["o1", "orderIndex"]) == {"x": 1}  # the value kept, as text
    assert sum(w.category is schema.MileTypeWarning for w in caught) == 1


def test_a_list_of_text_sent_as_one_string_is_one_item(fresh: Sandbox, native: bool) -> None:
    _served(fresh, b'{"_id":"l1","label":"Return"},{"_id":"l2","label":["A","B"]}')
    df = _read(fresh)
    assert df.loc["l1", "label"] == ["Return"] and df.loc["l2", "label"] == ["A", "B"]
