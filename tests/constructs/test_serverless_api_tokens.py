"""ServerlessApi: stage limits and alarm thresholds from tokens (CfnParameters) build without a jsii trace.

A token is judged only when CloudFormation resolves it, so the API skips it at synth; a token
latency_p99_threshold in another unit than milliseconds raises our ValueError (issue #18). Nothing here
synthesizes: the stage's method settings and the alarms show the tokens as they will render.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns

from constructs_lib import ApiAlarms, ApiStage, ServerlessApi
from tests.cdk import number_token


def _alarm(api: ServerlessApi, construct_id: str) -> cloudwatch.CfnAlarm:
    alarm = api.node.find_child(construct_id).node.default_child
    assert isinstance(alarm, cloudwatch.CfnAlarm)
    return alarm


def test_token_stage_limits_and_alarm_thresholds_build(stack: Stack) -> None:
    api = ServerlessApi(
        stack,
        "Tokens",
        stage=ApiStage(
            throttling_rate_limit=number_token(stack, "Rate"),
            throttling_burst_limit=number_token(stack, "Burst"),
        ),
        alarms=ApiAlarms(
            topic=sns.Topic(stack, "Alarms"),
            server_error_rate_threshold=number_token(stack, "ErrorRate"),
            latency_p99_threshold=Duration.millis(number_token(stack, "LatencyMs")),
        ),
    )
    stage = api.stage.node.default_child
    assert isinstance(stage, apigw.CfnStage)
    settings = stack.resolve(stage.method_settings)
    assert settings[0]["throttlingRateLimit"] == {"Ref": "Rate"}
    assert settings[0]["throttlingBurstLimit"] == {"Ref": "Burst"}
    errors = _alarm(api, "ServerErrorRateAlarm")
    assert stack.resolve(errors.threshold) == {"Ref": "ErrorRate"}
    assert "ErrorRate" in str(stack.resolve(errors.alarm_description))
    latency = _alarm(api, "LatencyP99Alarm")
    assert stack.resolve(latency.threshold) == {"Ref": "LatencyMs"}
    assert "LatencyMs" in str(stack.resolve(latency.alarm_description))


def test_token_latency_threshold_in_another_unit_raises(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        ServerlessApi(
            stack,
            "Seconds",
            alarms=ApiAlarms(
                topic=sns.Topic(stack, "SecondsAlarms"),
                latency_p99_threshold=Duration.seconds(number_token(stack, "LatencySeconds")),
            ),
        )
    assert str(raised.value) == (
        "Test/Seconds: alarms.latency_p99_threshold: comes from a token, which aws-cdk-lib cannot convert at "
        "synth; give it in millis (Duration.millis(...)), the unit CloudFormation takes"
    )
