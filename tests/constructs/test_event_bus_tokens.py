"""EventBus with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the bus skips it at synth; a token duration
in another unit than the one EventBridge takes raises our ValueError (issue #18). One synth checks the
tokens reach the template as references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Match, Template

from constructs_lib import EventBus, QueueWorker, ServerlessFunction
from tests.cdk import number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
PATTERN = {"source": ["app.orders"]}


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        EventBus(stack, "HoursBus", archive_retention=Duration.hours(number_token(stack, "RetentionHours")))
    assert str(raised.value) == (
        "Test/HoursBus: archive_retention: comes from a token, which aws-cdk-lib cannot convert at synth; "
        "give it in days (Duration.days(...)), the unit CloudFormation takes"
    )
    bus = EventBus(stack, "MinutesBus")
    function = ServerlessFunction(stack, "MinutesJob", entry=ECHO, invoked_asynchronously=True)
    with pytest.raises(ValueError) as raised:
        bus.add_rule(
            "Minutes",
            event_pattern=PATTERN,
            targets=[function],
            max_event_age=Duration.minutes(number_token(stack, "AgeMinutes")),
        )
    assert str(raised.value) == (
        "Test/MinutesBus/add_rule(Minutes): max_event_age: comes from a token, which aws-cdk-lib cannot "
        "convert at synth; give it in seconds (Duration.seconds(...)), the unit CloudFormation takes"
    )


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    bus = EventBus(stack, "Bus", archive_retention=Duration.days(number_token(stack, "RetentionDays")))
    function = ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True)
    worker = QueueWorker(stack, "Worker", function=ServerlessFunction(stack, "WorkerFn", entry=ECHO))
    bus.add_rule(
        "Orders",
        event_pattern=PATTERN,
        targets=[function, worker],
        retry_attempts=number_token(stack, "Retries"),
        max_event_age=Duration.seconds(number_token(stack, "EventAge")),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Events::Archive", {"RetentionDays": {"Ref": "RetentionDays"}})
    retry = {"MaximumEventAgeInSeconds": {"Ref": "EventAge"}, "MaximumRetryAttempts": {"Ref": "Retries"}}
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"Targets": [Match.object_like({"RetryPolicy": retry}), Match.object_like({"RetryPolicy": retry})]},
    )
