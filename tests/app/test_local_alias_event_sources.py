"""`make local` with gradual deployments: every trigger of a canary-deployed function invokes its
`live` alias (a qualified ARN or ``name:live``), which the runner runs as the function's one local
copy, under the alias's own permissions: queue, stream, schedule, rule, S3 -> SNS subscriptions and
WebSocket routes, and a workflow's Lambda task."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import Stack
from aws_cdk.cx_api import CloudAssembly
from websockets.sync.client import connect

from constructs_lib import (
    DataStream,
    DeploymentPreference,
    EventBus,
    ImageStore,
    QueueWorker,
    ScheduledJob,
    ServerlessFunction,
    WebSocketApi,
    Workflow,
    lambda_task,
)
from constructs_lib.local.iam.service import IamEnforcement
from constructs_lib.local.runner import LocalRunner
from tests.cdk import new_app, new_stack
from tests.local_apps import ECHO, HANDLER, payloads, produce, serving
from tests.polling import eventually

CANARY = DeploymentPreference.canary(10, 5)


def canary(stack: Stack, name: str, mode: str, **environment: str) -> ServerlessFunction:
    return ServerlessFunction(
        stack,
        name,
        entry=HANDLER,
        environment={"MODE": mode, **environment},
        invoked_asynchronously=mode == "recorder",
        deployment=CANARY,
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    app = new_app(tmp_path_factory.mktemp("alias-event-sources"))
    stack = new_stack(app, "AliasEventSources")
    jobs = QueueWorker(stack, "Jobs", function=canary(stack, "Worker", "worker"), alarms=False)
    ScheduledJob(
        stack, "Sweep", function=canary(stack, "Sweeper", "recorder"), schedule="rate(1 hour)", alarms=False
    )
    bus = EventBus(stack, "Bus", alarms=False)
    bus.add_rule(
        "Pings", event_pattern={"source": ["test.app"]}, targets=[canary(stack, "Listener", "recorder")]
    )
    clicks = DataStream(stack, "Clicks", alarms=False)
    clicks.add_consumer(canary(stack, "Counter", "consumer").function, retry_attempts=1, batch_size=10)
    store = ImageStore(stack, "Store")
    store.add_upload_subscriber(canary(stack, "Uploaded", "recorder").function)
    producer = ServerlessFunction(
        stack,
        "Producer",
        entry=HANDLER,
        environment={
            "MODE": "producer",
            "BUS_NAME": bus.event_bus.event_bus_name,
            "STREAM_NAME": clicks.stream.stream_name,
            "QUEUE_URL": jobs.queue.queue_url,
        },
    )
    store.grant_presign(producer.function)
    step = ServerlessFunction(stack, "Step", entry=ECHO, deployment=CANARY)
    Workflow(stack, "Flow", definition=lambda_task(stack, "Run", step), alarms=False)
    sockets = WebSocketApi(stack, "Sockets")
    for route, name in (("$connect", "OnConnect"), ("$default", "OnMessage")):
        handler = ServerlessFunction(stack, name, entry=ECHO, deployment=CANARY)
        sockets.add_route(
            route,
            handler.function,
            public_reason="A test API" if route == "$connect" else None,
            return_response=route == "$default",
        )
    jobs.grant_send_messages(producer.function)
    bus.grant_put_events(producer.function)
    clicks.grant_write(producer.function)
    return app.synth()


@pytest.fixture(scope="module")
def runner(assembly: CloudAssembly) -> Iterator[LocalRunner]:
    with serving(assembly.directory) as local:
        yield local


def test_every_trigger_reaches_the_alias_and_iam_allows_it(runner: LocalRunner) -> None:
    produce(
        runner,
        messages=["job"],
        records=["click"],
        events=[{"source": "test.app", "detail-type": "Ping", "detail": {}}],
    )
    state = runner.state()
    # Signed as the runner's own scripts sign ("local"): a user's upload, not a function's call.
    s3 = boto3.client(
        "s3",
        endpoint_url=runner.aws_url,
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if "storebucket" in b["Name"]]
    s3.put_object(Bucket=bucket, Key="uploads/photo.jpg", Body=b"x")

    assert eventually(lambda: [b for p in payloads(runner, "Worker") for b in p["bodies"]]) == ["job"]
    assert eventually(lambda: [d for p in payloads(runner, "Counter") if p for d in p["datas"]]) == ["click"]
    assert eventually(lambda: payloads(runner, "Sweeper"))  # the schedule fires at start
    [ping] = eventually(lambda: payloads(runner, "Listener"))
    assert ping["received"]["source"] == "test.app"
    uploads = eventually(
        lambda: [
            p
            for p in payloads(runner, "Uploaded")
            if "photo.jpg" in p["received"]["Records"][0]["Sns"]["Message"]  # the key, URL-encoded
        ]
    )
    assert uploads[0]["received"]["Records"][0]["EventSource"] == "aws:sns"

    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement) and iam.authorizer is not None
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}


def test_websocket_routes_invoke_the_aliases(runner: LocalRunner) -> None:
    (url,) = runner.websocket_apis.values()
    with connect(f"{url}/dev", open_timeout=30) as client:
        client.send(json.dumps({"action": "hello"}))
        assert client.recv(timeout=30) == "{}"
    assert payloads(runner, "OnConnect") and payloads(runner, "OnMessage")
    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement) and iam.authorizer is not None
    invoked = {
        resource
        for usage in iam.authorizer.usage.values()
        for action, resource, _ in usage.allowed
        if action == "lambda:InvokeFunction" and ("-OnConnect" in resource or "-OnMessage" in resource)
    }
    assert len(invoked) == 2 and all(resource.endswith(":live") for resource in invoked)
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}


def test_a_workflow_task_invokes_the_alias(runner: LocalRunner) -> None:
    (arn,) = runner.state()["stateMachines"].values()
    client = boto3.client(
        "stepfunctions",
        endpoint_url=runner.aws_url,
        region_name=runner.state()["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    execution = client.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    def finished() -> dict[str, Any] | None:
        described: dict[str, Any] = client.describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    described = eventually(finished)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"statusCode": 200, "body": "{}"}
    assert payloads(runner, "Step")
    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement) and iam.authorizer is not None
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}


def test_the_banner_lists_the_aliases(runner: LocalRunner) -> None:
    banner = "\n".join(runner.banner())
    assert (
        "Counter:live, Listener:live, OnConnect:live, OnMessage:live, Step:live, Sweeper:live, Uploaded:live"
        in banner
    )
