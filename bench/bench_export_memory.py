"""(c) Wall time and peak memory of ``milekit.export`` and ``milekit.sync`` against
``tasks_frame()`` + ``df.to_parquet`` on the same data, and whether memory stays flat.

A sandbox process (100 req/s limit, no latency) serves N tasks. A fresh child process runs
*one* job (``limiter="process"``) and reports its own peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``, which excludes the sandbox process), the RSS after
imports and its wall time. Jobs, each at a small and a large size (200,000 and 1,000,000
tasks; ``--quick``: 50,000 and 200,000):

- ``export``: ``milekit.export("tasks", "x.parquet")``;
- ``sync``: ``milekit.sync("tasks", "lake")`` into an empty directory (the first, full run),
  then a second run (incremental: nothing changed, so only the open tasks are read again);
- ``frame+to_parquet``: the baseline, ``tasks_frame()`` then ``df.to_parquet``.

Goals: export and the first sync no slower than the baseline (ratio <= 1.0 within noise),
and their peaks at the large size within 20% of the small size's.

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
    """Runs in the measured process: one job, then its peak RSS."""
    import resource

    import milekit

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    client = milekit.Client(token=token, base_url=url, limiter="process")
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if mode == "export":
        rows = milekit.export("tasks", out, client=client, progress=False).rows
    elif mode == "xlsx":
        rows = milekit.export("tasks", out, client=client, progress=False, tz="Asia/Jakarta").rows
    elif mode == "sync":
        rows = milekit.sync("tasks", out, client=client, progress=False).rows
        wall_first = time.perf_counter() - t0
        peak_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        again = milekit.sync("tasks", out, client=client, progress=False)
        extra = {
            "peak_after_incremental_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "incremental_s": time.perf_counter() - t0 - wall_first,
            "incremental_requests": again.requests,
            "incremental_fetched": again.fetched,
            "incremental_partitions_written": len(again.partitions_written),
        }
    else:
        df = milekit.tasks_frame(client=client, progress=False)
        df.to_parquet(out)
        rows = len(df)
    wall = time.perf_counter() - t0 - extra.get("incremental_s", 0.0)
    client.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if mode == "sync":
        peak = peak_first  # the first (full) run's; the incremental one's is reported apart
    size = (
        sum(f.stat().st_size for f in Path(out).rglob("*"))
        if mode == "sync"
        else Path(out).stat().st_size
    )
    result = {
        "mode": mode,
        "rows": rows,
        "wall_s": wall,
        "rows_per_s": rows / wall,
        "peak_rss_mb": peak / 1024,
        "rss_after_imports_mb": rss0 / 1024,
        "file_mb": size / 1e6,
        "requests": client.stats.requests,
        "client_429": client.stats.rate_limited,
        **extra,
    }
    print(json.dumps(result), flush=True)


MODES = ("frame+to_parquet", "export", "sync")


def measure(sb: SandboxProcess, mode: str, tasks: int) -> dict[str, Any]:
    time.sleep(1.2)  # a fresh rate window
    with tempfile.TemporaryDirectory(prefix="milekit-bench-") as d:
        name = {"sync": "lake", "xlsx": "x.xlsx"}.get(mode, "x.parquet")
        out = str(Path(d) / name)
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
    print(
        f"    {mode} {tasks:,}: peak {result['peak_rss_mb']:.0f} MB, "
        f"{result['wall_s']:.2f}s, {result['rows_per_s']:,.0f} rows/s"
    )
    return result


def run_size(tasks: int) -> dict[str, dict[str, Any]]:
    with SandboxProcess(tasks=tasks, rate_limit=100, latency=0.0) as sb:
        print(f"  sandbox with {tasks:,} tasks up in {sb.startup_s:.0f}s; a warm-up read")
        measure(sb, "export", tasks)  # the sandbox's first read of a list is its slowest
        return {mode: measure(sb, mode, tasks) for mode in MODES}


def excel(small: int, large: int) -> None:
    """``export("tasks", "x.xlsx")`` at two sizes: rows/s and whether memory stays flat."""
    runs = {}
    for size in (small, large):
        with SandboxProcess(tasks=size, rate_limit=100, latency=0.0) as sb:
            runs[size] = measure(sb, "xlsx", size)
    ratio = runs[large]["peak_rss_mb"] / runs[small]["peak_rss_mb"]
    print(f"xlsx peak({large:,}) / peak({small:,}) = {ratio:.2f}")
    write_result("bench_export_xlsx", {"runs": {str(k): v for k, v in runs.items()},
                                       "peak_ratio_large_over_small": ratio})  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50k vs 200k tasks")
    ap.add_argument("--xlsx", action="store_true", help="Excel export only: 50k vs 200k tasks")
    args = ap.parse_args()
    if args.xlsx:
        excel(50_000, 200_000)
        return
    small, large = (50_000, 200_000) if args.quick else (200_000, 1_000_000)
    runs = {size: run_size(size) for size in (small, large)}
    rows = []
    for size, res in runs.items():
        base = res["frame+to_parquet"]
        for mode in MODES:
            r = res[mode]
            rows.append((
                f"{mode}, {size:,} tasks", f"{r['peak_rss_mb']:.0f}",
                f"{r['peak_rss_mb'] - r['rss_after_imports_mb']:.0f}", f"{r['wall_s']:.2f}",
                f"{r['wall_s'] / base['wall_s']:.2f}",
            ))  # fmt: skip
    print()
    print(table(rows, ("run", "peak RSS MB", "above imports MB", "wall s", "x baseline")))
    summary: dict[str, Any] = {"quick": args.quick, "runs": {str(k): v for k, v in runs.items()}}
    for mode in ("export", "sync"):
        summary[f"{mode}_peak_ratio_large_over_small"] = (
            runs[large][mode]["peak_rss_mb"] / runs[small][mode]["peak_rss_mb"]
        )
        for size in (small, large):
            summary[f"{mode}_wall_over_baseline_{size}"] = (
                runs[size][mode]["wall_s"] / runs[size]["frame+to_parquet"]["wall_s"]
            )
    inc = runs[large]["sync"]
    print(
        f"incremental sync of {large:,} tasks, nothing changed: {inc['incremental_s']:.2f}s, "
        f"{inc['incremental_requests']} requests, {inc['incremental_fetched']:,} open rows, "
        f"peak {inc['peak_after_incremental_mb']:.0f} MB"
    )
    for k, v in summary.items():
        if k.endswith(("_small", "_over_small")) or "_over_baseline_" in k:
            print(f"{k} = {v:.2f}")
    path = write_result("bench_export_memory", summary)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
