"""The upload notifier against moto's DynamoDB and a local connection management endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
from moto import mock_aws

from tests.handlers.events import (
    ConnectionsEndpoint,
    FakeLambdaContext,
    create_id_keyed_table,
    emitted_metrics,
    load_handler_module,
    sns_s3_event,
    sns_s3_test_event,
)

notifier = load_handler_module("notifier", "notifier")

TABLE = "connections"
BUCKET = "images-bucket"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ConnectionsEndpoint]:
    with ConnectionsEndpoint() as server:
        yield server


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch, endpoint: ConnectionsEndpoint) -> Iterator[Any]:
    """The connections table (moto), with the handler's environment pointing at it and at `endpoint`."""
    endpoint.reset()
    monkeypatch.setenv("IMAGE_STORE_UPLOAD_PREFIX", "uploads/")
    monkeypatch.setenv("CONNECTIONS_TABLE", TABLE)
    monkeypatch.setenv("CONNECTIONS_ENDPOINT", endpoint.url)
    with mock_aws():
        notifier._dynamodb.cache_clear()
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_id_keyed_table(client, TABLE)
        yield client
    notifier._dynamodb.cache_clear()


def connect(table: Any, *connection_ids: str, padding: int = 0) -> None:
    for connection_id in connection_ids:
        item = {"id": {"S": connection_id}, "timestamp": {"S": "2026-01-01T00:00:00.000Z"}}
        if padding:
            item["padding"] = {"S": "x" * padding}
        table.put_item(TableName=TABLE, Item=item)


def stored_ids(table: Any) -> set[str]:
    return {item["id"]["S"] for item in table.scan(TableName=TABLE)["Items"]}


def invoke(event: dict[str, Any]) -> dict[str, int]:
    result: dict[str, int] = notifier.handler(event, FakeLambdaContext())
    return result


def test_posts_the_image_id_to_every_open_connection(connections: Any, endpoint: ConnectionsEndpoint) -> None:
    connect(connections, "conn-a", "conn-b=", "conn-c")

    outcome = invoke(sns_s3_event(BUCKET, "uploads/img-1"))

    assert sorted(endpoint.posts) == [
        ("conn-a", {"imageId": "img-1"}),
        ("conn-b=", {"imageId": "img-1"}),
        ("conn-c", {"imageId": "img-1"}),
    ]
    assert outcome == {"sent": 3, "failed": 0, "removed": 0}


def test_sends_the_url_decoded_image_id(connections: Any, endpoint: ConnectionsEndpoint) -> None:
    connect(connections, "conn-a")

    invoke(sns_s3_event(BUCKET, "uploads/summer photo+1.png"))

    assert endpoint.posts == [("conn-a", {"imageId": "summer photo+1.png"})]


@pytest.mark.parametrize("send_error_type", [True, False], ids=["GoneException", "bare-410"])
def test_deletes_a_gone_connection(
    connections: Any, endpoint: ConnectionsEndpoint, send_error_type: bool
) -> None:
    connect(connections, "open", "gone")
    endpoint.gone.add("gone")
    endpoint.send_error_type = send_error_type

    outcome = invoke(sns_s3_event(BUCKET, "uploads/img-1", "uploads/img-2"))

    assert stored_ids(connections) == {"open"}
    # Posted once: a gone connection is not tried again for the event's next image.
    assert endpoint.posts == [("open", {"imageId": "img-1"}), ("open", {"imageId": "img-2"})]
    assert outcome == {"sent": 2, "failed": 0, "removed": 1}


def test_reads_every_page_of_the_connections_table(connections: Any, endpoint: ConnectionsEndpoint) -> None:
    # Five 300 KB items overflow DynamoDB's 1 MB scan page, so the scan needs a second page.
    ids = [f"conn-{number}" for number in range(5)]
    connect(connections, *ids, padding=300_000)
    first_page = connections.scan(TableName=TABLE)
    assert "LastEvaluatedKey" in first_page
    assert len(first_page["Items"]) < len(ids)

    invoke(sns_s3_event(BUCKET, "uploads/img-1"))

    assert sorted(connection_id for connection_id, _ in endpoint.posts) == ids


def test_a_failed_post_is_logged_and_the_others_still_delivered(
    connections: Any, endpoint: ConnectionsEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    connect(connections, "open", "refused")
    endpoint.forbidden.add("refused")

    outcome = invoke(sns_s3_event(BUCKET, "uploads/img-1"))

    assert outcome == {"sent": 1, "failed": 1, "removed": 0}
    assert endpoint.posts == [("open", {"imageId": "img-1"})]
    assert stored_ids(connections) == {"open", "refused"}
    assert [
        getattr(record, "connection_id", None) for record in caplog.records if record.levelname == "WARNING"
    ] == ["refused"]


def test_raises_when_every_post_failed(connections: Any, endpoint: ConnectionsEndpoint) -> None:
    connect(connections, "refused-1", "refused-2")
    endpoint.forbidden.update({"refused-1", "refused-2"})

    # Raised, so Lambda's asynchronous retries and then the dead-letter queue take over.
    with pytest.raises(notifier.NotificationError, match="all 2 notification posts failed"):
        invoke(sns_s3_event(BUCKET, "uploads/img-1"))


def test_raises_when_the_endpoint_is_unreachable(connections: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    connect(connections, "conn-a")
    monkeypatch.setenv("CONNECTIONS_ENDPOINT", "http://127.0.0.1:9/prod")  # the discard port: refused

    with pytest.raises(notifier.NotificationError, match="all 1 notification posts failed"):
        invoke(sns_s3_event(BUCKET, "uploads/img-1"))


def test_emits_sent_failed_and_removed_counts(
    connections: Any, endpoint: ConnectionsEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    connect(connections, "open", "gone", "refused")
    endpoint.gone.add("gone")
    endpoint.forbidden.add("refused")

    invoke(sns_s3_event(BUCKET, "uploads/img-1"))

    assert emitted_metrics(capsys.readouterr().out) == {
        "NotificationsSent": 1,
        "NotificationsFailed": 1,
        "ConnectionsRemoved": 1,
    }


def test_no_connections_is_not_an_error(connections: Any, endpoint: ConnectionsEndpoint) -> None:
    assert invoke(sns_s3_event(BUCKET, "uploads/img-1")) == {"sent": 0, "failed": 0, "removed": 0}
    assert endpoint.posts == []


def test_ignores_the_s3_test_event(connections: Any, endpoint: ConnectionsEndpoint) -> None:
    connect(connections, "conn-a")

    assert invoke(sns_s3_test_event(BUCKET)) == {"sent": 0, "failed": 0, "removed": 0}
    assert endpoint.posts == []


def test_ignores_keys_outside_the_upload_prefix_and_other_events(
    connections: Any, endpoint: ConnectionsEndpoint
) -> None:
    connect(connections, "conn-a")

    invoke(sns_s3_event(BUCKET, "private/secret", "uploads/"))
    invoke(sns_s3_event(BUCKET, "uploads/img-1", event_name="ObjectRemoved:Delete"))

    assert endpoint.posts == []
