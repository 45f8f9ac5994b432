"""POST /groups: create a group owned by the caller (groups table write only)."""

from __future__ import annotations

import uuid
from typing import Any

import repository
from api_common import Api, count, current_user_id, json_body
from idempotency import idempotency_key, once
from request_validation import CREATE_GROUP, validated

api = Api()


def create_group(*, name: str, description: str, user_id: str) -> dict[str, str]:
    """Store a new group with a server-made id and timestamp, and return it."""
    group = {
        "id": str(uuid.uuid4()),
        "userId": user_id,
        "name": name,
        "description": description,
        "timestamp": repository.new_timestamp(),
    }
    repository.put_group(group)
    count("GroupsCreated")
    return group


@api.post("/groups")
def _create_group() -> tuple[dict[str, Any], int]:
    user_id = current_user_id(api)
    body = validated(CREATE_GROUP, json_body(api))

    def create() -> dict[str, str]:
        return create_group(name=body["name"], description=body["description"], user_id=user_id)

    key = idempotency_key(api)
    group = (
        create()
        if key is None
        else once(api, "POST /groups", user_id=user_id, key=key, request=body, create=create)
    )
    return {"newItem": group}, 201


handler = api.handler
