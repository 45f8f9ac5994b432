"""Plumbing shared by the REST API handlers: resolver, errors, caller identity, request parsing.

Every error leaves as ``{"message": ...}`` with a 4xx status; anything unexpected is logged
with the request id and becomes a 500 that reveals nothing. Imports stay light: an API
function's cold start is dominated by what its modules import.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from constructs_lib.runtime.cors import cors_config_from_env

MAX_BODY_BYTES = 10 * 1024  # the largest valid body is ~1.2 KB; anything far bigger is abuse
DEFAULT_PAGE_SIZE = 20  # a screenful of groups or thumbnails
MAX_PAGE_SIZE = 100  # bounds the DynamoDB read and the number of URLs presigned per request
# Used when POWERTOOLS_METRICS_NAMESPACE is unset, so a metric is never dropped for lack of one.
DEFAULT_METRICS_NAMESPACE = "ImageSharing"
INTERNAL_ERROR = "Internal server error"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PAGE_SIZE = re.compile(r"[0-9]{1,3}")

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE))


class ApiError(Exception):
    """A request the API refuses: `status` (4xx) and a message safe to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps({"message": message})
    )


def new_resolver() -> APIGatewayRestResolver:
    """A REST resolver with the CORS_* settings and the API's error responses."""
    app = APIGatewayRestResolver(cors=cors_config_from_env())

    app.exception_handler(ApiError)(_refused)
    # Registered explicitly: the catch-all would otherwise turn unknown routes into 500s.
    app.not_found(_unknown_route)
    app.exception_handler(Exception)(_unexpected)
    return app


def _refused(error: ApiError) -> Response[str]:
    return _error(error.status, error.message)


def _unknown_route(_: NotFoundError) -> Response[str]:
    return _error(404, "Not found")


def _unexpected(_: Exception) -> Response[str]:
    logger.exception("Unhandled error")
    return _error(500, INTERNAL_ERROR)


def entrypoint(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler for `app`: request-id logging, X-Ray tracing and EMF metrics.

    The Tracer is built on the first invocation instead of at import: building it imports the
    X-Ray SDK and patches botocore (~40 ms), which would more than double the module's import
    cost. Metrics are flushed only when a handler recorded one, so read-only requests print no
    empty-metrics warning.
    """

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    traced: Callable[[dict[str, Any], LambdaContext], dict[str, Any]] | None = None

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        nonlocal traced
        if traced is None:
            # Responses hold presigned URLs: they stay out of trace metadata.
            traced = Tracer().capture_lambda_handler(handler, capture_response=False)
        try:
            return traced(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return lambda_handler


def current_user_id(app: APIGatewayRestResolver) -> str:
    """The caller's Cognito `sub`, from the claims API Gateway's authorizer verified; else 401."""
    request_context = app.current_event.raw_event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, dict) else None
    claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub:
        raise ApiError(401, "Unauthorized")
    return sub


def json_body(app: APIGatewayRestResolver) -> Any:
    """The request body parsed as JSON: 413 when over MAX_BODY_BYTES, 400 when absent or malformed."""
    event = app.current_event
    raw = event.body
    if raw is None or raw == "":
        raise ApiError(400, "Request body is required")
    if not isinstance(raw, str):
        raise ApiError(400, "Request body must be JSON")
    try:
        if event.is_base64_encoded is True:
            if len(raw) > 2 * MAX_BODY_BYTES:
                raise ApiError(413, f"Request body exceeds {MAX_BODY_BYTES} bytes")
            data = base64.b64decode(raw, validate=True)
        else:
            data = raw.encode("utf-8", errors="surrogatepass")
    except (binascii.Error, ValueError) as error:
        raise ApiError(400, "Request body is not valid base64") from error
    if len(data) > MAX_BODY_BYTES:
        raise ApiError(413, f"Request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ApiError(400, "Request body must be JSON") from error


def page_size(app: APIGatewayRestResolver) -> int:
    """The `limit` query parameter: a whole number from 1 to MAX_PAGE_SIZE, else 400."""
    text = app.current_event.get_query_string_value("limit")
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not _PAGE_SIZE.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def is_uuid(value: object) -> bool:
    """Whether `value` is a UUID in the lowercase form the API creates ids in."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None
