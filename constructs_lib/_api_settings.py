"""ServerlessApi's grouped props: stage, custom domain, authorizers and alarms, and their validation.

Each group is a frozen dataclass with keyword-only fields and the construct's defaults, as
aws-cdk-lib groups a RestApi's `deployOptions`; a validation message names the grouped prop's path
(``stage.throttling_rate_limit``). `validate` collects every problem of the construct's props.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._alarms import AlarmDefault, AlarmSettings, check_alarm_settings
from constructs_lib._api_authorizers import missing_authorizer
from constructs_lib._api_common import STAGE_NAME_PATTERN
from constructs_lib._api_validation import (
    _concrete,
    check_authorizer_props,
    check_custom_domain,
    check_stage_props,
)
from constructs_lib._logs import DEFAULT_LOG_RETENTION, check_retention
from constructs_lib._validation import PropErrors, check_token_unit
from constructs_lib.cors_policy import CorsPolicy
from constructs_lib.jwt_authorizer import JwtAuthorizer

if TYPE_CHECKING:
    from constructs_lib.serverless_api import AuthorizationMode

DEFAULT_STAGE_NAME = "dev"
# Per stage, far below the account's 10,000 requests/s: one runaway client cannot starve the
# account's other APIs, and a usage plan or the prop raises it where traffic needs it.
DEFAULT_THROTTLING_RATE_LIMIT = 100
DEFAULT_THROTTLING_BURST_LIMIT = 200
DEFAULT_CACHE_TTL = _resolved.minutes(5)  # API Gateway's own default when caching is on
# Lambda authorizer decisions are reused this long per identity: one authorizer call per user per
# five minutes instead of per request, short enough that a revoked token stops working soon.
DEFAULT_AUTHORIZER_CACHE_TTL = _resolved.minutes(5)
DEFAULT_IDENTITY_SOURCE = "method.request.header.Authorization"
# Alarm when more than 1 % of requests fail with 5XX, or the slowest 1 % take over 3 s (handlers
# time out at 10 s by default, so 3 s at p99 is degradation, not noise).
DEFAULT_SERVER_ERROR_RATE_THRESHOLD = 0.01
DEFAULT_LATENCY_P99_THRESHOLD = _resolved.seconds(3)
CACHE_CLUSTER_SIZES = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")


@dataclass(frozen=True, kw_only=True)
class ApiStage:
    """The API's one stage: its name, throttling, access logs, optional cache and WAF web ACL.

    Logs execution at INFO, writes JSON access logs, traces with X-Ray and records method metrics
    whatever these settings say. `cache_cluster_size` (GB, one of `CACHE_CLUSTER_SIZES`) turns the
    encrypted cache on, with entries kept `cache_ttl`; `web_acl_arn` is a REGIONAL WAFv2 web ACL of
    the API's region, associated with the stage.
    """

    name: str = DEFAULT_STAGE_NAME
    throttling_rate_limit: int = DEFAULT_THROTTLING_RATE_LIMIT
    throttling_burst_limit: int = DEFAULT_THROTTLING_BURST_LIMIT
    access_log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION
    cache_cluster_size: str | None = None
    cache_ttl: Duration = DEFAULT_CACHE_TTL
    web_acl_arn: str | None = None


@dataclass(frozen=True, kw_only=True)
class CustomDomain:
    """A custom domain for an EDGE or REGIONAL API, served with TLS 1.2, optionally under `base_path`.

    The certificate is in us-east-1 for an EDGE API, in the API's region for a REGIONAL one.
    """

    domain_name: str
    certificate: acm.ICertificate
    base_path: str | None = None


def domain_name_options(domain: CustomDomain, endpoint_type: apigw.EndpointType) -> apigw.DomainNameOptions:
    """`domain` as the RestApi's domain name options (TLS 1.2)."""
    return apigw.DomainNameOptions(
        domain_name=domain.domain_name,
        certificate=domain.certificate,
        endpoint_type=endpoint_type,
        security_policy=apigw.SecurityPolicy.TLS_1_2,
        base_path=domain.base_path,
    )


@dataclass(frozen=True, kw_only=True)
class ApiAuthorizers:
    """The authorizers routes may use, each created on first use, all caching decisions `cache_ttl`.

    `user_pools` for `AuthorizationMode.COGNITO`, `token_authorizer` (a Lambda function given
    `token_identity_source`) for TOKEN, `request_authorizer` (given `request_identity_sources`)
    for REQUEST, `jwt_authorizer` (a `JwtAuthorizer`: Auth0, Okta, Entra ID, Google...) for JWT.
    """

    user_pools: Sequence[cognito.IUserPool] = ()
    token_authorizer: lambda_.IFunction | None = None
    token_identity_source: str = DEFAULT_IDENTITY_SOURCE
    request_authorizer: lambda_.IFunction | None = None
    request_identity_sources: Sequence[str] = (DEFAULT_IDENTITY_SOURCE,)
    jwt_authorizer: JwtAuthorizer | None = None
    cache_ttl: Duration = DEFAULT_AUTHORIZER_CACHE_TTL


@dataclass(frozen=True, kw_only=True)
class ApiAlarms:
    """The stage's alarms, notifying `topic` (or `settings.topics`; one of them is required).

    ``server_error_rate`` fires when more than `server_error_rate_threshold` (a fraction) of requests
    fail with 5XX, ``latency_p99`` when p99 latency exceeds `latency_p99_threshold`; `settings`
    changes either by name.
    """

    topic: sns.ITopic | None = None
    server_error_rate_threshold: float = DEFAULT_SERVER_ERROR_RATE_THRESHOLD
    latency_p99_threshold: Duration = DEFAULT_LATENCY_P99_THRESHOLD
    settings: AlarmSettings | None = None


def validate(
    errors: PropErrors,
    scope: Construct,
    *,
    endpoint_type: apigw.EndpointType,
    vpc_endpoints: Sequence[ec2.IVpcEndpoint],
    cors: CorsPolicy | None,
    default_authorization: AuthorizationMode,
    stage: ApiStage,
    custom_domain: CustomDomain | None,
    authorizers: ApiAuthorizers,
    alarms: ApiAlarms | None,
    alarm_defaults: dict[str, AlarmDefault],
) -> None:
    """Record every problem of ServerlessApi's props in `errors`."""
    private = endpoint_type == apigw.EndpointType.PRIVATE
    errors.check(
        not private or bool(vpc_endpoints),
        "vpc_endpoints",
        "a PRIVATE API is reachable only through interface VPC endpoints for execute-api; "
        "pass at least one (ec2.InterfaceVpcEndpointAwsService.APIGATEWAY)",
    )
    errors.check(
        private or not vpc_endpoints,
        "vpc_endpoints",
        f"only a PRIVATE API uses VPC endpoints, this one is {endpoint_type.name}; "
        "set endpoint_type=EndpointType.PRIVATE or drop vpc_endpoints",
    )
    if cors is not None:
        cors.validate(errors)
    _validate_stage(errors, scope, stage)
    _validate_authorizers(errors, scope, default_authorization, authorizers)
    if custom_domain is not None:
        errors.check(
            not private,
            "custom_domain.domain_name",
            "this construct maps custom domains for EDGE and REGIONAL APIs; reach a PRIVATE API "
            "through its VPC endpoint's DNS names",
        )
        # What API Gateway refuses at deployment or aws-cdk-lib throws through jsii (issue #18).
        check_custom_domain(
            _Grouped(errors, scope, "custom_domain", ("domain_name", "certificate", "base_path")),
            scope,
            endpoint_type=endpoint_type,
            domain_name=custom_domain.domain_name,
            certificate=custom_domain.certificate,
            base_path=custom_domain.base_path,
        )
    if alarms is not None:
        _validate_alarms(errors, scope, alarms, alarm_defaults)


def _validate_stage(errors: PropErrors, scope: Construct, stage: ApiStage) -> None:
    errors.check(
        bool(STAGE_NAME_PATTERN.match(stage.name)),
        "stage.name",
        f"'{stage.name}' must be 1-128 letters, digits, hyphens or underscores",
    )
    rate, burst = stage.throttling_rate_limit, stage.throttling_burst_limit
    # Tokens (CfnParameters) resolve at deploy: judged only when concrete (issue #18).
    errors.check(
        not _concrete(rate) or rate > 0, "stage.throttling_rate_limit", "must be more than 0 requests/s"
    )
    errors.check(
        not (_concrete(rate) and _concrete(burst)) or burst >= rate,
        "stage.throttling_burst_limit",
        f"{stage.throttling_burst_limit} is below stage.throttling_rate_limit {stage.throttling_rate_limit}; "
        "the burst must hold at least one second of the steady rate",
    )
    check_retention(errors, "stage.access_log_retention", stage.access_log_retention)
    errors.check(
        stage.cache_cluster_size is None or stage.cache_cluster_size in CACHE_CLUSTER_SIZES,
        "stage.cache_cluster_size",
        f"'{stage.cache_cluster_size}' is not one of API Gateway's sizes "
        f"{', '.join(CACHE_CLUSTER_SIZES)} (GB)",
    )
    check_stage_props(
        _Grouped(errors, scope, "stage", ("throttling_burst_limit", "cache_ttl", "web_acl_arn")),
        scope,
        throttling_rate_limit=stage.throttling_rate_limit,
        throttling_burst_limit=stage.throttling_burst_limit,
        cache_ttl=stage.cache_ttl,
        web_acl_arn=stage.web_acl_arn,
    )


def _validate_authorizers(
    errors: PropErrors,
    scope: Construct,
    default_authorization: AuthorizationMode,
    authorizers: ApiAuthorizers,
) -> None:
    given = {
        "COGNITO_USER_POOLS": bool(authorizers.user_pools),
        "TOKEN": authorizers.token_authorizer is not None,
        "REQUEST": authorizers.request_authorizer is not None,
        "JWT": authorizers.jwt_authorizer is not None,
    }
    errors.check(
        given.get(default_authorization.value, True),
        "default_authorization",
        missing_authorizer(default_authorization),
    )
    errors.check(
        default_authorization.value != "NONE",
        "default_authorization",
        "NONE would make every route public; authorize by default and pass "
        "authorization=AuthorizationMode.NONE with a public_reason on the routes that are public",
    )
    check_authorizer_props(
        _Grouped(
            errors,
            scope,
            "authorizers",
            ("token_identity_source", "request_identity_sources"),
            renamed={"authorizer_cache_ttl": "cache_ttl"},
        ),
        token_authorizer=authorizers.token_authorizer,
        token_identity_source=authorizers.token_identity_source,
        request_authorizer=authorizers.request_authorizer,
        request_identity_sources=authorizers.request_identity_sources,
        authorizer_cache_ttl=authorizers.cache_ttl,
    )


class _Grouped(PropErrors):
    """Records into `errors` the problems the shared checks report under flat prop names, renamed to
    their path in `group` (``cache_ttl`` -> ``stage.cache_ttl``), in the prop and in the text."""

    def __init__(
        self,
        errors: PropErrors,
        scope: Construct,
        group: str,
        props: Sequence[str],
        *,
        renamed: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope)  # never raises itself: `errors` does
        self._errors = errors
        self._paths = {prop: f"{group}.{prop}" for prop in props}
        self._paths.update({flat: f"{group}.{field}" for flat, field in (renamed or {}).items()})
        self._texts = dict(renamed or {})
        self._group = group

    def add(self, prop: str, problem: str) -> None:
        for flat, field in self._texts.items():
            problem = problem.replace(flat, f"{self._group}.{field}")
        self._errors.add(self._paths.get(prop, prop), problem)


def _validate_alarms(
    errors: PropErrors, scope: Construct, alarms: ApiAlarms, defaults: dict[str, AlarmDefault]
) -> None:
    # Thresholds without a topic would build alarms that notify no one: an error, not silence.
    errors.check(
        alarms.topic is not None or alarms.settings is not None,
        "alarms.topic",
        "the API's alarms are given without an alarm topic: pass alarms.topic (or AlarmSettings.topics in "
        "alarms.settings), or the alarms notify no one",
    )
    check_alarm_settings(
        _Grouped(errors, scope, "alarms", (), renamed={"alarm_settings": "settings", "alarm_topic": "topic"}),
        alarms.settings,
        defaults,
        alarms_on=True,
        topic=alarms.topic,
        what="the API's",
    )
    threshold = alarms.server_error_rate_threshold
    errors.check(
        not _concrete(threshold) or 0 < threshold < 1,
        "alarms.server_error_rate_threshold",
        f"{threshold} is a fraction of requests; use a value between 0 and 1",
    )
    check_token_unit(errors, "alarms.latency_p99_threshold", alarms.latency_p99_threshold, "millis")
