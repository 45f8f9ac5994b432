"""The connections table of a WebSocketApi: its item schema, for the construct and its handlers alike.

`WebSocketApi` keys the table on `CONNECTION_ID_ATTRIBUTE` with DynamoDB TTL on
`EXPIRES_AT_ATTRIBUTE`; `$connect` handlers write `connection_item`, and senders read the ids
back with `connection_id_of`. No CDK import: this module runs in Lambda.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

CONNECTION_ID_ATTRIBUTE = "id"  # the partition key: API Gateway's connectionId
CONNECTED_AT_ATTRIBUTE = "timestamp"  # ISO-8601 UTC, milliseconds
EXPIRES_AT_ATTRIBUTE = "expiresAt"  # epoch seconds, as DynamoDB TTL requires


def connection_item(connection_id: str, now: datetime, ttl_seconds: int) -> dict[str, dict[str, str]]:
    """The item of a connection opened at `now`, in DynamoDB's attribute-value form."""
    return {
        CONNECTION_ID_ATTRIBUTE: {"S": connection_id},
        CONNECTED_AT_ATTRIBUTE: {
            "S": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        },
        EXPIRES_AT_ATTRIBUTE: {"N": str(int(now.timestamp()) + ttl_seconds)},
    }


def connection_key(connection_id: str) -> dict[str, dict[str, str]]:
    """The table key of a connection (to delete it), in attribute-value form."""
    return {CONNECTION_ID_ATTRIBUTE: {"S": connection_id}}


def connection_id_of(item: Mapping[str, Mapping[str, str]]) -> str:
    """The connection id of an item read from the table."""
    return item[CONNECTION_ID_ATTRIBUTE]["S"]
