# boto3 ships no inline types, and boto3-stubs may be absent: its imports are Any.
# mypy: disable-error-code="import-untyped"
"""The groups and images tables, through one DynamoDB client per container.

Items hold only string attributes, so the low-level client is used directly: no boto3
resource layer to load on a cold start. Every item leaves with only its public fields.

Tables (environment): GROUPS_TABLE (key ``id``), IMAGES_TABLE (key ``groupId`` + ``timestamp``)
and its index IMAGES_ID_INDEX (key ``imageId``, projecting all attributes).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

GROUP_FIELDS = ("id", "userId", "name", "description", "timestamp")
IMAGE_FIELDS = ("groupId", "imageId", "title", "timestamp")
GROUP_KEY = ("id",)
IMAGE_KEY = ("groupId", "timestamp")
# Fixed-width UTC with microseconds: sorts chronologically as text, so the images table's sort
# key orders a group's images by time, and two uploads rarely share a key.
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


@dataclass(frozen=True)
class Page:
    """Items of one listing page and the key to continue after (None on the last page)."""

    items: list[dict[str, str]]
    last_key: dict[str, str] | None


def new_timestamp() -> str:
    """Now, as ISO-8601 UTC (e.g. 2026-11-23T15:25:10.123456Z)."""
    return datetime.now(UTC).strftime(_TIMESTAMP_FORMAT)


def is_timestamp(value: str) -> bool:
    """Whether `value` has the form `new_timestamp` produces."""
    return _TIMESTAMP.fullmatch(value) is not None


@functools.cache
def dynamodb() -> Any:
    """The container's DynamoDB client, created on first use."""
    return boto3.client("dynamodb")


def _strings(item: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, str]:
    return {name: item[name]["S"] for name in fields if name in item and "S" in item[name]}


def _attributes(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in values.items()}


def _page(reply: Mapping[str, Any], fields: tuple[str, ...], key: tuple[str, ...]) -> Page:
    last = reply.get("LastEvaluatedKey")
    return Page(
        items=[_strings(item, fields) for item in reply.get("Items", [])],
        last_key=_strings(last, key) if last else None,
    )


def put_group(group: Mapping[str, str]) -> None:
    dynamodb().put_item(
        TableName=os.environ["GROUPS_TABLE"],
        Item=_attributes(group),
        ConditionExpression="attribute_not_exists(id)",
    )


def get_group(group_id: str) -> dict[str, str] | None:
    reply = dynamodb().get_item(TableName=os.environ["GROUPS_TABLE"], Key=_attributes({"id": group_id}))
    return _strings(reply["Item"], GROUP_FIELDS) if "Item" in reply else None


def delete_group(group_id: str) -> None:
    """Delete the group's item (nothing happens when it is already gone)."""
    dynamodb().delete_item(TableName=os.environ["GROUPS_TABLE"], Key=_attributes({"id": group_id}))


def list_groups(*, limit: int, start_key: Mapping[str, str] | None) -> Page:
    request: dict[str, Any] = {"TableName": os.environ["GROUPS_TABLE"], "Limit": limit}
    if start_key:
        request["ExclusiveStartKey"] = _attributes(start_key)
    return _page(dynamodb().scan(**request), GROUP_FIELDS, GROUP_KEY)


def put_image(image: Mapping[str, str]) -> bool:
    """Store `image`; False (nothing written) when its group already has an image at that timestamp."""
    client = dynamodb()
    try:
        client.put_item(
            TableName=os.environ["IMAGES_TABLE"],
            Item=_attributes(image),
            ConditionExpression="attribute_not_exists(groupId)",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def list_images(group_id: str, *, limit: int, start_key: Mapping[str, str] | None) -> Page:
    """A group's images, newest first."""
    request: dict[str, Any] = {
        "TableName": os.environ["IMAGES_TABLE"],
        "KeyConditionExpression": "groupId = :groupId",
        "ExpressionAttributeValues": _attributes({":groupId": group_id}),
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start_key:
        request["ExclusiveStartKey"] = _attributes(start_key)
    return _page(dynamodb().query(**request), IMAGE_FIELDS, IMAGE_KEY)


def get_image(image_id: str) -> dict[str, str] | None:
    reply = dynamodb().query(
        TableName=os.environ["IMAGES_TABLE"],
        IndexName=os.environ["IMAGES_ID_INDEX"],
        KeyConditionExpression="imageId = :imageId",
        ExpressionAttributeValues=_attributes({":imageId": image_id}),
        Limit=1,
    )
    items = reply.get("Items", [])
    return _strings(items[0], IMAGE_FIELDS) if items else None


def scan_images_created_before(cutoff: str, *, start_key: Mapping[str, str] | None) -> Page:
    """One page of images (keys and imageId only) whose timestamp is before `cutoff`, in no order."""
    request: dict[str, Any] = {
        "TableName": os.environ["IMAGES_TABLE"],
        "ProjectionExpression": "groupId, #timestamp, imageId",
        "FilterExpression": "#timestamp < :cutoff",
        "ExpressionAttributeNames": {"#timestamp": "timestamp"},
        "ExpressionAttributeValues": _attributes({":cutoff": cutoff}),
    }
    if start_key:
        request["ExclusiveStartKey"] = _attributes(start_key)
    return _page(dynamodb().scan(**request), ("groupId", "timestamp", "imageId"), IMAGE_KEY)


def delete_image(image: Mapping[str, str]) -> bool:
    """Delete the item of `image` (groupId, timestamp) if it still holds that imageId; False if not."""
    client = dynamodb()
    try:
        client.delete_item(
            TableName=os.environ["IMAGES_TABLE"],
            Key=_attributes({name: image[name] for name in IMAGE_KEY}),
            ConditionExpression="imageId = :imageId",
            ExpressionAttributeValues=_attributes({":imageId": image["imageId"]}),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def timestamp_of(moment: datetime) -> str:
    """`moment` in the form of `new_timestamp`, for comparing with stored timestamps."""
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)
