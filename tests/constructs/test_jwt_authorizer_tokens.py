"""JwtAuthorizer with durations from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the authorizer skips it at synth; a token
duration in another unit than seconds raises our ValueError (issue #18). One synth checks the
function's timeout and environment reference the parameters.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk.assertions import Template

from constructs_lib import JwtAuthorizer
from tests.cdk import new_app, new_stack

ISSUER = "https://issuer.example.com/"


def _number(stack: Stack, name: str) -> Any:
    """A CfnParameter's value: a number token."""
    return CfnParameter(stack, name, type="Number").value_as_number


@pytest.fixture(scope="module")
def stack() -> Stack:
    return new_stack(new_app(), "Test")


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        JwtAuthorizer(
            stack,
            "Minutes",
            issuer=ISSUER,
            audiences=["api"],
            leeway=Duration.minutes(_number(stack, "LeewayMinutes")),
            timeout=Duration.millis(_number(stack, "TimeoutMillis")),
        )
    unit = (
        "comes from a token, which aws-cdk-lib cannot convert at synth; give it in seconds "
        "(Duration.seconds(...)), the unit CloudFormation takes"
    )
    assert str(raised.value) == f"Test/Minutes: 2 invalid props:\n  - leeway: {unit}\n  - timeout: {unit}"


def test_token_durations_build(stack: Stack) -> None:
    authorizer = JwtAuthorizer(
        stack,
        "Tokens",
        issuer=ISSUER,
        audiences=["api"],
        leeway=Duration.seconds(_number(stack, "Leeway")),
        timeout=Duration.seconds(_number(stack, "Timeout")),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    function = functions[stack.get_logical_id(authorizer.function.function.node.default_child)]  # type: ignore[arg-type]
    assert function["Properties"]["Timeout"] == {"Ref": "Timeout"}
    assert function["Properties"]["Environment"]["Variables"]["JWT_LEEWAY_SECONDS"] == {"Ref": "Leeway"}
