"""(d) Push throughput: ``milekit.push()`` of N changed tasks vs one PATCH per row.

A sandbox process serves N tasks; every answer is delayed by 100 ms and the sandbox
enforces MileApp's 100 req/s organisation limit (429 + Retry-After). We fetch the tasks,
change two cells of every row (``title`` and ``waitingTime``) the way a pandas user does,
and report:

* ``milekit.push()`` wall time (diff + validation + plan + bulk ``PATCH /tasks/bulk`` in
  chunks of <= 2000 rows and <= 512 KiB + the server applying them), the requests it made,
  the 429s seen by the client and by the server, and the time against two floors: the rate
  floor of the requests it made, and the rate floor of one request per row (what any
  per-row client cannot beat: N / 100 s);
* the time of the diff/plan alone (``dry_run=True``);
* ``milekit.push()`` with the bulk endpoints taken out of the registry (how a resource
  without bulk writes is pushed: one ``PATCH /task/{id}`` per row, 16 threads, paced by the
  client's limiter) on a sample of rows, against its rate floor (requests / 100 s);
* the baseline in the same run: a sequential ``requests.patch`` loop, one
  ``PATCH /task/{id}`` per row. At 100 ms per answer it runs ~N/9 s, so it is timed on a
  sample of rows and extrapolated linearly to N (the figure says so).

Goal: bulk well under the per-row floor; one by one <= 1.5x its rate floor; zero 429s.

Run::

    /work/venv/bin/python bench/bench_push.py           # 20,000 tasks, baseline sample 300
    /work/venv/bin/python bench/bench_push.py --quick   # 5,000 tasks, baseline sample 100

Writes ``bench/results/bench_push.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

import requests
from _common import SandboxProcess, table, write_result

import milekit
from milekit.types import registry

RATE = 100  # requests per second, enforced by the sandbox
LATENCY = 0.1  # seconds added to every answer


def settle() -> None:
    """Let the server's 1 s sliding window empty so each run starts with a full budget."""
    time.sleep(1.2)


def run_milekit(sb: SandboxProcess, tasks: int) -> dict[str, Any]:
    client = milekit.Client(token=sb.token, base_url=sb.url, limiter="process")
    try:
        t0 = time.perf_counter()
        df = milekit.tasks_frame(client=client, progress=False)
        fetch_s = time.perf_counter() - t0
        assert len(df) == tasks, len(df)
        df["title"] = df["title"] + " (pushed)"
        df["waitingTime"] = (df["waitingTime"].fillna(0) + 1).astype("Int64")
        t0 = time.perf_counter()
        plan = milekit.push(df, client=client, dry_run=True, progress=False).plan
        plan_s = time.perf_counter() - t0
        settle()
        before = sb.stats()
        requests_before = client.stats.requests
        t0 = time.perf_counter()
        result = milekit.push(df, client=client, progress=False)
        wall = time.perf_counter() - t0
        after = sb.stats()
        stats = client.stats
    finally:
        client.close()
    n_requests = stats.requests - requests_before
    return {
        "fetch_s": fetch_s,
        "plan_s": plan_s,
        "wall_s": wall,
        "rows": len(df),
        "rows_ok": result.counts["ok"],
        "cells": plan.cells,
        "requests": n_requests,
        "write_requests": len(result.requests),
        "items_per_request": [q.items for q in result.requests],
        "client_429": stats.rate_limited,
        "server_429": after["rejected_429"] - before["rejected_429"],
        "server_requests": after["requests"] - before["requests"],
        "own_floor_s": n_requests / RATE,
    }


def run_per_object(sb: SandboxProcess, rows: int) -> dict[str, Any]:
    """milekit.push where a resource has no bulk endpoint: one PATCH per row, paced by the
    client's limiter (the registry is patched to drop the bulk paths)."""
    no_bulk = dataclasses.replace(
        registry.TASKS, bulk_update_path=None, bulk_create_path=None, bulk_delete_path=None
    )
    with registry.overridden(tasks=no_bulk):
        client = milekit.Client(token=sb.token, base_url=sb.url, limiter="process")
        try:
            df = milekit.tasks_frame(client=client, progress=False)
            ids = df.index[:rows]
            df.loc[ids, "title"] = df.loc[ids, "title"] + " (one by one)"
            settle()
            before = sb.stats()
            requests_before = client.stats.requests
            t0 = time.perf_counter()
            result = milekit.push(df, client=client, progress=False)
            wall = time.perf_counter() - t0
            after = sb.stats()
            n_requests = client.stats.requests - requests_before
            client_429 = client.stats.rate_limited
        finally:
            client.close()
    return {
        "rows": rows,
        "rows_ok": result.counts["ok"],  # written (unchanged rows count apart)
        "wall_s": wall,
        "requests": n_requests,
        "floor_s": n_requests / RATE,
        "x_floor": wall / (n_requests / RATE),
        "client_429": client_429,
        "server_429": after["rejected_429"] - before["rejected_429"],
    }


def run_baseline(sb: SandboxProcess, ids: list[str]) -> dict[str, Any]:
    before = sb.stats()
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {sb.token}", "Accept": "application/json"}
    status_429 = 0
    t0 = time.perf_counter()
    for n, task_id in enumerate(ids):
        body = {"title": f"baseline {n}", "waitingTime": n % 30}
        r = session.patch(f"{sb.url}/task/{task_id}", json=body, headers=headers)
        if r.status_code == 429:  # never expected: one request at a time, >= 100 ms each
            status_429 += 1
        r.raise_for_status()
    wall = time.perf_counter() - t0
    session.close()
    after = sb.stats()
    return {
        "rows": len(ids),
        "wall_s": wall,
        "per_row_s": wall / len(ids),
        "client_429": status_429,
        "server_429": after["rejected_429"] - before["rejected_429"],
        "server_requests": after["requests"] - before["requests"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5,000 tasks, baseline on 100 rows")
    ap.add_argument("--sample", type=int, help="rows the baseline is timed on")
    args = ap.parse_args()
    tasks = 5_000 if args.quick else 20_000
    sample = args.sample or (100 if args.quick else 300)
    per_object = 300 if args.quick else 1_000
    per_row_floor = tasks / RATE

    print(f"starting sandbox process: {tasks:,} tasks, {LATENCY * 1000:.0f} ms, {RATE} req/s")
    with SandboxProcess(tasks=tasks, latency=LATENCY, rate_limit=RATE) as sb:
        print(f"sandbox up in {sb.startup_s:.1f}s at {sb.url}")
        m = run_milekit(sb, tasks)
        print(
            f"  milekit push: {m['wall_s']:.2f}s for {m['rows_ok']:,} rows in "
            f"{m['write_requests']} write requests (plan alone {m['plan_s']:.2f}s), "
            f"429s client={m['client_429']} server={m['server_429']}"
        )
        settle()
        p = run_per_object(sb, per_object)
        print(
            f"  milekit push, one PATCH per row: {p['wall_s']:.2f}s for {p['rows_ok']:,} rows, "
            f"{p['requests']} requests ({p['x_floor']:.2f}x the rate floor {p['floor_s']:.1f}s), "
            f"429s client={p['client_429']} server={p['server_429']}"
        )
        settle()
        with milekit.Client(token=sb.token, base_url=sb.url, limiter="process") as c:
            ids = list(milekit.tasks_frame(client=c, progress=False, fields="_id").index)
        settle()
        base = run_baseline(sb, ids[:sample])
        base["extrapolated_s"] = base["per_row_s"] * tasks
        print(
            f"  baseline: {base['wall_s']:.2f}s for {sample} rows "
            f"-> {base['extrapolated_s']:.0f}s extrapolated to {tasks:,}"
        )

    rows = [
        (
            "milekit.push (bulk PATCH, limiter=process)",
            f"{m['wall_s']:.2f}",
            f"{m['requests']}",
            f"{m['wall_s'] / per_row_floor:.3f}x",
            f"{base['extrapolated_s'] / m['wall_s']:.0f}x",
            f"{m['client_429']}/{m['server_429']}",
        ),
        (
            f"milekit.push, no bulk endpoint ({per_object} rows, extrapolated)",
            f"{p['wall_s'] / per_object * tasks:.0f}",
            f"{tasks}",
            f"{p['wall_s'] / per_object * tasks / per_row_floor:.2f}x",
            f"{base['per_row_s'] / (p['wall_s'] / per_object):.0f}x",
            f"{p['client_429']}/{p['server_429']}",
        ),
        (
            f"baseline PATCH /task/{{id}} loop ({sample} rows, extrapolated)",
            f"{base['extrapolated_s']:.0f}",
            f"{tasks}",
            f"{base['extrapolated_s'] / per_row_floor:.2f}x",
            "1x",
            f"{base['client_429']}/{base['server_429']}",
        ),
    ]
    print()
    print(f"{tasks:,} changed tasks (2 cells each), {LATENCY * 1000:.0f} ms/answer, ")
    print(f"server limit {RATE} req/s -> one-request-per-row floor {per_row_floor:.0f}s")
    print(
        table(
            rows,
            ("run", "wall s", "requests", "x per-row floor", "speed-up", "429s client/server"),
        )
    )
    ok = m["wall_s"] < per_row_floor and m["client_429"] == m["server_429"] == 0
    ok = ok and m["rows_ok"] == tasks
    ok = ok and p["client_429"] == p["server_429"] == 0 and p["x_floor"] <= 1.5
    print(
        "goal (bulk under the per-row floor, one-by-one <= 1.5x its rate floor, every row ok, "
        f"zero 429s): {'MET' if ok else 'NOT MET'}"
    )
    path = write_result(
        "bench_push",
        {
            "quick": args.quick,
            "tasks": tasks,
            "latency_s": LATENCY,
            "rate_limit_per_s": RATE,
            "per_row_floor_s": per_row_floor,
            "milekit": m,
            "milekit_x_per_row_floor": m["wall_s"] / per_row_floor,
            "milekit_x_own_floor": m["wall_s"] / m["own_floor_s"] if m["own_floor_s"] else None,
            "milekit_per_object": p,
            "baseline": base,
            "baseline_note": f"timed on {sample} rows, extrapolated linearly to {tasks}",
            "speedup_vs_baseline": base["extrapolated_s"] / m["wall_s"],
            "goal_met": ok,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
