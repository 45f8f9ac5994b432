"""ServerlessApi's authorizers: Cognito user pools, Lambda TOKEN and REQUEST authorizers, a JwtAuthorizer.

Each is created on first use by a route (an authorizer no method uses fails the synth). Modes are
`AuthorizationMode` members, read by their `value`, so this module needs no import of
serverless_api at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from constructs_lib.jwt_authorizer import TOKEN_VALIDATION_EXPRESSION, JwtAuthorizer

if TYPE_CHECKING:
    from constructs_lib.serverless_api import AuthorizationMode

_COGNITO = "COGNITO_USER_POOLS"
_TOKEN = "TOKEN"  # noqa: S105 - a mode, not a secret
_REQUEST = "REQUEST"
_JWT = "JWT"
# By AuthorizationMode value.
AUTHORIZATION_TYPES = {
    "NONE": apigw.AuthorizationType.NONE,
    "AWS_IAM": apigw.AuthorizationType.IAM,
    _COGNITO: apigw.AuthorizationType.COGNITO,
    _TOKEN: apigw.AuthorizationType.CUSTOM,
    _REQUEST: apigw.AuthorizationType.CUSTOM,
    _JWT: apigw.AuthorizationType.CUSTOM,
}
_NEEDED_PROP = {
    _COGNITO: "authorizers.user_pools",
    _TOKEN: "authorizers.token_authorizer",
    _REQUEST: "authorizers.request_authorizer",
    _JWT: "authorizers.jwt_authorizer",
}


def missing_authorizer(mode: AuthorizationMode) -> str:
    needed = _NEEDED_PROP.get(mode.value, "")
    return f"{mode.name} authorization needs an authorizer; pass {needed} to ServerlessApi"


class Authorizers:
    """The authorizers of one REST API, each created on first use with the same cache TTL."""

    def __init__(
        self,
        scope: Construct,
        *,
        user_pools: Sequence[cognito.IUserPool],
        token_function: lambda_.IFunction | None,
        token_identity_source: str,
        request_function: lambda_.IFunction | None,
        request_identity_sources: Sequence[str],
        jwt_authorizer: JwtAuthorizer | None = None,
        cache_ttl: Duration,
    ) -> None:
        self._scope = scope
        self._user_pools = list(user_pools)
        self._token_function = token_function
        self._token_identity_source = token_identity_source
        self._request_function = request_function
        self._request_identity_sources = list(request_identity_sources)
        self._jwt = jwt_authorizer
        self._cache_ttl = cache_ttl
        self._created: dict[str, apigw.IAuthorizer] = {}

    def available(self, mode: AuthorizationMode) -> bool:
        """Whether `mode` has its authorizer (NONE and IAM need none)."""
        return {
            _COGNITO: bool(self._user_pools),
            _TOKEN: self._token_function is not None,
            _REQUEST: self._request_function is not None,
            _JWT: self._jwt is not None,
        }.get(mode.value, True)

    def get(self, mode: AuthorizationMode) -> apigw.IAuthorizer | None:
        """The mode's authorizer (None for NONE and IAM), created on first use."""
        kind = mode.value
        if kind not in _NEEDED_PROP or kind in self._created:
            return self._created.get(kind)
        authorizer: apigw.IAuthorizer
        if kind == _COGNITO:
            authorizer = apigw.CognitoUserPoolsAuthorizer(
                self._scope,
                "CognitoAuthorizer",
                cognito_user_pools=self._user_pools,
                results_cache_ttl=self._cache_ttl,
            )
        elif kind == _TOKEN:
            assert self._token_function is not None  # the route checked it
            authorizer = apigw.TokenAuthorizer(
                self._scope,
                "TokenAuthorizer",
                handler=self._token_function,
                identity_source=self._token_identity_source,
                results_cache_ttl=self._cache_ttl,
            )
        elif kind == _REQUEST:
            assert self._request_function is not None  # the route checked it
            authorizer = apigw.RequestAuthorizer(
                self._scope,
                "RequestAuthorizer",
                handler=self._request_function,
                identity_sources=self._request_identity_sources,
                results_cache_ttl=self._cache_ttl,
            )
        else:
            assert self._jwt is not None  # the route checked it
            # A TOKEN authorizer: API Gateway caches its decision per token for the TTL, and answers
            # 401 itself, without invoking the function, to a header that is not a JWT.
            authorizer = apigw.TokenAuthorizer(
                self._scope,
                "JwtAuthorizer",
                handler=self._jwt.function.function,
                identity_source=apigw.IdentitySource.header("Authorization"),
                validation_regex=TOKEN_VALIDATION_EXPRESSION,
                results_cache_ttl=self._cache_ttl,
            )
        self._created[kind] = authorizer
        return authorizer
