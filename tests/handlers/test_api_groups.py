"""GET /groups, POST /groups and GET /groups/{groupId} against moto's DynamoDB."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.handlers.conftest import (
    CORS_ENVIRONMENT,
    USER_SUB,
    ApiResponse,
    api_event,
    handler_module,
    invoke,
    seed_group,
)

groups_read = handler_module("groups_read")
groups_write = handler_module("groups_write")
repository = handler_module("repository")

pytestmark = pytest.mark.usefixtures("api_aws")

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ORIGIN = "https://app.example.com"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
GROUP_FIELDS = {"id", "userId", "name", "description", "timestamp"}
INVALID = "Invalid request body: "
BAD_LIMIT = "limit must be a whole number from 1 to 100"
BAD_NEXT_KEY = "nextKey is not a value this listing returned"


def post_group(body: Any, *, claims: dict[str, str] | None = None, raw: str | None = None) -> ApiResponse:
    return invoke(
        groups_write,
        api_event(
            "POST",
            "/groups",
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
            body=raw if raw is not None else json.dumps(body),
            claims={"sub": USER_SUB} if claims is None else claims,
        ),
    )


def list_groups(query: dict[str, str] | None = None) -> ApiResponse:
    return invoke(groups_read, api_event("GET", "/groups", query=query, headers={"Origin": ORIGIN}))


def get_group(group_id: str) -> ApiResponse:
    return invoke(
        groups_read,
        api_event(
            "GET",
            f"/groups/{group_id}",
            resource="/groups/{groupId}",
            path_parameters={"groupId": group_id},
            headers={"Origin": ORIGIN},
        ),
    )


def test_create_group_returns_201_with_server_made_fields(capsys: pytest.CaptureFixture[str]) -> None:
    response = post_group({"name": "Cats", "description": "Only cats"})

    assert response.status == 201
    item = response.body["newItem"]
    assert set(item) == GROUP_FIELDS
    assert UUID.fullmatch(item["id"])
    assert item["userId"] == USER_SUB
    assert (item["name"], item["description"]) == ("Cats", "Only cats")
    assert repository.is_timestamp(item["timestamp"])
    assert get_group(item["id"]).body == item
    assert '"GroupsCreated"' in capsys.readouterr().out


def test_create_group_accepts_a_base64_encoded_body() -> None:
    event = api_event(
        "POST",
        "/groups",
        body=json.dumps({"name": "B64", "description": "encoded"}),
        base64_body=True,
        claims={"sub": USER_SUB},
    )
    response = invoke(groups_write, event)
    assert response.status == 201
    assert response.body["newItem"]["name"] == "B64"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"description": "d"}, "Invalid request body: name is required"),
        ({"name": "n"}, "Invalid request body: description is required"),
        ({"name": "n", "description": "d", "owner": "x"}, "Invalid request body: unknown property 'owner'"),
        ({"name": "", "description": "d"}, "Invalid request body: name must not be empty"),
        ({"name": "   ", "description": "d"}, "Invalid request body: name must not be blank"),
        ({"name": 5, "description": "d"}, "Invalid request body: name must be a string"),
        ({"name": "n", "description": None}, "Invalid request body: description must be a string"),
        ({"name": "n" * 101, "description": "d"}, f"{INVALID}name must be at most 100 characters"),
        (
            {"name": "n", "description": "d" * 1001},
            "Invalid request body: description must be at most 1000 characters",
        ),
        (["name", "description"], "Invalid request body: expected a JSON object (group)"),
        ({}, "Invalid request body: name is required; description is required"),
    ],
)
def test_create_group_rejects_invalid_bodies(body: Any, message: str) -> None:
    response = post_group(body)
    assert (response.status, response.body) == (400, {"message": message})


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        ("", 400, "Request body is required"),
        ("{not json", 400, "Request body must be JSON"),
        ("[" * 4000 + "]" * 4000, 400, "Request body must be JSON"),
        ("\udcff", 400, "Request body must be JSON"),
        (json.dumps({"name": "n", "description": "d" * 10_300}), 413, "Request body exceeds 10240 bytes"),
    ],
)
def test_create_group_rejects_malformed_and_huge_bodies(raw: str, status: int, message: str) -> None:
    response = post_group(None, raw=raw)
    assert (response.status, response.body) == (status, {"message": message})


def test_create_group_rejects_a_huge_base64_body_before_decoding_it() -> None:
    event = api_event("POST", "/groups", body="x" * 30_000, base64_body=True, claims={"sub": USER_SUB})
    response = invoke(groups_write, event)
    assert (response.status, response.body) == (413, {"message": "Request body exceeds 10240 bytes"})


def test_create_group_rejects_a_body_that_is_not_base64() -> None:
    event = api_event("POST", "/groups", body="{}", claims={"sub": USER_SUB})
    event["isBase64Encoded"] = True
    event["body"] = "not base64!"
    response = invoke(groups_write, event)
    assert (response.status, response.body) == (400, {"message": "Request body is not valid base64"})


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"email": "a@example.com"}])
def test_create_group_without_a_caller_is_401(claims: dict[str, str]) -> None:
    response = post_group({"name": "n", "description": "d"}, claims=claims)
    assert (response.status, response.body) == (401, {"message": "Unauthorized"})


def test_create_group_as_a_jwt_authorizers_caller() -> None:
    """A Lambda authorizer (JwtAuthorizer) passes the claims as its flat context, not under "claims"."""
    event = api_event(
        "POST", "/groups", headers={"Origin": ORIGIN}, body=json.dumps({"name": "n", "description": "d"})
    )
    event["requestContext"]["authorizer"] = {"principalId": "auth0|42", "sub": "auth0|42", "scope": "a b"}
    response = invoke(groups_write, event)
    assert response.status == 201
    assert response.body["newItem"]["userId"] == "auth0|42"


def test_create_group_without_an_authorizer_is_401() -> None:
    event = api_event("POST", "/groups", body=json.dumps({"name": "n", "description": "d"}))
    response = invoke(groups_write, event)
    assert (response.status, response.body) == (401, {"message": "Unauthorized"})


def test_get_group_returns_the_group() -> None:
    group = seed_group("Birds", "Feathers")
    response = get_group(group["id"])
    assert (response.status, response.body) == (200, group)


@pytest.mark.parametrize("group_id", [UNKNOWN_ID, "not-a-uuid", UNKNOWN_ID.upper(), "' OR 1=1"])
def test_get_unknown_or_malformed_group_is_404(group_id: str) -> None:
    response = get_group(group_id)
    assert (response.status, response.body) == (404, {"message": "Group not found"})


def test_list_groups_pages_through_every_group_with_an_opaque_next_key() -> None:
    created = {seed_group(f"Group {n}", "paged")["id"] for n in range(5)}
    seen: list[str] = []
    query: dict[str, str] = {"limit": "2"}
    pages = 0
    while True:
        response = list_groups(query)
        assert response.status == 200
        assert len(response.body["items"]) <= 2
        seen += [item["id"] for item in response.body["items"]]
        pages += 1
        if response.body["nextKey"] is None:
            break
        assert "{" not in response.body["nextKey"]  # opaque, not the raw key
        query = {"limit": "2", "nextKey": response.body["nextKey"]}
    assert len(seen) == len(set(seen))
    assert created <= set(seen)
    assert pages >= 3


def test_list_groups_default_page_holds_whole_groups() -> None:
    seed_group()
    response = list_groups()
    assert response.status == 200
    assert response.body["items"]
    assert all(set(item) == GROUP_FIELDS for item in response.body["items"])


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1.5", "abc", "", " 5", "\u0663", "1000"])
def test_list_groups_rejects_a_bad_limit(limit: str) -> None:
    response = list_groups({"limit": limit})
    assert (response.status, response.body) == (400, {"message": BAD_LIMIT})


def _token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "next_key",
    [
        "!!!",
        "a",
        base64.urlsafe_b64encode(b"not json").decode(),
        _token(["id"]),
        _token({"id": "not-a-uuid"}),
        _token({"id": UNKNOWN_ID, "extra": "x"}),
        _token({"groupId": UNKNOWN_ID}),
        _token({"id": 5}),
        "A" * 2000,
    ],
)
def test_list_groups_rejects_a_bad_next_key(next_key: str) -> None:
    response = list_groups({"nextKey": next_key})
    assert (response.status, response.body) == (400, {"message": BAD_NEXT_KEY})


def test_responses_carry_the_configured_cors_headers() -> None:
    for response in (list_groups(), get_group(UNKNOWN_ID), post_group({"name": ""})):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Vary"] == "Origin"  # the origin is echoed: caches must key on it
        credentials = response.headers["Access-Control-Allow-Credentials"]
        assert credentials == CORS_ENVIRONMENT["CORS_ALLOW_CREDENTIALS"]
        assert response.headers["Access-Control-Max-Age"] == CORS_ENVIRONMENT["CORS_MAX_AGE"]
        assert "X-Request-Id" in response.headers["Access-Control-Allow-Headers"].split(",")


def test_an_origin_not_configured_gets_no_cors_headers() -> None:
    response = invoke(groups_read, api_event("GET", "/groups", headers={"Origin": "https://evil.example"}))
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_unknown_route_is_404() -> None:
    response = invoke(groups_read, api_event("DELETE", "/groups"))
    assert (response.status, response.body) == (404, {"message": "Not found"})


def test_an_unexpected_error_is_a_500_without_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("table arn:aws:dynamodb:secret is on fire")

    monkeypatch.setattr(repository, "list_groups", broken)
    response = list_groups()
    assert (response.status, response.body) == (500, {"message": "Internal server error"})
