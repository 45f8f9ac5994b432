"""The local Lambda API's Invoke: Event invocations go through the runner's asynchronous path."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from constructs_lib.local._service import ServiceContext
from constructs_lib.local.events import EventRouter
from constructs_lib.local.events.service import Events
from constructs_lib.local.lambda_api import LocalFunction, lambda_server
from constructs_lib.local.runner import RunnerOptions
from tests.local.test_event_sources import (
    IDLE_TIMEOUT,
    REGION,
    Aws,
    FakeInvoker,
    Resources,
    fail,
    function_arn,
    running,
)
from tests.moto_server import moto_server


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as url:
        yield Aws(url)


@contextmanager
def serving(
    invoker: FakeInvoker, queue: Callable[[], Callable[[str, Mapping[str, Any]], str] | None]
) -> Iterator[Any]:
    """A boto3 Lambda client for a local Lambda API over the function "Flaky"."""
    server = lambda_server(
        "127.0.0.1", [LocalFunction("Flaky", function_arn("Flaky"))], invoker.invoke, queue
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),  # a refusal is asserted, not retried
        )
    finally:
        server.shutdown()
        server.server_close()


def _flaky_with_dead_letters(aws: Aws) -> tuple[Resources, dict[str, str], str]:
    dead_url, dead_arn = aws.queue("api-dead-letters")
    resources: Resources = {
        "Flaky": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}}},
        },
        "FlakyInvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {"FunctionName": "Flaky", "Qualifier": "$LATEST", "MaximumRetryAttempts": 1},
        },
    }
    return resources, {"Flaky": "Flaky", "DeadLetters.Arn": dead_arn}, dead_url


def test_an_event_invocation_is_retried_then_dead_lettered_as_lambda_does(aws: Aws) -> None:
    resources, values, dead_url = _flaky_with_dead_letters(aws)
    invoker = FakeInvoker(Flaky=fail)
    with (
        running(aws, resources, values, invoker) as router,
        serving(invoker, lambda: router.invoke_async) as api,
    ):
        response = api.invoke(FunctionName="Flaky", InvocationType="Event", Payload=b'{"n": 1}')
        assert response["StatusCode"] == 202
        request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        assert router.wait_idle(IDLE_TIMEOUT)

    assert invoker.events("Flaky") == [{"n": 1}] * 2  # the call and MaximumRetryAttempts: 1
    (dead,) = aws.messages(dead_url)
    assert json.loads(dead["Body"]) == {"n": 1}
    assert dead["MessageAttributes"]["RequestID"]["StringValue"] == request_id


def test_dry_run_runs_nothing_and_event_without_a_router_is_refused(aws: Aws) -> None:
    invoker = FakeInvoker()
    with serving(invoker, lambda: None) as api:
        assert api.invoke(FunctionName="Flaky", InvocationType="DryRun")["StatusCode"] == 204
        with pytest.raises(ClientError) as refused:
            api.invoke(FunctionName="Flaky", InvocationType="Event", Payload=b"{}")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert refused.value.response["Error"]["Code"] == "ServiceException"
        assert api.invoke(FunctionName="Flaky", Payload=b'{"n": 2}')["StatusCode"] == 200
    assert invoker.events("Flaky") == [{"n": 2}]


@pytest.mark.parametrize(
    "name", ["Flaky", "Flaky:live", function_arn("Flaky"), function_arn("Flaky").split(":", 4)[4] + ":live"]
)
def test_every_function_name_form_lambda_takes_invokes_the_function(aws: Aws, name: str) -> None:
    invoker = FakeInvoker()
    with serving(invoker, lambda: None) as api:
        assert api.invoke(FunctionName=name, Payload=b'{"n": 1}')["StatusCode"] == 200
    assert invoker.events("Flaky") == [{"n": 1}]


def test_an_unstarted_router_refuses_instead_of_running_without_retries(aws: Aws) -> None:
    invoker = FakeInvoker()
    router = EventRouter([], invoker=invoker, endpoint_url=aws.url, region=REGION, account="123456789012")
    with serving(invoker, lambda: router.invoke_async) as api, pytest.raises(ClientError) as refused:
        api.invoke(FunctionName="Flaky", InvocationType="Event", Payload=b"{}")
    assert "start the event router" in refused.value.response["Error"]["Message"]
    assert invoker.calls == []


def test_the_events_service_gives_the_lambda_api_its_asynchronous_path(aws: Aws) -> None:
    context = SimpleNamespace(
        assembly=SimpleNamespace(stacks=[]),
        invoker=FakeInvoker(),
        aws=SimpleNamespace(url=aws.url),
        region=REGION,
        account="123456789012",
        delivery_checks=[],
        invoke_async=None,
        options=RunnerOptions(),
    )
    events = Events()
    events.start(cast(ServiceContext, context))
    try:
        assert events.router is not None
        assert context.invoke_async == events.router.invoke_async
    finally:
        events.stop()
