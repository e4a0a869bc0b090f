"""The sign-in form in a real browser: JupyterLab on loopback, headless Chromium driven by
Playwright, the quickstart notebook's cells run, a token typed and the button clicked.

Needs the system's Chromium (``apt-get install chromium``; Playwright never downloads a
browser here). Without it the test is skipped on a developer's machine and FAILS when
``MILEKIT_REQUIRE_BROWSER`` or ``CI`` is set, as ``.ci/run`` does.
"""

from __future__ import annotations

import inspect
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from milekit.sandbox import Sandbox

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01-quickstart.ipynb"
SANDBOX_TOKEN = inspect.signature(Sandbox).parameters["token"].default
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRED = bool(os.environ.get("MILEKIT_REQUIRE_BROWSER") or os.environ.get("CI"))


@pytest.fixture
def chromium() -> str:
    """The system's Chromium, checked before JupyterLab is started for nothing."""
    path = os.environ.get("MILEKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        msg = f"no Chromium at {path} (apt-get install -y chromium)"
        if REQUIRED:
            pytest.fail(msg + "; MILEKIT_REQUIRE_BROWSER/CI is set, so this is a failure")
        pytest.skip(msg)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str  #: http://127.0.0.1:PORT
    token: str
    root: Path
    log: list[str]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a random token, a temp root dir and temp Jupyter dirs."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    token = secrets.token_hex(16)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILEAPP_", "JUPYTER"))}
    env.update(
        PYTHONPATH=str(ROOT),  # the kernel imports this checkout's milekit
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        MILEKIT_CREDENTIALS="file",
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.allow_root=True",  # CI runs as root
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_remote_access=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    # No "get notified about Jupyter news?" banner over the notebook.
    settings = tmp_path / "jupyter-config" / "lab" / "user-settings" / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    proc = subprocess.Popen(
        cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    log: list[str] = []
    ready = threading.Event()

    def pump() -> None:  # keep reading so the server never blocks on a full pipe
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if f"127.0.0.1:{port}/lab" in line:
                ready.set()
        ready.set()  # exited

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert ready.wait(60) and proc.poll() is None, "JupyterLab did not start:\n" + "".join(log)
        yield Lab(f"http://127.0.0.1:{port}", token, root, log)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        assert proc.stderr is not None
        proc.stderr.close()


def test_sign_in_form_in_jupyterlab(chromium: str, lab: Lab, tmp_path: Path) -> None:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )  # a Chromium that cannot start raises here: a failure, never a skip
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}&reset")
            kernel = page.get_by_role("button", name=re.compile(r"Python 3 .*\| Idle"))
            expect(kernel).to_be_visible(timeout=45_000)  # the kernel is up and idle

            # Run the cells down to the sign-in form: intro, sandbox, text, sign-in.
            cells = page.locator(".jp-Notebook .jp-Cell")
            cells.nth(0).click()
            page.keyboard.press("Escape")
            for _ in range(4):
                page.keyboard.press("Shift+Enter")
            expect(cells.nth(1).locator(".jp-InputPrompt")).to_contain_text("[1]", timeout=30_000)

            form = page.locator(".jp-OutputArea-output .widget-vbox").first
            password = form.locator("input[type='password']")
            expect(password).to_be_visible(timeout=30_000)
            expect(form).to_contain_text("Profile → Access Token")
            expect(form.locator("input[type='text']").first).to_have_value(
                re.compile(r"^http://127\.0\.0\.1:\d+/api/v3$")
            )  # the sandbox's URL, under "Advanced"

            password.fill(SANDBOX_TOKEN)
            form.get_by_role("button", name="Sign in").click()
            expect(form).to_contain_text(
                "Signed in as Sandbox Admin <admin@demo.mile.app>", timeout=20_000
            )
            expect(form).to_contain_text("organisation")
            expect(password).to_have_value("")
            page.screenshot(path=str(shots / "signed-in.png"))
            form.screenshot(path=str(shots / "sign-in-form.png"))

            password.fill("not-the-sandbox-token")
            form.get_by_role("button", name="Sign in").click()
            expect(form).to_contain_text("MileApp rejected the token", timeout=20_000)
            expect(password).to_have_value("")
            page.screenshot(path=str(shots / "rejected.png"))

            # Saved, the notebook holds neither token (nor widget state with one).
            page.keyboard.press("Escape")
            page.keyboard.press("Control+s")
            expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=15_000)
        finally:
            browser.close()
    saved = (lab.root / NOTEBOOK.name).read_text()
    assert "application/vnd.jupyter.widget-view+json" in saved  # the form's output was saved...
    assert SANDBOX_TOKEN not in saved and "not-the-sandbox-token" not in saved  # ...no token
    assert (shots / "signed-in.png").stat().st_size > 10_000
    keep = os.environ.get("MILEKIT_SCREENSHOTS")
    if keep:  # e.g. to refresh the picture in docs/
        shutil.copytree(shots, keep, dirs_exist_ok=True)


PORTAL = (
    """<!doctype html><html><head><title>loading</title></head><body><script>
const api = new URL(location.href).searchParams.get("api");
fetch(api + "/tasks?limit=5&status=DONE", {
  headers: {"Authorization": "Bearer TOKEN", "Accept": "application/json"},
}).then(r => r.json()).then(body => {
  document.title = "rows:" + body.tasks.data.length + ":" + body.tasks.data[0].status;
}).catch(e => { document.title = "error:" + e.name; });
</script></body></html>"""
).replace("TOKEN", SANDBOX_TOKEN)


@pytest.fixture
def portal() -> Iterator[str]:
    """A rider portal: a static page on an origin of its own that calls the API with
    ``fetch`` (an ``Authorization`` header, so the browser sends a preflight first)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = PORTAL.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/portal.html"
    finally:
        server.shutdown()
        server.server_close()


def _title_of_portal(chromium: str, url: str) -> str:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("document.title !== 'loading'", timeout=20_000)
            return page.title()
        finally:
            browser.close()


def test_a_web_page_reads_the_sandbox_with_fetch(chromium: str, portal: str) -> None:
    # issue 12: the sandbox sent no CORS headers and answered the preflight with 401
    with Sandbox(tasks=50) as sb:
        title = _title_of_portal(chromium, f"{portal}?api={sb.url}")
        log = [(r.method, r.status) for r in sb.app.request_log if r.path.endswith("/tasks")]
    assert title == "rows:5:DONE"
    assert log == [("OPTIONS", 204), ("GET", 200)]  # the preflight, then the read


def test_a_page_from_an_origin_not_allowed_is_refused(chromium: str, portal: str) -> None:
    with Sandbox(tasks=50, cors_origins=("https://portal.example",)) as sb:
        title = _title_of_portal(chromium, f"{portal}?api={sb.url}")
        log = [(r.method, r.status) for r in sb.app.request_log if r.path.endswith("/tasks")]
    assert title == "error:TypeError"  # the browser refused: no data reached the page
    assert log == [("OPTIONS", 204)]  # the preflight allowed nothing, so no GET followed
