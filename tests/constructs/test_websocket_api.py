"""WebSocketApi: routes, $connect authorizer, stage logging and throttling, connections table, grants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.websocket_api import WebSocketApi
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
PUBLIC_REASON = "A public demo feed: connecting reveals nothing and messages are read-only broadcasts."


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, WebSocketApi], dict[str, dict[str, Any]]]:
    app = new_app()
    chat_stack = new_stack(app, "Chat")
    chat = WebSocketApi(chat_stack, "Chat")
    functions = {
        name: ServerlessFunction(chat_stack, name, entry=ECHO, environment=chat.handler_environment).function
        for name in ("OnConnect", "OnDisconnect", "OnMessage", "OnSend", "Authorize")
    }
    chat.add_route("$connect", functions["OnConnect"], authorizer=functions["Authorize"])
    chat.add_route("$disconnect", functions["OnDisconnect"])
    chat.add_route("$default", functions["OnMessage"])
    chat.add_route("sendMessage", functions["OnSend"], return_response=True)
    chat.connections_table.grant_write_data(functions["OnConnect"])
    chat.connections_table.grant_write_data(functions["OnDisconnect"])
    chat.connections_table.grant_read_data(functions["OnSend"])
    chat.grant_manage_connections(functions["OnSend"])

    feed_stack = new_stack(app, "Feed")
    feed = WebSocketApi(
        feed_stack,
        "Feed",
        api_name="feed",
        description="Public feed",
        stage_name="live",
        route_selection_expression="$request.body.type",
        throttling_rate_limit=20,
        throttling_burst_limit=40,
        access_log_retention=logs.RetentionDays.ONE_MONTH,
        connection_ttl=Duration.minutes(30),
    )
    handler = ServerlessFunction(feed_stack, "Handler", entry=ECHO).function
    feed.add_route("$connect", handler, public_reason=PUBLIC_REASON)
    feed.add_route("$default", handler)
    return {"Chat": chat, "Feed": feed}, synth_templates(app)


@pytest.fixture(scope="module")
def templates(built: tuple[dict[str, WebSocketApi], dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return built[1]


@pytest.fixture(scope="module")
def chat(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Chat"])


@pytest.fixture(scope="module")
def feed(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Feed"])


def _route(template: Template, route_key: str) -> dict[str, Any]:
    (route,) = template.find_resources(
        "AWS::ApiGatewayV2::Route", {"Properties": {"RouteKey": route_key}}
    ).values()
    return dict(route["Properties"])


def _stage(template: Template) -> dict[str, Any]:
    (stage,) = template.find_resources("AWS::ApiGatewayV2::Stage").values()
    return dict(stage["Properties"])


def test_websocket_api_with_action_route_selection(chat: Template, feed: Template) -> None:
    chat.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )
    feed.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"Name": "feed", "Description": "Public feed", "RouteSelectionExpression": "$request.body.type"},
    )


def test_routes_use_lambda_proxy_integrations(chat: Template) -> None:
    for route_key in ("$connect", "$disconnect", "$default", "sendMessage"):
        assert _route(chat, route_key)["Target"]["Fn::Join"][1][0] == "integrations/"
    chat.resource_count_is("AWS::ApiGatewayV2::Integration", 4)
    chat.all_resources_properties("AWS::ApiGatewayV2::Integration", {"IntegrationType": "AWS_PROXY"})


def test_two_way_route(chat: Template) -> None:
    assert _route(chat, "sendMessage")["RouteResponseSelectionExpression"] == "$default"
    assert "RouteResponseSelectionExpression" not in _route(chat, "$default")


def test_connect_authorizer(chat: Template) -> None:
    connect = _route(chat, "$connect")
    assert connect["AuthorizationType"] == "CUSTOM"
    assert "Ref" in connect["AuthorizerId"]
    chat.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"AuthorizerType": "REQUEST", "IdentitySource": ["route.request.querystring.token"]},
    )
    for route_key in ("$disconnect", "$default"):
        assert _route(chat, route_key)["AuthorizationType"] == "NONE"


def test_public_connect_has_no_authorizer(feed: Template) -> None:
    assert _route(feed, "$connect")["AuthorizationType"] == "NONE"
    feed.resource_count_is("AWS::ApiGatewayV2::Authorizer", 0)


def test_stage_defaults(chat: Template) -> None:
    stage = _stage(chat)
    assert stage["StageName"] == "dev"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {
        "DataTraceEnabled": False,
        "DetailedMetricsEnabled": True,
        "LoggingLevel": "INFO",
        "ThrottlingBurstLimit": 200,
        "ThrottlingRateLimit": 100,
    }


def test_stage_options(feed: Template) -> None:
    stage = _stage(feed)
    assert stage["StageName"] == "live"
    assert (
        stage["DefaultRouteSettings"]["ThrottlingRateLimit"],
        stage["DefaultRouteSettings"]["ThrottlingBurstLimit"],
    ) == (
        20,
        40,
    )
    feed.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_json_access_logs_to_a_retained_log_group(chat: Template) -> None:
    access = _stage(chat)["AccessLogSettings"]
    fields = json.loads(access["Format"])
    for field in ("requestId", "connectionId", "eventType", "routeKey", "status", "authorizerError"):
        assert field in fields
    (log_group_id,) = access["DestinationArn"]["Fn::GetAtt"][:1]
    log_group = chat.find_resources("AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"


def test_connections_table_is_keyed_by_id_with_ttl_and_destroyed_with_the_stack(chat: Template) -> None:
    chat.has_resource(
        "AWS::DynamoDB::GlobalTable",
        {
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": Match.object_like(
                {
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                    "Replicas": [Match.object_like({"DeletionProtectionEnabled": False})],
                }
            ),
        },
    )


def test_handler_environment(built: tuple[dict[str, WebSocketApi], dict[str, dict[str, Any]]]) -> None:
    apis, _ = built
    chat = apis["Chat"]
    environment = Stack.of(chat).resolve(chat.handler_environment)
    assert set(environment) == {"CONNECTIONS_TABLE", "CONNECTIONS_ENDPOINT", "CONNECTION_TTL_SECONDS"}
    assert environment["CONNECTIONS_TABLE"]["Ref"].startswith("ChatConnectionsTable")
    endpoint = environment["CONNECTIONS_ENDPOINT"]["Fn::Join"][1]
    assert endpoint[0] == "https://"
    assert endpoint[1]["Ref"].startswith("ChatApi")
    assert endpoint[2:] == [".execute-api.us-east-1.", {"Ref": "AWS::URLSuffix"}, "/dev"]
    assert environment["CONNECTION_TTL_SECONDS"] == "7200"
    assert Stack.of(chat).resolve(chat.connection_management_url) == environment["CONNECTIONS_ENDPOINT"]
    assert apis["Feed"].handler_environment["CONNECTION_TTL_SECONDS"] == "1800"


def test_functions_receive_the_environment(chat: Template) -> None:
    functions = chat.find_resources("AWS::Lambda::Function")
    for function in functions.values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert set(variables) >= {"CONNECTIONS_TABLE", "CONNECTIONS_ENDPOINT", "CONNECTION_TTL_SECONDS"}


def test_grant_manage_connections_is_scoped_to_the_stage(chat: Template) -> None:
    chat.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "execute-api:ManageConnections",
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:aws:execute-api:us-east-1:111111111111:",
                                        {"Ref": Match.string_like_regexp("^ChatApi")},
                                        "/dev/*/@connections/*",
                                    ],
                                ]
                            },
                        }
                    ]
                )
            }
        },
    )
    statements = [
        statement
        for policy in chat.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "execute-api:ManageConnections"
    ]
    assert len(statements) == 1


def test_url_output(built: tuple[dict[str, WebSocketApi], dict[str, dict[str, Any]]]) -> None:
    apis, templates = built
    (output,) = [value for name, value in templates["Chat"]["Outputs"].items() if name.startswith("ChatUrl")]
    assert output["Value"] == Stack.of(apis["Chat"]).resolve(apis["Chat"].url)
    assert output["Value"]["Fn::Join"][1][0] == "wss://"


def test_routes_attribute(built: tuple[dict[str, WebSocketApi], dict[str, dict[str, Any]]]) -> None:
    apis, _ = built
    assert sorted(apis["Chat"].routes) == ["$connect", "$default", "$disconnect", "sendMessage"]


@pytest.mark.parametrize("name", ["Chat", "Feed"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], name: str) -> None:
    assert cfn_lint_findings(templates[name]) == []


@pytest.mark.parametrize("name", ["Chat", "Feed"])
def test_snapshot(templates: dict[str, dict[str, Any]], name: str, snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates[name]) == snapshot_json


# Bad input


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"stage_name": "a/b"}, "Test/Bad: stage_name: 'a/b' must be 1-128 letters"),
        ({"throttling_burst_limit": 10}, "throttling_burst_limit: 10 is below throttling_rate_limit 100"),
        (
            {"throttling_rate_limit": 0, "throttling_burst_limit": 0},
            "throttling_rate_limit: must be more than 0",
        ),
        ({"connection_ttl": Duration.seconds(30)}, "connection_ttl: must be between 1 minute and 7 days"),
        (
            {"route_selection_expression": "$request.header.x"},
            "route_selection_expression: '\\$request.header.x' must",
        ),
        (
            {"access_log_retention": logs.RetentionDays.INFINITE},
            "Test/Bad: access_log_retention: logs must expire",
        ),
    ],
)
def test_invalid_props(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebSocketApi(new_stack(new_app()), "Bad", **props)


@pytest.fixture
def socket() -> tuple[WebSocketApi, lambda_.IFunction]:
    stack = new_stack(new_app())
    handler = lambda_.Function.from_function_arn(
        stack, "Handler", "arn:aws:lambda:us-east-1:111111111111:function:h"
    )
    api = WebSocketApi(stack, "Socket")
    api.add_route("$default", handler)
    return api, handler


@pytest.mark.parametrize(
    ("route_key", "kwargs", "message"),
    [
        ("send message", {}, r"add_route\(send message\): route_key: 'send message' is neither"),
        ("$default", {}, r"route_key: \$default is already routed"),
        (
            "$disconnect",
            {"authorizer": True},
            r"authorizer: API Gateway runs WebSocket authorizers on \$connect only",
        ),
        ("$connect", {}, r"public_reason: a \$connect route without an authorizer lets anyone connect"),
        (
            "$disconnect",
            {"public_reason": "Why not."},
            r"public_reason: only an unauthorized \$connect route",
        ),
        (
            "$connect",
            {"public_reason": "Open.", "return_response": True},
            r"return_response: \$connect answers",
        ),
        (
            "$connect",
            {"authorizer": True, "identity_sources": ["token"]},
            "identity_sources: list at least one source",
        ),
    ],
)
def test_invalid_routes(
    socket: tuple[WebSocketApi, lambda_.IFunction], route_key: str, kwargs: dict[str, Any], message: str
) -> None:
    api, handler = socket
    if kwargs.get("authorizer") is True:
        kwargs = {**kwargs, "authorizer": handler}
    with pytest.raises(ValueError, match=message):
        api.add_route(route_key, handler, **kwargs)
