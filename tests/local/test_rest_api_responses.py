"""What RestApiGateway answers itself: MOCK preflights (CORS), gateway responses, unsupported integrations."""

from __future__ import annotations

import logging

import pytest

from tests.local.rest_api_helpers import (
    ALLOW_HEADERS,
    ORIGIN,
    OTHER_ORIGIN,
    SEVERAL_ORIGINS_VTL,
    TOKEN_AUTHORIZER,
    FakeInvoker,
    _assert_cors,
    _gateway,
    _gateway_response,
    _headers,
    _json,
    _policy,
    _preflight,
    _request,
    _resources,
    _with_lambda_authorizer,
)


def test_preflight_answers_from_the_mock_integration() -> None:
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker).handle(
        _request("OPTIONS", "/dev/groups", headers=[("Origin", ORIGIN)])
    )
    assert response.status == 204
    assert response.body == b""
    assert {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }.items() <= _headers(response).items()
    assert invoker.calls == []


@pytest.mark.parametrize(
    ("origin_header", "allowed"),
    [
        (("Origin", OTHER_ORIGIN), OTHER_ORIGIN),
        (("origin", OTHER_ORIGIN), OTHER_ORIGIN),
        (("Origin", ORIGIN), ORIGIN),
        (("Origin", "https://evil.example.com"), ORIGIN),
    ],
)
def test_preflight_with_several_origins_echoes_only_allowed_ones(
    origin_header: tuple[str, str], allowed: str
) -> None:
    resources = _resources()
    resources["GroupsOptions"] = _preflight(
        "Groups", ResponseTemplates={"application/json": SEVERAL_ORIGINS_VTL}
    )
    response = _gateway(resources, FakeInvoker()).handle(
        _request("OPTIONS", "/dev/groups", headers=[origin_header])
    )
    assert response.status == 204
    assert [value for name, value in response.headers if name == "Access-Control-Allow-Origin"] == [allowed]
    assert response.body == b""


# Cognito user pool authorizer


def test_without_gateway_responses_aws_defaults_apply() -> None:
    resources = _with_lambda_authorizer(TOKEN_AUTHORIZER)
    del resources["Default4xx"], resources["Default5xx"]
    gateway = _gateway(resources, FakeInvoker(CheckToken=_policy("Deny", "*")))
    denied = gateway.handle(_request("GET", "/dev/groups", headers=[("X-Token", "tok-1")]))
    missing = gateway.handle(_request("GET", "/dev/nothing"))
    assert (denied.status, _json(denied)) == (
        403,
        {"Message": "User is not authorized to access this resource with an explicit deny"},
    )
    assert (missing.status, _json(missing)) == (403, {"message": "Missing Authentication Token"})
    assert "Access-Control-Allow-Origin" not in _headers(missing)


def test_configured_gateway_response_status_template_and_echoed_origin() -> None:
    resources = _resources()
    resources["Unauthorized"] = _gateway_response(
        "UNAUTHORIZED",
        StatusCode="419",
        ResponseParameters={
            "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin"
        },
        ResponseTemplates={
            "application/json": '{"error": "$context.error.message", "id": "$context.requestId", '
            '"type": "$context.error.responseType"}'
        },
    )
    response = _gateway(resources, FakeInvoker()).handle(
        _request("POST", "/dev/groups", headers=[("origin", OTHER_ORIGIN)])
    )
    assert response.status == 419
    body = _json(response)
    assert (body["error"], body["type"]) == ("Unauthorized", "UNAUTHORIZED")
    assert body["id"] == _headers(response)["x-amzn-RequestId"]
    assert _headers(response)["Access-Control-Allow-Origin"] == OTHER_ORIGIN
    assert "Access-Control-Allow-Methods" not in _headers(response)  # UNAUTHORIZED replaces DEFAULT_4XX


# What is not emulated


def test_unsupported_integration_answers_500_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    resources = _resources()
    resources["GroupsGet"]["Properties"]["Integration"] = {
        "Type": "HTTP_PROXY",
        "IntegrationHttpMethod": "GET",
        "Uri": "https://example.com/groups",
    }
    invoker = FakeInvoker()
    gateway = _gateway(resources, invoker)
    for _ in range(2):
        response = gateway.handle(_request("GET", "/dev/groups"))
        assert (response.status, _json(response)) == (
            500,
            {"message": "HTTP_PROXY integration is not emulated locally"},
        )
        _assert_cors(response)
    assert invoker.calls == []
    assert [record.levelno for record in caplog.records].count(logging.WARNING) == 1
    assert "HTTP_PROXY integration, which is not emulated locally" in caplog.text


# Over HTTP
