"""The reference app's upload flow end to end, over HTTP against moto in server mode.

A WebSocket client connects (and a second one whose connection is already gone), a user
creates a group and an image through the REST handlers, PUTs real JPEG bytes to the
presigned upload URL, the upload topic's SNS event reaches the thumbnail and notifier
subscribers, and the image is read back with download URLs that work.

Every AWS client the handlers create (DynamoDB, S3, and STS plus the presign role's S3 client
inside Presigner.from_environment) finds moto through AWS_ENDPOINT_URL, as clients created
with the default endpoint do; the connection management API is the local ConnectionsEndpoint
named by CONNECTIONS_ENDPOINT, because moto does not answer 410 for gone connections.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
import requests
from PIL import Image

from tests.handlers.conftest import (
    API_ENVIRONMENT,
    CONNECTIONS_TABLE,
    IMAGES_BUCKET,
    THUMBNAILS_BUCKET,
    USER_SUB,
    api_event,
    create_tables,
    invoke,
)
from tests.handlers.events import (
    ConnectionsEndpoint,
    FakeLambdaContext,
    load_handler_module,
    sns_s3_event,
    websocket_event,
)
from tests.moto_server import moto_server

groups_write = load_handler_module("api", "groups_write")
images_write = load_handler_module("api", "images_write")
images_read = load_handler_module("api", "images_read")
repository = load_handler_module("api", "repository")
image_links = load_handler_module("api", "image_links")
thumbnail = load_handler_module("thumbnail", "thumbnail")
notifier = load_handler_module("notifier", "notifier")
ws_common = load_handler_module("websocket", "ws_common")
ws_connect = load_handler_module("websocket", "ws_connect")
ws_disconnect = load_handler_module("websocket", "ws_disconnect")

ORIGIN = "https://app.example.com"
HTTP_TIMEOUT = 10  # seconds: every request goes to a local server


def _clear_client_caches() -> None:
    """Forget clients created for another test's moto account or endpoint."""
    for cached in (
        repository.dynamodb,
        image_links.presigner,
        thumbnail._s3,
        notifier._dynamodb,
        notifier._management_api,
        ws_common.dynamodb,
    ):
        cached.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode on 127.0.0.1; the app's environment with AWS_ENDPOINT_URL pointing at it."""
    with moto_server() as url:
        try:
            requests.post(f"{url}/moto-api/reset", timeout=HTTP_TIMEOUT).raise_for_status()
            monkeypatch.setenv("AWS_ENDPOINT_URL", url)
            for name, value in API_ENVIRONMENT.items():
                monkeypatch.setenv(name, value)
            monkeypatch.setenv("CONNECTION_TTL_SECONDS", "7200")
            _clear_client_caches()
            create_tables()
            s3 = boto3.client("s3")
            for bucket in (IMAGES_BUCKET, THUMBNAILS_BUCKET):
                s3.create_bucket(Bucket=bucket)
            yield url
        finally:
            _clear_client_caches()
            requests.post(f"{url}/moto-api/reset", timeout=HTTP_TIMEOUT)


def jpeg_bytes(size: tuple[int, int]) -> bytes:
    image = Image.new("RGB", size, (40, 120, 200))
    output = io.BytesIO()
    image.save(output, format="JPEG")
    return output.getvalue()


def test_upload_flow_makes_a_thumbnail_notifies_connections_and_serves_links(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ConnectionsEndpoint() as endpoint:
        monkeypatch.setenv("CONNECTIONS_ENDPOINT", endpoint.url)
        for connection_id in ("open-conn=", "gone-conn="):
            connected = ws_connect.handler(websocket_event("$connect", connection_id), FakeLambdaContext())
            assert connected["statusCode"] == 200
        endpoint.gone.add("gone-conn=")

        created_group = invoke(
            groups_write,
            api_event(
                "POST",
                "/groups",
                headers={"Content-Type": "application/json", "Origin": ORIGIN},
                body=json.dumps({"name": "Harbour", "description": "Boats at dawn"}),
                claims={"sub": USER_SUB},
            ),
        )
        assert created_group.status == 201, created_group.body
        group_id = created_group.body["newItem"]["id"]

        created_image = invoke(
            images_write,
            api_event(
                "POST",
                f"/groups/{group_id}/images",
                resource="/groups/{groupId}/images",
                path_parameters={"groupId": group_id},
                headers={"Content-Type": "application/json", "Origin": ORIGIN},
                body=json.dumps({"title": "Sunrise"}),
                claims={"sub": USER_SUB},
            ),
        )
        assert created_image.status == 201, created_image.body
        image_id = created_image.body["newItem"]["imageId"]

        photo = jpeg_bytes((600, 400))
        uploaded = requests.put(
            created_image.body["uploadUrl"],
            data=photo,
            headers={"Content-Type": "image/jpeg"},
            timeout=HTTP_TIMEOUT,
        )
        assert uploaded.status_code == 200, uploaded.text

        # What the images bucket's notification publishes to the upload topic for that PUT.
        upload_event = sns_s3_event(IMAGES_BUCKET, f"uploads/{image_id}", size=len(photo))
        assert thumbnail.handler(upload_event, FakeLambdaContext()) == {"processed": 1, "skipped": 0}
        assert notifier.handler(upload_event, FakeLambdaContext()) == {"sent": 1, "failed": 0, "removed": 1}

        stored = boto3.client("s3").get_object(Bucket=THUMBNAILS_BUCKET, Key=f"thumbnails/{image_id}.jpeg")
        assert stored["ContentType"] == "image/jpeg"
        made = Image.open(io.BytesIO(stored["Body"].read()))
        assert (made.format, made.size) == ("JPEG", (150, 100))

        assert endpoint.posts == [("open-conn=", {"imageId": image_id})]
        table_ids = [
            item["id"]["S"] for item in boto3.client("dynamodb").scan(TableName=CONNECTIONS_TABLE)["Items"]
        ]
        assert table_ids == ["open-conn="]

        read = invoke(
            images_read,
            api_event(
                "GET",
                f"/images/{image_id}",
                resource="/images/{imageId}",
                path_parameters={"imageId": image_id},
                headers={"Origin": ORIGIN},
            ),
        )
        assert read.status == 200, read.body
        assert read.body["imageId"] == image_id
        assert read.body["groupId"] == group_id
        assert read.body["title"] == "Sunrise"
        original = requests.get(read.body["imageUrl"], timeout=HTTP_TIMEOUT)
        assert original.status_code == 200
        assert original.content == photo
        thumbnail_download = requests.get(read.body["thumbnailUrl"], timeout=HTTP_TIMEOUT)
        assert thumbnail_download.status_code == 200
        assert thumbnail_download.headers["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumbnail_download.content)).size == (150, 100)

        disconnected = ws_disconnect.handler(
            websocket_event("$disconnect", "open-conn="), FakeLambdaContext()
        )
        assert disconnected["statusCode"] == 200
        assert boto3.client("dynamodb").scan(TableName=CONNECTIONS_TABLE)["Items"] == []
