"""The package's import graph, measured from its source: modules, arrows, circles, layers.

    python tools/import_graph.py            # the figures docs/architecture.md quotes
    python tools/import_graph.py --json     # the same, with every arrow, for a diff

An arrow is one module importing another module of ``milekit`` (``from milekit.x import y``
names ``milekit.x.y`` when that is a module, else ``milekit.x``), at module level, under
``if TYPE_CHECKING:`` or inside a function: every kind counts, because each is a
dependence a reader has to follow. ``tests/test_layering.py`` holds the package to the
rules measured here: no circle, no arrow that runs up (or sideways between two rooms of one
floor), and no import inside a function but the lazy loads listed in ``LAZY``.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: the floors, lowest first: a module may import its own room or any room on a lower floor
FLOORS: tuple[tuple[str, ...], ...] = (
    ("milekit.errors", "milekit.redaction", "milekit._version"),
    ("milekit.types", "milekit.registry"),
    ("milekit.wire",),
    ("milekit.sandbox", "milekit.notebook"),
    ("milekit.reads",),
    ("milekit.writes", "milekit.files"),
    ("milekit",),
    ("milekit.cli",),
    ("milekit.__main__",),
)

#: imports inside a function that are lazy loads (a heavy or optional part loaded on first
#: use), not dodges of a circle: (importing module, imported module)
LAZY: frozenset[tuple[str, str]] = frozenset(
    {
        ("milekit", "milekit.sandbox"),  # the emulator is not needed to talk to MileApp
        ("milekit.cli", "milekit.sandbox"),
        ("milekit.types.schema", "milekit.types._pagejson"),  # the optional C decoder
    }
)

#: generated modules: not counted among the hand-written lines
GENERATED = ("milekit.types._generated", "milekit.reads.named")


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    line: int
    where: str  # "module", "typing" (under TYPE_CHECKING) or "function"


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    arrows: list[Arrow] = field(default_factory=list)

    def pairs(self) -> set[tuple[str, str]]:
        return {(a.source, a.target) for a in self.arrows if a.source != a.target}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: modules that share a room with another: the ground floor is one room, and the registry's
#: stable name is the types room's
SAME_ROOM = {
    "milekit.redaction": "milekit.errors",
    "milekit._version": "milekit.errors",
    "milekit.registry": "milekit.types",
}


def room(module: str) -> str:
    """The room (floor entry) a module belongs to: its longest matching prefix in FLOORS."""
    if module in SAME_ROOM:
        return SAME_ROOM[module]
    best = ""
    for floor in FLOORS:
        for name in floor:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best = name
    return best


def floor_of(module: str) -> int:
    name = room(module)
    return next(i for i, floor in enumerate(FLOORS) if name in floor)


def _resolve(graph: Graph, base: str, names: list[str]) -> list[str]:
    out = []
    for name in names:
        full = f"{base}.{name}" if name != "*" else base
        out.append(full if full in graph.modules else base)
    return out


def _targets(graph: Graph, module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "milekit"]
    base = node.module or ""
    if node.level:  # relative: from the module's package, one level up per extra dot
        anchor = module.split(".")
        if graph.modules[module].name != "__init__.py":
            anchor = anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    if base.split(".")[0] != "milekit":
        return []
    return _resolve(graph, base, [a.name for a in node.names])


class _Visitor(ast.NodeVisitor):
    def __init__(self, graph: Graph, module: str) -> None:
        self.graph, self.module, self.where = graph, module, "module"

    def _enter(self, node: ast.AST, where: str) -> None:
        before, self.where = self.where, where
        self.generic_visit(node)
        self.where = before

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._enter(node, "function")

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test.endswith("TYPE_CHECKING") and self.where == "module":
            for child in node.body:
                self._enter(child, "typing")
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._add(node)

    def _add(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _targets(self.graph, self.module, node):
            if target in self.graph.modules or target == "milekit":
                self.graph.arrows.append(Arrow(self.module, target, node.lineno, self.where))


def build(root: Path = ROOT) -> Graph:
    graph = Graph()
    for path in sorted((root / "milekit").rglob("*.py")):
        graph.modules[module_name(path, root)] = path
    for name, path in graph.modules.items():
        _Visitor(graph, name).visit(ast.parse(path.read_text(encoding="utf-8")))
    return graph


def circles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    edges: dict[str, list[str]] = {m: [] for m in graph.modules}
    for source, target in sorted(graph.pairs()):
        edges[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)


def upward(graph: Graph) -> list[Arrow]:
    """Arrows to a higher floor, or sideways to another room of the same floor."""
    return [
        a
        for a in graph.arrows
        if room(a.source) != room(a.target)
        and floor_of(a.target) >= floor_of(a.source)
        and not (a.where == "function" and (a.source, a.target) in LAZY)
    ]


def hidden(graph: Graph) -> list[Arrow]:
    """Imports inside a function that are not listed lazy loads."""
    return [a for a in graph.arrows if a.where == "function" and (a.source, a.target) not in LAZY]


def class_lines(graph: Graph, module: str, name: str) -> int:
    tree = ast.parse(graph.modules[module].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return (node.end_lineno or node.lineno) - node.lineno + 1
    return 0


def figures(graph: Graph) -> dict[str, object]:
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in graph.modules.items()}
    emulator = {m for m in graph.modules if room(m) == "milekit.sandbox"}
    pairs = graph.pairs()
    return {
        "modules": len(graph.modules),
        "arrows": len(pairs),
        "modules outside the sandbox": len(graph.modules) - len(emulator),
        "arrows outside the sandbox": len({(s, t) for s, t in pairs if s not in emulator}),
        "circles": circles(graph),
        "upward arrows": sorted({f"{a.source} -> {a.target}" for a in upward(graph)}),
        "imports inside functions": sorted({f"{a.source} -> {a.target}" for a in hidden(graph)}),
        "hand-written modules over 800 lines": {
            m: n for m, n in sorted(lines.items()) if n > 800 and m not in GENERATED
        },
        "Client lines": class_lines(graph, "milekit.wire.client", "Client"),
        "client.py lines": lines.get("milekit.wire.client", 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="every figure and arrow as JSON")
    parser.add_argument("--root", type=Path, default=ROOT, help="another checkout to measure")
    args = parser.parse_args(argv)
    graph = build(args.root.resolve())
    out = figures(graph)
    if args.json:
        out["every arrow"] = [a.__dict__ for a in graph.arrows]
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0
    for key, value in out.items():
        if isinstance(value, list | dict) and value:
            print(f"{key}: {len(value)}")
            for item in value:
                print(f"    {item}" + (f": {value[item]}" if isinstance(value, dict) else ""))
        else:
            print(f"{key}: {len(value) if isinstance(value, list | dict) else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
