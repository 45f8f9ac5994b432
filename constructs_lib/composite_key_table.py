"""CompositeKeyTable: a DynamoDB table modelled query-first, with indexes, a stream and safe consumers.

Creates: one `TableV2` (CloudFormation `AWS::DynamoDB::GlobalTable`); optionally its stream, stream
consumers (event source mappings with an encrypted SQS on-failure queue each), and CloudWatch alarms.

Defaults: on-demand billing, point-in-time recovery on, deletion protection on, removal policy RETAIN,
AWS-owned encryption, standard table class, no stream, no TTL, no replicas, no contributor insights.

`TableV2` rather than `Table`: it is the construct AWS maintains for new tables, it adds replica
regions (global tables) without a custom resource, it configures provisioned autoscaling in the
table resource itself instead of separate Application Auto Scaling resources, and its grants cover
the indexes automatically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _metrics
from constructs_lib._alarms import (
    ALARM_PERIOD,
    AlarmDefault,
    AlarmLevel,
    AlarmSettings,
    check_alarm_settings,
    threshold_alarm,
)
from constructs_lib._composite_key_table_validation import (
    EVENT_NAMES,
    Schema,
    validate_billing,
    validate_indexes,
    validate_key_types,
    validate_names,
    validate_stream_consumer,
    validate_table_options,
)
from constructs_lib._nag import acknowledge_key_grant
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
    StreamConsumer,
    add_lossless_consumer,
)
from constructs_lib._validation import PropErrors

# The data-plane actions of CDK's table grants, without the stream actions (grant_stream_read has those).
_READ_DATA_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
_WRITE_DATA_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)

# Autoscaling aims at 70 % so that a burst has 30 % headroom while capacity catches up.
DEFAULT_TARGET_UTILIZATION = 70
# Stream consumers (constructs_lib/_stream_consumers.py, shared with DataStream): 100 records per batch,
# at most 10 retries, records older than 6 hours skipped to the on-failure queue, alarm 15 minutes behind
# (the stream keeps records 24 hours: _composite_key_table_validation.STREAM_RETENTION).
# CloudWatch alarms on metric math accept at most 10 metrics: the data-plane operations applications call.
# (CloudWatch's Operation dimension values: Python's dynamodb.Operation members carry their own names.)
_SYSTEM_ERROR_OPERATIONS = (
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
)


@dataclass(frozen=True)
class AutoscaledCapacity:
    """Provisioned capacity units that autoscale between `min_capacity` and `max_capacity`.

    `target_utilization_percent` (20-90) is the consumed/provisioned ratio autoscaling aims for.
    """

    max_capacity: int
    min_capacity: int = 1
    target_utilization_percent: int = DEFAULT_TARGET_UTILIZATION

    def _to_capacity(self) -> dynamodb.Capacity:
        return dynamodb.Capacity.autoscaled(
            max_capacity=self.max_capacity,
            min_capacity=self.min_capacity,
            target_utilization_percent=self.target_utilization_percent,
        )


@dataclass(frozen=True)
class GlobalIndex:
    """A global secondary index: its own partition key, optional sort key, and a projection.

    `projection` ALL (default), KEYS_ONLY, or INCLUDE with `non_key_attributes`. On a provisioned
    table, `read_capacity` and `write_capacity` override the table's capacity for this index.
    """

    name: str
    partition_key: dynamodb.Attribute
    sort_key: dynamodb.Attribute | None = None
    projection: dynamodb.ProjectionType = dynamodb.ProjectionType.ALL
    non_key_attributes: Sequence[str] = ()
    read_capacity: AutoscaledCapacity | None = None
    write_capacity: AutoscaledCapacity | None = None


@dataclass(frozen=True)
class LocalIndex:
    """A local secondary index: the table's partition key with another sort key, and a projection."""

    name: str
    sort_key: dynamodb.Attribute
    projection: dynamodb.ProjectionType = dynamodb.ProjectionType.ALL
    non_key_attributes: Sequence[str] = ()


# The alarms by name, with their defaults (`alarm_settings` changes them): throttled requests are
# retried by the SDKs (warning); DynamoDB's own errors need a look (critical). No data, no requests.
ALARMS = {
    "throttle": AlarmDefault(threshold=1, level=AlarmLevel.WARNING),
    "system_errors": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
    **CONSUMER_ALARMS,
}


class CompositeKeyTable(Construct):
    """A DynamoDB table with a composite key, secondary indexes, an optional stream and safe consumers.

    Defaults: on-demand billing; point-in-time recovery and deletion protection on; RETAIN on stack
    deletion; encryption with an AWS-owned key; standard table class; no stream (pass `stream` with a
    view type, or `True` for NEW_AND_OLD_IMAGES); no TTL; no replicas; no contributor insights; no
    alarms.

    Options: `billing_mode=BillingMode.PROVISIONED` with autoscaled `read_capacity` and
    `write_capacity` (per-index overrides on `GlobalIndex`); `encryption_key` for a customer-managed
    KMS key (with `replica_key_arns` for each replica region); `replica_regions`;
    `contributor_insights`; `table_class`; `alarms` (throttles, system errors, and per consumer the
    iterator age and dead letters) with `alarm_topic` as their action.

    Protections: `point_in_time_recovery=False`, `deletion_protection=False` or a `removal_policy`
    other than RETAIN let the items be lost for good, so each needs `disposable_data_reason`: one
    sentence saying why the table holds only disposable data (it is written into the template's
    Metadata, where reviewers and constructs-lib-diff see it).

    Attributes: `table` (the `TableV2`), `table_name`, `table_arn`, `table_stream_arn` and
    `stream_view_type` (None without a stream), `partition_key` and `sort_key`, `encryption_key`,
    `throttle_alarm` and `system_errors_alarm` (None without alarms or turned off), `stream_consumers`.

    Alarms (`alarm_settings` changes them by name; `ALARMS` holds the defaults): ``throttle``
    (warning: one read or write throttle event in 5 minutes), ``system_errors`` (critical: one
    DynamoDB 500 in 5 minutes), and per stream consumer ``iterator_age`` (warning, milliseconds)
    and ``consumer_dead_letter`` (critical). Missing data is healthy: no requests, no throttles.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        partition_key: dynamodb.Attribute,
        sort_key: dynamodb.Attribute | None = None,
        global_indexes: Sequence[GlobalIndex] = (),
        local_indexes: Sequence[LocalIndex] = (),
        stream: dynamodb.StreamViewType | bool | None = None,
        time_to_live_attribute: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        table_name: str | None = None,
        billing_mode: dynamodb.BillingMode = dynamodb.BillingMode.PAY_PER_REQUEST,
        read_capacity: AutoscaledCapacity | None = None,
        write_capacity: AutoscaledCapacity | None = None,
        encryption_key: kms.IKey | None = None,
        replica_regions: Sequence[str] = (),
        replica_key_arns: Mapping[str, str] | None = None,
        point_in_time_recovery: bool = True,
        deletion_protection: bool = True,
        disposable_data_reason: str | None = None,
        contributor_insights: bool = False,
        table_class: dynamodb.TableClass = dynamodb.TableClass.STANDARD,
        alarms: bool = False,
        alarm_topic: sns.ITopic | None = None,
        iterator_age_threshold: Duration = DEFAULT_ITERATOR_AGE_THRESHOLD,
        alarm_settings: AlarmSettings | None = None,
    ) -> None:
        stream_view = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if stream is True else (stream or None)
        errors = PropErrors(scope, construct_id)
        schema = Schema(partition_key, sort_key, global_indexes, local_indexes)
        validate_names(errors, table_name, schema)
        validate_indexes(errors, schema)
        validate_key_types(errors, schema)
        validate_billing(errors, billing_mode, read_capacity, write_capacity, global_indexes)
        validate_table_options(
            errors,
            scope,
            schema,
            stream_view=stream_view,
            time_to_live_attribute=time_to_live_attribute,
            encryption_key=encryption_key,
            replica_regions=replica_regions,
            replica_key_arns=replica_key_arns or {},
            alarms=alarms,
            alarm_topic=alarm_topic,
            iterator_age_threshold=iterator_age_threshold,
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the table's"
        )
        weakened = [
            *([] if point_in_time_recovery else ["point_in_time_recovery=False"]),
            *([] if deletion_protection else ["deletion_protection=False"]),
            *weakened_removal_policy(removal_policy),
        ]
        check_disposable(errors, weakened, disposable_data_reason, "the table's items")
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self._alarms = alarms
        self.stream_view_type = stream_view
        self.partition_key = partition_key
        self.sort_key = sort_key
        self._removal_policy = removal_policy
        self._alarm_topic = alarm_topic
        self._alarm_settings = alarm_settings
        self._iterator_age_threshold = iterator_age_threshold
        self.stream_consumers: list[StreamConsumer] = []

        if encryption_key is None:
            encryption = _dynamo_owned_key()
        else:
            encryption = dynamodb.TableEncryptionV2.customer_managed_key(
                encryption_key, dict(replica_key_arns or {}) or None
            )
        if billing_mode == dynamodb.BillingMode.PROVISIONED:
            assert read_capacity is not None and write_capacity is not None  # validated above
            billing = dynamodb.Billing.provisioned(
                read_capacity=read_capacity._to_capacity(), write_capacity=write_capacity._to_capacity()
            )
        else:
            billing = _on_demand()

        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=table_name,
            partition_key=partition_key,
            sort_key=sort_key,
            billing=billing,
            global_secondary_indexes=[_global_index_props(index) for index in global_indexes],
            local_secondary_indexes=[_local_index_props(index) for index in local_indexes],
            dynamo_stream=stream_view,
            time_to_live_attribute=time_to_live_attribute,
            encryption=encryption,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=point_in_time_recovery
            ),
            deletion_protection=deletion_protection,
            contributor_insights_specification=(
                dynamodb.ContributorInsightsSpecification(enabled=True) if contributor_insights else None
            ),
            table_class=table_class,
            replicas=[dynamodb.ReplicaTableProps(region=region) for region in replica_regions] or None,
            removal_policy=removal_policy,
        )
        record_reason(self.table, disposable_data_reason)
        self.encryption_key = encryption_key
        self._index_names = [index.name for index in global_indexes] + [index.name for index in local_indexes]
        self._replica_regions = tuple(replica_regions)

        self.throttle_alarm: cloudwatch.Alarm | None = None
        self.system_errors_alarm: cloudwatch.Alarm | None = None
        if alarms:
            path = path_of(self)
            self.throttle_alarm = self._alarm(
                "ThrottleAlarm",
                "throttle",
                _metrics.math_expression(
                    "reads + writes",
                    {
                        "reads": self.metric_read_throttle_events(),
                        "writes": self.metric_write_throttle_events(),
                    },
                    period=ALARM_PERIOD,
                    label="Read and write throttle events",
                ),
                threshold=1,
                description=f"{path}: DynamoDB throttled reads or writes: raise capacity "
                "or spread the partition keys.",
            )
            self.system_errors_alarm = self._alarm(
                "SystemErrorsAlarm",
                "system_errors",
                self.metric_system_errors_for_operations(period=ALARM_PERIOD),
                threshold=1,
                description=f"{path}: DynamoDB returned HTTP 500 errors: callers must retry; "
                "check the AWS Health Dashboard.",
            )

    @cached_property
    def table_name(self) -> str:
        return self.table.table_name  # a token string: read once

    @cached_property
    def table_arn(self) -> str:
        return self.table.table_arn  # a token string: read once

    @property
    def table_stream_arn(self) -> str | None:
        # TableV2 answers with an ARN token even without a stream; None says there is none.
        return self.table.table_stream_arn if self.stream_view_type is not None else None

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
        operation: str | None = None,
    ) -> cloudwatch.Metric:
        """The table's AWS/DynamoDB metric `metric_name` (dimension ``TableName``, and ``Operation`` when
        given), over `period` (five minutes by default). Every alarm and dashboard graph of this table
        gets its metric here."""
        return _metrics.table(self.table).metric(
            metric_name,
            statistic=statistic,
            period=period,
            label=label,
            dimensions={"Operation": operation} if operation is not None else None,
        )

    def metric_consumed_read_capacity_units(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Read capacity units consumed, summed."""
        return self.metric("ConsumedReadCapacityUnits", statistic=statistic, period=period, label=label)

    def metric_consumed_write_capacity_units(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Write capacity units consumed, summed."""
        return self.metric("ConsumedWriteCapacityUnits", statistic=statistic, period=period, label=label)

    def metric_read_throttle_events(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Reads DynamoDB throttled, summed (with writes: the ``throttle`` alarm)."""
        return self.metric("ReadThrottleEvents", statistic=statistic, period=period, label=label)

    def metric_write_throttle_events(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Writes DynamoDB throttled, summed (with reads: the ``throttle`` alarm)."""
        return self.metric("WriteThrottleEvents", statistic=statistic, period=period, label=label)

    def metric_successful_request_latency(
        self,
        operation: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """How long successful `operation` calls (e.g. ``"GetItem"``) took (milliseconds), on average."""
        return self.metric(
            "SuccessfulRequestLatency", statistic=statistic, period=period, label=label, operation=operation
        )

    def metric_system_errors_for_operations(
        self, *, period: Duration | None = None, label: str = "Sum of errors across all operations"
    ) -> cloudwatch.MathExpression:
        """HTTP 500 errors of the data-plane operations applications call, summed over them (as
        aws-cdk-lib's math expression of the same name): the ``system_errors`` alarm's metric."""
        using = {
            operation.lower(): self.metric(
                "SystemErrors", statistic="Sum", period=period, operation=operation
            )
            for operation in _SYSTEM_ERROR_OPERATIONS
        }
        return _metrics.math_expression(" + ".join(using), using, period=period, label=label)

    def grant_read_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read items from the table and each of its indexes (and decrypt with the table's key, if any)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(_READ_DATA_ACTIONS), resource_arns=self._arns(with_indexes=True)
        )
        if self.encryption_key is not None:
            grant = grant.combine(self.encryption_key.grant_decrypt(grantee))
        return grant

    def grant_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put, update and delete items (and encrypt with the table's key, if any)."""
        return self.grant(grantee, *_WRITE_DATA_ACTIONS)

    def grant_read_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read and write items in the table and its indexes; the returned grant holds both."""
        return self.grant_read_data(grantee).combine(self.grant_write_data(grantee))

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Exactly these item actions (``"dynamodb:PutItem"``, ...) on the table, not its indexes, for a
        handler that makes only those calls (`make local`'s IAM report lists each function's calls);
        with the table's key, if any, to encrypt and decrypt.
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=self._arns(with_indexes=False)
        )
        if self.encryption_key is not None:
            grant = grant.combine(self.encryption_key.grant_encrypt_decrypt(grantee))
            self._acknowledge_key_grant(grantee)
        return grant

    def grant_stream_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the table's stream: list, describe, shard iterators, records (and decrypt with its key,
        if any)."""
        # TableV2's grant_stream_read grants ListStreams first but leaves it out of the Grant it returns:
        # granted again here (rendered once), so the Grant holds it.
        grant = self.table.grant_table_list_streams(grantee).combine(self.table.grant_stream_read(grantee))
        if self.encryption_key is not None:  # the key actions TableV2 already granted (rendered once)
            grant = grant.combine(self.encryption_key.grant(grantee, "kms:Decrypt", "kms:DescribeKey"))
        return grant

    def _arns(self, *, with_indexes: bool) -> list[str]:
        """The table's ARN in every region it lives in, and, if asked, each index's ARN by name.

        Indexes are named one by one, not as ``<table ARN>/index/*``: no wildcard to acknowledge,
        in this stack or any other, and no access to indexes added later without a new grant.
        """
        tables = [self.table_arn]
        if self._replica_regions:
            stack = Stack.of(self)
            tables += [
                stack.format_arn(
                    service="dynamodb", region=region, resource="table", resource_name=self.table_name
                )
                for region in self._replica_regions
            ]
        if not with_indexes:
            return tables
        return tables + [f"{table}/index/{name}" for table in tables for name in self._index_names]

    def _acknowledge_key_grant(self, grantee: iam.IGrantable) -> None:
        acknowledge_key_grant(grantee, f"KMS encrypt grant for the key of the table {path_of(self)}")

    def add_stream_consumer(
        self,
        function: lambda_.IFunction,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        retry_attempts: int = DEFAULT_RETRIES,
        max_record_age: Duration = DEFAULT_MAX_RECORD_AGE,
        event_names: Sequence[str] | None = None,
        on_failure_queue: sqs.IQueue | None = None,
        parallelization_factor: int = 1,
        consumer_id: str | None = None,
    ) -> StreamConsumer:
        """Invoke `function` with batches of the table's stream records, losing none.

        The mapping starts at TRIM_HORIZON (the oldest record kept), lets the function report
        partial batch failures (``batchItemFailures``), bisects a failing batch to isolate the bad
        record, retries at most `retry_attempts` times or until a record is `max_record_age` old,
        and then sends a pointer to the failed records to `on_failure_queue` (by default a new
        SQS-encrypted, TLS-only queue that keeps messages 14 days). `event_names` (INSERT, MODIFY,
        REMOVE) filters records before they reach the function. `consumer_id` names the created
        constructs; by default it is derived from the function's path. They are created under this
        table, or under the function's stack when that is another stack.
        """
        options = ConsumerOptions(
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            parallelization_factor=parallelization_factor,
        )
        names = list(event_names) if event_names is not None else list(EVENT_NAMES)
        validate_stream_consumer(
            self,
            options,
            names,
            has_stream=self.stream_view_type is not None,
            consumers=self.stream_consumers,
            function=function,
            consumer_id=consumer_id,
        )
        filters = []
        if set(names) != set(EVENT_NAMES):
            filters.append(lambda_.FilterCriteria.filter({"eventName": lambda_.FilterRule.or_(*names)}))
        consumer = add_lossless_consumer(
            self,
            function,
            name=consumer_id or f"Consumer{Names.unique_id(function)}",
            mapping_overrides=options.mapping_overrides(),
            source=lambda queue: event_sources.DynamoEventSource(
                self.table, filters=filters or None, **options.event_source_props(queue)
            ),
            on_failure_queue=on_failure_queue,
            holds="a DynamoDB stream consumer's failed records",
            removal_policy=self._removal_policy,
            alarms=ConsumerAlarms(
                self._alarms, self._alarm_topic, self._iterator_age_threshold, self._alarm_settings
            ),
            replay_window="24 hours",
        )
        self.stream_consumers.append(consumer)
        return consumer

    def _alarm(
        self, construct_id: str, name: str, metric: cloudwatch.IMetric, *, threshold: float, description: str
    ) -> cloudwatch.Alarm | None:
        return threshold_alarm(
            self,
            construct_id,
            metric,
            threshold=threshold,
            description=description,
            topic=self._alarm_topic,
            name=name,
            settings=self._alarm_settings,
            default=ALARMS[name],
        )


# The defaults' aws-cdk-lib objects, made once for every table (a jsii round trip each): they hold
# no state of a table's and render the same for each.
@cache
def _dynamo_owned_key() -> dynamodb.TableEncryptionV2:
    return dynamodb.TableEncryptionV2.dynamo_owned_key()


@cache
def _on_demand() -> dynamodb.Billing:
    return dynamodb.Billing.on_demand()


def _global_index_props(index: GlobalIndex) -> dynamodb.GlobalSecondaryIndexPropsV2:
    return dynamodb.GlobalSecondaryIndexPropsV2(
        index_name=index.name,
        partition_key=index.partition_key,
        sort_key=index.sort_key,
        projection_type=index.projection,
        non_key_attributes=list(index.non_key_attributes) or None,
        read_capacity=index.read_capacity._to_capacity() if index.read_capacity else None,
        write_capacity=index.write_capacity._to_capacity() if index.write_capacity else None,
    )


def _local_index_props(index: LocalIndex) -> dynamodb.LocalSecondaryIndexProps:
    return dynamodb.LocalSecondaryIndexProps(
        index_name=index.name,
        sort_key=index.sort_key,
        projection_type=index.projection,
        non_key_attributes=list(index.non_key_attributes) or None,
    )
