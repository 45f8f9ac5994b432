"""The constructs every dashboard and metrics test stack starts with: an API, a WebSocket API and a
streamed table with a consumer, all alarming to one imported topic (nothing is synthesized here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns

from constructs_lib import ApiAlarms, CompositeKeyTable, ServerlessApi, ServerlessFunction, WebSocketApi

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


def add_apis_and_table(stack: Stack) -> dict[str, Any]:
    """The topic ("topic"), a REST API with one route ("api"), a WebSocket API ("sockets") and a
    streamed table with alarms and a consumer ("table"), in `stack`."""
    topic = sns.Topic.from_topic_arn(stack, "Alarms", TOPIC_ARN)
    api = ServerlessApi(stack, "Api", alarms=ApiAlarms(topic=topic))
    api.add_route("GET", "/items", ServerlessFunction(stack, "Items", entry=ECHO).function)
    sockets = WebSocketApi(stack, "Sockets")
    sockets.add_route("$default", ServerlessFunction(stack, "Echo", entry=ECHO).function)
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=True,
        alarms=True,
        alarm_topic=topic,
    )
    table.add_stream_consumer(ServerlessFunction(stack, "Indexer", entry=ECHO).function)
    return {"topic": topic, "api": api, "sockets": sockets, "table": table}
