"""The thumbnail subscriber against moto's S3, with real image bytes made by Pillow."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
from moto import mock_aws
from PIL import Image

from tests.handlers.events import (
    FakeLambdaContext,
    emitted_metrics,
    load_handler_module,
    sns_s3_event,
    sns_s3_test_event,
)

thumbnail = load_handler_module("thumbnail", "thumbnail")

IMAGES = "images-bucket"
THUMBNAILS = "thumbnails-bucket"
ENVIRONMENT = {
    "IMAGE_STORE_BUCKET": IMAGES,
    "IMAGE_STORE_UPLOAD_PREFIX": "uploads/",
    "IMAGE_STORE_THUMBNAIL_BUCKET": THUMBNAILS,
    "IMAGE_STORE_THUMBNAIL_PREFIX": "thumbnails/",
}
EXIF_ORIENTATION = 0x0112
ROTATED_90_CLOCKWISE = 6  # EXIF: the camera was turned; viewers rotate the stored pixels


def image_bytes(image_format: str, mode: str, size: tuple[int, int], **save: Any) -> bytes:
    color: Any = {"RGBA": (200, 30, 30, 128), "RGB": (30, 200, 30), "L": 128, "P": 3, "CMYK": (0, 50, 90, 0)}
    image = Image.new(mode, size, color[mode])
    output = io.BytesIO()
    image.save(output, format=image_format, **save)
    return output.getvalue()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        thumbnail._s3.cache_clear()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=IMAGES)
        client.create_bucket(Bucket=THUMBNAILS)
        yield client
    thumbnail._s3.cache_clear()


def invoke(event: dict[str, Any]) -> dict[str, int]:
    result: dict[str, int] = thumbnail.handler(event, FakeLambdaContext())
    return result


def stored_thumbnail(s3: Any, key: str) -> tuple[Image.Image, str]:
    stored = s3.get_object(Bucket=THUMBNAILS, Key=key)
    picture = Image.open(io.BytesIO(stored["Body"].read()))
    return picture, stored["ContentType"]


def skip_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.reason for record in caplog.records if hasattr(record, "reason")]


def thumbnail_keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=THUMBNAILS).get("Contents", [])]


@pytest.mark.parametrize(
    ("image_format", "mode", "size", "expected_size"),
    [
        ("PNG", "RGBA", (600, 400), (150, 100)),
        ("JPEG", "RGB", (300, 900), (150, 450)),
        ("JPEG", "CMYK", (1500, 1000), (150, 100)),
        ("GIF", "P", (450, 300), (150, 100)),
        ("PNG", "L", (301, 200), (150, 100)),
        ("WEBP", "RGB", (100, 50), (150, 75)),  # narrower than a thumbnail: scaled up to the width
    ],
)
def test_writes_a_150_px_wide_jpeg_keeping_the_aspect_ratio(
    s3: Any, image_format: str, mode: str, size: tuple[int, int], expected_size: tuple[int, int]
) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/img-1", Body=image_bytes(image_format, mode, size))

    assert invoke(sns_s3_event(IMAGES, "uploads/img-1")) == {"processed": 1, "skipped": 0}

    picture, content_type = stored_thumbnail(s3, "thumbnails/img-1.jpeg")
    assert picture.format == "JPEG"
    assert picture.mode == "RGB"
    assert picture.size == expected_size
    assert content_type == "image/jpeg"


def test_transparent_areas_become_white(s3: Any) -> None:
    transparent = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    output = io.BytesIO()
    transparent.save(output, format="PNG")
    s3.put_object(Bucket=IMAGES, Key="uploads/clear", Body=output.getvalue())

    invoke(sns_s3_event(IMAGES, "uploads/clear"))

    picture, _ = stored_thumbnail(s3, "thumbnails/clear.jpeg")
    pixel = picture.getpixel((75, 75))
    assert isinstance(pixel, tuple)
    assert min(pixel) > 245


def test_follows_the_exif_orientation(s3: Any) -> None:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CLOCKWISE
    s3.put_object(
        Bucket=IMAGES, Key="uploads/turned", Body=image_bytes("JPEG", "RGB", (400, 200), exif=exif.tobytes())
    )

    invoke(sns_s3_event(IMAGES, "uploads/turned"))

    picture, _ = stored_thumbnail(s3, "thumbnails/turned.jpeg")
    assert picture.size == (150, 300)


def test_decodes_url_encoded_keys(s3: Any) -> None:
    key = "uploads/holiday photo+1 (ü).png"
    s3.put_object(Bucket=IMAGES, Key=key, Body=image_bytes("PNG", "RGB", (300, 150)))
    event = sns_s3_event(IMAGES, key)
    assert "holiday+photo%2B1+%28%C3%BC%29.png" in event["Records"][0]["Sns"]["Message"]

    assert invoke(event) == {"processed": 1, "skipped": 0}

    assert thumbnail_keys(s3) == ["thumbnails/holiday photo+1 (ü).png.jpeg"]


def test_processes_every_record_of_the_event(s3: Any) -> None:
    for key in ("uploads/a", "uploads/b"):
        s3.put_object(Bucket=IMAGES, Key=key, Body=image_bytes("PNG", "RGB", (300, 300)))

    assert invoke(sns_s3_event(IMAGES, "uploads/a", "uploads/b")) == {"processed": 2, "skipped": 0}

    assert thumbnail_keys(s3) == ["thumbnails/a.jpeg", "thumbnails/b.jpeg"]


def test_emits_processed_and_skipped_counts(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/good", Body=image_bytes("PNG", "RGB", (300, 300)))
    s3.put_object(Bucket=IMAGES, Key="uploads/bad", Body=b"%PDF-1.7 not an image")

    invoke(sns_s3_event(IMAGES, "uploads/good", "uploads/bad"))

    assert emitted_metrics(capsys.readouterr().out) == {"UploadsProcessed": 1, "UploadsSkipped": 1}


def test_skips_a_non_image_without_raising(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/notes", Body=b"just some text, not an image")

    assert invoke(sns_s3_event(IMAGES, "uploads/notes")) == {"processed": 0, "skipped": 1}

    assert thumbnail_keys(s3) == []
    [reason] = skip_reasons(caplog)
    assert reason.startswith("not a readable image: cannot identify image file")


def test_skips_a_truncated_image(s3: Any) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/cut", Body=image_bytes("PNG", "RGB", (300, 300))[:60])

    assert invoke(sns_s3_event(IMAGES, "uploads/cut")) == {"processed": 0, "skipped": 1}
    assert thumbnail_keys(s3) == []


def test_refuses_a_key_outside_the_upload_prefix(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    s3.put_object(Bucket=IMAGES, Key="private/secret", Body=image_bytes("PNG", "RGB", (300, 300)))

    assert invoke(sns_s3_event(IMAGES, "private/secret", "uploads/")) == {"processed": 0, "skipped": 2}

    assert thumbnail_keys(s3) == []
    assert skip_reasons(caplog) == ["the key is outside the upload prefix"] * 2


def test_refuses_an_object_of_another_bucket(s3: Any) -> None:
    s3.create_bucket(Bucket="someone-elses-bucket")
    s3.put_object(Bucket="someone-elses-bucket", Key="uploads/x", Body=image_bytes("PNG", "RGB", (300, 300)))

    assert invoke(sns_s3_event("someone-elses-bucket", "uploads/x")) == {"processed": 0, "skipped": 1}
    assert thumbnail_keys(s3) == []


def test_skips_an_upload_announced_as_oversized_without_reading_it(s3: Any) -> None:
    # The object does not even exist: the size in the notification is enough to refuse it.
    event = sns_s3_event(IMAGES, "uploads/huge", size=thumbnail.MAX_UPLOAD_BYTES + 1)

    assert invoke(event) == {"processed": 0, "skipped": 1}


def test_skips_an_object_larger_than_the_limit(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    body = image_bytes("PNG", "RGB", (300, 300))
    s3.put_object(Bucket=IMAGES, Key="uploads/big", Body=body)
    monkeypatch.setattr(thumbnail, "MAX_UPLOAD_BYTES", len(body) - 1)

    # The notification's size can be stale or missing; the object's own length is checked too.
    assert invoke(sns_s3_event(IMAGES, "uploads/big", size=1)) == {"processed": 0, "skipped": 1}
    assert thumbnail_keys(s3) == []


def test_skips_an_image_with_too_many_pixels(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/wide", Body=image_bytes("PNG", "RGB", (300, 300)))
    monkeypatch.setattr(thumbnail, "MAX_IMAGE_PIXELS", 300 * 300 - 1)

    assert invoke(sns_s3_event(IMAGES, "uploads/wide")) == {"processed": 0, "skipped": 1}
    assert thumbnail_keys(s3) == []


def test_skips_an_upload_deleted_before_processing(s3: Any) -> None:
    assert invoke(sns_s3_event(IMAGES, "uploads/gone")) == {"processed": 0, "skipped": 1}


def test_ignores_the_s3_test_event(s3: Any) -> None:
    assert invoke(sns_s3_test_event(IMAGES)) == {"processed": 0, "skipped": 0}
    assert thumbnail_keys(s3) == []


def test_ignores_records_other_than_object_created(s3: Any) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/img", Body=image_bytes("PNG", "RGB", (300, 300)))

    event = sns_s3_event(IMAGES, "uploads/img", event_name="ObjectRemoved:Delete")

    assert invoke(event) == {"processed": 0, "skipped": 0}
    assert thumbnail_keys(s3) == []


def test_raises_errors_a_retry_can_fix(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3.put_object(Bucket=IMAGES, Key="uploads/img", Body=image_bytes("PNG", "RGB", (300, 300)))
    monkeypatch.setenv("IMAGE_STORE_THUMBNAIL_BUCKET", "bucket-not-created-yet")

    # Raised, so Lambda's asynchronous retries and then the dead-letter queue take over.
    with pytest.raises(s3.exceptions.NoSuchBucket):
        invoke(sns_s3_event(IMAGES, "uploads/img"))
