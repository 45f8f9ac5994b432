"""Plumbing shared by the REST API handlers: routing, errors, caller identity, request parsing.

Every error leaves as ``{"message": ...}`` with a 4xx status; anything unexpected is logged
with the request id and becomes a 500 that reveals nothing.

Import cost: importing a handler module must cost at most 1.3x importing boto3. Powertools'
event_handler package alone costs ~0.35x boto3 (its __init__ loads every resolver, asyncio
included), Logger and Metrics more, and building a Tracer imports the X-Ray SDK. So a handler
module only *declares* its routes on an `Api`; the Powertools resolver, Logger, Metrics, Tracer
and the CORS settings are built on the first invocation and reused by the container after that.
The Tracer patches botocore only, and is not built at all when tracing is off
(`constructs_lib.runtime.tracing.traced`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

MAX_BODY_BYTES = 10 * 1024  # the largest valid body is ~1.2 KB; anything far bigger is abuse
DEFAULT_PAGE_SIZE = 20  # a screenful of groups or thumbnails
MAX_PAGE_SIZE = 100  # bounds the DynamoDB read and the number of URLs presigned per request
# Used when POWERTOOLS_METRICS_NAMESPACE is unset, so a metric is never dropped for lack of one.
DEFAULT_METRICS_NAMESPACE = "ImageSharing"
INTERNAL_ERROR = "Internal server error"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PAGE_SIZE = re.compile(r"[0-9]{1,3}")

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
RouteFunction = TypeVar("RouteFunction", bound=Callable[..., Any])


class ApiError(Exception):
    """A request the API refuses: `status` (4xx) and a message safe to show the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@functools.cache
def logger() -> Logger:
    """The container's Powertools Logger (service from POWERTOOLS_SERVICE_NAME)."""
    from aws_lambda_powertools import Logger  # noqa: PLC0415 -- deferred: see the module docstring

    return Logger()


@functools.cache
def metrics() -> Metrics:
    """The container's Powertools Metrics (CloudWatch embedded metric format)."""
    from aws_lambda_powertools import Metrics  # noqa: PLC0415 -- deferred: see the module docstring

    from constructs_lib.runtime import environment as env  # noqa: PLC0415 -- deferred: see the module docstring

    return Metrics(namespace=os.environ.get(env.POWERTOOLS_METRICS_NAMESPACE, DEFAULT_METRICS_NAMESPACE))


def count(metric: str) -> None:
    """Add 1 to `metric` (a Count), published when the current invocation ends."""
    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415 -- deferred: see the module docstring

    metrics().add_metric(name=metric, unit=MetricUnit.Count, value=1)


def _error(status: int, message: str) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response  # noqa: PLC0415 -- deferred: see the module docstring

    return Response(
        status_code=status, content_type="application/json", body=json.dumps({"message": message})
    )


def _refused(error: ApiError) -> Response[str]:
    return _error(error.status, error.message)


def _unknown_route(_: Exception) -> Response[str]:
    return _error(404, "Not found")


def _unexpected(_: Exception) -> Response[str]:
    logger().exception("Unhandled error")
    return _error(500, INTERNAL_ERROR)


class Api:
    """The routes of one Lambda function, served by a Powertools APIGatewayRestResolver.

    Declare routes with `get`/`post` (Powertools path syntax, e.g. ``/groups/<groupId>``) and
    export `handler`. The first invocation builds the resolver with the CORS_* settings, the
    error responses, request-id logging (API Gateway REST correlation id), X-Ray tracing and
    EMF metrics; metrics are flushed only when a handler recorded one.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Callable[..., Any]]] = []
        self._resolver: APIGatewayRestResolver | None = None
        self._entry: LambdaHandler | None = None

    def get(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self._route("GET", path)

    def post(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self._route("POST", path)

    def _route(self, method: str, path: str) -> Callable[[RouteFunction], RouteFunction]:
        def register(function: RouteFunction) -> RouteFunction:
            self._routes.append((method, path, function))
            return function

        return register

    @property
    def current_event(self) -> APIGatewayProxyEvent:
        """The request being handled (only inside a route function)."""
        if self._resolver is None:
            raise RuntimeError("current_event is only available while a request is handled")
        return self._resolver.current_event

    @property
    def lambda_context(self) -> Any:
        """The invocation's Lambda context (only inside a route function)."""
        if self._resolver is None:
            raise RuntimeError("lambda_context is only available while a request is handled")
        return self._resolver.lambda_context

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The Lambda entry point."""
        if self._entry is None:
            self._entry = self._build()
        return self._entry(event, context)

    def _build(self) -> LambdaHandler:
        # Deferred imports: see the module docstring.
        from aws_lambda_powertools.event_handler import APIGatewayRestResolver  # noqa: PLC0415
        from aws_lambda_powertools.event_handler.exceptions import NotFoundError  # noqa: PLC0415
        from aws_lambda_powertools.logging import correlation_paths  # noqa: PLC0415

        from constructs_lib.runtime.cors import cors_config_from_env  # noqa: PLC0415
        from constructs_lib.runtime.tracing import traced  # noqa: PLC0415

        resolver = APIGatewayRestResolver(cors=cors_config_from_env())
        for method, path, function in self._routes:
            resolver.route(path, method)(function)
        resolver.exception_handler(ApiError)(_refused)
        # Registered explicitly: the catch-all would otherwise turn unknown routes into 500s.
        resolver.exception_handler(NotFoundError)(_unknown_route)
        resolver.exception_handler(Exception)(_unexpected)
        self._resolver = resolver

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            response: dict[str, Any] = resolver.resolve(event, context)
            return response

        # Responses hold presigned URLs: they stay out of trace metadata.
        traced_handler = traced(handler, capture_response=False)

        def publishing_metrics(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return traced_handler(event, context)
            finally:
                if metrics().metric_set:
                    metrics().flush_metrics()

        entry: LambdaHandler = logger().inject_lambda_context(
            publishing_metrics, correlation_id_path=correlation_paths.API_GATEWAY_REST
        )
        return entry


def current_user_id(api: Api) -> str:
    """The caller's `sub`, from the claims API Gateway's authorizer verified; else 401.

    The Cognito authorizer passes them at ``requestContext.authorizer.claims``; a Lambda authorizer
    (the library's JwtAuthorizer) can pass only flat values, so its claims are the authorizer's
    context itself, ``requestContext.authorizer.sub``.
    """
    request_context = api.current_event.raw_event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, dict) else None
    claims = authorizer.get("claims", authorizer) if isinstance(authorizer, dict) else None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub:
        raise ApiError(401, "Unauthorized")
    return sub


def json_body(api: Api) -> Any:
    """The request body parsed as JSON: 413 when over MAX_BODY_BYTES, 400 when absent or malformed."""
    event = api.current_event
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


def query_value(api: Api, name: str) -> str | None:
    """The query string parameter `name` (its last value when repeated), or None."""
    value: str | None = api.current_event.get_query_string_value(name)
    return value


def page_size(api: Api) -> int:
    """The `limit` query parameter: a whole number from 1 to MAX_PAGE_SIZE, else 400."""
    text = query_value(api, "limit")
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not _PAGE_SIZE.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def is_uuid(value: object) -> bool:
    """Whether `value` is a UUID in the lowercase form the API creates ids in."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None
