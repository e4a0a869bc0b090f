"""What the sandbox's test modules share: the demo token's headers and a session sending them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

#: the headers of a client signed in with the sandbox's default token
AUTH = {"Authorization": "Bearer sandbox-token", "Accept": "application/json"}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session that sends :data:`AUTH` with every request."""
    with requests.Session() as s:
        s.headers.update(AUTH)
        yield s
