"""The coverage table of the API's operations (docs/coverage.md) is generated, and fresh."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from milekit.types import registry

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_coverage", ROOT / "tools" / "gen_coverage.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_table_is_fresh() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_coverage.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_table_counts_what_the_code_does() -> None:
    tool = _tool()
    rows = tool.rows()
    assert len(rows) == len(registry.OPERATIONS) == 144
    read = {(op.method, tool.norm(op.path)) for op, r, _, _ in rows if r}
    gets = {(op.method, tool.norm(op.path)) for op in registry.OPERATIONS if op.method == "GET"}
    # every GET but the binary file stream is read as a frame: lists, details, views
    assert gets - read == {("GET", "/file/view")} == set(registry.NOT_FRAMES)
    assert read <= gets
    lists = {("GET", tool.norm(s.list_path)) for s in registry.RESOURCES.values()}
    assert tool.list_ops() == lists and len(lists) == len(registry.RESOURCES) == 24
    details = {("GET", tool.norm(op.path)) for op in registry.OPERATIONS if op.kind == "detail"}
    assert tool.detail_ops() == details and len(details) == 21
    assert len(tool.view_ops()) == len(registry.VIEWS) == 9
    assert read == lists | details | tool.view_ops()
    # a write path of the registry that the contract does not have would be a registry bug
    declared = tool.write_ops()
    assert declared <= {(op.method, tool.norm(op.path)) for op in registry.OPERATIONS}
    assert sum(1 for _, _, w, _ in rows if w) >= len(declared)
    # served: what the sandbox's router answers (not 404/405)
    from milekit.types.registry import Operation

    assert tool.served(Operation("GET", "/hub/{hubId}/", "readHub", "Hub", "hubs", "detail"))
    assert not tool.served(Operation("GET", "/nowhere/{id}", None, "X", None, "other"))
    assert not tool.served(Operation("PATCH", "/hubs", None, "Hub", "hubs", "other"))  # 405
    text = (ROOT / "docs" / "coverage.md").read_text()
    assert "| read by milekit as a frame | 54 of 55 GET |" in text
    assert "GET operations not read as a frame: `/file/view`" in text
