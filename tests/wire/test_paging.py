"""The one ``Client.pages`` loop over every list shape, and its stop rules: a server that
ignores ``page``, lists that do not say how many pages they have, Elasticsearch totals,
the gallery's boolean ``last_page``, the activities' ``pageSize``, the walk's cap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

import milekit
from milekit import errors
from milekit.sandbox import Sandbox
from milekit.types import registry
from milekit.wire.paging import PagingWarning
from milekit.wire.response import Page


@pytest.fixture
def client(fresh: Sandbox) -> Iterator[milekit.Client]:
    with milekit.Client(fresh.token, fresh.url, limiter="process") as c:
        yield c


def _requests(sb: Sandbox, path: str) -> list[str]:
    return [r.query for r in sb.app.request_log if r.path.rstrip("/") == "/api/v3" + path]


def _paginator(rows: list[dict[str, Any]], **keys: Any) -> dict[str, Any]:
    return {"current_page": 1, "data": rows, **keys}


def test_a_server_that_ignores_page_is_not_read_forever(
    fresh: Sandbox, client: milekit.Client
) -> None:
    hubs = fresh.store.values("hubs")[:5]
    fresh.faults.add(status=200, body={"data": hubs}, times=None, path_prefix="/api/v3/hubs")
    with pytest.warns(PagingWarning, match="ignore the page parameter"):
        df = milekit.hubs_frame(client=client, progress=False, limit=5)
    assert sorted(df.index) == sorted(h["_id"] for h in hubs)
    assert len(_requests(fresh, "/hubs")) == 2  # page 2 repeated page 1: stop


def test_a_server_that_ignores_page_and_limit_loses_nothing(
    fresh: Sandbox, client: milekit.Client
) -> None:
    hubs = fresh.store.values("hubs")
    fresh.faults.add(status=200, body={"data": hubs}, times=None, path_prefix="/api/v3/hubs")
    df = milekit.hubs_frame(client=client, progress=False, limit=5)  # no warning: all came
    assert len(df) == len(hubs) == 8
    assert len(_requests(fresh, "/hubs")) == 2


def test_a_plain_array_is_walked_until_a_short_page(fresh: Sandbox, client: milekit.Client) -> None:
    df = milekit.hubs_frame(client=client, progress=False, limit=3)  # 3 + 3 + 2
    assert len(df) == 8 and df.index.is_unique
    assert len(_requests(fresh, "/hubs")) == 3
    fresh.app.request_log.clear()
    assert len(milekit.hubs_frame(client=client, progress=False)) == 8
    assert len(_requests(fresh, "/hubs")) == 1


def test_a_paginator_without_last_page_is_walked_by_parsed_rows(
    fresh: Sandbox, client: milekit.Client
) -> None:
    # the frames' parse path empties ``page.rows``: the walk must count the parsed table
    vehicles = fresh.store.values("vehicles")[:7]
    for chunk in (vehicles[:5], vehicles[5:]):
        fresh.faults.add(status=200, body=_paginator(chunk), path_prefix="/api/v3/vehicles")
    df = milekit.vehicles_frame(client=client, progress=False, limit=5)
    assert sorted(df.index) == sorted(v["_id"] for v in vehicles)
    assert len(_requests(fresh, "/vehicles")) == 2


def test_the_walk_is_capped(fresh: Sandbox, client: milekit.Client) -> None:
    spec = registry.get("hubs")
    with pytest.raises(errors.ResponseError, match="max_pages=2"):
        list(client.pages(spec, {}, limit=2, max_pages=2))  # 8 hubs, 2 a page: 4 pages
    assert len(list(client.pages(spec, {}, limit=2, max_pages=5))) == 5  # the last is empty


def test_elasticsearch_hits_are_read_concurrently_from_their_total(
    fresh: Sandbox, client: milekit.Client
) -> None:
    n = fresh.store.count("automation_logs")
    df = milekit.automation_logs_frame(client=client, progress=False, limit=10)
    assert len(df) == n > 10 and df.index.is_unique
    pages = _requests(fresh, "/automation-log")
    assert len(pages) == -(-n // 10)  # exactly the pages the total needs, no extra one
    # the rows are the hits' _source with the hit's _id
    raw = {h["_id"]: h["_source"] for h in fresh.store.values("automation_logs")}
    some = df.index[0]
    assert df.at[some, "automationId"] == raw[some]["automationId"]


def test_elasticsearch_pages_smaller_than_asked_are_walked_to_the_total(
    fresh: Sandbox, client: milekit.Client
) -> None:
    hits = fresh.store.values("automation_logs")[:5]
    for chunk in (hits[:2], hits[2:4], hits[4:]):  # the server pages by 2, not 10
        body = {"status": True, "total": 5, "data": chunk}
        fresh.faults.add(status=200, body=body, path_prefix="/api/v3/automation-log")
    df = milekit.automation_logs_frame(client=client, progress=False, limit=10)
    assert sorted(df.index) == sorted(h["_id"] for h in hits)
    assert len(_requests(fresh, "/automation-log")) == 3


def test_the_gallery_is_walked_until_its_last_page(fresh: Sandbox, client: milekit.Client) -> None:
    df = milekit.tasks_gallery_frame(client=client, progress=False, limit=20)
    pages = _requests(fresh, "/tasks-gallery")
    assert len(pages) > 2
    direct = milekit.frame("tasks_gallery", client=client, progress=False)
    assert set(df.index) == set(direct.index) and len(df) == len(direct)
    # every row has a photo URL column filled
    urls = [c for c in df.columns if c.endswith("_url")]
    assert urls and df[urls].notna().any(axis=1).all()


def test_activities_use_page_size(fresh: Sandbox, client: milekit.Client) -> None:
    n = fresh.store.count("activities")
    df = milekit.activities_frame(client=client, progress=False, limit=7)
    assert len(df) == n
    queries = _requests(fresh, "/activities")
    assert len(queries) == -(-n // 7) and all("pageSize=7" in q for q in queries)
    assert not any("limit=" in q for q in queries)


def test_unpaginated_lists_take_one_request(fresh: Sandbox, client: milekit.Client) -> None:
    for helper, path in (
        ("users_frame", "/users"),
        ("roles_frame", "/roles"),
        ("flow_fields_frame", "/flow-fields"),
        ("locked_members_frame", "/members/locked"),
    ):
        df = getattr(milekit, helper)(client=client, progress=False)
        queries = _requests(fresh, path)
        assert len(df) > 0 and len(queries) == 1, helper
        assert "page=" not in queries[0] and "limit=" not in queries[0], helper


def test_laravel_lists_fetch_their_pages_concurrently(
    fresh: Sandbox, client: milekit.Client
) -> None:
    n = fresh.store.count("location_histories")
    df = milekit.location_histories_frame(client=client, progress=False, limit=25)
    assert len(df) == n and df.index.is_unique
    assert len(_requests(fresh, "/location-histories")) == -(-n // 25)


def _page_log(sb: Sandbox, path: str = "/tasks") -> list[tuple[int, int]]:
    """(status, page) of each request to ``path``, in the order they were answered."""
    return [
        (r.status, int(parse_qs(r.query).get("page", ["1"])[0]))
        for r in sb.app.request_log
        if r.path.rstrip("/") == "/api/v3" + path
    ]


def _task_ids(pages: Iterator[Page]) -> list[str]:
    return [i for p in pages for i in (p.ids("_id") or [])]


@pytest.mark.parametrize("expect", [None, 6])
def test_expected_pages_are_asked_for_beside_page_1(
    fresh: Sandbox, client: milekit.Client, expect: int | None
) -> None:
    # a lake run knows from its last run how many pages a status has: waiting for page 1
    # before asking for the others cost a round trip per read
    fresh.faults.add(status=503, times=1, retry_after=0.3, query="page=1&")
    ids = _task_ids(client.pages("tasks", limit=50, expect=expect))  # 6 pages of 50
    assert len(ids) == len(set(ids)) == fresh.store.count("tasks") == 300
    log = _page_log(fresh)
    page1 = log.index((200, 1))
    assert (max(page for _, page in log[:page1]) == 6) is (expect is not None), log
    assert len(log) == 7  # page 1 twice (its 503), each other page once


def test_pages_expected_past_the_end_are_not_yielded_nor_missed(fresh: Sandbox) -> None:
    # the list shrank since the read that counted its pages: the pages past its end come
    # back empty (or fail); they are not pages of the list
    fresh.faults.add(status=500, times=None, query="page=8&")
    retry = milekit.RetryPolicy(attempts=2)
    with milekit.Client(fresh.token, fresh.url, limiter="process", retry=retry) as client:
        pages = list(client.pages("tasks", limit=50, expect=9))
    assert [p.number for p in pages] == [1, 2, 3, 4, 5, 6]
    ids = _task_ids(iter(pages))
    assert len(ids) == len(set(ids)) == 300
    assert {page for _, page in _page_log(fresh)} <= set(range(1, 10))


def test_a_list_longer_than_expected_is_read_to_its_end(
    fresh: Sandbox, client: milekit.Client
) -> None:
    ids = _task_ids(client.pages("tasks", limit=50, expect=3))
    assert len(ids) == len(set(ids)) == 300
    assert sorted(page for _, page in _page_log(fresh)) == [1, 2, 3, 4, 5, 6]


def test_an_expected_count_for_a_list_that_tells_none_falls_back_to_the_walk(
    fresh: Sandbox, client: milekit.Client
) -> None:
    # a server whose pages say no count: page N is the Nth chunk, later pages are empty
    vehicles = fresh.store.values("vehicles")[:7]
    for n, chunk in ((1, vehicles[:5]), (2, vehicles[5:]), (None, [])):
        fresh.faults.add(
            status=200, times=None, body=_paginator(chunk), path_prefix="/api/v3/vehicles",
            query=None if n is None else f"page={n}&",
        )  # fmt: skip
    pages = list(client.pages("vehicles", limit=5, expect=4))
    got = [v["_id"] for p in pages for v in p.rows]
    assert sorted(got) == sorted(v["_id"] for v in vehicles)
