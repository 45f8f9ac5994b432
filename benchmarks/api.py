"""Budget 3: each REST route's latency, cold and warm, against a minimal boto3 handler.

AWS is moto's server in a process of its own (tables and buckets seeded once), as AWS is remote
to a function. Each sample is a fresh process with Lambda's environment (LAMBDA_TASK_ROOT included,
and active tracing as deployed: a sampled trace id per request, segments sent to a UDP socket
standing in for the X-Ray daemon; the minimal handler traces nothing): cold is from before
the first import (boto3 and the handler module) to the first answer (the container's init plus
its first invocation); warm is 200 more requests, reported as p50 and p99. The app's handler
(lambda/api) and benchmarks.api_minimal (the same AWS calls with bare boto3, the same JSON) are
sampled alternately; their answers are compared.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from benchmarks._common import (
    PYTHON,
    ROOT,
    Budget,
    Row,
    Section,
    alternate,
    moto_server,
    run_json,
    serve_json_posts,
)

WARM_REQUESTS = 200
COLD_BUDGET = 1.3
WARM_BUDGET = 1.2
GROUP_ID = "0b6a9d4e-3c1f-4b7a-9a57-2f1e8d6c4b10"
IMAGE_ID = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
USER = {"sub": "5d2f7a1c-0000-4000-8000-000000000001"}
# (module in lambda/api, method, resource, path parameters, body, claims)
ROUTES: dict[str, tuple[str, str, str, dict[str, str], dict[str, str] | None]] = {
    "GET /groups": ("groups_read", "GET", "/groups", {}, None),
    "GET /groups/{groupId}": ("groups_read", "GET", "/groups/{groupId}", {"groupId": GROUP_ID}, None),
    "POST /groups": (
        "groups_write",
        "POST",
        "/groups",
        {},
        {"name": "Holidays", "description": "Summer 2026"},
    ),
    "GET /groups/{groupId}/images": (
        "images_read",
        "GET",
        "/groups/{groupId}/images",
        {"groupId": GROUP_ID},
        None,
    ),
    "GET /images/{imageId}": ("images_read", "GET", "/images/{imageId}", {"imageId": IMAGE_ID}, None),
    "GET /images?q=": ("search", "GET", "/images", {}, None),
    "POST /groups/{groupId}/images": (
        "images_write",
        "POST",
        "/groups/{groupId}/images",
        {"groupId": GROUP_ID},
        {"title": "Beach"},
    ),
}
SEARCH_ROUTE = "GET /images?q="
SEARCH_QUERY = {"q": "image"}
ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "GROUPS_TABLE": "groups",
    "IMAGES_TABLE": "images",
    "IMAGES_ID_INDEX": "imageId-index",
    "IMAGE_STORE_BUCKET": "images",
    "IMAGE_STORE_THUMBNAIL_BUCKET": "thumbnails",
    "IMAGE_STORE_UPLOAD_PREFIX": "uploads/",
    "IMAGE_STORE_THUMBNAIL_PREFIX": "thumbnails/",
    "IMAGE_STORE_UPLOAD_URL_TTL": "300",
    "IMAGE_STORE_DOWNLOAD_URL_TTL": "900",
    "IMAGE_STORE_PRESIGN_ROLE_ARN": "arn:aws:iam::123456789012:role/presign",
    "SEARCH_INDEX": "images",
    "CORS_ALLOW_ORIGINS": "https://app.example.com",
    "POWERTOOLS_SERVICE_NAME": "image-sharing",
    "POWERTOOLS_METRICS_NAMESPACE": "ImageSharing",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def _event(route: str) -> dict[str, Any]:
    _, method, resource, parameters, body = ROUTES[route]
    path = resource
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", value)
    context: dict[str, Any] = {
        "httpMethod": method,
        "path": f"/prod{path}",
        "resourcePath": resource,
        "stage": "prod",
    }
    context |= {"requestId": str(uuid.uuid4()), "identity": {"sourceIp": "203.0.113.7"}}
    if method == "POST":
        context["authorizer"] = {"claims": USER}
    headers = {"origin": "https://app.example.com", "content-type": "application/json"}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": SEARCH_QUERY if route == SEARCH_ROUTE else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in SEARCH_QUERY.items()}
        if route == SEARCH_ROUTE
        else None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _seed(endpoint: str) -> None:
    import boto3  # noqa: PLC0415

    session = boto3.session.Session(
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 -- moto's, not a secret
        region_name="us-east-1",
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    string = [{"AttributeName": "id", "AttributeType": "S"}]
    dynamodb.create_table(
        TableName="groups",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=string,
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName="images",
        KeySchema=[
            {"AttributeName": "groupId", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("groupId", "timestamp", "imageId")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "imageId-index",
                "KeySchema": [{"AttributeName": "imageId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    group = {
        "id": GROUP_ID,
        "userId": USER["sub"],
        "name": "Seed",
        "description": "Seeded",
        "timestamp": "2026-01-01T00:00:00.000000Z",
    }
    dynamodb.put_item(TableName="groups", Item={k: {"S": v} for k, v in group.items()})
    for number, image_id, stamp in _seeded_images():
        image = {"groupId": GROUP_ID, "imageId": image_id, "title": f"Image {number}", "userId": USER["sub"]}
        image["timestamp"] = stamp
        dynamodb.put_item(TableName="images", Item={k: {"S": v} for k, v in image.items()})
    s3 = session.client("s3", endpoint_url=endpoint)
    for bucket in ("images", "thumbnails"):
        s3.create_bucket(Bucket=bucket)


def serve_search(port_file: Path) -> None:
    """OpenSearch's ``_search`` for the search route: the seeded images as hits, highlighted."""

    hits = [
        {
            "_id": image_id,
            "_source": {
                "groupId": GROUP_ID,
                "imageId": image_id,
                "title": f"Image {number}",
                "timestamp": stamp,
            },
            "highlight": {"title": [f"<em>Image</em> {number}"]},
        }
        for number, image_id, stamp in _seeded_images()
    ]
    reply = json.dumps({"took": 1, "hits": {"total": {"value": len(hits)}, "hits": hits}}).encode()

    serve_json_posts(port_file, lambda _body: reply)


def _seeded_images() -> list[tuple[int, str, str]]:
    return [
        (
            number,
            IMAGE_ID if number == 0 else str(uuid.UUID(int=number)),
            f"2026-01-01T00:00:0{number}.000000Z",
        )
        for number in range(5)
    ]


def _comparable(response: dict[str, Any]) -> Any:
    """The answer with what differs by design blanked: new ids, timestamps, URL signatures.

    A URL keeps its query parameters' names, so that both sides must sign alike (SigV4).
    """

    def blank(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: blank(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        if key.endswith("Url") and isinstance(value, str):
            url, _, query = value.partition("?")
            names = "&".join(sorted(pair.partition("=")[0] for pair in query.split("&")))
            # A created image's URLs end in its new id.
            path = url.rsplit("/", 1)[0] + "/<new>" if response["statusCode"] == 201 else url
            return f"{path}?{names}"
        if key in ("id", "imageId", "timestamp") and response["statusCode"] == 201:
            return "<new>"
        return value

    return {"status": response["statusCode"], "body": blank(json.loads(response["body"]))}


def run(side: str, route: str) -> None:
    """In a fresh process: cold (imports + first request), then warm requests; prints JSON."""
    import importlib  # noqa: PLC0415
    import os  # noqa: PLC0415

    os.environ.update(ENVIRONMENT)
    module_name = ROUTES[route][0] if side == "app" else "benchmarks.api_minimal"
    code = ROOT / "lambda" / "api" if side == "app" else ROOT
    # Lambda's runtime always sets it; libraries read it to tell Lambda from elsewhere (the X-Ray
    # SDK samples locally there, but outside Lambda builds two botocore clients for central sampling).
    os.environ["LAMBDA_TASK_ROOT"] = str(code)
    if side == "app":
        sys.path[:0] = [str(code), str(ROOT)]
    # The app as deployed traces every request (active tracing): its segments go to a local "daemon",
    # a UDP socket nobody reads, as they go to Lambda's. The minimal handler does not trace.
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = f"127.0.0.1:{daemon.getsockname()[1]}"
    context = _Context()
    _new_trace_id(os.environ)
    start = time.perf_counter()
    module = importlib.import_module(module_name)
    first = module.handler(_event(route), context)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(WARM_REQUESTS):
        event = _event(route)
        _new_trace_id(os.environ)
        start = time.perf_counter()
        module.handler(event, context)
        warm.append(time.perf_counter() - start)
    daemon.setblocking(False)
    try:
        traced = bool(daemon.recv(65536))
    except BlockingIOError:
        traced = False
    daemon.close()
    if side == "app" and not traced:  # measured without tracing, the figures would flatter the app
        raise SystemExit("the app sent no trace segment to the X-Ray daemon: tracing is off")
    warm.sort()
    print(
        json.dumps(
            {
                "cold": cold,
                "warm_p50": statistics.median(warm),
                "warm_p99": warm[int(len(warm) * 0.99) - 1],
                "answer": _comparable(first),
            }
        )
    )


def _new_trace_id(environment: MutableMapping[str, str]) -> None:
    """What Lambda's runtime sets before each invocation under active tracing: a sampled trace."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    environment["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


class _Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def api_latency(runs: int, assembly: Path) -> Section:
    del assembly  # the environment is the app's, with moto's names: see ENVIRONMENT
    section = Section()
    answers_differ = []
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as work:
        _seed(endpoint)
        port_file = Path(work, "port")
        search = subprocess.Popen([PYTHON, "-m", "benchmarks.api", "serve", str(port_file)], cwd=ROOT)
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        search_endpoint = f"http://127.0.0.1:{int(port_file.read_text())}"
        try:
            for route in ROUTES:
                results: dict[str, list[dict[str, Any]]] = {"app": [], "minimal": []}

                def sample(
                    side: str, route: str = route, results: dict[str, list[dict[str, Any]]] = results
                ) -> float:
                    result = run_json(
                        [PYTHON, "-m", "benchmarks.api", side, route],
                        env={"AWS_ENDPOINT_URL": endpoint, "SEARCH_DOMAIN_ENDPOINT": search_endpoint},
                    )
                    results[side].append(result)
                    return float(result["cold"])

                alternate(runs, lambda: sample("app"), lambda: sample("minimal"))
                if results["app"][0]["answer"] != results["minimal"][0]["answer"]:
                    answers_differ.append(route)
                rows = {}
                for side, label in (("app", "app handler"), ("minimal", "minimal boto3 handler")):
                    for figure in ("cold", "warm_p50", "warm_p99"):
                        # Warm requests take milliseconds: shown in ms (the docs page rounds seconds to 0.01).
                        unit, scale = ("s", 1.0) if figure == "cold" else ("ms", 1000.0)
                        rows[side, figure] = Row(
                            f"api {route}: {label}, {figure.replace('_', ' ')}",
                            unit,
                            [round(r[figure] * scale, 3) for r in results[side]],
                        )
                section.rows += list(rows.values())
                section.budgets += [
                    Budget(
                        f"3. {route} cold (app / minimal)",
                        rows["app", "cold"].median / rows["minimal", "cold"].median,
                        COLD_BUDGET,
                    ),
                    Budget(
                        f"3. {route} warm p50 (app / minimal)",
                        rows["app", "warm_p50"].median / rows["minimal", "warm_p50"].median,
                        WARM_BUDGET,
                    ),
                ]
        finally:
            search.terminate()
            search.wait()
    section.details["api_answers_differ"] = answers_differ
    if answers_differ:
        section.notes.append(
            f"the minimal handler's answer differs from the app's for {', '.join(answers_differ)}"
        )
    return section


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve_search(Path(sys.argv[2]))
    else:
        run(sys.argv[1], sys.argv[2])
