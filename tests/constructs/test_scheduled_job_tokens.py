"""ScheduledJob with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the construct skips it at synth; a token
duration in another unit than the one Scheduler takes raises our ValueError. Nothing here synthesizes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Template

from constructs_lib import ScheduledJob, ServerlessFunction
from tests.cdk import number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


def _function(stack: Stack, name: str) -> ServerlessFunction:
    return ServerlessFunction(stack, name, entry=ECHO, invoked_asynchronously=True)


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    job = ScheduledJob(
        stack,
        "Tokens",
        function=_function(stack, "Job"),
        schedule="rate(1 hour)",
        flexible_time_window=Duration.minutes(number_token(stack, "Window")),
        retry_attempts=number_token(stack, "Retries"),
        max_event_age=Duration.seconds(number_token(stack, "EventAge")),
    )
    # One synth: the tokens must reach the template as references to their parameters.
    schedule = Template.from_stack(stack).find_resources("AWS::Scheduler::Schedule")
    properties = schedule[stack.get_logical_id(job.schedule.node.default_child)]["Properties"]  # type: ignore[arg-type]
    assert properties["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": {"Ref": "EventAge"},
        "MaximumRetryAttempts": {"Ref": "Retries"},
    }
    assert properties["FlexibleTimeWindow"] == {
        "Mode": "FLEXIBLE",
        "MaximumWindowInMinutes": {"Ref": "Window"},
    }


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        ScheduledJob(
            stack,
            "Units",
            function=_function(stack, "UnitsJob"),
            schedule="rate(1 hour)",
            flexible_time_window=Duration.seconds(number_token(stack, "WindowSeconds")),
            max_event_age=Duration.minutes(number_token(stack, "EventAgeMinutes")),
        )
    assert str(raised.value) == (
        "Test/Units: 2 invalid props:\n"
        "  - flexible_time_window: comes from a token, which aws-cdk-lib cannot convert at synth; give it in "
        "minutes (Duration.minutes(...)), the unit CloudFormation takes\n"
        "  - max_event_age: comes from a token, which aws-cdk-lib cannot convert at synth; give it in "
        "seconds (Duration.seconds(...)), the unit CloudFormation takes"
    )
    assert re.search("jsii", str(raised.value)) is None
