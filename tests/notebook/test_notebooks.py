"""Every notebook under notebooks/ runs top to bottom in a real kernel, offline, against the
sandbox; the committed files carry no outputs, no widget state and nothing token-like."""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from milekit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
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


def _kernel_env(mp: pytest.MonkeyPatch, home: Path) -> Path:
    """The kernel imports this checkout's milekit, keeps its files under ``home`` and draws
    figures with matplotlib's inline backend (PNG outputs, no window); returns its cwd."""
    mp.setenv("PYTHONPATH", str(ROOT))
    mp.setenv("JUPYTER_PLATFORM_DIRS", "1")  # the paths of jupyter_core 6
    mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
    mp.setenv("IPYTHONDIR", str(home / "ipython"))
    mp.setenv("XDG_CONFIG_HOME", str(home / "config"))
    mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for k in ("MILEAPP_TOKEN", "MILEAPP_BASE_URL", "MILEAPP_PROFILE"):
        mp.delenv(k, raising=False)
    work = home / "work"
    work.mkdir()
    return work


def _execute(path: Path, work: Path) -> Any:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()  # raises CellExecutionError on the first failing cell
    return nb


def _without_images(nb: Any) -> str:
    """The executed notebook as JSON, with image payloads (base64 pixels, which the
    long-key pattern would match) left out."""
    text = copy.deepcopy(nb)
    for cell in text.cells:
        for out in cell.get("outputs", []):
            for mime in [m for m in out.get("data", {}) if m.startswith("image/")]:
                out.data[mime] = f"<{mime}>"
    return json.dumps(text)


@dataclass
class Run:
    nb: Any  #: the executed notebook
    work: Path  #: the kernel's working directory
    home: Path  #: its config, runtime and IPython directories
    seconds: float

    def outputs(self, cell_id: str) -> list[Any]:
        (cell,) = [c for c in self.nb.cells if c.get("id") == cell_id]
        return list(cell.outputs)

    def text(self, cell_id: str) -> str:
        """What the cell printed and its value as text (not widget or image stand-ins)."""
        return "".join(
            o.get("text", "") + o.get("data", {}).get("text/plain", "")
            for o in self.outputs(cell_id)
            if o.output_type in ("stream", "execute_result")
        )

    def value(self, cell_id: str) -> Any:
        """The cell's value, a Python literal (its text/plain repr)."""
        (out,) = [o for o in self.outputs(cell_id) if o.output_type == "execute_result"]
        return ast.literal_eval(out.data["text/plain"])

    def has(self, cell_id: str, mime: str) -> bool:
        return any(mime in o.get("data", {}) for o in self.outputs(cell_id))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Run]]:
    """Executes a notebook (a copy, in its own kernel and directories) on first use; every
    test of this module then reads the same run instead of executing it again."""
    runs: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in runs:
            home = tmp_path_factory.mktemp(Path(name).stem)
            with pytest.MonkeyPatch.context() as mp:
                work = _kernel_env(mp, home)
                shutil.copy(ROOT / "notebooks" / name, work / name)
                start = time.perf_counter()
                nb = _execute(work / name, work)
                runs[name] = Run(nb, work, home, time.perf_counter() - start)
        return runs[name]

    yield get


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, run: Callable[[str], Run]) -> None:
    r = run(path.name)
    for cell in r.nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (cell.id, out)
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, (cell.id, out.text)
    assert _token_like(_without_images(r.nb)) == [], "a token shows in the executed notebook"
    # each runs in ~10 s here; the bound only catches a notebook that got slow
    assert r.seconds < 120, f"{path.name} took {r.seconds:.0f}s to run"


def test_quickstart_shows_the_form_the_bar_and_round_trips(run: Callable[[str], Run]) -> None:
    r = run("01-quickstart.ipynb")
    assert r.has("sign-in", WIDGET_VIEW)  # the form
    assert "Sandbox Admin <admin@demo.mile.app>" in r.text("headless")
    assert r.text("read").startswith("(2000, ")
    assert r.has("read", WIDGET_VIEW), "no bar"
    assert "datetime64[us, UTC]" in r.text("dtypes")
    assert "category" in r.text("dtypes-some") and "Int64" in r.text("dtypes-some")
    assert "DONE" in r.text("status")
    assert r.text("parquet").strip() == "(2000, True, True)"
    assert (r.work / "tasks.parquet").stat().st_size > 0
    assert not (r.home / "config" / "milekit").exists()  # nothing remembered


def test_task_analysis_answers_with_figures(run: Callable[[str], Run]) -> None:
    r = run("02-task-analysis.ipynb")
    assert r.value("read") == {"tasks": 10_000, "hubs": 8, "flows": 5, "users": 50, "vehicles": 20}
    figures = ["per-day", "on-time-hub-plot", "on-time-funnel", "workload-plot", "hour", "map"]
    assert [c for c in figures if not r.has(c, "image/png")] == []
    hubs = r.text("on-time-hub")
    assert all(f"{city} Hub" in hubs for city in ("Jakarta", "Surabaya", "Medan", "Denpasar"))
    assert "datetime64[us, UTC] -> datetime64[us, Asia/Jakarta]" in r.text("tz")
    assert "+07:00" in r.text("tz")
    assert "timedelta64[us]" in r.text("workload-dtypes")
    assert "Int64" in r.text("workload-dtypes")
    assert re.search(r"lat\s+Float64\s+lng\s+Float64", r.text("coords"))
    assert "receiverName" in r.text("form-fields") and "inspectionPassed" in r.text("form-fields")


def test_edit_and_push_lands_every_edit_but_the_deleted_row(run: Callable[[str], Run]) -> None:
    r = run("03-edit-and-push.ipynb")
    assert r.value("fix4") > 0  # wrong COD labels found and cleared
    plan = r.text("plan")
    assert "dry run: nothing sent" in plan and "PATCH  /tasks/bulk" in plan
    mistakes = r.text("mistakes")
    assert "nothing was sent" in mistakes and "writes applied: 0" in mistakes
    assert "'createdTime': read-only" in mistakes and "'hubName': unknown column" in mistakes
    assert r.value("undo") is True
    edited, patched = r.value("landed")
    assert edited > 100 and patched == {"ok": edited - 1, "failed": 1}
    counts = r.value("counts")
    assert counts["failed"] == 1 and sum(counts.values()) == r.value("read")[0]
    assert "Data not found" in r.text("failed")
    assert "nothing to write" in r.text("nothing-left")
    checks = r.value("read-back")
    assert len(checks) == 5 and all(checks.values()), checks
    assert "assign" in r.text("history")


def test_daily_reports_write_one_workbook_with_typed_sheets_and_totals(
    run: Callable[[str], Run],
) -> None:
    """04-daily-reports.ipynb: four reports for one hub and day, plotted where a person
    would rather look, and one workbook whose sheets, types and totals match them."""
    import datetime as dt

    import openpyxl

    r = run("04-daily-reports.ipynb")
    assert r.text("pick").startswith("Jakarta Hub 2026-")
    assert r.has("delivery-plot", "image/png") and r.has("routing-plot", "image/png")
    path, done, routes, shifts, vehicles = r.text("workbook").split()
    wb = openpyxl.load_workbook(r.work / path)
    assert wb.sheetnames == ["Delivery", "Routing", "Shifts", "Vehicles"]
    delivery = wb["Delivery"]
    header = [c.value for c in delivery[1]]
    assert header[:4] == ["worker", "done", "late", "on_time_rate"]
    done_cells = [row[1] for row in delivery.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, int) for v in done_cells) and sum(done_cells) == int(done) > 0
    assert wb["Routing"].max_row - 1 == int(routes) > 0
    load = [row[1] for row in wb["Routing"].iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, float) and 0 <= v <= 100 for v in load)  # "7.7%" made a number
    shift = wb["Shifts"]
    assert [c.value for c in shift[1]][:3] == [
        "worker",
        "start (Asia/Jakarta)",
        "finish (Asia/Jakarta)",
    ]
    assert shift.max_row - 1 == int(shifts) > 0
    assert all(isinstance(shift.cell(row=2, column=i).value, dt.datetime) for i in (2, 3))
    master = wb["Vehicles"]
    assert master.max_row - 1 == int(vehicles) > 0
    assert "max_weight" in [c.value for c in master[1]]
    assert master.freeze_panes == "B2" and master.auto_filter.ref


def _ignored_by_git(paths: list[str]) -> list[str]:
    """Those of ``paths`` (relative to the checkout) that .gitignore leaves out."""
    git = shutil.which("git")
    assert git is not None, "git is not installed"
    got = subprocess.run(
        [git, "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(paths), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert got.returncode in (0, 1), got.stderr  # 1: none of them is ignored
    return got.stdout.splitlines()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_what_a_notebook_writes_is_ignored_by_git(path: Path, run: Callable[[str], Run]) -> None:
    """Run in notebooks/, a notebook leaves nothing git would list as untracked: each file
    it writes (beside the notebook itself) is one .gitignore names."""
    r = run(path.name)
    written = sorted(
        "notebooks/" + p.relative_to(r.work).as_posix()
        for p in r.work.rglob("*")
        if p.is_file() and p.name != path.name and ".ipynb_checkpoints" not in p.parts
    )
    assert sorted(_ignored_by_git(written)) == written


def test_the_daily_report_goes_where_the_notebook_says(run: Callable[[str], Run]) -> None:
    """The workbook is written under the notebook's ``OUT_DIR`` (set at the top), not
    beside the notebook."""
    r = run("04-daily-reports.ipynb")
    first = next(c for c in r.nb.cells if c.cell_type == "code")
    assert re.search(r"^OUT_DIR = ", first.source, re.MULTILINE), "no OUT_DIR at the top"
    path = Path(r.text("workbook").split()[0])
    assert path.parts[0] == "output" and (r.work / path).is_file()
    assert not (r.work / "daily-report.xlsx").exists()
