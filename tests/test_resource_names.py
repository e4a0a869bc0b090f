"""No module outside the registry names a resource.

Per-resource behaviour is data in the registry (``milekit/types/registry.py`` and the
generated ``_generated.py``, on the model of ``model.py``), read by generic code: the
resource *object* travels through a read or a write, not its name. This test walks the
AST of every module of the package and fails on a string literal equal to a resource name
anywhere else, with these exceptions, each for a reason:

* ``reads/named.py`` is generated from the registry by ``tools/gen_frames.py`` (one helper
  per resource; ``tests/reads/test_frames_all.py`` fails when it is stale);
* the sandbox's seed (the ``seed/`` package's ``base``, ``settings``, ``flows`` and
  ``data_source``) creates each resource's demo data, and ``orgfile`` reads and checks
  each resource's part of an org file;
* the sandbox's resource modules (the package ``resources/``, one module a registry
  tag or package, and ``files``, ``lookups``) are the server side: each
  emulates the controllers of its resources, which is behaviour per resource by nature.
  The sandbox's generic layers (``http``, ``common``, ``generic``, ``store``, ``app``,
  ``server`` ...) are checked;
* a module-level constant may hold a wire key that happens to spell a resource name
  (``PAGE_ROWS = "data"``, Laravel's rows key), so that every use reads as the key it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import milekit
from milekit.types.registry import RESOURCES

PACKAGE = Path(milekit.__file__).parent

EXEMPT = {
    "types/registry.py",
    "types/_generated.py",
    "types/model.py",
    "reads/named.py",
    "sandbox/seed/base.py",
    "sandbox/seed/settings.py",
    "sandbox/seed/flows.py",
    "sandbox/seed/data_source.py",
    "sandbox/orgfile.py",
    "sandbox/files.py",
    "sandbox/lookups.py",
    *(p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "sandbox/resources").rglob("*.py")),
}


def _constant_values(tree: ast.Module) -> set[int]:
    """ids of the string literals that are the whole value of a module-level constant."""
    out: set[int] = set()
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id.lstrip("_").isupper():
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out.add(id(value))
    return out


def _docstrings(tree: ast.Module) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def resource_names_in(source: str) -> list[tuple[int, str]]:
    """(line, name) of every literal equal to a resource name, but a constant's value.

    >>> resource_names_in('x = spec.name == "tasks"')
    [(1, 'tasks')]
    >>> resource_names_in('PAGE_ROWS = "data"\\nrows = body[PAGE_ROWS]')
    []
    """
    tree = ast.parse(source)
    allowed = _constant_values(tree) | _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in RESOURCES
        and id(node) not in allowed
    ]


def test_no_module_outside_the_registry_names_a_resource() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {name!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() not in EXEMPT
        for line, name in resource_names_in(path.read_text())
    ]
    assert found == []


def test_the_exemptions_exist() -> None:
    """A renamed module must not silently leave the check."""
    assert all((PACKAGE / p).is_file() for p in EXEMPT)


def test_the_check_finds_the_patterns_it_is_for() -> None:
    """The forms resource names used to take outside the registry are all caught."""
    forms = [
        'if spec.name == "tasks": pass',
        'READERS = {"tasks": 1, "data": 2}',
        'def frame(resource="tasks"): pass',
        'x = registry.get("flows")',
        'y = body.get("activities")',
    ]
    assert all(resource_names_in(f) for f in forms)
