"""(b) Page parsing speed with no network: milekit's Arrow parser vs json + pandas.

The page bodies are fetched once from a sandbox process (no latency, no rate limit), so
they are byte-for-byte what ``GET /tasks?limit=1000&page=N`` answers. Then, in memory:

(i)   milekit, as ``frame()`` runs it: ``PageParser(TASKS.rows, TASKS.listing).parse`` and
      ``schema.python_cells`` on every page (serially, and in a ``ThreadPoolExecutor`` of
      2 and 4 workers: Arrow's JSON reader releases the GIL), then ``schema.unify``,
      ``schema.join_cells`` and ``schema.to_pandas(index="_id")``, GC paused;
(ii)  baseline: stdlib ``json.loads`` per page, ``pd.json_normalize`` of all rows and
      ``pd.to_datetime(utc=True, format="mixed")`` on the six datetime columns;
(iii) reference: ``pyarrow.json.read_json`` of the same rows as NDJSON (one task a line;
      building the NDJSON is not timed) + ``to_pandas``, untyped.

Each variant runs 3 times; the best is kept. The headline is baseline / milekit (goal >=3x).

Run::

    /work/venv/bin/python bench/bench_parse.py           # 200 pages (200,000 tasks)
    /work/venv/bin/python bench/bench_parse.py --quick   # 20 pages

Writes ``bench/results/bench_parse.json``.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.json as pj
import requests
from _common import DATETIME_COLUMNS, SandboxProcess, table, write_result

from milekit.reads.table import gc_paused
from milekit.types import registry, schema

PAGE = 1000


def fetch_pages(pages: int) -> list[bytes]:
    with SandboxProcess(tasks=pages * PAGE, rate_limit=None, latency=0.0) as sb:
        s = requests.Session()
        s.trust_env = False
        s.headers["Authorization"] = f"Bearer {sb.token}"
        out = []
        for n in range(1, pages + 1):
            r = s.get(f"{sb.url}/tasks", params={"limit": PAGE, "page": n})
            r.raise_for_status()
            out.append(r.content)
        s.close()
    return out


def milekit_parse(bodies: list[bytes], workers: int) -> pd.DataFrame:
    """What ``milekit.frame`` does with the pages, minus the network: per page (in the
    fetching threads) Arrow parse + typing and the Python cells of nested columns; then
    unify, join and convert, with the cyclic GC paused."""
    parser = schema.PageParser(registry.TASKS.rows, registry.TASKS.listing)

    def one(b: bytes) -> tuple[pa.Table, dict[str, Any]]:
        table = parser.parse(b)[0]
        return table, schema.python_cells(table)

    with gc_paused(), ThreadPoolExecutor(workers) as pool:
        if workers <= 1:
            parsed = [one(b) for b in bodies]
        else:
            # page 1 alone first, as the client does: the parser learns its text columns once
            first = one(bodies[0])
            parsed = [first, *pool.map(one, bodies[1:])]
        tables = [t for t, _ in parsed]
        table = schema.unify(tables)
        cells = schema.join_cells(tables, [c for _, c in parsed], table.schema)
        # the columns are converted on the same number of threads, as frame() does
        return schema.to_pandas(table, index="_id", cells=cells, pool=pool)


def baseline_parse(bodies: list[bytes]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for b in bodies:
        rows.extend(json.loads(b)["tasks"]["data"])
    df = pd.json_normalize(rows)
    for col in DATETIME_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True, format="mixed")
    return df


def ndjson_of(bodies: list[bytes]) -> bytes:
    buf = io.BytesIO()
    for b in bodies:
        for row in orjson.loads(b)["tasks"]["data"]:
            buf.write(orjson.dumps(row))
            buf.write(b"\n")
    return buf.getvalue()


def arrow_ndjson(data: bytes) -> pd.DataFrame:
    t = pj.read_json(pa.BufferReader(data))
    return t.to_pandas()


def best_of(fn: Callable[[], pd.DataFrame], repeat: int) -> tuple[float, list[float], Any]:
    times = []
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 pages instead of 200")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pages = 20 if args.quick else 200

    t0 = time.perf_counter()
    bodies = fetch_pages(pages)
    mb = sum(map(len, bodies)) / 1e6
    print(f"{pages} page bodies ({mb:.0f} MB) fetched in {time.perf_counter() - t0:.1f}s")
    nd = ndjson_of(bodies)

    variants: dict[str, Callable[[], pd.DataFrame]] = {
        "milekit (1 thread)": lambda: milekit_parse(bodies, 1),
        "milekit (2 threads)": lambda: milekit_parse(bodies, 2),
        "milekit (4 threads)": lambda: milekit_parse(bodies, 4),
        "baseline json.loads + json_normalize + to_datetime": lambda: baseline_parse(bodies),
        "reference pyarrow.json NDJSON (untyped)": lambda: arrow_ndjson(nd),
    }
    results: dict[str, dict[str, Any]] = {}
    for name, fn in variants.items():
        best, times, df = best_of(fn, args.repeat)
        results[name] = {"best_s": best, "times_s": times, "rows": len(df), "cols": df.shape[1]}
        print(f"  {name}: best {best:.2f}s of {[round(t, 2) for t in times]}")
        del df

    base = results["baseline json.loads + json_normalize + to_datetime"]["best_s"]
    mk = min(v["best_s"] for k, v in results.items() if k.startswith("milekit"))
    rows = [
        (
            k,
            f"{v['best_s']:.2f}",
            f"{v['rows'] / v['best_s'] / 1e3:.0f}k",
            f"{base / v['best_s']:.1f}x",
            v["cols"],
        )
        for k, v in results.items()
    ]
    print()
    print(f"{pages} pages x {PAGE} tasks ({mb:.0f} MB JSON), best of {args.repeat}")
    print(table(rows, ("variant", "best s", "rows/s", "baseline / this", "columns")))
    ratio = base / mk
    print(
        f"baseline / best milekit = {ratio:.1f}x (goal >= 3x: {'MET' if ratio >= 3 else 'NOT MET'})"
    )
    path = write_result(
        "bench_parse",
        {
            "quick": args.quick,
            "pages": pages,
            "page_size": PAGE,
            "json_mb": mb,
            "repeat": args.repeat,
            "variants": results,
            "baseline_over_milekit": {
                k: base / v["best_s"] for k, v in results.items() if k.startswith("milekit")
            },
            "baseline_over_best_milekit": ratio,
            "goal_met": ratio >= 3,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
