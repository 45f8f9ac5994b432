"""QueueWorker with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is checked only once CloudFormation resolves it, so the construct skips it at synth; where the
construct must compute from it (the visibility timeout), our ValueError says what to set. Nothing here
synthesizes: building the construct is where a jsii conversion would throw.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_sns as sns

from constructs_lib import AlarmSetting, AlarmSettings, QueueWorker, ServerlessFunction
from tests.cdk import number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    function = ServerlessFunction(stack, "Worker", entry=ECHO)
    worker = QueueWorker(
        stack,
        "Tokens",
        function=function,
        batch_size=number_token(stack, "BatchSize"),
        max_batching_window=Duration.seconds(number_token(stack, "Window")),
        max_concurrency=number_token(stack, "Concurrency"),
        visibility_timeout=Duration.seconds(number_token(stack, "Visibility")),
        retention_period=Duration.seconds(number_token(stack, "Retention")),
        max_receive_count=number_token(stack, "Receives"),
        oldest_message_age_threshold=Duration.seconds(number_token(stack, "OldestAge")),
        alarm_topic=None,
    )
    assert worker.visibility_timeout.is_unresolved()


def test_token_alarm_settings_build(stack: Stack) -> None:
    function = ServerlessFunction(stack, "SettingsWorker", entry=ECHO)
    setting = AlarmSetting(
        threshold=Duration.seconds(number_token(stack, "AgeThreshold")),
        evaluation_periods=number_token(stack, "Periods"),
        datapoints_to_alarm=number_token(stack, "Datapoints"),
    )
    worker = QueueWorker(
        stack,
        "Settings",
        function=function,
        alarm_settings=AlarmSettings(alarms={"oldest_message": setting}, topics=[_topic(stack)]),
    )
    assert worker.oldest_message_alarm is not None


def _topic(stack: Stack) -> sns.ITopic:
    existing = stack.node.try_find_child("Topic")
    return existing if isinstance(existing, sns.Topic) else sns.Topic(stack, "Topic")


def test_visibility_from_a_token_timeout_asks_for_visibility_timeout(stack: Stack) -> None:
    function = ServerlessFunction(
        stack, "TokenTimeout", entry=ECHO, timeout=Duration.seconds(number_token(stack, "Timeout"))
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Test/DerivedVisibility: visibility_timeout: cannot be derived from the function's timeout or "
            "max_batching_window when one comes from a token (a CfnParameter); set visibility_timeout to "
            "at least 6 x the timeout plus the batching window"
        ),
    ):
        QueueWorker(stack, "DerivedVisibility", function=function)


def test_token_alarm_threshold_in_another_unit_raises(stack: Stack) -> None:
    function = ServerlessFunction(stack, "MinutesWorker", entry=ECHO)
    setting = AlarmSetting(threshold=Duration.minutes(number_token(stack, "MinutesThreshold")))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Test/Minutes: alarm_settings: 'oldest_message': threshold: comes from a token, which "
            "aws-cdk-lib cannot convert at synth; give it in seconds (Duration.seconds(...)), the unit "
            "CloudFormation takes"
        ),
    ):
        QueueWorker(
            stack,
            "Minutes",
            function=function,
            alarm_settings=AlarmSettings(alarms={"oldest_message": setting}, topics=[_topic(stack)]),
        )


def test_token_duration_in_another_unit_raises(stack: Stack) -> None:
    function = ServerlessFunction(stack, "HoursWorker", entry=ECHO)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Test/Hours: retention_period: comes from a token, which aws-cdk-lib cannot convert at synth; "
            "give it in seconds (Duration.seconds(...)), the unit CloudFormation takes"
        ),
    ):
        QueueWorker(
            stack, "Hours", function=function, retention_period=Duration.hours(number_token(stack, "Hours"))
        )
