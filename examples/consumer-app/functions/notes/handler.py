"""Lambda handler of the notes API: GET /notes, POST /notes, POST /notes/{noteId}/attachments.

boto3 comes from the Lambda runtime and ``constructs_lib.runtime`` is staged into the function's
asset by ``ServerlessFunction(include_runtime_helpers=True)``: the asset holds no other packages.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
import notes
from boto3.dynamodb.conditions import Key

from constructs_lib.runtime.presign import Presigner

LIST_LIMIT = 100  # notes per GET /notes: one DynamoDB page, well under the 6 MB response limit

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


@cache
def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["NOTES_TABLE"])


@cache
def _presigner() -> Presigner:
    return Presigner.from_environment()


def _list_notes(request: notes.Request) -> dict[str, Any]:
    result = _table().query(KeyConditionExpression=Key("userId").eq(request.user_id), Limit=LIST_LIMIT)
    return notes.response(200, {"items": [notes.public_note(item) for item in result["Items"]]})


def _create_note(request: notes.Request) -> dict[str, Any]:
    item = notes.new_note(
        request,
        note_id=uuid.uuid4().hex,
        created_at=datetime.now(UTC).isoformat(),
        max_length=int(os.environ["MAX_NOTE_LENGTH"]),
    )
    _table().put_item(Item=item)
    return notes.response(201, notes.public_note(item))


def _create_attachment(request: notes.Request) -> dict[str, Any]:
    assert request.note_id is not None  # the route's path has {noteId}
    allowed = os.environ["IMAGE_STORE_ALLOWED_CONTENT_TYPES"].split(",")
    content_type = notes.attachment_content_type(request, allowed)
    # Only the caller's own notes: the key includes userId, so another user's noteId is not found.
    found = _table().get_item(Key={"userId": request.user_id, "noteId": request.note_id}).get("Item")
    if found is None:
        return notes.response(404, {"message": "no such note"})
    key = notes.attachment_key(os.environ["IMAGE_STORE_UPLOAD_PREFIX"], request.note_id)
    expires_in = int(os.environ["IMAGE_STORE_UPLOAD_URL_TTL"])
    url = _presigner().presigned_put(key, expires_in=expires_in, content_type=content_type)
    return notes.response(201, {"uploadUrl": url, "contentType": content_type, "expiresIn": expires_in})


_ROUTES = {
    "GET /notes": _list_notes,
    "POST /notes": _create_note,
    "POST /notes/{noteId}/attachments": _create_attachment,
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = notes.parse_request(event)
        route = _ROUTES.get(request.route)
        if route is None:
            return notes.response(404, {"message": f"no route {request.route}"})
        return route(request)
    except notes.BadRequestError as error:
        return notes.response(400, {"message": str(error)})
    except Exception:
        logger.exception("request %s failed", getattr(context, "aws_request_id", "unknown"))
        return notes.response(500, {"message": "internal error"})
