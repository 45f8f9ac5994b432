"""CompositeKeyTable with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the table skips it at synth; a token
duration in another unit than the one Lambda or CloudWatch takes raises our ValueError (issue #18).
One synth checks the tokens reach the template as references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Template

from constructs_lib import AutoscaledCapacity, CompositeKeyTable, ServerlessFunction
from tests.cdk import TOKEN_UNIT, number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        CompositeKeyTable(
            stack,
            "Units",
            partition_key=PK,
            iterator_age_threshold=Duration.minutes(number_token(stack, "IteratorMinutes")),
        )
    assert str(raised.value) == f"Test/Units: iterator_age_threshold: {TOKEN_UNIT.format('millis')}"


def test_token_capacity_raises(stack: Stack) -> None:
    capacity = AutoscaledCapacity(
        min_capacity=number_token(stack, "MinCapacity"),
        max_capacity=number_token(stack, "MaxCapacity"),
        target_utilization_percent=number_token(stack, "Utilization"),
    )
    with pytest.raises(ValueError) as raised:
        CompositeKeyTable(
            stack,
            "Capacity",
            partition_key=PK,
            billing_mode=dynamodb.BillingMode.PROVISIONED,
            read_capacity=capacity,
            write_capacity=AutoscaledCapacity(max_capacity=number_token(stack, "WriteMax")),
        )
    problem = (
        "comes from a token (a CfnParameter), which aws-cdk-lib's autoscaling compares at synth; "
        "give a number"
    )
    assert str(raised.value) == (
        "Test/Capacity: 4 invalid props:\n"
        f"  - read_capacity.min_capacity: {problem}\n"
        f"  - read_capacity.max_capacity: {problem}\n"
        f"  - read_capacity.target_utilization_percent: {problem}\n"
        f"  - write_capacity.max_capacity: {problem}"
    )


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=PK,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        alarms=True,
        iterator_age_threshold=Duration.millis(number_token(stack, "IteratorMillis")),
    )
    table.add_stream_consumer(
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
