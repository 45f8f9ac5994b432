"""Upload notifier: subscriber of the image store's upload topic (SNS, invoked asynchronously).

For every S3 ObjectCreated record under the upload prefix it sends ``{"imageId": "<id>"}``
to every connection stored in the WebSocket API's connections table, through the API
Gateway management API. A connection that is gone (HTTP 410) is deleted from the table.

Fan-out: posts run on a bounded pool of threads (NOTIFY_CONCURRENCY, default 16), sharing
one management API client whose connection pool has exactly that many connections, and all
threads together start at most NOTIFY_MAX_POSTS_PER_SECOND posts per second (default 1,000).
A post mostly waits on the network, so 16 in flight notify 10,000 connections in about
12.5 s when each post takes 20 ms, within the function's 30 s timeout. Each post also costs
about a millisecond of CPU (signing, serializing, parsing), which is why the function gets a
full vCPU (1,769 MB in app.py) and why more threads would not help without more CPU. The rate cap exists
because API Gateway's account-level request quota (10,000 per second by default, per
region) is shared by every API of the account: 1,000 per second leaves nine tenths of it
to the REST API's users. Within the function rather than through a queue: one event, one
scan, no second resource to operate, and no duplicates from a queue's retries; a queue
becomes worth it when one invocation can no longer post to every connection before its
timeout (about 250,000 connections at these defaults).

Failure policy: a notification is best effort and must not be sent twice to connections
that already got it. So a failed post (other than 410) is logged and counted, and the
invocation succeeds as long as at least one post was delivered; a retry would re-send to
everyone. When posts were attempted and none was delivered, the endpoint or the
function's permissions are broken (or throttled): the handler raises, Lambda retries the
event asynchronously, and the function's dead-letter queue keeps it if the retries fail.
When the invocation's remaining time runs short, the posts not yet started are not
attempted: each is logged and counted as failed, never dropped silently.

Environment: IMAGE_STORE_UPLOAD_PREFIX, CONNECTIONS_TABLE, CONNECTIONS_ENDPOINT,
NOTIFY_CONCURRENCY (optional), NOTIFY_MAX_POSTS_PER_SECOND (optional, 0 = no cap).
Metrics: NotificationsSent, NotificationsFailed, ConnectionsRemoved.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3  # type: ignore[import-untyped,unused-ignore]
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.runtime import environment as env
from constructs_lib.runtime import image_keys
from constructs_lib.runtime.connections import CONNECTION_ID_ATTRIBUTE, connection_id_of, connection_key
from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

DEFAULT_CONCURRENCY = 16  # posts in flight: 10,000 connections x 20 ms / 16 = 12.5 s of a 30 s timeout
DEFAULT_MAX_POSTS_PER_SECOND = 1000  # a tenth of API Gateway's default account-level quota per region
# Posts not started when less than this is left would risk the timeout (retries, slow answers).
STOP_BEFORE_TIMEOUT_MS = 5_000
GONE_STATUS = 410  # API Gateway's answer for a connection that no longer exists
# Powertools reads POWERTOOLS_METRICS_NAMESPACE; the app's namespace is the fallback, never an error.
METRICS_NAMESPACE = os.environ.get(env.POWERTOOLS_METRICS_NAMESPACE, "ImageSharing")

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


class NotificationError(Exception):
    """Every attempted post failed: the event is worth retrying."""


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    removed: int = 0


@dataclass(frozen=True)
class FanOut:
    """How many posts may be in flight at once, and how many may start per second (0: no cap)."""

    concurrency: int = DEFAULT_CONCURRENCY
    max_posts_per_second: float = DEFAULT_MAX_POSTS_PER_SECOND

    @classmethod
    def from_environment(cls) -> FanOut:
        concurrency = int(os.environ.get("NOTIFY_CONCURRENCY", DEFAULT_CONCURRENCY))
        rate = float(os.environ.get("NOTIFY_MAX_POSTS_PER_SECOND", DEFAULT_MAX_POSTS_PER_SECOND))
        if concurrency < 1 or rate < 0:
            raise ValueError(
                f"NOTIFY_CONCURRENCY must be at least 1 (got {concurrency}) and "
                f"NOTIFY_MAX_POSTS_PER_SECOND at least 0 (got {rate:g})"
            )
        return cls(concurrency=concurrency, max_posts_per_second=rate)


class RateLimiter:
    """Spaces the starts of posts at least 1/rate seconds apart, across threads."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


@functools.cache
def _dynamodb() -> Any:
    # Created on first use, once per container: imports stay cheap and tests can point it anywhere.
    # Every posting thread may delete a gone connection: one pooled connection each.
    pool_size = FanOut.from_environment().concurrency
    return boto3.client("dynamodb", config=Config(max_pool_connections=pool_size))


@functools.cache
def _management_api(endpoint: str, pool_size: int) -> Any:
    # One connection per thread, kept open between posts; fail fast on one stuck connection.
    config = Config(
        connect_timeout=2,
        read_timeout=3,
        retries={"mode": "standard", "max_attempts": 2},
        max_pool_connections=pool_size,
    )
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=config)


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
                image_ids.append(image_keys.image_id_of(upload_prefix, key))
            else:
                logger.warning("Ignoring a key outside the upload prefix", extra={"key": key})
    return image_ids


def open_connections(table_name: str) -> Iterator[str]:
    """Every connection id in the table, page by page."""
    pages = (
        _dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName=table_name,
            ProjectionExpression="#id",
            ExpressionAttributeNames={"#id": CONNECTION_ID_ATTRIBUTE},
        )
    )
    for page in pages:
        for item in page["Items"]:
            yield connection_id_of(item)


def _is_gone(error: ClientError) -> bool:
    response = error.response
    return bool(
        response.get("Error", {}).get("Code") == "GoneException"
        or response.get("ResponseMetadata", {}).get("HTTPStatusCode") == GONE_STATUS
    )


def _remove_connection(table_name: str, connection_id: str) -> None:
    try:
        _dynamodb().delete_item(TableName=table_name, Key=connection_key(connection_id))
    except (BotoCoreError, ClientError):
        # The item stays until its TTL or the next notification finds it gone again.
        logger.exception("Could not delete a gone connection", extra={"connection_id": connection_id})


class _Notifier:
    """One event's posts: each worker thread posts, and removes a connection it finds gone."""

    def __init__(
        self, *, endpoint: str, table_name: str, fan_out: FanOut, deadline: Callable[[], bool]
    ) -> None:
        self.client = _management_api(endpoint, fan_out.concurrency)
        self.table_name = table_name
        self.fan_out = fan_out
        self.limiter = RateLimiter(fan_out.max_posts_per_second)
        self.deadline = deadline
        self.outcome = Outcome()
        self.gone: set[str] = set()
        self._lock = threading.Lock()

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.outcome, field, getattr(self.outcome, field) + 1)

    def post(self, connection_id: str, payload: bytes) -> None:
        if self.deadline():
            self._count("failed")
            logger.error(
                "Not notified: the invocation's time ran out", extra={"connection_id": connection_id}
            )
            return
        self.limiter.wait()
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=payload)
        except ClientError as error:
            if _is_gone(error):
                with self._lock:
                    self.gone.add(connection_id)
                _remove_connection(self.table_name, connection_id)
                self._count("removed")
                logger.info("Removed a gone connection", extra={"connection_id": connection_id})
                return
            self._count("failed")
            logger.warning(
                "Could not notify a connection", extra={"connection_id": connection_id, "error": str(error)}
            )
        except BotoCoreError as error:
            self._count("failed")
            logger.warning(
                "Could not reach the connection endpoint",
                extra={"connection_id": connection_id, "error": str(error)},
            )
        else:
            self._count("sent")


def notify(
    image_ids: Sequence[str],
    connection_ids: Sequence[str],
    *,
    endpoint: str,
    table_name: str,
    fan_out: FanOut = FanOut(),
    deadline: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Post each image id to each connection, `fan_out.concurrency` at a time; delete connections gone.

    `deadline()` turns true when no further post should start; those posts count as failed.
    """
    notifier = _Notifier(endpoint=endpoint, table_name=table_name, fan_out=fan_out, deadline=deadline)
    live = list(connection_ids)
    with ThreadPoolExecutor(max_workers=fan_out.concurrency, thread_name_prefix="notify") as pool:
        for image_id in image_ids:
            payload = json.dumps({"imageId": image_id}).encode()
            # Each image's posts finish before the next image's: a gone connection is not tried again.
            list(pool.map(notifier.post, live, itertools.repeat(payload)))
            live = [connection_id for connection_id in live if connection_id not in notifier.gone]
    return notifier.outcome


@logger.inject_lambda_context
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    image_ids = uploaded_image_ids(event, env.require(env.IMAGE_STORE_UPLOAD_PREFIX))
    outcome = Outcome()
    if image_ids:
        table_name = env.require(env.CONNECTIONS_TABLE)
        outcome = notify(
            image_ids,
            list(open_connections(table_name)),
            endpoint=env.require(env.CONNECTIONS_ENDPOINT),
            table_name=table_name,
            fan_out=FanOut.from_environment(),
            deadline=lambda: context.get_remaining_time_in_millis() < STOP_BEFORE_TIMEOUT_MS,
        )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=outcome.sent)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=outcome.failed)
    metrics.add_metric(name="ConnectionsRemoved", unit=MetricUnit.Count, value=outcome.removed)
    logger.info("Notified connections", extra={"image_ids": image_ids, **asdict(outcome)})
    if outcome.failed and not outcome.sent:
        raise NotificationError(f"all {outcome.failed} notification posts failed; see the warnings above")
    return asdict(outcome)
