"""The reference app, synthesized once per test session per stage."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.cx_api import CloudAssembly

from app import build_app
from tests.cdk import CDK_CONTEXT


def _synth(stage: str, *, builtin_validation: bool) -> CloudAssembly:
    app = build_app(
        App(
            context={**CDK_CONTEXT, "stage": stage, "aws:cdk:version-reporting": False},
            builtin_cloud_formation_validation=builtin_validation,
        )
    )
    return app.synth()  # cdk-nag, and with it on the built-in validation, fail this on findings


@pytest.fixture(scope="session")
def dev_assembly() -> CloudAssembly:
    # As users run it: aws-cdk-lib's built-in CloudFormation validation on (the only test synth
    # that pays for it; it changes no template).
    return _synth("dev", builtin_validation=True)


@pytest.fixture(scope="session")
def dev_templates(dev_assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    return {stack.stack_name: stack.template for stack in dev_assembly.stacks}


@pytest.fixture(scope="session")
def prod_assembly() -> CloudAssembly:
    return _synth("prod", builtin_validation=False)


@pytest.fixture(scope="session")
def prod_templates(prod_assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    return {stack.stack_name: stack.template for stack in prod_assembly.stacks}
