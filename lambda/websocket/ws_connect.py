"""$connect route: store the connection so upload notifications reach it.

Stores `constructs_lib.runtime.connections.connection_item` (id, ISO-8601 UTC timestamp, expiresAt in
epoch seconds) in CONNECTIONS_TABLE; the table's TTL on ``expiresAt`` removes items of connections whose
$disconnect never ran. Returns 200, which accepts the connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from ws_common import (
    connection_id,
    connection_ttl_seconds,
    connections_table,
    dynamodb,
    logger,
    metrics,
    ok,
)

from constructs_lib.runtime.connections import connection_item
from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection = connection_id(event)
    item = connection_item(connection, datetime.now(UTC), connection_ttl_seconds())
    dynamodb().put_item(TableName=connections_table(), Item=item)
    metrics.add_metric(name="ConnectionsOpened", unit=MetricUnit.Count, value=1)
    logger.info("Connection stored", extra={"connection_id": connection})
    return ok()
