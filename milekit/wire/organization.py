"""Which organisation a token belongs to: the key of a Redis-shared rate-limit window.

>>> organization_of({"_id": "u", "organization_id": "o1"})
'o1'

MileApp's limit is per organisation (note 33), so a window shared through Redis is keyed
by the API host and the organisation id (never the token). The first machine to need it
asks the API (``GET /user``, through the client's own request path: its retries and
error mapping); the answer is kept in that Redis for a day under a hash of the token, and
the others wait for it under a Redis lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from milekit import errors
from milekit.types.registry import PAGE_ROWS
from milekit.wire.auth import Secret

__all__ = ["OrganizationKey", "organization_of"]

#: seconds the organisation of a token is kept in Redis
KEPT_FOR = 86_400


class OrganizationKey:
    """The scope of a Redis window, ``host:organisation``, called with the Redis connection
    (:meth:`milekit.wire.ratelimit.RateLimiter.redis`). ``ask`` sends the ``GET /user``
    and returns its body; ``asked`` says whether it did (that request then counts in the
    window too).

    >>> OrganizationKey("h", None, dict)(None)
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: a Redis-shared limit is per organisation: ...
    """

    def __init__(self, host: str, token: Secret | None, ask: Callable[[], Any]) -> None:
        self.host = host
        self.token = token
        self.ask = ask
        self.asked = False

    def __call__(self, conn: Any) -> str:
        return f"{self.host}:{self.organization(conn)}"

    def organization(self, conn: Any) -> str:
        """The organisation id, from the Redis cache or (once, under its lock) the API."""
        if self.token is None:
            raise errors.UsageError(
                "a Redis-shared limit is per organisation: the client needs a token to learn "
                "which (MILEAPP_TOKEN, token=, or milekit.login())"
            )
        digest = hashlib.sha256(self.token.reveal().encode()).hexdigest()[:32]
        cache = f"milekit:organization:{self.host}:{digest}"
        with conn.lock(f"{cache}:lock", timeout=60, blocking_timeout=90):
            known = conn.get(cache)
            if known:
                return str(known.decode())
            org = organization_of(self.ask())
            self.asked = True
            if org is None:
                raise errors.ResponseError(
                    "GET /user did not say which organisation the token is of"
                )
            conn.set(cache, org, ex=KEPT_FOR)
            return org


def organization_of(body: Any) -> str | None:
    """The organisation id in a ``GET /user`` answer (its spellings: ``organization_id``,
    ``organizationId``, ``organization._id``; an envelope's ``data`` looked into).

    >>> organization_of({"data": {"organization": {"_id": "o2"}}})
    'o2'
    """
    me = body.get(PAGE_ROWS, body) if isinstance(body, dict) else None
    if not isinstance(me, dict):
        return None
    for key in ("organization_id", "organizationId"):
        if isinstance(me.get(key), str) and me[key]:
            return str(me[key])
    org = me.get("organization")
    if isinstance(org, dict):
        found = org.get("_id") or org.get("id")
        return str(found) if found else None
    return None
