"""(e) Adaptive pacing: a read while someone else spends part of the organisation's budget.

A sandbox process serves N tasks and enforces a limit of ``--server-limit`` requests per
second (default 40: other tools of the organisation, invisible to milekit, spend the other
60 of MileApp's 100). milekit's own limiter allows 100 (``limiter="process"``), so the
server refuses what the others spent. The same read (N tasks, ``--page`` rows per page) is
run with ``adaptive=False`` (the limiter and the client-wide back-off after a 429 only)
and ``adaptive=True`` (the AIMD pacer of ``milekit.wire.pacing`` on top), alternating,
``--rounds`` times each, in one run. Reported: the 429s the server sent, the wall time,
the rows per second, and the pacer's waits.

Goal: fewer 429s with pacing (the point: every 429 also costs the other tools, whose
requests meet a full window), at a throughput no lower than without.

Run::

    /work/venv/bin/python bench/bench_pacing.py            # 40,000 tasks, 2 rounds
    /work/venv/bin/python bench/bench_pacing.py --quick    # 15,000 tasks, 1 round

Writes ``bench/results/bench_pacing.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _common import SandboxProcess, table, write_result

import milekit


def one_read(sb: SandboxProcess, adaptive: bool, page: int) -> dict[str, Any]:
    time.sleep(1.5)  # an empty window at the server
    before = sb.stats()["rejected_429"]
    with milekit.Client(sb.token, sb.url, limiter="process", adaptive=adaptive) as c:
        t0 = time.perf_counter()
        df = milekit.tasks_frame(client=c, progress=False, limit=page)
        wall = time.perf_counter() - t0
        st = c.stats
    return {
        "adaptive": adaptive,
        "rows": len(df),
        "wall_s": wall,
        "rows_per_s": len(df) / wall,
        "requests": st.requests,
        "requests_per_s": st.requests / wall,
        "server_429": sb.stats()["rejected_429"] - before,
        "backoff_wait_s": st.backoff_wait,
        "pacing_wait_s": st.pacing_wait,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--server-limit", type=int, default=40)
    ap.add_argument("--page", type=int, default=100, help="rows per request")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    tasks = 15_000 if args.quick else 40_000
    rounds = args.rounds or (1 if args.quick else 2)
    runs: list[dict[str, Any]] = []
    with SandboxProcess(tasks=tasks, rate_limit=args.server_limit, latency=0.0) as sb:
        for _ in range(rounds):
            for adaptive in (False, True):
                r = one_read(sb, adaptive, args.page)
                print(
                    f"  adaptive={adaptive!s:5}: {r['wall_s']:.1f}s, "
                    f"{r['requests_per_s']:.1f} req/s, {r['server_429']} x 429"
                )
                runs.append(r)
    summary: dict[str, Any] = {"tasks": tasks, "server_limit": args.server_limit, "runs": runs}
    rows = []
    for adaptive in (False, True):
        mine = [r for r in runs if r["adaptive"] is adaptive]
        key = "adaptive" if adaptive else "fixed"
        summary[f"{key}_429_mean"] = statistics.mean(r["server_429"] for r in mine)
        summary[f"{key}_req_per_s_mean"] = statistics.mean(r["requests_per_s"] for r in mine)
        summary[f"{key}_wall_s_mean"] = statistics.mean(r["wall_s"] for r in mine)
        rows.append((
            key, f"{summary[f'{key}_wall_s_mean']:.1f}", f"{summary[f'{key}_req_per_s_mean']:.1f}",
            f"{summary[f'{key}_429_mean']:.1f}",
        ))  # fmt: skip
    fixed_429 = summary["fixed_429_mean"]
    summary["429_ratio_adaptive_over_fixed"] = summary["adaptive_429_mean"] / max(fixed_429, 1)
    summary["throughput_ratio_adaptive_over_fixed"] = (
        summary["adaptive_req_per_s_mean"] / summary["fixed_req_per_s_mean"]
    )
    print()
    print(table(rows, ("client", "wall s", "requests/s", "429s")))
    print(
        f"429s adaptive/fixed = {summary['429_ratio_adaptive_over_fixed']:.2f}, "
        f"throughput adaptive/fixed = {summary['throughput_ratio_adaptive_over_fixed']:.2f} "
        f"(server allows {args.server_limit}/s)"
    )
    print(f"wrote {write_result('bench_pacing', summary)}")


if __name__ == "__main__":
    main()
