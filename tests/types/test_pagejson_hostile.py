"""The C page decoder (``milekit.types._pagejson``) on pages built to hurt it.

Deep nesting, many keys, sparse rows, NULs in keys, huge numbers, repeated envelope keys
and roots that are not objects: each page is decoded into capsules pyarrow imports, refused
with a ValueError (Arrow's reader may take it) or refused with ``PageError`` (no reader
should be given it); never a crash, never a silently cut name or a wrapped number.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from typing import Any

import orjson
import pyarrow as pa
import pytest

import milekit
from milekit.types import registry, schema

from .test_pagejson import _random_page

pytestmark = pytest.mark.skipif(
    not schema.NATIVE and not os.environ.get("MILEKIT_REQUIRE_NATIVE"),
    reason="built without a C compiler: pages take Arrow's reader",
)

TASKS = registry.TASKS
MAX_DEPTH: int = schema._pagejson.MAX_DEPTH if schema.NATIVE else 32
MAX_COLUMNS: int = schema._pagejson.MAX_COLUMNS if schema.NATIVE else 4096
_HINTS = schema.PageParser(TASKS.rows, TASKS.listing)._hints


def _decode(content: bytes) -> tuple[pa.RecordBatch, Any, Any]:
    """The decoder's batch (imported into pyarrow), total and last_page."""
    hints = schema.PageParser(TASKS.rows, TASKS.listing)._hints
    caps = schema._pagejson.decode(content, TASKS.listing.envelope, "data", hints)
    return pa.RecordBatch._import_from_c_capsule(caps[0], caps[1]), caps[2], caps[3]


def _rows_page(rows_json: bytes, **envelope: Any) -> bytes:
    extra = b"".join(b', "%s": %s' % (k.encode(), orjson.dumps(v)) for k, v in envelope.items())
    return b'{"tasks": {"data": [' + rows_json + b"]" + extra + b"}}"


def _nested(levels: int, kind: str) -> bytes:
    """A row field's value of `levels` containers: lists, objects, or both in turn."""
    out = b"1"
    for i in range(levels):
        as_list = kind == "list" or (kind == "mixed" and i % 2 == 0)
        out = b"[" + out + b"]" if as_list else b'{"k": ' + out + b"}"
    return out


def test_the_limits_and_the_error_are_part_of_the_module() -> None:
    m = schema._pagejson
    assert isinstance(m.MAX_DEPTH, int) and isinstance(m.MAX_COLUMNS, int)
    assert issubclass(m.PageError, Exception) and not issubclass(m.PageError, ValueError)


# --- 1. depth ------------------------------------------------------------------------------

_DEEP = """
import sys
from milekit.types import _pagejson
n = 100_000
content = b'{"tasks":{"data":[{"d":' + b"[" * n + b"]" * n + b"}]}}"
try:
    _pagejson.decode(content, "tasks", "data", [])
except _pagejson.PageError as e:
    print("PageError", e)
"""


def test_a_value_nested_100000_deep_is_refused_not_a_stack_overflow() -> None:
    out = subprocess.run([sys.executable, "-c", _DEEP], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert out.stdout.strip() == "PageError a value nested deeper than 32 levels"


@pytest.mark.parametrize("kind", ["list", "object", "mixed"])
@pytest.mark.parametrize("empty", [False, True])
def test_the_deepest_value_accepted_imports_into_arrow_and_one_deeper_is_refused(
    kind: str, empty: bool
) -> None:
    deepest = schema._pagejson.MAX_DEPTH
    inner = _nested(deepest, kind)
    if empty:  # an empty list or object at the bottom (an empty list's item is one more level)
        inner = inner.replace(b"[1]", b"[]").replace(b'{"k": 1}', b"{}")
    row = b'{"_id": "a", "d": ' + inner + b"}"
    batch = _decode(_rows_page(row + b', {"_id": "b"}'))[0]
    assert batch.num_rows == 2
    schema.to_pandas(pa.Table.from_batches([batch]))  # and on into a frame
    too_deep = b'{"_id": "a", "d": ' + _nested(deepest + 1, kind) + b"}"
    with pytest.raises(schema._pagejson.PageError, match="nested deeper than 32 levels"):
        _decode(_rows_page(too_deep))


def test_arrows_import_limit_is_above_the_deepest_value_the_decoder_accepts() -> None:
    # pyarrow refuses more than 63 levels below the root; the decoder's deepest export has
    # MAX_DEPTH + 1 (an empty list's null item), with room to spare for what comes after
    assert schema._pagejson.MAX_DEPTH + 1 < 63
    typ: pa.DataType = pa.null()
    for _ in range(63):
        typ = pa.list_(typ)
    batch = pa.RecordBatch.from_struct_array(pa.array([None], pa.struct([("d", typ)])))
    with pytest.raises(pa.ArrowInvalid, match="Recursion level"):
        pa.RecordBatch._import_from_c_capsule(*batch.__arrow_c_array__())


# --- 2. keys --------------------------------------------------------------------------------


def _wide_row(n: int) -> bytes:
    return b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(n)) + b"}"


@pytest.mark.parametrize("where", ["row", "object", "list of objects"])
def test_an_object_column_takes_max_columns_keys_and_refuses_one_more(where: str) -> None:
    most = schema._pagejson.MAX_COLUMNS
    if where == "row":  # the documented fields are columns from the start
        most -= len(schema.PageParser(TASKS.rows, TASKS.listing)._hints)

    def page(n: int) -> bytes:
        wide = _wide_row(n)
        if where == "row":
            return _rows_page(wide)
        if where == "object":
            return _rows_page(b'{"o": ' + wide + b"}")
        return _rows_page(b'{"o": [' + wide + b"]}")

    assert _decode(page(most))[0].num_rows == 1
    with pytest.raises(schema._pagejson.PageError, match="more than 4096 distinct keys"):
        _decode(page(most + 1))


def _keys_over_two_rows(n: int) -> bytes:
    half = [b'"k%d": 1' % i for i in range(n)]
    return b"{" + b",".join(half[: n // 2]) + b"}, {" + b",".join(half[n // 2 :]) + b"}"


def test_keys_spread_over_rows_count_as_one_column() -> None:
    rows = _keys_over_two_rows(schema._pagejson.MAX_COLUMNS + 1)
    with pytest.raises(schema._pagejson.PageError, match="distinct keys"):
        _decode(_rows_page(rows))


def test_a_sparse_page_is_refused_before_its_columns_outgrow_it() -> None:
    # 20,000 rows, each with its own key: 0.34 MB of JSON, and without a bound 3.1 GB of
    # columns (every key a column as long as the page, null elsewhere)
    rows = b",".join(b'{"k%d": 1}' % i for i in range(20_000))
    with pytest.raises(schema._pagejson.PageError, match="cells per byte"):
        _decode(_rows_page(rows))


def test_a_sparse_list_of_objects_is_refused_before_it_outgrows_the_page() -> None:
    # one wide object, then many empty ones: each fills a slot in every column
    items = _wide_row(4000) + b"," + b",".join([b"{}"] * 200_000)
    with pytest.raises(schema._pagejson.PageError, match="cells per byte"):
        _decode(_rows_page(b'{"items": [' + items + b"]}"))


def test_many_fields_that_stop_fitting_late_are_refused_not_rebuilt_for_seconds() -> None:
    # 4,000 fields, each of another type in the last of 100 rows: rebuilding each from the
    # rows before looks at rows x keys x fields (1.6e9 keys, 2.1 s for these 4 MB without a
    # bound); past the page's budget the decoder hands the page on instead
    rows = [{f"k{j}": i for j in range(4000)} for i in range(99)]
    rows.append({f"k{j}": "x" for j in range(4000)})
    with pytest.raises(ValueError, match="do not fit a column"):
        _decode(_rows_page(orjson.dumps(rows)[1:-1]))


def test_a_few_fields_that_stop_fitting_late_are_rebuilt() -> None:
    rows = [{f"k{j}": i for j in range(80)} for i in range(999)]
    rows.append({**rows[0], "k3": "x", "k70": [1]})
    got = schema._pagejson.decode(_rows_page(orjson.dumps(rows)[1:-1]), "tasks", "data", ())
    assert got[4] == ("k3", "k70")


def test_many_keys_read_in_other_orders_still_read() -> None:
    keys = [f"k{i}" for i in range(3000)]
    rows = [dict.fromkeys(keys, 1), dict.fromkeys(reversed(keys), 2)]
    batch = _decode(orjson.dumps({"tasks": {"data": rows}}))[0]
    assert batch.num_rows == 2 and batch.column("k2999").to_pylist() == [1, 2]


# --- 3. NUL in keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row",
    [
        b'{"_id": "a", "note\\u0000x": 1}',
        b'{"_id": "a", "title": "t", "title\\u0000x": 1}',
        b'{"_id": "a", "o": {"in\\u0000side": 1}}',
        b'{"_id": "a", "xs": [{"\\u0000": 1}]}',
    ],
)
def test_a_key_holding_a_nul_is_refused_not_cut(row: bytes) -> None:
    with pytest.raises(schema._pagejson.PageError, match="a key contains a NUL character"):
        _decode(_rows_page(row))


def test_a_nul_in_text_stays_text() -> None:
    batch = _decode(_rows_page(b'{"_id": "a", "note": "x\\u0000y"}'))[0]
    assert batch.column("note").to_pylist() == ["x\x00y"]


# --- 4. total and last_page --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (b"7", 7),
        (b"-3", -3),
        (b"0", 0),
        (b"9223372036854775807", 2**63 - 1),
        (b"18446744073709551615", 2**64 - 1),  # past int64: still an int
        (b"1e19", 1e19),
        (b"18446744073709551616", 1.8446744073709552e19),  # past uint64: JSON's double
        (b"-1e300", -1e300),
        (b"2.5", 2.5),
        (b"7.0", 7.0),
        (b"null", None),
        (b'"7"', None),
        (b"true", None),
        (b"[1]", None),
    ],
)
def test_totals_come_back_as_json_wrote_them(raw: bytes, want: Any) -> None:
    content = b'{"tasks": {"data": [], "total": ' + raw + b', "last_page": ' + raw + b"}}"
    _, total, last = _decode(content)
    assert (total, last) == (want, want)
    assert type(total) is type(want) and type(last) is type(want)


def test_totals_absent_are_none() -> None:
    assert _decode(b'{"tasks": {"data": []}}')[1:] == (None, None)


# --- 5. a key repeated in the envelope: the last wins, as orjson reads it ---------------------

_REPEATED = [
    b'{"tasks": {"data": [{"a": 1}], "total": 1}, "tasks": {"data": [{"a": 2}], "total": 2}}',
    b'{"tasks": {"data": [{"a": 1}], "data": [{"a": 2}, {"a": 3}]}}',
    b'{"tasks": {"data": [], "total": 1, "total": 2, "last_page": 1, "last_page": 3}}',
    b'{"tasks": {"data": [{"a": 1}]}, "other": 1, "tasks": null}',
    b'{"tasks": {"data": [{"a": 1}], "data": null}}',
]


@pytest.mark.parametrize("content", _REPEATED)
def test_a_repeated_envelope_key_reads_as_orjson_reads_it(content: bytes) -> None:
    env = orjson.loads(content)["tasks"]
    if not isinstance(env, dict) or not isinstance(env.get("data"), list):
        with pytest.raises(ValueError, match="no paginator"):
            _decode(content)
        return
    batch, total, last = _decode(content)
    assert batch.num_rows == len(env["data"])
    if env["data"]:
        assert batch.select(["a"]).to_pylist() == env["data"]
    assert (total, last) == (env.get("total"), env.get("last_page"))


# --- 6. roots that are not objects ------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"null", b"[]", b"5", b'"tasks"', b"true", b'[{"tasks": {"data": []}}]']
)
def test_a_root_that_is_not_an_object_is_refused(content: bytes) -> None:
    with pytest.raises(ValueError, match="no paginator"):
        _decode(content)


# --- refused pages are checked before a reader has them -------------------------------------

_TYPE_CHANGE = b'{"_id": "a", "x": 1}, {"_id": "b", "x": "one"}'


@pytest.mark.parametrize(
    ("after", "why"),
    [
        (b'{"d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
        (b'{"note\\u0000x": 1}', "NUL"),
        (_keys_over_two_rows(5000), "distinct keys"),
        (b",".join(b'{"k%d": 1}' % i for i in range(5000)), "cells per byte"),
    ],
)
def test_a_refused_page_that_no_reader_should_have_is_a_page_error(after: bytes, why: str) -> None:
    # the decoder stops at the type change; the rest of the page still must not reach
    # Arrow's reader (which overflows its stack on the deep value, as the decoder did)
    with pytest.raises(schema._pagejson.PageError, match=why):
        _decode(_rows_page(_TYPE_CHANGE + b", " + after))


def test_a_deep_page_that_is_not_json_is_a_page_error() -> None:
    cut = b'{"tasks": {"data": [{"d": ' + b"[" * 100_000
    with pytest.raises(schema._pagejson.PageError, match="nested deeper"):
        _decode(cut)
    inside_text = b'{"tasks": {"data": [{"d": "' + b"[" * 100_000 + b'"}'
    with pytest.raises(ValueError, match="not JSON"):
        _decode(inside_text)


@pytest.mark.parametrize(
    ("after", "why"),
    [(b'{"note\\u0000x": 1}', "NUL"), (_keys_over_two_rows(5000), "distinct keys")],
)
def test_a_page_yyjson_refuses_but_a_reader_takes_is_checked_too(after: bytes, why: str) -> None:
    # text that is not UTF-8 (Arrow's reader takes it) with what no reader should have
    with pytest.raises(schema._pagejson.PageError, match=why):
        _decode(_rows_page(b'{"_id": "\xff"}, ' + after))


def test_deep_values_outside_the_rows_are_left_alone_when_the_page_reads() -> None:
    deep = b"[" * 1000 + b"]" * 1000
    content = b'{"tasks": {"data": [{"_id": "a"}], "links": ' + deep + b"}}"
    assert _decode(content)[0].num_rows == 1


# --- mutated pages: decoded and imported, or refused; never a crash ---------------------------

_NUMBERS = [b"1e19", b"-1e19", b"1e400", b"-1e400", b"18446744073709551616"]
_NUMBERS += [b"-9223372036854775809", b"9" * 30, b"1e-400", b"-0", b"0.5", b"NaN", b"-", b"1e"]


def _mutant(r: random.Random, page: bytes) -> bytes:
    """`page` with one to three seeded mutations, of the kinds hostile pages take."""
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        at = r.randrange(len(page) + 1)
        how = r.randrange(10)
        if how == 0:  # cut off
            page = page[:at]
        elif how == 1:  # bytes flipped
            flipped = bytearray(page)
            for _ in range(r.randint(1, 4)):
                if flipped:
                    flipped[r.randrange(len(flipped))] = r.randrange(256)
            page = bytes(flipped)
        elif how == 2:  # brackets and quotes
            page = page[:at] + bytes(r.choices(b'[]{}",:', k=r.randint(1, 6))) + page[at:]
        elif how == 3:  # NULs, escaped or raw
            page = page[:at] + r.choice([b"\\u0000", b"\x00", b'"\\u0000": 1,']) + page[at:]
        elif how == 4:  # a key repeated right after an object opens
            brace = page.find(b"{", at)
            key = r.choice([b'"_id": 1, ', b'"data": [], ', b'"total": 5, ', b'"tasks": {}, '])
            page = page[: brace + 1] + key + page[brace + 1 :] if brace >= 0 else page
        elif how == 5:  # nested deep, around the boundary or far past it
            k = r.choice([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 5, 3000])
            page = _at_value(page, at, b"[" * k + b"]" * k)
        elif how == 6:  # an object of many keys
            n = r.choice([10, MAX_COLUMNS - 1, MAX_COLUMNS + 1])
            page = _at_value(page, at, _wide_row(n))
        elif how == 7:  # huge, tiny and broken numbers, in the rows and the envelope
            number = r.choice(_NUMBERS)
            for key in (b'"total": ', b'"last_page": '):
                if r.random() < 0.5 and key in page:
                    start = page.index(key) + len(key)
                    end = start + len(page[start:]) - len(page[start:].lstrip(b"-0123456789."))
                    page = page[:start] + number + page[end:]
            page = _at_value(page, at, number)
        elif how == 8:  # many rows, each with its own key
            rows = b",".join(b'{"k%d": %d}' % (i, i) for i in range(r.choice([50, 3000])))
            page = _at_value(page, at, b"[" + rows + b"]")
        else:  # a slice of the page copied elsewhere
            end = min(len(page), at + r.randint(1, 200))
            there = r.randrange(len(page) + 1)
            page = page[:there] + page[at:end] + page[there:]
    return page


def _at_value(page: bytes, at: int, value: bytes) -> bytes:
    """`value` in place of the value after the first ':' from `at` on (or at `at`)."""
    colon = page.find(b":", at)
    if colon < 0:
        return page[:at] + value + page[at:]
    end = colon + 1
    while end < len(page) and page[end] not in b",}]":
        end += 1
    return page[: colon + 1] + value + page[end:]


def decode_or_refuse(page: bytes) -> str:
    """'read', 'ValueError' or 'PageError'; capsules must import into a valid batch."""
    hints = _HINTS
    try:
        caps = schema._pagejson.decode(page, "tasks", "data", hints)
    except schema._pagejson.PageError:
        return "PageError"
    except ValueError:
        return "ValueError"
    batch = pa.RecordBatch._import_from_c_capsule(caps[0], caps[1])
    batch.validate(full=True)
    for total in caps[2:4]:
        assert total is None or type(total) in (int, float)
    for name in caps[4]:  # a field left as JSON text: one valid JSON text per value
        texts = batch.column(name)
        assert texts.type == pa.string()
        assert all(t is None or orjson.loads(t) is not None for t in texts.to_pylist())
    return "read"


def mutation_fuzz(pages: list[bytes], count: int, seed: int = 0) -> dict[str, int]:
    """`count` seeded mutants of `pages` through the decoder: how each ended."""
    r = random.Random(seed)
    seen = {"read": 0, "ValueError": 0, "PageError": 0}
    for _ in range(count):
        seen[decode_or_refuse(_mutant(r, r.choice(pages)))] += 1
    return seen


def test_mutated_pages_are_read_or_refused(client: milekit.Client) -> None:
    pages = [client.request("GET", "/tasks", params={"limit": 20}, raw=True).content]
    pages += [_random_page(seed) for seed in range(10)]
    seen = mutation_fuzz(pages, 400)
    assert all(seen.values()), seen  # every outcome happens: the mutations reach each
