"""DELETE /groups/{groupId}: the tasks of the two workflows that delete a group.

The route is Step Functions itself (ServerlessApi.add_workflow_route): an Express workflow runs
`authorize` synchronously (its errors become the route's 404 and 403), then starts the Standard
deletion workflow, whose execution id the route answers with (202). The deletion workflow pages
through the group's images (`list_images`: one page, split in batches), deletes each batch with a
Map state (`delete_images`: upload object, thumbnail, item; the table stream removes the search
document), and loops until no page is left; only then `delete_group` removes the group item. A failed
execution leaves the group in place (GET still finds it, DELETE may be sent again: every step is
idempotent), and it is recorded: its history, and the workflow's failed-executions alarm.

Errors (their class names are the Step Functions error names the route maps):
GroupNotFound -> 404, NotOwner -> 403.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import repository
from api_common import is_uuid
from image_links import thumbnail_key, upload_key

PAGE_SIZE = 100  # images per listing: one task's output stays far below Step Functions' 256 KB
BATCH_SIZE = 25  # images per delete task: one S3 DeleteObjects call per bucket and 25 item deletes


class GroupNotFound(Exception):  # noqa: N818 -- the error name the route maps to 404
    """No group has this id."""


class NotOwner(Exception):  # noqa: N818 -- the error name the route maps to 403
    """The caller did not create the group."""


@functools.cache
def _s3() -> Any:
    return boto3.client("s3")


def authorize(group_id: str, caller: str) -> dict[str, str]:
    """The group to delete, if `caller` (a Cognito sub) owns it."""
    group = repository.get_group(group_id) if is_uuid(group_id) else None
    if group is None:
        raise GroupNotFound("Group not found")
    if not caller or group.get("userId") != caller:
        raise NotOwner("Only the group's owner may delete it")
    return {"groupId": group_id}


def list_images(group_id: str, next_key: dict[str, str] | None) -> dict[str, Any]:
    """One page of the group's images (keys and ids), in batches of BATCH_SIZE, and where to go on."""
    page = repository.list_images(group_id, limit=PAGE_SIZE, start_key=next_key)
    images = [{name: image[name] for name in ("groupId", "timestamp", "imageId")} for image in page.items]
    batches = [images[start : start + BATCH_SIZE] for start in range(0, len(images), BATCH_SIZE)]
    return {"groupId": group_id, "batches": batches, "nextKey": page.last_key}


def delete_images(images: list[dict[str, str]]) -> dict[str, int]:
    """Delete each image's upload and thumbnail, then its item (after its files: a failure leaves
    the item, so a retry finds the image again). Raises when S3 could not delete an object."""
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common

    if not images:
        return {"deleted": 0}
    for bucket, keys in (
        (env.require(env.IMAGE_STORE_BUCKET), [upload_key(image["imageId"]) for image in images]),
        (
            env.require(env.IMAGE_STORE_THUMBNAIL_BUCKET),
            [thumbnail_key(image["imageId"]) for image in images],
        ),
    ):
        reply = _s3().delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
        failed = reply.get("Errors", [])
        if failed:
            example = f"{failed[0]['Key']}: {failed[0]['Code']}"
            raise RuntimeError(f"S3 could not delete {len(failed)} objects, e.g. {example}")
    deleted = sum(repository.delete_image(image) for image in images)
    return {"deleted": deleted}


def delete_group(group_id: str) -> dict[str, str]:
    repository.delete_group(group_id)
    return {"groupId": group_id}


# Lambda entry points (one function each: each role has only its own calls).


def authorize_handler(event: dict[str, Any], context: object) -> dict[str, str]:
    return authorize(str(event["path"]["groupId"]), str(event.get("caller") or ""))


def list_images_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return list_images(str(event["groupId"]), event.get("nextKey"))


def delete_images_handler(event: dict[str, Any], context: object) -> dict[str, int]:
    return delete_images(list(event["images"]))


def delete_group_handler(event: dict[str, Any], context: object) -> dict[str, str]:
    return delete_group(str(event["groupId"]))
