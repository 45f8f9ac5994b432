"""Events, contexts and module loading for the event handler tests (thumbnail, notifier, WebSocket).

Events are built from the real SNS-wrapped S3 notification in ``data/`` so their shape is
what the subscribers receive in AWS.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

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
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

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
