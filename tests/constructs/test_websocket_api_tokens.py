"""WebSocketApi with a duration and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the API skips it at synth; a token
connection_ttl in another unit than seconds raises our ValueError (issue #18). Nothing here synthesizes:
the handlers' environment and the stage's throttling show the tokens as they will render.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2

from constructs_lib import WebSocketApi
from constructs_lib.runtime import environment as env
from tests.cdk import number_token


def test_token_duration_and_numbers_build(stack: Stack) -> None:
    api = WebSocketApi(
        stack,
        "Tokens",
        throttling_rate_limit=number_token(stack, "Rate"),
        throttling_burst_limit=number_token(stack, "Burst"),
        connection_ttl=Duration.seconds(number_token(stack, "Ttl")),
    )
    assert stack.resolve(api.handler_environment[env.CONNECTION_TTL_SECONDS]) == {"Ref": "Ttl"}
    stage = api.stage.node.default_child
    assert isinstance(stage, apigwv2.CfnStage)
    assert stack.resolve(stage.default_route_settings) == {
        "detailedMetricsEnabled": True,
        "throttlingBurstLimit": {"Ref": "Burst"},
        "throttlingRateLimit": {"Ref": "Rate"},
    }


def test_token_duration_in_another_unit_raises(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        WebSocketApi(stack, "Hours", connection_ttl=Duration.hours(number_token(stack, "TtlHours")))
    assert str(raised.value) == (
        "Test/Hours: connection_ttl: comes from a token, which aws-cdk-lib cannot convert at synth; give it "
        "in seconds (Duration.seconds(...)), the unit CloudFormation takes"
    )
