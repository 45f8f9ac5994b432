"""An HTTP request to an AWS endpoint -> who signed it and which API call it is (an `ApiCall`).

The signer's access key and the signing service come from the SigV4 credential scope (the
``Authorization`` header, or ``X-Amz-Credential`` of a presigned URL). The operation comes from
botocore's service model, as the service's protocol carries it: ``X-Amz-Target`` for JSON
protocols, the ``Action`` parameter for query protocols, the path for Smithy RPC v2, and the method,
path, query and required headers of the model's HTTP bindings for REST protocols.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree

import botocore.session  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.local.iam.calls import ApiCall

# SigV4 signing name -> botocore services that sign with it, where the names differ.
log = logging.getLogger("constructs_lib.local.iam")

_SERVICES = {
    "dynamodb": ("dynamodb", "dynamodbstreams"),
    "execute-api": ("apigatewaymanagementapi",),
    "monitoring": ("cloudwatch",),
    "states": ("stepfunctions",),
    "email": ("sesv2", "ses"),
    "es": ("opensearch",),
    "cognito-idp": ("cognito-idp",),
}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_RPC_V2 = re.compile(r"/service/[^/]+/operation/([A-Za-z0-9]+)")


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as it reached the local endpoint (the path still percent-encoded)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Signature:
    """Who signed a request, as its SigV4 credential scope says."""

    access_key: str
    region: str
    service: str
    presigned: bool


def signature(headers: Mapping[str, str], query: Mapping[str, str]) -> Signature | None:
    """The request's signer, or None for an unsigned (anonymous) request."""
    authorization = _header(headers, "authorization")
    if authorization:
        match = _CREDENTIAL.search(authorization)
        return Signature(match.group(1), match.group(2), match.group(3), False) if match else None
    credential = query.get("X-Amz-Credential")
    if credential:
        parts = credential.split("/")
        if len(parts) == 5:
            return Signature(parts[0], parts[2], parts[3], True)
    return None


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


@lru_cache(maxsize=64)
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def api_call(request: HttpRequest, *, signing_name: str, region: str, account: str) -> ApiCall | None:
    """The API call this request makes, or None when no operation of the service matches it."""
    for service in _SERVICES.get(signing_name, (signing_name,)):
        try:
            model = _model(service)
        except Exception:  # botocore raises several unknown-service errors
            log.debug("no botocore model for %s", service)
            continue
        found = _operation(model, request)
        if found is not None:
            operation, params = found
            return ApiCall(service, signing_name, operation, params, region, account)
    return None


def _operation(model: Any, request: HttpRequest) -> tuple[str, dict[str, Any]] | None:
    target = _header(request.headers, "x-amz-target")
    if target:
        prefix, _, operation = target.rpartition(".")
        if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
            return None
        return operation, _json(request.body)
    rpc = _RPC_V2.fullmatch(request.path)
    if rpc and rpc.group(1) in model.operation_names:
        return rpc.group(1), {}
    if model.protocol in ("query", "ec2"):
        form = {**request.query, **dict(parse_qsl(request.body.decode("utf-8", "replace")))}
        operation = form.get("Action", "")
        return (operation, form) if operation in model.operation_names else None
    if model.protocol in ("rest-json", "rest-xml"):
        return _rest(model, request)
    return None


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    query: tuple[tuple[str, str | None], ...]
    required_headers: tuple[str, ...]
    literal: int


@lru_cache(maxsize=64)
def _routes(service: str) -> tuple[_Route, ...]:
    model = _model(service)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        labels = tuple(re.findall(r"\{([^}+]+)\+?\}", path))
        regex = re.sub(r"\\\{[^}]+?\\\+\\\}", "(.+)", re.escape(path))
        regex = re.sub(r"\\\{[^}]+?\\\}", "([^/]+)", regex)
        required_query = tuple(
            (key, value if sep else None)
            for key, sep, value in (item.partition("=") for item in query.split("&") if item)
        )
        shape = operation.input_shape
        required_headers = tuple(
            member.serialization.get("name", key)
            for key, member in (shape.members.items() if shape else ())
            if member.serialization.get("location") == "header" and key in shape.required_members
        )
        routes.append(
            _Route(
                name,
                operation.http.get("method", "POST"),
                re.compile(regex.rstrip("/") + "/?" if regex != "/" else "/"),
                labels,
                required_query,
                required_headers,
                len(re.sub(r"\{[^}]+\}", "", path)),
            )
        )
    return tuple(routes)


def _rest(model: Any, request: HttpRequest) -> tuple[str, dict[str, Any]] | None:
    method, path, query, headers = request.method, request.path, request.query, request.headers
    best: tuple[tuple[int, int, int], _Route, re.Match[str]] | None = None
    for route in _routes(model.service_name):
        if route.method != method:
            continue
        match = route.pattern.fullmatch(path)
        if match is None:
            continue
        if any(key not in query or (value is not None and query[key] != value) for key, value in route.query):
            continue
        if any(not _header(headers, name.lower()) for name in route.required_headers):
            continue
        score = (len(route.query), len(route.required_headers), route.literal)
        if best is None or score > best[0]:
            best = (score, route, match)
    if best is None:
        return None
    _, route, match = best
    return route.operation, _rest_params(model, route, match, request)


def _rest_params(model: Any, route: _Route, match: re.Match[str], request: HttpRequest) -> dict[str, Any]:
    query, headers, body = request.query, request.headers, request.body
    operation = model.operation_model(route.operation)
    labels = {label: unquote(value) for label, value in zip(route.labels, match.groups(), strict=True)}
    params: dict[str, Any] = {}
    if model.protocol == "rest-json":
        params.update(_json(body))
    shape = operation.input_shape
    for key, member in shape.members.items() if shape else ():
        location, name = member.serialization.get("location"), member.serialization.get("name", key)
        if location == "uri" and name in labels:
            params[key] = labels[name]
        elif location == "querystring" and name in query:
            params[key] = query[name]
        elif location == "header" and _header(headers, name.lower()):
            params[key] = _header(headers, name.lower())
    if route.operation == "DeleteObjects":
        params["Delete"] = {"Objects": [{"Key": key} for key in _xml_keys(body)]}
    return params


def _xml_keys(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 -- the SDK's own request body, on loopback
    except ElementTree.ParseError:
        return []
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"]


def model_protocol(service: str) -> str:
    """The protocol `service` (botocore's name) speaks: how its errors must be shaped."""
    if service == "opensearch-http":
        return "rest-json"
    try:
        return str(_model(service).protocol)
    except Exception:  # botocore raises several unknown-service errors
        return "query"


def unsigned_allowed(call: ApiCall) -> bool:
    """Whether AWS serves this operation without a signature (Cognito sign-in, STS web identity): no IAM."""
    try:
        operation = _model(call.service).operation_model(call.operation)
    except Exception:  # botocore raises several unknown-service or unknown-operation errors
        return False
    return bool(operation.auth_type == "none")
