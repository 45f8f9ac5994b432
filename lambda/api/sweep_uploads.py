"""Scheduled sweep (a ScheduledJob): delete image items whose upload never arrived.

POST /groups/{groupId}/images writes the image item and hands out a presigned PUT URL valid for
IMAGE_STORE_UPLOAD_URL_TTL seconds; the file then arrives at IMAGE_STORE_UPLOAD_PREFIX + imageId
in IMAGE_STORE_BUCKET. An item older than that lifetime plus UPLOAD_GRACE (an upload started just
before the URL expired may still be arriving) whose object does not exist can never get its image:
the sweep deletes it, so listings stop showing images that will never load. Nothing else refers to
it: no thumbnail exists without an upload, and the table stream's REMOVE deletes its search document.

Each run scans the images table page by page and stops early, leaving the rest to the next run,
when less than STOP_MARGIN_MS of its time remains. Errors a retry can fix (throttling, outages) are
raised: Lambda retries the run, then sends it to the function's dead-letter queue.

Role: read and write the images table, list the upload prefix of the images bucket.
Metrics: AbandonedImagesDeleted.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import repository
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from constructs_lib.runtime import environment as env
from constructs_lib.runtime import image_keys
from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# An upload the client started just before its URL expired may take this long to finish (a 20 MB
# file over a slow mobile link); S3 checks the signature when the request starts, not when it ends.
UPLOAD_GRACE = timedelta(minutes=15)
# Stop scanning with this much time left: one more page and its deletes fit easily.
STOP_MARGIN_MS = 10_000
METRICS_NAMESPACE = os.environ.get(env.POWERTOOLS_METRICS_NAMESPACE, "ImageSharing")

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)


@dataclass(frozen=True)
class SweepResult:
    checked: int  # items old enough to have their upload
    deleted: int  # of those, items without one, now deleted
    complete: bool  # False when the run stopped early; the next run continues


@functools.cache
def _s3() -> Any:
    return boto3.client("s3")


def upload_exists(image_id: str) -> bool:
    """Whether the image's upload is in the bucket (a listing, which a prefix-scoped grant allows)."""
    key = image_keys.upload_key(env.require(env.IMAGE_STORE_UPLOAD_PREFIX), image_id)
    reply = _s3().list_objects_v2(Bucket=env.require(env.IMAGE_STORE_BUCKET), Prefix=key, MaxKeys=1)
    return any(item["Key"] == key for item in reply.get("Contents", []))


def upload_deadline(now: datetime) -> str:
    """Items with a timestamp before this can no longer receive their upload."""
    url_ttl = timedelta(seconds=env.require_int(env.IMAGE_STORE_UPLOAD_URL_TTL))
    return repository.timestamp_of(now - url_ttl - UPLOAD_GRACE)


def sweep(now: datetime, *, time_left_ms: Callable[[], int] | None = None) -> SweepResult:
    """Delete every item created before the upload deadline whose upload is missing.

    `time_left_ms` (a callable, like the Lambda context's) stops the sweep between pages when less
    than STOP_MARGIN_MS remains.
    """
    cutoff = upload_deadline(now)
    checked = deleted = 0
    start_key: dict[str, str] | None = None
    while True:
        page = repository.scan_images_created_before(cutoff, start_key=start_key)
        for image in page.items:
            checked += 1
            if not upload_exists(image["imageId"]) and repository.delete_image(image):
                deleted += 1
                logger.info("Deleted image without upload", extra={"image": image})
        start_key = page.last_key
        if start_key is None:
            return SweepResult(checked, deleted, complete=True)
        if time_left_ms is not None and time_left_ms() < STOP_MARGIN_MS:
            logger.warning("Sweep stopped early; the next run continues", extra={"checked": checked})
            return SweepResult(checked, deleted, complete=False)


@logger.inject_lambda_context
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = sweep(datetime.now(UTC), time_left_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="AbandonedImagesDeleted", unit=MetricUnit.Count, value=result.deleted)
    logger.info("Sweep finished", extra={"checked": result.checked, "deleted": result.deleted})
    return {"checked": result.checked, "deleted": result.deleted, "complete": result.complete}
