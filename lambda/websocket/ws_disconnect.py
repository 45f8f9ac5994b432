"""$disconnect route: delete the connection's item. Returns 200.

API Gateway calls $disconnect at most once and not always (a dropped network may skip it);
the table's TTL removes the items this handler never sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from ws_common import connection_id, connections_table, dynamodb, logger, metrics, ok

from constructs_lib.runtime.connections import connection_key
from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection = connection_id(event)
    dynamodb().delete_item(TableName=connections_table(), Key=connection_key(connection))
    metrics.add_metric(name="ConnectionsClosed", unit=MetricUnit.Count, value=1)
    logger.info("Connection deleted", extra={"connection_id": connection})
    return ok()
