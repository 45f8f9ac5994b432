"""POST /groups: create a group owned by the caller (groups table write only)."""

from __future__ import annotations

import uuid
from typing import Any

import repository
from api_common import current_user_id, entrypoint, json_body, metrics, new_resolver
from aws_lambda_powertools.metrics import MetricUnit
from request_validation import CREATE_GROUP, validated

app = new_resolver()


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
    metrics.add_metric(name="GroupsCreated", unit=MetricUnit.Count, value=1)
    return group


@app.post("/groups")
def _create_group() -> tuple[dict[str, Any], int]:
    user_id = current_user_id(app)
    body = validated(CREATE_GROUP, json_body(app))
    group = create_group(name=body["name"], description=body["description"], user_id=user_id)
    return {"newItem": group}, 201


handler = entrypoint(app)
