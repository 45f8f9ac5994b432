"""The WebSocket $connect and $disconnect handlers against moto's DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
from moto import mock_aws

from tests.handlers.events import (
    FakeLambdaContext,
    create_id_keyed_table,
    emitted_metrics,
    load_handler_module,
    websocket_event,
)

ws_common = load_handler_module("websocket", "ws_common")
ws_connect = load_handler_module("websocket", "ws_connect")
ws_disconnect = load_handler_module("websocket", "ws_disconnect")

TABLE = "connections"
TTL_SECONDS = 7200


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONNECTIONS_TABLE", TABLE)
    monkeypatch.setenv("CONNECTION_TTL_SECONDS", str(TTL_SECONDS))
    with mock_aws():
        ws_common.dynamodb.cache_clear()
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_id_keyed_table(client, TABLE)
        yield client
    ws_common.dynamodb.cache_clear()


def items(table: Any) -> list[dict[str, Any]]:
    return list(table.scan(TableName=TABLE)["Items"])


def test_connection_item_shape() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)

    assert ws_connect.connection_item("abc=", now, 600) == {
        "id": {"S": "abc="},
        "timestamp": {"S": "2026-01-02T03:04:05.678Z"},
        "expiresAt": {"N": str(int(now.timestamp()) + 600)},
    }


def test_connection_item_timestamp_is_utc_whatever_the_clock_zone() -> None:
    local = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    assert ws_connect.connection_item("abc=", local, 600)["timestamp"] == {"S": "2026-01-02T03:04:05.000Z"}


def test_connect_stores_the_connection_with_its_expiry(table: Any) -> None:
    before = int(datetime.now(UTC).timestamp())

    response = ws_connect.handler(websocket_event("$connect", "Lx9s1dXoIAMCJkA="), FakeLambdaContext())

    after = int(datetime.now(UTC).timestamp())
    assert response["statusCode"] == 200
    [item] = items(table)
    assert item["id"] == {"S": "Lx9s1dXoIAMCJkA="}
    stored_at = datetime.fromisoformat(item["timestamp"]["S"])
    assert stored_at.utcoffset() == timedelta(0)
    assert before <= int(stored_at.timestamp()) <= after
    assert before + TTL_SECONDS <= int(item["expiresAt"]["N"]) <= after + TTL_SECONDS


def test_disconnect_deletes_the_connection(table: Any) -> None:
    ws_connect.handler(websocket_event("$connect", "keep"), FakeLambdaContext())
    ws_connect.handler(websocket_event("$connect", "leave"), FakeLambdaContext())

    response = ws_disconnect.handler(websocket_event("$disconnect", "leave"), FakeLambdaContext())

    assert response["statusCode"] == 200
    assert [item["id"]["S"] for item in items(table)] == ["keep"]


def test_disconnect_of_an_unknown_connection_succeeds(table: Any) -> None:
    # $disconnect may follow an expired item's TTL deletion; there is nothing left to do.
    response = ws_disconnect.handler(websocket_event("$disconnect", "never-stored"), FakeLambdaContext())

    assert response["statusCode"] == 200
    assert items(table) == []


def test_emits_opened_and_closed_counts(table: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ws_connect.handler(websocket_event("$connect", "conn"), FakeLambdaContext())
    assert emitted_metrics(capsys.readouterr().out) == {"ConnectionsOpened": 1}

    ws_disconnect.handler(websocket_event("$disconnect", "conn"), FakeLambdaContext())
    assert emitted_metrics(capsys.readouterr().out) == {"ConnectionsClosed": 1}


# The failed invocation emits no metric; Powertools warns about that, as it should.
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_a_storage_failure_rejects_the_connection(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTIONS_TABLE", "no-such-table")

    # API Gateway refuses the handshake when $connect fails, so no client waits for notifications
    # it would never get.
    with pytest.raises(table.exceptions.ResourceNotFoundException):
        ws_connect.handler(websocket_event("$connect", "conn"), FakeLambdaContext())


ws_default = load_handler_module("websocket", "ws_default")


def message_event(connection: str, body: str) -> dict[str, Any]:
    """A message no route takes, as the $default route receives it."""
    event = websocket_event("$connect", connection)
    event["requestContext"].update(routeKey="$default", eventType="MESSAGE")
    event["body"] = body
    return event


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            '{"action": "subscribe", "groupId": "g1"}',
            "Unknown action 'subscribe': this API takes no actions; it sends "
            '{"imageId": "<id>"} to every open connection when an image is uploaded.',
            id="unknown-action",
        ),
        pytest.param(
            "hello",
            "Messages are JSON objects with an 'action'; this API takes no actions; it sends "
            '{"imageId": "<id>"} to every open connection when an image is uploaded.',
            id="not-json",
        ),
        pytest.param(
            '["subscribe"]',
            "Messages are JSON objects with an 'action'; this API takes no actions; it sends "
            '{"imageId": "<id>"} to every open connection when an image is uploaded.',
            id="not-an-object",
        ),
    ],
)
def test_default_route_answers_unknown_messages_with_a_json_error(body: str, message: str) -> None:
    reply = ws_default.handler(message_event("abc=", body), FakeLambdaContext())

    assert reply["statusCode"] == 400
    assert json.loads(reply["body"]) == {"message": message}


def test_default_route_counts_unknown_messages(capsys: pytest.CaptureFixture[str]) -> None:
    ws_default.handler(message_event("abc=", "{}"), FakeLambdaContext())

    assert emitted_metrics(capsys.readouterr().out) == {"UnknownMessages": 1}
