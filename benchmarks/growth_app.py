"""Synth growth: the library's constructs repeated N times, one stack per repetition.

``python -m benchmarks.growth_app N`` builds N stacks, each holding a table (CompositeKeyTable),
a function (ServerlessFunction, the WebSocket handlers' folder as its code) and a REST API
(ServerlessApi) with two routes to it, and synthesizes them. One stack per repetition keeps each
template under CloudFormation's 500-resource limit.

``python -m benchmarks.growth_app N --plain`` builds the same unit from aws-cdk-lib's own L2s
(TableV2, Function with a log group, RestApi), as an app without the library would: a reference
for what L2 constructs themselves cost against CfnResource, not a budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from benchmarks.baseline_app import cdk_json_context
from constructs_lib import CompositeKeyTable, ServerlessApi, ServerlessFunction

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_CODE = ROOT / "lambda" / "websocket"
PARTITION_KEY = dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)


def _library_unit(stack: Stack) -> None:
    table = CompositeKeyTable(stack, "Table", partition_key=PARTITION_KEY)
    function = ServerlessFunction(
        stack,
        "Function",
        entry=FUNCTION_CODE,
        handler="ws_connect.handler",
        environment={"TABLE": table.table_name},
    )
    table.grant_read_data(function.function)
    api = ServerlessApi(stack, "Api")
    api.add_route("GET", "/items", function.function)
    api.add_route("GET", "/items/{id}", function.function)


def _plain_unit(stack: Stack) -> None:
    table = dynamodb.TableV2(
        stack,
        "Table",
        partition_key=PARTITION_KEY,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    function = lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="ws_connect.handler",
        code=lambda_.Code.from_asset(str(FUNCTION_CODE)),
        environment={"TABLE": table.table_name},
        log_group=logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.ONE_YEAR),
        tracing=lambda_.Tracing.ACTIVE,
        timeout=Duration.seconds(10),
    )
    table.grant_read_data(function)
    api = apigateway.RestApi(stack, "Api", deploy_options=apigateway.StageOptions(tracing_enabled=True))
    integration = apigateway.LambdaIntegration(function)
    items = api.root.add_resource("items")
    items.add_method("GET", integration)
    items.add_resource("{id}").add_method("GET", integration)


def build(repeats: int, *, plain: bool = False) -> App:
    app = App(context=cdk_json_context())
    unit = _plain_unit if plain else _library_unit
    for number in range(repeats):
        unit(Stack(app, f"Unit{number}", env=Environment(account="111111111111", region="us-east-1")))
    return app


if __name__ == "__main__":
    build(int(sys.argv[1]), plain="--plain" in sys.argv[2:]).synth()
