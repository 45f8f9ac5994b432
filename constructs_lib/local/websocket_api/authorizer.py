"""The ``$connect`` Lambda REQUEST authorizer of a WebSocket API, applied as API Gateway applies it.

Before ``$connect`` runs, API Gateway checks that every identity source (``route.request.querystring.token``,
``route.request.header.Auth``...) is present, else refuses with 401 without invoking the authorizer;
then invokes it with the ``$connect`` request plus ``type: REQUEST`` and the ``methodArn``. The
error ``Unauthorized`` is a 401, any other failure a 500, a policy that does not allow
``execute-api:Invoke`` on the method ARN a 403. An allowed connection's ``principalId`` and context
reach its integrations at ``requestContext.authorizer``. Results are not cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from constructs_lib.local._types import Invocation, TemplateView
from constructs_lib.local.rest_api.authorizers import authorizer_result, policy_decision

_FUNCTION_URI_MARKER = ":lambda:path/2015-03-31/functions/"


@dataclass(frozen=True)
class ConnectAuthorizer:
    """The Lambda authorizer of a WebSocket API's ``$connect`` route."""

    name: str
    function_arn: str
    identity_sources: tuple[str, ...]

    def event(self, connect_event: Mapping[str, Any], method_arn: str) -> dict[str, Any] | None:
        """The authorizer's event, or None when an identity source is missing (a 401 without invoking)."""
        query = connect_event.get("queryStringParameters") or {}
        headers = {str(name).lower(): value for name, value in (connect_event.get("headers") or {}).items()}
        for source in self.identity_sources:
            if source.startswith("route.request.querystring."):
                value = query.get(source.removeprefix("route.request.querystring."))
            elif source.startswith("route.request.header."):
                value = headers.get(source.removeprefix("route.request.header.").lower())
            else:
                value = "present"  # context and stage variable sources are always there locally
            if not value:
                return None
        return {**connect_event, "type": "REQUEST", "methodArn": method_arn}

    @staticmethod
    def decide(invocation: Invocation, method_arn: str) -> tuple[HTTPStatus | None, dict[str, Any]]:
        """(None, the authorizer's context) to connect, or (the refusal, {})."""
        if invocation.error is not None:
            if invocation.error.message == "Unauthorized":
                return HTTPStatus.UNAUTHORIZED, {}
            return HTTPStatus.INTERNAL_SERVER_ERROR, {}
        try:
            principal_id, statements, context = authorizer_result(invocation.payload)
        except ValueError:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {}
        if policy_decision(statements, method_arn) != "Allow":
            return HTTPStatus.FORBIDDEN, {}
        return None, {"principalId": principal_id, **context}


def connect_authorizer(template: TemplateView, api_id: str) -> ConnectAuthorizer | None:
    """The ``$connect`` route's REQUEST authorizer, if it has a Lambda one in this template."""
    for route in template.resources_of_type("AWS::ApiGatewayV2::Route").values():
        properties = route["Properties"]
        if template.resolve(properties["ApiId"]) != api_id or properties.get("RouteKey") != "$connect":
            continue
        if properties.get("AuthorizationType") != "CUSTOM":
            return None
        wanted = template.resolve(properties.get("AuthorizerId"))
        for logical_id, resource in template.resources_of_type("AWS::ApiGatewayV2::Authorizer").items():
            authorizer = resource["Properties"]
            if template.ref(logical_id) != wanted:
                continue
            uri = str(template.resolve(authorizer.get("AuthorizerUri", "")))
            if _FUNCTION_URI_MARKER not in uri:
                return None
            sources = authorizer.get("IdentitySource") or []
            return ConnectAuthorizer(
                name=str(authorizer.get("Name", logical_id)),
                function_arn=uri.split(_FUNCTION_URI_MARKER, 1)[1].removesuffix("/invocations"),
                identity_sources=tuple(str(source) for source in sources),
            )
    return None
