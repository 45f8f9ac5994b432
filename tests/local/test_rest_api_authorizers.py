"""RestApiGateway's authorization: Cognito user pools, Lambda TOKEN and REQUEST authorizers, API keys, IAM."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from constructs_lib.local._types import FunctionError
from tests.local.rest_api_helpers import (
    ACCOUNT,
    ISSUER,
    REGION,
    TOKEN_AUTHORIZER,
    FakeInvoker,
    _assert_cors,
    _authorizer,
    _gateway,
    _headers,
    _json,
    _lambda_uri,
    _method,
    _policy,
    _request,
    _resources,
    _token,
    _with_lambda_authorizer,
    function_arn,
)


@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "pool-key"})


@pytest.fixture(scope="module")
def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "pool-key"})


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
    token = _token(signing_key, exp=4102444800, address={"locality": "Lisbon", "country": "PT"})
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
    # Rendered as the JWT authorizer function renders them (one helper): objects as compact JSON.
    assert claims["address"] == '{"locality":"Lisbon","country":"PT"}'
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
