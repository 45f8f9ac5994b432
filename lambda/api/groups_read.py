"""GET /groups and GET /groups/{groupId}: public reads of the groups table (read-only role)."""

from __future__ import annotations

from typing import Any

import repository
from api_common import Api, ApiError, is_uuid, page_size, query_value
from pagination import decode_next_key, encode_next_key

GROUP_KEY_RULES = {"id": is_uuid}

api = Api()


def list_groups(*, limit: int, next_key: str | None) -> dict[str, Any]:
    """One page of groups and the token of the next page (None after the last)."""
    page = repository.list_groups(limit=limit, start_key=decode_next_key(next_key, GROUP_KEY_RULES))
    return {"items": page.items, "nextKey": encode_next_key(page.last_key)}


def get_group(group_id: str) -> dict[str, str]:
    """The group, or 404: an id that is not a UUID cannot name one."""
    group = repository.get_group(group_id) if is_uuid(group_id) else None
    if group is None:
        raise ApiError(404, "Group not found")
    return group


@api.get("/groups")
def _list_groups() -> dict[str, Any]:
    return list_groups(limit=page_size(api), next_key=query_value(api, "nextKey"))


@api.get("/groups/<groupId>")
def _get_group(groupId: str) -> dict[str, str]:  # noqa: N803 -- the route's path parameter name
    return get_group(groupId)


handler = api.handler
