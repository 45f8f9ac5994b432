"""DataStream and its consumers with durations and numbers from tokens (CfnParameters) build without
a jsii trace.

A token is judged only when CloudFormation resolves it, so the stream skips it at synth; a token
duration in another unit than the one Kinesis, Lambda or CloudWatch takes raises our ValueError
(issue #18). One synth checks the tokens reach the template as references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk.assertions import Template

from constructs_lib import DataStream, ServerlessFunction
from tests.cdk import TOKEN_UNIT, number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        DataStream(
            stack,
            "Units",
            retention_period=Duration.days(number_token(stack, "RetentionDays")),
            iterator_age_threshold=Duration.seconds(number_token(stack, "IteratorSeconds")),
        )
    assert str(raised.value) == (
        "Test/Units: 2 invalid props:\n"
        f"  - retention_period: {TOKEN_UNIT.format('hours')}\n"
        f"  - iterator_age_threshold: {TOKEN_UNIT.format('millis')}"
    )
    stream = DataStream(stack, "Minutes")
    with pytest.raises(ValueError) as raised:
        stream.add_consumer(
            ServerlessFunction(stack, "MinutesConsumer", entry=ECHO).function,
            max_batching_window=Duration.minutes(number_token(stack, "WindowMinutes")),
        )
    assert (
        str(raised.value) == f"Test/Minutes: add_consumer.max_batching_window: {TOKEN_UNIT.format('seconds')}"
    )


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    stream = DataStream(
        stack,
        "Stream",
        stream_mode=kinesis.StreamMode.PROVISIONED,
        shard_count=number_token(stack, "Shards"),
        retention_period=Duration.hours(number_token(stack, "RetentionHours")),
        iterator_age_threshold=Duration.millis(number_token(stack, "IteratorMillis")),
    )
    stream.add_consumer(
        ServerlessFunction(stack, "Consumer", entry=ECHO).function,
        batch_size=number_token(stack, "BatchSize"),
        max_batching_window=Duration.seconds(number_token(stack, "Window")),
        retry_attempts=number_token(stack, "Retries"),
        max_record_age=Duration.seconds(number_token(stack, "RecordAge")),
        parallelization_factor=number_token(stack, "Parallelization"),
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
