"""UserDirectory with durations and numbers from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the directory skips it at synth and puts it
on the resource itself, past aws-cdk-lib's range checks; a token validity in another unit than minutes
raises our ValueError (issue #18). One synth checks the tokens reach the template as references.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Match, Template

from constructs_lib import UserDirectory
from tests.cdk import number_token


def test_token_validity_in_another_unit_raises(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        UserDirectory(stack, "Hours", id_token_validity=Duration.hours(number_token(stack, "IdHours")))
    assert str(raised.value) == (
        "Test/Hours: id_token_validity: comes from a token, which aws-cdk-lib cannot convert at synth; give "
        "it in minutes (Duration.minutes(...)), the unit CloudFormation takes"
    )


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    UserDirectory(
        stack,
        "Users",
        password_min_length=number_token(stack, "MinLength"),
        id_token_validity=Duration.minutes(number_token(stack, "IdMinutes")),
        access_token_validity=Duration.minutes(number_token(stack, "AccessMinutes")),
        refresh_token_validity=Duration.minutes(number_token(stack, "RefreshMinutes")),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {"Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": {"Ref": "MinLength"}})}},
    )
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "IdTokenValidity": {"Ref": "IdMinutes"},
            "AccessTokenValidity": {"Ref": "AccessMinutes"},
            "RefreshTokenValidity": {"Ref": "RefreshMinutes"},
            "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "minutes"},
        },
    )
