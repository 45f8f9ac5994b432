"""ServerlessApi's checks of what API Gateway refuses at deployment, or aws-cdk-lib throws through jsii
(and the usage plans built once their numbers pass).

Each check names the limit it enforces and its source. Values that are tokens are checked only
when concrete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._api_authorizers import missing_authorizer
from constructs_lib._api_paths import validate_path
from constructs_lib._api_schema import to_json_schema
from constructs_lib._validation import PropErrors
from constructs_lib.cors_policy import HTTP_METHODS

if TYPE_CHECKING:
    from constructs_lib.serverless_api import AuthorizationMode, ServerlessApi

# AWS::ApiGateway::Authorizer AuthorizerResultTtlInSeconds and the stage's CacheTtlInSeconds:
# "The maximum value is 3600" (CloudFormation resource specification); aws-cdk-lib throws beyond it
# for Lambda authorizers ("resultsCacheTtl must not be greater than 3600 seconds").
MAX_CACHE_TTL_SECONDS = 3600
# API Gateway authorizer identity sources (Authorizer identitySource): request headers, query
# strings, stage variables or $context variables; a TOKEN authorizer reads one header.
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateAuthorizer.html
REQUEST_IDENTITY_SOURCE = re.compile(
    r"(method\.request\.(header|querystring)\.[A-Za-z0-9._~-]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9._]+)"
)
TOKEN_IDENTITY_SOURCE = re.compile(r"method\.request\.header\.[A-Za-z0-9._~-]+")
# aws-cdk-lib BasePathMapping: "A base path may only contain letters, numbers, and one of
# "$-_.+!*'()"", and DomainName refuses multi-level base paths in its mapping.
BASE_PATH = re.compile(r"[A-Za-z0-9$_.+!*'()-]+")
# A host name (RFC 1123 labels of 1-63 characters, at most 253 in all), lowercase: aws-cdk-lib's
# DomainName throws on uppercase; API Gateway accepts one leading wildcard label
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-custom-domains.html).
DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# A WAF web ACL associated with a REST API stage is a regional (not CLOUDFRONT) WAFv2 web ACL
# in the API's region (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html).
REGIONAL_WEB_ACL_ARN = re.compile(r"arn:aws[a-z-]*:wafv2:([a-z0-9-]+):\d{12}:regional/webacl/.+")
# Edge-optimized custom domains: "You must request or import a certificate for your edge-optimized
# custom domain name in the US East (N. Virginia) - us-east-1 Region"; regional ones "must use a
# certificate that's in the same AWS Region as your API" (API Gateway developer guide,
# how-to-edge-optimized-custom-domain-name.html and apigateway-regional-api-custom-domain-create.html).
EDGE_CERTIFICATE_REGION = "us-east-1"


def _concrete(value: object) -> bool:
    return value is not None and not _resolved.is_unresolved(value)


def check_whole_seconds(errors: PropErrors, prop: str, duration: Duration, maximum: int) -> None:
    """A TTL API Gateway takes in whole seconds, 0 to `maximum`."""
    if _resolved.is_unresolved_duration(duration):  # to_milliseconds() would throw through jsii
        return
    millis = _resolved.to_milliseconds(duration)
    errors.check(
        millis % 1000 == 0 and 0 <= millis <= maximum * 1000,
        prop,
        f"{millis / 1000:g} s is not a whole number of seconds from 0 to {maximum} (API Gateway's "
        f"maximum, {maximum // 60} minutes); use Duration.seconds(0) to Duration.seconds({maximum})",
    )


def certificate_region(certificate: acm.ICertificate) -> str | None:
    """The region of a certificate whose ARN is concrete, e.g. from `Certificate.from_certificate_arn`."""
    arn = certificate.certificate_arn
    if not _concrete(arn):
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[2] == "acm" and parts[3] else None


def check_custom_domain(
    errors: PropErrors,
    scope: Construct,
    *,
    endpoint_type: apigw.EndpointType,
    domain_name: str | None,
    certificate: acm.ICertificate | None,
    base_path: str | None,
) -> None:
    """The domain name's syntax, the certificate's region for the endpoint type, the base path's syntax."""
    if _concrete(domain_name):
        assert domain_name is not None
        labels = domain_name.split(".")
        if labels and labels[0] == "*":
            labels = labels[1:]  # one leading wildcard label
        errors.check(
            len(domain_name) <= 253 and len(labels) >= 2 and all(DOMAIN_LABEL.fullmatch(x) for x in labels),
            "domain_name",
            f"'{domain_name}' is not a lowercase host name (labels of letters, digits and inner hyphens, "
            "at most 63 characters each, like api.example.com); write it in lowercase",
        )
    if certificate is not None:
        region = certificate_region(certificate)
        if endpoint_type == apigw.EndpointType.EDGE:
            errors.check(
                region in (None, EDGE_CERTIFICATE_REGION),
                "certificate",
                f"an EDGE API's custom domain is served by CloudFront, which takes certificates from "
                f"{EDGE_CERTIFICATE_REGION} only, and this one is in {region}; request or import the "
                f"certificate in {EDGE_CERTIFICATE_REGION}, or use endpoint_type=EndpointType.REGIONAL",
            )
        elif endpoint_type == apigw.EndpointType.REGIONAL:
            stack_region = Stack.of(scope).region
            errors.check(
                region is None or not _concrete(stack_region) or region == stack_region,
                "certificate",
                f"a REGIONAL API's custom domain needs a certificate in the API's region {stack_region}, "
                f"and this one is in {region}; request or import the certificate in {stack_region}",
            )
    if _concrete(base_path):
        assert base_path is not None
        errors.check(
            bool(BASE_PATH.fullmatch(base_path)),
            "base_path",
            f"'{base_path}' is not a base path: one segment of letters, digits and $-_.+!*'() without "
            "slashes, like 'v1'",
        )


def check_authorizer_props(
    errors: PropErrors,
    *,
    token_authorizer: object | None,
    token_identity_source: str,
    request_authorizer: object | None,
    request_identity_sources: Sequence[str],
    authorizer_cache_ttl: Duration,
) -> None:
    """Identity sources API Gateway accepts and a cache TTL within its hour."""
    check_whole_seconds(errors, "authorizer_cache_ttl", authorizer_cache_ttl, MAX_CACHE_TTL_SECONDS)
    if token_authorizer is not None and _concrete(token_identity_source):
        errors.check(
            bool(TOKEN_IDENTITY_SOURCE.fullmatch(token_identity_source)),
            "token_identity_source",
            f"'{token_identity_source}' is not a header; a TOKEN authorizer reads one request header, "
            "written method.request.header.<Name>",
        )
    if request_authorizer is None:
        return
    caching = (
        _resolved.is_unresolved_duration(authorizer_cache_ttl)
        or _resolved.to_milliseconds(authorizer_cache_ttl) > 0
    )
    errors.check(
        bool(request_identity_sources) or not caching,
        "request_identity_sources",
        "is empty, and a REQUEST authorizer whose decisions are cached (authorizer_cache_ttl) keys its "
        "cache on them; name at least one, e.g. 'method.request.header.Authorization', or set "
        "authorizer_cache_ttl=Duration.seconds(0)",
    )
    for source in request_identity_sources:
        if _concrete(source):
            errors.check(
                bool(REQUEST_IDENTITY_SOURCE.fullmatch(source)),
                "request_identity_sources",
                f"'{source}' is not an identity source; write method.request.header.<Name>, "
                "method.request.querystring.<name>, stageVariables.<name> or context.<name>",
            )


def check_stage_props(
    errors: PropErrors,
    scope: Construct,
    *,
    throttling_rate_limit: float,
    throttling_burst_limit: int,
    cache_ttl: Duration,
    web_acl_arn: str | None,
) -> None:
    """Stage settings: an integer burst (aws-cdk-lib throws otherwise), the cache TTL, the web ACL's scope."""
    errors.check(
        not _concrete(throttling_burst_limit) or throttling_burst_limit == int(throttling_burst_limit),
        "throttling_burst_limit",
        f"{throttling_burst_limit} is not a whole number of requests",
    )
    check_whole_seconds(errors, "cache_ttl", cache_ttl, MAX_CACHE_TTL_SECONDS)
    if _concrete(web_acl_arn):
        assert web_acl_arn is not None
        match = REGIONAL_WEB_ACL_ARN.fullmatch(web_acl_arn)
        stack_region = Stack.of(scope).region
        errors.check(
            match is not None and (not _concrete(stack_region) or match.group(1) == stack_region),
            "web_acl_arn",
            f"'{web_acl_arn}' is not a regional WAFv2 web ACL in the API's region {stack_region} "
            "(arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>); a REST API stage takes a "
            "REGIONAL web ACL of its own region, never a CLOUDFRONT one",
        )


def check_usage_plan(
    errors: PropErrors, *, rate_limit: float, burst_limit: int, quota_limit: int | None
) -> None:
    """Positive limits, a burst that holds a second of the rate, and integers where API Gateway (and
    aws-cdk-lib's validateInteger) wants them."""
    errors.check(rate_limit > 0, "rate_limit", "must be more than 0 requests/s")
    errors.check(
        burst_limit >= rate_limit,
        "burst_limit",
        f"{burst_limit} is below rate_limit {rate_limit}; the burst must hold at least one second "
        "of the steady rate",
    )
    errors.check(quota_limit is None or quota_limit > 0, "quota_limit", "must be more than 0 requests")
    errors.check(
        burst_limit == int(burst_limit), "burst_limit", f"{burst_limit} is not a whole number of requests"
    )
    errors.check(
        quota_limit is None or quota_limit == int(quota_limit),
        "quota_limit",
        f"{quota_limit} is not a whole number of requests",
    )


def check_route(
    errors: PropErrors,
    *,
    method: str,
    path: str,
    mode: AuthorizationMode,
    cors: bool,
    routes: set[tuple[str, str]],
    authorized: bool,
    public_reason: str | None,
    authorization_scopes: Sequence[str],
    required_query_parameters: Sequence[str],
    required_headers: Sequence[str],
    request_schema: Mapping[str, Any] | None,
) -> tuple[list[str], apigw.JsonSchema | None]:
    """A route's method, path, authorization and parameters, given the API's `routes` (verb, path) and
    whether it answers CORS preflights and has the mode's authorizer (`authorized`); returns the path's
    parameter names and the request model's schema (None without `request_schema`, or when invalid)."""
    verb = method.upper()
    public = mode.value == "NONE"
    errors.check(verb in HTTP_METHODS, "method", f"'{method}' is not one of {', '.join(HTTP_METHODS)}")
    errors.check(
        not (verb == "OPTIONS" and cors),
        "method",
        "OPTIONS is the CORS preflight, which this API already answers on every resource",
    )
    path_parameters = validate_path(errors, path)
    check_sibling_parameters(errors, path, (routed for _verb, routed in routes))
    errors.check(
        (verb, path) not in routes,
        "method",
        f"{verb} {path} is already routed; each method is added once per path",
    )
    errors.check(
        not public or bool(public_reason and public_reason.strip()),
        "public_reason",
        "a route with AuthorizationMode.NONE is public; say in one sentence why it may be "
        "(it becomes the cdk-nag acknowledgment), or authorize it",
    )
    errors.check(
        public or public_reason is None,
        "public_reason",
        f"only public routes take a reason; this one is authorized with {mode.name}",
    )
    errors.check(authorized, "authorization", missing_authorizer(mode))
    errors.check(
        not authorization_scopes or mode.value == "COGNITO_USER_POOLS",
        "authorization_scopes",
        "OAuth scopes apply to COGNITO authorization only (a JwtAuthorizer checks its required_scopes "
        "on every route)",
    )
    check_parameter_names(errors, required_query_parameters, required_headers)
    schema: apigw.JsonSchema | None = None
    if request_schema is not None:
        schema, problems = to_json_schema(request_schema)
        for problem in problems:
            errors.add("request_schema", problem)
    return path_parameters, schema


def check_parameter_names(
    errors: PropErrors, required_query_parameters: Sequence[str], required_headers: Sequence[str]
) -> None:
    """Request parameter names API Gateway accepts."""
    for name in (*required_query_parameters, *required_headers):
        errors.check(
            bool(re.fullmatch(r"[A-Za-z0-9._~-]+", name)),
            "required_query_parameters" if name in required_query_parameters else "required_headers",
            f"'{name}' is not a valid parameter name (letters, digits, '.', '_', '~', '-')",
        )


def check_sibling_parameters(errors: PropErrors, path: str, routed_paths: Iterable[str]) -> None:
    """API Gateway allows one variable path part per parent: `/items/{id}` and `/items/{itemId}/tags` clash.

    CreateResource refuses the second with "A sibling ({id}) of this resource already has a variable
    path part -- only one is allowed"; aws-cdk-lib creates both, so the deployment fails.
    """
    parts = path.strip("/").split("/")
    for routed in sorted(set(routed_paths)):  # sorted: the same message on every run
        others = routed.strip("/").split("/")
        for index, (part, other) in enumerate(zip(parts, others, strict=False)):
            if part != other:
                if part.startswith("{") and other.startswith("{"):
                    parent = "/" + "/".join(parts[:index])
                    errors.add(
                        "path",
                        f"'{part}' in '{path}' and '{other}' in '{routed}' are two variable parts under "
                        f"'{parent}', and API Gateway allows one per parent; use the same parameter "
                        f"name ({other}) in both paths",
                    )
                    return
                break


def stage_usage_plan(
    api: ServerlessApi,
    construct_id: str,
    *,
    rate_limit: int,
    burst_limit: int,
    quota_limit: int | None,
    quota_period: apigw.Period,
) -> apigw.UsagePlan:
    """`ServerlessApi.add_usage_plan`: a usage plan for the API's stage, once its numbers are checked."""
    errors = PropErrors(api, construct_id)
    check_usage_plan(errors, rate_limit=rate_limit, burst_limit=burst_limit, quota_limit=quota_limit)
    errors.raise_if_any()
    return api.api.add_usage_plan(
        construct_id,
        throttle=apigw.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
        quota=apigw.QuotaSettings(limit=quota_limit, period=quota_period) if quota_limit else None,
        api_stages=[apigw.UsagePlanPerApiStage(api=api.api, stage=api.stage)],
    )
