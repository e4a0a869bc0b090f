"""(a) Fetch throughput against a rate-limited, slow API: ``tasks_frame()`` vs a naive loop.

A sandbox process serves N tasks; every answer is delayed by 100 ms and the sandbox
enforces MileApp's 100 req/s organisation limit (429 + Retry-After). We fetch all tasks as
pages of 1000 and report:

* milekit ``tasks_frame()`` wall time as a multiple of the rate *floor* (pages / 100 req/s;
  2.0 s for 200 pages), with the 429 count seen by the client and by the server. Measured
  with ``limiter="process"`` (in-memory bucket) and ``"shared"`` (the default, SQLite).
* the baseline in the same run: a sequential ``requests.get`` loop over pages 1..N, then
  ``pd.json_normalize`` of all rows and ``pd.to_datetime(utc=True, format="mixed")`` on the
  six datetime columns.

Goal: milekit <= 1.5x the floor, zero 429s.

Run::

    /work/venv/bin/python bench/bench_fetch.py           # 200,000 tasks, 200 pages
    /work/venv/bin/python bench/bench_fetch.py --quick   # 20,000 tasks, 20 pages

Writes ``bench/results/bench_fetch.json``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd
import requests
from _common import DATETIME_COLUMNS, SandboxProcess, table, write_result

import milekit

RATE = 100  # requests per second, enforced by the sandbox
LATENCY = 0.1  # seconds added to every answer
PAGE = 1000


def settle(sb: SandboxProcess) -> None:
    """Let the server's 1 s sliding window empty so each run starts with a full budget."""
    time.sleep(1.2)


def run_milekit(sb: SandboxProcess, limiter: str) -> dict[str, Any]:
    before = sb.stats()
    client = milekit.Client(token=sb.token, base_url=sb.url, limiter=limiter)  # type: ignore[arg-type]
    try:
        t0 = time.perf_counter()
        df = milekit.tasks_frame(client=client, progress=False)
        wall = time.perf_counter() - t0
        stats = client.stats
    finally:
        client.close()
    after = sb.stats()
    return {
        "wall_s": wall,
        "rows": len(df),
        "requests": stats.requests,
        "client_429": stats.rate_limited,
        "retries": stats.retries,
        "retry_wait_s": stats.retry_wait,
        "server_429": after["rejected_429"] - before["rejected_429"],
        "server_requests": after["requests"] - before["requests"],
    }


def run_baseline(sb: SandboxProcess, pages: int) -> dict[str, Any]:
    before = sb.stats()
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {sb.token}", "Accept": "application/json"}
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    status_429 = 0
    for n in range(1, pages + 1):
        r = session.get(f"{sb.url}/tasks", params={"limit": PAGE, "page": n}, headers=headers)
        if r.status_code == 429:  # never expected: one request at a time, >= 100 ms each
            status_429 += 1
        r.raise_for_status()
        rows.extend(r.json()["tasks"]["data"])
    t_fetch = time.perf_counter() - t0
    df = pd.json_normalize(rows)
    for col in DATETIME_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True, format="mixed")
    wall = time.perf_counter() - t0
    session.close()
    after = sb.stats()
    return {
        "wall_s": wall,
        "fetch_s": t_fetch,
        "parse_s": wall - t_fetch,
        "rows": len(df),
        "requests": pages,
        "client_429": status_429,
        "server_429": after["rejected_429"] - before["rejected_429"],
        "server_requests": after["requests"] - before["requests"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 tasks / 20 pages")
    ap.add_argument("--repeat", type=int, default=3, help="milekit runs per limiter (best kept)")
    args = ap.parse_args()
    tasks = 20_000 if args.quick else 200_000
    pages = tasks // PAGE
    floor = pages / RATE

    print(f"starting sandbox process: {tasks:,} tasks, {LATENCY * 1000:.0f} ms, {RATE} req/s")
    with SandboxProcess(tasks=tasks, latency=LATENCY, rate_limit=RATE) as sb:
        print(f"sandbox up in {sb.startup_s:.1f}s at {sb.url}")
        runs: dict[str, list[dict[str, Any]]] = {"process": [], "shared": []}
        for i in range(args.repeat):
            for limiter in runs:
                settle(sb)
                r = run_milekit(sb, limiter)
                runs[limiter].append(r)
                print(
                    f"  milekit[{limiter}] run {i + 1}: {r['wall_s']:.2f}s "
                    f"({r['wall_s'] / floor:.2f}x floor), 429s client={r['client_429']} "
                    f"server={r['server_429']}"
                )
        settle(sb)
        base = run_baseline(sb, pages)
        print(f"  baseline: {base['wall_s']:.2f}s (fetch {base['fetch_s']:.2f}s)")

    best = {k: min(v, key=lambda r: r["wall_s"]) for k, v in runs.items()}
    rows = []
    for limiter, r in best.items():
        total_429 = sum(x["client_429"] for x in runs[limiter])
        server_429 = sum(x["server_429"] for x in runs[limiter])
        rows.append(
            (
                f"milekit tasks_frame (limiter={limiter}, best of {len(runs[limiter])})",
                f"{r['wall_s']:.2f}",
                f"{r['wall_s'] / floor:.2f}x",
                f"{base['wall_s'] / r['wall_s']:.1f}x",
                f"{total_429}/{server_429}",
            )
        )
    rows.append(
        (
            "baseline requests loop + json_normalize",
            f"{base['wall_s']:.2f}",
            f"{base['wall_s'] / floor:.2f}x",
            "1.0x",
            f"{base['client_429']}/{base['server_429']}",
        )
    )
    print()
    print(f"{tasks:,} tasks, {pages} pages of {PAGE}, {LATENCY * 1000:.0f} ms/answer, ")
    print(f"server limit {RATE} req/s -> floor {floor:.2f}s")
    print(table(rows, ("run", "wall s", "x floor", "speed-up vs baseline", "429s client/server")))
    p = best["process"]
    ok = p["wall_s"] <= 1.5 * floor and all(
        x["client_429"] == 0 and x["server_429"] == 0 for x in runs["process"]
    )
    print(f"goal (<=1.5x floor, zero 429s, limiter=process): {'MET' if ok else 'NOT MET'}")
    path = write_result(
        "bench_fetch",
        {
            "quick": args.quick,
            "tasks": tasks,
            "pages": pages,
            "page_size": PAGE,
            "latency_s": LATENCY,
            "rate_limit_per_s": RATE,
            "floor_s": floor,
            "milekit_runs": runs,
            "milekit_best": best,
            "milekit_x_floor": {k: v["wall_s"] / floor for k, v in best.items()},
            "baseline": base,
            "baseline_x_floor": base["wall_s"] / floor,
            "speedup_vs_baseline": {k: base["wall_s"] / v["wall_s"] for k, v in best.items()},
            "goal_met": ok,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
