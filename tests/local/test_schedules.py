"""EventBridge Scheduler schedules under the event router: they fire by an injected clock, on
demand (directly and through the trigger queue), and failed deliveries reach the dead-letter queue."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.local.__main__ import main
from constructs_lib.local._service import DeliveryRequest
from constructs_lib.local._state import state_path, write_state
from constructs_lib.local.events import _targets
from constructs_lib.local.events.schedules import TRIGGER_QUEUE_STATE
from constructs_lib.local.events.trigger import schedule_named, trigger
from tests.local.test_event_sources import (
    ACCOUNT,
    REGION,
    Aws,
    FakeInvoker,
    Resources,
    function_arn,
    running,
)

IDLE = 10.0
START = datetime(2026, 3, 4, 11, 59, 30, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SchedulerRole"


class FakeClock:
    """A clock the test moves forward; the scheduler reads it on every cycle."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


def schedule(expression: str, target: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "GroupName": "jobs",
            "ScheduleExpression": expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"RoleArn": ROLE, **target},
            **properties,
        },
    }


def arn(name: str) -> str:
    return f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/jobs/{name}"


def values_for(*names: str, **extra: str) -> dict[str, str]:
    values = {name: name for name in names} | {f"{name}.Arn": arn(name) for name in names}
    return values | {"Sweep.Arn": function_arn("Sweep")} | extra


def test_a_rate_schedule_fires_at_start_and_every_minute_of_the_clock(aws: Aws) -> None:
    resources: Resources = {
        "EveryMinute": schedule(
            "rate(1 minute)",
            {
                "Arn": {"Fn::GetAtt": ["Sweep", "Arn"]},
                "Input": (
                    '{"job": "sweep", "at": "<aws.scheduler.scheduled-time>", '
                    '"try": <aws.scheduler.attempt-number>}'
                ),
            },
        ),
    }
    clock = FakeClock(START)
    invoker = FakeInvoker()
    with running(aws, resources, values_for("EveryMinute"), invoker, clock=clock) as router:
        assert router.wait_idle(IDLE)
        assert invoker.events("Sweep") == [{"job": "sweep", "at": "2026-03-04T11:59:30Z", "try": 1}]
        clock.advance(seconds=59)
        assert router.wait_idle(IDLE)
        assert len(invoker.events("Sweep")) == 1
        clock.advance(seconds=1)
        assert router.wait_idle(IDLE)
        clock.advance(minutes=1)
        assert router.wait_idle(IDLE)
        banner = router.describe()

    assert [event["at"] for event in invoker.events("Sweep")] == [
        "2026-03-04T11:59:30Z",
        "2026-03-04T12:00:30Z",
        "2026-03-04T12:01:30Z",
    ]
    assert banner == [
        "schedule jobs/EveryMinute rate(1 minute) -> lambda Sweep (185 retries (capped at 10 locally), "
        "max age 86400 s)"
    ]


def test_cron_schedules_fire_in_their_time_zone_and_disabled_ones_only_when_triggered(aws: Aws) -> None:
    target = {
        "Arn": {"Fn::GetAtt": ["Sweep", "Arn"]},
        "Input": '{"schedule": "<aws.scheduler.schedule-arn>"}',
    }
    resources: Resources = {
        # 13:00 in Paris is 12:00 UTC in March.
        "Hourly": schedule("cron(0 13 * * ? *)", target, ScheduleExpressionTimezone="Europe/Paris"),
        "Paused": schedule("rate(1 minute)", target, State="DISABLED"),
    }
    clock = FakeClock(START)
    invoker = FakeInvoker()
    with running(aws, resources, values_for("Hourly", "Paused"), invoker, clock=clock) as router:
        assert router.wait_idle(IDLE)
        assert invoker.events("Sweep") == []
        clock.advance(seconds=30)
        assert router.wait_idle(IDLE)
        assert invoker.events("Sweep") == [{"schedule": arn("Hourly")}]
        clock.advance(hours=2)
        assert router.wait_idle(IDLE)
        assert len(invoker.events("Sweep")) == 1  # the next is tomorrow
        router.schedules.trigger("Paused")
        assert router.wait_idle(IDLE)
        assert invoker.events("Sweep")[-1] == {"schedule": arn("Paused")}
        # The trigger command's way in: the queue named in the state file.
        aws.sqs.send_message(QueueUrl=router.state()[TRIGGER_QUEUE_STATE], MessageBody="jobs/Hourly")
        deadline = time.monotonic() + IDLE
        while len(invoker.events("Sweep")) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert router.wait_idle(IDLE)
        state = router.state()
        banner = router.describe()

    assert invoker.events("Sweep")[-1] == {"schedule": arn("Hourly")}
    assert len(invoker.events("Sweep")) == 3
    assert state["schedules"] == ["jobs/Hourly", "jobs/Paused"]
    assert banner[1].endswith("DISABLED: fires only when triggered")
    assert "Europe/Paris" in banner[0]
    with pytest.raises(
        KeyError, match="'Nightly' is not a schedule of this app; schedules: jobs/Hourly, jobs/Paused"
    ):
        router.schedules.find("Nightly")


def test_a_refused_delivery_goes_to_the_schedules_dead_letter_queue(aws: Aws) -> None:
    dlq_url, dlq_arn = aws.queue("jobs-dlq")
    resources: Resources = {
        "Nightly": schedule(
            "cron(0 3 * * ? *)",
            {
                "Arn": {"Fn::GetAtt": ["Sweep", "Arn"]},
                "Input": '{"job": "sweep"}',
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": dlq_arn},
            },
        ),
    }
    asked: list[DeliveryRequest] = []

    def role_may_not_invoke(request: DeliveryRequest) -> str | None:
        asked.append(request)
        return "the role has no lambda:InvokeFunction" if request.action == "lambda:InvokeFunction" else None

    invoker = FakeInvoker()
    clock = FakeClock(START)
    with running(
        aws, resources, values_for("Nightly"), invoker, clock=clock, checks=[role_may_not_invoke]
    ) as router:
        execution = router.schedules.trigger("Nightly")
        assert router.wait_idle(IDLE)

    assert invoker.calls == []
    assert asked[0] == DeliveryRequest(ROLE, "lambda:InvokeFunction", function_arn("Sweep"), arn("Nightly"))
    assert asked[1] == DeliveryRequest(ROLE, "sqs:SendMessage", dlq_arn, arn("Nightly"))
    [message] = aws.messages(dlq_url)
    assert json.loads(message["Body"]) == {"job": "sweep"}
    assert {name: value["StringValue"] for name, value in message["MessageAttributes"].items()} == {
        "EXECUTION_ID": execution,
        "SCHEDULE_ARN": arn("Nightly"),
        "SCHEDULED_TIME": "2026-03-04T11:59:30Z",
        "TARGET_ARN": function_arn("Sweep"),
        "ERROR_CODE": "AccessDeniedException",
        "ERROR_MESSAGE": f"{ROLE} may not invoke Sweep",
    }


def test_retryable_failures_are_retried_within_the_retry_policy(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    dlq_url, dlq_arn = aws.queue("jobs-dlq")
    queue_url, queue_arn = aws.queue("work")
    resources: Resources = {
        "Flaky": schedule(
            "cron(0 3 * * ? *)",
            {
                "Arn": queue_arn,
                "Input": "attempt <aws.scheduler.attempt-number>",
                "RetryPolicy": {"MaximumRetryAttempts": 2},
                "DeadLetterConfig": {"Arn": dlq_arn},
            },
        ),
        "Recovers": schedule(
            "cron(0 3 * * ? *)", {"Arn": queue_arn, "Input": "recovered on <aws.scheduler.attempt-number>"}
        ),
    }
    deliver = _targets.deliver
    failures = {"attempt": 10, "recovered": 1}  # failures left, by the payload's first word

    def throttled(
        deliveries: Any, target: _targets.Target, payload: str, sender: Any
    ) -> tuple[str, str] | None:
        word = payload.split(maxsplit=1)[0]
        if failures[word] > 0:
            failures[word] -= 1
            return "ThrottlingException", "Rate exceeded"
        return deliver(deliveries, target, payload, sender)

    monkeypatch.setattr(_targets, "deliver", throttled)
    with running(
        aws, resources, values_for("Flaky", "Recovers"), FakeInvoker(), clock=FakeClock(START)
    ) as router:
        router.schedules.trigger("Flaky")
        router.schedules.trigger("Recovers")
        assert router.wait_idle(IDLE)

    assert [message["Body"] for message in aws.messages(queue_url)] == ["recovered on 2"]
    [dead] = aws.messages(dlq_url)
    assert dead["Body"] == "attempt 3"  # the first try and two retries
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "ThrottlingException"


def test_the_trigger_command_reaches_the_run_through_its_state(aws: Aws) -> None:
    target = {
        "Arn": {"Fn::GetAtt": ["Sweep", "Arn"]},
        "Input": '{"schedule": "<aws.scheduler.schedule-arn>"}',
    }
    resources: Resources = {"Nightly": schedule("cron(0 3 * * ? *)", target)}
    invoker = FakeInvoker()
    with running(aws, resources, values_for("Nightly"), invoker, clock=FakeClock(START)) as router:
        state = {"aws": aws.url, "region": REGION, **router.state()}
        assert trigger(state, "Nightly") == "jobs/Nightly"
        assert router.wait_idle(IDLE)
        assert invoker.events("Sweep") == [{"schedule": arn("Nightly")}]
        with pytest.raises(LookupError, match=r"no schedule is named 'Daily'; give one of: jobs/Nightly"):
            trigger(state, "Daily")
    # The run is gone: nobody takes the trigger.
    with pytest.raises(TimeoutError, match=r"did not take the trigger for jobs/Nightly within 0\.3 s"):
        trigger(state, "jobs/Nightly", timeout=0.3)
    with pytest.raises(LookupError, match="the running app has no EventBridge Scheduler schedules"):
        schedule_named({"aws": aws.url}, "Nightly")


def test_the_trigger_command_line(aws: Aws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = {"Arn": {"Fn::GetAtt": ["Sweep", "Arn"]}, "Input": '{"job": "sweep"}'}
    resources: Resources = {"Nightly": schedule("cron(0 3 * * ? *)", target)}
    invoker = FakeInvoker()
    assert main(["trigger", "--cdk-out", str(tmp_path), "Nightly"]) == 2
    assert "error: no local run is active for" in capsys.readouterr().err
    with running(aws, resources, values_for("Nightly"), invoker, clock=FakeClock(START)) as router:
        state = {"pid": os.getpid(), "port": 4000, "aws": aws.url, "region": REGION, **router.state()}
        write_state(state_path(tmp_path, 4000), state)
        assert main(["trigger", "--cdk-out", str(tmp_path), "Nightly"]) == 0
        assert capsys.readouterr().out == "Triggered jobs/Nightly: the run's log shows its delivery\n"
        assert router.wait_idle(IDLE)
        assert main(["trigger", "--cdk-out", str(tmp_path), "--port", "4000", "Weekly"]) == 2
        assert capsys.readouterr().err == "error: no schedule is named 'Weekly'; give one of: jobs/Nightly\n"
    assert invoker.events("Sweep") == [{"job": "sweep"}]
