"""The enforcement service's view of callers it does not sign for: API Gateway events, unsigned requests."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.local.iam.service import _api_source_arn, _unsigned_service, _without_stage
from constructs_lib.local.iam.wire import HttpRequest, api_call, unsigned_allowed

REGION = "us-east-1"
ACCOUNT = "111111111111"


@pytest.mark.parametrize(
    ("context", "source"),
    [
        (
            {"apiId": "a1", "stage": "dev", "httpMethod": "GET", "resourcePath": "/groups/{groupId}"},
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1/dev/GET/groups/{{groupId}}",
        ),
        (
            {"apiId": "w1", "stage": "dev", "routeKey": "$connect"},
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:w1/dev/$connect",
        ),
    ],
)
def test_api_gateway_invokes_as_the_methods_or_routes_execute_api_arn(
    context: dict[str, Any], source: str
) -> None:
    assert _api_source_arn({"requestContext": context}, REGION, ACCOUNT) == source


def test_other_events_are_not_api_gateways() -> None:
    assert _api_source_arn({"Records": []}, REGION, ACCOUNT) is None
    assert _api_source_arn({"requestContext": {"identity": {}}}, REGION, ACCOUNT) is None


def test_the_connections_api_path_loses_its_stage_before_routing() -> None:
    request = HttpRequest("POST", "/dev/@connections/abc%3D", {}, {}, b"hi")
    assert _without_stage(request).path == "/@connections/abc%3D"
    call = api_call(_without_stage(request), signing_name="execute-api", region=REGION, account=ACCOUNT)
    assert call is not None
    assert (call.operation, call.params["ConnectionId"]) == ("PostToConnection", "abc=")


def test_unsigned_cognito_sign_in_needs_no_iam_but_an_unsigned_s3_read_is_anonymous() -> None:
    sign_in = HttpRequest(
        "POST", "/", {}, {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}, b"{}"
    )
    assert _unsigned_service(sign_in) == "cognito-idp"
    call = api_call(sign_in, signing_name="cognito-idp", region=REGION, account=ACCOUNT)
    assert call is not None
    assert unsigned_allowed(call)
    read = HttpRequest("GET", "/images/uploads/a.jpg", {}, {}, b"")
    assert _unsigned_service(read) == "s3"
    s3_call = api_call(read, signing_name="s3", region=REGION, account=ACCOUNT)
    assert s3_call is not None
    assert s3_call.operation == "GetObject"
    assert not unsigned_allowed(s3_call)
