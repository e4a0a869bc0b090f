"""The sandbox is layered and its imports only go down.

http (requests, routing, Laravel's conventions) knows no resource; common (the registry's
standard routes, the context) knows no resource module; the resource modules never import
the app or the server. A change to one layer can then be read without the ones above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import milekit.sandbox
from milekit.types.registry import RESOURCES

SANDBOX = Path(milekit.sandbox.__file__).parent

#: module -> layer; a module may import its own layer or lower ones, never higher
LAYERS: dict[str, int] = {
    "http": 0,
    "optimize": 0,
    "xlsx": 0,
    "faults": 0,
    "seed": 0,
    "store": 1,
    "common": 2,
    "orgfile": 2,
    "generic": 2,
    "resources": 3,  # the package: one module (or package) a registry tag
    "files": 3,
    "lookups": 3,
    "app": 4,
    "server": 5,
    "__init__": 6,
}


#: the seed package's modules, lowest first: the same rule inside it
SEED_LAYERS: dict[str, int] = {
    "base": 0,
    "org": 1,
    "plans": 2,
    "tasks": 3,
    "extras": 3,
    "settings": 4,
    "flows": 4,
    "data_source": 4,
    "task_schedule": 4,
    "activity": 4,
    "location_history": 4,
    "routing": 4,
    "build": 5,
    "__init__": 6,
}


def _sources() -> dict[Path, str]:
    """Every source file of the sandbox -> the layer name it counts under (a package's
    files count as the package)."""
    out = {p: p.stem for p in SANDBOX.glob("*.py")}
    for init in SANDBOX.glob("*/__init__.py"):
        out |= {p: init.parent.name for p in init.parent.rglob("*.py")}
    return out


def _imports(path: Path) -> set[str]:
    """The ``milekit.sandbox`` modules ``path`` imports (by their short name)."""
    return _imported(path, "milekit.sandbox") & LAYERS.keys()


def _imported(path: Path, package: str) -> set[str]:
    """The modules of ``package`` that ``path`` imports, by their name inside it."""
    depth = package.count(".") + 1
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == package:
                out |= {a.name for a in node.names}
            elif node.module.startswith(package + "."):
                out.add(node.module.split(".")[depth])
        elif isinstance(node, ast.Import):
            out |= {
                a.name.split(".")[depth]
                for a in node.names
                if a.name.startswith(package + ".") and a.name.count(".") >= depth
            }
    return out


def test_every_sandbox_module_has_a_layer() -> None:
    assert set(_sources().values()) == set(LAYERS)
    assert {p.stem for p in (SANDBOX / "seed").glob("*.py")} == set(SEED_LAYERS)


def test_imports_only_go_down() -> None:
    upward = [
        f"{p.name} of {name} (layer {LAYERS[name]}) imports {m} (layer {LAYERS[m]})"
        for p, name in sorted(_sources().items())
        for m in sorted(_imports(p) - {name})
        if LAYERS[m] > LAYERS[name]
    ]
    assert upward == []


def test_inside_the_seed_imports_only_go_down() -> None:
    """base < org < plans < tasks, extras < one module per group of documents < build < __init__."""
    layer = SEED_LAYERS
    upward = [
        f"seed.{p.stem} (layer {layer[p.stem]}) imports seed.{m} (layer {layer[m]})"
        for p in sorted((SANDBOX / "seed").glob("*.py"))
        for m in sorted(_imported(p, "milekit.sandbox.seed") & layer.keys())
        if layer[m] > layer[p.stem]
    ]
    assert upward == []


def test_the_bottom_layer_names_no_resource() -> None:
    """http.py is HTTP and Laravel only: no registry, no store, no resource module."""
    source = (SANDBOX / "http.py").read_text()
    tree = ast.parse(source)
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if m and m.startswith("milekit")}


def _tag_module(tag: str) -> str:
    """A registry tag as a module name: ``Task Schedule`` -> ``task_schedule``."""
    return tag.lower().replace(" ", "_")


def test_the_resource_modules_are_named_by_the_registry_tags() -> None:
    """One module or package a tag in ``resources/`` (nothing else there), every tag
    served there."""
    tags = {_tag_module(spec.tag) for spec in RESOURCES.values()}
    here = SANDBOX / "resources"
    modules = {p.stem for p in here.glob("*.py")} - {"__init__"}
    packages = {p.parent.name for p in here.glob("*/__init__.py")}
    assert not modules & packages, sorted(modules & packages)
    assert modules | packages == tags, sorted((modules | packages) ^ tags)
