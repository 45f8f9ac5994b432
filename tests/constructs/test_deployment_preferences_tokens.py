"""Gradual deployments with numbers from tokens (CfnParameters) build without a jsii trace.

A token is judged only when CloudFormation resolves it, so the function skips it at synth (issue #18).
One synth checks the tokens reach the deployment configuration and the alias as references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from constructs_lib import DeploymentPreference, ServerlessFunction
from tests.cdk import number_token

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


@pytest.mark.parametrize("kind", ["canary", "linear"])
def test_token_percent_and_minutes_build(stack: Stack, kind: str) -> None:
    preference = getattr(DeploymentPreference, kind)(
        number_token(stack, f"{kind}Percent"), number_token(stack, f"{kind}Minutes")
    )
    ServerlessFunction(
        stack,
        kind.title(),
        entry=ECHO,
        deployment=preference,
        provisioned_concurrency=number_token(stack, f"{kind}Provisioned"),
    )


def test_tokens_reach_the_template(stack: Stack) -> None:
    # One synth (last in this module), of the functions built above.
    template = Template.from_stack(stack)
    routing = {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {
            "CanaryInterval": {"Ref": "canaryMinutes"},
            "CanaryPercentage": {"Ref": "canaryPercent"},
        },
    }
    template.has_resource_properties("AWS::CodeDeploy::DeploymentConfig", {"TrafficRoutingConfig": routing})
    routing = {
        "Type": "TimeBasedLinear",
        "TimeBasedLinear": {
            "LinearInterval": {"Ref": "linearMinutes"},
            "LinearPercentage": {"Ref": "linearPercent"},
        },
    }
    template.has_resource_properties("AWS::CodeDeploy::DeploymentConfig", {"TrafficRoutingConfig": routing})
    template.has_resource_properties(
        "AWS::Lambda::Alias",
        {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": {"Ref": "canaryProvisioned"}}},
    )
