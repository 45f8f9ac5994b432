"""The SearchDomain role-mapping custom resource against a local recording OpenSearch."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from constructs_lib.functions.search_security import handler as security
from constructs_lib.runtime.opensearch import OpenSearchError
from tests.runtime.test_opensearch import RecordingOpenSearch, recording_opensearch


@dataclass
class FakeContext:
    function_name: str = "security"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:security"
    aws_request_id: str = "request-1"
    log_stream_name: str = "2026/01/01/[$LATEST]abc"


CONTEXT = cast(LambdaContext, FakeContext())
WRITER = {
    "cluster_permissions": ["indices:data/write/bulk"],
    "index_permissions": [{"index_patterns": ["images"], "allowed_actions": ["crud"]}],
}
INDEXER_ROLE = "arn:aws:iam::111111111111:role/indexer"
USERS_ROLE = "arn:aws:iam::111111111111:role/dashboards"


@pytest.fixture
def opensearch() -> Iterator[RecordingOpenSearch]:
    with recording_opensearch() as server:
        yield server


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def _event(request_type: str, endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/reply",
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/Search/1",
        "RequestId": "r-1",
        "LogicalResourceId": "SearchSecurityRoles",
        "ResourceProperties": {
            "Endpoint": endpoint,
            "Roles": {"search-writer-images": WRITER},
            "Mappings": {"search-writer-images": [INDEXER_ROLE], "kibana_user": [USERS_ROLE]},
        },
        **extra,
    }


STACK_ID = "arn:aws:cloudformation:us-east-1:111111111111:stack/Search/1"
OWNER = f"Managed by constructs_lib SearchDomain, owner {STACK_ID}/SearchSecurityRoles"


def test_create_puts_owned_roles_and_a_missing_built_in_mapping(
    opensearch: RecordingOpenSearch,
) -> None:
    security.handle(_event("Create", opensearch.endpoint))

    assert [(r.method, r.path) for r in opensearch.requests] == [
        ("PUT", "/_plugins/_security/api/roles/search-writer-images"),
        ("PUT", "/_plugins/_security/api/rolesmapping/search-writer-images"),
        ("GET", "/_plugins/_security/api/rolesmapping/kibana_user"),
        ("PUT", "/_plugins/_security/api/rolesmapping/kibana_user"),
    ]
    assert opensearch.requests[0].json() == {**WRITER, "description": OWNER}
    assert opensearch.requests[1].json() == {"backend_roles": [INDEXER_ROLE], "description": OWNER}
    assert opensearch.requests[3].json() == {"backend_roles": [USERS_ROLE]}
    assert "/us-east-1/es/aws4_request" in opensearch.requests[0].headers["authorization"]


def test_an_existing_built_in_mapping_is_patched(opensearch: RecordingOpenSearch) -> None:
    operator = "arn:aws:iam::111111111111:role/analysts"
    opensearch.reply(200, {})
    opensearch.reply(200, {})
    opensearch.reply(200, {"kibana_user": {"backend_roles": [operator], "users": ["alice"]}})

    security.handle(_event("Create", opensearch.endpoint))

    (patch,) = [r for r in opensearch.requests if r.method == "PATCH"]
    assert patch.path == "/_plugins/_security/api/rolesmapping/kibana_user"
    assert patch.json() == [{"op": "add", "path": "/backend_roles", "value": [operator, USERS_ROLE]}]
    assert [r.method for r in opensearch.requests] == ["PUT", "PUT", "GET", "PATCH"]


class SecurityApi:
    """The security plugin's roles and role-mapping API, in memory, as the handler's client.

    GET answers ``{name: object}`` or 404, PUT replaces, DELETE removes (404 when absent), and PATCH
    applies the JSON Patch ``add`` operations the handler sends (any other operation is a 400).
    """

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {"roles": {}, "rolesmapping": {}}
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.calls.append((method, path))
        kind, _, name = path.removeprefix("/_plugins/_security/api/").partition("/")
        items = self.store[kind]
        if method == "GET" and name in items:
            return 200, {name: items[name]}
        if method == "PUT":
            items[name] = body
            return 200, {"status": "OK"}
        if method == "DELETE" and name in items:
            del items[name]
            return 200, {"status": "OK"}
        if method == "PATCH":
            target = items[name]
            for operation in body:
                if operation["op"] != "add":
                    raise OpenSearchError(method, path, 400, {"message": "unsupported"})
                target[operation["path"].lstrip("/")] = operation["value"]
            return 200, {"status": "OK"}
        raise OpenSearchError(method, path, 404, {"status": "NOT_FOUND"})

    def role(self, name: str) -> dict[str, Any] | None:
        return self.store["roles"].get(name)

    def mapping(self, name: str) -> dict[str, Any] | None:
        return self.store["rolesmapping"].get(name)


def _client(api: SecurityApi) -> Any:
    return api


def test_a_moved_resource_keeps_its_roles_when_the_old_one_is_deleted_after() -> None:
    # CloudFormation creates the resource under its new logical id, then deletes the old one.
    api = SecurityApi()
    security.handle(_event("Create", "https://search", LogicalResourceId="Old"), _client(api))
    security.handle(_event("Create", "https://search", LogicalResourceId="New"), _client(api))

    security.handle(_event("Delete", "https://search", LogicalResourceId="Old"), _client(api))

    assert api.role("search-writer-images") is not None
    mapping = api.mapping("search-writer-images")
    assert mapping is not None
    assert mapping["backend_roles"] == [INDEXER_ROLE]
    assert ("DELETE", "/_plugins/_security/api/roles/search-writer-images") not in api.calls


def test_delete_removes_the_resources_own_roles_and_mappings() -> None:
    api = SecurityApi()
    security.handle(_event("Create", "https://search"), _client(api))

    security.handle(_event("Delete", "https://search"), _client(api))

    assert api.role("search-writer-images") is None
    assert api.mapping("search-writer-images") is None
    assert [call for call in api.calls if call[0] == "DELETE"] == [
        ("DELETE", "/_plugins/_security/api/rolesmapping/search-writer-images"),
        ("DELETE", "/_plugins/_security/api/roles/search-writer-images"),
    ]


def test_delete_leaves_built_in_mappings_and_roles_it_did_not_write() -> None:
    api = SecurityApi()
    api.store["roles"]["search-writer-images"] = WRITER  # made by hand, no owner marker
    security.handle(_event("Create", "https://search"), _client(api))
    api.store["roles"]["search-writer-images"] = {**WRITER, "description": "made by an operator"}

    security.handle(_event("Delete", "https://search"), _client(api))

    assert api.role("search-writer-images") == {**WRITER, "description": "made by an operator"}
    assert api.mapping("kibana_user") == {"backend_roles": [USERS_ROLE]}


def test_operator_mappings_survive_an_update() -> None:
    api = SecurityApi()
    operator = "arn:aws:iam::111111111111:role/analysts"
    api.store["rolesmapping"]["kibana_user"] = {"backend_roles": [operator], "users": ["alice"], "hosts": []}
    old_users_role = "arn:aws:iam::111111111111:role/old-dashboards"
    old = {"Roles": {}, "Mappings": {"kibana_user": [old_users_role]}}
    security.handle(_event("Create", "https://search", ResourceProperties=old), _client(api))

    security.handle(_event("Update", "https://search", OldResourceProperties=old), _client(api))

    assert api.mapping("kibana_user") == {
        "backend_roles": [operator, USERS_ROLE],
        "users": ["alice"],
        "hosts": [],
    }
    assert ("PUT", "/_plugins/_security/api/rolesmapping/kibana_user") not in api.calls


def test_an_update_adds_nothing_twice() -> None:
    api = SecurityApi()
    security.handle(_event("Create", "https://search"), _client(api))
    old = _event("Create", "https://search")["ResourceProperties"]

    security.handle(_event("Update", "https://search", OldResourceProperties=old), _client(api))

    assert api.mapping("kibana_user") == {"backend_roles": [USERS_ROLE]}


def test_update_removes_its_own_roles_that_are_no_longer_declared() -> None:
    api = SecurityApi()
    old = {
        "Endpoint": "https://search",
        "Roles": {"search-writer-images": WRITER, "search-reader-old": WRITER},
        "Mappings": {"search-reader-old": [USERS_ROLE], "kibana_user": [USERS_ROLE]},
    }
    security.handle(_event("Create", "https://search", ResourceProperties=old), _client(api))

    security.handle(_event("Update", "https://search", OldResourceProperties=old), _client(api))

    assert api.role("search-reader-old") is None
    assert api.mapping("search-reader-old") is None
    assert api.role("search-writer-images") is not None
    assert api.mapping("kibana_user") == {"backend_roles": [USERS_ROLE]}


def test_a_security_api_that_is_not_ready_yet_is_retried(opensearch: RecordingOpenSearch) -> None:
    opensearch.reply(503, {"message": "Security not initialized"})
    opensearch.reply(403, {"message": "no permissions"})

    security.handle(_event("Create", opensearch.endpoint))

    assert [r.path for r in opensearch.requests][:3] == [
        "/_plugins/_security/api/roles/search-writer-images"
    ] * 3
    assert len(opensearch.requests) == 6


def test_a_rejected_role_is_not_retried(opensearch: RecordingOpenSearch) -> None:
    opensearch.reply(400, {"status": "BAD_REQUEST", "message": "invalid permission"})

    with pytest.raises(OpenSearchError, match="returned 400"):
        security.handle(_event("Create", opensearch.endpoint))
    assert len(opensearch.requests) == 1


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []

    def respond(event: dict[str, Any], status: str, reason: str, context: LambdaContext) -> None:
        sent.append((status, reason))

    monkeypatch.setattr(security, "_respond", respond)
    return sent


def test_handler_reports_success_to_cloudformation(
    opensearch: RecordingOpenSearch, responses: list[tuple[str, str]]
) -> None:
    security.handler(_event("Create", opensearch.endpoint), CONTEXT)

    assert responses == [("SUCCESS", "security roles and mappings applied")]


def test_handler_reports_a_failed_create_with_the_reason(
    opensearch: RecordingOpenSearch, responses: list[tuple[str, str]]
) -> None:
    opensearch.reply(400, {"message": "invalid permission"})

    security.handler(_event("Create", opensearch.endpoint), CONTEXT)

    ((status, reason),) = responses
    assert status == "FAILED"
    assert reason.startswith(
        "OpenSearchError: PUT /_plugins/_security/api/roles/search-writer-images returned 400"
    )


def test_a_failed_delete_never_blocks_the_stack(responses: list[tuple[str, str]]) -> None:
    security.handler(_event("Delete", "http://127.0.0.1:9"), CONTEXT)

    ((status, reason),) = responses
    assert status == "SUCCESS"
    assert reason.startswith("roles left in place: OpenSearchError: GET")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[urllib.request.Request]:
    """The requests the handler sends with urllib (its CloudFormation responses), each answered OK."""
    requests: list[urllib.request.Request] = []

    class Reply:
        def __enter__(self) -> Reply:
            return self

        def __exit__(self, *args: object) -> None:
            return None

    def urlopen(request: urllib.request.Request, timeout: float) -> Reply:
        requests.append(request)
        return Reply()

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return requests


def test_the_response_is_put_to_the_presigned_url(sent: list[urllib.request.Request]) -> None:
    event = _event("Update", "https://search.example.com", PhysicalResourceId="existing-id")

    security._respond(event, "SUCCESS", "done", CONTEXT)

    (request,) = sent
    assert (request.get_method(), request.full_url) == ("PUT", event["ResponseURL"])
    assert isinstance(request.data, bytes)
    assert json.loads(request.data) == {
        "Status": "SUCCESS",
        "Reason": "done (log stream 2026/01/01/[$LATEST]abc)",
        "PhysicalResourceId": "existing-id",
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/Search/1",
        "RequestId": "r-1",
        "LogicalResourceId": "SearchSecurityRoles",
    }


def test_a_new_resource_gets_a_stable_physical_id(sent: list[urllib.request.Request]) -> None:
    security._respond(_event("Create", "https://search.example.com"), "SUCCESS", "done", CONTEXT)

    (request,) = sent
    assert isinstance(request.data, bytes)
    assert json.loads(request.data)["PhysicalResourceId"] == "SearchSecurityRoles-security"


def test_responses_go_only_to_https() -> None:
    event = {**_event("Create", "https://search.example.com"), "ResponseURL": "http://example.com/reply"}

    with pytest.raises(ValueError, match="ResponseURL must be https"):
        security._respond(event, "SUCCESS", "done", CONTEXT)
