"""DataStream: a Kinesis data stream with lossless Lambda consumers.

Creates: one Kinesis data stream (KMS-encrypted) and, per `add_consumer`, an event source mapping
that starts at TRIM_HORIZON, lets the function report partial batch failures, bisects a failing
batch, retries a bounded number of times or until a record is too old, and then sends a pointer to
the failed records to an SQS on-failure queue (created encrypted and TLS-only unless given);
optionally an enhanced fan-out consumer (dedicated 2 MB/s per shard read throughput). The consumer
logic is shared with CompositeKeyTable's stream consumers (constructs_lib/_stream_consumers.py).
Alarms: write throttles on the stream; per consumer its iterator age and any message in its queue.

Defaults: on-demand capacity (no shard planning; Kinesis scales to twice the previous peak write
throughput); encryption with the AWS-managed ``aws/kinesis`` key (no key policy to maintain and no
per-consumer key grants; pass `encryption_key` when a customer-managed key is required); records
kept 24 hours (Kinesis's minimum and the price of the base tier: on-failure pointers can be replayed
within it); consumers as for CompositeKeyTable: 100 records per batch, 10 retries, records older than
6 hours skipped to the on-failure queue; alarms on, RETAIN on stack deletion.
"""

from __future__ import annotations

import re

from aws_cdk import Duration, Names, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _metrics, _resolved
from constructs_lib._alarms import (
    ALARM_PERIOD,
    AlarmDefault,
    AlarmLevel,
    AlarmSettings,
    check_alarm_settings,
    threshold_alarm,
)
from constructs_lib._nag import acknowledge, acknowledge_key_grant
from constructs_lib._paths import path_of
from constructs_lib._protection import check_disposable, record_reason, weakened_removal_policy
from constructs_lib._stream_consumers import (
    CONSUMER_ALARMS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_ITERATOR_AGE_THRESHOLD,
    DEFAULT_MAX_RECORD_AGE,
    DEFAULT_RETRIES,
    ConsumerAlarms,
    ConsumerOptions,
    EventSource,
    StreamConsumer,
    add_lossless_consumer,
    check_new_consumer,
    validate_iterator_age_threshold,
)
from constructs_lib._validation import PropErrors, check_token_unit

# Kinesis's cheapest retention, and long enough to replay the on-failure pointers of a day.
DEFAULT_RETENTION = _resolved.hours(24)
MIN_RETENTION_HOURS, MAX_RETENTION_HOURS = 24, 8760  # Kinesis's limits: 1 day to 365 days
MAX_CONSUMER_BATCH_SIZE = 10000  # Lambda's limit for Kinesis
# Lambda skips records older than this at most, whatever the stream keeps.
MAX_CONSUMER_RECORD_AGE = _resolved.days(7)
MAX_SHARD_COUNT = 500  # the default shard quota per account and region in most regions
MAX_FAN_OUT_CONSUMERS = 20  # Kinesis's limit of enhanced fan-out consumers per stream
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

# The alarms by name, with their defaults (`alarm_settings` changes them): throttled writes are retried
# by producers (warning); the consumers' alarms are CONSUMER_ALARMS. No data means no traffic.
ALARMS = {
    "write_throttle": AlarmDefault(threshold=1, level=AlarmLevel.WARNING),
    **CONSUMER_ALARMS,
}


class DataStream(Construct):
    """A Kinesis data stream whose Lambda consumers lose no record.

    Consumers (`add_consumer`) read with partial batch failures and bisection, a bounded number of
    retries and record age, and an on-failure queue. `enhanced_fan_out=True` gives a consumer its own
    read throughput (an `AWS::Kinesis::StreamConsumer`), for streams with several consumers or low
    latency needs; it costs per consumer-shard hour. A `removal_policy` other than RETAIN lets the
    records go with the stack, so it needs `disposable_data_reason` (written into the stream's
    template Metadata).

    Attributes: `stream`, `stream_name`, `stream_arn`, `encryption_key` (None with the AWS-managed
    key), `write_throttle_alarm` (None without alarms or turned off), `consumers`.

    Alarms (`alarm_settings` changes them by name; `ALARMS` holds the defaults): ``write_throttle``
    (warning: one throttled write in 5 minutes), and per consumer ``iterator_age`` (warning: the
    consumer is `iterator_age_threshold` behind, in milliseconds) and ``consumer_dead_letter``
    (critical: a failed batch's pointers wait in its on-failure queue). Missing data is healthy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stream_mode: kinesis.StreamMode = kinesis.StreamMode.ON_DEMAND,
        shard_count: int | None = None,
        retention_period: Duration = DEFAULT_RETENTION,
        encryption_key: kms.IKey | None = None,
        stream_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
        alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        iterator_age_threshold: Duration = DEFAULT_ITERATOR_AGE_THRESHOLD,
        alarm_settings: AlarmSettings | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        if stream_mode == kinesis.StreamMode.PROVISIONED:
            errors.check(
                shard_count is not None
                and (_resolved.is_unresolved_number(shard_count) or 1 <= shard_count <= MAX_SHARD_COUNT),
                "shard_count",
                f"a provisioned stream needs 1-{MAX_SHARD_COUNT} shards, not {shard_count}; pass shard_count "
                "or use StreamMode.ON_DEMAND",
            )
        else:
            errors.check(
                shard_count is None,
                "shard_count",
                "applies only to StreamMode.PROVISIONED; an on-demand stream scales its own shards",
            )
        # Kinesis takes it in hours; a token (a CfnParameter) is not judged, it resolves at deploy.
        check_token_unit(errors, "retention_period", retention_period, "hours")
        hours = (
            MIN_RETENTION_HOURS
            if _resolved.is_unresolved_duration(retention_period)
            else _hours(retention_period)
        )
        errors.check(
            hours == int(hours) and MIN_RETENTION_HOURS <= hours <= MAX_RETENTION_HOURS,
            "retention_period",
            f"must be whole hours between {MIN_RETENTION_HOURS} and {MAX_RETENTION_HOURS} (1 to 365 days)",
        )
        if stream_name is not None and not _resolved.is_unresolved_str(stream_name):
            errors.check(
                bool(_STREAM_NAME.match(stream_name)),
                "stream_name",
                f"'{stream_name}' must be 1-128 characters of A-Z, a-z, 0-9, '_', '-' and '.'",
            )
        errors.check(
            alarms or alarm_topic is None,
            "alarm_topic",
            "is the action of the stream's alarms; set alarms=True or remove it",
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the stream's"
        )
        validate_iterator_age_threshold(errors, iterator_age_threshold)
        check_disposable(
            errors, weakened_removal_policy(removal_policy), disposable_data_reason, "the stream's records"
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self.encryption_key = encryption_key
        self._retention = retention_period
        self._removal_policy = removal_policy
        self._alarms = ConsumerAlarms(alarms, alarm_topic, iterator_age_threshold, alarm_settings)
        self.consumers: list[StreamConsumer] = []
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=stream_name,
            stream_mode=stream_mode,
            shard_count=shard_count,
            retention_period=retention_period,
            encryption=kinesis.StreamEncryption.KMS if encryption_key else kinesis.StreamEncryption.MANAGED,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        record_reason(self.stream, disposable_data_reason)
        if encryption_key is not None:
            acknowledge(
                self.stream,
                "AwsSolutions-KDS3",
                "A customer-managed key was passed as encryption_key: the caller chose it over aws/kinesis "
                "(key policy control, cross-account access) and its per-request KMS cost.",
            )
        self.write_throttle_alarm: cloudwatch.Alarm | None = None
        if alarms:
            self.write_throttle_alarm = threshold_alarm(
                self,
                "WriteThrottleAlarm",
                self.metric_write_provisioned_throughput_exceeded(statistic="Sum", period=ALARM_PERIOD),
                threshold=1,
                description=f"{path_of(self)}: Kinesis throttled writes: producers must retry; spread "
                "partition keys, or add shards to a provisioned stream.",
                topic=alarm_topic,
                name="write_throttle",
                settings=alarm_settings,
                default=ALARMS["write_throttle"],
            )

    @property
    def stream_name(self) -> str:
        return self.stream.stream_name

    @property
    def stream_arn(self) -> str:
        return self.stream.stream_arn

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """The stream's AWS/Kinesis metric `metric_name` (dimension ``StreamName``), over `period` (five
        minutes by default). Every alarm and dashboard graph of this stream gets its metric here."""
        return _metrics.stream(self.stream).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def metric_incoming_records(
        self, *, statistic: str = "Average", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Records written to the stream, per put request on average (as aws-cdk-lib's); ``Sum``: all."""
        return self.metric("IncomingRecords", statistic=statistic, period=period, label=label)

    def metric_write_provisioned_throughput_exceeded(
        self, *, statistic: str = "Average", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Writes Kinesis throttled: the share of records throttled on average (as aws-cdk-lib's); ``Sum``,
        the write-throttle alarm's statistic: how many."""
        return self.metric(
            "WriteProvisionedThroughputExceeded", statistic=statistic, period=period, label=label
        )

    def metric_get_records_iterator_age_milliseconds(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How far the stream's readers are behind (milliseconds), at most."""
        return self.metric(
            "GetRecords.IteratorAgeMilliseconds", statistic=statistic, period=period, label=label
        )

    def grant_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put records (and encrypt them with the stream's key, if it has a customer-managed one)."""
        grant = self.stream.grant_write(grantee)
        if self.encryption_key is not None:
            # The statement the stream already granted, again (rendered once): the Grant then holds it.
            grant = grant.combine(self.encryption_key.grant_encrypt(grantee))
            acknowledge_key_grant(grantee, f"write grant for the KMS-encrypted stream {path_of(self)}")
        return grant

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read records with shard iterators (and decrypt them with the stream's key, if any)."""
        grant = self.stream.grant_read(grantee)
        if self.encryption_key is not None:
            grant = grant.combine(self.encryption_key.grant_decrypt(grantee))  # as the stream granted it
        return grant

    def add_consumer(
        self,
        function: lambda_.IFunction,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        retry_attempts: int = DEFAULT_RETRIES,
        max_record_age: Duration = DEFAULT_MAX_RECORD_AGE,
        parallelization_factor: int = 1,
        on_failure_queue: sqs.IQueue | None = None,
        enhanced_fan_out: bool = False,
        consumer_id: str | None = None,
    ) -> StreamConsumer:
        """Invoke `function` with batches of the stream's records, losing none.

        A record still failing after `retry_attempts` retries, or older than `max_record_age`, is
        skipped and a pointer to it (shard, sequence numbers) goes to `on_failure_queue` (by default a
        new SQS-encrypted, TLS-only queue keeping messages 14 days). `consumer_id` names the created
        constructs (by default derived from the function's path); they are created under this
        construct, or under the function's stack when that is another stack.
        """
        # A retention from a token bounds record ages only at deploy: Lambda's own limit applies here.
        record_age_limit = (
            self._retention
            if not _resolved.is_unresolved_duration(self._retention)
            and _resolved.to_seconds(self._retention) < _resolved.to_seconds(MAX_CONSUMER_RECORD_AGE)
            else MAX_CONSUMER_RECORD_AGE
        )
        errors = PropErrors(self)  # its path read only to raise
        options = ConsumerOptions(
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
        )
        options.validate(
            errors,
            "add_consumer",
            max_batch_size=MAX_CONSUMER_BATCH_SIZE,
            max_record_age=record_age_limit,
            max_record_age_text=_record_age_limit_text(self._retention),
        )
        fan_outs = sum(1 for consumer in self.consumers if consumer.fan_out_consumer is not None)
        errors.check(
            not enhanced_fan_out or fan_outs < MAX_FAN_OUT_CONSUMERS,
            "add_consumer.enhanced_fan_out",
            f"the stream already has {MAX_FAN_OUT_CONSUMERS} enhanced fan-out consumers, Kinesis's limit; "
            "read through the shared throughput instead",
        )
        check_new_consumer(
            errors,
            "add_consumer",
            self,
            # Through enhanced fan-out each consumer is a source of its own: one function may read several.
            consumers=[] if enhanced_fan_out else [c for c in self.consumers if c.fan_out_consumer is None],
            function=function,
            consumer_id=consumer_id,
            what="this stream",
        )
        errors.raise_if_any()

        name = consumer_id or f"Consumer{Names.unique_id(function)}"
        fan_out: kinesis.StreamConsumer | None = None
        if enhanced_fan_out:
            fan_out = kinesis.StreamConsumer(
                self,
                f"{name}FanOut",
                stream=self.stream,
                stream_consumer_name=Names.unique_resource_name(function, max_length=128, separator="-"),
            )

        def source(queue: sqs.IQueue) -> EventSource:
            props = options.event_source_props(queue)
            if fan_out is not None:
                return event_sources.KinesisConsumerEventSource(fan_out, **props)
            return event_sources.KinesisEventSource(self.stream, **props)

        consumer = add_lossless_consumer(
            self,
            function,
            name=name,
            source=source,
            mapping_overrides=options.mapping_overrides(),
            on_failure_queue=on_failure_queue,
            holds="a Kinesis stream consumer's failed records",
            removal_policy=self._removal_policy,
            alarms=self._alarms,
            replay_window=_hours_text(self._retention),
            fan_out_consumer=fan_out,
        )
        self.consumers.append(consumer)
        return consumer


def _hours(duration: Duration) -> float:
    """`duration.to_hours(integral=False)`; for the library's own durations, as aws-cdk-lib computes it
    (milliseconds / 3,600,000)."""
    known = _resolved.known_milliseconds(duration)
    return known / 3_600_000 if known is not None else duration.to_hours(integral=False)


def _hours_text(duration: Duration) -> str:
    if _resolved.is_unresolved_duration(duration):  # from a token: known at deploy only
        return "its retention period"
    hours = int(_hours(duration))
    return f"{hours // 24} days" if hours % 24 == 0 and hours > 24 else f"{hours} hours"


def _record_age_limit_text(retention: Duration) -> str:
    if not _resolved.is_unresolved_duration(retention) and _resolved.to_seconds(
        retention
    ) <= _resolved.to_seconds(MAX_CONSUMER_RECORD_AGE):
        kept = _hours_text(retention)
        return f"{kept} (the stream keeps records {kept})"
    return "7 days (Lambda's limit for Kinesis)"
