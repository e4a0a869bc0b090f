"""Remembered credentials: where they go, who may read them, and the token lookup order."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

import milekit
from milekit.errors import AuthError, CredentialsError, UsageError
from milekit.sandbox import Sandbox
from milekit.wire import credentials
from milekit.wire.auth import Secret
from milekit.wire.credentials import CredentialStore, CredentialsWarning

TOKEN = "remembered-token-0123456789"


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir of this test's own (the session one is shared)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("MILEAPP_TOKEN", raising=False)
    monkeypatch.delenv("MILEAPP_BASE_URL", raising=False)
    monkeypatch.delenv("MILEAPP_PROFILE", raising=False)
    return tmp_path / "config"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in a dict (the OS one is not ours)."""

    priority = 5  # type: ignore[assignment]

    def __init__(self, refuse_writes: bool = False) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.refuse_writes = refuse_writes

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.refuse_writes:
            raise keyring.errors.PasswordSetError("locked")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not there")
        del self.items[(service, username)]


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    kr = MemoryKeyring()
    monkeypatch.delenv("MILEKIT_CREDENTIALS", raising=False)
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(keyring.backends.fail.Keyring())


def test_file_store_is_private_and_round_trips(config_home: Path) -> None:
    store = CredentialStore()
    assert store.path == config_home / "milekit" / "credentials.json"
    where = store.save("acme", Secret(TOKEN), "https://acme.example/api/v3")
    assert where == str(store.path)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    cred = store.load("acme")
    assert cred is not None and cred.token.reveal() == TOKEN
    assert cred.base_url == "https://acme.example/api/v3"
    assert TOKEN not in repr(cred) and TOKEN not in str(cred)
    assert store.profiles() == ["acme"]
    assert store.load("other") is None
    assert store.forget("acme") is True and store.forget("acme") is False
    assert store.load("acme") is None


def test_file_created_0600_whatever_the_umask(config_home: Path) -> None:
    old = os.umask(0o000)
    try:
        CredentialStore().save(None, Secret(TOKEN), None)
    finally:
        os.umask(old)
    path = CredentialStore().path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o606, 0o644])
def test_a_file_others_can_read_or_write_is_refused(config_home: Path, mode: int) -> None:
    # issue 12, defect 7: it was ignored with a warning, and left readable
    store = CredentialStore()
    store.save(None, Secret(TOKEN), "http://127.0.0.1:9/api/v3")
    store.path.chmod(mode)
    with pytest.raises(CredentialsError, match="other users can read or change it") as ei:
        store.load()
    assert f"chmod 600 {store.path}" in str(ei.value) and TOKEN not in str(ei.value)
    with pytest.raises(CredentialsError):
        milekit.Client(limiter=None)  # not used by the client either: refused, loudly


def test_signing_in_over_an_unsafe_file_keeps_its_profiles(config_home: Path) -> None:
    # issue 12, defect 7: logging in again over it dropped the other profiles
    store = CredentialStore()
    store.save("acme", Secret("acme-token-123"), None)
    store.save("beta", Secret("beta-token-456"), None)
    store.path.chmod(0o644)
    before = store.path.read_bytes()
    with pytest.raises(CredentialsError):
        store.save("acme", Secret("new-token-789"), None)
    assert store.path.read_bytes() == before
    store.path.chmod(0o600)
    assert store.profiles() == ["acme", "beta"]


def test_a_directory_others_can_write_to_is_refused(config_home: Path) -> None:
    # issue 12, defect 7: the directory's mode was not checked (others could swap the file)
    store = CredentialStore()
    store.save(None, Secret(TOKEN), None)
    store.directory.chmod(0o777)
    try:
        with pytest.raises(CredentialsError, match=f"chmod 700 {store.directory}"):
            store.load()
        with pytest.raises(CredentialsError):
            store.save("other", Secret(TOKEN), None)
    finally:
        store.directory.chmod(0o700)
    assert store.load() is not None


def test_a_broken_file_is_ignored_with_a_warning(config_home: Path) -> None:
    store = CredentialStore()
    store.save(None, Secret(TOKEN), None)
    store.path.write_text("{not json")
    with pytest.warns(CredentialsWarning, match="JSONDecodeError"):
        assert store.load() is None


def test_profile_names_are_checked(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="profile names"):
        CredentialStore().save("../etc", Secret(TOKEN), None)
    monkeypatch.setenv("MILEAPP_PROFILE", "acme")
    assert credentials.profile_name() == "acme"
    assert credentials.profile_name("beta") == "beta"


def test_token_lookup_order(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CredentialStore()
    store.save(None, Secret("default-token-123"), "http://127.0.0.1:1/api/v3")
    store.save("acme", Secret("acme-token-123"), "http://127.0.0.1:2/api/v3")

    # remembered: token and its base URL, as a pair
    c = milekit.Client(limiter=None)
    assert (c.token_source, c.profile, c.base_url) == (
        "profile 'default'",
        "default",
        "http://127.0.0.1:1/api/v3",
    )
    # MILEAPP_PROFILE picks another remembered profile
    monkeypatch.setenv("MILEAPP_PROFILE", "acme")
    assert milekit.Client(limiter=None).base_url == "http://127.0.0.1:2/api/v3"
    monkeypatch.delenv("MILEAPP_PROFILE")
    # MILEAPP_TOKEN comes before a remembered one; the remembered base URL does not follow
    monkeypatch.setenv("MILEAPP_TOKEN", "env-token-123")
    monkeypatch.setenv("MILEAPP_BASE_URL", "http://127.0.0.1:3/api/v3")
    c = milekit.Client(limiter=None)
    assert (c.token_source, c.profile, c.base_url) == (
        "MILEAPP_TOKEN",
        None,
        "http://127.0.0.1:3/api/v3",
    )
    # an explicit profile= comes before MILEAPP_TOKEN
    c = milekit.Client(limiter=None, profile="acme")
    assert (c.token_source, c.base_url) == ("profile 'acme'", "http://127.0.0.1:2/api/v3")
    # an explicit token comes before everything; an explicit base URL too
    c = milekit.Client("arg-token-123", "http://127.0.0.1:4/api/v3", limiter=None)
    assert (c.token_source, c.base_url) == ("argument", "http://127.0.0.1:4/api/v3")
    c = milekit.Client(limiter=None, profile="acme", base_url="http://127.0.0.1:5/api/v3")
    assert c.base_url == "http://127.0.0.1:5/api/v3"


def test_the_remembered_token_is_the_one_sent(config_home: Path) -> None:
    with Sandbox(tasks=3, token="acme-sandbox-token") as sb:
        CredentialStore().save("acme", Secret("acme-sandbox-token"), sb.url)
        with milekit.Client(limiter=None, profile="acme") as c:
            assert c.request("GET", "/user").status == 200
        with milekit.Client(limiter=None, profile="default", base_url=sb.url) as c:
            with pytest.raises(AuthError, match="no token"):
                c.request("GET", "/user")
        assert sb.app.stats.requests == 1  # the one without a token never left the client


def test_no_token_anywhere_fails_on_request_naming_the_way_out(config_home: Path) -> None:
    c = milekit.Client(limiter=None)
    assert c.token_source == "none" and not c.has_token
    with pytest.raises(AuthError, match=r"milekit\.login\(\) or `milekit login`"):
        c.request("GET", "/user")
    c = milekit.Client(limiter=None, profile="acme")
    with pytest.raises(AuthError, match=r"`milekit login --profile acme`"):
        c.request("GET", "/user")
    # the default context client follows the same order
    CredentialStore().save(None, Secret(TOKEN), "http://127.0.0.1:6/api/v3")
    milekit.use(None)
    assert milekit.get_client().base_url == "http://127.0.0.1:6/api/v3"
    assert milekit.get_client().token_source == "profile 'default'"


def test_keyring_holds_the_token_and_the_file_only_the_url(
    config_home: Path, memory_keyring: MemoryKeyring
) -> None:
    store = CredentialStore()
    assert store.backend() == "keyring"
    where = store.save("acme", Secret(TOKEN), "http://127.0.0.1:7/api/v3")
    assert "keyring" in where
    assert memory_keyring.items == {("milekit", "acme"): TOKEN}
    assert TOKEN.encode() not in store.path.read_bytes()
    cred = store.load("acme")
    assert cred is not None and cred.token.reveal() == TOKEN
    assert milekit.Client(limiter=None, profile="acme").base_url == "http://127.0.0.1:7/api/v3"
    assert store.forget("acme") is True
    assert memory_keyring.items == {} and store.profiles() == []


def test_a_keyring_that_refuses_falls_back_to_the_file(
    config_home: Path, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.refuse_writes = True
    store = CredentialStore()
    assert store.save(None, Secret(TOKEN), None) == str(store.path)
    cred = store.load()
    assert cred is not None and cred.token.reveal() == TOKEN


def test_forcing_a_keyring_that_is_not_there_is_an_error(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILEKIT_CREDENTIALS", "keyring")  # the fail backend is set
    with pytest.raises(UsageError, match="no usable keyring"):
        CredentialStore().save(None, Secret(TOKEN), None)
