"""ServerlessApi: what API Gateway refuses at deployment, or aws-cdk-lib throws through jsii, fails at synth.

Nothing here synthesizes: each case builds the construct into a fresh stack of one shared App and
expects the construct's own ValueError (issue #18).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Duration, Environment, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs_lib import (
    ApiAuthorizers,
    ApiStage,
    AuthorizationMode,
    CorsPolicy,
    CustomDomain,
    ServerlessApi,
)
from tests.cdk import TEST_ENV, new_app

FUNCTION_ARN = "arn:aws:lambda:us-east-1:111111111111:function:check"
EU_CERTIFICATE = "arn:aws:acm:eu-west-1:111111111111:certificate/0a1b2c3d"
US_CERTIFICATE = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d"


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


_stacks = iter(range(1_000_000))


def _stack(app: App, region: str | None = None) -> Stack:
    env = TEST_ENV if region is None else Environment(account=TEST_ENV.account, region=region)
    return Stack(app, f"Test{next(_stacks)}", env=env)


def _function(stack: Stack, name: str = "Check") -> lambda_.IFunction:
    return lambda_.Function.from_function_arn(stack, name, FUNCTION_ARN)


def _certificate(stack: Stack, arn: str) -> acm.ICertificate:
    return acm.Certificate.from_certificate_arn(stack, "Certificate", arn)


def _raises(message: str) -> Any:
    return pytest.raises(ValueError, match=re.escape(message))


CASES: dict[str, tuple[Callable[[Stack], dict[str, Any]], str]] = {
    "edge-certificate-outside-us-east-1": (
        lambda stack: {
            "endpoint_type": apigw.EndpointType.EDGE,
            "custom_domain": CustomDomain(
                domain_name="api.example.com", certificate=_certificate(stack, EU_CERTIFICATE)
            ),
        },
        "custom_domain.certificate: an EDGE API's custom domain is served by CloudFront, which takes "
        "certificates from "
        "us-east-1 only, and this one is in eu-west-1; request or import the certificate in us-east-1, or "
        "use endpoint_type=EndpointType.REGIONAL",
    ),
    "regional-certificate-in-another-region": (
        lambda stack: {
            "custom_domain": CustomDomain(
                domain_name="api.example.com", certificate=_certificate(stack, EU_CERTIFICATE)
            )
        },
        "custom_domain.certificate: a REGIONAL API's custom domain needs a certificate in the API's "
        "region us-east-1, and "
        "this one is in eu-west-1; request or import the certificate in us-east-1",
    ),
    "uppercase-domain": (
        lambda stack: {
            "custom_domain": CustomDomain(
                domain_name="API.example.com", certificate=_certificate(stack, US_CERTIFICATE)
            )
        },
        "custom_domain.domain_name: 'API.example.com' is not a lowercase host name (labels of "
        "letters, digits and inner "
        "hyphens, at most 63 characters each, like api.example.com); write it in lowercase",
    ),
    "multi-level-base-path": (
        lambda stack: {
            "custom_domain": CustomDomain(
                domain_name="api.example.com",
                certificate=_certificate(stack, US_CERTIFICATE),
                base_path="v1/orders",
            )
        },
        "custom_domain.base_path: 'v1/orders' is not a base path: one segment of letters, digits and "
        "$-_.+!*'() without "
        "slashes, like 'v1'",
    ),
    "empty-request-identity-sources": (
        lambda stack: {
            "authorizers": ApiAuthorizers(request_authorizer=_function(stack), request_identity_sources=[])
        },
        "authorizers.request_identity_sources: is empty, and a REQUEST authorizer whose decisions are cached "
        "(authorizers.cache_ttl) keys its cache on them; name at least one, e.g. "
        "'method.request.header.Authorization', or set authorizers.cache_ttl=Duration.seconds(0)",
    ),
    "invalid-request-identity-source": (
        lambda stack: {
            "authorizers": ApiAuthorizers(
                request_authorizer=_function(stack), request_identity_sources=["Authorization"]
            )
        },
        "authorizers.request_identity_sources: 'Authorization' is not an identity source; write "
        "method.request.header.<Name>, method.request.querystring.<name>, stageVariables.<name> or "
        "context.<name>",
    ),
    "token-identity-source-not-a-header": (
        lambda stack: {
            "authorizers": ApiAuthorizers(
                token_authorizer=_function(stack), token_identity_source="method.request.querystring.token"
            )
        },
        "authorizers.token_identity_source: 'method.request.querystring.token' is not a header; a "
        "TOKEN authorizer reads "
        "one request header, written method.request.header.<Name>",
    ),
    "authorizer-cache-over-an-hour": (
        lambda stack: {
            "authorizers": ApiAuthorizers(request_authorizer=_function(stack), cache_ttl=Duration.hours(2))
        },
        "authorizers.cache_ttl: 7200 s is not a whole number of seconds from 0 to 3600 (API Gateway's "
        "maximum, 60 minutes); use Duration.seconds(0) to Duration.seconds(3600)",
    ),
    "stage-cache-over-an-hour": (
        lambda stack: {"stage": ApiStage(cache_cluster_size="0.5", cache_ttl=Duration.minutes(61))},
        "stage.cache_ttl: 3660 s is not a whole number of seconds from 0 to 3600",
    ),
    "fractional-burst": (
        lambda stack: {"stage": ApiStage(throttling_rate_limit=10, throttling_burst_limit=20.5)},  # type: ignore[arg-type]
        "stage.throttling_burst_limit: 20.5 is not a whole number of requests",
    ),
    "cloudfront-web-acl": (
        lambda stack: {
            "stage": ApiStage(web_acl_arn="arn:aws:wafv2:us-east-1:111111111111:global/webacl/api/0a1b2c3d")
        },
        "stage.web_acl_arn: 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/api/0a1b2c3d' is not "
        "a regional "
        "WAFv2 web ACL in the API's region us-east-1 (arn:aws:wafv2:<region>:<account>:regional/webacl/"
        "<name>/<id>); a REST API stage takes a REGIONAL web ACL of its own region, never a CLOUDFRONT one",
    ),
    "web-acl-of-another-region": (
        lambda stack: {
            "stage": ApiStage(web_acl_arn="arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/api/0a1b2c3d")
        },
        "stage.web_acl_arn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/api/0a1b2c3d' is "
        "not a regional "
        "WAFv2 web ACL in the API's region us-east-1",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_props_api_gateway_would_refuse_raise(app: App, case: str) -> None:
    props, message = CASES[case]
    stack = _stack(app)
    with _raises(f"{stack.node.path}/Bad: {message}"):
        ServerlessApi(stack, "Bad", **props(stack))


def test_certificates_and_web_acls_in_the_right_regions_pass(app: App) -> None:
    edge = _stack(app, "eu-west-1")
    ServerlessApi(
        edge,
        "Edge",
        endpoint_type=apigw.EndpointType.EDGE,
        custom_domain=CustomDomain(
            domain_name="*.example.com", certificate=_certificate(edge, US_CERTIFICATE)
        ),
    )
    regional = _stack(app, "eu-west-1")
    ServerlessApi(
        regional,
        "Regional",
        custom_domain=CustomDomain(
            domain_name="api.example.com", certificate=_certificate(regional, EU_CERTIFICATE)
        ),
        stage=ApiStage(web_acl_arn="arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/api/0a1b2c3d"),
    )


def test_certificate_region_is_not_judged_in_an_environment_agnostic_stack(app: App) -> None:
    stack = Stack(app, f"Agnostic{next(_stacks)}")
    ServerlessApi(
        stack,
        "Api",
        custom_domain=CustomDomain(
            domain_name="api.example.com", certificate=_certificate(stack, EU_CERTIFICATE)
        ),
    )


def test_uncached_request_authorizer_may_have_no_identity_sources(app: App) -> None:
    stack = _stack(app)
    ServerlessApi(
        stack,
        "Api",
        authorizers=ApiAuthorizers(
            request_authorizer=_function(stack), request_identity_sources=[], cache_ttl=Duration.seconds(0)
        ),
    )


def test_sibling_path_parameters_with_different_names_raise(app: App) -> None:
    stack = _stack(app)
    api = ServerlessApi(stack, "Api")
    handler = _function(stack)
    api.add_route("GET", "/items/{id}", handler)
    api.add_route("GET", "/items/{id}/tags", handler)  # the same name: one resource
    with _raises(
        f"{stack.node.path}/Api/add_route(GET /items/{{itemId}}/tags): path: '{{itemId}}' in "
        "'/items/{itemId}/tags' and '{id}' in '/items/{id}' are two variable parts under '/items', and API "
        "Gateway allows one per parent; use the same parameter name ({id}) in both paths"
    ):
        api.add_route("GET", "/items/{itemId}/tags", handler)
    with _raises("path: '{proxy+}' in '/items/{proxy+}' and '{id}' in '/items/{id}' are two variable parts"):
        api.add_route("ANY", "/items/{proxy+}", handler)


def test_usage_plan_limits_must_be_whole_numbers(app: App) -> None:
    stack = _stack(app)
    api = ServerlessApi(stack, "Api")
    api.add_route("GET", "/items", _function(stack))
    with _raises(
        f"{stack.node.path}/Api/Plan: 2 invalid props:\n"
        "  - burst_limit: 20.5 is not a whole number of requests\n"
        "  - quota_limit: 100.5 is not a whole number of requests"
    ):
        api.add_usage_plan("Plan", rate_limit=10, burst_limit=20.5, quota_limit=100.5)  # type: ignore[arg-type]


def test_issue_examples_are_reported_at_once(app: App) -> None:
    stack = _stack(app)
    with _raises(
        f"{stack.node.path}/Bad: 2 invalid props:\n  - authorizers.cache_ttl: 7200 s is not a whole "
        f"number of "
        "seconds from 0 to 3600 (API Gateway's maximum, 60 minutes); use Duration.seconds(0) to "
        "Duration.seconds(3600)\n  - authorizers.request_identity_sources: is empty"
    ):
        ServerlessApi(
            stack,
            "Bad",
            authorizers=ApiAuthorizers(
                request_authorizer=_function(stack), request_identity_sources=[], cache_ttl=Duration.hours(2)
            ),
            default_authorization=AuthorizationMode.REQUEST,
        )


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        (
            CorsPolicy(allow_origins=["https://app.example.com"], allow_methods=["ANY", "GET"]),
            "cors.allow_methods: ANY already allows every method; list it alone or list the methods",
        ),
        (
            CorsPolicy(allow_origins=["https://app.example.com"], max_age=Duration.millis(1500)),
            "cors.max_age: 1500 ms is not a whole number of seconds",
        ),
    ],
    ids=["any-with-others", "fractional-max-age"],
)
def test_cors_aws_cdk_lib_would_throw_on_raises(app: App, cors: CorsPolicy, message: str) -> None:
    stack = _stack(app)
    with _raises(f"{stack.node.path}/Bad: {message}"):
        ServerlessApi(stack, "Bad", cors=cors)


def test_a_cache_ttl_from_a_parameter_is_not_judged_at_synth(app: App) -> None:
    stack = _stack(app)
    seconds = CfnParameter(stack, "TtlSeconds", type="Number", default=300).value_as_number
    ServerlessApi(
        stack,
        "Api",
        authorizers=ApiAuthorizers(request_authorizer=_function(stack), cache_ttl=Duration.seconds(seconds)),
    )


def test_access_logs_kept_forever_raise(app: App) -> None:
    stack = _stack(app)
    with pytest.raises(ValueError) as raised:
        ServerlessApi(stack, "Bad", stage=ApiStage(access_log_retention=logs.RetentionDays.INFINITE))
    assert str(raised.value) == (
        f"{stack.node.path}/Bad: stage.access_log_retention: logs must expire; pick a finite RetentionDays "
        "(the default keeps them one year)"
    )
