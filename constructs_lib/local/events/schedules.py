"""EventBridge Scheduler: the templates' schedules fire by the local clock, and on demand.

Each enabled ``AWS::Scheduler::Schedule`` fires at its ``rate``, ``cron`` or ``at`` times in its
time zone (`constructs_lib._schedules`: daylight saving as Scheduler handles it), between its
StartDate and EndDate. A rate schedule without a StartDate fires when the runner starts and then
at its rate, as a new schedule starts at once in AWS. The flexible time window is not honoured:
a schedule fires at the start of its window, so that local runs are predictable. Occurrences
missed while the runner was not running (a sleeping laptop) fire once, not once each.

A firing delivers the target's Input to the target as Scheduler does (`_targets`): a function is
invoked asynchronously (its own retries and destinations apply to its failures), a queue or topic
receives the Input; failed deliveries are retried within the RetryPolicy and then sent to the
DeadLetterConfig queue with Scheduler's attributes (EXECUTION_ID, SCHEDULE_ARN, SCHEDULED_TIME,
ERROR_CODE, ERROR_MESSAGE, TARGET_ARN). The Input's context attributes (``<aws.scheduler.*>``)
are filled in. Deliveries are made with the schedule's execution role (RoleArn).

`trigger` fires a schedule now, whatever its state; ``python -m constructs_lib.local trigger
<schedule>`` reaches it through a queue the runner owns (`TRIGGER_QUEUE_STATE` in the state file).
Disabled schedules (State DISABLED) and schedule groups are listed, never fired by the clock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from constructs_lib._schedules import Rate, Schedule, next_fire_time, parse_schedule, zone
from constructs_lib.local._types import TemplateView
from constructs_lib.local.events._delivery import LOGGER, Deliveries, DeliveryPath, Sender, resolved
from constructs_lib.local.events._targets import Target, TargetDeliveries
from constructs_lib.local.events._threads import SQS_RECEIVE_LIMIT, Inbox, Poller

Clock = Callable[[], datetime]
DEFAULT_GROUP = "default"
TRIGGER_QUEUE_STATE = "scheduleTriggerQueue"  # the state file's key for the trigger queue's URL
_SCHEDULE_PROPERTIES = (
    "Name",
    "GroupName",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "State",
    "StartDate",
    "EndDate",
    "FlexibleTimeWindow",
    "Target",
)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LocalSchedule:
    """One schedule of a template, with the times it fires at."""

    name: str
    group: str
    arn: str
    expression: str
    parsed: Schedule
    time_zone: str
    enabled: bool
    start: datetime | None
    end: datetime | None
    flexible_minutes: int  # the window Scheduler may pick a time in; 0 when the window is OFF
    target: Target
    input: str | None

    @property
    def label(self) -> str:
        return f"schedule {self.group}/{self.name}"

    def describe(self) -> str:
        state = "" if self.enabled else ", DISABLED: fires only when triggered"
        window = (
            f", flexible window {self.flexible_minutes} min not honoured" if self.flexible_minutes else ""
        )
        zone_text = "" if self.time_zone == "UTC" else f" {self.time_zone}"
        return f"{self.label} {self.expression}{zone_text} -> {self.target.describe()}{state}{window}"


@dataclass(frozen=True)
class Timer:
    """Something else the clock fires at an expression's times in UTC (an EventBridge scheduled rule)."""

    label: str
    parsed: Schedule
    fire: Callable[[datetime], None]  # called with the scheduled time, from the clock's thread


class Schedules(DeliveryPath):
    """The templates' schedules, fired by `clock` (the system's by default) and by `trigger`."""

    def __init__(self, clock: Clock = system_clock) -> None:
        super().__init__()
        self.clock = clock
        self.schedules: dict[str, LocalSchedule] = {}  # by "group/name"
        self.timers: list[Timer] = []  # added by other paths before start
        self.trigger_queue: str | None = None
        self._targets: TargetDeliveries | None = None

    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        return {"AWS::Scheduler::Schedule": self._read_schedule}

    def describe(self) -> list[str]:
        return [schedule.describe() for schedule in self.schedules.values()]

    def not_emulated(self) -> list[str]:
        if not self.schedules:
            return []
        return [
            "EventBridge Scheduler: flexible time windows (a schedule fires at the window's start), "
            "targets other than functions, queues and topics (universal aws-sdk targets), KMS keys, and "
            "schedules created or changed through the API while running (moto keeps them; the template's "
            "fire)."
        ]

    def state(self) -> dict[str, Any]:
        if self.trigger_queue is None:
            return {}
        return {TRIGGER_QUEUE_STATE: self.trigger_queue, "schedules": sorted(self.schedules)}

    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        if not self.schedules and not self.timers:
            return []
        self._targets = TargetDeliveries(deliveries, "schedule retries")
        if self.schedules:
            self.trigger_queue, _ = deliveries.create_queue("schedule-triggers")
        return [_SchedulerClock(deliveries, self), self._targets]

    def find(self, name: str) -> LocalSchedule:
        """The schedule named `name` ("group/name", or a name only one group has); KeyError if none."""
        if name in self.schedules:
            return self.schedules[name]
        matching = [schedule for schedule in self.schedules.values() if name in (schedule.name, schedule.arn)]
        if len(matching) != 1:
            known = ", ".join(sorted(self.schedules)) or "none"
            problem = "is ambiguous" if matching else "is not a schedule of this app"
            raise KeyError(f"{name!r} {problem}; schedules: {known}")
        return matching[0]

    def trigger(self, name: str) -> str:
        """Fire the schedule `name` now, whatever its state or times; returns the execution id."""
        return self.fire(self.find(name), self.clock())

    def fire(self, schedule: LocalSchedule, scheduled: datetime) -> str:
        """Deliver one execution of `schedule` for the time `scheduled`; returns its execution id."""
        if self._targets is None:
            raise RuntimeError("start the event router before firing schedules")
        execution = str(uuid.uuid4())
        when = scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        LOGGER.info("%s fired (%s, execution %s)", schedule.label, when, execution)

        def render(attempt: int) -> str:
            text = schedule.input if schedule.input is not None else "{}"
            for key, value in (
                ("schedule-arn", schedule.arn),
                ("scheduled-time", when),
                ("execution-id", execution),
                ("attempt-number", str(attempt)),
            ):
                text = text.replace(f"<aws.scheduler.{key}>", value)
            return text

        self._targets.submit(
            schedule.label,
            schedule.target,
            render,
            # Scheduler assumes the schedule's execution role for every call it makes.
            sender=Sender(schedule.target.role_arn or "scheduler.amazonaws.com", schedule.arn),
            dead_letter_attributes={
                "EXECUTION_ID": execution,
                "SCHEDULE_ARN": schedule.arn,
                "SCHEDULED_TIME": when,
            },
        )
        return execution

    def _read_schedule(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = resolved(template, properties, *_SCHEDULE_PROPERTIES)
        name = str(props.get("Name") or template.ref(logical_id))
        group = str(props.get("GroupName") or DEFAULT_GROUP)
        expression = str(props["ScheduleExpression"])
        time_zone = str(props.get("ScheduleExpressionTimezone") or "UTC")
        zone(time_zone)  # an unknown zone is reported like any unreadable schedule
        window = props.get("FlexibleTimeWindow", {})
        target = props["Target"]
        schedule = LocalSchedule(
            name=name,
            group=group,
            arn=_arn(template, logical_id, group, name),
            expression=expression,
            parsed=parse_schedule(expression),
            time_zone=time_zone,
            enabled=str(props.get("State", "ENABLED")).upper() != "DISABLED",
            start=_date(props.get("StartDate")),
            end=_date(props.get("EndDate")),
            flexible_minutes=int(window.get("MaximumWindowInMinutes", 0))
            if window.get("Mode") == "FLEXIBLE"
            else 0,
            target=Target.from_properties(target),
            input=target.get("Input") if isinstance(target.get("Input"), str) else _json(target.get("Input")),
        )
        self.schedules[f"{group}/{name}"] = schedule


@dataclass(frozen=True)
class _Entry:
    """One thing the clock fires: a schedule's times, from where it counts, and what firing does."""

    label: str
    parsed: Schedule
    time_zone: str
    start: datetime | None
    end: datetime | None
    fire: Callable[[datetime], object]


class _SchedulerClock(Poller):
    """Fires each enabled schedule and timer when the clock reaches its next time; takes triggers."""

    def __init__(self, deliveries: Deliveries, schedules: Schedules) -> None:
        super().__init__(deliveries, "scheduler")
        self.schedules = schedules
        now = schedules.clock()
        # A Scheduler rate without a StartDate starts now, as a new schedule does; an EventBridge
        # rule's rate counts from its creation, its first event one interval later.
        self.entries = [
            _Entry(
                schedule.label,
                schedule.parsed,
                schedule.time_zone,
                schedule.start or (now if isinstance(schedule.parsed, Rate) else None),
                schedule.end,
                partial(schedules.fire, schedule),
            )
            for schedule in schedules.schedules.values()
            if schedule.enabled
        ] + [
            _Entry(
                timer.label,
                timer.parsed,
                "UTC",
                now + timer.parsed.interval if isinstance(timer.parsed, Rate) else None,
                None,
                timer.fire,
            )
            for timer in schedules.timers
        ]
        self.next = [self._after(entry, now - timedelta(microseconds=1)) for entry in self.entries]

    @staticmethod
    def _after(entry: _Entry, moment: datetime) -> datetime | None:
        return next_fire_time(entry.parsed, moment, entry.time_zone, start=entry.start, end=entry.end)

    def _cycle(self) -> bool:
        worked = self._take_triggers()
        now = self.schedules.clock()
        for index, (entry, due) in enumerate(zip(self.entries, self.next, strict=True)):
            if due is None or due > now:
                continue
            following = self._after(entry, due)
            missed = 0
            while following is not None and following <= now:  # the runner was not running: fire once
                missed += 1
                following = self._after(entry, following)
            if missed:
                LOGGER.warning("%s: %d missed occurrences skipped", entry.label, missed)
            self.next[index] = following
            entry.fire(due)
            worked = True
        self.idle = not worked
        return worked

    def _take_triggers(self) -> bool:
        queue = self.schedules.trigger_queue
        if queue is None:
            return False
        sqs = self.deliveries.clients["sqs"]
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=SQS_RECEIVE_LIMIT).get(
            "Messages", []
        )
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            name = message["Body"]
            try:
                execution = self.schedules.trigger(name)
            except KeyError as error:
                LOGGER.error("Trigger refused: %s", error.args[0])
                continue
            LOGGER.warning("Triggered %s on demand (execution %s)", name, execution)
        return bool(messages)


def _arn(template: TemplateView, logical_id: str, group: str, name: str) -> str:
    try:
        arn = template.resolve({"Fn::GetAtt": [logical_id, "Arn"]})
    except Exception:  # a template view that cannot resolve it: build the ARN Scheduler gives
        arn = None
    if isinstance(arn, str) and arn.startswith("arn:aws:scheduler:"):
        return arn
    region, account = _region_account(template)
    return f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{name}"


def _region_account(template: TemplateView) -> tuple[str, str]:
    region = template.resolve({"Ref": "AWS::Region"})
    account = template.resolve({"Ref": "AWS::AccountId"})
    return str(region), str(account)


def _date(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
