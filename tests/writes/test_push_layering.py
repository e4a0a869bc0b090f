"""The push package is laid out in floors and its imports only go down.

journal < model (the state) < result (what a push tells: low enough for every module to
use) < validate, reconcile < plan < send < run, server < the package (``push()``). No module
imports its own floor or one above it (a function-level import counts too), so the package
has no circle and each module can be read without the ones above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import milekit.writes.push

PUSH = Path(milekit.writes.push.__file__).parent
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
    "run": 6,
    "server": 6,
    "__init__": 7,
}


def _imports(path: Path) -> set[str]:
    """The modules of the push package ``path`` imports (by their short name)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                out |= {a.name if a.name in FLOORS else "__init__" for a in node.names}
            elif node.module.startswith(PACKAGE + "."):
                out.add(node.module.split(".")[3])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[3] for a in node.names if a.name.startswith(PACKAGE + ".")}
    return out


def test_every_push_module_has_a_floor() -> None:
    assert {p.stem for p in PUSH.glob("*.py")} == set(FLOORS)


def test_imports_only_go_down() -> None:
    upward = [
        f"{p.stem} (floor {FLOORS[p.stem]}) imports {m} (floor {FLOORS[m]})"
        for p in sorted(PUSH.glob("*.py"))
        for m in sorted(_imports(p) - {p.stem})
        if FLOORS[m] >= FLOORS[p.stem]
    ]
    assert upward == []
