"""Fixtures most construct test modules share: the synthesized stacks they look at (each module's
`built` fixture holds its templates by stack name; its "Defaults" and "Full" stacks are read here once
per module), and the stack the token tests build in."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from tests.cdk import new_app, new_stack


@pytest.fixture(scope="module")
def templates(built: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = built["templates"]
    return result


@pytest.fixture(scope="module")
def defaults(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Defaults"])


@pytest.fixture(scope="module")
def full(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Full"])


@pytest.fixture(scope="module")
def stack() -> Stack:
    """A stack "Test" the module's constructs are built in (the token tests: nothing synthesized)."""
    return new_stack(new_app(), "Test")
