"""POST /groups/{groupId}/images: record an image and hand out its presigned upload URL.

Role: read the groups table, write the images table; sign through the presign role.
"""

from __future__ import annotations

import uuid
from typing import Any

import repository
from api_common import Api, ApiError, count, current_user_id, is_uuid, json_body
from idempotency import idempotency_key, once
from image_links import upload_url, with_urls
from request_validation import CREATE_IMAGE, validated

# Two images of one group created in the same microsecond would share a key: take a new timestamp.
MAX_PUT_ATTEMPTS = 3

api = Api()


def create_image(group_id: str, *, title: str, user_id: str) -> dict[str, Any]:
    """Store a new image of the group and return it with its URLs; 404 for an unknown group."""
    return with_links(store_image(group_id, title=title, user_id=user_id))


def with_links(image: dict[str, Any]) -> dict[str, Any]:
    """The response for a stored image: its download URLs and an upload URL, signed now."""
    return {"newItem": with_urls(image), "uploadUrl": upload_url(image["imageId"])}


def store_image(group_id: str, *, title: str, user_id: str) -> dict[str, Any]:
    """Store a new image of the group and return its item; 404 for an unknown group.

    The item also records the uploader's `userId` (kept for accountability, not returned).
    """
    if not is_uuid(group_id) or repository.get_group(group_id) is None:
        raise ApiError(404, "Group not found")
    image_id = str(uuid.uuid4())
    for _ in range(MAX_PUT_ATTEMPTS):
        image = {
            "groupId": group_id,
            "imageId": image_id,
            "title": title,
            "timestamp": repository.new_timestamp(),
        }
        if repository.put_image({**image, "userId": user_id}):
            break
    else:
        raise RuntimeError(
            f"no free timestamp for an image of group {group_id} in {MAX_PUT_ATTEMPTS} attempts"
        )
    count("ImagesCreated")
    return image


@api.post("/groups/<groupId>/images")
def _create_image(groupId: str) -> tuple[dict[str, Any], int]:  # noqa: N803 -- the route's path parameter name
    user_id = current_user_id(api)
    body = validated(CREATE_IMAGE, json_body(api))
    key = idempotency_key(api)
    if key is None:
        return create_image(groupId, title=body["title"], user_id=user_id), 201
    # A retry gets the first image, with URLs signed again: the first upload URL may have expired.
    image = once(
        api,
        "POST /groups/{groupId}/images",
        user_id=user_id,
        key=key,
        request={"groupId": groupId, **body},
        create=lambda: store_image(groupId, title=body["title"], user_id=user_id),
    )
    return with_links(image), 201


handler = api.handler
