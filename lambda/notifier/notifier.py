"""Upload notifier: subscriber of the image store's upload topic (SNS, invoked asynchronously).

For every S3 ObjectCreated record under the upload prefix it sends ``{"imageId": "<id>"}``
to every connection stored in the WebSocket API's connections table, through the API
Gateway management API. A connection that is gone (HTTP 410) is deleted from the table.

Failure policy: a notification is best effort and must not be sent twice to connections
that already got it. So a failed post (other than 410) is logged and counted, and the
invocation succeeds as long as at least one post was delivered; a retry would re-send to
everyone. When posts were attempted and none was delivered, the endpoint or the
function's permissions are broken (or throttled): the handler raises, Lambda retries the
event asynchronously, and the function's dead-letter queue keeps it if the retries fail.

Environment: IMAGE_STORE_UPLOAD_PREFIX, CONNECTIONS_TABLE, CONNECTIONS_ENDPOINT.
Metrics: NotificationsSent, NotificationsFailed, ConnectionsRemoved.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

import boto3  # type: ignore[import-untyped,unused-ignore]
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Fail fast on one stuck connection: the function has 10 s for all posts of the event.
MANAGEMENT_API_CONFIG = Config(
    connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2}
)
GONE_STATUS = 410  # API Gateway's answer for a connection that no longer exists
# Powertools reads POWERTOOLS_METRICS_NAMESPACE; the app's namespace is the fallback, never an error.
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ImageSharing")

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
T = TypeVar("T")


class NotificationError(Exception):
    """Every attempted post failed: the event is worth retrying."""


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    removed: int = 0


@functools.cache
def _dynamodb() -> Any:
    # Created on first use, once per container: imports stay cheap and tests can point it anywhere.
    return boto3.client("dynamodb")


@functools.cache
def _management_api(endpoint: str) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=MANAGEMENT_API_CONFIG)


def uploaded_image_ids(event: dict[str, Any], upload_prefix: str) -> list[str]:
    """The image ids (keys without the upload prefix) of the ObjectCreated records of an SNS event."""
    image_ids = []
    for record in event.get("Records", []):
        message = json.loads(record["Sns"]["Message"])
        # The S3 test event (sent when the notification is configured) has no Records.
        for s3_record in message.get("Records", []):
            if not s3_record.get("eventName", "").startswith("ObjectCreated:"):
                continue
            key = unquote_plus(s3_record["s3"]["object"]["key"])
            if key.startswith(upload_prefix) and key != upload_prefix:
                image_ids.append(key.removeprefix(upload_prefix))
            else:
                logger.warning("Ignoring a key outside the upload prefix", extra={"key": key})
    return image_ids


def open_connections(table_name: str) -> Iterator[str]:
    """Every connection id in the table, page by page."""
    pages = (
        _dynamodb()
        .get_paginator("scan")
        .paginate(TableName=table_name, ProjectionExpression="#id", ExpressionAttributeNames={"#id": "id"})
    )
    for page in pages:
        for item in page["Items"]:
            yield item["id"]["S"]


def _is_gone(error: ClientError) -> bool:
    response = error.response
    return bool(
        response.get("Error", {}).get("Code") == "GoneException"
        or response.get("ResponseMetadata", {}).get("HTTPStatusCode") == GONE_STATUS
    )


def _remove_connection(table_name: str, connection_id: str) -> None:
    try:
        _dynamodb().delete_item(TableName=table_name, Key={"id": {"S": connection_id}})
    except (BotoCoreError, ClientError):
        # The item stays until its TTL or the next notification finds it gone again.
        logger.exception("Could not delete a gone connection", extra={"connection_id": connection_id})


def notify(
    image_ids: Sequence[str], connection_ids: Sequence[str], *, endpoint: str, table_name: str
) -> Outcome:
    """Post each image id to each connection; delete connections that are gone."""
    client = _management_api(endpoint)
    outcome = Outcome()
    live = list(connection_ids)
    for image_id in image_ids:
        payload = json.dumps({"imageId": image_id}).encode()
        for connection_id in list(live):
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=payload)
                outcome.sent += 1
            except ClientError as error:
                if not _is_gone(error):
                    outcome.failed += 1
                    logger.warning(
                        "Could not notify a connection",
                        extra={"connection_id": connection_id, "error": str(error)},
                    )
                    continue
                live.remove(connection_id)
                _remove_connection(table_name, connection_id)
                outcome.removed += 1
                logger.info("Removed a gone connection", extra={"connection_id": connection_id})
            except BotoCoreError as error:
                outcome.failed += 1
                logger.warning(
                    "Could not reach the connection endpoint",
                    extra={"connection_id": connection_id, "error": str(error)},
                )
    return outcome


@logger.inject_lambda_context
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    image_ids = uploaded_image_ids(event, os.environ["IMAGE_STORE_UPLOAD_PREFIX"])
    outcome = Outcome()
    if image_ids:
        table_name = os.environ["CONNECTIONS_TABLE"]
        outcome = notify(
            image_ids,
            list(open_connections(table_name)),
            endpoint=os.environ["CONNECTIONS_ENDPOINT"],
            table_name=table_name,
        )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=outcome.sent)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=outcome.failed)
    metrics.add_metric(name="ConnectionsRemoved", unit=MetricUnit.Count, value=outcome.removed)
    logger.info("Notified connections", extra={"image_ids": image_ids, **asdict(outcome)})
    if outcome.failed and not outcome.sent:
        raise NotificationError(f"all {outcome.failed} notification posts failed; see the warnings above")
    return asdict(outcome)
