"""GET /images?q=: typo-tolerant full-text search over image titles, with presigned GET URLs.

Role: read-only query access to the search index; sign through the presign role. The index
holds the images table's items (document id = imageId), kept current by the search indexer.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from api_common import Api, ApiError, count, is_uuid, logger, page_size, query_value
from image_links import with_urls
from repository import IMAGE_FIELDS

if TYPE_CHECKING:
    from constructs_lib.runtime.opensearch import OpenSearchClient

MAX_QUERY_CHARS = 200  # longer than any title (200) needs; bounds the work one request causes
SEARCH_FIELDS = ("title",)
INDEX_MISSING = 404  # before the first image is indexed the index does not exist: no results
NO_ANSWER = 0  # OpenSearchError's status when the domain could not be reached
UNAVAILABLE = 503

api = Api()


@functools.cache
def opensearch() -> OpenSearchClient:
    """The container's OpenSearch client (SEARCH_DOMAIN_ENDPOINT)."""
    # Deferred like Powertools (see api_common): only requests need it.
    from constructs_lib.runtime.opensearch import OpenSearchClient  # noqa: PLC0415

    return OpenSearchClient.from_environment()


def search_query(text: str, *, limit: int) -> dict[str, Any]:
    """A fuzzy multi_match over SEARCH_FIELDS, best first, with highlighted fragments.

    multi_match treats `text` as plain words (no query syntax), so callers cannot inject operators.
    """
    return {
        "size": limit,
        "query": {"multi_match": {"query": text, "fields": list(SEARCH_FIELDS), "fuzziness": "AUTO"}},
        "highlight": {"fields": {field: {} for field in SEARCH_FIELDS}},
        "_source": list(IMAGE_FIELDS),
    }


def _image(hit: Any) -> dict[str, str] | None:
    source = hit.get("_source") if isinstance(hit, dict) else None
    if not isinstance(source, dict):
        return None
    image = {name: source[name] for name in IMAGE_FIELDS if isinstance(source.get(name), str)}
    return image if len(image) == len(IMAGE_FIELDS) and is_uuid(image["imageId"]) else None


def _highlights(hit: dict[str, Any]) -> dict[str, list[str]]:
    found = hit.get("highlight")
    if not isinstance(found, dict):
        return {}
    return {
        field: [fragment for fragment in fragments if isinstance(fragment, str)]
        for field, fragments in found.items()
        if isinstance(fragments, list)
    }


def _reason(body: Any) -> str:
    """The domain's own message for a 503, else what happened."""
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and message:
        return message[:200]
    return "the search domain did not answer" if isinstance(body, str) else "try again later"


def search_images(text: str, *, limit: int) -> dict[str, Any]:
    """Images matching `text`, most relevant first, each with URLs and `highlights`."""
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common

    query = text.strip()
    if not query:
        raise ApiError(400, "q is required: give the text to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError(400, f"q must be at most {MAX_QUERY_CHARS} characters")
    count("ImageSearches")
    client = opensearch()
    from constructs_lib.runtime.opensearch import OpenSearchError  # noqa: PLC0415 -- loaded by opensearch()

    try:
        reply = client.search(env.require(env.SEARCH_INDEX), search_query(query, limit=limit))
    except OpenSearchError as error:
        if error.status == INDEX_MISSING:
            return {"items": []}
        if error.status in (NO_ANSWER, UNAVAILABLE):
            # Overloaded, being updated, or unreachable: the client may retry, so say so with a 503.
            logger().warning("The search domain is unavailable", extra={"error": str(error)})
            raise ApiError(UNAVAILABLE, f"search is unavailable: {_reason(error.body)}") from error
        raise
    items = []
    for hit in reply.get("hits", {}).get("hits", []):
        image = _image(hit)
        if image is None:
            logger().warning(
                "Skipping a search hit that is not an image document", extra={"hit": str(hit)[:200]}
            )
            continue
        items.append({**with_urls(image), "highlights": _highlights(hit)})
    return {"items": items}


@api.get("/images")
def _search_images() -> dict[str, Any]:
    return search_images(query_value(api, "q") or "", limit=page_size(api))


handler = api.handler
