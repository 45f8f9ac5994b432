"""Who may call a method: Cognito user pool authorizers, Lambda (TOKEN, REQUEST) authorizers, API keys, IAM.

IAM-authorized methods need a SigV4-signed request; the signature and the caller's policies are not
checked (the signing access key stands for the caller). Authorizer results are not cached: every
request is authorized.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# One rendering of claims as strings, shared with the JWT authorizer function (which mimics this one).
from constructs_lib.functions.jwt_authorizer.handler import claim_text
from constructs_lib.local._types import Invocation
from constructs_lib.local.rest_api._model import (
    LOG,
    ApiDefinition,
    AuthorizerConfig,
    Call,
    GatewayError,
    HttpRequest,
    Method,
    identity,
    last,
    wildcard_match,
)
from constructs_lib.local.rest_api.proxy import proxy_event

_SIGV4_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")
# Invokes a function for the gateway; raises the given error if the function is not local.
Invoke = Callable[[str, Mapping[str, Any], GatewayError], Invocation]


class Authorizers:
    """Applies one API's method authorization to calls, invoking Lambda authorizers through `invoke`."""

    def __init__(
        self, api: ApiDefinition, *, jwks: Callable[[str], Mapping[str, Any]], invoke: Invoke
    ) -> None:
        self.api = api
        self._jwks = jwks
        self._invoke = invoke

    def authorize(self, call: Call, method: Method) -> None:
        if method.authorization_type == "AWS_IAM":
            call.access_key = _signing_access_key(call.request)
            if call.access_key is None:
                # What API Gateway answers an IAM-authorized route for an unsigned request.
                raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            return
        authorizer = method.authorizer
        if method.authorization_type not in ("COGNITO_USER_POOLS", "CUSTOM") or authorizer is None:
            return
        if authorizer.type == "COGNITO_USER_POOLS":
            call.authorizer = {"claims": self._cognito_claims(call, method, authorizer)}
        else:
            call.authorizer = self._lambda_authorizer(call, authorizer)

    def _cognito_claims(self, call: Call, method: Method, authorizer: AuthorizerConfig) -> dict[str, str]:
        """The token's claims as the event carries them, or the error API Gateway answers."""
        unauthorized = GatewayError("UNAUTHORIZED", "Unauthorized")
        token = (
            identity(self.api, call, authorizer.identity_sources[0]) if authorizer.identity_sources else None
        )
        if not token:
            raise unauthorized
        # API Gateway takes the token with or without a "Bearer " scheme.
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        issuers = {
            f"https://cognito-idp.{region}.amazonaws.com/{pool_id}": pool_id
            for region, pool_id in authorizer.user_pools
        }
        pool_id = issuers.get(str(_unverified_claims(token).get("iss")))
        if pool_id is None:
            raise unauthorized
        try:
            keys = KeySet.import_key_set({"keys": self._jwks(pool_id)["keys"]})
        except Exception as error:
            LOG.error("REST API %s: cannot read the keys of user pool %s: %s", self.api.name, pool_id, error)
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", None) from error
        try:
            claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            raise unauthorized from None
        expires = claims.get("exp")
        if not isinstance(expires, int | float):
            raise unauthorized
        if time.time() >= expires:
            raise GatewayError("UNAUTHORIZED", "The incoming token has expired")
        if method.scopes:
            # Methods with scopes take access tokens only, carrying at least one of the scopes.
            granted = str(claims.get("scope", "")).split()
            if claims.get("token_use") != "access" or not set(granted) & set(method.scopes):
                raise unauthorized
        elif claims.get("token_use") != "id":
            raise unauthorized
        expression = authorizer.validation_expression
        if expression and not re.fullmatch(expression, str(claims.get("aud", ""))):
            raise unauthorized
        return {name: claim_text(name, value) for name, value in claims.items()}

    def _lambda_authorizer(self, call: Call, authorizer: AuthorizerConfig) -> dict[str, Any]:
        """Invoke a TOKEN or REQUEST authorizer and apply its policy to this method's ARN."""
        method_arn = (
            f"arn:aws:execute-api:{self.api.region}:{self.api.account}:{self.api.api_id}/{call.stage}/"
            f"{call.request.method}{call.path}"
        )
        unauthorized = GatewayError("UNAUTHORIZED", "Unauthorized")
        event: dict[str, Any]
        if authorizer.type == "TOKEN":
            token = (
                identity(self.api, call, authorizer.identity_sources[0])
                if authorizer.identity_sources
                else None
            )
            expression = authorizer.validation_expression
            if not token or (expression and not re.fullmatch(expression, token)):
                raise unauthorized
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        else:
            # With caching on, the identity sources are the cache key and must all be present.
            if authorizer.ttl > 0 and not all(
                identity(self.api, call, source) for source in authorizer.identity_sources
            ):
                raise unauthorized
            request = proxy_event(self.api, call)
            del request["body"], request["isBase64Encoded"]
            event = {"type": "REQUEST", "methodArn": method_arn, **request}
        configuration_error = GatewayError("AUTHORIZER_CONFIGURATION_ERROR", None)
        if authorizer.function_arn is None:
            raise configuration_error
        started = time.monotonic()
        invocation = self._invoke(authorizer.function_arn, event, configuration_error)
        latency = round((time.monotonic() - started) * 1000)
        if invocation.error is not None:
            if invocation.error.message == "Unauthorized":
                raise unauthorized
            LOG.error(
                "REST API %s: authorizer %s failed: %s: %s",
                self.api.name,
                authorizer.name,
                invocation.error.error_type,
                invocation.error.message,
            )
            raise configuration_error
        try:
            principal_id, statements, context = authorizer_result(invocation.payload)
        except ValueError as error:
            LOG.error("REST API %s: authorizer %s returned %s", self.api.name, authorizer.name, error)
            raise configuration_error from None
        decision = policy_decision(statements, method_arn)
        if decision == "Deny":
            raise GatewayError(
                "ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny"
            )
        if decision is None:
            raise GatewayError("ACCESS_DENIED", "User is not authorized to access this resource")
        if isinstance(invocation.payload.get("usageIdentifierKey"), str):
            call.api_key = invocation.payload["usageIdentifierKey"]
        return {"principalId": principal_id, "integrationLatency": latency, **context}

    def check_api_key(self, call: Call) -> None:
        if self.api.api_key_source == "HEADER":
            call.api_key = last(call.request.headers, "x-api-key", ignore_case=True)
        if not call.api_key:
            raise GatewayError("INVALID_API_KEY", "Forbidden")


def _signing_access_key(request: HttpRequest) -> str | None:
    """The access key id of a SigV4-signed request (Authorization header or presigned query), unverified."""
    authorization = last(request.headers, "Authorization", ignore_case=True) or ""
    signed = (
        _SIGV4_CREDENTIAL.search(authorization) if authorization.startswith("AWS4-HMAC-SHA256 ") else None
    )
    if signed:
        return signed.group(1)
    credential = last(request.query, "X-Amz-Credential") or ""
    return credential.split("/", 1)[0] or None


def _unverified_claims(token: str) -> Mapping[str, Any]:
    """The payload of a JWT before its signature is checked (to pick the user pool), or {}."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def authorizer_result(payload: Any) -> tuple[str, list[Mapping[str, Any]], dict[str, Any]]:
    """principalId, policy statements and context of a Lambda authorizer's output; ValueError if malformed."""
    if not isinstance(payload, dict):
        raise ValueError(f"{type(payload).__name__} instead of an object")
    principal_id = payload.get("principalId")
    document = payload.get("policyDocument")
    if not isinstance(principal_id, str) or not isinstance(document, dict):
        raise ValueError("no principalId or policyDocument")
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not all(isinstance(statement, dict) for statement in statements):
        raise ValueError("a policyDocument whose Statement is not a list of statements")
    context = payload.get("context") or {}
    if not isinstance(context, dict) or not all(
        isinstance(value, str | int | float | bool) for value in context.values()
    ):
        raise ValueError("a context that is not an object of strings, numbers and booleans")
    # The integration sees context values as strings.
    texts = {
        key: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key, value in context.items()
    }
    return principal_id, statements, texts


def policy_decision(statements: Sequence[Mapping[str, Any]], method_arn: str) -> str | None:
    """``Deny`` if a statement denies execute-api:Invoke on the method ARN, ``Allow`` if one allows it."""
    effects = set()
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if any(
            wildcard_match(str(action), "execute-api:Invoke", ignore_case=True) for action in actions
        ) and any(wildcard_match(str(resource), method_arn) for resource in resources):
            effects.add(str(statement.get("Effect")))
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else None
