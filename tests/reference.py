"""Facts of the API (``docs/api-notes.md``) that several test modules check the
sandbox against; stated once here, not re-typed per module."""

from __future__ import annotations

#: The 13 keys of Laravel's ``LengthAwarePaginator`` JSON that every documented list
#: answer carries (note 35).
PAGINATOR_KEYS = frozenset(
    {
        "current_page",
        "data",
        "first_page_url",
        "from",
        "last_page",
        "last_page_url",
        "links",
        "next_page_url",
        "path",
        "per_page",
        "prev_page_url",
        "to",
        "total",
    }
)
