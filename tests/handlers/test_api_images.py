"""POST /groups/{groupId}/images, GET /groups/{groupId}/images and GET /images/{imageId}
against moto's DynamoDB and S3, with presigned URLs signed by known presign-role credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
import requests

from tests.handlers.conftest import (
    DOWNLOAD_URL_TTL,
    IMAGES_BUCKET,
    IMAGES_TABLE,
    PRESIGN_ACCESS_KEY,
    THUMBNAILS_BUCKET,
    UPLOAD_URL_TTL,
    USER_SUB,
    ApiResponse,
    api_event,
    handler_module,
    invoke,
    seed_group,
    seed_images,
    signature_matches,
)

images_read = handler_module("images_read")
images_write = handler_module("images_write")
repository = handler_module("repository")

pytestmark = pytest.mark.usefixtures("api_aws")

ORIGIN = "https://admin.example.com"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
IMAGE_FIELDS = {"groupId", "imageId", "title", "timestamp", "imageUrl", "thumbnailUrl"}
BAD_NEXT_KEY = "nextKey is not a value this listing returned"


def post_image(group_id: str, body: Any, *, claims: dict[str, str] | None = None) -> ApiResponse:
    return invoke(
        images_write,
        api_event(
            "POST",
            f"/groups/{group_id}/images",
            resource="/groups/{groupId}/images",
            path_parameters={"groupId": group_id},
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
            body=json.dumps(body),
            claims={"sub": USER_SUB} if claims is None else claims,
        ),
    )


def list_images(group_id: str, query: dict[str, str] | None = None) -> ApiResponse:
    return invoke(
        images_read,
        api_event(
            "GET",
            f"/groups/{group_id}/images",
            resource="/groups/{groupId}/images",
            path_parameters={"groupId": group_id},
            query=query,
            headers={"Origin": ORIGIN},
        ),
    )


def get_image(image_id: str) -> ApiResponse:
    return invoke(
        images_read,
        api_event(
            "GET",
            f"/images/{image_id}",
            resource="/images/{imageId}",
            path_parameters={"imageId": image_id},
            headers={"Origin": ORIGIN},
        ),
    )


def url_parts(url: str) -> tuple[str, str, dict[str, str]]:
    """Host, path and single-valued query of a presigned URL."""
    parts = urlsplit(url)
    return parts.netloc, parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()}


def bucket_of(host: str) -> str:
    """The bucket of a virtual-hosted S3 URL's host."""
    bucket, _, endpoint = host.partition(".")
    assert endpoint.startswith("s3.")
    assert endpoint.endswith(".amazonaws.com")
    return bucket


@pytest.fixture(scope="module")
def group() -> dict[str, str]:
    return seed_group("Mountains", "Peaks and ridges")


@pytest.fixture(scope="module")
def created(group: dict[str, str]) -> ApiResponse:
    return post_image(group["id"], {"title": "Matterhorn at dawn"})


def test_create_image_returns_201_with_the_image_and_an_upload_url(
    group: dict[str, str], created: ApiResponse
) -> None:
    assert created.status == 201
    assert set(created.body) == {"newItem", "uploadUrl"}
    item = created.body["newItem"]
    assert set(item) == IMAGE_FIELDS
    assert (item["groupId"], item["title"]) == (group["id"], "Matterhorn at dawn")
    assert repository.is_timestamp(item["timestamp"])
    assert get_image(item["imageId"]).body["imageId"] == item["imageId"]


def test_upload_url_is_a_put_of_exactly_the_image_key(created: ApiResponse) -> None:
    image_id = created.body["newItem"]["imageId"]
    url = created.body["uploadUrl"]
    host, path, query = url_parts(url)
    assert (bucket_of(host), path) == (IMAGES_BUCKET, f"/uploads/{image_id}")
    assert query["X-Amz-Expires"] == str(UPLOAD_URL_TTL)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].startswith(f"{PRESIGN_ACCESS_KEY}/")  # signed by the presign role
    assert signature_matches(url, "PUT")
    assert not signature_matches(url, "GET")


def test_image_and_thumbnail_urls_are_gets_valid_for_the_download_ttl(created: ApiResponse) -> None:
    item = created.body["newItem"]
    image_host, image_path, image_query = url_parts(item["imageUrl"])
    thumb_host, thumb_path, thumb_query = url_parts(item["thumbnailUrl"])
    assert (bucket_of(image_host), image_path) == (IMAGES_BUCKET, f"/uploads/{item['imageId']}")
    assert (bucket_of(thumb_host), thumb_path) == (THUMBNAILS_BUCKET, f"/thumbnails/{item['imageId']}.jpeg")
    assert image_query["X-Amz-Expires"] == thumb_query["X-Amz-Expires"] == str(DOWNLOAD_URL_TTL)
    assert signature_matches(item["imageUrl"], "GET")
    assert signature_matches(item["thumbnailUrl"], "GET")
    assert not signature_matches(item["imageUrl"], "PUT")


def test_a_file_put_to_the_upload_url_is_served_by_the_image_url(created: ApiResponse) -> None:
    put = requests.put(created.body["uploadUrl"], data=b"\x89PNG fake image bytes", timeout=5)
    assert put.status_code == 200
    fetched = requests.get(created.body["newItem"]["imageUrl"], timeout=5)
    assert fetched.content == b"\x89PNG fake image bytes"


def test_the_stored_item_records_the_uploader_without_returning_it(created: ApiResponse) -> None:
    item = created.body["newItem"]
    stored = boto3.client("dynamodb").get_item(
        TableName=IMAGES_TABLE, Key={"groupId": {"S": item["groupId"]}, "timestamp": {"S": item["timestamp"]}}
    )["Item"]
    assert stored["userId"] == {"S": USER_SUB}
    assert "userId" not in get_image(item["imageId"]).body


def test_create_image_records_the_images_created_metric(
    group: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert post_image(group["id"], {"title": "Eiger"}).status == 201
    metric_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert any(
        line.get("ImagesCreated") == [1.0] or line.get("ImagesCreated") == 1.0 for line in metric_lines
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request body: title is required"),
        ({"title": ""}, "Invalid request body: title must not be empty"),
        ({"title": "\t\n"}, "Invalid request body: title must not be blank"),
        ({"title": ["x"]}, "Invalid request body: title must be a string"),
        ({"title": "t" * 201}, "Invalid request body: title must be at most 200 characters"),
        ({"title": "t", "url": "http://x"}, "Invalid request body: unknown property 'url'"),
        ("title", "Invalid request body: expected a JSON object (image)"),
    ],
)
def test_create_image_rejects_invalid_bodies(group: dict[str, str], body: Any, message: str) -> None:
    response = post_image(group["id"], body)
    assert (response.status, response.body) == (400, {"message": message})


def test_create_image_without_a_caller_is_401(group: dict[str, str]) -> None:
    response = post_image(group["id"], {"title": "t"}, claims={})
    assert (response.status, response.body) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("group_id", [UNKNOWN_ID, "not-a-uuid"])
def test_create_image_in_an_unknown_group_is_404(group_id: str) -> None:
    response = post_image(group_id, {"title": "t"})
    assert (response.status, response.body) == (404, {"message": "Group not found"})


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Timestamps handed out in order from the yielded list (tests fill it)."""
    stamps: list[str] = []
    monkeypatch.setattr(repository, "new_timestamp", lambda: stamps.pop(0))
    yield stamps


@pytest.fixture
def fresh_group() -> dict[str, str]:
    return seed_group("Collisions", "same instant")


def test_a_timestamp_collision_takes_a_new_timestamp(
    fresh_group: dict[str, str], frozen_clock: list[str]
) -> None:
    group = fresh_group
    frozen_clock += ["2030-01-01T00:00:00.000000Z"] * 3 + ["2030-01-01T00:00:00.000001Z"]
    first = images_write.create_image(group["id"], title="first", user_id=USER_SUB)
    second = images_write.create_image(group["id"], title="second", user_id=USER_SUB)
    assert first["newItem"]["timestamp"] == "2030-01-01T00:00:00.000000Z"
    assert second["newItem"]["timestamp"] == "2030-01-01T00:00:00.000001Z"


def test_a_timestamp_that_stays_taken_is_a_500(fresh_group: dict[str, str], frozen_clock: list[str]) -> None:
    group = fresh_group
    frozen_clock += ["2030-01-01T00:00:00.000000Z"] * 4
    images_write.create_image(group["id"], title="first", user_id=USER_SUB)
    response = post_image(group["id"], {"title": "second"})
    assert (response.status, response.body) == (500, {"message": "Internal server error"})


def test_list_images_is_newest_first_with_urls() -> None:
    group = seed_group("Ordered", "by time")
    made = seed_images(group["id"], ["one", "two", "three"])
    response = list_images(group["id"])
    assert response.status == 200
    assert [item["title"] for item in response.body["items"]] == ["three", "two", "one"]
    assert response.body["nextKey"] is None
    assert all(set(item) == IMAGE_FIELDS for item in response.body["items"])
    assert {item["imageId"] for item in response.body["items"]} == {m["newItem"]["imageId"] for m in made}


def test_list_images_pages_with_an_opaque_next_key() -> None:
    group = seed_group("Paged", "five images")
    seed_images(group["id"], [f"image {n}" for n in range(5)])
    titles: list[str] = []
    query = {"limit": "2"}
    while True:
        response = list_images(group["id"], query)
        assert response.status == 200
        titles += [item["title"] for item in response.body["items"]]
        if response.body["nextKey"] is None:
            break
        query = {"limit": "2", "nextKey": response.body["nextKey"]}
    assert titles == [f"image {n}" for n in reversed(range(5))]


def test_a_next_key_from_another_group_is_400() -> None:
    first, second = seed_group("First", "a"), seed_group("Second", "b")
    seed_images(first["id"], ["a1", "a2"])
    token = list_images(first["id"], {"limit": "1"}).body["nextKey"]
    assert token is not None
    response = list_images(second["id"], {"nextKey": token})
    assert (response.status, response.body) == (400, {"message": BAD_NEXT_KEY})


@pytest.mark.parametrize(
    "key",
    [
        {"groupId": "x", "timestamp": "2030-01-01T00:00:00.000000Z"},
        {"timestamp": "2030-01-01T00:00:00.000000Z"},
        {"groupId": "<group>", "timestamp": "yesterday"},
        {"groupId": "<group>", "timestamp": "2030-01-01T00:00:00.000000Z", "imageId": UNKNOWN_ID},
    ],
)
def test_list_images_rejects_a_malformed_next_key(group: dict[str, str], key: dict[str, str]) -> None:
    filled = {name: group["id"] if value == "<group>" else value for name, value in key.items()}
    token = base64.urlsafe_b64encode(json.dumps(filled).encode()).decode()
    response = list_images(group["id"], {"nextKey": token})
    assert (response.status, response.body) == (400, {"message": BAD_NEXT_KEY})


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_images_rejects_a_bad_limit(group: dict[str, str], limit: str) -> None:
    response = list_images(group["id"], {"limit": limit})
    assert (response.status, response.body) == (
        400,
        {"message": "limit must be a whole number from 1 to 100"},
    )


@pytest.mark.parametrize("group_id", [UNKNOWN_ID, "123"])
def test_list_images_of_an_unknown_group_is_404(group_id: str) -> None:
    response = list_images(group_id)
    assert (response.status, response.body) == (404, {"message": "Group not found"})


def test_get_image_returns_the_image_with_urls(created: ApiResponse) -> None:
    item = created.body["newItem"]
    response = get_image(item["imageId"])
    assert response.status == 200
    assert set(response.body) == IMAGE_FIELDS
    assert {k: response.body[k] for k in ("groupId", "imageId", "title", "timestamp")} == {
        k: item[k] for k in ("groupId", "imageId", "title", "timestamp")
    }
    assert signature_matches(response.body["imageUrl"], "GET")


@pytest.mark.parametrize("image_id", [UNKNOWN_ID, "image.png"])
def test_get_unknown_image_is_404(image_id: str) -> None:
    response = get_image(image_id)
    assert (response.status, response.body) == (404, {"message": "Image not found"})


def test_image_responses_carry_cors_headers(group: dict[str, str]) -> None:
    for response in (list_images(group["id"]), get_image(UNKNOWN_ID), post_image(group["id"], {})):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
