"""The scheduled sweep of image items whose upload never arrived, against moto's DynamoDB and S3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest

from tests.handlers.conftest import IMAGES_BUCKET, IMAGES_TABLE, UPLOAD_URL_TTL, handler_module
from tests.handlers.events import FakeLambdaContext, emitted_metrics

repository = handler_module("repository")
sweep_uploads = handler_module("sweep_uploads")

pytestmark = pytest.mark.usefixtures("api_aws")

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
# The URL expired UPLOAD_URL_TTL seconds after the item was written; the grace covers a late upload.
DEADLINE = NOW - timedelta(seconds=UPLOAD_URL_TTL) - sweep_uploads.UPLOAD_GRACE
GROUP = "7d2f7a4e-0000-4000-8000-00000000000a"


@pytest.fixture(autouse=True)
def no_images() -> None:
    """Each test starts without image items or uploads (the moto account lives for the module)."""
    client = boto3.client("dynamodb")
    for item in client.scan(TableName=IMAGES_TABLE)["Items"]:
        client.delete_item(
            TableName=IMAGES_TABLE, Key={"groupId": item["groupId"], "timestamp": item["timestamp"]}
        )
    s3 = boto3.client("s3")
    for item in s3.list_objects_v2(Bucket=IMAGES_BUCKET).get("Contents", []):
        s3.delete_object(Bucket=IMAGES_BUCKET, Key=item["Key"])


def put_image(image_id: str, created: datetime, *, uploaded: bool) -> dict[str, str]:
    image = {
        "groupId": GROUP,
        "imageId": image_id,
        "title": f"Image {image_id}",
        "timestamp": repository.timestamp_of(created),
        "userId": "someone",
    }
    assert repository.put_image(image)
    if uploaded:
        boto3.client("s3").put_object(Bucket=IMAGES_BUCKET, Key=f"uploads/{image_id}", Body=b"jpeg")
    return image


def image_ids() -> set[str]:
    items = boto3.client("dynamodb").scan(TableName=IMAGES_TABLE)["Items"]
    return {item["imageId"]["S"] for item in items}


def test_deletes_only_old_items_without_their_upload() -> None:
    put_image("abandoned", DEADLINE - timedelta(seconds=1), uploaded=False)
    put_image("uploaded", DEADLINE - timedelta(hours=5), uploaded=True)
    put_image("url-still-valid", NOW - timedelta(seconds=UPLOAD_URL_TTL - 60), uploaded=False)
    put_image("within-grace", DEADLINE + timedelta(seconds=1), uploaded=False)

    result = sweep_uploads.sweep(NOW)

    assert result == sweep_uploads.SweepResult(checked=2, deleted=1, complete=True)
    assert image_ids() == {"uploaded", "url-still-valid", "within-grace"}


def test_an_upload_under_a_longer_key_does_not_count() -> None:
    put_image("abc", DEADLINE - timedelta(minutes=1), uploaded=False)
    boto3.client("s3").put_object(Bucket=IMAGES_BUCKET, Key="uploads/abcdef", Body=b"other image")

    assert sweep_uploads.sweep(NOW).deleted == 1
    assert image_ids() == set()


def test_sweeps_every_page() -> None:
    for index in range(30):
        put_image(f"old-{index}", DEADLINE - timedelta(minutes=index + 1), uploaded=index % 3 == 0)
    pages = []
    scan = repository.scan_images_created_before

    def small_pages(cutoff: str, *, start_key: Any) -> Any:
        page = scan(cutoff, start_key=start_key)
        pages.append(page)
        return page

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository, "scan_images_created_before", small_pages)
        patch.setattr(repository, "dynamodb", _limited_scans(repository.dynamodb(), limit=7))
        result = sweep_uploads.sweep(NOW)

    assert len(pages) > 1
    assert result == sweep_uploads.SweepResult(checked=30, deleted=20, complete=True)
    assert image_ids() == {f"old-{index}" for index in range(0, 30, 3)}


def test_stops_early_and_the_next_run_continues() -> None:
    for index in range(12):
        put_image(f"old-{index}", DEADLINE - timedelta(minutes=index + 1), uploaded=False)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository, "dynamodb", _limited_scans(repository.dynamodb(), limit=5))
        first = sweep_uploads.sweep(NOW, time_left_ms=lambda: sweep_uploads.STOP_MARGIN_MS - 1)
        assert first.complete is False
        assert 0 < first.deleted < 12
        second = sweep_uploads.sweep(NOW)

    assert second.complete is True
    assert first.deleted + second.deleted == 12
    assert image_ids() == set()


def test_an_item_replaced_meanwhile_is_kept() -> None:
    image = put_image("first", DEADLINE - timedelta(minutes=1), uploaded=False)

    assert repository.delete_image({**image, "imageId": "someone-else"}) is False
    assert image_ids() == {"first"}


def test_handler_reports_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    put_image("abandoned", datetime.now(UTC) - timedelta(days=1), uploaded=False)
    put_image("kept", datetime.now(UTC) - timedelta(days=1), uploaded=True)
    capsys.readouterr()

    reply = sweep_uploads.handler({}, FakeLambdaContext())

    assert reply == {"checked": 2, "deleted": 1, "complete": True}
    assert emitted_metrics(capsys.readouterr().out)["AbandonedImagesDeleted"] == 1
    assert image_ids() == {"kept"}


class _limited_scans:  # noqa: N801 - stands in for a function returning a client
    """The DynamoDB client with Scan pages of at most `limit` items, to exercise pagination."""

    def __init__(self, client: Any, *, limit: int) -> None:
        self._client = client
        self._limit = limit

    def __call__(self) -> Any:
        return self

    def scan(self, **request: Any) -> Any:
        return self._client.scan(Limit=self._limit, **request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
