"""The two places checks hook in: before moto answers an SDK call, and before the runner delivers an event."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.local._aws import AwsRequest, AwsResponse
from constructs_lib.local._service import DeliveryRequest
from constructs_lib.local.events import EventRouter
from constructs_lib.local.runner import LocalRunner, RunnerOptions
from tests.local.test_event_sources import (
    ACCOUNT,
    IDLE_TIMEOUT,
    REGION,
    Aws,
    FakeInvoker,
    FakeTemplate,
    Resources,
    function_arn,
    lambda_subscription,
)

# A function that lists the queues (one SDK call) and says what happened.
LISTER = """
import boto3, botocore.exceptions
def handler(event, context):
    try:
        return {"queues": boto3.client("sqs").list_queues().get("QueueUrls", [])}
    except botocore.exceptions.ClientError as error:
        return {"error": error.response["Error"]["Code"]}
"""


@pytest.fixture
def lister_run(tmp_path: Path) -> Iterator[LocalRunner]:
    template = {
        "Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Lister": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Code": {"ZipFile": LISTER},
                },
            },
        }
    }
    (tmp_path / "Jobs.template.json").write_text(json.dumps(template))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://222222222222/eu-west-1",
        "properties": {"templateFile": "Jobs.template.json"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"Jobs": stack}}))
    with LocalRunner(tmp_path, RunnerOptions(port=0, websocket_port=0), output=io.StringIO()) as runner:
        yield runner


def test_a_request_check_sees_which_function_calls_and_can_answer_instead_of_moto(
    lister_run: LocalRunner,
) -> None:
    assert lister_run.functions is not None
    (lister,) = lister_run.functions.functions.values()
    seen: list[AwsRequest] = []

    def deny_the_lister(request: AwsRequest) -> AwsResponse | None:
        seen.append(request)
        if request.principal != lister.arn:
            return None
        body = json.dumps({"__type": "AccessDeniedException", "message": "denied by the test"}).encode()
        return AwsResponse(403, [("Content-Type", "application/x-amz-json-1.0")], body)

    allowed = lister_run.invoke(lister.arn, {})
    assert allowed.payload["queues"] and "Jobs" in allowed.payload["queues"][0]
    lister_run.aws.checks.append(deny_the_lister)
    denied = lister_run.invoke(lister.arn, {})
    assert denied.payload == {"error": "AccessDeniedException"}
    (call,) = seen
    assert call.principal == lister.arn
    assert call.access_key is not None and call.access_key.startswith("LOCAL")
    assert b"ListQueues" in call.body or "ListQueues" in call.headers.get("X-Amz-Target", "")


def test_a_delivery_check_can_refuse_a_services_delivery(
    aws: Aws,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = aws.topic("events")
    resources: Resources = {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Allowed": lambda_subscription("Topic", "Allowed"),
        "Refused": lambda_subscription("Topic", "Refused"),
    }
    values: dict[str, Any] = {"Topic": topic, **{f"{n}.Arn": function_arn(n) for n in ("Allowed", "Refused")}}
    requests: list[DeliveryRequest] = []

    def refuse_one(request: DeliveryRequest) -> str | None:
        requests.append(request)
        return "no lambda:InvokeFunction permission for sns" if request.resource.endswith("Refused") else None

    invoker = FakeInvoker()
    router = EventRouter(
        [FakeTemplate(resources, values)],
        invoker=invoker,
        endpoint_url=aws.url,
        region=REGION,
        account=ACCOUNT,
        poll_interval=0.02,
        delivery_checks=[refuse_one],
    )
    with caplog.at_level(logging.WARNING, "constructs_lib.local"):
        router.start()
        try:
            aws.sns.publish(TopicArn=topic, Message="hello")
            assert router.wait_idle(IDLE_TIMEOUT)
        finally:
            router.stop()

    assert [event["Records"][0]["Sns"]["Message"] for event in invoker.events("Allowed")] == ["hello"]
    assert invoker.events("Refused") == []
    assert {(r.principal, r.action, r.source_arn) for r in requests} == {
        ("sns.amazonaws.com", "lambda:InvokeFunction", topic)
    }
    assert (
        f"Delivery refused: sns.amazonaws.com may not lambda:InvokeFunction on {function_arn('Refused')}"
        in (caplog.text)
    )
