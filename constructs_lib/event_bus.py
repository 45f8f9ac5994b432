"""EventBus: a custom EventBridge bus with an archive, and rules whose targets lose no event.

Creates: one custom event bus; an archive of every event this account puts on it; per `add_rule` an
EventBridge rule matching an event pattern (validated at synth time), delivering to functions and
queues, each target with a retry policy and a dead-letter queue of its own (SQS-encrypted, TLS-only,
14 days). The policies that let EventBridge deliver are written with them, each scoped to the rule
by ``aws:SourceArn``: a Lambda permission per function, a queue-policy statement per target queue
and per dead-letter queue. Alarms per rule: failed deliveries, and any message in its dead-letter
queues.

Defaults: events archived for 14 days (as long as the dead-letter queues keep what failed, so any
failure still on hand can be replayed); delivery retried 185 times over at most 24 hours (EventBridge's
maxima: a throttled or briefly failing target still gets every event, while an event that can never
be delivered, its target gone or not permitted, goes to the dead-letter queue at once); alarms on.
The bus is encrypted with an AWS-owned key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _event_patterns, _metrics, _resolved
from constructs_lib._alarms import (
    ALARM_PERIOD,
    AlarmDefault,
    AlarmLevel,
    AlarmSettings,
    check_alarm_settings,
    threshold_alarm,
)
from constructs_lib._paths import path_of
from constructs_lib._queues import dead_letter_queue, messages_waiting
from constructs_lib._validation import (
    MAX_TARGET_EVENT_AGE,
    MAX_TARGET_RETRY_ATTEMPTS,
    PropErrors,
    check_target_retry_policy,
    check_token_unit,
)
from constructs_lib.queue_worker import QueueWorker
from constructs_lib.serverless_function import ServerlessFunction

# As long as the dead-letter queues keep failed events: a replay can cover any failure still on hand.
DEFAULT_ARCHIVE_RETENTION = _resolved.days(14)
# EventBridge's maxima (and its defaults): only the event age bounds the retries.
DEFAULT_RETRY_ATTEMPTS = MAX_TARGET_RETRY_ATTEMPTS
DEFAULT_MAX_EVENT_AGE = MAX_TARGET_EVENT_AGE
MAX_TARGETS = 5  # EventBridge's limit per rule
_BUS_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
_RULE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
MAX_DESCRIPTION_LENGTH = 512  # AWS::Events::EventBus and AWS::Events::Rule Description
# The top-level fields of an EventBridge event, and their names in CDK's EventPattern.
_ENVELOPE_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "time": "time",
    "id": "id",
    "version": "version",
}

Target = ServerlessFunction | QueueWorker | sqs.IQueue

# Each rule's alarms by name, with their defaults (`alarm_settings` changes them): an event EventBridge
# gave up on waits for a person (critical). No data means no events failed.
ALARMS = {
    "failed_invocations": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
    "dead_letter": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
}


@dataclass(frozen=True)
class EventRule:
    """What `EventBus.add_rule` created: the rule, one dead-letter queue per target (in target order),
    and the alarms (None without alarms)."""

    rule: events.Rule
    dead_letter_queues: list[sqs.Queue]
    failed_invocations_alarm: cloudwatch.Alarm | None = None
    dead_letter_alarm: cloudwatch.Alarm | None = None


class EventBus(Construct):
    """A custom EventBridge bus whose rules route events to functions and queues, losing none.

    Add rules with `add_rule(rule_id, event_pattern=..., targets=[...])`: the pattern is the JSON
    EventBridge takes (``{"source": ["app.orders"], "detail-type": ["OrderPlaced"]}``), checked at
    synth time; each target is a `ServerlessFunction` created with ``invoked_asynchronously=True``
    (EventBridge invokes functions asynchronously), a `QueueWorker`, or an SQS queue of this app.
    Producers get `grant_put_events`.

    Attributes: `event_bus`, `event_bus_name`, `event_bus_arn`, `archive` (None without one), `rules`.

    Alarms per rule (`alarm_settings` changes them by name; `ALARMS` holds the defaults):
    ``failed_invocations`` (critical: EventBridge gave up delivering an event in 5 minutes) and
    ``dead_letter`` (critical: an event waits in a target's dead-letter queue). Missing data is
    healthy: no events, no failures.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus_name: str | None = None,
        description: str | None = None,
        archive_retention: Duration | None = DEFAULT_ARCHIVE_RETENTION,
        alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_settings: AlarmSettings | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        if event_bus_name is not None and not _resolved.is_unresolved_str(event_bus_name):
            errors.check(
                bool(_BUS_NAME.match(event_bus_name)) and event_bus_name != "default",
                "event_bus_name",
                f"'{event_bus_name}' must be 1-256 characters of A-Z, a-z, 0-9, '.', '_', '-' and '/', "
                "and not 'default'",
            )
            # aws-cdk-lib throws through jsii on a '/': only partner event buses (aws.partner/...) have one.
            errors.check(
                "/" not in event_bus_name,
                "event_bus_name",
                f"'{event_bus_name}' contains '/', which only partner event buses' names have; "
                "use letters, digits, '.', '_' and '-'",
            )
        # AWS::Events::EventBus and AWS::Events::Rule Description: at most 512 characters.
        errors.check(
            description is None or len(description) <= MAX_DESCRIPTION_LENGTH,
            "description",
            f"is {len(description or '')} characters, over EventBridge's {MAX_DESCRIPTION_LENGTH}; "
            "shorten it",
        )
        # Durations and numbers from tokens (CfnParameters) are not judged: they resolve at deploy.
        check_token_unit(errors, "archive_retention", archive_retention, "days")
        if archive_retention is not None and not _resolved.is_unresolved_duration(archive_retention):
            known = _resolved.known_milliseconds(archive_retention)
            days = known / 86_400_000 if known is not None else archive_retention.to_days(integral=False)
            errors.check(
                days == int(days) and days >= 1,
                "archive_retention",
                "must be whole days, at least 1; pass None for no archive",
            )
        errors.check(
            alarms or alarm_topic is None,
            "alarm_topic",
            "is the action of the bus's alarms; set alarms=True or remove it",
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the bus's"
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self._alarms = alarms
        self._alarm_topic = alarm_topic
        self._alarm_settings = alarm_settings
        self.rules: dict[str, EventRule] = {}
        self.event_bus = events.EventBus(self, "Bus", event_bus_name=event_bus_name, description=description)
        self.archive: events.Archive | None = None
        if archive_retention is not None:
            self.archive = events.Archive(
                self,
                "Archive",
                source_event_bus=self.event_bus,
                description=f"Events put on {path_of(self)} by this account",
                event_pattern=events.EventPattern(account=[Stack.of(self).account]),
                retention=archive_retention,
            )

    @property
    def event_bus_name(self) -> str:
        return self.event_bus.event_bus_name

    @property
    def event_bus_arn(self) -> str:
        return self.event_bus.event_bus_arn

    def grant_put_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put events on this bus (and no other)."""
        return self.event_bus.grant_put_events_to(grantee)

    def metric_invocations(
        self,
        rule_id: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """Times the rule `rule_id` invoked its targets (AWS/Events ``Invocations``), summed."""
        return self._rule_metric(
            self.rules[rule_id].rule, "Invocations", statistic=statistic, period=period, label=label
        )

    def metric_failed_invocations(
        self,
        rule_id: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """Invocations of the rule `rule_id` that failed for good (``FailedInvocations``), summed: the
        failed-invocations alarm's metric."""
        return self._rule_metric(
            self.rules[rule_id].rule, "FailedInvocations", statistic=statistic, period=period, label=label
        )

    def _rule_metric(
        self,
        rule: events.IRule,
        metric_name: str,
        *,
        statistic: str,
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        return _metrics.events_rule(rule, self.event_bus.event_bus_name).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def add_rule(
        self,
        rule_id: str,
        *,
        event_pattern: Mapping[str, Any],
        targets: Sequence[Target],
        description: str | None = None,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_event_age: Duration = DEFAULT_MAX_EVENT_AGE,
        enabled: bool = True,
    ) -> EventRule:
        """Deliver every event matching `event_pattern` to each of `targets` (1 to 5)."""
        errors = PropErrors(self, f"add_rule({rule_id})")
        errors.check(
            bool(_RULE_ID.match(rule_id)) and rule_id not in self.rules,
            "rule_id",
            f"'{rule_id}' must be a unique construct id of letters and digits, starting with a letter",
        )
        for problem in _event_patterns.pattern_errors(dict(event_pattern)):
            errors.add("event_pattern", problem)
        for key in event_pattern:
            errors.check(
                key in _ENVELOPE_FIELDS,
                "event_pattern",
                f"'{key}' is not a top-level field of an EventBridge event ({', '.join(_ENVELOPE_FIELDS)}); "
                "match your own fields under 'detail'",
            )
        errors.check(
            1 <= len(targets) <= MAX_TARGETS,
            "targets",
            f"a rule needs 1-{MAX_TARGETS} targets (EventBridge's limit), not {len(targets)}",
        )
        for index, target in enumerate(targets):
            _validate_target(errors, f"targets[{index}]", target)
        check_target_retry_policy(errors, retry_attempts, max_event_age, service="EventBridge")
        errors.check(
            description is None or len(description) <= MAX_DESCRIPTION_LENGTH,
            "description",
            f"is {len(description or '')} characters, over EventBridge's {MAX_DESCRIPTION_LENGTH}; "
            "shorten it",
        )
        errors.raise_if_any()

        scope = Construct(self, rule_id)
        path = path_of(scope)
        rule = events.Rule(
            scope,
            "Rule",
            event_bus=self.event_bus,
            event_pattern=_cdk_pattern(event_pattern),
            description=description,
            enabled=enabled,
        )
        queues: list[sqs.Queue] = []
        for index, target in enumerate(targets):
            queue = dead_letter_queue(
                scope,
                f"Target{index}DeadLetterQueue",
                holds=f"the events rule {path} could not deliver to its target {index}",
            )
            queues.append(queue)
            rule.add_target(_rule_target(target, queue, retry_attempts, max_event_age))

        failed: cloudwatch.Alarm | None = None
        dead_letters: cloudwatch.Alarm | None = None
        if self._alarms:
            failed = threshold_alarm(
                scope,
                "FailedInvocationsAlarm",
                self._rule_metric(rule, "FailedInvocations", statistic="Sum", period=ALARM_PERIOD),
                threshold=1,
                description=f"{path}: EventBridge failed to deliver events to a target for good; "
                "they are in the rule's dead-letter queues.",
                topic=self._alarm_topic,
                name="failed_invocations",
                settings=self._alarm_settings,
                default=ALARMS["failed_invocations"],
            )
            dead_letters = threshold_alarm(
                scope,
                "DeadLetterAlarm",
                _metrics.math_expression(
                    " + ".join(f"q{index}" for index in range(len(queues))),
                    {f"q{index}": messages_waiting(queue) for index, queue in enumerate(queues)},
                    period=ALARM_PERIOD,
                    label="Events dead-lettered by the rule's targets",
                ),
                threshold=1,
                description=f"{path}: events could not be delivered; fix the target, then replay "
                "them from the archive or the dead-letter queues within 14 days.",
                topic=self._alarm_topic,
                name="dead_letter",
                settings=self._alarm_settings,
                default=ALARMS["dead_letter"],
            )
        result = EventRule(rule, queues, failed, dead_letters)
        self.rules[rule_id] = result
        return result


def _validate_target(errors: PropErrors, prop: str, target: Target) -> None:
    if isinstance(target, ServerlessFunction):
        errors.check(
            target.dead_letter_queue is not None,
            prop,
            f"EventBridge invokes {target.node.path} asynchronously; create the ServerlessFunction with "
            "invoked_asynchronously=True so an event it fails lands in its dead-letter queue",
        )
        return
    queue = target.queue if isinstance(target, QueueWorker) else target
    errors.check(
        isinstance(queue, sqs.Queue),
        prop,
        "an imported queue's policy cannot be changed here, so EventBridge could not send to it; pass a "
        "queue created in this app",
    )
    errors.check(
        not queue.fifo,
        prop,
        "a FIFO queue needs a message group id per event; route events to a standard queue",
    )
    errors.check(
        queue.encryption_master_key is None,
        prop,
        "the queue is encrypted with a customer-managed KMS key, whose key policy would have to let "
        "EventBridge use it; use SQS-managed encryption (QueueWorker's default)",
    )


def _rule_target(
    target: Target, dead_letters: sqs.IQueue, retry_attempts: int, max_event_age: Duration
) -> events.IRuleTarget:
    # CDK's targets write the delivery policies, scoped to the rule by aws:SourceArn: the Lambda
    # permission, the target queue's policy statement and the dead-letter queue's.
    if isinstance(target, ServerlessFunction):
        return events_targets.LambdaFunction(
            target.invocation_target,
            dead_letter_queue=dead_letters,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )
    queue = target.queue if isinstance(target, QueueWorker) else target
    return events_targets.SqsQueue(
        queue, dead_letter_queue=dead_letters, retry_attempts=retry_attempts, max_event_age=max_event_age
    )


def _cdk_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """`pattern` (EventBridge's JSON) as CDK's EventPattern, which renders each field as given.

    CDK types the envelope fields as lists of strings; a field with content filters (objects such as
    ``{"prefix": "app."}``) goes in as a list token, which resolves to the filters unchanged.
    """
    fields: dict[str, Any] = {}
    for key, value in pattern.items():
        plain = key == "detail" or all(isinstance(item, str) for item in value)
        fields[_ENVELOPE_FIELDS[key]] = value if plain else Token.as_list(value)
    return events.EventPattern(**fields)
