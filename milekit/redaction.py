"""Redaction: every known token, and anything after ``Bearer``, masked out of a text.

>>> from milekit.redaction import redact, remember
>>> remember("s3cret-token")
>>> redact("sent Bearer abc with token=s3cret-token")
'sent Bearer ******** with token=********'

The ground floor beside :mod:`milekit.errors`: every error message passes through
:func:`redact`, and every :class:`milekit.wire.auth.Secret` made is remembered here.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "********"
_BEARER = re.compile(r"(Bearer\s+)[^\s'\"]+", re.IGNORECASE)
_known: set[str] = set()
_known_lock = threading.Lock()


def redact_json(value: Any) -> Any:
    """``value`` (decoded JSON) with :func:`redact` applied to every string in it.

    >>> redact_json({"a": ["Bearer xyz", 1]})
    {'a': ['Bearer ********', 1]}
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return value


def redact(text: str) -> str:
    """Remove every known token, and anything after ``Bearer``, from ``text``."""
    if not text:
        return text
    for secret in tuple(_known):
        if secret in text:
            text = text.replace(secret, MASK)
    return _BEARER.sub(r"\1" + MASK, text)


def remember(secret: str) -> None:
    """Mask ``secret`` wherever :func:`redact` meets it from now on (6 characters or more)."""
    if len(secret) >= 6:
        with _known_lock:
            _known.add(secret)
