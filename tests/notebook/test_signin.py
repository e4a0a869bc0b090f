"""Sign-in: login()/whoami()/logout(), the notebook form, and the CLI (pipe and terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import milekit
from milekit.errors import AuthError, NotFoundError, ResponseError, TransportError, UsageError
from milekit.notebook.signin import Identity, LoginForm
from milekit.sandbox import Sandbox
from milekit.wire import credentials
from milekit.wire.credentials import CredentialStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for k in ("MILEAPP_TOKEN", "MILEAPP_BASE_URL", "MILEAPP_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path / "config"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(tasks=40, token="sign-in-sandbox-token") as s:
        yield s


@pytest.fixture(scope="module")
def html_server() -> Iterator[str]:
    """Something on loopback that answers 200 with a web page, not the API."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            body = b"<html><body>Welcome</body></html>"
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v3"
    server.shutdown()
    server.server_close()
    t.join()


def _closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/api/v3"


def _no_token_in(text: str, token: str) -> None:
    assert token not in text, "the token leaked"


# --- login(token=...) / whoami / logout -------------------------------------------------------


def test_login_verifies_uses_and_whoami(sb: Sandbox, config_home: Path) -> None:
    me = milekit.login(token=sb.token, base_url=sb.url)
    assert isinstance(me, Identity)
    assert (me.name, me.email, me.base_url, me.profile) == (
        "Sandbox Admin",
        "admin@demo.mile.app",
        sb.url,
        None,
    )
    assert me.organization_id == sb.store.meta["me"]["organization_id"]
    client = milekit.get_client()
    assert client.base_url == sb.url and client.token_source == "sign-in"
    assert len(milekit.tasks_frame(progress=False)) == 40  # the helpers use it
    assert milekit.whoami() == me
    _no_token_in(repr(me) + str(me) + repr(client), sb.token)
    assert not CredentialStore().path.exists()  # not remembered unless asked
    assert milekit.logout() is False  # nothing remembered, but signed out here
    assert not milekit.get_client().has_token


def test_login_remember_then_a_new_session_uses_it(sb: Sandbox, config_home: Path) -> None:
    me = milekit.login(token=sb.token, base_url=sb.url, remember=True)
    assert me is not None and me.profile == "default"
    milekit.use(None)  # "a new session"
    c = milekit.get_client()
    assert (c.base_url, c.profile) == (sb.url, "default")
    assert milekit.whoami().email == "admin@demo.mile.app"
    assert milekit.logout() is True
    assert milekit.logout() is False
    assert CredentialStore().load() is None
    assert not milekit.get_client().has_token


def test_profiles_per_organisation(sb: Sandbox, config_home: Path) -> None:
    with Sandbox(tasks=5, token="other-org-token") as other:
        milekit.login(token=sb.token, base_url=sb.url, profile="acme", remember=True)
        milekit.login(token=other.token, base_url=other.url, profile="beta", remember=True)
        assert CredentialStore().profiles() == ["acme", "beta"]
        assert milekit.whoami(profile="acme").base_url == sb.url
        assert milekit.whoami(profile="beta").base_url == other.url
        os.environ["MILEAPP_PROFILE"] = "beta"
        try:
            milekit.use(None)
            assert len(milekit.tasks_frame(progress=False)) == 5
        finally:
            del os.environ["MILEAPP_PROFILE"]
        assert milekit.logout("beta") is True
        assert CredentialStore().profiles() == ["acme"]


@pytest.mark.parametrize(
    ("case", "error", "reason"),
    [
        ("rejected", AuthError, "MileApp rejected the token"),
        ("wrong path", NotFoundError, "There is no MileApp API at"),
        ("web page", ResponseError, "answered, but not as the MileApp API"),
        ("no network", TransportError, "Could not reach 127.0.0.1:"),
    ],
)
def test_login_failures_are_typed_and_explained(
    sb: Sandbox,
    html_server: str,
    config_home: Path,
    case: str,
    error: type[Exception],
    reason: str,
) -> None:
    token, url = {
        "rejected": ("wrong-token-value-1", sb.url),
        "wrong path": (sb.token, sb.url.replace("/api/v3", "/api/v9")),
        "web page": (sb.token, html_server),
        "no network": (sb.token, _closed_port_url()),
    }[case]
    with pytest.raises(error) as info:
        milekit.login(token=token, base_url=url)
    notes = getattr(info.value, "__notes__", [])
    assert any(reason in n for n in notes), notes
    for text in [str(info.value), *notes]:
        _no_token_in(text, token)
    assert not milekit.get_client().has_token  # nothing was put in use


def test_login_prompts_only_in_a_terminal(sb: Sandbox, config_home: Path) -> None:
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return sb.token + "\n"  # a pasted token often ends with a newline

    me = milekit.login(base_url=sb.url, prompt=prompt)
    assert me is not None and me.email == "admin@demo.mile.app"
    assert "Profile -> Access Token" in asked[0] and sb.token not in asked[0]
    with pytest.raises(UsageError, match="no terminal to ask for the token"):
        milekit.login(base_url=sb.url)  # pytest's stdin is not a terminal


# --- the notebook form ---------------------------------------------------------------------


def _states(form: LoginForm) -> str:
    return json.dumps([w.get_state() for w in form.widgets()], default=str)


def test_form_signs_in_and_keeps_no_token_in_any_widget_state(
    sb: Sandbox, config_home: Path
) -> None:
    form = LoginForm(base_url=sb.url)
    assert len(form.widgets()) >= 8  # header, token, accordion, box, url, remember, ...
    assert "Profile &rarr; Access Token" in form.header.value
    form.token.value = sb.token  # what the browser sends as the user types
    form.button.click()
    assert form.token.value == ""
    assert form.identity is not None and form.error is None
    assert "Signed in as <b>Sandbox Admin &lt;admin@demo.mile.app&gt;</b>" in form.status.value
    assert form.identity.organization_id in form.status.value
    _no_token_in(_states(form), sb.token)
    _no_token_in(repr(form), sb.token)
    assert milekit.get_client() is form.client
    assert len(milekit.tasks_frame(progress=False)) == 40
    assert not CredentialStore().path.exists()


def test_form_failure_says_why_and_keeps_the_token_out(sb: Sandbox, config_home: Path) -> None:
    before = milekit.get_client()
    form = LoginForm(base_url=sb.url)
    form.token.value = "a-wrong-token-42"
    form.button.click()
    assert form.identity is None and isinstance(form.error, AuthError)
    assert "MileApp rejected the token" in form.status.value
    assert form.token.value == ""
    _no_token_in(_states(form), "a-wrong-token-42")
    assert milekit.get_client() is before  # a failed sign-in changes nothing
    form.base_url.value = _closed_port_url()
    form.token.value = sb.token
    form.button.click()
    assert isinstance(form.error, TransportError) and "Could not reach" in form.status.value
    _no_token_in(_states(form), sb.token)
    form.button.click()  # nothing typed
    assert "Paste your token" in form.status.value


def test_form_remember_and_profile(sb: Sandbox, config_home: Path) -> None:
    form = LoginForm(base_url=sb.url, profile="acme")
    assert "(profile acme)" in form.header.value
    form.remember.value = True
    form.token.value = sb.token
    form.button.click()
    assert "Remembered as profile <b>acme</b>" in form.status.value
    _no_token_in(_states(form), sb.token)
    cred = credentials.load("acme")
    assert cred is not None and cred.base_url == sb.url
    # the next form for that profile offers the remembered base URL
    assert LoginForm(profile="acme").base_url.value == sb.url


# --- the CLI -------------------------------------------------------------------------------


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILEAPP_")}
    env.update(XDG_CONFIG_HOME=str(config), PYTHONPATH=str(ROOT), MILEKIT_CREDENTIALS="file")
    return env


def _cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "milekit.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(config),
        cwd=ROOT,
        timeout=120,
    )


def test_cli_login_whoami_logout(sb: Sandbox, config_home: Path) -> None:
    r1 = _cli(config_home, "login", "--base-url", sb.url, "--token-stdin", stdin=sb.token + "\n")
    assert r1.returncode == 0, r1.stderr
    assert "signed in as Sandbox Admin <admin@demo.mile.app>" in r1.stdout
    assert "remembered as profile 'default' in " in r1.stdout
    r2 = _cli(config_home, "whoami")
    assert r2.returncode == 0, r2.stderr
    assert "Sandbox Admin <admin@demo.mile.app>" in r2.stdout
    assert "token from profile 'default'" in r2.stdout
    r3 = _cli(config_home, "--profile", "acme", "whoami")
    assert r3.returncode == 1 and "milekit login --profile acme" in r3.stderr
    r4 = _cli(config_home, "logout")
    assert r4.returncode == 0 and "forgot profile 'default'" in r4.stdout
    r5 = _cli(config_home, "whoami", "--base-url", sb.url)
    assert r5.returncode == 1 and "no token" in r5.stderr
    r6 = _cli(config_home, "login", "--base-url", sb.url, "--token-stdin", stdin="nope-nope\n")
    assert r6.returncode == 1 and "MileApp rejected the token" in r6.stderr
    for r in (r1, r2, r3, r4, r5, r6):
        _no_token_in(r.stdout + r.stderr, sb.token)


def test_cli_login_prompts_on_a_real_terminal_without_echo(sb: Sandbox, config_home: Path) -> None:
    """``milekit login`` in a terminal: getpass on a pty, the token not echoed back."""
    master, slave = pty.openpty()
    # The child makes the pty its controlling terminal (getpass reads /dev/tty).
    boot = (
        "import os, sys, fcntl, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
        "os.execv(sys.executable, [sys.executable, '-m', 'milekit.cli', '--profile', 'tty', "
        f"'login', '--base-url', {sb.url!r}])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", boot],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_env(config_home),
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} in {seen!r}"
            ready, _, _ = select.select([master], [], [], left)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"terminal closed before {marker!r}: {seen!r}"
                seen += chunk

    try:
        read_until(b"input hidden): ")
        assert b"Profile -> Access Token" in seen
        os.write(master, sb.token.encode() + b"\n")
        read_until(b"remembered as profile 'tty'")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert sb.token.encode() not in seen  # not echoed
    assert b"signed in as Sandbox Admin" in seen
    cred = credentials.load("tty")
    assert cred is not None and cred.token.reveal() == sb.token


def test_sign_ins_at_the_same_time_keep_every_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: two `milekit login` at once could each read the file, add their profile
    and write it back, and one profile was lost. A file lock serialises them."""
    script = (
        "import sys, os\n"
        "os.environ['MILEKIT_CREDENTIALS'] = 'file'\n"
        "from milekit.wire.credentials import CredentialStore\n"
        "from milekit.wire.auth import Secret\n"
        "store = CredentialStore(sys.argv[1])\n"
        "for i in range(25):\n"
        "    store.save(f'p{sys.argv[2]}-{i}', Secret('tok-' + 'x' * 20), None)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(n)]) for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    monkeypatch.setenv("MILEKIT_CREDENTIALS", "file")
    assert len(CredentialStore(tmp_path).profiles()) == 100
