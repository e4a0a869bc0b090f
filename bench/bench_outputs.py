"""(g) Client CPU seconds per 1000-task page for each output, beside ``orjson.loads``.

The page bodies are fetched once from a sandbox process (what ``GET /tasks?limit=1000``
answers). Then, in memory, on one thread (CPU time, ``time.process_time``: what the client
spends, whatever the cores), each output is built the way ``milekit.frame`` builds it:

- floor: ``orjson.loads`` of every page (decoding the JSON into Python objects, nothing
  typed: what any client pays at least);
- ``to="arrow"``: the C decoder's parse and typing per page, ``schema.unify``, the
  repeated-id check, the table with its metadata (``tasks_table()``);
- the same through Arrow's JSON reader, as an install without a C compiler reads (and as
  milekit read before the decoder);
- ``to="polars"``: the same table, then ``pl.from_arrow``;
- ``dtype_backend="pyarrow"``: the same table, then ``to_pandas(types_mapper=ArrowDtype)``;
- pandas (the default): per page the parse and the Python cells of nested columns, then
  unify, join and ``schema.to_pandas`` (numpy-nullable dtypes, Python dicts and lists in
  object columns).

Each output runs ``--repeat`` times (best kept). Reported: CPU seconds per page and the
ratio to the floor. Goals (issue 15): pandas <= 1.1x, Arrow <= 1.0x.

Run::

    /work/venv/bin/python bench/bench_outputs.py           # 50 pages, best of 5
    /work/venv/bin/python bench/bench_outputs.py --quick   # 10 pages, best of 3

Writes ``bench/results/bench_outputs.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import orjson
import pandas as pd
import polars as pl
import pyarrow as pa
from _common import table, write_result
from bench_parse import fetch_pages

from milekit.reads.table import gc_paused, one_per_id
from milekit.types import registry, schema

TASKS = registry.TASKS


def floor(bodies: list[bytes]) -> Any:
    return [orjson.loads(b) for b in bodies]


def arrow(bodies: list[bytes], native: bool = True) -> pa.Table:
    parser = schema.PageParser(TASKS.rows, TASKS.listing, native=native)
    t = schema.unify([parser.parse(b)[0] for b in bodies])
    return one_per_id(t, TASKS.id_field).replace_schema_metadata({b"milekit.resource": b"tasks"})


def arrow_reader(bodies: list[bytes]) -> pa.Table:
    return arrow(bodies, native=False)


def polars(bodies: list[bytes]) -> Any:
    return pl.from_arrow(arrow(bodies))


def pandas_arrow(bodies: list[bytes]) -> pd.DataFrame:
    return arrow(bodies).to_pandas(types_mapper=pd.ArrowDtype).set_index(TASKS.id_field)


def pandas_default(bodies: list[bytes]) -> pd.DataFrame:
    parser = schema.PageParser(TASKS.rows, TASKS.listing)
    tables, cells = [], []
    for b in bodies:
        t = parser.parse(b)[0]
        tables.append(t)
        cells.append(schema.python_cells(t))
    t = schema.unify(tables)
    joined = schema.join_cells(tables, cells, t.schema)
    return schema.to_pandas(t, index=TASKS.id_field, cells=joined)


OUTPUTS: dict[str, Callable[[list[bytes]], Any]] = {
    "orjson.loads (floor)": floor,
    'to="arrow"': arrow,
    'to="arrow" through Arrow\'s JSON reader (no C decoder)': arrow_reader,
    'to="polars"': polars,
    'dtype_backend="pyarrow"': pandas_arrow,
    "pandas (default)": pandas_default,
}


def cpu_per_page(fn: Callable[[list[bytes]], Any], bodies: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        with gc_paused():
            t0 = time.process_time()
            out = fn(bodies)
            best = min(best, time.process_time() - t0)
        del out
    return best / len(bodies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=None)
    args = ap.parse_args()
    pages = 10 if args.quick else 50
    repeat = args.repeat or (3 if args.quick else 5)
    bodies = fetch_pages(pages)
    results = {name: cpu_per_page(fn, bodies, repeat) for name, fn in OUTPUTS.items()}
    base = results["orjson.loads (floor)"]
    rows = [(name, f"{sec * 1000:.1f}", f"{sec / base:.2f}") for name, sec in results.items()]
    print(table(rows, ("output", "CPU ms per 1000-task page", "x floor")))
    summary = {
        "pages": pages,
        "repeat": repeat,
        "cpu_s_per_page": results,
        "ratio_to_floor": {k: v / base for k, v in results.items()},
    }
    print(f"wrote {write_result('bench_outputs', summary)}")


if __name__ == "__main__":
    main()
