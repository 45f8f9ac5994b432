"""Synth growth: the library's constructs repeated N times, one stack per repetition.

``python -m benchmarks.growth_app N`` builds N stacks, each holding a table (CompositeKeyTable),
a function (ServerlessFunction, the WebSocket handlers' folder as its code) and a REST API
(ServerlessApi) with two routes to it, and synthesizes them. One stack per repetition keeps each
template under CloudFormation's 500-resource limit.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb

from benchmarks.baseline_app import cdk_json_context
from constructs_lib import CompositeKeyTable, ServerlessApi, ServerlessFunction

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_CODE = ROOT / "lambda" / "websocket"


def build(repeats: int) -> App:
    app = App(context=cdk_json_context())
    for number in range(repeats):
        stack = Stack(app, f"Unit{number}", env=Environment(account="111111111111", region="us-east-1"))
        table = CompositeKeyTable(
            stack, "Table", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
        )
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
    return app


if __name__ == "__main__":
    build(int(sys.argv[1])).synth()
