"""Budget 6: the search indexer's throughput against one bulk request of the same documents.

A local endpoint (its own process) answers every ``_bulk`` request with one successful item per
action, as OpenSearch does. In one warm process, alternately request by request: the indexer's
handler with a batch of 100 DynamoDB stream records (INSERT, as the images table writes them),
and one signed bulk request of the same 100 documents, prebuilt, through the same client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import PYTHON, ROOT, Budget, Row, Section, run_json, serve_json_posts

RECORDS = 100
REQUESTS_PER_SAMPLE = 200
INDEXING_BUDGET = 1.2


def serve(port_file: Path) -> None:
    """A bulk endpoint: every action of a request answered created."""

    def answer(body: bytes) -> bytes:
        actions = [json.loads(line) for line in body.decode().splitlines()[::2]]
        items = [{next(iter(action)): {"status": 201, "result": "created"}} for action in actions]
        return json.dumps({"took": 1, "errors": False, "items": items}).encode()

    serve_json_posts(port_file, answer)


def _records() -> list[dict[str, Any]]:
    return [
        {
            "eventName": "INSERT",
            "dynamodb": {
                "SequenceNumber": str(1000 + number),
                "Keys": {"groupId": {"S": "group-1"}, "timestamp": {"S": f"2026-01-01T00:00:{number:02}"}},
                "NewImage": {
                    "groupId": {"S": "group-1"},
                    "timestamp": {"S": f"2026-01-01T00:00:{number:02}"},
                    "imageId": {"S": f"image-{number}"},
                    "title": {"S": f"Summer photo number {number}"},
                    "description": {"S": "A beach at sunset, with people playing volleyball " * 3},
                    "tags": {"SS": ["beach", "summer", "sunset"]},
                    "width": {"N": "4000"},
                    "height": {"N": "3000"},
                    "userId": {"S": "user-1"},
                },
            },
        }
        for number in range(RECORDS)
    ]


def measure(endpoint: str, runs: int) -> None:
    """In one process: alternately time the handler and the bare bulk request; prints JSON."""
    os.environ.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "SEARCH_DOMAIN_ENDPOINT": endpoint,
            "SEARCH_INDEX": "images",
            "SEARCH_ID_ATTRIBUTE": "imageId",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    from constructs_lib.functions.search_indexer import indexer  # noqa: PLC0415
    from constructs_lib.runtime.opensearch import OpenSearchClient  # noqa: PLC0415

    event = {"Records": _records()}
    documents: list[dict[str, Any]] = []
    for record in event["Records"]:
        documents += indexer.bulk_operations(record, "imageId")
    client = OpenSearchClient(endpoint)

    class Context:
        function_name = "indexer"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:indexer"
        aws_request_id = "bench"

    def handler() -> float:
        start = time.perf_counter()
        assert indexer.handler(event, Context()) == {"batchItemFailures": []}  # type: ignore[arg-type]
        return time.perf_counter() - start

    def bulk() -> float:
        start = time.perf_counter()
        client.bulk("images", documents)
        return time.perf_counter() - start

    def sample() -> tuple[float, float]:
        # Interleaved request by request (each side first in turn), so that a burst of load from
        # other processes slows both sides alike instead of one side's whole sample.
        handler_seconds = bulk_seconds = 0.0
        for number in range(REQUESTS_PER_SAMPLE):
            if number % 2:
                bulk_seconds += bulk()
                handler_seconds += handler()
            else:
                handler_seconds += handler()
                bulk_seconds += bulk()
        return handler_seconds / REQUESTS_PER_SAMPLE, bulk_seconds / REQUESTS_PER_SAMPLE

    sample()  # warm: clients, connections, credentials
    samples = [sample() for _ in range(runs)]
    print(json.dumps({"handler": [h for h, _ in samples], "bulk": [b for _, b in samples]}))


def search_indexing(runs: int) -> Section:
    with tempfile.TemporaryDirectory() as work:
        port_file = Path(work, "port")
        server = subprocess.Popen([PYTHON, "-m", "benchmarks.indexing", "serve", str(port_file)], cwd=ROOT)
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            endpoint = f"http://127.0.0.1:{int(port_file.read_text())}"
            result = run_json([PYTHON, "-m", "benchmarks.indexing", "measure", endpoint, str(runs)])
        finally:
            server.terminate()
            server.wait()
    milliseconds = {
        side: [round(seconds * 1000, 3) for seconds in result[side]] for side in ("handler", "bulk")
    }
    handler_row = Row(f"indexing: indexer handler, {RECORDS} stream records", "ms", milliseconds["handler"])
    bulk_row = Row(f"indexing: one bulk request of the same {RECORDS} documents", "ms", milliseconds["bulk"])
    return Section(
        rows=[handler_row, bulk_row],
        budgets=[
            Budget(
                "6. search indexing (indexer / bare bulk request)",
                handler_row.median / bulk_row.median,
                INDEXING_BUDGET,
            )
        ],
    )


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    else:
        measure(sys.argv[2], int(sys.argv[3]))
