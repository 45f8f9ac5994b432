"""Real SDK requests for the mapping tests: botocore builds and signs them, nothing is sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from constructs_lib.local.iam.wire import HttpRequest

ENDPOINT = "http://127.0.0.1:5999"
REGION = "us-east-1"
ACCOUNT = "111111111111"


class _CapturedError(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _capture(request: Any, **_: Any) -> AWSResponse:
    raise _CapturedError(request)


def sdk_request(service: str, operation: str, access_key: str = "AKIDLOCAL", **params: Any) -> HttpRequest:
    """The HTTP request boto3 sends for `operation` (snake_case) with `params`, as an endpoint gets it."""
    client = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, account_id_endpoint_mode="disabled"),
    )
    client.meta.events.register_first("before-send", _capture)
    try:
        getattr(client, operation)(**params)
    except _CapturedError as captured:
        return from_prepared(captured.request)
    raise AssertionError("botocore sent nothing")


def from_prepared(request: Any) -> HttpRequest:
    parts = urlsplit(request.url)
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(
        method=request.method,
        path=parts.path or "/",
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        headers={
            key: value.decode() if isinstance(value, bytes) else value
            for key, value in request.headers.items()
        },
        body=bytes(body),
    )


def presigned(client_method: str, **params: Any) -> HttpRequest:
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="ASIAPRESIGN",
        aws_secret_access_key="secret",
        aws_session_token="token",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url = client.generate_presigned_url(client_method, Params=params, ExpiresIn=60)
    parts = urlsplit(url)
    method = {"put_object": "PUT", "get_object": "GET"}[client_method]
    return HttpRequest(method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), {}, b"")
