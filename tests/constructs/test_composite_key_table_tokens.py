"""CompositeKeyTable with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the table skips it at synth; a token
duration in another unit than the one Lambda or CloudWatch takes raises our ValueError (issue #18).
One synth checks the tokens reach the template as references.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Template

from constructs_lib import AutoscaledCapacity, CompositeKeyTable, ServerlessFunction
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
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
        CompositeKeyTable(
            stack,
            "Units",
            partition_key=PK,
            iterator_age_threshold=Duration.minutes(_number(stack, "IteratorMinutes")),
        )
    assert str(raised.value) == f"Test/Units: iterator_age_threshold: {UNIT.format('millis')}"


def test_token_capacity_raises(stack: Stack) -> None:
    capacity = AutoscaledCapacity(
        min_capacity=_number(stack, "MinCapacity"),
        max_capacity=_number(stack, "MaxCapacity"),
        target_utilization_percent=_number(stack, "Utilization"),
    )
    with pytest.raises(ValueError) as raised:
        CompositeKeyTable(
            stack,
            "Capacity",
            partition_key=PK,
            billing_mode=dynamodb.BillingMode.PROVISIONED,
            read_capacity=capacity,
            write_capacity=AutoscaledCapacity(max_capacity=_number(stack, "WriteMax")),
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
        iterator_age_threshold=Duration.millis(_number(stack, "IteratorMillis")),
    )
    table.add_stream_consumer(
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
