"""Lossless Lambda consumers of ordered streams: shared by CompositeKeyTable and DataStream.

Every consumer starts at TRIM_HORIZON (the oldest record kept), lets the function report partial
batch failures, bisects a failing batch to isolate the bad record, retries a bounded number of
times or until a record is too old, and then sends a pointer to the failed records to an SQS
on-failure queue (by default a new encrypted, TLS-only one). Alarms: the consumer's iterator age
and, for a queue it created, any message in that queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _metrics, _resolved
from constructs_lib._alarms import ALARM_PERIOD, AlarmDefault, AlarmLevel, AlarmSettings, threshold_alarm
from constructs_lib._paths import path_of
from constructs_lib._queues import dead_letter_queue, messages_waiting
from constructs_lib._validation import PropErrors, check_token_unit, check_whole_seconds
from constructs_lib.serverless_function import invocation_target

# Lambda's default of 100 records per batch keeps one invocation well inside its timeout.
DEFAULT_BATCH_SIZE = 100
# Bounded: a poison record is retried this often, then skipped to the on-failure queue instead of
# blocking its shard until the record expires.
DEFAULT_RETRIES = 10
# Records older than this go to the on-failure queue. The queue holds only pointers to the records,
# which a DynamoDB stream keeps 24 hours: 6 hours leaves 18 hours to replay them.
DEFAULT_MAX_RECORD_AGE = _resolved.hours(6)
# A healthy consumer reads records within seconds; 15 minutes behind means it is stuck on retries or
# short of throughput, with hours left before records reach DEFAULT_MAX_RECORD_AGE.
DEFAULT_ITERATOR_AGE_THRESHOLD = _resolved.minutes(15)
MIN_ITERATOR_AGE_THRESHOLD = _resolved.minutes(1)  # a consumer is always a few seconds behind
# Lambda's limits for stream event source mappings.
MAX_BATCHING_WINDOW = _resolved.minutes(5)
MAX_RETRIES = 10000
MAX_PARALLELIZATION_FACTOR = 10
MIN_RECORD_AGE = _resolved.minutes(1)


# The stream event sources a consumer is connected through.
EventSource = (
    event_sources.DynamoEventSource
    | event_sources.KinesisEventSource
    | event_sources.KinesisConsumerEventSource
)


@dataclass(frozen=True)
class StreamConsumer:
    """What adding a stream consumer created for one function.

    `dead_letter_queue` receives a pointer to every batch the function could not process;
    `iterator_age_alarm` and `dead_letter_alarm` exist when the owner has alarms on (the latter only
    for a queue the owner created); `fan_out_consumer` is the Kinesis enhanced fan-out consumer the
    function reads through, if any.
    """

    function: lambda_.IFunction
    event_source: EventSource
    dead_letter_queue: sqs.IQueue
    iterator_age_alarm: cloudwatch.Alarm | None = None
    dead_letter_alarm: cloudwatch.Alarm | None = None
    fan_out_consumer: kinesis.IStreamConsumer | None = None

    def metric_iterator_age(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How far the function is behind the stream (``IteratorAge``, ms): its alarm's and graph's metric."""
        return iterator_age(self.function, statistic=statistic, period=period, label=label)


def iterator_age(
    function: lambda_.IFunction,
    *,
    statistic: str = "Maximum",
    period: Duration | None = None,
    label: str | None = None,
) -> cloudwatch.Metric:
    """A stream consumer's AWS/Lambda ``IteratorAge`` (the same metric as `ServerlessFunction`'s)."""
    return _metrics.lambda_function(function).metric(
        "IteratorAge", statistic=statistic, period=period, label=label
    )


@dataclass(frozen=True)
class ConsumerOptions:
    """How a stream consumer batches, retries and parallelizes."""

    batch_size: int = DEFAULT_BATCH_SIZE
    max_batching_window: Duration | None = None
    retry_attempts: int = DEFAULT_RETRIES
    max_record_age: Duration = DEFAULT_MAX_RECORD_AGE
    parallelization_factor: int = 1

    def validate(
        self,
        errors: PropErrors,
        prop: str,
        *,
        max_batch_size: int,
        max_record_age: Duration,
        max_record_age_text: str,
    ) -> None:
        """Record in `errors` every option outside Lambda's (and the stream's) limits, as `prop`.<option>."""
        errors.check(
            _resolved.is_unresolved_number(self.batch_size) or 1 <= self.batch_size <= max_batch_size,
            f"{prop}.batch_size",
            f"{self.batch_size} is outside 1-{max_batch_size}",
        )
        # Lambda takes MaximumBatchingWindowInSeconds and MaximumRecordAgeInSeconds as integers.
        for option, duration in (
            ("max_batching_window", self.max_batching_window),
            ("max_record_age", self.max_record_age),
        ):
            check_whole_seconds(errors, f"{prop}.{option}", duration)
        errors.check(
            self.max_batching_window is None
            or _resolved.is_unresolved_duration(self.max_batching_window)
            or _resolved.to_milliseconds(self.max_batching_window)
            <= _resolved.to_milliseconds(MAX_BATCHING_WINDOW),
            f"{prop}.max_batching_window",
            "Lambda waits at most 5 minutes to fill a batch",
        )
        errors.check(
            _resolved.is_unresolved_number(self.retry_attempts) or 0 <= self.retry_attempts <= MAX_RETRIES,
            f"{prop}.retry_attempts",
            f"{self.retry_attempts} is outside 0-{MAX_RETRIES}; bounded retries keep a bad record from "
            "blocking its shard",
        )
        errors.check(
            _resolved.is_unresolved_duration(self.max_record_age)
            or _resolved.is_unresolved_duration(max_record_age)
            or _resolved.to_milliseconds(MIN_RECORD_AGE)
            <= _resolved.to_milliseconds(self.max_record_age)
            <= _resolved.to_milliseconds(max_record_age),
            f"{prop}.max_record_age",
            f"must be between 1 minute and {max_record_age_text}",
        )
        errors.check(
            _resolved.is_unresolved_number(self.parallelization_factor)
            or 1 <= self.parallelization_factor <= MAX_PARALLELIZATION_FACTOR,
            f"{prop}.parallelization_factor",
            f"{self.parallelization_factor} is outside 1-{MAX_PARALLELIZATION_FACTOR}",
        )

    def event_source_props(self, on_failure_queue: sqs.IQueue) -> dict[str, Any]:
        """The keyword arguments every lossless stream event source shares."""
        return {
            "starting_position": lambda_.StartingPosition.TRIM_HORIZON,
            "batch_size": self.batch_size,
            "max_batching_window": self.max_batching_window,
            "report_batch_item_failures": True,
            "bisect_batch_on_error": True,
            "retry_attempts": self.retry_attempts,
            # aws-cdk-lib range-checks it and throws through jsii on a token: see mapping_overrides.
            "max_record_age": DEFAULT_MAX_RECORD_AGE
            if _resolved.is_unresolved_duration(self.max_record_age)
            else self.max_record_age,
            "parallelization_factor": self.parallelization_factor,
            "on_failure": event_sources.SqsDlq(on_failure_queue),
        }

    def mapping_overrides(self) -> dict[str, Any]:
        """Event source mapping properties from tokens (CfnParameters) that aws-cdk-lib would refuse."""
        if _resolved.is_unresolved_duration(self.max_record_age):
            return {"MaximumRecordAgeInSeconds": self.max_record_age.to_seconds()}
        return {}


def validate_iterator_age_threshold(errors: PropErrors, threshold: Duration) -> None:
    # The alarm takes it in milliseconds; a token (a CfnParameter) is not judged, it resolves at deploy.
    check_token_unit(errors, "iterator_age_threshold", threshold, "millis")
    errors.check(
        _resolved.is_unresolved_duration(threshold)
        or _resolved.to_milliseconds(threshold) >= _resolved.to_milliseconds(MIN_ITERATOR_AGE_THRESHOLD),
        "iterator_age_threshold",
        "must be at least 1 minute: a consumer is always a few seconds behind",
    )


@dataclass(frozen=True)
class ConsumerAlarms:
    """Whether and where a stream owner alarms for its consumers."""

    enabled: bool
    topic: sns.ITopic | None
    iterator_age_threshold: Duration
    settings: AlarmSettings | None = None


# Each consumer's alarms by name, with their defaults: a consumer behind may catch up (warning, in
# milliseconds, per minute); a failed batch waits for a person (critical). No data means no records.
CONSUMER_ALARMS = {
    "iterator_age": AlarmDefault(
        threshold=_resolved.to_milliseconds(DEFAULT_ITERATOR_AGE_THRESHOLD),
        level=AlarmLevel.WARNING,
        duration_unit="milliseconds",
    ),
    "consumer_dead_letter": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
}


@cache
def _iterator_age_period() -> Duration:
    """The iterator-age alarm's one-minute period: one Duration for every consumer, made on first use."""
    return _resolved.minutes(1)


def check_new_consumer(
    errors: PropErrors,
    prop: str,
    owner: Construct,
    *,
    consumers: Sequence[StreamConsumer],
    function: lambda_.IFunction,
    consumer_id: str | None,
    what: str,
) -> None:
    """The function is not already a consumer, and `consumer_id` names no existing construct.

    Lambda keeps one event source mapping per function and stream (CreateEventSourceMapping answers
    ResourceConflictException for a second), and aws-cdk-lib names the mapping after the stream, so
    it throws through jsii on the second one; a reused `consumer_id` collides the same way.
    """
    if consumers:  # a first consumer needs no path: two jsii calls saved
        path = path_of(function)
        errors.check(
            all(path_of(consumer.function) != path for consumer in consumers),
            f"{prop}.function",
            f"'{path}' already consumes {what}, and Lambda allows one event source mapping per function "
            "and stream; add each function once",
        )
    if consumer_id is not None:
        scope: Construct = owner if Stack.of(function) is Stack.of(owner) else Stack.of(function)
        child = consumer_id if scope is owner else f"{Names.unique_id(owner)}{consumer_id}"
        errors.check(
            scope.node.try_find_child(child) is None,
            f"{prop}.consumer_id",
            f"'{consumer_id}' is already used by another consumer of {what}; give each consumer its own id",
        )


def add_lossless_consumer(
    owner: Construct,
    function: lambda_.IFunction,
    *,
    name: str,
    source: Callable[[sqs.IQueue], EventSource],
    on_failure_queue: sqs.IQueue | None,
    holds: str,
    removal_policy: RemovalPolicy,
    alarms: ConsumerAlarms,
    replay_window: str,
    fan_out_consumer: kinesis.IStreamConsumer | None = None,
    mapping_overrides: Mapping[str, Any] | None = None,
) -> StreamConsumer:
    """Connect `function` to the stream of `owner` through `source(on_failure_queue)`, losing nothing.

    The on-failure queue (created unless given; it holds `holds` and follows `removal_policy`, since
    the pointers are data) and the alarms are named `name`, under `owner`, or under the function's
    stack when that is another stack: in the owner's stack they would reference the function while
    the function's stack references the stream, a cross-stack cycle. `mapping_overrides` go on the
    event source mapping's CloudFormation properties.
    """
    if Stack.of(function) is Stack.of(owner):
        scope = Construct(owner, name)
    else:
        scope = Construct(Stack.of(function), f"{Names.unique_id(owner)}{name}")
    created_queue: sqs.Queue | None = None
    if on_failure_queue is None:
        created_queue = dead_letter_queue(
            scope, "DeadLetterQueue", holds=holds, removal_policy=removal_policy
        )
        on_failure_queue = created_queue

    event_source = source(on_failure_queue)
    # A ServerlessFunction's live alias, when it has one: a rollback then rolls the consumer back too.
    target = invocation_target(function)
    existing = {child.node.id for child in target.node.children} if mapping_overrides else set()
    target.add_event_source(event_source)
    if mapping_overrides:
        mapping = next(child for child in target.node.children if child.node.id not in existing)
        cfn_mapping = mapping.node.default_child
        assert isinstance(cfn_mapping, lambda_.CfnEventSourceMapping)
        for key, value in mapping_overrides.items():
            cfn_mapping.add_property_override(key, value)

    iterator_age_alarm: cloudwatch.Alarm | None = None
    dead_letter_alarm: cloudwatch.Alarm | None = None
    if alarms.enabled:
        threshold = alarms.iterator_age_threshold
        threshold_millis = _resolved.to_milliseconds(threshold)
        path = path_of(scope)
        iterator_age_alarm = threshold_alarm(
            scope,
            "IteratorAgeAlarm",
            iterator_age(function, period=_iterator_age_period()),
            threshold=threshold_millis,
            description=f"{path}: the stream consumer is {_resolved.to_human_string(threshold)} or more "
            "behind: look for failing batches or raise parallelization_factor.",
            topic=alarms.topic,
            name="iterator_age",
            settings=alarms.settings,
            default=replace(CONSUMER_ALARMS["iterator_age"], threshold=threshold_millis),
        )
        if created_queue is not None:
            dead_letter_alarm = threshold_alarm(
                scope,
                "DeadLetterAlarm",
                messages_waiting(created_queue, period=ALARM_PERIOD),
                threshold=1,
                description=f"{path}: stream records failed processing; replay them from the "
                f"stream within {replay_window} using the pointers in the queue.",
                topic=alarms.topic,
                name="consumer_dead_letter",
                settings=alarms.settings,
                default=CONSUMER_ALARMS["consumer_dead_letter"],
            )
    return StreamConsumer(
        function=function,
        event_source=event_source,
        dead_letter_queue=on_failure_queue,
        iterator_age_alarm=iterator_age_alarm,
        dead_letter_alarm=dead_letter_alarm,
        fan_out_consumer=fan_out_consumer,
    )
