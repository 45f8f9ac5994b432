"""What the REST API emulator works with: requests, responses, the API's definition and one call's state.

Also the small helpers every part shares (header lookup, media types, IAM-style wildcards).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema  # type: ignore[import-untyped]

LOG = logging.getLogger("constructs_lib.local")

PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway refuses larger request bodies with 413
JSON = "application/json"
# Every API's gateway responses default to this body (the message as a JSON string).
DEFAULT_RESPONSE_TEMPLATE = '{"message":$context.error.messageString}'
# API Gateway's own status code for each gateway response type this emulator answers with.
DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "INVALID_API_KEY": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "UNAUTHORIZED": 401,
}
REQUEST_PARAMETER = re.compile(
    r"method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.(.+)"
)
CONTEXT_REFERENCE = re.compile(r"\$!?(?:\{(context\.[\w.]+)\}|(context\.[A-Za-z][\w]*(?:\.[A-Za-z]\w*)*))")


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as received: raw path (no query), decoded query pairs, headers in order."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP response; the server adds Content-Length."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class GatewayError(Exception):
    """A request API Gateway answers itself, with the gateway response of `response_type`."""

    def __init__(
        self, response_type: str, message: str | None, status: int | None = None, validation_error: str = ""
    ) -> None:
        super().__init__(message)
        self.response_type = response_type
        self.message = message
        self.status = status if status is not None else DEFAULT_STATUS[response_type]
        self.validation_error = validation_error


@dataclass(frozen=True)
class AuthorizerConfig:
    name: str
    type: str  # COGNITO_USER_POOLS, TOKEN or REQUEST
    identity_sources: tuple[str, ...]
    validation_expression: str | None
    user_pools: tuple[tuple[str, str], ...]  # (region, pool id) of each provider
    function_arn: str | None
    ttl: int


@dataclass(frozen=True)
class Method:
    http_method: str
    authorization_type: str
    authorizer: AuthorizerConfig | None
    scopes: tuple[str, ...]
    api_key_required: bool
    required_parameters: tuple[tuple[str, str], ...]  # (location, name)
    validate_parameters: bool
    validate_body: bool
    models: Mapping[str, jsonschema.Draft4Validator]  # by lower-case content type
    integration_type: str
    integration: Mapping[str, Any]
    function_arn: str | None


@dataclass
class Resource:
    resource_id: str
    path: str
    part: str
    children: list[Resource] = field(default_factory=list)
    methods: dict[str, Method] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        """Matching order among siblings: literal parts, then ``{param}``, then ``{proxy+}``."""
        if self.part.startswith("{") and self.part.endswith("+}"):
            return 2
        return 1 if self.part.startswith("{") else 0

    @property
    def parameter(self) -> str:
        return self.part.strip("{}").rstrip("+")


@dataclass(frozen=True)
class GatewayResponseConfig:
    status: int | None
    parameters: Mapping[str, str]
    templates: Mapping[str, str]


@dataclass
class Call:
    """What the gateway knows about one request as it goes through routing and authorization."""

    request: HttpRequest
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extended_request_id: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(10)).decode()
    )
    trace_id: str = field(default_factory=lambda: f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
    started: float = field(default_factory=time.time)
    stage: str | None = None
    path: str = "/"
    resource: Resource | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None
    api_key: str | None = None
    access_key: str | None = None


@dataclass
class ApiDefinition:
    """One REST API as its template defines it: stages, gateway responses, the resource tree."""

    name: str
    api_id: str
    region: str
    account: str
    binary_media_types: tuple[str, ...]
    api_key_source: str
    stages: dict[str, dict[str, str]]
    responses: dict[str, GatewayResponseConfig]
    root: Resource
    by_id: dict[str, Resource]

    def is_binary(self, media_type: str | None) -> bool:
        return media_type is not None and any(
            wildcard_match(pattern, media_type) for pattern in self.binary_media_types
        )


# What gateway response templates may reference (the values `_gateway_response` fills in).
TEMPLATE_CONTEXT = (
    "context.error.message",
    "context.error.messageString",
    "context.error.responseType",
    "context.error.validationErrorString",
    "context.requestId",
    "context.extendedRequestId",
    "context.apiId",
    "context.stage",
)


def is_static(expression: str) -> bool:
    return len(expression) >= 2 and expression.startswith("'") and expression.endswith("'")


def last(pairs: Sequence[tuple[str, str]], name: str, *, ignore_case: bool = False) -> str | None:
    """The last value of `name` among (name, value) pairs."""
    found = None
    for key, value in pairs:
        if key == name or (ignore_case and key.lower() == name.lower()):
            found = value
    return found


def single_and_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Pairs as API Gateway puts them in an event: last value per name, and every value per name."""
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def media_type(request: HttpRequest) -> str | None:
    content_type = last(request.headers, "Content-Type", ignore_case=True)
    return content_type.split(";")[0].strip().lower() if content_type else None


def first_accept(request: HttpRequest) -> str | None:
    accept = last(request.headers, "Accept", ignore_case=True)
    return accept.split(",")[0].split(";")[0].strip().lower() if accept else None


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style matching: ``*`` is any run of characters, ``?`` any one character."""
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, value, re.IGNORECASE if ignore_case else 0) is not None


def parameter(call: Call, location: str, name: str) -> str | None:
    """A request parameter as a method's mapping expressions name it (header, querystring or path)."""
    if location == "header":
        return last(call.request.headers, name, ignore_case=True)
    if location == "querystring":
        return last(call.request.query, name)
    return call.path_parameters.get(name)


def identity(api: ApiDefinition, call: Call, source: str) -> str | None:
    """The value of an authorizer identity source (``method.request.header.Authorization``)."""
    match = REQUEST_PARAMETER.fullmatch(source)
    if match is not None:
        return parameter(call, match.group(1).removeprefix("multivalue"), match.group(2))
    if source.startswith("stageVariables."):
        return api.stages.get(call.stage or "", {}).get(source.removeprefix("stageVariables."))
    return source  # context variables: always present
