"""Repeated code: blocks of at least N consecutive lines (normalised) found twice or more.

    python tools/find_duplicates.py [ROOT] [--lines 8]

Lines are stripped of indentation and comments; blank lines, docstring-free imports and
lone brackets do not count. Each repeated block is reported once, as the pair of places it
occurs (the longest extent of each repeat). Generated modules are skipped. A stand-in for
a clone detector: enough to count the pairs before and after a refactoring.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

SKIP = ("_generated.py", "named.py", "_generated_registry.py", "_named_frames.py")
_TRIVIAL = re.compile(r"^([)\]}],?|\)\s*->.*:|else:|try:|finally:|return|pass|\.\.\.)$")


def _lines(path: Path) -> list[tuple[int, str]]:
    out = []
    in_import = False
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("  #", 1)[0].strip()
        if in_import:
            in_import = line != ")"
            continue
        if line.startswith(("import ", "from ")):
            in_import = line.endswith("(")
            continue
        if not line or line.startswith("#") or _TRIVIAL.match(line):
            continue
        out.append((n, line))
    return out


def find(root: Path, size: int) -> list[tuple[str, int, str, int, int]]:
    """(file a, line a, file b, line b, lines) for every repeated block."""
    windows: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    files = [p for p in sorted(root.rglob("*.py")) if p.name not in SKIP]
    for p in files:
        ls = _lines(p)
        for i in range(len(ls) - size + 1):
            key = tuple(line for _, line in ls[i : i + size])
            windows[key].append((str(p.relative_to(root)), ls[i][0]))
    pairs: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for places in windows.values():
        if len(places) < 2:
            continue
        (fa, la), (fb, lb) = places[0], places[1]
        pairs[(fa, fb)].append((la, lb))
    out = []
    for (fa, fb), starts in pairs.items():
        starts.sort()
        run_a, run_b, length = starts[0][0], starts[0][1], size
        prev = starts[0]
        for a, b in starts[1:]:
            if a - prev[0] <= 2 and b - prev[1] <= 2:
                length += a - prev[0]
            else:
                out.append((fa, run_a, fb, run_b, length))
                run_a, run_b, length = a, b, size
            prev = (a, b)
        out.append((fa, run_a, fb, run_b, length))
    return sorted(out, key=lambda t: -t[4])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default="milekit")
    ap.add_argument("--lines", type=int, default=8)
    args = ap.parse_args(argv)
    found = find(Path(args.root), args.lines)
    for fa, la, fb, lb, n in found:
        print(f"{n:4d} lines  {fa}:{la}  ~  {fb}:{lb}")
    print(f"{len(found)} repeated blocks of >= {args.lines} lines", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
