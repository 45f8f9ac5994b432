"""How the local Step Functions service answers a Lambda Invoke of an execution: which functions are
local (one rule for synchronous and Event tasks), every form of FunctionName, and a moto release
without the interpreter's parameter bindings that the Event invocation type depends on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from constructs_lib.local._aws import AwsRequest
from constructs_lib.local._types import Invocation
from constructs_lib.local.stepfunctions.service import Workflows

ROOT = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "us-east-1", "111111111111"
ORDERS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
# A function of the app the run does not run (e.g. a Node.js custom resource provider).
NODE = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:node-provider"


class _Stack:
    stack_name = "App"

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        return {"Orders": {}, "Provider": {}} if resource_types == ("AWS::Lambda::Function",) else {}

    def ref(self, logical_id: str) -> str:
        return {"Orders": "orders", "Provider": "node-provider"}[logical_id]


class _Invoker:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        if function_arn != ORDERS:
            raise KeyError(function_arn)
        self.calls.append(function_arn)
        return Invocation("request-1", payload={"ok": True})


@pytest.fixture
def run() -> tuple[Workflows, _Invoker, list[str]]:
    invoker, queued = _Invoker(), []

    def invoke_async(function: str, event: Mapping[str, Any]) -> str:
        queued.append(function)
        return "request-2"

    context = SimpleNamespace(
        region=REGION,
        account=ACCOUNT,
        assembly=SimpleNamespace(stacks=[_Stack()]),  # no state machine: start() stops after reading it
        invoker=invoker,
        runs=lambda function: function == ORDERS,
        invoke_async=invoke_async,
    )
    workflows = Workflows()
    workflows.start(context)  # type: ignore[arg-type]
    return workflows, invoker, queued


def _request(invocation_type: str) -> AwsRequest:
    return AwsRequest(
        principal=None,
        access_key="ASIA-STATES",
        method="POST",
        url="http://127.0.0.1/2015-03-31/functions/x/invocations",
        headers={"X-Amz-Invocation-Type": invocation_type},
        body=b'{"id": 1}',
    )


@pytest.mark.parametrize(
    "function", ["orders", "orders:live", "111111111111:function:orders:7", ORDERS, f"{ORDERS}:live"]
)
def test_every_form_of_function_name_invokes_the_local_function(
    run: tuple[Workflows, _Invoker, list[str]], function: str
) -> None:
    workflows, invoker, queued = run
    answer = workflows._invoke(function, _request("RequestResponse"))
    assert answer is not None and answer.status == 200
    queued_answer = workflows._invoke(function, _request("Event"))
    assert queued_answer is not None and queued_answer.status == 202
    assert invoker.calls == [ORDERS]
    assert queued == [ORDERS]


@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event"])
@pytest.mark.parametrize("function", ["node-provider", NODE, "missing"])
def test_a_function_the_run_does_not_run_is_left_to_moto_whatever_the_invocation_type(
    run: tuple[Workflows, _Invoker, list[str]], function: str, invocation_type: str
) -> None:
    workflows, invoker, queued = run
    assert workflows._invoke(function, _request(invocation_type)) is None  # moto: ResourceNotFound
    assert invoker.calls == [] and queued == []


_WITHOUT_BINDINGS = """
import logging, sys
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_lambda as lambda_task,
)
{change}
logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s")
import constructs_lib.local.runner  # what `python -m constructs_lib.local` imports
from constructs_lib.local.stepfunctions import service
service.warn_if_event_tasks_run_synchronously()
service.warn_if_event_tasks_run_synchronously()
"""


@pytest.mark.parametrize(
    "change",
    [
        "del lambda_task._SUPPORTED_API_PARAM_BINDINGS",  # renamed: AttributeError
        "lambda_task._SUPPORTED_API_PARAM_BINDINGS = {}",  # reshaped: KeyError
        "sys.modules[lambda_task.__name__] = None",  # moved: ImportError
    ],
)
def test_a_moto_without_the_interpreters_parameter_bindings_still_runs(change: str) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _WITHOUT_BINDINGS.format(change=change)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.splitlines() == [
        "WARNING Workflows: this moto's ASL interpreter has no InvocationType for lambda:invoke; "
        "Event-type Lambda tasks run synchronously (the workflow waits for, and fails with, the function)"
    ]


def test_with_this_moto_event_tasks_are_queued() -> None:
    from constructs_lib.local.stepfunctions import service

    assert service.EVENT_TASKS_QUEUED
