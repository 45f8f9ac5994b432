"""RestApiGateway: routing, proxy events and responses, request validation, serving over HTTP."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from joserfc.jwk import RSAKey

from constructs_lib.local._types import FunctionError
from constructs_lib.local.rest_api import HttpRequest, serve
from tests.local.rest_api_helpers import (
    ACCOUNT,
    ORIGIN,
    FakeInvoker,
    _assert_cors,
    _gateway,
    _headers,
    _json,
    _request,
    _resources,
    _token,
    function_arn,
)


@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "pool-key"})


# Routing


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/prod/groups"),
        ("GET", "/dev/nothing"),
        ("DELETE", "/dev/groups"),
        ("GET", "/"),
        ("GET", "/dev/images/x"),
    ],
)
def test_unknown_stage_route_or_method_is_missing_authentication_token(method: str, path: str) -> None:
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker).handle(_request(method, path))
    assert response.status == 403
    assert _json(response) == {"message": "Missing Authentication Token"}
    assert _headers(response)["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    _assert_cors(response)
    assert invoker.calls == []


def test_literal_parts_beat_parameters_and_greedy_proxy_takes_the_rest() -> None:
    invoker = FakeInvoker()
    gateway = _gateway(_resources(), invoker)
    assert gateway.handle(_request("GET", "/dev/items/special")).status == 200
    assert gateway.handle(_request("POST", "/dev/items/a/b%2Fc")).status == 200
    assert gateway.handle(_request("GET", "/dev")).status == 200
    (special_arn, special), (proxy_arn, proxy), (_, root) = invoker.calls
    assert (special_arn, special["resource"], special["pathParameters"]) == (
        function_arn("Special"),
        "/items/special",
        None,
    )
    assert (proxy_arn, proxy["resource"], proxy["httpMethod"]) == (
        function_arn("Handler"),
        "/items/{proxy+}",
        "POST",
    )
    assert proxy["path"] == "/items/a/b%2Fc"
    assert proxy["pathParameters"] == {"proxy": "a/b/c"}
    assert (root["resource"], root["path"], root["requestContext"]["path"]) == ("/", "/", "/dev/")


# The Lambda proxy event


def test_proxy_event_carries_the_request_as_api_gateway_does() -> None:
    invoker = FakeInvoker()
    gateway = _gateway(_resources(), invoker)
    before = time.time()
    gateway.handle(
        HttpRequest(
            method="GET",
            path="/dev/groups/a%20b",
            query=[],
            headers=[("Host", "127.0.0.1:3000"), ("User-Agent", "tests")],
            body=b"",
            source_ip="10.0.0.7",
        )
    )
    (event,) = invoker.events
    assert event["resource"] == "/groups/{groupId}"
    assert event["path"] == "/groups/a%20b"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"groupId": "a b"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.7"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    context = event["requestContext"]
    assert {
        key: context[key] for key in ("accountId", "apiId", "resourceId", "resourcePath", "httpMethod")
    } == {
        "accountId": ACCOUNT,
        "apiId": "id-Api",
        "resourceId": "id-GroupId",
        "resourcePath": "/groups/{groupId}",
        "httpMethod": "GET",
    }
    assert (context["path"], context["stage"], context["protocol"]) == (
        "/dev/groups/a%20b",
        "dev",
        "HTTP/1.1",
    )
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["identity"]["sourceIp"] == "10.0.0.7"
    assert context["identity"]["userAgent"] == "tests"
    assert context["identity"]["caller"] is None
    assert "authorizer" not in context
    assert before * 1000 - 1 <= context["requestTimeEpoch"] <= time.time() * 1000 + 1
    assert time.strptime(context["requestTime"], "%d/%b/%Y:%H:%M:%S +0000")
    assert len(context["requestId"]) == 36


def test_multi_value_query_strings_and_headers() -> None:
    invoker = FakeInvoker()
    _gateway(_resources(), invoker).handle(
        _request(
            "GET",
            "/dev/groups",
            query=[("tag", "a"), ("tag", "b c"), ("limit", "5")],
            headers=[("X-Tag", "1"), ("X-Tag", "2"), ("Accept", "application/json")],
        )
    )
    (event,) = invoker.events
    assert event["queryStringParameters"] == {"tag": "b c", "limit": "5"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b c"], "limit": ["5"]}
    assert event["headers"]["X-Tag"] == "2"
    assert event["multiValueHeaders"]["X-Tag"] == ["1", "2"]
    assert event["multiValueHeaders"]["Accept"] == ["application/json"]


def test_stage_variables_reach_the_event() -> None:
    resources = _resources()
    resources["Stage"]["Properties"]["Variables"] = {"table": "groups-dev"}
    invoker = FakeInvoker()
    _gateway(resources, invoker).handle(_request("GET", "/dev/groups"))
    assert invoker.events[0]["stageVariables"] == {"table": "groups-dev"}


def test_binary_media_types_are_base64_both_ways() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00"
    invoker = FakeInvoker(
        Handler={
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(png).decode(),
            "isBase64Encoded": True,
        }
    )
    gateway = _gateway(_resources(), invoker)
    binary = gateway.handle(
        _request(
            "PUT",
            "/dev/items/a.png",
            headers=[("Content-Type", "image/png"), ("Accept", "image/png")],
            body=png,
        )
    )
    text = gateway.handle(
        _request("POST", "/dev/items/a", headers=[("Content-Type", "text/plain")], body=b"hello")
    )
    assert (invoker.events[0]["body"], invoker.events[0]["isBase64Encoded"]) == (
        base64.b64encode(png).decode(),
        True,
    )
    assert (invoker.events[1]["body"], invoker.events[1]["isBase64Encoded"]) == ("hello", False)
    assert binary.body == png
    # Without an Accept header naming a binary media type, API Gateway returns the base64 text.
    assert text.body == base64.b64encode(png)


# Lambda proxy responses


def test_proxy_response_passes_through_untouched() -> None:
    invoker = FakeInvoker(
        Handler={
            "statusCode": 201,
            "headers": {
                "Location": "/groups/1",
                "Set-Cookie": "ignored",
                "Access-Control-Allow-Origin": ORIGIN,
            },
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "created",
        }
    )
    response = _gateway(_resources(), invoker).handle(_request("GET", "/dev/groups"))
    assert response.status == 201
    assert response.body == b"created"
    assert [value for name, value in response.headers if name == "Set-Cookie"] == ["a=1", "b=2"]
    headers = _headers(response)
    assert headers["Location"] == "/groups/1"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Methods" not in headers  # the gateway adds no CORS headers of its own
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-RequestId"]


def test_function_error_is_502_with_cors(caplog: pytest.LogCaptureFixture) -> None:
    invoker = FakeInvoker(Handler=FunctionError("KeyError", "'groupId'"))
    response = _gateway(_resources(), invoker).handle(_request("GET", "/dev/groups"))
    assert response.status == 502
    assert _json(response) == {"message": "Internal server error"}
    _assert_cors(response)
    assert "KeyError: 'groupId'" in caplog.text


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "not an object",
        {"body": "no status"},
        {"statusCode": 700},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": {"X": {"nested": True}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not a list"}},
    ],
)
def test_malformed_proxy_response_is_502(payload: Any) -> None:
    response = _gateway(_resources(), FakeInvoker(Handler=payload)).handle(_request("GET", "/dev/groups"))
    assert response.status == 502
    assert _json(response) == {"message": "Internal server error"}
    _assert_cors(response)


def test_request_over_10_mb_is_413() -> None:
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker).handle(
        _request("POST", "/dev/items/a", body=b"x" * (10 * 1024 * 1024 + 1))
    )
    assert response.status == 413
    _assert_cors(response)
    assert invoker.calls == []


# CORS preflights (MOCK integrations)


# Request validation


@pytest.mark.parametrize("query", [[], [("q", "")], [("other", "cats")]])
def test_missing_required_query_parameter_never_reaches_the_function(query: list[tuple[str, str]]) -> None:
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker).handle(_request("GET", "/dev/images", query=query))
    assert response.status == 400
    assert _json(response) == {"message": "Missing required request parameters: [q]"}
    _assert_cors(response)
    assert invoker.calls == []


def test_present_query_parameter_passes_validation() -> None:
    invoker = FakeInvoker()
    assert (
        _gateway(_resources(), invoker).handle(_request("GET", "/dev/images", query=[("q", "cats")])).status
        == 200
    )
    assert invoker.events[0]["queryStringParameters"] == {"q": "cats"}


@pytest.mark.parametrize(
    ("body", "headers", "valid"),
    [
        (b'{"name": "cats"}', [("Content-Type", "application/json")], True),
        (b'{"name": "cats", "description": "furry"}', [], True),  # no Content-Type: the JSON model applies
        (b'{"description": "no name"}', [("Content-Type", "application/json; charset=utf-8")], False),
        (b'{"name": "cats", "extra": 1}', [], False),
        (b'{"name": ""}', [], False),
        (b"{not json", [], False),
        (b"", [], False),
        (b"{not json", [("Content-Type", "text/plain")], True),  # no model for text/plain: not validated
    ],
)
def test_request_body_validation(
    body: bytes, headers: list[tuple[str, str]], valid: bool, signing_key: RSAKey
) -> None:
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker, signing_key).handle(
        _request("POST", "/dev/groups", headers=[("Authorization", _token(signing_key)), *headers], body=body)
    )
    if valid:
        assert response.status == 200
        assert invoker.events[0]["body"] == body.decode()
    else:
        assert response.status == 400
        assert _json(response) == {"message": "Invalid request body"}
        _assert_cors(response)
        assert invoker.calls == []


def test_authorization_comes_before_validation() -> None:
    response = _gateway(_resources(), FakeInvoker()).handle(
        _request("POST", "/dev/groups", body=b"{not json")
    )
    assert response.status == 401


# Lambda authorizers


@pytest.fixture
def server_url() -> Iterator[tuple[str, FakeInvoker]]:
    invoker = FakeInvoker()
    server = serve(_gateway(_resources(), invoker), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", invoker
    finally:
        server.shutdown()
        server.server_close()


def test_serve_over_http(server_url: tuple[str, FakeInvoker]) -> None:
    url, invoker = server_url
    with requests.Session() as session:
        found = session.get(f"{url}/dev/groups/42", params=[("tag", "a"), ("tag", "b")], timeout=5)
        posted = session.post(f"{url}/dev/items/x", data=iter([b'{"a":', b" 1}"]), timeout=5)  # chunked
        preflight = session.options(f"{url}/dev/groups", headers={"Origin": ORIGIN}, timeout=5)
        missing = session.get(f"{url}/dev/nothing", timeout=5)
        head = session.head(f"{url}/dev/items/x", timeout=5)
    assert (found.status_code, found.json()) == (200, {"ok": True})
    assert found.headers["x-amzn-RequestId"]
    assert posted.status_code == 200
    assert (preflight.status_code, preflight.headers["Access-Control-Allow-Origin"]) == (204, ORIGIN)
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    assert missing.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert (head.status_code, head.content) == (200, b"")
    get_event, post_event, head_event = invoker.events
    assert get_event["pathParameters"] == {"groupId": "42"}
    assert get_event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert get_event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert post_event["body"] == '{"a": 1}'
    assert head_event["httpMethod"] == "HEAD"
