"""RestApiGateway: routing, proxy events and responses, authorizers, validation, gateway responses, HTTP."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from constructs_lib.local._types import FunctionError, Invocation
from constructs_lib.local.rest_api import HttpRequest, HttpResponse, RestApiGateway, serve

REGION = "us-east-1"
ACCOUNT = "111111111111"
POOL_ID = "us-east-1_Pool"
POOL_ARN = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{POOL_ID}"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://admin.example.com"
ALLOW_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": ORIGIN,
    "Access-Control-Allow-Headers": ALLOW_HEADERS,
    "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE",
}
OK = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok": true}'}
# The preflight response template CDK synthesizes for several allowed origins (ServerlessApi's
# Edge snapshot in tests/constructs): the first origin is static, the others are echoed.
SEVERAL_ORIGINS_VTL = (
    '#set($origin = $input.params().header.get("Origin"))\n'
    '#if($origin == "")\n'
    '  #set($origin = $input.params().header.get("origin"))\n'
    "#end\n"
    f'#if($origin == "{OTHER_ORIGIN}")\n'
    "  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n"
    "#end"
)


INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::GetStackOutput")


def function_arn(logical_id: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"


class FakeTemplate:
    """A TemplateView over hand-written resources: Ref gives ``id-<logicalId>``, GetAtt fake values."""

    def __init__(self, resources: Mapping[str, Mapping[str, Any]]) -> None:
        self._resources = resources

    @property
    def stack_name(self) -> str:
        return "Test"

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        return {name: body for name, body in self._resources.items() if body["Type"] in resource_types}

    def ref(self, logical_id: str) -> str:
        return f"id-{logical_id}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS:
            ((key, argument),) = value.items()
            return self._intrinsic(key, argument)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _intrinsic(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self.ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument
            return {"RootResourceId": f"root-{logical_id}", "Arn": function_arn(logical_id)}[attribute]
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(part)) for part in parts)
        return POOL_ARN  # Fn::GetStackOutput: the reference app's user pool, from its data stack


class FakeInvoker:
    """Records invocations; answers with `results[function name]` (a payload or a FunctionError), else OK."""

    def __init__(self, **results: Any) -> None:
        self.results = results
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        self.calls.append((function_arn, event))
        result = self.results.get(function_arn.rsplit(":", 1)[-1], OK)
        if isinstance(result, FunctionError):
            return Invocation("request-1", error=result)
        return Invocation("request-1", payload=result)

    @property
    def events(self) -> list[Mapping[str, Any]]:
        return [event for _, event in self.calls]


def _parent(resource: str | None) -> dict[str, Any]:
    return {"Ref": resource} if resource else {"Fn::GetAtt": ["Api", "RootResourceId"]}


def _resource(parent: str | None, part: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Resource",
        "Properties": {"RestApiId": {"Ref": "Api"}, "ParentId": _parent(parent), "PathPart": part},
    }


def _lambda_uri(function: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/",
                {"Fn::GetAtt": [function, "Arn"]},
                "/invocations",
            ],
        ]
    }


def _method(resource: str | None, verb: str, function: str = "Handler", **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": _parent(resource),
            "HttpMethod": verb,
            "AuthorizationType": "NONE",
            "Integration": {
                "Type": "AWS_PROXY",
                "IntegrationHttpMethod": "POST",
                "Uri": _lambda_uri(function),
            },
            **properties,
        },
    }


def _preflight(resource: str | None, **integration_response: Any) -> dict[str, Any]:
    """CDK's CORS preflight for one origin (plus whatever `integration_response` adds)."""
    return _method(
        resource,
        "OPTIONS",
        Integration={
            "Type": "MOCK",
            "RequestTemplates": {"application/json": "{ statusCode: 200 }"},
            "IntegrationResponses": [
                {
                    "StatusCode": "204",
                    "ResponseParameters": {
                        "method.response.header.Access-Control-Allow-Headers": f"'{ALLOW_HEADERS}'",
                        "method.response.header.Access-Control-Allow-Origin": f"'{ORIGIN}'",
                        "method.response.header.Vary": "'Origin'",
                        "method.response.header.Access-Control-Allow-Methods": "'GET,POST,PUT,PATCH,DELETE'",
                        "method.response.header.Access-Control-Max-Age": "'600'",
                    },
                    **integration_response,
                }
            ],
        },
    )


def _gateway_response(response_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResponseType": response_type,
            "ResponseParameters": {
                f"gatewayresponse.header.{name}": f"'{value}'" for name, value in CORS_HEADERS.items()
            },
            **properties,
        },
    }


def _authorizer(authorizer_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Authorizer",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "Name": authorizer_type,
            "Type": authorizer_type,
            **properties,
        },
    }


def _resources() -> dict[str, dict[str, Any]]:
    """A small API in the reference app's shape: Cognito, a validator with a model, CORS everywhere."""
    validated: dict[str, Any] = {"RequestValidatorId": {"Ref": "Validator"}}
    cognito: dict[str, Any] = {"AuthorizationType": "COGNITO_USER_POOLS", "AuthorizerId": {"Ref": "Cognito"}}
    return {
        "Api": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {"Name": "demo", "BinaryMediaTypes": ["image/png"]},
        },
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "dev"},
        },
        "Default4xx": _gateway_response("DEFAULT_4XX"),
        "Default5xx": _gateway_response("DEFAULT_5XX"),
        "Validator": {
            "Type": "AWS::ApiGateway::RequestValidator",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ValidateRequestBody": True,
                "ValidateRequestParameters": True,
            },
        },
        "GroupModel": {
            "Type": "AWS::ApiGateway::Model",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ContentType": "application/json",
                "Schema": {
                    "$schema": "http://json-schema.org/draft-04/schema#",
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "description": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "Cognito": _authorizer(
            "COGNITO_USER_POOLS",
            ProviderARNs=[POOL_ARN],
            IdentitySource="method.request.header.Authorization",
        ),
        "Groups": _resource(None, "groups"),
        "GroupId": _resource("Groups", "{groupId}"),
        "Items": _resource(None, "items"),
        "ItemsSpecial": _resource("Items", "special"),
        "ItemsProxy": _resource("Items", "{proxy+}"),
        "Images": _resource(None, "images"),
        "RootGet": _method(None, "GET"),
        "GroupsGet": _method("Groups", "GET"),
        "GroupsPost": _method(
            "Groups",
            "POST",
            RequestModels={"application/json": {"Ref": "GroupModel"}},
            **cognito,
            **validated,
        ),
        "GroupsOptions": _preflight("Groups"),
        "GroupIdGet": _method(
            "GroupId", "GET", RequestParameters={"method.request.path.groupId": True}, **validated
        ),
        "ItemsSpecialGet": _method("ItemsSpecial", "GET", "Special"),
        "ItemsProxyAny": _method("ItemsProxy", "ANY"),
        "ImagesGet": _method(
            "Images", "GET", RequestParameters={"method.request.querystring.q": True}, **validated
        ),
    }


@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "pool-key"})


@pytest.fixture(scope="module")
def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "pool-key"})


def _gateway(
    resources: Mapping[str, Mapping[str, Any]], invoker: FakeInvoker, key: RSAKey | None = None
) -> RestApiGateway:
    jwks = {"keys": [key.as_dict(private=False)]} if key else {"keys": []}
    return RestApiGateway(
        FakeTemplate(resources),
        "Api",
        invoker=invoker,
        jwks=lambda pool_id: jwks if pool_id == POOL_ID else {},
        region=REGION,
        account=ACCOUNT,
    )


def _request(
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> HttpRequest:
    return HttpRequest(method=method, path=path, query=query or [], headers=headers or [], body=body)


def _token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": "user-1",
        "aud": "client-1",
        "iss": ISSUER,
        "token_use": "id",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "email_verified": True,
        "cognito:username": "alice",
        "cognito:groups": ["admins", "users"],
        **claims,
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)


def _json(response: HttpResponse) -> Any:
    return json.loads(response.body)


def _headers(response: HttpResponse) -> dict[str, str]:
    return dict(response.headers)


def _assert_cors(response: HttpResponse) -> None:
    assert CORS_HEADERS.items() <= _headers(response).items()


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


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "Unauthorized"),
        ("not a jwt", "Unauthorized"),
        ("bad signature", "Unauthorized"),
        ("expired", "The incoming token has expired"),
        ("wrong issuer", "Unauthorized"),
        ("access token", "Unauthorized"),
    ],
)
def test_cognito_rejections(case: str, message: str, signing_key: RSAKey, other_key: RSAKey) -> None:
    tokens = {
        "missing": None,
        "not a jwt": "not-a-token",
        "bad signature": _token(other_key),
        "expired": _token(signing_key, exp=int(time.time()) - 1),
        "wrong issuer": _token(signing_key, iss=f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Other"),
        "access token": _token(signing_key, token_use="access", scope="aws.cognito.signin.user.admin"),
    }
    token = tokens[case]
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker, signing_key).handle(
        _request(
            "POST", "/dev/groups", headers=[("Authorization", token)] if token else [], body=b'{"name": "a"}'
        )
    )
    assert response.status == 401
    assert _json(response) == {"message": message}
    assert _headers(response)["x-amzn-ErrorType"] == "UnauthorizedException"
    _assert_cors(response)
    assert invoker.calls == []


@pytest.mark.parametrize("scheme", ["", "Bearer "])
def test_cognito_claims_reach_the_event_as_strings(scheme: str, signing_key: RSAKey) -> None:
    token = _token(signing_key, exp=4102444800)
    invoker = FakeInvoker()
    response = _gateway(_resources(), invoker, signing_key).handle(
        _request("POST", "/dev/groups", headers=[("Authorization", scheme + token)], body=b'{"name": "a"}')
    )
    assert response.status == 200
    claims = invoker.events[0]["requestContext"]["authorizer"]["claims"]
    assert claims["sub"] == "user-1"
    assert claims["iss"] == ISSUER
    assert claims["email_verified"] == "true"
    assert claims["cognito:groups"] == "admins,users"
    assert claims["exp"] == "Fri Jan 01 00:00:00 UTC 2100"
    assert claims["auth_time"].isdigit()
    assert all(isinstance(value, str) for value in claims.values())


def test_cognito_methods_with_scopes_take_access_tokens_with_a_scope(signing_key: RSAKey) -> None:
    resources = _resources()
    resources["GroupsGet"] = _method(
        "Groups",
        "GET",
        AuthorizationType="COGNITO_USER_POOLS",
        AuthorizerId={"Ref": "Cognito"},
        AuthorizationScopes=["images/read"],
    )
    gateway = _gateway(resources, FakeInvoker(), signing_key)

    def status(token: str) -> int:
        return gateway.handle(_request("GET", "/dev/groups", headers=[("Authorization", token)])).status

    assert status(_token(signing_key, token_use="access", scope="openid images/read")) == 200
    assert status(_token(signing_key, token_use="access", scope="openid")) == 401
    assert status(_token(signing_key)) == 401  # an ID token


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


def _with_lambda_authorizer(authorizer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = _resources()
    resources["Custom"] = authorizer
    resources["GroupsGet"] = _method(
        "Groups", "GET", AuthorizationType="CUSTOM", AuthorizerId={"Ref": "Custom"}
    )
    return resources


def _policy(effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": "user-7",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"tenant": "acme", "admin": True, "level": 3},
    }


TOKEN_AUTHORIZER = _authorizer(
    "TOKEN",
    AuthorizerUri=_lambda_uri("CheckToken"),
    IdentitySource="method.request.header.X-Token",
    IdentityValidationExpression="tok-.*",
)


def test_token_authorizer_allows_and_passes_its_context() -> None:
    invoker = FakeInvoker(CheckToken=_policy("Allow", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:id-Api/dev/*"))
    response = _gateway(_with_lambda_authorizer(TOKEN_AUTHORIZER), invoker).handle(
        _request("GET", "/dev/groups", headers=[("X-Token", "tok-1")])
    )
    assert response.status == 200
    (authorizer_arn, authorizer_event), (_, event) = invoker.calls
    assert authorizer_arn == function_arn("CheckToken")
    assert authorizer_event == {
        "type": "TOKEN",
        "authorizationToken": "tok-1",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:id-Api/dev/GET/groups",
    }
    authorizer = event["requestContext"]["authorizer"]
    assert {key: authorizer[key] for key in ("principalId", "tenant", "admin", "level")} == {
        "principalId": "user-7",
        "tenant": "acme",
        "admin": "true",
        "level": "3",
    }
    assert isinstance(authorizer["integrationLatency"], int)


@pytest.mark.parametrize(
    ("headers", "result", "status", "body"),
    [
        ([], None, 401, {"message": "Unauthorized"}),
        ([("X-Token", "bad-1")], None, 401, {"message": "Unauthorized"}),  # fails the validation expression
        (
            [("X-Token", "tok-1")],
            FunctionError("Exception", "Unauthorized"),
            401,
            {"message": "Unauthorized"},
        ),
        ([("X-Token", "tok-1")], FunctionError("Exception", "boom"), 500, {"message": None}),
        ([("X-Token", "tok-1")], {"principalId": "x"}, 500, {"message": None}),
        (
            [("X-Token", "tok-1")],
            _policy("Deny", "*"),
            403,
            {"message": "User is not authorized to access this resource with an explicit deny"},
        ),
        (
            [("X-Token", "tok-1")],
            _policy("Allow", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:id-Api/dev/POST/*"),
            403,
            {"message": "User is not authorized to access this resource"},
        ),
    ],
)
def test_token_authorizer_rejections(
    headers: list[tuple[str, str]], result: Any, status: int, body: dict[str, Any]
) -> None:
    invoker = FakeInvoker(CheckToken=result)
    response = _gateway(_with_lambda_authorizer(TOKEN_AUTHORIZER), invoker).handle(
        _request("GET", "/dev/groups", headers=headers)
    )
    assert (response.status, _json(response)) == (status, body)
    _assert_cors(response)
    assert [arn for arn, _ in invoker.calls] == ([function_arn("CheckToken")] if result is not None else [])


def test_request_authorizer_gets_the_request_and_needs_its_identity_sources() -> None:
    authorizer = _authorizer(
        "REQUEST",
        AuthorizerUri=_lambda_uri("CheckRequest"),
        IdentitySource="method.request.header.Authorization, method.request.querystring.tenant",
        AuthorizerResultTtlInSeconds=300,
    )
    invoker = FakeInvoker(CheckRequest=_policy("Allow", "*"))
    gateway = _gateway(_with_lambda_authorizer(authorizer), invoker)
    assert gateway.handle(_request("GET", "/dev/groups", headers=[("Authorization", "x")])).status == 401
    assert invoker.calls == []
    response = gateway.handle(
        _request("GET", "/dev/groups", query=[("tenant", "acme")], headers=[("Authorization", "x")])
    )
    assert response.status == 200
    authorizer_event = invoker.calls[0][1]
    assert authorizer_event["type"] == "REQUEST"
    assert authorizer_event["methodArn"] == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:id-Api/dev/GET/groups"
    assert authorizer_event["queryStringParameters"] == {"tenant": "acme"}
    assert authorizer_event["headers"]["Authorization"] == "x"
    assert "body" not in authorizer_event


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


def test_api_key_required_needs_a_key_header() -> None:
    resources = _resources()
    resources["GroupsGet"]["Properties"]["ApiKeyRequired"] = True
    invoker = FakeInvoker()
    gateway = _gateway(resources, invoker)
    missing = gateway.handle(_request("GET", "/dev/groups"))
    assert (missing.status, _json(missing)) == (403, {"message": "Forbidden"})
    _assert_cors(missing)
    assert gateway.handle(_request("GET", "/dev/groups", headers=[("x-api-key", "any")])).status == 200
    assert invoker.events[0]["requestContext"]["identity"]["apiKey"] == "any"


def test_iam_authorization_needs_a_signature_and_names_the_signing_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    resources = _resources()
    resources["GroupsGet"]["Properties"]["AuthorizationType"] = "AWS_IAM"
    invoker = FakeInvoker()
    gateway = _gateway(resources, invoker)
    unsigned = gateway.handle(_request("GET", "/dev/groups"))
    assert (unsigned.status, _json(unsigned)) == (403, {"message": "Missing Authentication Token"})
    _assert_cors(unsigned)
    assert invoker.calls == []
    signature = (
        "AWS4-HMAC-SHA256 Credential=AKIDLOCAL1/20261123/eu-west-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0123"
    )
    signed = gateway.handle(_request("GET", "/dev/groups", headers=[("Authorization", signature)]))
    presigned = gateway.handle(
        _request(
            "GET", "/dev/groups", query=[("X-Amz-Credential", "AKIDLOCAL2/20261123/eu-west-1/execute-api")]
        )
    )
    assert (signed.status, presigned.status) == (200, 200)
    identities = [event["requestContext"]["identity"] for _, event in invoker.calls]
    assert [(identity["caller"], identity["accessKey"]) for identity in identities] == [
        ("AKIDLOCAL1", "AKIDLOCAL1"),
        ("AKIDLOCAL2", "AKIDLOCAL2"),
    ]
    assert identities[0]["accountId"] == ACCOUNT
    warnings = [record.message for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "REST API demo: GET /groups uses IAM authorization: requests must be SigV4-signed, but signatures "
        "and policies are not checked locally"
    ]


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
