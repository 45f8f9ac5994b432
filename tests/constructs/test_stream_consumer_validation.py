"""CompositeKeyTable and DataStream consumers: what aws-cdk-lib throws through jsii fails with our message.

Nothing here synthesizes: each case builds into a fresh stack of one shared App (issue #18).
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from constructs_lib import CompositeKeyTable, DataStream
from tests.cdk import TEST_ENV, new_app

_ids = count()


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


def _stack(app: App) -> Stack:
    return Stack(app, f"Test{next(_ids)}", env=TEST_ENV)


def _function(stack: Stack, name: str = "Consumer") -> lambda_.IFunction:
    """An existing function with its role: a consumer is granted read access to the stream."""
    account = "111111111111"
    return lambda_.Function.from_function_attributes(
        stack,
        name,
        function_arn=f"arn:aws:lambda:us-east-1:{account}:function:{name}",
        role=iam.Role.from_role_arn(stack, f"{name}Role", f"arn:aws:iam::{account}:role/{name}"),
        same_environment=True,
    )


def _table(stack: Stack) -> CompositeKeyTable:
    return CompositeKeyTable(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=True,
    )


def test_the_same_function_twice_on_a_table_stream_raises(app: App) -> None:
    stack = _stack(app)
    table = _table(stack)
    function = _function(stack)
    table.add_stream_consumer(function, event_names=["INSERT"])
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{stack.node.path}/Table: add_stream_consumer.function: '{stack.node.path}/Consumer' already "
            "consumes this table's stream, and Lambda allows one event source mapping per function and "
            "stream; add each function once"
        ),
    ):
        table.add_stream_consumer(function, event_names=["REMOVE"], consumer_id="Removals")


def test_a_consumer_id_used_twice_on_a_table_raises(app: App) -> None:
    stack = _stack(app)
    table = _table(stack)
    table.add_stream_consumer(_function(stack, "First"), consumer_id="Audit")
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{stack.node.path}/Table: add_stream_consumer.consumer_id: 'Audit' is already used by another "
            "consumer of this table's stream; give each consumer its own id"
        ),
    ):
        table.add_stream_consumer(_function(stack, "Second"), consumer_id="Audit")


def test_a_consumer_id_used_twice_from_another_stack_raises(app: App) -> None:
    table = _table(_stack(app))
    other = _stack(app)
    table.add_stream_consumer(_function(other, "First"), consumer_id="Audit")
    with pytest.raises(
        ValueError, match=re.escape("add_stream_consumer.consumer_id: 'Audit' is already used")
    ):
        table.add_stream_consumer(_function(other, "Second"), consumer_id="Audit")


def test_the_same_function_twice_on_a_data_stream_raises(app: App) -> None:
    stack = _stack(app)
    stream = DataStream(stack, "Stream")
    function = _function(stack)
    stream.add_consumer(function)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{stack.node.path}/Stream: add_consumer.function: '{stack.node.path}/Consumer' already consumes "
            "this stream, and Lambda allows one event source mapping per function and stream; add each "
            "function once"
        ),
    ):
        stream.add_consumer(function, consumer_id="Again")


def test_one_function_may_read_a_data_stream_through_several_fan_out_consumers(app: App) -> None:
    stack = _stack(app)
    stream = DataStream(stack, "Stream")
    function = _function(stack)
    stream.add_consumer(function)
    stream.add_consumer(function, enhanced_fan_out=True, consumer_id="Fast")
    stream.add_consumer(function, enhanced_fan_out=True, consumer_id="Faster")
    with pytest.raises(ValueError, match=re.escape("add_consumer.consumer_id: 'Fast' is already used")):
        stream.add_consumer(_function(stack, "Other"), enhanced_fan_out=True, consumer_id="Fast")


@pytest.mark.parametrize(
    ("option", "duration"),
    [("max_batching_window", Duration.millis(1500)), ("max_record_age", Duration.millis(3_600_500))],
)
def test_consumer_durations_in_fractions_of_a_second_raise(app: App, option: str, duration: Duration) -> None:
    stack = _stack(app)
    table = _table(stack)
    millis = int(duration.to_milliseconds())
    options: dict[str, Any] = {option: duration}
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{stack.node.path}/Table: add_stream_consumer.{option}: {millis} ms is not a whole number "
            "of seconds"
        ),
    ):
        table.add_stream_consumer(_function(stack), **options)
    stream = DataStream(stack, "Stream")
    with pytest.raises(
        ValueError, match=re.escape(f"add_consumer.{option}: {millis} ms is not a whole number")
    ):
        stream.add_consumer(_function(stack, "Other"), **options)


def test_iterator_age_threshold_in_a_fraction_of_a_second_is_judged_without_jsii(app: App) -> None:
    stack = _stack(app)
    with pytest.raises(ValueError, match=re.escape("iterator_age_threshold: must be at least 1 minute")):
        DataStream(stack, "Stream", iterator_age_threshold=Duration.millis(59_500))
