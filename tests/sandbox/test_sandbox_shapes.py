"""Shapes of the generic list answer that real answers have (issue 24, item 5), over a real
loopback socket: projections keep the id, every paginator link has ``page``, page URLs
encode a space as ``%20``, and ``GET /trash`` answers as an unknown route does
(docs/api-notes.md note 58).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from milekit.sandbox import Sandbox
from milekit.types.registry import RESOURCES


@pytest.fixture(scope="module")
def ro() -> Iterator[Sandbox]:
    with Sandbox(tasks=300, seed=3, rate_limit=None) as sb:
        yield sb


#: the paginated lists that project with ``fields=`` (a field each of their items has)
PROJECTED = {"tasks": "title", "flows": "name", "automations": "name", "task_schedules": "flow"}


@pytest.mark.parametrize("resource,field", sorted(PROJECTED.items()))
def test_a_projection_keeps_the_id(
    ro: Sandbox, http: requests.Session, resource: str, field: str
) -> None:
    """``GET /tasks?fields=title`` answers ``{_id, title}`` items: real answers keep the id."""
    spec = RESOURCES[resource]
    body = http.get(ro.url + spec.list_path, params={"fields": field, "limit": 5}).json()
    items = body[spec.envelope_list]["data"]
    assert items
    assert all(set(item) == {spec.id_field, field} for item in items), items[0]


def test_every_link_has_a_page(ro: Sandbox, http: requests.Session) -> None:
    """Every item of ``links[]`` carries ``page`` (docs/api-notes.md note 30): the number of
    the page it leads to, null where it leads nowhere (no previous page, the separator)."""
    page = http.get(ro.url + "/tasks", params={"limit": 5, "page": 20}).json()["tasks"]
    links = page["links"]
    assert any(link["label"] == "..." for link in links)  # the window has a separator
    assert all(list(link) == ["url", "label", "page", "active"] for link in links)
    for link in links:
        if link["label"].isdigit():
            assert link["page"] == int(link["label"])
        elif link["label"] == "...":
            assert link["page"] is None and link["url"] is None
    assert links[0]["page"] == 19 and links[-1]["page"] == 21
    first = http.get(ro.url + "/tasks", params={"limit": 5}).json()["tasks"]["links"]
    assert first[0]["url"] is None and first[0]["page"] is None


def test_page_urls_encode_a_space_as_percent_20(ro: Sandbox, http: requests.Session) -> None:
    page = http.get(ro.url + "/tasks?limit=5&q=a%20b").json()["tasks"]
    assert page["first_page_url"] == ro.url + "/tasks?limit=5&q=a%20b&page=1"
    urls = [page["first_page_url"], page["last_page_url"], *(x["url"] for x in page["links"])]
    assert all("+" not in u for u in urls if u)


def test_trash_answers_as_an_unknown_route(ro: Sandbox, http: requests.Session) -> None:
    """``GET /trash`` (read by real tools, in neither spec) is not served: 404 "Data not
    found", as for any unknown route (docs/api-notes.md note 52)."""
    unknown = http.get(ro.url + "/no-such-route")
    for path in ("/trash", "/trash?page=1&limit=10", "/trash/"):
        r = http.get(ro.url + path)
        assert (
            (r.status_code, r.json())
            == (unknown.status_code, unknown.json())
            == (
                404,
                {"status": False, "message": "Data not found"},
            )
        )
