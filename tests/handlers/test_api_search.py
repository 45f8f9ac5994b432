"""GET /images?q=: the search handler against a local stand-in for the OpenSearch domain."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.handlers.conftest import (
    ApiResponse,
    CannedOpenSearch,
    api_event,
    canned_opensearch,
    handler_module,
    invoke,
    signature_matches,
)

search = handler_module("search")

pytestmark = pytest.mark.usefixtures("api_aws")

ORIGIN = "https://app.example.com"
DOG_ID = "11111111-1111-4111-8111-111111111111"
DOGGO_ID = "22222222-2222-4222-8222-222222222222"
GROUP_ID = "33333333-3333-4333-8333-333333333333"


def _hit(image_id: str, title: str, score: float, highlight: list[str]) -> dict[str, Any]:
    return {
        "_index": "images",
        "_id": image_id,
        "_score": score,
        "_source": {
            "groupId": GROUP_ID,
            "imageId": image_id,
            "title": title,
            "timestamp": "2030-01-01T00:00:00.000000Z",
        },
        "highlight": {"title": highlight},
    }


HITS = {
    "took": 3,
    "timed_out": False,
    "hits": {
        "total": {"value": 3, "relation": "eq"},
        "hits": [
            _hit(DOG_ID, "A dog in the park", 2.5, ["A <em>dog</em> in the park"]),
            {"_index": "images", "_id": "broken", "_score": 1.9, "_source": {"title": "no ids"}},
            _hit(DOGGO_ID, "Doggo", 1.2, ["<em>Doggo</em>"]),
        ],
    },
}


@pytest.fixture(scope="module")
def opensearch(api_aws: None) -> Iterator[CannedOpenSearch]:
    with canned_opensearch() as server:
        yield server


@pytest.fixture
def server(opensearch: CannedOpenSearch) -> CannedOpenSearch:
    """The endpoint, answering the canned hits and with no recorded requests."""
    opensearch.status, opensearch.reply = 200, HITS
    opensearch.requests.clear()
    return opensearch


def run_search(query: dict[str, str] | None) -> ApiResponse:
    return invoke(search, api_event("GET", "/images", query=query, headers={"Origin": ORIGIN}))


def test_search_sends_a_fuzzy_multi_match_with_highlights(server: CannedOpenSearch) -> None:
    assert run_search({"q": "dgo"}).status == 200
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/images/_search")
    assert request.body["query"] == {
        "multi_match": {"query": "dgo", "fields": ["title"], "fuzziness": "AUTO"}
    }
    assert request.body["highlight"] == {"fields": {"title": {}}}
    assert request.body["size"] == 20
    assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/es/aws4_request" in request.headers["Authorization"]


def test_search_results_keep_relevance_order_with_urls_and_highlights(server: CannedOpenSearch) -> None:
    response = run_search({"q": "dog"})
    assert response.status == 200
    items = response.body["items"]
    assert [item["imageId"] for item in items] == [DOG_ID, DOGGO_ID]  # the hit without ids is skipped
    assert items[0]["highlights"] == {"title": ["A <em>dog</em> in the park"]}
    assert items[1]["highlights"] == {"title": ["<em>Doggo</em>"]}
    for item in items:
        assert set(item) == {
            "groupId",
            "imageId",
            "title",
            "timestamp",
            "imageUrl",
            "thumbnailUrl",
            "highlights",
        }
        assert urlsplit(item["imageUrl"]).path == f"/uploads/{item['imageId']}"
        assert urlsplit(item["thumbnailUrl"]).path == f"/thumbnails/{item['imageId']}.jpeg"
        assert signature_matches(item["imageUrl"], "GET")
        assert signature_matches(item["thumbnailUrl"], "GET")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_search_limit_is_the_result_size(server: CannedOpenSearch) -> None:
    assert run_search({"q": "dog", "limit": "5"}).status == 200
    assert server.requests[0].body["size"] == 5


def test_search_query_text_is_trimmed(server: CannedOpenSearch) -> None:
    assert run_search({"q": "  dog  "}).status == 200
    assert server.requests[0].body["query"]["multi_match"]["query"] == "dog"


@pytest.mark.parametrize("query", [None, {"q": ""}, {"q": "   "}, {"limit": "5"}])
def test_search_without_text_is_400(server: CannedOpenSearch, query: dict[str, str] | None) -> None:
    response = run_search(query)
    assert (response.status, response.body) == (
        400,
        {"message": "q is required: give the text to search for"},
    )
    assert server.requests == []


def test_search_text_over_the_limit_is_400(server: CannedOpenSearch) -> None:
    response = run_search({"q": "x" * 201})
    assert (response.status, response.body) == (400, {"message": "q must be at most 200 characters"})


def test_search_with_a_bad_limit_is_400(server: CannedOpenSearch) -> None:
    response = run_search({"q": "dog", "limit": "0"})
    assert (response.status, response.body) == (
        400,
        {"message": "limit must be a whole number from 1 to 100"},
    )


def test_search_before_the_index_exists_finds_nothing(server: CannedOpenSearch) -> None:
    server.status, server.reply = 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
    response = run_search({"q": "dog"})
    assert (response.status, response.body) == (200, {"items": []})


def test_a_failing_domain_is_a_500_without_internals(server: CannedOpenSearch) -> None:
    server.status, server.reply = 500, {"error": {"type": "cluster_block_exception", "reason": "internal"}}
    response = run_search({"q": "dog"})
    assert (response.status, response.body) == (500, {"message": "Internal server error"})


def test_an_unavailable_domain_is_a_503_with_its_reason(server: CannedOpenSearch) -> None:
    server.status, server.reply = 503, {"message": "OpenSearch is not emulated by the local runner"}
    response = run_search({"q": "dog"})
    assert (response.status, response.body) == (
        503,
        {"message": "search is unavailable: OpenSearch is not emulated by the local runner"},
    )


def test_an_unreachable_domain_is_a_503(server: CannedOpenSearch, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    monkeypatch.setenv("SEARCH_DOMAIN_ENDPOINT", f"http://127.0.0.1:{closed.getsockname()[1]}")
    search.opensearch.cache_clear()
    try:
        response = run_search({"q": "dog"})
    finally:
        closed.close()
        search.opensearch.cache_clear()
    assert (response.status, response.body) == (
        503,
        {"message": "search is unavailable: the search domain did not answer"},
    )


def test_search_query_is_plain_text_for_any_input() -> None:
    body = search.search_query('title:* OR "x" AND _exists_:userId', limit=3)
    assert body["query"]["multi_match"]["query"] == 'title:* OR "x" AND _exists_:userId'
    assert "query_string" not in str(body)
