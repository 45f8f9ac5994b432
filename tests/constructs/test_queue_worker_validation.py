"""QueueWorker: durations SQS and Lambda take in whole seconds fail with our ValueError, not a jsii trace.

Nothing here synthesizes: one stack holds the function, each case only fails to build (issue #18).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration

from constructs_lib import QueueWorker, ServerlessFunction
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Test")
    return {"stack": stack, "function": ServerlessFunction(stack, "Worker", entry=ECHO)}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_batching_window": Duration.millis(1500)}, "max_batching_window: 1500 ms"),
        ({"visibility_timeout": Duration.millis(60_500)}, "visibility_timeout: 60500 ms"),
        ({"retention_period": Duration.millis(3_600_001)}, "retention_period: 3600001 ms"),
        (
            {"oldest_message_age_threshold": Duration.millis(600_250)},
            "oldest_message_age_threshold: 600250 ms",
        ),
    ],
    ids=["batching-window", "visibility", "retention", "oldest-message"],
)
def test_fractions_of_a_second_raise(bad: dict[str, Any], props: dict[str, Any], message: str) -> None:
    with pytest.raises(
        ValueError, match=f"^{re.escape(f'Test/Bad: {message} is not a whole number of seconds')}$"
    ):
        QueueWorker(bad["stack"], "Bad", function=bad["function"], **props)
