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


class RunningOutOfTime(FakeLambdaContext):
    """A context whose remaining time drops below the notifier's margin after `posts_allowed` checks."""

    def __init__(self, posts_allowed: int) -> None:
        super().__init__()
        self.checks = 0
        self.posts_allowed = posts_allowed

    def get_remaining_time_in_millis(self) -> int:
        self.checks += 1
        return 20_000 if self.checks <= self.posts_allowed else notifier.STOP_BEFORE_TIMEOUT_MS - 1


def test_posts_concurrently_but_never_more_than_the_configured_bound(
    connections: Any, endpoint: ConnectionsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_CONCURRENCY", "4")
    monkeypatch.setenv("NOTIFY_MAX_POSTS_PER_SECOND", "0")
    endpoint.delay = 0.05  # long enough for every worker to be waiting on the endpoint at once
    ids = [f"conn-{number:02}" for number in range(24)]
    connect(connections, *ids)

    outcome = invoke(sns_s3_event(BUCKET, "uploads/img-1"))

    assert outcome == {"sent": 24, "failed": 0, "removed": 0}
    assert sorted(connection_id for connection_id, _ in endpoint.posts) == ids
    assert endpoint.max_in_flight == 4


def test_removes_every_gone_connection_and_notifies_every_other_among_many(
    connections: Any, endpoint: ConnectionsEndpoint
) -> None:
    ids = [f"conn-{number:03}" for number in range(100)]
    gone = set(ids[::20])  # 5 %, as in the fan-out benchmark
    connect(connections, *ids)
    endpoint.gone.update(gone)

    outcome = invoke(sns_s3_event(BUCKET, "uploads/img-1", "uploads/img-2"))

    assert outcome == {"sent": 2 * 95, "failed": 0, "removed": 5}
    assert stored_ids(connections) == set(ids) - gone
    for image_id in ("img-1", "img-2"):
        notified = sorted(c for c, body in endpoint.posts if body == {"imageId": image_id})
        assert notified == sorted(set(ids) - gone)


def test_counts_each_failed_post_among_concurrent_ones(
    connections: Any, endpoint: ConnectionsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_CONCURRENCY", "8")
    ids = [f"conn-{number:02}" for number in range(40)]
    connect(connections, *ids)
    endpoint.forbidden.update(ids[:7])
    endpoint.gone.update(ids[7:10])

    outcome = invoke(sns_s3_event(BUCKET, "uploads/img-1"))

    assert outcome == {"sent": 30, "failed": 7, "removed": 3}


def test_posts_not_started_before_the_timeout_are_counted_and_logged(
    connections: Any,
    endpoint: ConnectionsEndpoint,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("NOTIFY_CONCURRENCY", "1")  # one at a time: the deadline cuts after exactly 3 posts
    ids = [f"conn-{number}" for number in range(8)]
    connect(connections, *ids)

    outcome = notifier.handler(sns_s3_event(BUCKET, "uploads/img-1"), RunningOutOfTime(posts_allowed=3))

    # Nothing dropped silently: every connection is either notified or counted and logged as failed.
    assert outcome == {"sent": 3, "failed": 5, "removed": 0}
    assert len(endpoint.posts) == 3
    not_notified: list[str] = [
        str(getattr(record, "connection_id", None))
        for record in caplog.records
        if record.levelname == "ERROR" and "time ran out" in record.getMessage()
    ]
    assert sorted(not_notified + [c for c, _ in endpoint.posts]) == ids


def test_rate_limiter_spaces_post_starts_across_threads() -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))

    limiter = notifier.RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
    now[0] = 102.0  # idle for a while: no burst beyond the rate is saved up
    limiter.wait()
    limiter.wait()

    assert sleeps == [0.25, 0.5, 0.75, 0.25]


def test_rate_limiter_with_no_cap_never_sleeps() -> None:
    sleeps: list[float] = []
    limiter = notifier.RateLimiter(0, sleep=sleeps.append)
    for _ in range(100):
        limiter.wait()
    assert sleeps == []


def test_fan_out_settings_default_and_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_CONCURRENCY", raising=False)
    monkeypatch.delenv("NOTIFY_MAX_POSTS_PER_SECOND", raising=False)
    assert notifier.FanOut.from_environment() == notifier.FanOut(concurrency=16, max_posts_per_second=1000)

    monkeypatch.setenv("NOTIFY_CONCURRENCY", "64")
    monkeypatch.setenv("NOTIFY_MAX_POSTS_PER_SECOND", "250")
    assert notifier.FanOut.from_environment() == notifier.FanOut(concurrency=64, max_posts_per_second=250)

    monkeypatch.setenv("NOTIFY_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="NOTIFY_CONCURRENCY must be at least 1 \\(got 0\\)"):
        notifier.FanOut.from_environment()


def test_the_management_client_pools_one_connection_per_posting_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = notifier._management_api("http://127.0.0.1:9/prod", 33)
    assert client.meta.config.max_pool_connections == 33
