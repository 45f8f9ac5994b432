"""The synthesized stacks most construct test modules look at: each module's `built` fixture holds
its templates by stack name, and its "Defaults" and "Full" stacks are read here once per module."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template


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
