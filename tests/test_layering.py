"""The package's imports only run downward: errors < types < wire < notebook, sandbox < reads
< writes, files < milekit < cli (the floors of tools/import_graph.py, drawn in
docs/architecture.md).

A module may import its own room or a room on a lower floor. No import circle, not even one
through an import inside a function; the only imports inside functions are the lazy loads the
tool lists (the emulator, the optional C decoder). The sandbox keeps finer layers of its own
(tests/sandbox/test_layering.py).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_graph", ROOT / "tools" / "import_graph.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


graph_tool = _tool()


@pytest.fixture(scope="module")
def graph() -> object:
    return graph_tool.build()


def test_no_import_circle(graph: object) -> None:
    assert graph_tool.circles(graph) == []


def test_imports_only_run_down(graph: object) -> None:
    wrong = [
        f"{a.source} ({graph_tool.room(a.source)}) imports {a.target} "
        f"({graph_tool.room(a.target)}) at line {a.line}"
        for a in graph_tool.upward(graph)
    ]
    assert wrong == []


def test_no_import_hides_inside_a_function(graph: object) -> None:
    hidden = [f"{a.source} line {a.line}: {a.target}" for a in graph_tool.hidden(graph)]
    assert hidden == []


def test_every_module_has_a_floor(graph: object) -> None:
    assert [m for m in graph.modules if not graph_tool.room(m)] == []


def test_no_hand_written_module_over_800_lines(graph: object) -> None:
    long = graph_tool.figures(graph)["hand-written modules over 800 lines"]
    assert long == {}


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "milekit" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_measure_sees_a_circle_through_a_function_and_an_upward_arrow(
    tmp_path: Path,
) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "types/__init__.py": "",
            "types/a.py": "def f():\n    from milekit.types import b\n",
            "types/b.py": "from . import a\nfrom milekit.reads.x import y\n",
            "reads/__init__.py": "",
            "reads/x.py": "from milekit.errors import *\ny = 1\n",
        },
    )
    graph = graph_tool.build(root)
    assert graph_tool.circles(graph) == [["milekit.types.a", "milekit.types.b"]]
    assert [(a.source, a.target) for a in graph_tool.upward(graph)] == [
        ("milekit.types.b", "milekit.reads.x")
    ]
    assert [(a.source, a.where) for a in graph_tool.hidden(graph)] == [
        ("milekit.types.a", "function")
    ]
