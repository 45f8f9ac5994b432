"""What the WebSocket route handlers share: Powertools utilities, the DynamoDB client, settings.

Environment: CONNECTIONS_TABLE, CONNECTION_TTL_SECONDS (from WebSocketApi.handler_environment).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, TypeVar

import boto3  # type: ignore[import-untyped,unused-ignore]
from aws_lambda_powertools import Logger, Metrics

from constructs_lib.runtime import environment as env

if TYPE_CHECKING:
    pass

# Powertools reads POWERTOOLS_METRICS_NAMESPACE; the app's namespace is the fallback, never an error.
METRICS_NAMESPACE = os.environ.get(env.POWERTOOLS_METRICS_NAMESPACE, "ImageSharing")

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
T = TypeVar("T")


@functools.cache
def dynamodb() -> Any:
    # Created on first use, once per container: imports stay cheap and tests can point it anywhere.
    return boto3.client("dynamodb")


def connections_table() -> str:
    return env.require(env.CONNECTIONS_TABLE)


def connection_ttl_seconds() -> int:
    return env.require_int(env.CONNECTION_TTL_SECONDS)


def connection_id(event: dict[str, Any]) -> str:
    value: str = event["requestContext"]["connectionId"]
    return value


def ok() -> dict[str, Any]:
    """The route response: API Gateway completes the handshake (or the close) on any 2xx."""
    return {"statusCode": 200, "body": ""}
