"""The Idempotency-Key header of the POST routes, through Powertools' idempotency utility.

A client that retries a request with the same key gets the first response instead of a second item.
The record's key is the route, the caller's Cognito `sub` and the header, so two users' keys never
meet; the request body (with the path parameters) is the payload Powertools compares: the same key
with another body is a 422, and a retry while the first request still runs is a 409. Records expire
after IDEMPOTENCY_EXPIRY_SECONDS (default one hour), and DynamoDB's TTL deletes them.

Powertools is imported only when a request carries the header: without it nothing changes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import repository
from api_common import Api, ApiError

HEADER = "Idempotency-Key"
DEFAULT_EXPIRY_SECONDS = 3600  # a client's retries come within minutes; an hour covers a long outage
# Printable ASCII without spaces, as the IETF draft's examples (UUIDs, random tokens); bounded so the key
# cannot bloat the record.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")

IN_PROGRESS = "A request with this Idempotency-Key is still in progress; retry it later"
OTHER_BODY = "This Idempotency-Key was already used with a different request; use a new key"


def idempotency_key(api: Api) -> str | None:
    """The request's Idempotency-Key header (any case), None without one; 400 when malformed."""
    value: str | None = api.current_event.headers.get(HEADER)  # case-insensitive in Powertools v3
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise ApiError(400, f"{HEADER} must be 1 to 255 visible ASCII characters")
    return value


def once(
    api: Api, route: str, *, user_id: str, key: str, request: dict[str, Any], create: Callable[[], Any]
) -> Any:
    """`create()`'s result, computed once per (route, user, key) within the expiry; 409/422 as above."""
    # Deferred: only requests with the header pay for the utility's import.
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        expires_after_seconds=int(os.environ.get("IDEMPOTENCY_EXPIRY_SECONDS", DEFAULT_EXPIRY_SECONDS)),
    )
    # The in-progress record expires with the invocation: a request cut off by a timeout frees its key.
    config.register_lambda_context(api.lambda_context)
    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see api_common

    store = DynamoDBPersistenceLayer(
        table_name=env.require(env.IDEMPOTENCY_TABLE), boto3_client=repository.dynamodb()
    )

    @idempotent_function(data_keyword_argument="call", persistence_store=store, config=config)
    def run(call: dict[str, Any]) -> Any:
        return create()

    try:
        return run(call={"key": f"{route}#{user_id}#{key}", "request": request})
    except IdempotencyAlreadyInProgressError as error:
        raise ApiError(409, IN_PROGRESS) from error
    except IdempotencyValidationError as error:
        raise ApiError(422, OTHER_BODY) from error
