"""(f) Throughput of 1, 2 and 4 processes ("machines") sharing the organisation's limit.

One sandbox (in this process, on loopback) enforces MileApp's 100 requests per second and
logs every request. A real ``redis-server`` is started on a free port. For k = 1, 2, 4,
k child processes, each with a cache directory of its own (no SQLite window in common:
k machines), read tasks at once through ``Client(limiter="redis://...")``; together they
send the same number of requests whatever k (each reads 800/k pages). Reported per k:
the requests per second the server accepted over the busy span, the most requests it
received in any one second, and its 429s.

Baseline in the same run: the same k processes with ``limiter="process"`` each (what
machines do without a shared window: each keeps to 100 on its own).

``--load N`` runs N CPU-burning processes meanwhile (a busy machine: granted requests leave
late; issue 21 item 8), and adds k = 3 processes sharing the SQLite window
(``limiter="shared"``, one cache directory). Each process reports the longest
grant-to-send delay its limiter measured (``headroom``) and how many of its requests left
more than 20 ms after their grant (``counted_again``: each took a second place in the
window).

Goal: about 100 requests per second for every k, never more than 100 in a second, no 429
with Redis; the baseline shows what it costs not to share (429s, retries).

Run::

    /work/venv/bin/python bench/bench_scale.py           # 800 requests per run
    /work/venv/bin/python bench/bench_scale.py --quick   # 400
    /work/venv/bin/python bench/bench_scale.py --load 2  # two cores kept busy

Writes ``bench/results/bench_scale.json`` (``bench_scale_load.json`` with ``--load``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import deque
from pathlib import Path
from typing import Any

from _common import table, write_result

import milekit

TASKS = 20_000


def max_in_window(times: list[float], period: float = 1.0) -> int:
    window: deque[float] = deque()
    best = 0
    for t in sorted(times):
        window.append(t)
        while window[0] <= t - period:
            window.popleft()
        best = max(best, len(window))
    return best


def start_redis(work: Path) -> tuple[str, subprocess.Popen[bytes]]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"redis://127.0.0.1:{port}/0", proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def run(
    sb: Any, k: int, limiter: str, pages: int, work: Path, adaptive: bool = True
) -> dict[str, Any]:
    limit = TASKS // (pages // k)
    script = textwrap.dedent(
        f"""
        import sys, time
        import milekit
        c = milekit.Client({sb.token!r}, {sb.url!r}, limiter={limiter!r}, max_workers=16,
                           adaptive={adaptive!r})
        print("ready", flush=True)
        sys.stdin.readline()  # all k start together, imports done
        df = milekit.tasks_frame(client=c, progress=False, limit={limit})
        room = getattr(c.limiter, "headroom", None)
        again = getattr(c.limiter, "counted_again", 0)
        print(len(df), c.stats.requests, c.stats.rate_limited, room.largest if room else -1, again)
        """
    )
    time.sleep(1.5)  # an empty window
    log0 = len(sb.app.request_log)
    rejected0 = sb.app.stats.rejected_429
    procs = []
    for i in range(k):
        mine = "" if limiter == "shared" else f"-{i}"  # one SQLite window for all
        env = dict(os.environ, XDG_CACHE_HOME=str(work / f"{limiter[:5]}-{k}{mine}"))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
            )
        )
    outs = [p.communicate(timeout=600)[0].strip().splitlines()[-1].split() for p in procs]
    log = list(sb.app.request_log)[log0:]
    ok = [r.t for r in log if r.status != 429]
    span = max(ok) - min(ok)
    return {
        "k": k,
        "limiter": "redis" if limiter.startswith("redis") else limiter,
        "rows_each": [int(o[0]) for o in outs],
        "requests": len(log),
        "accepted": len(ok),
        "accepted_per_s": (len(ok) - 1) / span if span else float("nan"),
        "max_in_1s": max_in_window([r.t for r in log]),
        "server_429": sb.app.stats.rejected_429 - rejected0,
        "longest_delay_s": max(float(o[3]) for o in outs),
        #: requests that left more than 20 ms after their grant, counted again in the window
        "counted_again": sum(int(o[4]) for o in outs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--load", type=int, default=0, help="CPU-burning processes meanwhile")
    args = ap.parse_args()
    pages = 400 if args.quick else 800
    results = []
    with tempfile.TemporaryDirectory(prefix="milekit-scale-") as d:
        work = Path(d)
        url, redis_proc = start_redis(work)
        burn = "while True: pass"
        burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(args.load)]
        runs = [(1, url), (2, url), (2, "process"), (4, url), (4, "process")]
        if args.load:
            runs.insert(3, (3, "shared"))
        try:
            with milekit.Sandbox(tasks=TASKS, rate_limit=100) as sb:
                for k, limiter in runs:
                    r = run(sb, k, limiter, pages, work)
                    print(
                        f"  k={k} {r['limiter']:7}: {r['accepted_per_s']:.1f} req/s accepted, "
                        f"max {r['max_in_1s']} in 1 s, {r['server_429']} x 429, "
                        f"longest delay {r['longest_delay_s']:.3f} s, "
                        f"{r['counted_again']} counted again"
                    )
                    results.append(r)
        finally:
            for b in burners:
                b.kill()
                b.wait()
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
    rows = [
        (
            str(r["k"]),
            r["limiter"],
            f"{r['accepted_per_s']:.1f}",
            str(r["max_in_1s"]),
            str(r["server_429"]),
            f"{r['longest_delay_s']:.3f}",
            str(r["counted_again"]),
        )
        for r in results
    ]
    print()
    header = ("processes", "limiter", "accepted req/s", "max in 1 s", "429s", "longest delay s",
              "counted again")  # fmt: skip
    print(table(rows, header))
    summary = {"pages_per_run": pages, "tasks": TASKS, "cpu_burners": args.load, "runs": results}
    name = "bench_scale_load" if args.load else "bench_scale"
    print(f"wrote {write_result(name, summary)}")


if __name__ == "__main__":
    main()
