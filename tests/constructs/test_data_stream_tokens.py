"""DataStream and its consumers with durations and numbers from tokens (CfnParameters) build without
a jsii trace.

A token is judged only when CloudFormation resolves it, so the stream skips it at synth; a token
duration in another unit than the one Kinesis, Lambda or CloudWatch takes raises our ValueError
(issue #18). One synth checks the tokens reach the template as references.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk.assertions import Template

from constructs_lib import DataStream, ServerlessFunction
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
UNIT = (
    "comes from a token, which aws-cdk-lib cannot convert at synth; give it in {0} (Duration.{0}(...)), "
    "the unit CloudFormation takes"
)


def _number(stack: Stack, name: str) -> Any:
    """A CfnParameter's value: a number token, which props typed int take too (jsii passes a number)."""
    return CfnParameter(stack, name, type="Number").value_as_number


@pytest.fixture(scope="module")
def stack() -> Stack:
    return new_stack(new_app(), "Test")


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        DataStream(
            stack,
            "Units",
            retention_period=Duration.days(_number(stack, "RetentionDays")),
            iterator_age_threshold=Duration.seconds(_number(stack, "IteratorSeconds")),
        )
    assert str(raised.value) == (
        "Test/Units: 2 invalid props:\n"
        f"  - retention_period: {UNIT.format('hours')}\n"
        f"  - iterator_age_threshold: {UNIT.format('millis')}"
    )
    stream = DataStream(stack, "Minutes")
    with pytest.raises(ValueError) as raised:
        stream.add_consumer(
            ServerlessFunction(stack, "MinutesConsumer", entry=ECHO).function,
            max_batching_window=Duration.minutes(_number(stack, "WindowMinutes")),
        )
    assert str(raised.value) == f"Test/Minutes: add_consumer.max_batching_window: {UNIT.format('seconds')}"


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    stream = DataStream(
        stack,
        "Stream",
        stream_mode=kinesis.StreamMode.PROVISIONED,
        shard_count=_number(stack, "Shards"),
        retention_period=Duration.hours(_number(stack, "RetentionHours")),
        iterator_age_threshold=Duration.millis(_number(stack, "IteratorMillis")),
    )
    stream.add_consumer(
        ServerlessFunction(stack, "Consumer", entry=ECHO).function,
        batch_size=_number(stack, "BatchSize"),
        max_batching_window=Duration.seconds(_number(stack, "Window")),
        retry_attempts=_number(stack, "Retries"),
        max_record_age=Duration.seconds(_number(stack, "RecordAge")),
        parallelization_factor=_number(stack, "Parallelization"),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {"ShardCount": {"Ref": "Shards"}, "RetentionPeriodHours": {"Ref": "RetentionHours"}},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": {"Ref": "BatchSize"},
            "MaximumBatchingWindowInSeconds": {"Ref": "Window"},
            "MaximumRetryAttempts": {"Ref": "Retries"},
            "MaximumRecordAgeInSeconds": {"Ref": "RecordAge"},
            "ParallelizationFactor": {"Ref": "Parallelization"},
        },
    )
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"Threshold": {"Ref": "IteratorMillis"}})
