"""(e) The long soak of issue 12: reads and a push through a realistic fault mix.

A sandbox process serves N tasks (50,000 by default) behind MileApp's 100 req/s limit,
with faults on every request: 10% 5xx drawn from 500/502/503/504, 5% dropped
connections, and 429 bursts (2% of requests start a run of four 429s with
``Retry-After: 1``, as when another client of the organisation spends the budget). Retries
really wait here (the fast, seeded version of this is ``tests/wire/test_read_faults.py``).

* **Reads**: ``tasks_frame()`` of every task, once per seed (ten seeds): did it complete,
  rows lost, rows doubled, 429s the server sent on its own account (over the limit: "self
  inflicted", must be 0), retries, seconds. The baseline in the same run is the naive read
  (a ``requests`` loop over the pages, no retries), which gets no further than its first
  fault.
* **Push**: 5,000 edited tasks through the same mix, in chunks of about 100 rows (so that
  many requests meet the faults): every row ``ok`` or reported (never silently dropped), no
  write applied twice (the server's write log), seconds.

Run::

    python bench/bench_soak.py            # 50,000 tasks, 10 seeds, a push of 5,000
    python bench/bench_soak.py --quick    # 10,000 tasks, 3 seeds, a push of 1,000

Writes ``bench/results/bench_soak.json``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import requests
from _common import SandboxProcess, table, write_result

import milekit

ERROR, DROP, BURST = 0.10, 0.05, 0.02


def read_once(sb: SandboxProcess, seed: int, expected: set[str]) -> dict[str, Any]:
    sb.command(f"faults {seed} {ERROR} {DROP} {BURST}")
    client = milekit.Client(sb.token, sb.url, limiter="process", seed=seed)
    t0 = time.perf_counter()
    try:
        df = milekit.tasks_frame(client=client, progress=False)
        ids = list(df.index)
        done, error = True, ""
    except milekit.MileError as e:  # IncompleteReadError: keep what came
        partial = getattr(e, "partial", None)
        ids = list(partial.index) if partial is not None else []
        done, error = False, type(e).__name__
    seconds = time.perf_counter() - t0
    stats = client.stats
    client.close()
    server = sb.stats()
    return {
        "seed": seed,
        "completed": done,
        "error": error,
        "rows": len(ids),
        "lost": len(expected - set(ids)),
        "doubled": len(ids) - len(set(ids)),
        "self_inflicted_429": server["rejected_429"],
        "requests": stats.requests,
        "retries": stats.retries,
        "seconds": round(seconds, 1),
    }


def naive_read(sb: SandboxProcess, seed: int) -> dict[str, Any]:
    """The baseline: a plain loop over the pages, as the operators' tools read (no retry)."""
    sb.command(f"faults {seed} {ERROR} {DROP} {BURST}")
    rows, page, t0 = 0, 1, time.perf_counter()
    headers = {"Authorization": f"Bearer {sb.token}"}
    try:
        while True:
            r = requests.get(
                sb.url + "/tasks", params={"limit": 1000, "page": page}, headers=headers
            )
            r.raise_for_status()
            body = r.json()["tasks"]
            rows += len(body["data"])
            if page >= body["last_page"]:
                return {"completed": True, "rows": rows, "seconds": time.perf_counter() - t0}
            page += 1
    except (requests.RequestException, ValueError, KeyError) as e:
        return {"completed": False, "rows": rows, "error": type(e).__name__, "failed_at": page}


def push_once(sb: SandboxProcess, n: int, seed: int) -> dict[str, Any]:
    sb.command(f"faults {seed} 0 0 0")
    client = milekit.Client(sb.token, sb.url, limiter="process", seed=seed)
    df = milekit.tasks_frame(client=client, progress=False, limit=1000)
    edit = df.index[:n]
    df.loc[edit, "title"] = df.loc[edit, "title"] + " (soak)"
    df.loc[edit, "waitingTime"] = 13
    before = sb.command("writes")
    sb.command(f"faults {seed} {ERROR} {DROP} {BURST}")
    t0 = time.perf_counter()
    # chunks of ~100 rows (not one bulk request of 2,000): many requests meet the faults
    result = milekit.push(df, client=client, progress=False, max_request_bytes=16_384)
    seconds = time.perf_counter() - t0
    sb.command(f"faults {seed} 0 0 0")
    after = sb.command("writes")
    client.close()
    written = result.frame[result.frame["action"] != "none"]
    return {
        "rows": len(written),
        "counts": written["status"].value_counts().to_dict(),
        "all_ok_or_reported": bool(written["status"].notna().all()),
        "writes": after["writes"] - before["writes"],
        "max_writes_per_task": after["max_per_id"],
        "requests": len(result.requests),
        "reads": result.reads,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    tasks, seeds, push_n = (10_000, 3, 1_000) if args.quick else (50_000, 10, 5_000)
    with SandboxProcess(tasks=tasks, rate_limit=100, seed=7) as sb:
        with milekit.Client(sb.token, sb.url, limiter="process") as c:
            expected = set(milekit.tasks_frame(client=c, progress=False, fields="_id").index)
        reads = [read_once(sb, seed, expected) for seed in range(1, seeds + 1)]
        naive = [naive_read(sb, seed) for seed in range(1, 4)]
        push = push_once(sb, push_n, seed=99)
    print(
        table(
            [
                tuple(r[k] for k in ("seed", "completed", "rows", "lost", "doubled"))
                + tuple(r[k] for k in ("self_inflicted_429", "retries", "seconds"))
                for r in reads
            ],
            ("seed", "completed", "rows", "lost", "doubled", "own 429", "retries", "s"),
        )
    )
    print("naive loop:", naive)
    print("push:", push)
    write_result(
        "bench_soak",
        {
            "tasks": tasks,
            "faults": {"5xx": ERROR, "drops": DROP, "429_burst_starts": BURST, "burst": 4},
            "reads": reads,
            "reads_completed": f"{sum(r['completed'] for r in reads)} of {len(reads)}",
            "naive_baseline": naive,
            "push": push,
        },
    )


if __name__ == "__main__":
    main()
