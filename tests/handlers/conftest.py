"""Fixtures for the REST API handler tests: API Gateway proxy events, moto tables and buckets,
a presigner with known credentials, and a canned OpenSearch endpoint.

Every folder under ``lambda/`` is put on sys.path, as Lambda makes a function's folder its
import root; module names are unique across folders, so handler modules import side by side.
"""

from __future__ import annotations

import base64
import http.server
import importlib
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
from moto import mock_aws

from constructs_lib.runtime.presign import Presigner
from tests import sigv4
from tests.handlers.events import FakeLambdaContext, create_id_keyed_table

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
for _folder in sorted(LAMBDA.iterdir()):
    if _folder.is_dir() and str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

# Read when a handler module is imported (its resolver is built then), so set before any test imports one.
CORS_ENVIRONMENT = {
    "CORS_ALLOW_ORIGINS": "https://app.example.com,https://admin.example.com",
    "CORS_ALLOW_HEADERS": "Authorization,Content-Type,X-Request-Id",
    "CORS_ALLOW_CREDENTIALS": "true",
    "CORS_MAX_AGE": "600",
}
for _name, _value in CORS_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

GROUPS_TABLE = "groups"
IMAGES_TABLE = "images"
IMAGES_ID_INDEX = "imageId-index"
CONNECTIONS_TABLE = "connections"
IMAGES_BUCKET = "images-bucket"
THUMBNAILS_BUCKET = "thumbnails-bucket"
UPLOAD_URL_TTL = 300
DOWNLOAD_URL_TTL = 3600
API_ENVIRONMENT = {
    "GROUPS_TABLE": GROUPS_TABLE,
    "IMAGES_TABLE": IMAGES_TABLE,
    "IMAGES_ID_INDEX": IMAGES_ID_INDEX,
    "CONNECTIONS_TABLE": CONNECTIONS_TABLE,
    "IMAGE_STORE_BUCKET": IMAGES_BUCKET,
    "IMAGE_STORE_UPLOAD_PREFIX": "uploads/",
    "IMAGE_STORE_THUMBNAIL_BUCKET": THUMBNAILS_BUCKET,
    "IMAGE_STORE_THUMBNAIL_PREFIX": "thumbnails/",
    "IMAGE_STORE_PRESIGN_ROLE_ARN": "arn:aws:iam::123456789012:role/presign",
    "IMAGE_STORE_UPLOAD_URL_TTL": str(UPLOAD_URL_TTL),
    "IMAGE_STORE_DOWNLOAD_URL_TTL": str(DOWNLOAD_URL_TTL),
    "SEARCH_INDEX": "images",
}
# The presign role's session credentials in tests: known, so a test can check URL signatures.
PRESIGN_ACCESS_KEY = "ASIAPRESIGNTESTKEY01"
PRESIGN_SECRET_KEY = "presign/secret/key/for/tests/only/000000"
USER_SUB = "5f1c2d3e-0000-4000-8000-0000000000aa"


def handler_module(name: str) -> ModuleType:
    """Import `lambda/<folder>/<name>.py` (its folder is on sys.path)."""
    return importlib.import_module(name)


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    base64_body: bool = False,
    claims: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as Lambda receives it (absent parts are null, as in AWS)."""
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "httpMethod": method,
        "path": f"/prod{path}",
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "resourcePath": resource or path,
        "stage": "prod",
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": dict(claims)}
    if body is not None and base64_body:
        body = base64.b64encode(body.encode("utf-8", errors="surrogatepass")).decode()
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers) if headers else None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} if headers else None,
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()}
        if query
        else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": base64_body,
    }


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


def invoke(module: ModuleType, event: dict[str, Any]) -> ApiResponse:
    """Run the module's Lambda handler on `event`; the body is parsed as JSON."""
    result = module.handler(event, FakeLambdaContext())
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, ",".join(values))
    return ApiResponse(result["statusCode"], headers, json.loads(result["body"]) if result["body"] else None)


def create_tables() -> None:
    """The reference app's tables, with the key schemas of the contract's Data section."""
    client = boto3.client("dynamodb")
    for name in (GROUPS_TABLE, CONNECTIONS_TABLE):
        create_id_keyed_table(client, name)
    client.create_table(
        TableName=IMAGES_TABLE,
        KeySchema=[
            {"AttributeName": "groupId", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("groupId", "timestamp", "imageId")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": IMAGES_ID_INDEX,
                "KeySchema": [{"AttributeName": "imageId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        BillingMode="PAY_PER_REQUEST",
    )


class _KnownSts:
    """STS stand-in handing the presigner the known test credentials."""

    def assume_role(self, **_: Any) -> dict[str, Any]:
        return {
            "Credentials": {
                "AccessKeyId": PRESIGN_ACCESS_KEY,
                "SecretAccessKey": PRESIGN_SECRET_KEY,
                "SessionToken": "presign-session-token",
                "Expiration": datetime.now(UTC) + timedelta(hours=1),
            }
        }


@pytest.fixture(scope="module")
def api_aws() -> Iterator[None]:
    """One moto account per test module: the app's tables, both buckets, the API environment."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in API_ENVIRONMENT.items():
            patch.setenv(name, value)
        create_tables()
        s3 = boto3.client("s3")
        for bucket in (IMAGES_BUCKET, THUMBNAILS_BUCKET):
            s3.create_bucket(Bucket=bucket)
        repository = handler_module("repository")
        image_links = handler_module("image_links")
        repository.dynamodb.cache_clear()  # clients of an earlier module's moto account are stale
        presigner = Presigner(
            bucket=IMAGES_BUCKET,
            role_arn=API_ENVIRONMENT["IMAGE_STORE_PRESIGN_ROLE_ARN"],
            session_duration_seconds=3600,
            sts_client=_KnownSts(),
        )
        patch.setattr(image_links, "presigner", lambda: presigner)
        yield
        repository.dynamodb.cache_clear()


def signature_matches(url: str, method: str, secret_key: str = PRESIGN_SECRET_KEY) -> bool:
    """Whether `url` carries a valid SigV4 query signature for `method` (host the only signed header)."""
    return sigv4.signature_matches(url, method, secret_key)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class CannedOpenSearch:
    """A local HTTP endpoint standing in for an OpenSearch domain: records requests, replies `reply`."""

    url: str
    status: int = 200
    reply: Any = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)


@contextmanager
def canned_opensearch() -> Iterator[CannedOpenSearch]:
    """Serve a CannedOpenSearch on 127.0.0.1 in a thread; SEARCH_DOMAIN_ENDPOINT points at it."""
    state = CannedOpenSearch(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            state.requests.append(
                RecordedRequest(
                    self.command, self.path, dict(self.headers.items()), json.loads(raw) if raw else None
                )
            )
            payload = json.dumps(state.reply).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test asserts on recorded requests instead."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits up to one interval, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    search = handler_module("search")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEARCH_DOMAIN_ENDPOINT", state.url)
        search.opensearch.cache_clear()
        try:
            yield state
        finally:
            search.opensearch.cache_clear()
            server.shutdown()
            server.server_close()
            thread.join()


def seed_group(name: str = "Dogs", description: str = "Good dogs only") -> dict[str, str]:
    """Create a group through the write handler's business function."""
    created: dict[str, str] = handler_module("groups_write").create_group(
        name=name, description=description, user_id=USER_SUB
    )
    return created


def seed_images(group_id: str, titles: list[str]) -> list[dict[str, Any]]:
    """Create images in order (oldest first) through the write handler's business function."""
    images_write = handler_module("images_write")
    return [images_write.create_image(group_id, title=title, user_id=USER_SUB) for title in titles]
