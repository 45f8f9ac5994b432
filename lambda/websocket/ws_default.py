"""$default route (two-way): answer a message no route takes with a JSON error.

The API takes no message actions: it only sends ``{"imageId": ...}`` to every open connection when
an image is uploaded. Any message a client sends is answered with ``{"message": ...}`` saying so,
and the connection stays open.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from ws_common import connection_id, logger, metrics

from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# The message actions this API routes (route keys other than $connect, $disconnect, $default).
ACTIONS: tuple[str, ...] = ()
_WHAT_IT_DOES = 'it sends {"imageId": "<id>"} to every open connection when an image is uploaded'


def unknown_message(body: str | None) -> str:
    """What to tell a client whose message no route takes."""
    try:
        message = json.loads(body or "")
    except ValueError:
        message = None
    action = message.get("action") if isinstance(message, dict) else None
    available = f"the actions are {', '.join(ACTIONS)}" if ACTIONS else "this API takes no actions"
    if isinstance(action, str) and action:
        return f"Unknown action '{action}': {available}; {_WHAT_IT_DOES}."
    return f"Messages are JSON objects with an 'action'; {available}; {_WHAT_IT_DOES}."


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="UnknownMessages", unit=MetricUnit.Count, value=1)
    logger.info("Unknown message", extra={"connection_id": connection_id(event)})
    return {"statusCode": 400, "body": json.dumps({"message": unknown_message(event.get("body"))})}
