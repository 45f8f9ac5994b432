"""Budget 4: the upload notifier telling 10,000 WebSocket connections about one upload.

A local management endpoint (its own process, so it never competes with the function for the
GIL) answers each post after 20 ms over keep-alive HTTP/1.1, and answers 410 Gone for 5 % of the
connections. The notifier's handler runs in a fresh process against moto's DynamoDB holding the
connections (moto's server, in a process of its own: DynamoDB is remote to a function), with a
Lambda context counting down the function's 30 s timeout. Budgets: every
connection notified or removed within the timeout, in at most 1.5 times the bound the
concurrency sets (connections x 20 ms / NOTIFY_CONCURRENCY).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks._common import PYTHON, ROOT, Budget, Row, Section, moto_server, run_json

CONNECTIONS = 10_000
POST_SECONDS = 0.020
GONE_EVERY = 20  # 5 % of the connections are gone
FUNCTION_TIMEOUT_SECONDS = 30.0  # the Notifier's timeout in app.py
BOUND_BUDGET = 1.5
STAGE = "prod"


def serve(port_file: Path) -> None:
    """The management endpoint: POST /prod/@connections/<id>; GET /stats answers the counts."""
    counts = {"delivered": 0, "gone": 0, "in_flight": 0, "max_in_flight": 0}
    lock = threading.Lock()
    prefix = f"/{STAGE}/@connections/"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway: the client's pool reuses connections

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                counts["in_flight"] += 1
                counts["max_in_flight"] = max(counts["max_in_flight"], counts["in_flight"])
            time.sleep(POST_SECONDS)
            gone = int(self.path.removeprefix(prefix).removeprefix("conn-")) % GONE_EVERY == 0
            with lock:
                counts["in_flight"] -= 1
                counts["gone" if gone else "delivered"] += 1
            if gone:
                self._answer(410, json.dumps({"message": "GoneException"}).encode(), "GoneException")
            else:
                self._answer(200, b"")

        def do_GET(self) -> None:
            with lock:
                self._answer(200, json.dumps(counts).encode())

        def _answer(self, status: int, body: bytes, error_type: str | None = None) -> None:
            self.send_response(status)
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: 10,000 lines of access log would cost more than the posts."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


class _Context:
    """A Lambda context whose remaining time counts down from the function's timeout."""

    function_name = "Notifier"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:Notifier"
    aws_request_id = "bench"

    def __init__(self, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def invoke(endpoint: str) -> None:
    """One invocation of the notifier (in this fresh process); prints its figures as JSON.

    AWS_ENDPOINT_URL_DYNAMODB points boto3 at the moto server holding the connections table.
    """
    import logging  # noqa: PLC0415
    import os  # noqa: PLC0415

    import boto3  # noqa: PLC0415

    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "IMAGE_STORE_UPLOAD_PREFIX": "uploads/",
            "CONNECTIONS_TABLE": "connections",
            "CONNECTIONS_ENDPOINT": endpoint,
            "POWERTOOLS_SERVICE_NAME": "image-sharing",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # A JSON line per gone connection is what Lambda ships to CloudWatch; kept off the terminal.
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT / "lambda" / "notifier"))
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="connections",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = boto3.resource("dynamodb").Table("connections")
    with table.batch_writer() as batch:
        for number in range(CONNECTIONS):
            batch.put_item(Item={"id": f"conn-{number}", "timestamp": "2026-01-01T00:00:00.000Z"})
    import notifier  # type: ignore[import-not-found]  # noqa: PLC0415

    logging.getLogger().setLevel(logging.WARNING)
    notifier.logger.setLevel(logging.WARNING)
    message = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "uploads/img-1"}}}]}
    event = {"Records": [{"Sns": {"Message": json.dumps(message)}}]}
    context = _Context(FUNCTION_TIMEOUT_SECONDS)
    start, cpu = time.perf_counter(), time.process_time()
    outcome = notifier.handler(event, context)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    remaining = dynamodb.scan(TableName="connections", Select="COUNT")["Count"]
    fan_out = notifier.FanOut.from_environment()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "outcome": outcome,
                "connections_left": remaining,
                "concurrency": fan_out.concurrency,
                "max_posts_per_second": fan_out.max_posts_per_second,
            }
        )
    )


def _one_run(work: Path) -> dict[str, Any]:
    port_file = work / "port"
    port_file.unlink(missing_ok=True)
    endpoint = subprocess.Popen([PYTHON, "-m", "benchmarks.fanout", "serve", str(port_file)], cwd=ROOT)
    try:
        with moto_server() as moto:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            port = int(port_file.read_text())
            result: dict[str, Any] = run_json(
                [PYTHON, "-m", "benchmarks.fanout", "invoke", f"http://127.0.0.1:{port}/{STAGE}"],
                env={"AWS_ENDPOINT_URL_DYNAMODB": moto},
            )
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as reply:
                result["endpoint"] = json.loads(reply.read())
    finally:
        endpoint.terminate()
        endpoint.wait()
    return result


def notifier_fan_out(runs: int) -> Section:
    section = Section()
    row = Row(f"fan-out: notifier, {CONNECTIONS:,} connections, 20 ms per post, 5 % gone", "s")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(runs):
            result = _one_run(Path(work))
            results.append(result)
            row.samples.append(result["seconds"])
    expected_gone = len(range(0, CONNECTIONS, GONE_EVERY))
    # The worst run's connections neither notified nor removed, by the endpoint's and the table's counts.
    missed = max(
        (CONNECTIONS - expected_gone - r["endpoint"]["delivered"])
        + (r["connections_left"] - (CONNECTIONS - expected_gone))
        for r in results
    )
    complete = missed == 0 and all(
        r["outcome"] == {"sent": CONNECTIONS - expected_gone, "failed": 0, "removed": expected_gone}
        for r in results
    )
    concurrency = results[0]["concurrency"]
    rate = results[0]["max_posts_per_second"]
    bound = max(CONNECTIONS * POST_SECONDS / concurrency, CONNECTIONS / rate if rate else 0.0)
    section.rows.append(row)
    section.details["fan_out"] = {
        "connections": CONNECTIONS,
        "concurrency": concurrency,
        "max_posts_per_second": rate,
        "bound_seconds": bound,
        "every_connection_notified_or_removed": complete,
        "runs": results,
    }
    section.budgets += [
        Budget("4. fan-out: connections neither notified nor removed (worst run)", missed, 0),
        Budget(
            "4. fan-out: time / the function's 30 s timeout", max(row.samples) / FUNCTION_TIMEOUT_SECONDS, 1.0
        ),
        Budget(
            f"4. fan-out: time / bound ({CONNECTIONS:,} x 20 ms / {concurrency})",
            row.median / bound,
            BOUND_BUDGET,
        ),
    ]
    return section


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    else:
        invoke(sys.argv[2])
