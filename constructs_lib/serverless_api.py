"""ServerlessApi: an API Gateway REST API whose CORS survives errors, with validation and authorizers.

Creates: one `RestApi` with a deployment and a named stage, a JSON access-log group, one request
validator (body and parameters), and per route a Lambda integration, optionally a request model;
with CORS, an OPTIONS preflight on every resource and CORS headers on the DEFAULT_4XX and
DEFAULT_5XX gateway responses; BAD_REQUEST_BODY and BAD_REQUEST_PARAMETERS responses that carry the
validator's explanation; on demand authorizers (Cognito user pools, Lambda token or request, a
JwtAuthorizer for any OIDC provider), usage plans with API keys, a custom domain, a WAF association
and alarms.

Defaults: regional endpoint; stage `dev` with JSON access logs kept for one year, X-Ray tracing,
method metrics, INFO execution logs and throttling at 100 requests/s (burst 200); routes authorized
with IAM unless told otherwise; no account-wide API Gateway CloudWatch role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Stack, assertions
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from constructs_lib import _metrics, _openapi
from constructs_lib._api_alarms import ALARMS, stage_alarms
from constructs_lib._api_authorizers import AUTHORIZATION_TYPES, Authorizers
from constructs_lib._api_common import rest_access_log_format
from constructs_lib._api_gateway_responses import add_gateway_responses
from constructs_lib._api_integrations import (
    JSON_CONTENT_TYPE,
    check_workflow_route,
    lambda_mapped_integration,
    workflow_integration,
)
from constructs_lib._api_paths import route_id
from constructs_lib._api_private import private_api_policy
from constructs_lib._api_scanners import (
    acknowledge_cloud_watch_role,
    acknowledge_rest_stage,
    acknowledge_route,
)
from constructs_lib._api_settings import (
    ApiAlarms,
    ApiAuthorizers,
    ApiStage,
    CustomDomain,
    domain_name_options,
    validate,
)
from constructs_lib._api_validation import check_route, stage_usage_plan
from constructs_lib._logs import retained_log_group
from constructs_lib._validation import PropErrors
from constructs_lib.cors_policy import DEFAULT_CORS_HEADERS as DEFAULT_CORS_HEADERS  # noqa: PLC0414
from constructs_lib.cors_policy import DEFAULT_CORS_MAX_AGE as DEFAULT_CORS_MAX_AGE  # noqa: PLC0414
from constructs_lib.cors_policy import DEFAULT_CORS_METHODS as DEFAULT_CORS_METHODS  # noqa: PLC0414
from constructs_lib.cors_policy import CorsPolicy as CorsPolicy  # noqa: PLC0414 -- importable here, as before
from constructs_lib.serverless_function import invocation_target

if TYPE_CHECKING:
    from constructs_lib.workflow import Workflow


class AuthorizationMode(Enum):
    """How a route authenticates callers."""

    NONE = "NONE"  # public: needs a `public_reason`
    IAM = "AWS_IAM"  # SigV4-signed requests; grant callers with `grant_invoke`
    COGNITO = "COGNITO_USER_POOLS"  # an ID or access token of one of `user_pools`
    # A Lambda authorizer given the Authorization header (`token_authorizer`); a mode, not a secret.
    TOKEN = "TOKEN"  # noqa: S105
    REQUEST = "REQUEST"  # Lambda authorizer given headers, query and context (`request_authorizer`)
    JWT = "JWT"  # a bearer token of any OIDC identity provider, checked by `jwt_authorizer`


@dataclass(frozen=True)
class _Route:
    """A validated route, as its integration needs it."""

    verb: str
    path: str
    mode: AuthorizationMode
    path_parameters: list[str]


class ServerlessApi(Construct):
    """A REST API whose defaults are right for browser and service clients alike.

    `endpoint_type` picks edge-optimized, regional (default) or private; a private API needs
    `vpc_endpoints` (interface endpoints for ``execute-api``) and gets a resource policy that
    allows ``execute-api:Invoke`` through them only and denies every other source.

    `cors` configures the OPTIONS preflight on every resource and the same headers on API
    Gateway's own 4XX/5XX responses (authorizer, validator and throttling rejections), so
    browsers can read those errors; `cors_environment` carries the policy to handlers
    (CORS_ALLOW_ORIGINS, CORS_ALLOW_HEADERS, CORS_ALLOW_CREDENTIALS, CORS_MAX_AGE) so proxy
    responses carry matching headers. With several origins the gateway responses echo the
    request's Origin header (API Gateway cannot choose among a list there); the preflight and
    the handlers answer only the listed origins.

    Routes come from `add_route`. Authorizers are created on first use from `authorizers`
    (`ApiAuthorizers`): `user_pools` for `AuthorizationMode.COGNITO`, `token_authorizer` for TOKEN,
    `request_authorizer` for REQUEST, `jwt_authorizer` (a `JwtAuthorizer`: Auth0, Okta, Entra ID,
    Google...) for JWT. `default_authorization` (IAM) applies to routes that do not name a mode.

    The props are grouped as aws-cdk-lib groups a RestApi's `deployOptions`: `stage` (`ApiStage`:
    name, throttling, access log retention, cache, WAF web ACL), `custom_domain` (`CustomDomain`),
    `authorizers` (`ApiAuthorizers`) and `alarms` (`ApiAlarms`); each holds the defaults.

    The stage logs execution at INFO and writes access logs, which API Gateway can only do once
    the region's account settings name a CloudWatch role. That role is account-wide, so by
    default this construct does not create one (a second API would overwrite the first's);
    set `cloud_watch_role=True` in exactly one stack per account and region, or configure it
    once outside CDK.

    Attributes: `api` (the `RestApi`), `stage`, `url`, `access_log_group`, `request_validator`,
    `cors_environment`, `alarms`, and `domain` (the custom `DomainName`, or None).

    Alarms (with `alarms`, which need `alarms.topic` or `AlarmSettings.topics`; `alarms.settings`
    changes them by name; `ALARMS` holds the defaults): ``server_error_rate`` (critical: more than
    `alarms.server_error_rate_threshold` of requests fail with 5XX) and ``latency_p99`` (warning:
    p99 over `alarms.latency_p99_threshold`, in milliseconds), each in 2 of 3 five-minute periods.
    Missing data is healthy: no requests, nothing failed.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_type: apigw.EndpointType = apigw.EndpointType.REGIONAL,
        vpc_endpoints: Sequence[ec2.IVpcEndpoint] = (),
        cors: CorsPolicy | None = None,
        default_authorization: AuthorizationMode = AuthorizationMode.IAM,
        authorizers: ApiAuthorizers | None = None,
        api_name: str | None = None,
        description: str | None = None,
        stage: ApiStage | None = None,
        cloud_watch_role: bool = False,
        custom_domain: CustomDomain | None = None,
        alarms: ApiAlarms | None = None,
    ) -> None:
        stage = stage or ApiStage()
        self._stage_name = stage.name
        authorizers = authorizers or ApiAuthorizers()
        errors = PropErrors(scope, construct_id)
        validate(
            errors,
            scope,
            endpoint_type=endpoint_type,
            vpc_endpoints=vpc_endpoints,
            cors=cors,
            default_authorization=default_authorization,
            stage=stage,
            custom_domain=custom_domain,
            authorizers=authorizers,
            alarms=alarms,
            alarm_defaults=ALARMS,
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self._cors = cors
        self._default_authorization = default_authorization
        self._authorizers = Authorizers(
            self,
            user_pools=authorizers.user_pools,
            token_function=authorizers.token_authorizer,
            token_identity_source=authorizers.token_identity_source,
            request_function=authorizers.request_authorizer,
            request_identity_sources=authorizers.request_identity_sources,
            jwt_authorizer=authorizers.jwt_authorizer,
            cache_ttl=authorizers.cache_ttl,
        )
        self._routes: set[tuple[str, str]] = set()
        self._root: apigw.IResource | None = None  # read once from jsii, by the first route
        # One proxy integration per function, whatever its routes (each binds its own permission), by
        # id(function), with the function kept so the id is never reused.
        self._proxy_integrations: dict[int, tuple[lambda_.IFunction, apigw.LambdaIntegration]] = {}
        self.cors_environment: dict[str, str] = cors.environment() if cors else {}
        self.alarms: list[cloudwatch.Alarm] = []
        # Each builder creates into this construct under the ids it always had, so logical ids
        # do not depend on how the props are grouped; the order is the template's resource order.
        builders: list[Callable[[], None]] = [
            lambda: self._build_rest_api(
                endpoint_type=endpoint_type,
                vpc_endpoints=vpc_endpoints,
                api_name=api_name,
                description=description,
                stage=stage,
                cloud_watch_role=cloud_watch_role,
                custom_domain=custom_domain,
            ),
            lambda: add_gateway_responses(self.api, self._cors),
            lambda: self._build_web_acl(stage),
            lambda: self._build_alarms(alarms),
        ]
        for build in builders:
            build()

    def _build_rest_api(
        self,
        *,
        endpoint_type: apigw.EndpointType,
        vpc_endpoints: Sequence[ec2.IVpcEndpoint],
        api_name: str | None,
        description: str | None,
        stage: ApiStage,
        cloud_watch_role: bool,
        custom_domain: CustomDomain | None,
    ) -> None:
        """The access log group, the RestApi with its stage and custom domain, the request validator."""
        private = endpoint_type == apigw.EndpointType.PRIVATE
        cors = self._cors
        self.access_log_group = retained_log_group(self, "AccessLogs", retention=stage.access_log_retention)
        caching = stage.cache_cluster_size is not None
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=api_name,
            description=description,
            endpoint_configuration=apigw.EndpointConfiguration(
                types=[endpoint_type], vpc_endpoints=list(vpc_endpoints) or None
            ),
            policy=private_api_policy(vpc_endpoints) if private else None,
            cloud_watch_role=cloud_watch_role,
            default_cors_preflight_options=cors.preflight() if cors else None,
            domain_name=domain_name_options(custom_domain, endpoint_type) if custom_domain else None,
            deploy_options=apigw.StageOptions(
                stage_name=stage.name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=rest_access_log_format(),
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                # Full request and response bodies in logs would leak user data and tokens.
                data_trace_enabled=False,
                throttling_rate_limit=stage.throttling_rate_limit,
                throttling_burst_limit=stage.throttling_burst_limit,
                cache_cluster_enabled=caching,
                cache_cluster_size=stage.cache_cluster_size,
                caching_enabled=caching,
                cache_ttl=stage.cache_ttl if caching else None,
                cache_data_encrypted=True if caching else None,
            ),
        )
        self.stage: apigw.Stage = self.api.deployment_stage
        # Without a custom domain the RestApi has none: not asked of jsii.
        self.domain: apigw.DomainName | None = self.api.domain_name if custom_domain else None
        self.request_validator = apigw.RequestValidator(
            self,
            "RequestValidator",
            rest_api=self.api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        if cloud_watch_role:
            acknowledge_cloud_watch_role(self.api.node.find_child("CloudWatchRole"))

    def _build_web_acl(self, stage: ApiStage) -> None:
        """The stage's WAF association, and the stage's scanner acknowledgments that depend on it."""
        if stage.web_acl_arn:
            wafv2.CfnWebACLAssociation(
                self, "WebAclAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=stage.web_acl_arn
            )
        acknowledge_rest_stage(
            self.stage, web_acl=bool(stage.web_acl_arn), caching=stage.cache_cluster_size is not None
        )

    def _build_alarms(self, alarms: ApiAlarms | None) -> None:
        """The stage's alarms (validation made sure they notify someone)."""
        if alarms is not None:
            self.alarms += stage_alarms(self, alarms)

    @property
    def url(self) -> str:
        """The stage's invoke URL (also the stack output `Endpoint`)."""
        return self.api.url

    def openapi_document(self, *, title: str | None = None, version: str = "1.0.0") -> dict[str, Any]:
        """The OpenAPI 3.0 document of this API, read from its stack's synthesized template.

        Every route (CORS preflights included) with its path, query and header parameters, request
        models as schema components, security schemes (``cognito``, ``jwt`` as OpenID Connect,
        ``lambdaAuthorizer``, ``sigv4``, ``apiKey``) and the ``{"message"}`` error responses.
        It synthesizes the stack's app (seconds): call it once every route is added, from a
        script or a test (`make openapi` writes the reference app's).
        """
        stack = Stack.of(self)
        template = assertions.Template.from_stack(stack).to_json()
        cfn_api = self.api.node.default_child
        assert isinstance(cfn_api, apigw.CfnRestApi)
        return _openapi.openapi_document(
            template,
            api_logical_id=stack.get_logical_id(cfn_api),
            title=title or self.node.path,
            version=version,
        )

    def add_route(
        self,
        method: str,
        path: str,
        function: lambda_.IFunction,
        *,
        authorization: AuthorizationMode | None = None,
        public_reason: str | None = None,
        authorization_scopes: Sequence[str] = (),
        api_key_required: bool = False,
        request_schema: Mapping[str, Any] | None = None,
        required_query_parameters: Sequence[str] = (),
        required_headers: Sequence[str] = (),
        request_templates: Mapping[str, str] | None = None,
        response_templates: Mapping[str, str] | None = None,
    ) -> apigw.Method:
        """Route `method` on `path` (e.g. ``/groups/{id}``) to `function` and return the Method.

        A Lambda proxy integration unless `request_templates` or `response_templates` (VTL by
        content type) are given: then a non-proxy integration whose Lambda errors become a 500.
        `authorization` defaults to the API's `default_authorization`; NONE requires
        `public_reason`, one sentence saying why the route may be public (it becomes the
        cdk-nag acknowledgment). `request_schema` is a JSON Schema draft-04 dict for the JSON
        body; path parameters, `required_query_parameters` and `required_headers` are required.
        The request validator checks body and parameters before the function runs.
        """

        def integrate(_route: _Route) -> tuple[apigw.Integration, list[apigw.MethodResponse] | None]:
            if request_templates is None and response_templates is None:
                return self._proxy_integration(function), None
            return lambda_mapped_integration(
                invocation_target(function), self._cors, request_templates or {}, response_templates or {}
            )

        return self._add_method(
            "add_route",
            method,
            path,
            integrate,
            authorization=authorization,
            public_reason=public_reason,
            authorization_scopes=authorization_scopes,
            api_key_required=api_key_required,
            request_schema=request_schema,
            required_query_parameters=required_query_parameters,
            required_headers=required_headers,
        )

    def _proxy_integration(self, function: lambda_.IFunction) -> apigw.LambdaIntegration:
        """The Lambda proxy integration of `function` (a ServerlessFunction's live alias, when it has one),
        made once for all its routes: aws-cdk-lib binds it to each method, permission included."""
        known = self._proxy_integrations.get(id(function))
        if known is None or known[0] is not function:
            integration = apigw.LambdaIntegration(
                invocation_target(function), proxy=True, allow_test_invoke=False
            )
            known = self._proxy_integrations[id(function)] = (function, integration)
        return known[1]

    def add_workflow_route(
        self,
        method: str,
        path: str,
        workflow: Workflow,
        *,
        authorization: AuthorizationMode | None = None,
        public_reason: str | None = None,
        authorization_scopes: Sequence[str] = (),
        api_key_required: bool = False,
        request_schema: Mapping[str, Any] | None = None,
        required_query_parameters: Sequence[str] = (),
        required_headers: Sequence[str] = (),
        error_statuses: Mapping[str, int] | None = None,
        success_status: int | None = None,
    ) -> apigw.Method:
        """Route `method` on `path` to Step Functions itself, starting `workflow` (no function in between).

        A Standard workflow is started with StartExecution and the route answers 202
        ``{"executionId": "<execution ARN>"}``; an Express workflow runs with StartSyncExecution
        and the route answers 200 with its output, or, when it failed with an error named in
        `error_statuses` (e.g. ``{"GroupNotFound": 404}``), that status and ``{"message": <cause>}``;
        any other failure is a 500 ``{"message": "Internal server error"}`` with the CORS headers.
        `success_status` (2XX) replaces the 202 or 200 (an Express workflow that starts a longer one
        answers 202 with what it started, say).
        The execution input is ``{"body": <the JSON body, with request_schema>, "path": {...},
        "query": {<required_query_parameters>}, "caller": "<the Cognito sub, the Lambda authorizer's
        principalId or the IAM caller's ARN>"}``. API Gateway starts it with a role of its own that
        may start only this workflow. Validation and authorization are those of `add_route`.
        """
        statuses = dict(error_statuses or {})

        def check(errors: PropErrors) -> None:
            check_workflow_route(
                errors, express=workflow.express, error_statuses=statuses, success_status=success_status
            )

        def integrate(route: _Route) -> tuple[apigw.Integration, list[apigw.MethodResponse] | None]:
            return workflow_integration(
                self,
                route_id(route.verb, route.path),
                workflow,
                cors=self._cors,
                authorization=route.mode.value,
                body=request_schema is not None,
                path_parameters=route.path_parameters,
                query_parameters=list(required_query_parameters),
                error_statuses=statuses,
                success_status=success_status,
            )

        return self._add_method(
            "add_workflow_route",
            method,
            path,
            integrate,
            check=check,
            authorization=authorization,
            public_reason=public_reason,
            authorization_scopes=authorization_scopes,
            api_key_required=api_key_required,
            request_schema=request_schema,
            required_query_parameters=required_query_parameters,
            required_headers=required_headers,
        )

    def _add_method(
        self,
        call: str,
        method: str,
        path: str,
        integrate: Callable[[_Route], tuple[apigw.Integration, list[apigw.MethodResponse] | None]],
        *,
        check: Callable[[PropErrors], None] | None = None,
        authorization: AuthorizationMode | None,
        public_reason: str | None,
        authorization_scopes: Sequence[str],
        api_key_required: bool,
        request_schema: Mapping[str, Any] | None,
        required_query_parameters: Sequence[str],
        required_headers: Sequence[str],
    ) -> apigw.Method:
        """The route's validation, model, parameters, authorizer and acknowledgments, around `integrate`."""
        verb = method.upper()
        mode = authorization or self._default_authorization
        errors = PropErrors(self, f"{call}({verb} {path})")
        path_parameters, schema = check_route(
            errors,
            method=method,
            path=path,
            mode=mode,
            cors=self._cors is not None,
            routes=self._routes,
            authorized=self._authorizers.available(mode),
            public_reason=public_reason,
            authorization_scopes=authorization_scopes,
            required_query_parameters=required_query_parameters,
            required_headers=required_headers,
            request_schema=request_schema,
        )
        if check is not None:
            check(errors)
        errors.raise_if_any()
        self._routes.add((verb, path))

        if self._root is None:
            self._root = self.api.root
        resource = self._root.resource_for_path(path)
        request_models: dict[str, apigw.IModel] | None = None
        if schema is not None:
            model = apigw.Model(
                self,
                f"{route_id(verb, path)}Model",
                rest_api=self.api,
                content_type=JSON_CONTENT_TYPE,
                description=f"Request body of {verb} {path}",
                schema=schema,
            )
            request_models = {JSON_CONTENT_TYPE: model}
        request_parameters = {
            **{f"method.request.path.{name}": True for name in path_parameters},
            **{f"method.request.querystring.{name}": True for name in required_query_parameters},
            **{f"method.request.header.{name}": True for name in required_headers},
        }
        integration, method_responses = integrate(_Route(verb, path, mode, path_parameters))
        added = resource.add_method(
            verb,
            integration,
            authorization_type=AUTHORIZATION_TYPES[mode.value],
            authorizer=self._authorizers.get(mode),
            authorization_scopes=list(authorization_scopes) or None,
            api_key_required=api_key_required,
            request_models=request_models,
            request_parameters=request_parameters or None,
            request_validator=self.request_validator,
            method_responses=method_responses,
        )
        acknowledge_route(
            added,
            f"{verb} {path}",
            public_reason=public_reason if mode == AuthorizationMode.NONE else None,
            authorized_with=None if mode == AuthorizationMode.COGNITO else f"{mode.name} ({mode.value})",
        )
        return added

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
        by_name: bool = False,
    ) -> cloudwatch.Metric:
        """The stage's AWS/ApiGateway metric `metric_name` (dimensions ``ApiName`` and ``Stage``), over
        `period` (five minutes by default): every alarm and dashboard graph of this API gets it here.

        `by_name`: the dimensions are the API's and the stage's names as written, not references to the
        API and the stage, for an alarm that rolls back deployments of a function this API invokes (by
        reference, the stage's methods reference the function's alias, whose deployment group references
        the alarm: a cycle CloudFormation refuses)."""
        names = {"ApiName": self.api.rest_api_name, "Stage": self._stage_name} if by_name else None
        return _metrics.rest_api_stage(self.stage).metric(
            metric_name, statistic=statistic, period=period, label=label, dimensions=names
        )

    def metric_count(
        self, *, statistic: str = "SampleCount", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Requests to the stage, counted (``SampleCount``, as aws-cdk-lib's: each request is one sample)."""
        return self.metric("Count", statistic=statistic, period=period, label=label)

    def metric_client_error(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Requests answered 4XX, summed (``Average``: the rate)."""
        return self.metric("4XXError", statistic=statistic, period=period, label=label)

    def metric_server_error(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Requests answered 5XX, summed (``Average``: the rate, the ``server_error_rate`` alarm's)."""
        return self.metric("5XXError", statistic=statistic, period=period, label=label)

    def metric_latency(
        self, *, statistic: str = "Average", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Time from request to response (milliseconds), on average (``p99``: the ``latency_p99`` alarm's)."""
        return self.metric("Latency", statistic=statistic, period=period, label=label)

    def metric_integration_latency(
        self, *, statistic: str = "Average", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Time the backends took (milliseconds), on average."""
        return self.metric("IntegrationLatency", statistic=statistic, period=period, label=label)

    def grant_invoke(self, grantee: iam.IGrantable, method: str = "*", path: str = "/*") -> iam.Grant:
        """Allow `grantee` to call `method` on `path` of this stage (for IAM-authorized routes)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[self.api.arn_for_execute_api(method, path, self.stage.stage_name)],
        )

    def add_usage_plan(
        self,
        construct_id: str,
        *,
        rate_limit: int,
        burst_limit: int,
        quota_limit: int | None = None,
        quota_period: apigw.Period = apigw.Period.MONTH,
    ) -> apigw.UsagePlan:
        """A usage plan for this stage with its own throttling and optional quota per API key."""
        return stage_usage_plan(
            self,
            construct_id,
            rate_limit=rate_limit,
            burst_limit=burst_limit,
            quota_limit=quota_limit,
            quota_period=quota_period,
        )

    def add_api_key(self, construct_id: str, *, usage_plan: apigw.UsagePlan) -> apigw.IApiKey:
        """An API key (value generated by API Gateway) enrolled in `usage_plan`."""
        key = self.api.add_api_key(construct_id)
        usage_plan.add_api_key(key)
        return key
