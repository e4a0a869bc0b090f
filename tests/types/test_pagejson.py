"""The C page decoder (``milekit.types._pagejson``) against Arrow's JSON reader.

Both read a list page into the raw table that ``PageParser`` types; the decoder must give
the typed table Arrow's reader gives (pages from every paginated resource of the sandbox,
the shapes real answers take, and seeded random pages), and refuse, never mistype, what
it does not take: the reader then decides.
"""

from __future__ import annotations

import os
import random
import threading
import warnings
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest

import milekit
from milekit.types import registry, schema
from milekit.types.limits import PageLimitError
from milekit.wire import envelope

pytestmark = pytest.mark.skipif(
    not schema.NATIVE and not os.environ.get("MILEKIT_REQUIRE_NATIVE"),
    reason="built without a C compiler: pages take Arrow's reader",
)

TASKS = registry.TASKS


def test_the_decoder_is_built_where_ci_requires_it() -> None:
    # .ci/run sets MILEKIT_REQUIRE_NATIVE: a silently skipped C build must fail there
    assert schema.NATIVE


def _page(rows: list[Any], **envelope: Any) -> bytes:
    body = {"current_page": 1, "last_page": 3, "total": 2500, "data": rows, **envelope}
    return orjson.dumps({"status": True, "tasks": body})


def _misfits(caught: list[warnings.WarningMessage]) -> list[str]:
    """The columns a MileTypeWarning was given for, in order."""
    return [str(w.message).split("'")[1] for w in caught if w.category is schema.MileTypeWarning]


def _both(content: bytes, spec: registry.ResourceSpec = TASKS) -> tuple[Any, Any]:
    """(native outcome, Arrow reader outcome): a (table, total, last) or the exception.
    The columns the native parse warned about are kept in ``_both.warned``."""
    out = []
    for native in (True, False):
        parser = schema.PageParser(spec.rows, spec.listing, native=native)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out.append(parser.parse(content))
            except (schema.FastPathMiss, PageLimitError) as e:
                out.append(e)
        if native:
            _both.warned = _misfits(caught)  # type: ignore[attr-defined]
    return out[0], out[1]


def _assert_same(content: bytes, spec: registry.ResourceSpec = TASKS) -> Any:
    native, arrow = _both(content, spec)
    demoted = () if isinstance(native, Exception) else _demoted(content, spec)
    if isinstance(arrow, Exception) or demoted:
        # the Python path is the reference for a field the decoder leaves as JSON text (the
        # reader reads an integer past int64 as a float; the Python path keeps its digits)
        if not isinstance(native, Exception):  # then it must read as the Python path reads
            _assert_as_python_reads(content, native[0], spec, _both.warned)  # type: ignore[attr-defined]
        return None
    assert not isinstance(native, Exception), native
    assert native[1:] == arrow[1:]
    # custom fields come in the order they first appear; Arrow's reader moves the ones it
    # re-reads as text (date-like) ahead of the others
    assert sorted(native[0].column_names) == sorted(arrow[0].column_names)
    theirs = arrow[0].select(native[0].column_names)
    assert native[0].schema.equals(theirs.schema, check_metadata=True), (
        native[0].schema,
        theirs.schema,
    )
    assert native[0].equals(theirs)
    return native


def _assert_as_python_reads(
    content: bytes, table: pa.Table, spec: registry.ResourceSpec, warned: list[str]
) -> None:
    """The decoder's table types every column as the Python path does (the API types in
    the metadata too), and warns about the same columns."""
    rows = envelope.list_page(orjson.loads(content), spec.listing, 1).rows
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        python = schema.rows_to_table(rows, spec.rows)
    assert sorted(warned) == sorted(_misfits(caught))
    slow, fast = schema.to_pandas(python), schema.to_pandas(table)
    assert set(fast.columns) == set(slow.columns)
    pd.testing.assert_frame_equal(fast, slow[fast.columns])
    assert {f.name: schema.meta_of(f) for f in table.schema} == {
        f.name: schema.meta_of(f) for f in python.schema
    }


def _decoder_refuses(content: bytes) -> bool:
    return _demoted(content) is None


def _demoted(content: bytes, spec: registry.ResourceSpec = TASKS) -> tuple[str, ...] | None:
    """The fields the decoder left as JSON text, or None if it refuses the page."""
    hints = schema.PageParser(spec.rows, spec.listing)._hints
    try:
        got = schema._pagejson.decode(content, spec.listing.envelope, "data", hints)
    except ValueError:
        return None
    demoted: tuple[str, ...] = got[4]
    return demoted


# --- real pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [n for n, s in registry.RESOURCES.items() if s.list_shape == "laravel" and s.list_path]
)
def test_pages_of_every_paginated_resource_read_the_same(name: str, client: milekit.Client) -> None:
    spec = registry.get(name)
    params = {spec.limit_param: spec.max_limit, spec.page_param: 1}
    content = client.request("GET", spec.list_path, params=params, raw=True).content
    _assert_same(content, spec)


def test_a_full_task_page_reads_the_same_and_through_the_decoder(
    client: milekit.Client,
) -> None:
    content = client.request("GET", "/tasks", params={"limit": 1000}, raw=True).content
    got = _assert_same(content)
    assert got is not None and got[0].num_rows == 1000
    assert not _decoder_refuses(content)


@pytest.mark.parametrize("ignored", [False, True], ids=["projected", "projection-ignored"])
def test_a_projections_pages_read_as_the_whole_pages_columns(
    client: milekit.Client, ignored: bool
) -> None:
    """A parser for a ``fields=`` projection tells the decoder the projected fields only;
    its pages read as those columns of the whole page do, and a server that ignores the
    projection (sends every field) still gets every documented column typed as documented."""
    cols = ["_id", "updatedTime", "createdTime", "status", "doneTime", "label"]
    params: dict[str, Any] = {"limit": 1000}
    whole = client.request("GET", "/tasks", params=params, raw=True).content
    part = (
        whole
        if ignored
        else client.request(
            "GET", "/tasks", params={**params, "fields": ",".join(cols)}, raw=True
        ).content
    )
    projected = schema.PageParser(TASKS.rows, TASKS.listing, cols)
    assert {n for n, _ in projected._hints} < {
        n for n, _ in schema.PageParser(TASKS.rows, TASKS.listing)._hints
    }
    got = projected.parse(part)[0]
    expected = schema.PageParser(TASKS.rows, TASKS.listing).parse(whole)[0]
    if not ignored:
        expected = expected.select(cols)
    assert got.num_rows == 1000 and sorted(got.column_names) == sorted(expected.column_names)
    got = got.select(expected.column_names)
    assert got.schema.equals(expected.schema, check_metadata=True), (got.schema, expected.schema)
    assert got.equals(expected)


# --- the shapes values take ----------------------------------------------------------------


def test_text_escapes_and_unicode_survive() -> None:
    odd = ['quote " and \\ slash', "tab\tnew\nline", "nul\u0000inside", "emoji 😀 ok", "é", ""]
    rows = [{"_id": str(i), "title": s, "note": s} for i, s in enumerate(odd)]
    got = _assert_same(_page(rows))
    assert got[0].column("title").to_pylist() == odd
    assert got[0].column("note").to_pylist() == odd


def test_keys_that_come_late_in_other_orders_or_not_at_all() -> None:
    rows = [
        {"_id": "a", "title": "x"},
        {"title": "y", "_id": "b", "extra": 1, "obj": {"k": 1}},
        {"obj": {"j": "late", "k": None}, "_id": "c"},
        {"_id": "d", "extra": None, "obj": None, "later": [1, 2]},
    ]
    got = _assert_same(_page(rows))
    t = got[0]
    assert t.column("extra").to_pylist() == [None, 1, None, None]
    assert t.column("obj").to_pylist() == [
        None,
        {"k": 1, "j": None},
        {"k": None, "j": "late"},
        None,
    ]


def test_numbers_widen_as_arrow_widens_them() -> None:
    big, small = 2**63 - 1, -(2**63)
    rows = [
        {"_id": "a", "n": 1, "deep": {"v": 1}, "xs": [1, 2], "limits": big},
        {"_id": "b", "n": 2.5, "deep": {"v": 1e300}, "xs": [3.5], "limits": small},
        {"_id": "c", "n": -3, "deep": {"v": -0.0}, "xs": [], "limits": 0},
    ]
    t = _assert_same(_page(rows))[0]
    assert t.column("n").to_pylist() == [1.0, 2.5, -3.0]
    assert t.column("limits").to_pylist() == [big, small, 0]


def test_empty_things() -> None:
    rows = [
        {"_id": "a", "empty": {}, "none": [], "nulls": [None, None], "allnull": None},
        {"_id": "b", "empty": {}, "none": [], "nulls": [], "allnull": None},
    ]
    _assert_same(_page(rows))
    _assert_same(_page([]))


def test_lists_of_objects_with_varying_keys() -> None:
    rows = [
        {"_id": "a", "items": [{"name": "x", "qty": 1}, {"qty": 2, "sku": "s"}]},
        {"_id": "b", "items": [{"name": None}, {"name": "y", "qty": 3.5, "tags": ["t"]}]},
        {"_id": "c", "items": None},
    ]
    _assert_same(_page(rows))


_REFUSED: list[list[Any]] = [
    [{"_id": "a"}, 5],  # a row that is not an object
]


@pytest.mark.parametrize("rows", _REFUSED)
def test_what_the_decoder_refuses_the_reader_decides(rows: list[Any]) -> None:
    content = _page(rows)
    assert _decoder_refuses(content)
    _assert_same(content)


_OK = {"_id": "z", "title": "t", "orderIndex": 7, "label": ["L"], "hub": {"_id": "h", "lat": 1.5}}

#: (rows, the one field that does not fit a column): that field alone leaves the columns
_MISFITS: list[tuple[list[Any], str]] = [
    ([{"_id": "a", "x": 1}, {"_id": "b", "x": "one"}], "x"),  # a type that changes
    ([{"_id": "a", "x": True}, {"_id": "b", "x": 1}], "x"),
    ([{"_id": "a", "x": {"k": 1}}, {"_id": "b", "x": [1]}], "x"),
    ([{"_id": "a", "title": 5}], "title"),  # a documented text field holding a number
    ([{"_id": "a", "orderIndex": 1.5}], "orderIndex"),  # a documented integer, a float
    ([{"_id": "a", "orderIndex": 2.0}, _OK], "orderIndex"),  # ... a whole one
    ([{"_id": "a", "label": [1, 2]}], "label"),  # a documented list of text holding numbers
    ([{"_id": "a", "label": "one"}, _OK], "label"),  # ... a text (a list of one, note 21)
    ([{"_id": "a", "x": 2**64 - 1}], "x"),  # past int64
    ([_OK, {"_id": "a", "orderIndex": 2**64 - 1}], "orderIndex"),
    ([_OK, _OK, {"_id": "a", "title": {"t": 1}}], "title"),  # at the last row
    ([{"_id": "a", "title": ["t"]}, _OK, _OK], "title"),  # at the first row
    ([_OK, {"_id": "a", "startTime": 1728463665}], "startTime"),  # epoch seconds (note 6)
    ([_OK, {"_id": "a", "startTime": True}, _OK], "startTime"),
    ([_OK, {"_id": "a", "eta": 830}], "eta"),
    ([_OK, {"_id": "a", "status": 3}], "status"),
    ([_OK, {"_id": "a", "isDeleted": "no"}], "isDeleted"),
    ([_OK, {"_id": "a", "hub": {"_id": "h", "lat": "south"}}], "hub"),  # deep inside
    ([{"_id": "a", "hub": {"_id": 5}}, _OK], "hub"),
    ([_OK, {"_id": "a", "geoLock": [{"radius": 1}, {"radius": "far"}]}], "geoLock"),
    ([{"_id": "a", "x": [{"k": [{"d": True}]}]}, {"_id": "b", "x": [{"k": [{"d": 0}]}]}], "x"),
    ([_OK, {"_id": "a", "hub": "DC Cakung"}], "hub"),  # text where an object is documented
    ([_OK, {"_id": "a", "appVersion": "3.14.2"}, {"_id": "b", "appVersion": {"name": "5.21.3"}}],
     "appVersion"),
    ([{"_id": "a", "x": 1, "y": "a"}, {"_id": "b", "x": 2.5, "y": 2}], "y"),  # x widens: fits
]  # fmt: skip


@pytest.mark.parametrize(("rows", "field"), _MISFITS)
def test_a_field_that_does_not_fit_costs_that_column_not_the_page(
    rows: list[Any], field: str
) -> None:
    content = _page(rows)
    assert _demoted(content) == (field,)  # the page itself is decoded
    _assert_same(content)  # and reads as the Python path reads it


def test_an_object_field_holding_text_or_lists_of_text_reads_as_the_python_path() -> None:
    # appVersion as old apps send it (note 51), hub as text, assignedTo as a list of text:
    # JSON and Array of Object on every path (the fast ones said String, Array of String)
    rows = [{"_id": "a", "appVersion": "3.14.2", "hub": "DC", "assignedTo": ["x"]},
            {"_id": "b", "appVersion": None, "hub": "X", "assignedTo": None}]  # fmt: skip
    content = _page(rows)
    for native in (True, False):
        table = schema.PageParser(TASKS.rows, TASKS.listing, native=native).parse(content)[0]
        _assert_as_python_reads(content, table, TASKS, [])
        types = [schema.meta_of(table.schema.field(n))[0] for n in ("appVersion", "assignedTo")]
        assert types == [schema.F.JSON, schema.F.ARRAY_OBJECT]


def test_several_fields_that_do_not_fit_leave_the_columns_alone() -> None:
    rows = [{"_id": "a", "x": 1, "title": 5, "n": 1}, {"_id": "b", "x": "s", "n": 2}] * 3
    content = _page(rows)
    assert _demoted(content) == ("title", "x")  # in column order (documented ones first)
    _assert_same(content)


def test_a_column_that_does_not_fit_is_told_once_per_read() -> None:
    # one MileTypeWarning per column per read (a parser serves one read), not one per page
    parser = schema.PageParser(TASKS.rows, TASKS.listing)
    pages = [_page([_OK, {"_id": f"p{i}", "orderIndex": "soon", "eta": "noon"}]) for i in range(5)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables = [parser.parse(p)[0] for p in pages]
    assert sorted(_misfits(caught)) == ["eta", "orderIndex"]
    assert all(t.column("orderIndex").to_pylist() == ["7", "soon"] for t in tables)
    assert _demoted(pages[0]) == ("orderIndex",)  # eta is text: typed by Arrow, it falls back


def test_a_misfit_in_a_page_the_decoder_refuses_is_told_once_per_read_too() -> None:
    # the Python path (a key twice in a row: no decoder, no reader) warns through the parser
    from milekit.reads.pages import parse_page

    parser = schema.PageParser(TASKS.rows, TASKS.listing)
    page = b'{"tasks": {"total": 2, "data": [{"_id": "a", "orderIndex": "soon", "_id": "a"}]}}'
    assert _decoder_refuses(page)
    with pytest.raises(schema.FastPathMiss):
        schema.PageParser(TASKS.rows, TASKS.listing, native=False).parse(page)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(3):
            parse_page(parser, TASKS.rows, None, page, n + 1)
    assert _misfits(caught) == ["orderIndex"]


def test_a_page_arrows_reader_trips_over_is_read() -> None:
    # pyarrow 26's reader fails with ArrowIndexError (not a refusal) on a list of objects
    # whose first item is null and whose numbers widen; that escaped as a crash of the read
    content = _page([{"_id": "a", "items": [None, {"q": -4.97}, {"q": -9}]}])
    with pytest.raises(schema.FastPathMiss):  # the Python path reads it (frames)
        schema.PageParser(TASKS.rows, TASKS.listing, native=False).parse(content)
    got = schema.PageParser(TASKS.rows, TASKS.listing).parse(content)[0]
    assert got.column("items").to_pylist() == [[None, {"q": -4.97}, {"q": -9.0}]]


def test_a_null_row_reads_as_arrow_reads_it() -> None:
    _assert_same(_page([{"_id": "a", "x": 1}, None]))


def test_a_key_twice_in_one_object_is_refused_not_doubled() -> None:
    content = b'{"tasks": {"total": 1, "data": [{"_id": "a", "x": 1, "x": 2}]}}'
    assert _decoder_refuses(content)
    _assert_same(content)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b'{"tasks": {"data": [{"_id": "a"}',  # cut off
        b'{"tasks": {"data": [{"_id": "a"}]}} {"tasks": {}}',  # two documents
        b'{"tasks": null}',
        b'{"tasks": {"data": null}}',
        b'{"other": {"data": []}}',
        b'{"tasks": {"data": [{"_id": NaN}]}}',
    ],
)
def test_broken_pages_are_refused(content: bytes) -> None:
    assert _decoder_refuses(content)
    native, arrow = _both(content)
    refused = (schema.FastPathMiss, PageLimitError)  # Python's path, or a limit: no reader
    assert isinstance(native, refused) and isinstance(arrow, refused)


def test_text_that_is_not_utf8_is_refused_on_every_path() -> None:
    # yyjson validates UTF-8; Arrow's reader did not (the page read, then a cell failed
    # with UnicodeDecodeError when it was looked at): the page's limits refuse it first
    content = b'{"tasks": {"data": [{"_id": "\xff"}]}}'
    assert _decoder_refuses(content)
    native, arrow = _both(content)
    assert isinstance(native, PageLimitError) and isinstance(arrow, PageLimitError)


@pytest.mark.parametrize(
    ("envelope", "want"),
    [
        ({"total": 7, "last_page": 2}, (7, 2)),
        ({"total": 7.0, "last_page": None}, (7, None)),
        ({"total": "7", "last_page": True}, (None, None)),
    ],
)
def test_totals_read_as_the_reader_reads_them(
    envelope: dict[str, Any], want: tuple[Any, Any]
) -> None:
    got = _assert_same(_page([{"_id": "a"}], **envelope))
    assert got[1:] == want


# --- random pages ---------------------------------------------------------------------------

_SCALARS = {
    "int": lambda r: r.randint(-(10**12), 10**12),
    "float": lambda r: r.uniform(-1e6, 1e6),
    "num": lambda r: r.choice([r.randint(-9, 9), r.uniform(-9, 9)]),
    "text": lambda r: r.choice(["", "a", "Jakarta", 'ü"\\', "2026-10-29T11:58:37+00:00", "12:30"]),
    "bool": lambda r: r.random() < 0.5,
}


def _value(r: random.Random, kind: str, depth: int = 0) -> Any:
    if r.random() < 0.15:
        return None
    if kind in _SCALARS:
        return _SCALARS[kind](r)
    if kind.startswith("list:"):
        return [_value(r, kind[5:], depth + 1) for _ in range(r.randint(0, 3))]
    keys = kind.split(":", 1)[1].split(",")  # "obj:a=int,b=text"
    out = {}
    for k in keys:
        name, sub = k.split("=", 1)
        if r.random() < 0.8:
            out[name] = _value(r, sub, depth + 1)
    return out


_KINDS = [
    "int",
    "float",
    "num",
    "text",
    "bool",
    "list:text",
    "list:num",
    "obj:a=int,b=text",
    "list:obj:q=num",
]
_KNOWN = {"title": "text", "orderIndex": "int", "travelDuration": "num", "isDeleted": "bool"}


def _random_page(seed: int, most: int = 40, odd: float = 0.03) -> bytes:
    r = random.Random(seed)
    columns = {f"c{i}": r.choice(_KINDS) for i in range(r.randint(1, 12))}
    columns.update({k: v for k, v in _KNOWN.items() if r.random() < 0.5})
    rows: list[Any] = []
    for i in range(r.randint(0, most)):
        row = {"_id": f"id{i}"}
        names = list(columns)
        if r.random() < 0.3:  # keys in another order than the rows before
            r.shuffle(names)
        for name in names:
            if r.random() < 0.85:
                row[name] = _value(r, columns[name])
        if r.random() < odd:  # now and then a value of another type
            row[r.choice(names)] = r.choice([1, "x", True, [1], {"z": 1}])
        rows.append(row)
    return _page(rows)


@pytest.mark.parametrize("seed", range(300))
def test_random_pages_read_the_same(seed: int) -> None:
    _assert_same(_random_page(seed))


def test_threads_decode_at_once(client: milekit.Client) -> None:
    # the decoder runs without the GIL: pages parsed by several threads stay whole
    content = client.request("GET", "/tasks", params={"limit": 500}, raw=True).content
    parser = schema.PageParser(TASKS.rows, TASKS.listing)
    want = parser.parse(content)[0]
    got: list[pa.Table] = []

    def work() -> None:
        for _ in range(10):
            got.append(parser.parse(content)[0])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 40 and all(t.equals(want) for t in got)


_NO_COMPILER = """
import importlib.abc, sys

class NoCompiler(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "milekit.types._pagejson":
            raise ImportError("built without a C compiler")
        return None

sys.meta_path.insert(0, NoCompiler())
"""

_READ = """
import milekit
from milekit.sandbox import Sandbox
from milekit.types import schema

with Sandbox(tasks=300) as sb, milekit.Client(sb.token, sb.url, limiter="process") as c:
    df = milekit.tasks_frame(client=c, progress=False)
print(schema.NATIVE, len(df), str(df["createdTime"].dtype), str(df["status"].dtype))
"""


@pytest.mark.parametrize("how", ["built without a compiler", "MILEKIT_NATIVE=0"])
def test_without_the_decoder_pages_go_through_arrows_reader(how: str) -> None:
    import subprocess
    import sys

    code = _READ if how == "MILEKIT_NATIVE=0" else _NO_COMPILER + _READ
    env = {**os.environ, "MILEKIT_NATIVE": "0" if how == "MILEKIT_NATIVE=0" else "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "300", "datetime64[us,", "UTC]", "category"]


_UNDER_SANITIZERS = """
import importlib.machinery, importlib.util, sys
spec = importlib.util.spec_from_file_location(
    "milekit.types._pagejson",
    sys.argv[1],
    loader=importlib.machinery.ExtensionFileLoader("milekit.types._pagejson", sys.argv[1]),
)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.modules["milekit.types._pagejson"] = module
sys.path[:0] = [sys.argv[2], sys.argv[3]]
import test_pagejson as T
from tests.types import test_pagejson_hostile as H
from milekit.types import schema
assert schema._pagejson is module
for seed in range(2000):
    T._assert_same(T._random_page(seed))
for seed in range(20):  # buffers that grow many times, past every power of two
    page = T._random_page(seed, most=5000, odd=0)
    assert not T._decoder_refuses(page)
    T._assert_same(page)
for rows in T._REFUSED:
    assert T._decoder_refuses(T._page(rows))
for rows, field in T._MISFITS:
    assert T._demoted(T._page(rows)) == (field,)
    T._assert_same(T._page(rows))
# hostile pages: real ones (sandbox, random) mutated; each read and imported, or refused
pages = [open(p, "rb").read() for p in sys.argv[4:]] + [T._random_page(s) for s in range(20)]
seen = H.mutation_fuzz(pages, 3000, seed=1)
assert all(seen.values()), seen
# the whole parse path (decoder, page limits, Arrow's reader, orjson) on mutated task pages,
# decoder on and off: the rows the plain orjson path reads, or a milekit error
import orjson
from tests.types import page_fuzz as P
rows = orjson.loads(pages[0])["tasks"]["data"]
for native in (True, False):
    counts = P.check(P.fuzz(rows, seed=3, count=1000), native)
    assert counts["same rows"] > 50 and counts["milekit error"] > 50, counts
print("ok")
"""


@pytest.mark.slow
def test_the_decoder_under_address_and_undefined_behaviour_sanitizers(
    tmp_path: Any, client: milekit.Client
) -> None:
    # every buffer write, offset and release of the C decoder checked on 2,020 random pages
    # and 3,000 mutated ones (cut, flipped, nested deep, many keys, NULs, huge numbers);
    # then 2 x 1,000 mutated task pages through the whole parse path (page_fuzz.py)
    import shutil
    import subprocess
    import sys
    import sysconfig
    from pathlib import Path

    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc is needed for the sanitizers")
    libs = [
        subprocess.run([cc, f"-print-file-name={n}"], capture_output=True, text=True).stdout
        for n in ("libasan.so", "libubsan.so")
    ]
    native = Path(schema.__file__).parent / "native"
    built = tmp_path / ("_pagejson" + sysconfig.get_config_var("EXT_SUFFIX"))
    flags = ["-fsanitize=address,undefined,float-cast-overflow", "-fno-sanitize-recover=all"]
    flags += ["-O1", "-g"]
    compile_ = [cc, "-shared", "-fPIC", *flags, f"-I{sysconfig.get_paths()['include']}"]
    yyjson = Path(__file__).resolve().parents[2] / "vendor" / "yyjson"
    compile_ += [f"-I{native}", f"-I{yyjson}", str(native / "pagejson.c"), str(yyjson / "yyjson.c")]
    subprocess.run([*compile_, "-o", str(built)], check=True, timeout=300)
    env = {
        **os.environ,
        "LD_PRELOAD": " ".join(lib.strip() for lib in libs),
        "ASAN_OPTIONS": "detect_leaks=0",  # CPython itself keeps memory until exit
    }
    pages = []
    for path, limit in (("/tasks", 30), ("/tasks", 3), ("/location-histories", 20)):
        pages.append(tmp_path / f"page{len(pages)}.json")
        content = client.request("GET", path, params={"limit": limit}, raw=True).content
        pages[-1].write_bytes(content)
    here = Path(__file__).parent
    out = subprocess.run(
        [sys.executable, "-c", _UNDER_SANITIZERS, str(built), str(here), str(here.parent.parent)]
        + [str(p) for p in pages],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_the_parser_knows_the_decoders_word_for_text_that_is_not_json() -> None:
    # PageParser runs the page limits before Arrow's reader on exactly these refusals (the
    # decoder's second pass could only count their brackets): the two must agree
    for content in (b"not json", b'{"tasks": {"data": [{"_id": NaN}]}}', b'{"a": "\xff"}'):
        with pytest.raises(ValueError) as refused:
            schema._pagejson.decode(content, TASKS.listing.envelope, "data", [])
        assert str(refused.value) == schema._NOT_JSON
