# botocore has no inline types, and botocore-stubs may be absent: its imports are typed as Any.
# mypy: disable-error-code="import-untyped"
"""OpenSearchClient against a local HTTP server that records requests and answers canned replies."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from constructs_lib.runtime.opensearch import OpenSearchClient, OpenSearchError


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case: HTTP header names are case-insensitive
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def ndjson(self) -> list[Any]:
        return [json.loads(line) for line in self.body.decode().splitlines()]


@dataclass
class RecordingOpenSearch:
    """Records every request; answers with the queued replies in order, then 200 ``{}``."""

    endpoint: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: list[tuple[int, Any]] = field(default_factory=list)

    def reply(self, status: int, body: Any) -> None:
        self.replies.append((status, body))


@contextmanager
def recording_opensearch() -> Iterator[RecordingOpenSearch]:
    """A local HTTP server on 127.0.0.1 standing in for the domain, for the duration of the block."""
    state = RecordingOpenSearch()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Recorded(
                    self.command,
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    self.rfile.read(length),
                )
            )
            status, body = state.replies.pop(0) if state.replies else (200, {})
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815 -- http.server dispatches on these names

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def opensearch() -> Iterator[RecordingOpenSearch]:
    with recording_opensearch() as server:
        yield server


def _expected_signature(recorded: Recorded, region: str) -> str:
    """Recompute the SigV4 signature from what the server received, as OpenSearch Service would."""
    signed_names = recorded.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    received = recorded.headers
    request = AWSRequest(
        method=recorded.method,
        url=f"http://{received['host']}{recorded.path}",
        data=recorded.body,
        headers={name: received[name] for name in signed_names},
    )
    request.context["timestamp"] = received["x-amz-date"]
    auth = SigV4Auth(Credentials("testing", "testing", "testing"), "es", region)
    string_to_sign = auth.string_to_sign(request, auth.canonical_request(request))
    return str(auth.signature(string_to_sign, request))


def test_search_posts_the_query_to_the_index(opensearch: RecordingOpenSearch) -> None:
    opensearch.reply(200, {"hits": {"total": {"value": 1}, "hits": [{"_id": "a"}]}})
    client = OpenSearchClient(opensearch.endpoint)

    result = client.search("images", {"query": {"match": {"title": "cat"}}})

    assert result["hits"]["hits"] == [{"_id": "a"}]
    (request,) = opensearch.requests
    assert (request.method, request.path) == ("POST", "/images/_search")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"query": {"match": {"title": "cat"}}}


def test_requests_carry_a_sigv4_signature_for_es_in_the_region(opensearch: RecordingOpenSearch) -> None:
    OpenSearchClient(opensearch.endpoint).search("images", {"query": {"match_all": {}}})

    (request,) = opensearch.requests
    authorization = request.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/es/aws4_request" in authorization
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"} <= set(signed)
    assert request.headers["x-amz-security-token"] == "testing"
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(request.body).hexdigest()
    assert authorization.endswith(f"Signature={_expected_signature(request, 'us-east-1')}")


def test_an_explicit_region_is_signed_into_the_scope(opensearch: RecordingOpenSearch) -> None:
    OpenSearchClient(opensearch.endpoint, region="eu-west-1").request("GET", "/")

    (request,) = opensearch.requests
    assert "/eu-west-1/es/aws4_request" in request.headers["authorization"]
    assert request.headers["authorization"].endswith(f"Signature={_expected_signature(request, 'eu-west-1')}")


def test_bulk_sends_newline_delimited_operations(opensearch: RecordingOpenSearch) -> None:
    opensearch.reply(200, {"took": 3, "errors": False, "items": [{"index": {"status": 201}}]})
    operations: list[dict[str, Any]] = [{"index": {"_id": "1"}}, {"title": "a"}, {"delete": {"_id": "2"}}]

    result = OpenSearchClient(opensearch.endpoint).bulk("images", operations)

    assert result["items"] == [{"index": {"status": 201}}]
    (request,) = opensearch.requests
    assert (request.method, request.path) == ("POST", "/images/_bulk")
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.body.endswith(b"\n")
    assert request.ndjson() == operations


def test_empty_bulk_sends_nothing(opensearch: RecordingOpenSearch) -> None:
    assert OpenSearchClient(opensearch.endpoint).bulk("images", []) == {
        "took": 0,
        "errors": False,
        "items": [],
    }
    assert opensearch.requests == []


def test_request_returns_status_and_parsed_reply(opensearch: RecordingOpenSearch) -> None:
    opensearch.reply(201, {"result": "created"})
    opensearch.reply(200, "plain text")
    client = OpenSearchClient(opensearch.endpoint)

    assert client.request("PUT", "/images/_doc/1", {"title": "a"}) == (201, {"result": "created"})
    assert client.request("GET", "/_cat/indices?v=true") == (200, "plain text")
    assert [r.path for r in opensearch.requests] == ["/images/_doc/1", "/_cat/indices?v=true"]
    assert "content-type" not in opensearch.requests[1].headers


def test_non_2xx_raises_with_status_and_body(opensearch: RecordingOpenSearch) -> None:
    opensearch.reply(403, {"message": "no permissions for [indices:data/read/search]"})

    with pytest.raises(
        OpenSearchError, match=r"POST /images/_search returned 403: .*no permissions"
    ) as caught:
        OpenSearchClient(opensearch.endpoint).search("images", {"query": {"match_all": {}}})

    assert caught.value.status == 403
    assert caught.value.body == {"message": "no permissions for [indices:data/read/search]"}


def test_no_answer_raises_with_status_zero() -> None:
    client = OpenSearchClient("http://127.0.0.1:9", timeout=2)  # the discard port: nothing listens

    with pytest.raises(OpenSearchError, match=r"GET / returned 0") as caught:
        client.request("GET", "/")

    assert caught.value.status == 0


def test_from_environment_reads_the_endpoint(
    opensearch: RecordingOpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_DOMAIN_ENDPOINT", opensearch.endpoint)

    client = OpenSearchClient.from_environment()

    assert client.endpoint == opensearch.endpoint
    assert client.region == "us-east-1"


def test_from_environment_without_endpoint_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARCH_DOMAIN_ENDPOINT", raising=False)

    with pytest.raises(RuntimeError, match="SEARCH_DOMAIN_ENDPOINT is not set"):
        OpenSearchClient.from_environment()


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://search.example.com", "must be https://<host>"),
        ("ftp://127.0.0.1", "must be https://<host>"),
        ("https://search.example.com/images", "without a path"),
    ],
)
def test_invalid_endpoints_are_rejected(endpoint: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenSearchClient(endpoint)


def test_https_endpoint_keeps_scheme_and_host() -> None:
    client = OpenSearchClient("https://search-x.us-east-1.es.amazonaws.com/", region="us-east-1")

    assert client.endpoint == "https://search-x.us-east-1.es.amazonaws.com"


def test_invalid_index_name_is_rejected(opensearch: RecordingOpenSearch) -> None:
    with pytest.raises(ValueError, match="index 'Images' is not a valid OpenSearch index name"):
        OpenSearchClient(opensearch.endpoint).search("Images", {})
    assert opensearch.requests == []


def test_relative_path_is_rejected(opensearch: RecordingOpenSearch) -> None:
    with pytest.raises(ValueError, match="path 'images' must start with '/'"):
        OpenSearchClient(opensearch.endpoint).request("GET", "images")
