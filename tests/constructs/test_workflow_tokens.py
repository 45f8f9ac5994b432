"""Workflow with a duration and a number from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the workflow skips it at synth; a token
timeout in another unit than seconds raises our ValueError (issue #18). Nothing here synthesizes: the
state machine's definition is resolved in the stack instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_stepfunctions as sfn

from constructs_lib import ServerlessFunction, Workflow, lambda_task
from tests.cdk import number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


def test_token_duration_and_number_build(stack: Stack) -> None:
    task = lambda_task(
        stack,
        "Step",
        ServerlessFunction(stack, "Fn", entry=ECHO),
        max_attempts=number_token(stack, "Attempts"),
    )
    workflow = Workflow(
        stack, "Tokens", definition=task, timeout=Duration.seconds(number_token(stack, "Timeout"))
    )
    machine = workflow.state_machine.node.default_child
    assert isinstance(machine, sfn.CfnStateMachine)
    parts = stack.resolve(machine.definition_string)["Fn::Join"][1]
    # The parameters' values are spliced into the definition's JSON as numbers.
    assert {"Ref": "Timeout"} in parts and {"Ref": "Attempts"} in parts
    text = "".join(part if isinstance(part, str) else "0" for part in parts)
    definition = json.loads(text)
    assert definition["TimeoutSeconds"] == 0
    assert definition["States"]["Step"]["Retry"][0]["MaxAttempts"] == 0


def test_token_duration_in_another_unit_raises(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        Workflow(
            stack,
            "Minutes",
            definition=sfn.Pass(stack, "Pass"),
            timeout=Duration.minutes(number_token(stack, "TimeoutMinutes")),
        )
    assert str(raised.value) == (
        "Test/Minutes: timeout: comes from a token, which aws-cdk-lib cannot convert at synth; give it in "
        "seconds (Duration.seconds(...)), the unit CloudFormation takes"
    )
