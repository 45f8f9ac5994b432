"""WebSocketApi: an API Gateway WebSocket API with a connections table and a stage-scoped grant.

Creates: one `aws_apigatewayv2.WebSocketApi` with a named stage (JSON access logs to a log group,
INFO execution logs, throttling, route metrics), a connections table (a `CompositeKeyTable`,
partition key `id`, TTL attribute `expiresAt`), and per `add_route` call a Lambda integration,
with an optional Lambda request authorizer on `$connect`.

Defaults: stage `dev`; throttling at 100 messages/s (burst 200); access logs kept for one year;
connection items expire 2 hours after they are written (API Gateway's maximum connection
duration); the connections table is destroyed with the stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache

import jsii
from aws_cdk import CfnOutput, Duration, RemovalPolicy, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib import _metrics, _resolved, compliance
from constructs_lib._api_common import REQUEST_LOG_FIELDS, STAGE_NAME_PATTERN
from constructs_lib._api_scanners import acknowledge_invoke_permissions
from constructs_lib._grants import default_policy
from constructs_lib._logs import DEFAULT_LOG_RETENTION, check_retention, retained_log_group
from constructs_lib._nag import acknowledge_wildcard_resource
from constructs_lib._validation import PropErrors, check_whole_seconds
from constructs_lib.composite_key_table import CompositeKeyTable
from constructs_lib.jwt_authorizer import JwtAuthorizer
from constructs_lib.runtime import environment as env
from constructs_lib.runtime.connections import CONNECTION_ID_ATTRIBUTE, EXPIRES_AT_ATTRIBUTE
from constructs_lib.serverless_function import invocation_target

DEFAULT_STAGE_NAME = "dev"
# Per stage, like ServerlessApi: one chatty client cannot use up the account's shared quota.
DEFAULT_THROTTLING_RATE_LIMIT = 100
DEFAULT_THROTTLING_BURST_LIMIT = 200
# API Gateway closes every WebSocket connection after 2 hours, so an item older than that is stale
# even when its $disconnect never arrived; TTL removes it without a sweeper.
DEFAULT_CONNECTION_TTL = _resolved.hours(2)
MIN_CONNECTION_TTL = _resolved.minutes(1)
MAX_CONNECTION_TTL = _resolved.days(7)
# Browsers cannot set headers on a WebSocket handshake, so a token travels in the query string.
DEFAULT_CONNECT_IDENTITY_SOURCES = ("route.request.querystring.token",)
DEFAULT_ROUTE_SELECTION_EXPRESSION = "$request.body.action"
DEFAULT_METRIC_PERIOD = _resolved.minutes(5)  # CloudWatch's default period for AWS metrics
SPECIAL_ROUTES = ("$connect", "$disconnect", "$default")

_ROUTE_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_ACCESS_LOG_FIELDS = {
    **REQUEST_LOG_FIELDS,
    "connectionId": "$context.connectionId",
    "eventType": "$context.eventType",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "errorMessage": "$context.error.message",
    "errorType": "$context.error.responseType",
    "authorizerError": "$context.authorizer.error",
    "principalId": "$context.authorizer.principalId",
}


class WebSocketApi(Construct):
    """A WebSocket API whose handlers share one connections table and a scoped management grant.

    Route with `add_route`: ``$connect``, ``$disconnect``, ``$default`` or a custom action (chosen
    by `route_selection_expression`, ``$request.body.action`` by default). Only ``$connect`` takes
    an `authorizer` (a Lambda request authorizer, given ``route.request.querystring.token`` by
    default); a ``$connect`` route without one needs a `public_reason`.

    Handlers get their configuration from `handler_environment` (CONNECTIONS_TABLE,
    CONNECTIONS_ENDPOINT, CONNECTION_TTL_SECONDS): create the functions after this construct and
    pass it as their environment. Grant access with `connections_table.grant_write_data` (connect
    and disconnect handlers), `connections_table.grant_read_data`, and `grant_manage_connections`
    (post to, read and delete connections of this stage only).

    The connections table holds connection ids, which die with their connections within 2 hours;
    nothing in it outlives a deployment, so it is destroyed with the stack (RemovalPolicy.DESTROY,
    no deletion protection) instead of being left behind as an orphan.

    Execution and access logging need the region's API Gateway CloudWatch role, as for
    ServerlessApi (see its `cloud_watch_role`).

    Attributes: `api` (the `WebSocketApi`), `stage` (`WebSocketStage`), `connections_table`,
    `access_log_group`, `connection_management_url`, `url` (wss://), `handler_environment`,
    `routes`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str | None = None,
        description: str | None = None,
        stage_name: str = DEFAULT_STAGE_NAME,
        route_selection_expression: str = DEFAULT_ROUTE_SELECTION_EXPRESSION,
        throttling_rate_limit: int = DEFAULT_THROTTLING_RATE_LIMIT,
        throttling_burst_limit: int = DEFAULT_THROTTLING_BURST_LIMIT,
        access_log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        connection_ttl: Duration = DEFAULT_CONNECTION_TTL,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        errors.check(
            bool(STAGE_NAME_PATTERN.match(stage_name)),
            "stage_name",
            f"'{stage_name}' must be 1-128 letters, digits, hyphens or underscores",
        )
        # Durations and numbers from tokens (CfnParameters) are not judged: they resolve at deploy.
        rate_known = not _resolved.is_unresolved_number(throttling_rate_limit)
        burst_known = not _resolved.is_unresolved_number(throttling_burst_limit)
        errors.check(
            not rate_known or throttling_rate_limit > 0,
            "throttling_rate_limit",
            "must be more than 0 messages/s",
        )
        errors.check(
            not (rate_known and burst_known) or throttling_burst_limit >= throttling_rate_limit,
            "throttling_burst_limit",
            f"{throttling_burst_limit} is below throttling_rate_limit {throttling_rate_limit}; "
            "the burst must hold at least one second of the steady rate",
        )
        ttl_millis = check_whole_seconds(
            errors,
            "connection_ttl",
            connection_ttl,
            within=(
                _resolved.to_milliseconds(MIN_CONNECTION_TTL),
                _resolved.to_milliseconds(MAX_CONNECTION_TTL),
                "must be between 1 minute and 7 days; connections live at most 2 hours",
            ),
        )
        # AWS::ApiGatewayV2::Stage RouteSettings ThrottlingBurstLimit is an Integer.
        errors.check(
            not burst_known or throttling_burst_limit == int(throttling_burst_limit),
            "throttling_burst_limit",
            f"{throttling_burst_limit} is not a whole number of messages",
        )
        errors.check(
            route_selection_expression.startswith("$request.body."),
            "route_selection_expression",
            f"'{route_selection_expression}' must select a field of the JSON message, "
            "like '$request.body.action'",
        )
        check_retention(errors, "access_log_retention", access_log_retention)
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self._routes: dict[str, apigwv2.WebSocketRoute] = {}
        self._stage_name = stage_name
        self.connection_ttl = connection_ttl
        self.connections_table = CompositeKeyTable(
            self,
            "Connections",
            partition_key=dynamodb.Attribute(
                name=CONNECTION_ID_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            time_to_live_attribute=EXPIRES_AT_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
            deletion_protection=False,
            disposable_data_reason="Connection ids die with their connections within 2 hours; "
            "nothing in this table outlives a deployment.",
        )
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=api_name,
            description=description,
            route_selection_expression=route_selection_expression,
        )
        self._path = self.to_string()  # this construct's path, in one jsii call
        self.access_log_group = retained_log_group(
            self, "AccessLogs", retention=access_log_retention, scope_path=self._path
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            detailed_metrics_enabled=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttling_rate_limit, burst_limit=throttling_burst_limit
            ),
            access_log_settings=_AccessLogSettings(self.access_log_group),
        )
        # The L2 stage has no execution-log setting; INFO without message bodies, as on REST stages.
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.add_property_override("DefaultRouteSettings.LoggingLevel", "INFO")
        cfn_stage.add_property_override("DefaultRouteSettings.DataTraceEnabled", False)

        CfnOutput(self, "Url", value=self.stage.url, description=f"WebSocket URL of {self._path}")

        self.handler_environment: dict[str, str] = {
            env.CONNECTIONS_TABLE: self.connections_table.table_name,
            env.CONNECTIONS_ENDPOINT: self.connection_management_url,
            env.CONNECTION_TTL_SECONDS: Token.as_string(connection_ttl.to_seconds())
            if ttl_millis is None
            else str(int(ttl_millis // 1000)),
        }

    @property
    def url(self) -> str:
        """The wss:// URL clients connect to."""
        return self.stage.url

    @property
    def connection_management_url(self) -> str:
        """The https:// URL of this stage's @connections management API, for handlers."""
        return self.stage.callback_url

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration = DEFAULT_METRIC_PERIOD,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """An AWS/ApiGateway metric of this API's stage (dimensions ``ApiId`` and ``Stage``): every
        dashboard graph of this API gets its metric here."""
        return _metrics.websocket_stage(self.stage).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def metric_connect_count(
        self, *, statistic: str = "Sum", period: Duration = DEFAULT_METRIC_PERIOD, label: str | None = None
    ) -> cloudwatch.Metric:
        """Connections opened ($connect requests), summed."""
        return self.metric("ConnectCount", statistic=statistic, period=period, label=label)

    def metric_message_count(
        self, *, statistic: str = "Sum", period: Duration = DEFAULT_METRIC_PERIOD, label: str | None = None
    ) -> cloudwatch.Metric:
        """Messages sent to and from the API, summed."""
        return self.metric("MessageCount", statistic=statistic, period=period, label=label)

    def metric_client_error(
        self, *, statistic: str = "Sum", period: Duration = DEFAULT_METRIC_PERIOD, label: str | None = None
    ) -> cloudwatch.Metric:
        """Requests answered 4XX, summed."""
        return self.metric("ClientError", statistic=statistic, period=period, label=label)

    def metric_integration_error(
        self, *, statistic: str = "Sum", period: Duration = DEFAULT_METRIC_PERIOD, label: str | None = None
    ) -> cloudwatch.Metric:
        """Requests whose backend answered 4XX/5XX, summed."""
        return self.metric("IntegrationError", statistic=statistic, period=period, label=label)

    def metric_execution_error(
        self, *, statistic: str = "Sum", period: Duration = DEFAULT_METRIC_PERIOD, label: str | None = None
    ) -> cloudwatch.Metric:
        """Requests that failed in API Gateway itself, summed."""
        return self.metric("ExecutionError", statistic=statistic, period=period, label=label)

    def metric_integration_latency(
        self,
        *,
        statistic: str = "Average",
        period: Duration = DEFAULT_METRIC_PERIOD,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """Time the backends took (milliseconds), on average."""
        return self.metric("IntegrationLatency", statistic=statistic, period=period, label=label)

    @property
    def routes(self) -> dict[str, apigwv2.WebSocketRoute]:
        """The routes added so far, by route key."""
        return dict(self._routes)

    def add_route(
        self,
        route_key: str,
        handler: lambda_.IFunction,
        *,
        authorizer: lambda_.IFunction | JwtAuthorizer | None = None,
        identity_sources: Sequence[str] = DEFAULT_CONNECT_IDENTITY_SOURCES,
        public_reason: str | None = None,
        return_response: bool = False,
    ) -> apigwv2.WebSocketRoute:
        """Route `route_key` to `handler` through a Lambda integration and return the route.

        `authorizer` (``$connect`` only) is a Lambda request authorizer reading `identity_sources`,
        or a `JwtAuthorizer`, which reads the token from its `token_query_parameter` (a browser
        cannot set headers on the handshake, so the token travels in the URL, where proxies and
        access logs may record it: use short-lived access tokens).
        A ``$connect`` route without one is open to anyone who knows the URL: say why in
        `public_reason` (it becomes the cdk-nag acknowledgment). `return_response` sends the
        handler's return value back to the client (two-way route).
        """
        errors = PropErrors(self, f"add_route({route_key})")
        errors.check(
            route_key in SPECIAL_ROUTES or bool(_ROUTE_KEY.match(route_key)),
            "route_key",
            f"'{route_key}' is neither {', '.join(SPECIAL_ROUTES)} nor an action name of letters, "
            "digits, '_', '.', ':' or '-'",
        )
        errors.check(
            route_key not in self._routes,
            "route_key",
            f"{route_key} is already routed; each route key is added once",
        )
        connect = route_key == "$connect"
        errors.check(
            authorizer is None or connect,
            "authorizer",
            "API Gateway runs WebSocket authorizers on $connect only; later messages use the "
            "connection authorized there",
        )
        errors.check(
            not connect or authorizer is not None or bool(public_reason and public_reason.strip()),
            "public_reason",
            "a $connect route without an authorizer lets anyone connect; pass an authorizer, or say in "
            "one sentence why the API may be public (it becomes the cdk-nag acknowledgment)",
        )
        errors.check(
            public_reason is None or (connect and authorizer is None),
            "public_reason",
            "only an unauthorized $connect route takes a reason; authorization applies to $connect",
        )
        errors.check(
            not connect or not return_response,
            "return_response",
            "$connect answers with the handshake status only; return responses from message routes",
        )
        errors.check(
            bool(identity_sources)
            and all(source.startswith("route.request.") for source in identity_sources),
            "identity_sources",
            "list at least one source like 'route.request.querystring.token' or 'route.request.header.Auth'",
        )
        errors.raise_if_any()

        route_id = _route_id(route_key)
        authorizer_function = (
            authorizer.function.function if isinstance(authorizer, JwtAuthorizer) else authorizer
        )
        if (
            isinstance(authorizer, JwtAuthorizer)
            and tuple(identity_sources) == DEFAULT_CONNECT_IDENTITY_SOURCES
        ):
            identity_sources = (f"route.request.querystring.{authorizer.token_query_parameter}",)
        route = self.api.add_route(
            route_key,
            integration=integrations.WebSocketLambdaIntegration(
                f"{route_id}Integration", invocation_target(handler)
            ),
            authorizer=authorizers.WebSocketLambdaAuthorizer(
                "ConnectAuthorizer", authorizer_function, identity_source=list(identity_sources)
            )
            if authorizer_function is not None
            else None,
            return_response=return_response or None,
        )
        self._routes[route_key] = route
        acknowledge_invoke_permissions(route, f"route {route_key} of this WebSocket API")
        if connect and authorizer is None:
            compliance.acknowledge(
                route,
                reason=str(public_reason),
                cdk_nag=["AwsSolutions-APIG4"],
                control_tower=["api_gw_v2_authorization_type_configured_check"],
            )
        elif not connect:
            compliance.acknowledge(
                route,
                reason=f"API Gateway accepts an authorizer only on $connect; {route_key} messages arrive on "
                "a connection that $connect already authorized.",
                cdk_nag=["AwsSolutions-APIG4"],
                control_tower=["api_gw_v2_authorization_type_configured_check"],
            )
        return route

    def grant_manage_connections(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to post to, read and delete connections of this API's stage only."""
        grant = self.stage.grant_management_api_access(grantee)
        policy = default_policy(grantee)
        if policy is not None:
            for statement in grant.principal_statements:
                for resource in statement.resources:
                    acknowledge_wildcard_resource(
                        policy,
                        resource,
                        "Connection ids are only known at run time: the wildcard covers the connections "
                        f"of stage {self._stage_name} of {self._path} and nothing else.",
                    )
        return grant


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Access logs as JSON (one object per request) to `log_group`."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return _access_log_format()


@cache
def _access_log_format() -> apigw.AccessLogFormat:
    """The stage's JSON access log format: one immutable jsii object, made once per process."""
    return apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS))


def _route_id(route_key: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", route_key)
    return "".join(word[:1].upper() + word[1:] for word in words)
