"""What the RestApiGateway tests share: a fake template and invoker, resource builders, requests."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from constructs_lib.local._types import FunctionError, Invocation
from constructs_lib.local.rest_api import HttpRequest, HttpResponse, RestApiGateway

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
