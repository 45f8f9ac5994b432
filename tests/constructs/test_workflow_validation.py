"""Workflow: props aws-cdk-lib would throw on through jsii fail with our ValueError (issue #18).

Nothing here synthesizes: each case builds into a fresh stack of one shared App.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_stepfunctions as sfn

from constructs_lib import Workflow
from tests.cdk import TEST_ENV, new_app

_ids = count()


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"timeout": Duration.millis(90_500)}, "timeout: 90500 ms is not a whole number of seconds"),
        (
            {"state_machine_name": "nightly report"},
            "state_machine_name: 'nightly report' must be 1-80 characters of letters, digits and +!@.()-=_'; "
            "or leave it unset for a generated name",
        ),
        ({"state_machine_name": "x" * 81}, "state_machine_name: '" + "x" * 81 + "' must be 1-80 characters"),
    ],
    ids=["fractional-timeout", "space-in-name", "long-name"],
)
def test_props_that_would_throw_raise(app: App, props: dict[str, Any], message: str) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    with pytest.raises(ValueError, match=re.escape(f"{stack.node.path}/Bad: {message}")):
        Workflow(stack, "Bad", definition=sfn.Pass(stack, "Step"), **props)


def test_a_name_of_every_allowed_character_passes(app: App) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    Workflow(
        stack, "Good", definition=sfn.Pass(stack, "Step"), state_machine_name="Nightly_Report-(v2)+!@.='"
    )
