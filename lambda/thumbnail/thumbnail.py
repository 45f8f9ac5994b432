"""Thumbnail maker: subscriber of the image store's upload topic (SNS, invoked asynchronously).

For every S3 ObjectCreated record under the upload prefix it reads the upload and writes a
JPEG 150 px wide, aspect ratio kept, to the thumbnail bucket as
``<thumbnail prefix><imageId>.jpeg``. Uploads that can never become a thumbnail (not an
image, too large, outside the upload prefix, already deleted) are logged and skipped:
raising would only make Lambda retry them and then dead-letter them. Errors that a retry can
fix (S3 throttling or outages) are raised, so the asynchronous retries and the function's
dead-letter queue handle them.

Environment: IMAGE_STORE_BUCKET, IMAGE_STORE_UPLOAD_PREFIX, IMAGE_STORE_THUMBNAIL_BUCKET,
IMAGE_STORE_THUMBNAIL_PREFIX (from ImageStore.runtime_environment).
Metrics: UploadsProcessed, UploadsSkipped.
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

import boto3  # type: ignore[import-untyped,unused-ignore]
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from constructs_lib.runtime import environment as env
from constructs_lib.runtime import image_keys
from constructs_lib.runtime.tracing import traced_on_first_call

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from PIL.Image import Image as Picture

THUMBNAIL_WIDTH = 150  # px: the width the web client lays thumbnails out at
THUMBNAIL_QUALITY = 85  # JPEG quality: visually lossless at thumbnail size, a few KB per file
# Bytes held in memory while decoding: larger than any phone or camera JPEG, small enough for 256 MB.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Decoded pixels: 25 MP (a 24 MP camera photo) is at most 100 MB as RGBA; larger is skipped, not OOM-killed.
MAX_IMAGE_PIXELS = 25_000_000
# Powertools reads POWERTOOLS_METRICS_NAMESPACE; the app's namespace is the fallback, never an error.
METRICS_NAMESPACE = os.environ.get(env.POWERTOOLS_METRICS_NAMESPACE, "ImageSharing")

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
T = TypeVar("T")


class UnusableImageError(Exception):
    """The object cannot become a thumbnail, whatever the number of retries."""


@dataclass(frozen=True)
class Settings:
    bucket: str
    upload_prefix: str
    thumbnail_bucket: str
    thumbnail_prefix: str

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            bucket=env.require(env.IMAGE_STORE_BUCKET),
            upload_prefix=env.require(env.IMAGE_STORE_UPLOAD_PREFIX),
            thumbnail_bucket=env.require(env.IMAGE_STORE_THUMBNAIL_BUCKET),
            thumbnail_prefix=env.require(env.IMAGE_STORE_THUMBNAIL_PREFIX),
        )


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str  # URL-decoded
    size: int | None


@functools.cache
def _s3() -> Any:
    # Created on first use, once per container: imports stay cheap and tests can point it anywhere.
    return boto3.client("s3")


def uploaded_objects(event: dict[str, Any]) -> Iterator[Upload]:
    """The ObjectCreated records of an SNS event carrying S3 notifications, keys URL-decoded."""
    for record in event.get("Records", []):
        message = json.loads(record["Sns"]["Message"])
        if message.get("Event") == "s3:TestEvent":
            logger.info("Ignoring the S3 test event", extra={"bucket": message.get("Bucket")})
            continue
        for s3_record in message.get("Records", []):
            event_name = s3_record.get("eventName", "")
            if not event_name.startswith("ObjectCreated:"):
                logger.info("Ignoring a non-ObjectCreated record", extra={"event_name": event_name})
                continue
            s3_object = s3_record["s3"]["object"]
            yield Upload(
                bucket=s3_record["s3"]["bucket"]["name"],
                key=unquote_plus(s3_object["key"]),
                size=s3_object.get("size"),
            )


def make_thumbnail(data: bytes, width: int = THUMBNAIL_WIDTH) -> bytes:
    """A JPEG `width` px wide with the image's aspect ratio; raises UnusableImageError."""
    # Imported on first use: cold starts skip Pillow until an upload passed the cheap checks.
    from PIL import Image, ImageOps  # noqa: PLC0415

    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS:
                raise UnusableImageError(f"{opened.width}x{opened.height} px is over {MAX_IMAGE_PIXELS} px")
            # JPEG decodes at 1/2, 1/4 or 1/8 scale when that still covers the thumbnail: less memory.
            opened.draft("RGB", (width, width))
            image = _to_rgb(ImageOps.exif_transpose(opened))
            height = max(1, round(image.height * width / image.width))
            thumbnail = image.resize((width, height), Image.Resampling.LANCZOS)
            output = io.BytesIO()
            thumbnail.save(output, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    # Pillow reports unreadable, truncated or unsupported data as OSError, ValueError or SyntaxError.
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UnusableImageError(f"not a readable image: {error}") from error
    return output.getvalue()


def _to_rgb(image: Picture) -> Picture:
    from PIL import Image  # noqa: PLC0415 - already loaded by make_thumbnail

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        # JPEG has no alpha: transparent areas become white, as a browser shows them on a page.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _refusal(upload: Upload, settings: Settings) -> str | None:
    if upload.bucket != settings.bucket:
        return "the object is outside the image store's bucket"
    if not upload.key.startswith(settings.upload_prefix) or upload.key == settings.upload_prefix:
        return "the key is outside the upload prefix"
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        return f"{upload.size} bytes is over {MAX_UPLOAD_BYTES}"
    return None


def _read_upload(upload: Upload) -> bytes:
    s3 = _s3()
    try:
        response = s3.get_object(Bucket=upload.bucket, Key=upload.key)
    except s3.exceptions.NoSuchKey as error:
        raise UnusableImageError("the object was deleted before its thumbnail was made") from error
    body = response["Body"]
    if response["ContentLength"] > MAX_UPLOAD_BYTES:
        body.close()
        raise UnusableImageError(f"{response['ContentLength']} bytes is over {MAX_UPLOAD_BYTES}")
    data: bytes = body.read()
    return data


def process_upload(upload: Upload, settings: Settings) -> str | None:
    """Write the upload's thumbnail and return its key, or None when the upload is skipped."""
    log = {"bucket": upload.bucket, "key": upload.key}
    try:
        refusal = _refusal(upload, settings)
        if refusal:
            raise UnusableImageError(refusal)
        thumbnail = make_thumbnail(_read_upload(upload))
    except UnusableImageError as error:
        logger.warning("Skipping an upload that cannot have a thumbnail", extra={**log, "reason": str(error)})
        return None

    thumbnail_key = image_keys.thumbnail_key(
        settings.thumbnail_prefix, image_keys.image_id_of(settings.upload_prefix, upload.key)
    )
    _s3().put_object(
        Bucket=settings.thumbnail_bucket, Key=thumbnail_key, Body=thumbnail, ContentType="image/jpeg"
    )
    logger.info("Thumbnail written", extra={**log, "thumbnail_key": thumbnail_key, "bytes": len(thumbnail)})
    return thumbnail_key


@logger.inject_lambda_context
@metrics.log_metrics
@traced_on_first_call
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = Settings.from_environment()
    processed = skipped = 0
    try:
        for upload in uploaded_objects(event):
            if process_upload(upload, settings) is None:
                skipped += 1
            else:
                processed += 1
    finally:
        # One data point per invocation, zeros included, also when a later record raised.
        metrics.add_metric(name="UploadsProcessed", unit=MetricUnit.Count, value=processed)
        metrics.add_metric(name="UploadsSkipped", unit=MetricUnit.Count, value=skipped)
    return {"processed": processed, "skipped": skipped}
