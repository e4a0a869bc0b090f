"""(c) Peak memory of ``milekit.export("tasks", "x.parquet")``: does it stay flat with size?

A sandbox process (100 req/s limit, no latency) serves N tasks. A fresh child process runs
*only* the export (``limiter="process"``) and reports its own peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``, which excludes the sandbox process) and the RSS after
imports. We compare 200,000 with 1,000,000 tasks (goal: peaks within 20%), and report
rows/s. For context, the baseline ``tasks_frame()`` + ``df.to_parquet`` runs at the
smaller size in its own child.

Run::

    /work/venv/bin/python bench/bench_export_memory.py           # 200k vs 1M tasks
    /work/venv/bin/python bench/bench_export_memory.py --quick   # 50k vs 200k tasks

The 1M-task sandbox process needs several GB of RAM and ~1 min to seed.
Writes ``bench/results/bench_export_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import SandboxProcess, table, write_result

HERE = Path(__file__).resolve()


def child(mode: str, url: str, token: str, out: str) -> None:
    """Runs in the measured process: one export (or the baseline), then its peak RSS."""
    import resource

    import milekit

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    client = milekit.Client(token=token, base_url=url, limiter="process")
    t0 = time.perf_counter()
    if mode == "export":
        rows = milekit.export("tasks", out, client=client, progress=False).rows
    else:
        df = milekit.tasks_frame(client=client, progress=False)
        df.to_parquet(out)
        rows = len(df)
    wall = time.perf_counter() - t0
    client.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "mode": mode,
        "rows": rows,
        "wall_s": wall,
        "rows_per_s": rows / wall,
        "peak_rss_mb": peak / 1024,
        "rss_after_imports_mb": rss0 / 1024,
        "file_mb": Path(out).stat().st_size / 1e6,
        "requests": client.stats.requests,
        "client_429": client.stats.rate_limited,
    }
    print(json.dumps(result), flush=True)


def measure(mode: str, tasks: int) -> dict[str, Any]:
    with SandboxProcess(tasks=tasks, rate_limit=100, latency=0.0) as sb:
        print(f"  sandbox with {tasks:,} tasks up in {sb.startup_s:.0f}s; running {mode}")
        time.sleep(1.2)
        with tempfile.TemporaryDirectory(prefix="milekit-bench-") as d:
            out = str(Path(d) / "x.parquet")
            proc = subprocess.run(
                [sys.executable, str(HERE), "--child", mode, sb.url, sb.token, out],
                capture_output=True,
                text=True,
                check=False,
            )
        if proc.returncode:
            raise RuntimeError(f"child failed:\n{proc.stderr}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        result["tasks"] = tasks
        result["server_429"] = sb.stats()["rejected_429"]
    print(
        f"    {mode} {tasks:,}: peak {result['peak_rss_mb']:.0f} MB, "
        f"{result['wall_s']:.1f}s, {result['rows_per_s']:,.0f} rows/s"
    )
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50k vs 200k tasks")
    args = ap.parse_args()
    small, large = (50_000, 200_000) if args.quick else (200_000, 1_000_000)

    res_small = measure("export", small)
    res_large = measure("export", large)
    res_base = measure("frame+to_parquet", small)

    ratio = res_large["peak_rss_mb"] / res_small["peak_rss_mb"]
    rows = [
        (
            f"milekit export, {r['tasks']:,} tasks",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['peak_rss_mb'] - r['rss_after_imports_mb']:.0f}",
            f"{r['wall_s']:.1f}",
            f"{r['rows_per_s']:,.0f}",
        )
        for r in (res_small, res_large)
    ]
    rows.append(
        (
            f"baseline tasks_frame + to_parquet, {small:,}",
            f"{res_base['peak_rss_mb']:.0f}",
            f"{res_base['peak_rss_mb'] - res_base['rss_after_imports_mb']:.0f}",
            f"{res_base['wall_s']:.1f}",
            f"{res_base['rows_per_s']:,.0f}",
        )
    )
    print()
    print(table(rows, ("run", "peak RSS MB", "above imports MB", "wall s", "rows/s")))
    ok = ratio <= 1.2
    print(
        f"peak({large:,}) / peak({small:,}) = {ratio:.2f} "
        f"(goal <= 1.20: {'MET' if ok else 'NOT MET'})"
    )
    path = write_result(
        "bench_export_memory",
        {
            "quick": args.quick,
            "small": res_small,
            "large": res_large,
            "baseline_frame_to_parquet": res_base,
            "peak_ratio_large_over_small": ratio,
            "baseline_over_export_peak_at_small": res_base["peak_rss_mb"]
            / res_small["peak_rss_mb"],
            "goal_met": ok,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
