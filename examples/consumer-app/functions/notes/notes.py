"""The notes API's request handling, without AWS calls: tested with plain dicts.

API Gateway has already checked the SigV4 signature (IAM authorization) and the body's JSON
Schema; these functions still check what they rely on, so a misconfigured route fails with a
400 instead of writing bad data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_NOTE_ID = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex, as create_note makes them


class BadRequestError(ValueError):
    """The request cannot be served; the message is safe to return to the caller."""


@dataclass(frozen=True)
class Request:
    route: str  # "<METHOD> <resource>", e.g. "POST /notes/{noteId}/attachments"
    user_id: str
    body: dict[str, Any]
    note_id: str | None


def parse_request(event: dict[str, Any]) -> Request:
    """The route, the IAM caller and the JSON body of an API Gateway REST proxy event."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    user_id = identity.get("caller")
    if not user_id:
        raise BadRequestError("the request carries no IAM caller; the route must use IAM authorization")
    raw_body = event.get("body") or "{}"
    try:
        body = json.loads(raw_body)
    except json.JSONDecodeError as error:
        raise BadRequestError(f"the body is not JSON: {error.msg}") from error
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    note_id = (event.get("pathParameters") or {}).get("noteId")
    if note_id is not None and not _NOTE_ID.match(note_id):
        raise BadRequestError("noteId must be the 32 hex characters returned when the note was created")
    return Request(
        route=f"{event.get('httpMethod')} {event.get('resource')}",
        user_id=user_id,
        body=body,
        note_id=note_id,
    )


def new_note(request: Request, *, note_id: str, created_at: str, max_length: int) -> dict[str, str]:
    """The item to store for POST /notes."""
    text = request.body.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= max_length:
        raise BadRequestError(f"text must be a string of 1 to {max_length} characters")
    return {"userId": request.user_id, "noteId": note_id, "text": text, "createdAt": created_at}


def attachment_content_type(request: Request, allowed: list[str]) -> str:
    """The attachment's content type for POST /notes/{noteId}/attachments, one the store accepts."""
    content_type = request.body.get("contentType")
    if content_type not in allowed:
        raise BadRequestError(f"contentType must be one of {', '.join(allowed)}")
    return str(content_type)


def attachment_key(upload_prefix: str, note_id: str) -> str:
    """The object key of a note's attachment, under the store's upload prefix."""
    return f"{upload_prefix}{note_id}"


def public_note(item: dict[str, Any]) -> dict[str, str]:
    """A stored note as the API returns it: the caller's own id stays out of the response."""
    return {"noteId": str(item["noteId"]), "text": str(item["text"]), "createdAt": str(item["createdAt"])}


def response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
