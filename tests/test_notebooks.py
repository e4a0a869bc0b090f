"""Every notebook under notebooks/ runs top to bottom in a real kernel, offline, against the
sandbox; the committed files carry no outputs, no widget state and nothing token-like."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from milekit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANDBOX_TOKEN = inspect.signature(Sandbox).parameters["token"].default
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TOKEN_LIKE = [
    re.compile(r"Bearer\s+(?!\*{8})\S+", re.IGNORECASE),  # a bearer header, not a masked one
    re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # a JWT (MileApp's tokens)
    re.compile(r"\b[A-Za-z0-9]{40,}\b"),  # a long opaque key
]


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS][:1] == ["01-quickstart.ipynb"]


def _token_like(text: str) -> list[str]:
    hits = [SANDBOX_TOKEN] if SANDBOX_TOKEN in text else []
    return hits + [m.group(0) for rx in TOKEN_LIKE for m in rx.finditer(text)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_clean(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {cell.id}: outputs are committed"
            assert cell.execution_count is None, f"{path.name} cell {cell.id}: stale count"
    assert "widgets" not in nb.metadata, "widget state is committed"
    assert _token_like(text) == []
    assert nb.metadata.kernelspec.name == "python3"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kernel imports this checkout's milekit and keeps its files in tmp_path."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # the paths of jupyter_core 6
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for k in ("MILEAPP_TOKEN", "MILEAPP_BASE_URL", "MILEAPP_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    return work


def _execute(path: Path, work: Path) -> Any:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()  # raises CellExecutionError on the first failing cell
    return nb


def _outputs(nb: Any, cell_id: str) -> list[Any]:
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return list(cell.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, kernel_env: Path) -> None:
    shutil.copy(path, kernel_env / path.name)
    nb = _execute(kernel_env / path.name, kernel_env)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (cell.id, out)
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, (cell.id, out.text)
    executed = json.dumps(nb)
    assert _token_like(executed) == [], "a token shows in the executed notebook"


def test_quickstart_shows_the_form_the_bar_and_round_trips(kernel_env: Path) -> None:
    path = ROOT / "notebooks" / "01-quickstart.ipynb"
    nb = _execute(path, kernel_env)

    def text(cell_id: str) -> str:  # what the cell printed and its value, not widget stand-ins
        return "".join(
            o.get("text", "") + o.get("data", {}).get("text/plain", "")
            for o in _outputs(nb, cell_id)
            if o.output_type in ("stream", "execute_result")
        )

    assert any(WIDGET_VIEW in o.get("data", {}) for o in _outputs(nb, "sign-in"))  # the form
    assert "Sandbox Admin <admin@demo.mile.app>" in text("headless")
    assert text("read").startswith("(2000, ")
    assert any(WIDGET_VIEW in o.get("data", {}) for o in _outputs(nb, "read")), "no bar"
    assert "datetime64[us, UTC]" in text("dtypes")
    assert "category" in text("dtypes-some") and "Int64" in text("dtypes-some")
    assert "DONE" in text("status")
    assert text("parquet").strip() == "(2000, True, True)"
    assert (kernel_env / "tasks.parquet").stat().st_size > 0
    assert os.environ["XDG_CONFIG_HOME"].startswith(str(kernel_env.parent))
