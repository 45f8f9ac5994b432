"""Events, contexts and module loading for the event handler tests (thumbnail, notifier, WebSocket).

Events are built from the real SNS-wrapped S3 notification in ``data/`` so their shape is
what the subscribers receive in AWS.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus, unquote

DATA = Path(__file__).resolve().parent / "data"
LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
SAMPLE_SNS_S3_EVENT: dict[str, Any] = json.loads((DATA / "sns-s3-object-created.event.json").read_text())


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes Powertools' Logger reads from the Lambda context."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def load_handler_module(folder: str, module: str) -> ModuleType:
    """Import `lambda/<folder>/<module>.py` the way Lambda does: its folder is the import root."""
    path = str(LAMBDA / folder)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module(module)


def s3_key_in_event(key: str) -> str:
    """How S3 writes a key into a notification: URL-encoded, spaces as '+'."""
    return quote_plus(key, safe="/")


def sns_s3_event(
    bucket: str, *keys: str, event_name: str = "ObjectCreated:Put", size: int = 1024
) -> dict[str, Any]:
    """An SNS event whose message is an S3 notification with one record per key."""
    event = copy.deepcopy(SAMPLE_SNS_S3_EVENT)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    template = message["Records"][0]
    records = []
    for key in keys:
        record = copy.deepcopy(template)
        record["eventName"] = event_name
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = s3_key_in_event(key)
        record["s3"]["object"]["size"] = size
        records.append(record)
    message["Records"] = records
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def sns_s3_test_event(bucket: str) -> dict[str, Any]:
    """The SNS event carrying the s3:TestEvent that S3 sends when a notification is configured."""
    event = copy.deepcopy(SAMPLE_SNS_S3_EVENT)
    event["Records"][0]["Sns"]["Message"] = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-01-01T00:00:00.000Z",
            "Bucket": bucket,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )
    return event


def websocket_event(route_key: str, connection_id: str) -> dict[str, Any]:
    """A WebSocket API route event ($connect or $disconnect) for one connection."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}[route_key]
    return {
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "isBase64Encoded": False,
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": "ZqyAbCdEfGhIjKl=",
            "requestTimeEpoch": 1767225600000,
            "messageDirection": "IN",
            "stage": "prod",
            "connectedAt": 1767225600000,
            "requestId": "ZqyAbCdEfGhIjKl=",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": "abc123",
        },
    }


def emitted_metrics(stdout: str) -> dict[str, float]:
    """Metric name -> summed value, from the CloudWatch EMF lines Powertools printed."""
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


class ConnectionsEndpoint:
    """A local stand-in for API Gateway's connection management API (moto does not answer 410).

    Records each POST to ``/<stage>/@connections/<id>`` as (connection id, JSON body). Answers
    410 GoneException for ids in `gone`, 403 ForbiddenException for ids in `forbidden`, and
    200 otherwise; DELETE answers 204. With `send_error_type` off, errors carry only the status
    code (no ``x-amzn-ErrorType`` header, no body), as some proxies forward them. Each POST is
    answered after `delay` seconds; `max_in_flight` is the most POSTs it was answering at once.
    """

    def __init__(self, stage: str = "prod") -> None:
        self.posts: list[tuple[str, Any]] = []
        self.deletes: list[str] = []
        self.gone: set[str] = set()
        self.forbidden: set[str] = set()
        self.send_error_type = True
        self.delay = 0.0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_handler(stage))
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{stage}"

    def __enter__(self) -> ConnectionsEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.posts.clear()
        self.deletes.clear()
        self.gone.clear()
        self.forbidden.clear()
        self.send_error_type = True
        self.delay = 0.0
        self.max_in_flight = 0

    def _posting(self, change: int) -> None:
        with self._lock:
            self._in_flight += change
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _request_handler(self, stage: str) -> type[BaseHTTPRequestHandler]:
        endpoint = self
        prefix = f"/{stage}/@connections/"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                connection_id = self._connection_id()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint._posting(+1)
                time.sleep(endpoint.delay)
                endpoint._posting(-1)
                if connection_id in endpoint.gone:
                    self._answer(410, "GoneException")
                elif connection_id in endpoint.forbidden:
                    self._answer(403, "ForbiddenException")
                else:
                    endpoint.posts.append((connection_id, json.loads(body)))
                    self._answer(200)

            def do_DELETE(self) -> None:
                endpoint.deletes.append(self._connection_id())
                self._answer(204)

            def _connection_id(self) -> str:
                assert self.path.startswith(prefix), self.path
                return unquote(self.path.removeprefix(prefix))

            def _answer(self, status: int, error_type: str | None = None) -> None:
                if not endpoint.send_error_type:
                    error_type = None
                body = json.dumps({"message": error_type}).encode() if error_type else b""
                self.send_response(status)
                if error_type:
                    self.send_header("x-amzn-ErrorType", error_type)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silenced: the test asserts on the recorded requests instead."""

        return Handler


def create_id_keyed_table(client: Any, name: str) -> None:
    """A table keyed by the string attribute ``id``: the groups and connections tables' schema."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
