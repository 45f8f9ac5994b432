"""WebSocketApi: props aws-cdk-lib would throw on through jsii, or CloudFormation refuse, fail at synth.

Nothing here synthesizes: each case builds into a fresh stack of one shared App (issue #18).
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack

from constructs_lib import WebSocketApi
from tests.cdk import TEST_ENV, new_app

_ids = count()


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"connection_ttl": Duration.millis(90_500)},
            "connection_ttl: 90500 ms is not a whole number of seconds",
        ),
        (
            {"throttling_rate_limit": 10, "throttling_burst_limit": 20.5},
            "throttling_burst_limit: 20.5 is not a whole number of messages",
        ),
    ],
    ids=["fractional-ttl", "fractional-burst"],
)
def test_props_that_would_throw_raise(app: App, props: dict[str, Any], message: str) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    with pytest.raises(ValueError, match=re.escape(f"{stack.node.path}/Bad: {message}")):
        WebSocketApi(stack, "Bad", **props)
