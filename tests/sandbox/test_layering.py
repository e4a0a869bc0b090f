"""The sandbox is layered and its imports only go down.

http (requests, routing, Laravel's conventions) knows no resource; common (the registry's
standard routes, the context) knows no resource module; the resource modules never import
the app or the server. A change to one layer can then be read without the ones above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import milekit.sandbox

SANDBOX = Path(milekit.sandbox.__file__).parent

#: module -> layer; a module may import its own layer or lower ones, never higher
LAYERS: dict[str, int] = {
    "http": 0,
    "optimize": 0,
    "xlsx": 0,
    "faults": 0,
    "seed": 0,
    "seed_extra": 0,
    "store": 1,
    "common": 2,
    "tasks": 3,
    "flows": 3,
    "settings": 3,
    "datasource": 3,
    "field_ops": 3,
    "routing": 3,
    "lookups": 3,
    "app": 4,
    "server": 5,
    "__init__": 6,
}


def _imports(path: Path) -> set[str]:
    """The ``milekit.sandbox`` modules ``path`` imports (by their short name)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "milekit.sandbox":
                out |= {a.name for a in node.names}
            elif node.module.startswith("milekit.sandbox."):
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[2] for a in node.names if a.name.count(".") >= 2}
    return out & LAYERS.keys()


def test_every_sandbox_module_has_a_layer() -> None:
    assert {p.stem for p in SANDBOX.glob("*.py")} == set(LAYERS)


def test_imports_only_go_down() -> None:
    upward = [
        f"{p.stem} (layer {LAYERS[p.stem]}) imports {m} (layer {LAYERS[m]})"
        for p in sorted(SANDBOX.glob("*.py"))
        for m in sorted(_imports(p))
        if LAYERS[m] > LAYERS[p.stem]
    ]
    assert upward == []


def test_the_bottom_layer_names_no_resource() -> None:
    """http.py is HTTP and Laravel only: no registry, no store, no resource module."""
    source = (SANDBOX / "http.py").read_text()
    tree = ast.parse(source)
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if m and m.startswith("milekit")}
