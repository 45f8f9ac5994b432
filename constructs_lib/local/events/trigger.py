"""``python -m constructs_lib.local trigger <schedule>``: fire a schedule of a running local run now.

The run's state file names the queue its scheduler takes triggers from (`schedules.TRIGGER_QUEUE_STATE`)
and its schedules; the command checks the name, sends it to that queue, and waits until the run has
taken it, so that a run that is gone says so instead of losing the trigger.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

from constructs_lib.local.events.schedules import TRIGGER_QUEUE_STATE

TAKE_TIMEOUT = 10.0  # seconds the run has to take the trigger (its scheduler polls every 0.2 s)
_POLL = 0.1


def schedule_named(state: Mapping[str, Any], name: str) -> str:
    """The "group/name" of the run's schedule `name` (with or without its group); LookupError if none."""
    schedules: list[str] = list(state.get("schedules", []))
    if TRIGGER_QUEUE_STATE not in state or not schedules:
        raise LookupError("the running app has no EventBridge Scheduler schedules")
    if name in schedules:
        return name
    matching = [schedule for schedule in schedules if schedule.split("/", 1)[1] == name]
    if len(matching) == 1:
        return matching[0]
    problem = f"{name!r} is the name of several schedules" if matching else f"no schedule is named {name!r}"
    raise LookupError(f"{problem}; give one of: {', '.join(schedules)}")


def trigger(state: Mapping[str, Any], name: str, *, timeout: float = TAKE_TIMEOUT) -> str:
    """Have the run fire the schedule `name` now; returns its "group/name" (TimeoutError: the run is gone)."""
    schedule = schedule_named(state, name)
    sqs = boto3.client(
        "sqs",
        endpoint_url=state["aws"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto takes any credentials; these reach nothing else
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    queue = state[TRIGGER_QUEUE_STATE]
    sqs.send_message(QueueUrl=queue, MessageBody=schedule)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = sqs.get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if not any(int(count) for count in counts.values()):
            return schedule
        time.sleep(_POLL)
    raise TimeoutError(f"the local run did not take the trigger for {schedule} within {timeout:g} s")
