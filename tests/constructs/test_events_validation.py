"""ScheduledJob and EventBus: props EventBridge refuses, or aws-cdk-lib throws on through jsii, fail at synth.

Nothing here synthesizes: one stack holds the function, each case only fails to build (issue #18).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration

from constructs_lib import EventBus, ScheduledJob, ServerlessFunction
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
ORDERS = {"source": ["shop.orders"]}


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Test")
    return {
        "stack": stack,
        "function": ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True),
        "bus": EventBus(stack, "Bus"),
    }


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_scheduled_job_event_age_in_a_fraction_of_a_second_raises(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError, match=_exactly("Test/Bad: max_event_age: 90500 ms is not a whole number of seconds")
    ):
        ScheduledJob(
            bad["stack"],
            "Bad",
            function=bad["function"],
            schedule="rate(1 hour)",
            max_event_age=Duration.millis(90_500),
        )


def test_rule_event_age_in_a_fraction_of_a_second_raises(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError,
        match=_exactly("Test/Bus/add_rule(Placed): max_event_age: 90500 ms is not a whole number of seconds"),
    ):
        bad["bus"].add_rule(
            "Placed", event_pattern=ORDERS, targets=[bad["function"]], max_event_age=Duration.millis(90_500)
        )


def test_rule_description_over_512_characters_raises(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError,
        match=_exactly(
            "Test/Bus/add_rule(Placed): description: is 513 characters, over EventBridge's 512; shorten it"
        ),
    ):
        bad["bus"].add_rule("Placed", event_pattern=ORDERS, targets=[bad["function"]], description="x" * 513)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"event_bus_name": "orders/prod"},
            "event_bus_name: 'orders/prod' contains '/', which only partner event buses' names have; use "
            "letters, digits, '.', '_' and '-'",
        ),
        ({"description": "x" * 513}, "description: is 513 characters, over EventBridge's 512; shorten it"),
    ],
    ids=["slash-in-name", "long-description"],
)
def test_bus_props_eventbridge_would_refuse_raise(
    bad: dict[str, Any], props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=_exactly(f"Test/BadBus: {message}")):
        EventBus(bad["stack"], "BadBus", **props)
