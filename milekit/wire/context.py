"""The default client used by the module-level helpers (``milekit.tasks_frame()`` …).

>>> import milekit
>>> c = milekit.Client(token="t0ken-123", base_url="http://127.0.0.1:9/api/v3", limiter=None)
>>> milekit.use(c) is c and milekit.get_client() is c
True
>>> milekit.use(None)  # back to a client built from MILEAPP_TOKEN / MILEAPP_BASE_URL
"""

from __future__ import annotations

import threading

from milekit.wire.client import Client

_lock = threading.Lock()
_client: Client | None = None


def use(client: Client | None) -> Client | None:
    """Make ``client`` the default for module-level helpers; ``None`` resets it."""
    global _client
    with _lock:
        old, _client = _client, client
    if old is not None and old is not client and getattr(old, "_owned_by_context", False):
        old.close()
    return client


def current_client() -> Client | None:
    """The client in use, if any (none is built)."""
    return _client


def get_client() -> Client:
    """The default client, built on first use from ``MILEAPP_TOKEN`` and ``MILEAPP_BASE_URL``."""
    global _client
    with _lock:
        if _client is None:
            _client = Client()
            _client._owned_by_context = True  # type: ignore[attr-defined]
        return _client
