"""The token: a secret that never shows in a repr, a log line or an exception.

>>> from milekit.wire.auth import Secret
>>> s = Secret("my-very-secret-token")
>>> s, str(s)
(Secret('********'), '********')
>>> s.reveal()
'my-very-secret-token'
>>> redact("401 for Bearer my-very-secret-token")
'401 for Bearer ********'

The token is sent through a ``requests`` auth object (:class:`BearerAuth`), not a raw
header, so a ``~/.netrc`` entry for the host cannot silently replace it (requests only
consults netrc when no auth is set).
"""

from __future__ import annotations

import os

import requests

from milekit.errors import UsageError
from milekit.redaction import MASK, redact, remember

__all__ = ["BearerAuth", "Secret", "redact", "token_from_env"]


class Secret:
    """A string that hides itself; ``reveal()`` is the only way to read it."""

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        value = value.strip()  # a pasted token often carries a newline
        _check(value)
        self.__value = value
        remember(value)

    def reveal(self) -> str:
        return self.__value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.__value == self.__value

    def __hash__(self) -> int:
        return hash(("Secret", self.__value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a milekit Secret cannot be pickled")


def _check(value: str) -> None:
    """A token is printable ASCII without spaces: anything else is refused before it could
    reach a header (where requests would send control characters as they are, or fail on
    a non-Latin-1 one with an error that holds the token). The error never shows it.

    >>> _check("ab\x1bcd")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: the token holds a control character (at position 3 of 5): ...
    """
    if not value:
        raise UsageError("the token is empty")
    for i, ch in enumerate(value):
        if "!" <= ch <= "~":
            continue
        what = (
            "white space"
            if ch.isspace()
            else "a control character"
            if ord(ch) < 32 or ord(ch) == 127
            else "a character that is not ASCII"
        )
        raise UsageError(
            f"the token holds {what} (at position {i + 1} of {len(value)}): "
            "copy it again from Profile → Access Token"
        ) from None


class BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>`` to every request."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(********)"


def token_from_env() -> Secret | None:
    """``MILEAPP_TOKEN`` from the environment, if set."""
    raw = os.environ.get("MILEAPP_TOKEN", "").strip()
    return Secret(raw) if raw else None
