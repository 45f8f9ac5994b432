"""CorsPolicy with a max_age from a token (a CfnParameter): no jsii trace (issue #18).

The token is judged only when CloudFormation resolves it, so the policy skips it; a token in another
unit than seconds is our ValueError. The policy's pieces are resolved in a plain stack: no synth.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Duration, Stack
from aws_cdk import aws_apigateway as apigw

from constructs_lib import CorsPolicy
from constructs_lib._validation import PropErrors
from constructs_lib.runtime.environment import CORS_MAX_AGE

APP = "https://app.example.com"


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack(App(), "Test")


def _max_age(stack: Stack, name: str) -> Any:
    return CfnParameter(stack, name, type="Number").value_as_number


def test_token_max_age_is_passed_through(stack: Stack) -> None:
    policy = CorsPolicy(allow_origins=[APP], max_age=Duration.seconds(_max_age(stack, "MaxAge")))
    errors = PropErrors(stack, "Api")
    policy.validate(errors)
    errors.raise_if_any()
    assert stack.resolve(policy.environment()[CORS_MAX_AGE]) == {"Ref": "MaxAge"}
    assert stack.resolve(policy.bucket_cors_rule("Rule", []).max_age) == {"Ref": "MaxAge"}
    api = apigw.RestApi(stack, "Rest", default_cors_preflight_options=policy.preflight())
    api.root.add_method("GET")
    options = api.root.node.find_child("OPTIONS").node.default_child
    assert isinstance(options, apigw.CfnMethod)
    integration = stack.resolve(options.integration)
    header = integration["integrationResponses"][0]["responseParameters"][
        "method.response.header.Access-Control-Max-Age"
    ]
    assert header == {"Fn::Join": ["", ["'", {"Ref": "MaxAge"}, "'"]]}


def test_token_max_age_in_another_unit_raises(stack: Stack) -> None:
    policy = CorsPolicy(allow_origins=[APP], max_age=Duration.minutes(_max_age(stack, "MaxAgeMinutes")))
    errors = PropErrors(stack, "Api")
    policy.validate(errors)
    with pytest.raises(ValueError) as raised:
        errors.raise_if_any()
    assert str(raised.value) == (
        "Test/Api: cors.max_age: comes from a token, which aws-cdk-lib cannot convert at synth; give it in "
        "seconds (Duration.seconds(...)), the unit CloudFormation takes"
    )
