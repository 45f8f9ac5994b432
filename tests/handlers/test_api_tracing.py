"""With active tracing, an API request is traced: its handler and every AWS call reach the X-Ray daemon.

The Tracer is built on the first request and patches botocore only (see
constructs_lib/runtime/tracing.py). Run in a fresh interpreter, as Lambda runs a function: the
X-Ray SDK patches botocore for the whole process, which this test session must not inherit. The
test plays the X-Ray daemon: a UDP socket that receives the segment documents the SDK emits.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "lambda" / "api"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
GROUP_ID = "0b6a9d4e-3c1f-4b7a-9a57-2f1e8d6c4b10"

# One GET /groups/{groupId} in a fresh "container", against moto; prints the status code.
INVOCATION = f"""
import json, sys
from moto import mock_aws
with mock_aws():
    import boto3
    boto3.client("dynamodb").create_table(
        TableName="groups",
        KeySchema=[{{"AttributeName": "id", "KeyType": "HASH"}}],
        AttributeDefinitions=[{{"AttributeName": "id", "AttributeType": "S"}}],
        BillingMode="PAY_PER_REQUEST",
    )
    import groups_read
    event = {{
        "resource": "/groups/{{groupId}}", "path": "/groups/{GROUP_ID}", "httpMethod": "GET",
        "headers": {{}}, "multiValueHeaders": {{}}, "pathParameters": {{"groupId": "{GROUP_ID}"}},
        "requestContext": {{"requestId": "r-1", "stage": "prod", "resourcePath": "/groups/{{groupId}}"}},
        "queryStringParameters": None, "body": None, "isBase64Encoded": False,
    }}
    class Context:
        function_name = "groups-read"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:groups-read"
        aws_request_id = "r-1"
    print(groups_read.handler(event, Context())["statusCode"])
"""


def _documents(daemon: socket.socket) -> list[dict[str, Any]]:
    documents = []
    daemon.settimeout(1)
    try:
        while True:
            # Each datagram: a JSON header line, then the segment document.
            documents.append(json.loads(daemon.recv(65536).decode().split("\n", 1)[1]))
    except TimeoutError:
        return documents


def _invoke(daemon_port: int, **environment: str) -> str:
    """The status code of the request, made in a fresh interpreter that sends traces to `daemon_port`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(API), str(ROOT)]),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "GROUPS_TABLE": "groups",
        "CORS_ALLOW_ORIGINS": "https://app.example.com",
        "POWERTOOLS_SERVICE_NAME": "image-sharing",
        "POWERTOOLS_METRICS_NAMESPACE": "ImageSharing",
        # What Lambda sets for a function with active tracing.
        "LAMBDA_TASK_ROOT": str(API),
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon_port}",
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-c", INVOCATION], cwd=API, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_an_api_request_sends_its_handler_and_aws_calls_to_xray() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        status = _invoke(daemon.getsockname()[1])
        documents = _documents(daemon)

    assert status == "404"  # no such group: the request ran, its DynamoDB call included
    by_name = {document["name"]: document for document in documents}
    assert set(by_name) == {"## handler", "dynamodb"}
    handler, call = by_name["## handler"], by_name["dynamodb"]
    assert handler["trace_id"] == call["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert handler["parent_id"] == "53995c3f42cd8ad8"  # under Lambda's own segment for the invocation
    assert call["parent_id"] == handler["id"]  # the AWS call is inside the handler's subsegment
    assert call["aws"]["operation"] == "GetItem"
    assert call["aws"]["table_name"] == "groups"
    assert handler["annotations"] == {"ColdStart": True, "Service": "image-sharing"}
    # Responses hold presigned URLs: they stay out of the trace.
    assert "handler response" not in json.dumps(handler.get("metadata", {}))


def test_with_tracing_disabled_nothing_reaches_xray() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        status = _invoke(daemon.getsockname()[1], POWERTOOLS_TRACE_DISABLED="true")
        documents = _documents(daemon)

    assert status == "404"
    assert documents == []
