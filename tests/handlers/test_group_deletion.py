"""The group deletion workflows' tasks (lambda/api/group_deletion.py) against moto's DynamoDB and S3."""

from __future__ import annotations

import uuid
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest

from tests.handlers.conftest import (
    GROUPS_TABLE,
    IMAGES_BUCKET,
    IMAGES_TABLE,
    THUMBNAILS_BUCKET,
    handler_module,
)
from tests.handlers.events import FakeLambdaContext

repository = handler_module("repository")
group_deletion = handler_module("group_deletion")

pytestmark = pytest.mark.usefixtures("api_aws")

OWNER = "5f1c2d3e-0000-4000-8000-0000000000aa"
STRANGER = "5f1c2d3e-0000-4000-8000-0000000000bb"


@pytest.fixture
def group() -> str:
    group_id = str(uuid.uuid4())
    repository.put_group(
        {
            "id": group_id,
            "userId": OWNER,
            "name": "Pier",
            "description": "",
            "timestamp": repository.new_timestamp(),
        }
    )
    return group_id


def add_images(group_id: str, count: int) -> list[dict[str, str]]:
    s3 = boto3.client("s3")
    images = []
    for _ in range(count):
        image = {
            "groupId": group_id,
            "imageId": str(uuid.uuid4()),
            "title": "t",
            "timestamp": repository.new_timestamp(),
            "userId": OWNER,
        }
        assert repository.put_image(image)
        s3.put_object(Bucket=IMAGES_BUCKET, Key=f"uploads/{image['imageId']}", Body=b"jpeg")
        s3.put_object(Bucket=THUMBNAILS_BUCKET, Key=f"thumbnails/{image['imageId']}.jpeg", Body=b"thumb")
        images.append(image)
    return images


def keys(bucket: str, image_ids: set[str]) -> list[str]:
    contents = boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return [item["Key"] for item in contents if any(image_id in item["Key"] for image_id in image_ids)]


def test_the_owner_is_authorized(group: str) -> None:
    event = {"path": {"groupId": group}, "caller": OWNER}
    assert group_deletion.authorize_handler(event, FakeLambdaContext()) == {"groupId": group}


@pytest.mark.parametrize(
    ("caller", "error", "message"),
    [
        (STRANGER, "NotOwner", "Only the group's owner may delete it"),
        ("", "NotOwner", "Only the group's owner may delete it"),
    ],
)
def test_others_are_refused(group: str, caller: str, error: str, message: str) -> None:
    with pytest.raises(Exception) as raised:
        group_deletion.authorize_handler({"path": {"groupId": group}, "caller": caller}, FakeLambdaContext())
    # The class name is the Step Functions error the route maps to 403.
    assert (type(raised.value).__name__, str(raised.value)) == (error, message)


@pytest.mark.parametrize("group_id", [str(uuid.uuid4()), "not-a-uuid", "../groups"])
def test_an_unknown_group_is_not_found(group_id: str) -> None:
    with pytest.raises(group_deletion.GroupNotFound, match=r"^Group not found$"):
        group_deletion.authorize(group_id, OWNER)


def test_images_are_listed_a_page_at_a_time_in_batches(group: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_deletion, "PAGE_SIZE", 30)
    images = add_images(group, 40)
    first = group_deletion.list_images_handler({"groupId": group}, FakeLambdaContext())
    assert [len(batch) for batch in first["batches"]] == [25, 5]
    assert first["nextKey"] is not None
    second = group_deletion.list_images_handler(first, FakeLambdaContext())
    assert [len(batch) for batch in second["batches"]] == [10]
    assert second["nextKey"] is None
    listed = {image["imageId"] for page in (first, second) for batch in page["batches"] for image in batch}
    assert listed == {image["imageId"] for image in images}
    assert set(first["batches"][0][0]) == {"groupId", "timestamp", "imageId"}  # keys and id only


def test_a_batch_deletes_uploads_thumbnails_and_items(group: str) -> None:
    images = add_images(group, 3)
    ids = {image["imageId"] for image in images}
    batch = [{name: image[name] for name in ("groupId", "timestamp", "imageId")} for image in images]
    assert group_deletion.delete_images_handler({"images": batch}, FakeLambdaContext()) == {"deleted": 3}
    assert keys(IMAGES_BUCKET, ids) == [] and keys(THUMBNAILS_BUCKET, ids) == []
    left = boto3.client("dynamodb").query(
        TableName=IMAGES_TABLE,
        KeyConditionExpression="groupId = :g",
        ExpressionAttributeValues={":g": {"S": group}},
    )
    assert left["Items"] == []
    # Again (a retried task): nothing left to delete, and no error.
    assert group_deletion.delete_images_handler({"images": batch}, FakeLambdaContext()) == {"deleted": 0}


def test_an_image_whose_thumbnail_never_came_is_deleted_too(group: str) -> None:
    (image,) = add_images(group, 1)
    boto3.client("s3").delete_object(Bucket=THUMBNAILS_BUCKET, Key=f"thumbnails/{image['imageId']}.jpeg")
    batch = [{name: image[name] for name in ("groupId", "timestamp", "imageId")}]
    assert group_deletion.delete_images(batch) == {"deleted": 1}


def test_a_failed_object_delete_keeps_the_items(group: str, monkeypatch: pytest.MonkeyPatch) -> None:
    images = add_images(group, 2)

    class RefusingS3:
        def delete_objects(self, **request: Any) -> dict[str, Any]:
            first = request["Delete"]["Objects"][0]["Key"]
            return {"Errors": [{"Key": first, "Code": "AccessDenied"}]}

    monkeypatch.setattr(group_deletion, "_s3", RefusingS3)
    batch = [{name: image[name] for name in ("groupId", "timestamp", "imageId")} for image in images]
    with pytest.raises(RuntimeError, match=r"S3 could not delete 1 objects, e.g. uploads/.*: AccessDenied"):
        group_deletion.delete_images(batch)
    assert all(repository.get_image(image["imageId"]) is not None for image in images)


def test_the_group_item_is_deleted_last_and_idempotently(group: str) -> None:
    assert group_deletion.delete_group_handler({"groupId": group}, FakeLambdaContext()) == {"groupId": group}
    assert (
        boto3.client("dynamodb").get_item(TableName=GROUPS_TABLE, Key={"id": {"S": group}}).get("Item")
        is None
    )
    assert group_deletion.delete_group(group) == {"groupId": group}  # a retry finds nothing: fine
