"""Remembered sign-ins: a token and a base URL per named profile.

>>> import os, tempfile
>>> os.environ["MILEKIT_CREDENTIALS"] = "file"            # no OS keyring in this example
>>> store = CredentialStore(tempfile.mkdtemp())
>>> where = store.save("acme", Secret("acme-token-123"), "https://apiweb.mile.app/api/v3")
>>> cred = store.load("acme")
>>> cred
Credential(profile='acme', base_url='https://apiweb.mile.app/api/v3', token=********)
>>> cred.token.reveal(), store.profiles(), store.forget("acme"), store.load("acme")
('acme-token-123', ['acme'], True, None)
>>> del os.environ["MILEKIT_CREDENTIALS"]

Where the token goes: the OS keyring (through the ``keyring`` library) when a usable
backend is there, else ``credentials.json`` under the user's config directory
(``platformdirs``; ``$XDG_CONFIG_HOME/milekit`` on Linux), created with mode 0600 in a
0700 directory. A file that others can read or write, or a directory that others can
write to, is refused with :class:`~milekit.errors.CredentialsError` (as ssh refuses keys):
it is neither read nor replaced, so signing in again does not drop the profiles in it. The
base URL of each profile (not a secret) is kept in that file in both cases.
``MILEKIT_CREDENTIALS=file`` or ``=keyring`` forces one place. The ``keyring`` library
comes with ``milekit[keyring]``; without it tokens go to the file (as when no backend is
usable), and ``MILEKIT_CREDENTIALS=keyring`` is a
:class:`~milekit.errors.MissingExtraError` naming the ``pip install``.

Profiles: ``default`` unless ``profile=`` or ``MILEAPP_PROFILE`` names another, so one
machine can hold a sign-in per organisation (``milekit login --profile acme``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import platformdirs

from milekit.errors import AuthError, CredentialsError, MileWarning, UsageError, need
from milekit.wire.auth import Secret, token_from_env

log = logging.getLogger("milekit")

SERVICE = "milekit"  #: the keyring service name; the profile is the keyring user name
DEFAULT_PROFILE = "default"
FILE_NAME = "credentials.json"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

Backend = Literal["keyring", "file"]


class CredentialsWarning(MileWarning):
    """The credentials file was not used: it is not valid JSON."""


@dataclass(frozen=True)
class Credential:
    """One remembered sign-in."""

    profile: str
    base_url: str | None
    token: Secret = field(repr=False)
    #: the rate limiter this profile's clients use (``"process"``, a ``redis://`` URL …)
    limiter: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Credential(profile={self.profile!r}, base_url={self.base_url!r}, token=********)"


def profile_name(profile: str | None = None) -> str:
    """The profile to use: ``profile``, else ``MILEAPP_PROFILE``, else ``"default"``.

    >>> profile_name("acme"), profile_name(None) in ("default", os.environ.get("MILEAPP_PROFILE"))
    ('acme', True)
    >>> profile_name("a b")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: profile names are letters, digits, ... got 'a b'
    """
    name = profile if profile is not None else os.environ.get("MILEAPP_PROFILE", "").strip()
    name = name or DEFAULT_PROFILE
    if not _PROFILE_RE.match(name):
        raise UsageError(
            f"profile names are letters, digits, '.', '_' or '-' (up to 64), got {name!r}"
        )
    return name


def config_dir() -> Path:
    """``milekit``'s directory under the user's config dir (honours ``XDG_CONFIG_HOME``)."""
    return Path(platformdirs.user_config_dir("milekit", appauthor=False))


def _keyring() -> Any | None:
    """The keyring backend if one is usable here (not the fail/null one), else None."""
    choice = os.environ.get("MILEKIT_CREDENTIALS", "").strip().lower()
    if choice == "file":
        return None
    if choice == "keyring":
        keyring = need("keyring", "keyring", "MILEKIT_CREDENTIALS=keyring")
    else:
        try:
            import keyring
        except ImportError:  # without milekit[keyring]: the 0600 file, as with no backend
            return None
    try:
        backend = keyring.get_keyring()
        usable = float(backend.priority) > 0
    except Exception:  # a broken backend is an unusable one
        usable = False
        backend = None
    if choice == "keyring" and not usable:
        raise UsageError("MILEKIT_CREDENTIALS=keyring, but no usable keyring backend is available")
    return backend if usable else None


def keyring_status() -> str:
    """Where :meth:`CredentialStore.save` would put a token, for a bug report: the keyring
    backend's name, or why the file ("keyring not installed", no usable backend, forced).

    >>> os.environ["MILEKIT_CREDENTIALS"] = "file"
    >>> keyring_status()
    'the file (MILEKIT_CREDENTIALS=file)'
    >>> del os.environ["MILEKIT_CREDENTIALS"]
    """
    choice = os.environ.get("MILEKIT_CREDENTIALS", "").strip().lower()
    if choice == "file":
        return "the file (MILEKIT_CREDENTIALS=file)"
    try:
        import keyring  # noqa: F401  (whether it is installed)
    except ImportError:
        return 'the file (keyring not installed: pip install "milekit[keyring]")'
    try:
        backend = _keyring()
    except UsageError as e:
        return f"unusable: {e.message}"
    if backend is None:
        return "the file (no usable keyring backend)"
    return f"keyring {type(backend).__module__}.{type(backend).__name__}"


class CredentialStore:
    """Remembered credentials in ``directory`` (default :func:`config_dir`) and the keyring."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else config_dir()
        self.path = self.directory / FILE_NAME

    def __repr__(self) -> str:
        return f"CredentialStore({str(self.path)!r})"

    # -- the file ---------------------------------------------------------------------------

    def _check_private(self) -> None:
        """Refuse a directory others may write to, and a file others may read or change
        (or that belongs to someone else): :class:`CredentialsError`, nothing read."""
        if os.name != "posix":
            return
        try:
            d = self.directory.stat()
        except FileNotFoundError:
            return
        if d.st_uid != os.getuid() or d.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise CredentialsError(
                f"refusing {self.directory}: "
                + _whose(d, "write to it")
                + f"; run `chmod 700 {self.directory}` (and check the file in it)"
            )
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        if st.st_uid != os.getuid() or st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialsError(
                f"refusing {self.path}: "
                + _whose(st, "read or change it")
                + f"; run `chmod 600 {self.path}` and consider its tokens seen: renew them "
                "under Profile → Access Token"
            )

    def _read(self) -> dict[str, Any]:
        """The file's profiles; {} when it is missing or not JSON (with a warning)."""
        self._check_private()
        if not self.path.exists():
            return {}
        try:
            doc = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as e:
            warnings.warn(f"ignoring {self.path}: {type(e).__name__}", CredentialsWarning, 2)
            return {}
        profiles = doc.get("profiles") if isinstance(doc, dict) else None
        return profiles if isinstance(profiles, dict) else {}

    def _write(self, profiles: dict[str, Any]) -> None:
        """Replace the file atomically; it is created 0600 (never readable by others)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = orjson.dumps({"version": 1, "profiles": profiles}, option=orjson.OPT_INDENT_2)
        tmp = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)  # whatever the umask
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    # -- public -----------------------------------------------------------------------------

    def backend(self) -> Backend:
        """Where :meth:`save` puts a token now: ``"keyring"`` or ``"file"``."""
        return "keyring" if _keyring() is not None else "file"

    def profiles(self) -> list[str]:
        """Names of the remembered profiles."""
        return sorted(self._read())

    def load(self, profile: str | None = None) -> Credential | None:
        """The remembered credential of ``profile``, or None."""
        name = profile_name(profile)
        entry = self._read().get(name)
        if not isinstance(entry, dict):
            return None
        base_url = entry.get("base_url") if isinstance(entry.get("base_url"), str) else None
        raw: str | None = None
        if entry.get("store") == "keyring":
            kr = _keyring()
            if kr is None:
                log.info("profile %r keeps its token in a keyring that is not available", name)
                return None
            try:
                raw = kr.get_password(SERVICE, name)
            except Exception as e:
                log.info("keyring read failed for profile %r: %s", name, type(e).__name__)
                return None
        elif isinstance(entry.get("token"), str):
            raw = entry["token"]
        if not raw:
            return None
        limiter = entry.get("limiter") if isinstance(entry.get("limiter"), str) else None
        try:
            return Credential(name, base_url, Secret(raw), limiter)
        except ValueError:
            return None

    def limiter_setting(self, profile: str | None = None) -> str | None:
        """The rate-limiter setting remembered with ``profile`` (its token is not read)."""
        entry = self._read().get(profile_name(profile))
        value = entry.get("limiter") if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's file lock around a read-modify-write: two sign-ins at once
        (two terminals, a notebook and a terminal) each keep their profile."""
        import filelock

        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with filelock.FileLock(str(self.directory / f".{FILE_NAME}.lock"), timeout=30):
            yield

    def save(
        self,
        profile: str | None,
        token: Secret,
        base_url: str | None,
        limiter: str | None = None,
    ) -> str:
        """Remember ``token`` and ``base_url`` (and the ``limiter`` setting, else the one
        remembered before) as ``profile``; returns where the token went.

        The limiter setting may be a ``redis://`` URL with a password: it is kept in the
        private credentials file, never shown.
        """
        with self._locked():
            return self._save(profile, token, base_url, limiter)

    def _save(
        self, profile: str | None, token: Secret, base_url: str | None, limiter: str | None
    ) -> str:
        name = profile_name(profile)
        profiles = self._read()
        old = profiles.get(name)
        kept = old.get("limiter") if isinstance(old, dict) else None
        entry: dict[str, Any] = {"base_url": base_url}
        if limiter is not None or isinstance(kept, str):
            entry["limiter"] = limiter if limiter is not None else kept
        kr = _keyring()
        where = ""
        if kr is not None:
            try:
                kr.set_password(SERVICE, name, token.reveal())
                entry["store"] = "keyring"
                where = f"the OS keyring ({type(kr).__module__})"
            except Exception as e:
                if os.environ.get("MILEKIT_CREDENTIALS", "").lower() == "keyring":
                    raise UsageError(f"the keyring refused the token: {type(e).__name__}") from None
                log.info("keyring write failed (%s); using the file", type(e).__name__)
        if "store" not in entry:
            entry["store"] = "file"
            entry["token"] = token.reveal()
            where = str(self.path)
        profiles[name] = entry
        self._write(profiles)
        return where

    def forget(self, profile: str | None = None) -> bool:
        """Forget ``profile`` (keyring and file); True if anything was removed."""
        with self._locked():
            return self._forget(profile)

    def _forget(self, profile: str | None) -> bool:
        name = profile_name(profile)
        removed = False
        kr = _keyring()
        if kr is not None:
            try:
                if kr.get_password(SERVICE, name) is not None:
                    kr.delete_password(SERVICE, name)
                    removed = True
            except Exception as e:
                log.info("keyring delete failed for %r: %s", name, type(e).__name__)
        profiles = self._read()
        if name in profiles:
            del profiles[name]
            self._write(profiles)
            removed = True
        return removed


def _whose(st: os.stat_result, what: str) -> str:
    mode = f"mode {stat.S_IMODE(st.st_mode):04o}"
    if st.st_uid != os.getuid():
        return f"it belongs to another user ({mode})"
    return f"other users can {what} ({mode})"


def load(profile: str | None = None) -> Credential | None:
    """The remembered credential of ``profile`` (default store)."""
    return CredentialStore().load(profile)


@dataclass(frozen=True)
class FoundToken:
    """The token a client uses, and where it came from (never the token in words)."""

    token: Secret | None = field(repr=False)
    source: str  #: ``"argument"``, ``"MILEAPP_TOKEN"``, ``"profile 'name'"`` or ``"none"``
    profile: str | None = None  #: the profile whose remembered token it is
    wanted: str = DEFAULT_PROFILE  #: the profile looked for (named in a "no token" error)
    base_url: str | None = None  #: the profile's remembered base URL
    limiter: str | None = None  #: the profile's limiter setting


def find_token(token: str | Secret | None, profile: str | None) -> FoundToken:
    """The token: the argument, else ``MILEAPP_TOKEN`` (unless a profile is named), else
    the remembered profile's (with its base URL and limiter setting).

    >>> find_token("abc123456", None).source
    'argument'
    """
    if isinstance(token, str):
        token = Secret(token)
    source = "argument"
    if token is None and profile is None:
        token, source = token_from_env(), "MILEAPP_TOKEN"
    if token is not None:
        return FoundToken(token, source)
    name = profile_name(profile)
    cred = load(name)
    if cred is None:
        return FoundToken(None, "none", wanted=name)
    return FoundToken(cred.token, f"profile {name!r}", name, name, cred.base_url, cred.limiter)


def no_token(wanted: str, method: str, path: str) -> AuthError:
    """The error of a request sent without a token: how to give one (``wanted``: the
    profile looked for)."""
    flag = "" if wanted == DEFAULT_PROFILE else f" --profile {wanted}"
    arg = "" if wanted == DEFAULT_PROFILE else f"profile={wanted!r}"
    return AuthError(
        401,
        f"no token: pass token=, set MILEAPP_TOKEN, or sign in with "
        f"milekit.login({arg}) or `milekit login{flag}`",
        method=method,
        url=path,
    )
