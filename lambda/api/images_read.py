"""GET /groups/{groupId}/images and GET /images/{imageId}: public reads with presigned GET URLs.

Role: read the groups and images tables; sign through the image store's presign role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import repository
from api_common import Api, ApiError, is_uuid, page_size, query_value
from image_links import with_urls
from pagination import decode_next_key, encode_next_key

api = Api()


def _image_key_rules(group_id: str) -> dict[str, Callable[[str], bool]]:
    # A token from another group's listing would page through that group: refuse it.
    return {"groupId": lambda value: value == group_id, "timestamp": repository.is_timestamp}


def list_group_images(group_id: str, *, limit: int, next_key: str | None) -> dict[str, Any]:
    """One page of the group's images, newest first, with URLs; 404 for an unknown group."""
    if not is_uuid(group_id) or repository.get_group(group_id) is None:
        raise ApiError(404, "Group not found")
    start_key = decode_next_key(next_key, _image_key_rules(group_id))
    page = repository.list_images(group_id, limit=limit, start_key=start_key)
    return {"items": [with_urls(image) for image in page.items], "nextKey": encode_next_key(page.last_key)}


def get_image(image_id: str) -> dict[str, str]:
    """The image with URLs, or 404."""
    image = repository.get_image(image_id) if is_uuid(image_id) else None
    if image is None:
        raise ApiError(404, "Image not found")
    return with_urls(image)


@api.get("/groups/<groupId>/images")
def _list_group_images(groupId: str) -> dict[str, Any]:  # noqa: N803 -- the route's path parameter name
    return list_group_images(groupId, limit=page_size(api), next_key=query_value(api, "nextKey"))


@api.get("/images/<imageId>")
def _get_image(imageId: str) -> dict[str, str]:  # noqa: N803 -- the route's path parameter name
    return get_image(imageId)


handler = api.handler
