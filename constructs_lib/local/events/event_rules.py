"""EventBridge: events put on a bus reach the targets of the bus's rules whose pattern they match.

How PutEvents is observed: moto stores buses and accepts PutEvents (event ids, validation), but
it delivers to queue, log and bus targets only; a rule with a function target would fail the
handler's PutEvents call. So the runner gives each bus that has rules one catch-all rule in moto
(pattern ``{}``) whose only target is a queue the runner owns: moto puts every event on it, in
EventBridge's event shape with the id PutEvents returned. The router reads that queue (`Inbox`),
matches each event against the template's rules with `constructs_lib._event_patterns` (EventBridge's
semantics, not moto's) and delivers to each matching rule's targets itself. The template's rules
are not created in moto.

Delivery (`_targets`): a function is invoked asynchronously as ``events.amazonaws.com`` with the
rule as source (its resource policy, and its own retries and destinations, apply); a queue or
topic receives the event; each target gets what its Input, InputPath or InputTransformer renders
(`input_transform`), and a FIFO queue its SqsParameters.MessageGroupId. A failed delivery is
retried within the target's RetryPolicy, then sent to its DeadLetterConfig queue with EventBridge's
attributes (RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE).

Scheduled rules (ScheduleExpression) fire by the router's scheduler clock (`schedules`), in UTC as
EventBridge evaluates them, a rate one interval after the run starts, each with EventBridge's
"Scheduled Event" (source ``aws.events``, the rule in ``resources``).

Archives are moto's (`_provision_events`): it records the bus's events in them (matching an
archive's own pattern with moto's matcher) and StartReplay puts them back on the bus, where they
reach the rules again with their ``replay-name``.

Not emulated: rules on events AWS services emit, targets other than functions, queues and topics,
and the bus's resource policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib._event_patterns import compile_pattern
from constructs_lib._schedules import parse_schedule
from constructs_lib.local._types import TemplateView
from constructs_lib.local.events._delivery import LOGGER, Deliveries, DeliveryPath, Sender, resolved
from constructs_lib.local.events._targets import Target, TargetDeliveries
from constructs_lib.local.events._threads import Inbox, Poller
from constructs_lib.local.events.input_transform import TargetInput
from constructs_lib.local.events.schedules import Schedules, Timer

DEFAULT_BUS = "default"
_RULE_PROPERTIES = ("Name", "EventBusName", "EventPattern", "ScheduleExpression", "State", "Targets")
_CATCH_ALL_RULE = "constructs-lib-local-all-events"
_MOTO_KEYS = ("ingestion-time",)  # keys moto adds to an event that EventBridge does not send
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


@dataclass(frozen=True)
class _RuleTarget:
    target: Target
    input: TargetInput
    target_id: str


@dataclass(frozen=True)
class LocalRule:
    """One enabled rule with an event pattern, on its bus."""

    name: str
    bus: str
    arn: str
    matches: Callable[[Any], bool] | None  # None: a scheduled rule, fired by the clock
    targets: tuple[_RuleTarget, ...]
    schedule: str | None = None

    @property
    def label(self) -> str:
        return f"rule {self.bus}/{self.name}"

    def describe(self) -> str:
        when = f" {self.schedule} (UTC)" if self.schedule else ""
        return f"{self.label}{when} -> {', '.join(target.target.describe() for target in self.targets)}"


class EventRules(DeliveryPath):
    """The templates' event buses and rules, fed by the events put on each bus and, for scheduled
    rules, by the clock of `schedules` (their events are EventBridge's "Scheduled Event")."""

    def __init__(self, schedules: Schedules) -> None:
        super().__init__()
        self.schedules = schedules
        self.rules: list[LocalRule] = []
        self.skipped: list[str] = []
        self._targets: TargetDeliveries | None = None
        self._account = ""
        self._region = ""

    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        return {"AWS::Events::Rule": self._read_rule}

    def describe(self) -> list[str]:
        return [rule.describe() for rule in self.rules] + self.skipped

    def not_emulated(self) -> list[str]:
        if not self.rules and not self.skipped:
            return []
        return [
            "EventBridge: events AWS services emit, the bus policy, targets other than functions, queues "
            "and topics; archives match their own pattern with moto's matcher."
        ]

    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        if not self.rules:
            return []
        self._targets = TargetDeliveries(deliveries, "event targets")
        self._account = deliveries.account
        self._region = deliveries.region
        events = deliveries.clients["events"]
        for bus in sorted({rule.bus for rule in self.rules if rule.matches is not None}):
            url, arn = deliveries.create_queue("events")
            try:
                events.put_rule(Name=_CATCH_ALL_RULE, EventBusName=bus, EventPattern="{}", State="ENABLED")
                events.put_targets(
                    Rule=_CATCH_ALL_RULE, EventBusName=bus, Targets=[{"Id": "runner", "Arn": arn}]
                )
            except (BotoCoreError, ClientError) as error:  # a bus of another app: its rules stay idle
                LOGGER.error("Event bus %s is not local (%s): its rules receive nothing", bus, error)
                continue
            inbox.add(url, partial(self._route, bus))
        return [self._targets]

    def _route(self, bus: str, body: str) -> None:
        """Deliver one event moto put on `bus` to the targets of every rule it matches."""
        if self._targets is None:
            return
        event = self._event(json.loads(body))
        ingestion = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        matched = [rule for rule in self.rules if rule.bus == bus and rule.matches and rule.matches(event)]
        if not matched:
            LOGGER.info("Event %s on bus %s matched no rule", event.get("id"), bus)
        for rule in matched:
            self._deliver(rule, event, ingestion)

    def _fire(self, rule: LocalRule, scheduled: datetime) -> None:
        """A scheduled rule's event for the time `scheduled`, to its targets."""
        time = scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account,
            "time": time,
            "region": self._region,
            "resources": [rule.arn],
            "detail": {},
        }
        LOGGER.info("%s fired (%s)", rule.label, time)
        self._deliver(rule, event, time)

    def _deliver(self, rule: LocalRule, event: Mapping[str, Any], ingestion: str) -> None:
        if self._targets is None:
            return
        for rule_target in rule.targets:
            payload = rule_target.input.render(event, rule_arn=rule.arn, ingestion_time=ingestion)
            self._targets.submit(
                rule.label,
                rule_target.target,
                _constant(payload),
                sender=Sender(rule_target.target.role_arn or "events.amazonaws.com", rule.arn),
                dead_letter_attributes={"RULE_ARN": rule.arn},
            )

    def _event(self, delivered: dict[str, Any]) -> dict[str, Any]:
        """The event in EventBridge's shape and key order (moto leaves out the account)."""
        delivered.setdefault("account", self._account)
        return {key: delivered.get(key) for key in _EVENT_KEYS} | {
            key: value for key, value in delivered.items() if key not in _EVENT_KEYS and key not in _MOTO_KEYS
        }

    def _read_rule(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = resolved(template, properties, *_RULE_PROPERTIES)
        reference = str(template.ref(logical_id))
        name = str(props.get("Name") or reference.rsplit("|", maxsplit=1)[-1])
        bus = _bus_name(str(props.get("EventBusName") or DEFAULT_BUS))
        label = f"rule {bus}/{name}"
        if str(props.get("State", "ENABLED")).upper() == "DISABLED":
            self.skipped.append(f"{label} (disabled)")
            return
        try:
            matches = compile_pattern(props["EventPattern"]) if "EventPattern" in props else None
            schedule = str(props["ScheduleExpression"]) if "ScheduleExpression" in props else None
            parsed = parse_schedule(schedule) if schedule else None
        except ValueError as error:
            self.warn_once(f"rule-{logical_id}", "%s: not valid (%s); not wired", label, error)
            self.skipped.append(f"{label} (not valid: {error})")
            return
        targets = tuple(
            _RuleTarget(
                Target.from_properties(target), TargetInput.from_properties(target), str(target["Id"])
            )
            for target in props.get("Targets", [])
        )
        rule = LocalRule(name, bus, _rule_arn(template, logical_id, bus, name), matches, targets, schedule)
        self.rules.append(rule)
        if parsed is not None:
            self.schedules.timers.append(Timer(rule.label, parsed, partial(self._fire, rule)))


def _constant(payload: str) -> Callable[[int], str]:
    return lambda attempt: payload


def _bus_name(bus: str) -> str:
    """A bus's name from its name or ARN (``arn:aws:events:<region>:<account>:event-bus/<name>``)."""
    return bus.split("event-bus/", 1)[1] if bus.startswith("arn:") else bus


def _rule_arn(template: TemplateView, logical_id: str, bus: str, name: str) -> str:
    try:
        arn = template.resolve({"Fn::GetAtt": [logical_id, "Arn"]})
    except Exception:  # a template view that cannot resolve it: build the ARN EventBridge gives
        arn = None
    if isinstance(arn, str) and arn.startswith("arn:aws:events:"):
        return arn
    region = template.resolve({"Ref": "AWS::Region"})
    account = template.resolve({"Ref": "AWS::AccountId"})
    path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
    return f"arn:aws:events:{region}:{account}:rule/{path}"
