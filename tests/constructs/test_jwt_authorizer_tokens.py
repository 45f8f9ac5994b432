"""JwtAuthorizer with durations from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the authorizer skips it at synth; a token
duration in another unit than seconds raises our ValueError (issue #18). One synth checks the
function's timeout and environment reference the parameters.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Template

from constructs_lib import JwtAuthorizer
from tests.cdk import TOKEN_UNIT, number_token

ISSUER = "https://issuer.example.com/"


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        JwtAuthorizer(
            stack,
            "Minutes",
            issuer=ISSUER,
            audiences=["api"],
            leeway=Duration.minutes(number_token(stack, "LeewayMinutes")),
            timeout=Duration.millis(number_token(stack, "TimeoutMillis")),
        )
    unit = TOKEN_UNIT.format("seconds")
    assert str(raised.value) == f"Test/Minutes: 2 invalid props:\n  - leeway: {unit}\n  - timeout: {unit}"


def test_token_durations_build(stack: Stack) -> None:
    authorizer = JwtAuthorizer(
        stack,
        "Tokens",
        issuer=ISSUER,
        audiences=["api"],
        leeway=Duration.seconds(number_token(stack, "Leeway")),
        timeout=Duration.seconds(number_token(stack, "Timeout")),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    function = functions[stack.get_logical_id(authorizer.function.function.node.default_child)]  # type: ignore[arg-type]
    assert function["Properties"]["Timeout"] == {"Ref": "Timeout"}
    assert function["Properties"]["Environment"]["Variables"]["JWT_LEEWAY_SECONDS"] == {"Ref": "Leeway"}
