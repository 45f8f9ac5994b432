"""The reference app, synthesized once per test session per stage."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App

from app import build_app
from tests.cdk import CDK_CONTEXT


def _synth(stage: str) -> dict[str, dict[str, Any]]:
    app = build_app(App(context={**CDK_CONTEXT, "stage": stage, "aws:cdk:version-reporting": False}))
    assembly = app.synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks}


@pytest.fixture(scope="session")
def dev_templates() -> dict[str, dict[str, Any]]:
    return _synth("dev")


@pytest.fixture(scope="session")
def prod_templates() -> dict[str, dict[str, Any]]:
    return _synth("prod")
