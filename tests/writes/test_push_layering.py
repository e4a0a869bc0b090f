"""The push package is laid out in floors and its imports only go down.

journal < model (the state) < result (what a push tells: low enough for every module to
use) < validate, reconcile < plan < send < pipeline, server < the package (``push()``). No module
imports its own floor or one above it (a function-level import counts too), so the package
has no circle and each module can be read without the ones above it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import milekit.writes.push

PUSH = Path(milekit.writes.push.__file__).parent
ROOT = PUSH.parents[2]
PACKAGE = "milekit.writes.push"

#: module -> floor; a module may import only lower floors
FLOORS: dict[str, int] = {
    "journal": 0,
    "model": 1,
    "result": 2,
    "validate": 3,
    "reconcile": 3,
    "plan": 4,
    "send": 5,
    "pipeline": 6,
    "server": 6,
    "__init__": 7,
}


def _short(module: str) -> str | None:
    """``milekit.writes.push.x`` -> ``x``, the package itself -> ``__init__``, else None."""
    if module == PACKAGE:
        return "__init__"
    return module.rpartition(".")[2] if module.startswith(PACKAGE + ".") else None


def test_every_push_module_has_a_floor() -> None:
    assert {p.stem for p in PUSH.glob("*.py")} == set(FLOORS)


def test_imports_only_go_down() -> None:
    """Every arrow tools/import_graph.py measures (module level, typing, in a function)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "import_graph.py"), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    arrows = {(_short(a["source"]), _short(a["target"])) for a in json.loads(out)["every arrow"]}
    upward = sorted(
        f"{a} (floor {FLOORS[a]}) imports {b} (floor {FLOORS[b]})"
        for a, b in arrows
        if a is not None and b is not None and a != b and FLOORS[b] >= FLOORS[a]
    )
    assert upward == []
