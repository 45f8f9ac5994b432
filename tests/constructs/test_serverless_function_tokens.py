"""ServerlessFunction with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the function skips it at synth; a token
duration in another unit than seconds raises our ValueError (issue #18). One synth checks the tokens
reach the template as references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Template

from constructs_lib import ServerlessFunction
from tests.cdk import TOKEN_UNIT, number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        ServerlessFunction(
            stack,
            "Minutes",
            entry=ECHO,
            timeout=Duration.minutes(number_token(stack, "TimeoutMinutes")),
            invoked_asynchronously=True,
            async_max_event_age=Duration.hours(number_token(stack, "AgeHours")),
        )
    unit = TOKEN_UNIT.format("seconds")
    assert str(raised.value) == (
        f"Test/Minutes: 2 invalid props:\n  - timeout: {unit}\n  - async_max_event_age: {unit}"
    )


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    ServerlessFunction(
        stack,
        "Fn",
        entry=ECHO,
        memory_size=number_token(stack, "Memory"),
        timeout=Duration.seconds(number_token(stack, "Timeout")),
        reserved_concurrent_executions=number_token(stack, "Reserved"),
        invoked_asynchronously=True,
        async_retry_attempts=number_token(stack, "Retries"),
        async_max_event_age=Duration.seconds(number_token(stack, "EventAge")),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "MemorySize": {"Ref": "Memory"},
            "Timeout": {"Ref": "Timeout"},
            "ReservedConcurrentExecutions": {"Ref": "Reserved"},
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"MaximumRetryAttempts": {"Ref": "Retries"}, "MaximumEventAgeInSeconds": {"Ref": "EventAge"}},
    )
