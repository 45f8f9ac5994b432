"""CompositeKeyTable's validation: the DynamoDB rules its props must meet, checked at synth time.

Kept apart from the construct so each module stays readable (issue #18); every problem goes to the
construct's one `PropErrors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._stream_consumers import (
    ConsumerOptions,
    StreamConsumer,
    check_new_consumer,
    validate_iterator_age_threshold,
)
from constructs_lib._validation import PropErrors

if TYPE_CHECKING:
    from constructs_lib.composite_key_table import AutoscaledCapacity, GlobalIndex, LocalIndex

# DynamoDB service quotas and ranges the validation enforces at synth time instead of deploy time
# (DynamoDB developer guide, "Service, account, and table quotas": 20 global and 5 local secondary
# indexes per table, 100 projected non-key attributes over all of them, names of 3-255 characters,
# attribute names of 1-255 bytes; Application Auto Scaling target utilization 20-90 %).
MAX_GLOBAL_INDEXES = 20
MAX_LOCAL_INDEXES = 5
MAX_PROJECTED_ATTRIBUTES = 100  # summed over every index's non-key attributes, per DynamoDB
MIN_TARGET_UTILIZATION = 20
MAX_TARGET_UTILIZATION = 90
MAX_ATTRIBUTE_NAME_BYTES = 255
# A commercial, China, GovCloud or ISO region name (aws-cdk-lib's own region list is not exposed).
REGION_NAME = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")  # table and index names
# A stream's record kinds, which a consumer may filter on.
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
# The stream keeps records for 24 hours, so an older max_record_age could never be reached.
STREAM_RETENTION = _resolved.hours(24)


@dataclass(frozen=True)
class Schema:
    """The key schema props, so validation can walk every key attribute and index with its prop name."""

    partition_key: dynamodb.Attribute
    sort_key: dynamodb.Attribute | None
    global_indexes: Sequence[GlobalIndex]
    local_indexes: Sequence[LocalIndex]

    def key_attributes(self) -> list[tuple[str, dynamodb.Attribute]]:
        keys: list[tuple[str, dynamodb.Attribute]] = [("partition_key", self.partition_key)]
        if self.sort_key is not None:
            keys.append(("sort_key", self.sort_key))
        for i, gsi in enumerate(self.global_indexes):
            keys.append((f"global_indexes[{i}].partition_key", gsi.partition_key))
            if gsi.sort_key is not None:
                keys.append((f"global_indexes[{i}].sort_key", gsi.sort_key))
        keys.extend(
            (f"local_indexes[{i}].sort_key", lsi.sort_key) for i, lsi in enumerate(self.local_indexes)
        )
        return keys

    def indexes(self) -> list[tuple[str, GlobalIndex | LocalIndex]]:
        return [
            *((f"global_indexes[{i}]", index) for i, index in enumerate(self.global_indexes)),
            *((f"local_indexes[{i}]", index) for i, index in enumerate(self.local_indexes)),
        ]


def _valid_attribute_name(name: str) -> bool:
    return 1 <= len(name.encode("utf-8")) <= MAX_ATTRIBUTE_NAME_BYTES


def validate_names(errors: PropErrors, table_name: str | None, schema: Schema) -> None:
    if table_name is not None and not _resolved.is_unresolved_str(table_name):
        errors.check(
            bool(NAME_PATTERN.match(table_name)),
            "table_name",
            f"'{table_name}' must be 3-255 characters of A-Z, a-z, 0-9, '_', '-' and '.'; "
            "or leave it unset to let CloudFormation name the table",
        )
    for prop, key in schema.key_attributes():
        errors.check(
            _valid_attribute_name(key.name),
            f"{prop}.name",
            f"'{key.name}' must be 1-{MAX_ATTRIBUTE_NAME_BYTES} bytes long",
        )
    seen: dict[str, str] = {}
    for prop, index in schema.indexes():
        errors.check(
            bool(NAME_PATTERN.match(index.name)),
            f"{prop}.name",
            f"'{index.name}' must be 3-255 characters of A-Z, a-z, 0-9, '_', '-' and '.'",
        )
        if index.name in seen:
            errors.add(
                f"{prop}.name",
                f"'{index.name}' is already the name of {seen[index.name]}; index names must be unique",
            )
        seen.setdefault(index.name, prop)
        for attribute in index.non_key_attributes:
            errors.check(
                _valid_attribute_name(attribute),
                f"{prop}.non_key_attributes",
                f"'{attribute}' must be 1-{MAX_ATTRIBUTE_NAME_BYTES} bytes long",
            )


def validate_indexes(errors: PropErrors, schema: Schema) -> None:
    errors.check(
        len(schema.global_indexes) <= MAX_GLOBAL_INDEXES,
        "global_indexes",
        f"{len(schema.global_indexes)} indexes exceed DynamoDB's {MAX_GLOBAL_INDEXES} per table; "
        "overload fewer indexes with generic key attributes",
    )
    errors.check(
        len(schema.local_indexes) <= MAX_LOCAL_INDEXES,
        "local_indexes",
        f"{len(schema.local_indexes)} indexes exceed DynamoDB's {MAX_LOCAL_INDEXES} per table; "
        "use global indexes for the rest",
    )
    errors.check(
        not schema.local_indexes or schema.sort_key is not None,
        "local_indexes",
        "a local index needs a table with a sort_key; add sort_key or use a global index",
    )
    projected = 0
    for prop, index in schema.indexes():
        if index.projection == dynamodb.ProjectionType.INCLUDE:
            errors.check(
                bool(index.non_key_attributes),
                f"{prop}.non_key_attributes",
                "an INCLUDE projection needs at least one non-key attribute; list them, "
                "or use ProjectionType.KEYS_ONLY",
            )
            projected += len(index.non_key_attributes)
        else:
            errors.check(
                not index.non_key_attributes,
                f"{prop}.non_key_attributes",
                f"only apply to ProjectionType.INCLUDE, not {index.projection.name}; "
                "set projection=ProjectionType.INCLUDE or remove them",
            )
    errors.check(
        projected <= MAX_PROJECTED_ATTRIBUTES,
        "non_key_attributes",
        f"{projected} projected attributes over all indexes exceed DynamoDB's {MAX_PROJECTED_ATTRIBUTES}; "
        "project fewer attributes or use ProjectionType.ALL",
    )


def validate_key_types(errors: PropErrors, schema: Schema) -> None:
    declared: dict[str, tuple[str, dynamodb.AttributeType]] = {}
    for prop, key in schema.key_attributes():
        first = declared.setdefault(key.name, (prop, key.type))
        if first[1] != key.type:
            errors.add(
                f"{prop}.type",
                f"attribute '{key.name}' is {key.type.name} here but {first[1].name} in {first[0]}; "
                "an attribute has one type across the table and its indexes",
            )


def _validate_capacity(errors: PropErrors, prop: str, capacity: AutoscaledCapacity) -> None:
    tokens = [
        name
        for name in ("min_capacity", "max_capacity", "target_utilization_percent")
        if _resolved.is_unresolved(getattr(capacity, name))
    ]
    if tokens:
        # aws-cdk-lib's Capacity.autoscaled compares them at synth and throws through jsii on a token.
        for name in tokens:
            errors.add(
                f"{prop}.{name}",
                "comes from a token (a CfnParameter), which aws-cdk-lib's autoscaling compares at synth; "
                "give a number",
            )
        return
    errors.check(capacity.min_capacity >= 1, f"{prop}.min_capacity", "must be at least 1")
    errors.check(
        capacity.min_capacity <= capacity.max_capacity,
        f"{prop}.min_capacity",
        f"{capacity.min_capacity} is above max_capacity {capacity.max_capacity}; "
        "lower it or raise max_capacity",
    )
    errors.check(
        MIN_TARGET_UTILIZATION <= capacity.target_utilization_percent <= MAX_TARGET_UTILIZATION,
        f"{prop}.target_utilization_percent",
        f"{capacity.target_utilization_percent} is outside the "
        f"{MIN_TARGET_UTILIZATION}-{MAX_TARGET_UTILIZATION} % DynamoDB autoscaling accepts",
    )


def validate_billing(
    errors: PropErrors,
    billing_mode: dynamodb.BillingMode,
    read_capacity: AutoscaledCapacity | None,
    write_capacity: AutoscaledCapacity | None,
    global_indexes: Sequence[GlobalIndex],
) -> None:
    provisioned = billing_mode == dynamodb.BillingMode.PROVISIONED
    capacities: list[tuple[str, AutoscaledCapacity | None]] = [
        ("read_capacity", read_capacity),
        ("write_capacity", write_capacity),
    ]
    for i, index in enumerate(global_indexes):
        capacities.append((f"global_indexes[{i}].read_capacity", index.read_capacity))
        capacities.append((f"global_indexes[{i}].write_capacity", index.write_capacity))
    for prop, capacity in capacities:
        if capacity is None:
            if provisioned and prop in ("read_capacity", "write_capacity"):
                errors.add(
                    prop,
                    "provisioned billing needs it; pass AutoscaledCapacity(min_capacity=..., "
                    "max_capacity=...) or use BillingMode.PAY_PER_REQUEST",
                )
        elif not provisioned:
            errors.add(
                prop,
                "applies only to provisioned billing; set billing_mode=BillingMode.PROVISIONED or remove it",
            )
        else:
            _validate_capacity(errors, prop, capacity)


def validate_table_options(
    errors: PropErrors,
    scope: Construct,
    schema: Schema,
    *,
    stream_view: dynamodb.StreamViewType | None,
    time_to_live_attribute: str | None,
    encryption_key: kms.IKey | None,
    replica_regions: Sequence[str],
    replica_key_arns: Mapping[str, str],
    alarms: bool,
    alarm_topic: sns.ITopic | None,
    iterator_age_threshold: Duration,
) -> None:
    if time_to_live_attribute is not None:
        key_props = [prop for prop, key in schema.key_attributes() if key.name == time_to_live_attribute]
        errors.check(
            not key_props,
            "time_to_live_attribute",
            f"'{time_to_live_attribute}' is a key attribute ({', '.join(key_props)}); "
            "use a separate number attribute holding the expiry in epoch seconds",
        )
        errors.check(
            _valid_attribute_name(time_to_live_attribute),
            "time_to_live_attribute",
            f"must be 1-{MAX_ATTRIBUTE_NAME_BYTES} bytes long",
        )
    # The stack's region matters only to replicas: no jsii round trips for a table without them.
    stack_region = Stack.of(scope).region if replica_regions or replica_key_arns else None
    for region in replica_regions:
        # aws-cdk-lib throws through jsii on a token region; CloudFormation fails on an unknown one.
        errors.check(
            not _resolved.is_unresolved_str(region) and bool(REGION_NAME.fullmatch(region)),
            "replica_regions",
            f"'{region}' is not a region name like eu-west-1; list concrete region names",
        )
        errors.check(
            region != stack_region,
            "replica_regions",
            f"'{region}' is the stack's own region, where the primary table lives; remove it",
        )
    for region, key_arn in replica_key_arns.items() if encryption_key is not None else ():
        # aws-cdk-lib throws through jsii on the stack's own region ("KMS key for deployment region
        # ... cannot be defined in 'replicaKeyArns'"); a key elsewhere than its replica fails the deploy.
        errors.check(
            region in replica_regions,
            "replica_key_arns",
            f"'{region}' is not one of replica_regions"
            + (
                " (it is the stack's region: encryption_key encrypts the table there)"
                if region == stack_region
                else ""
            )
            + "; remove it",
        )
        key_region = (
            key_arn.split(":")[3]
            if not _resolved.is_unresolved_str(key_arn) and key_arn.count(":") >= 5
            else None
        )
        errors.check(
            key_region in (None, region),
            "replica_key_arns",
            f"the key for '{region}' is in {key_region}; a replica is encrypted with a key of its own region",
        )
    errors.check(
        len(set(replica_regions)) == len(replica_regions),
        "replica_regions",
        "lists a region twice; list each replica region once",
    )
    errors.check(
        not replica_regions or not _resolved.is_unresolved(stack_region),
        "replica_regions",
        "need a stack with an explicit region (env=Environment(region=...))",
    )
    errors.check(
        not replica_regions or stream_view in (None, dynamodb.StreamViewType.NEW_AND_OLD_IMAGES),
        "stream",
        "global tables replicate through a NEW_AND_OLD_IMAGES stream; use that view type or no replicas",
    )
    if encryption_key is not None:
        missing = [region for region in replica_regions if region not in replica_key_arns]
        errors.check(
            not missing,
            "replica_key_arns",
            f"a customer-managed key needs a key ARN for every replica region; missing {', '.join(missing)}",
        )
    errors.check(
        encryption_key is not None or not replica_key_arns,
        "replica_key_arns",
        "apply only with encryption_key; pass encryption_key or remove them",
    )
    errors.check(
        alarms or alarm_topic is None,
        "alarm_topic",
        "is the action of the table's alarms; set alarms=True or remove it",
    )
    validate_iterator_age_threshold(errors, iterator_age_threshold)


def validate_stream_consumer(
    table: Construct,
    options: ConsumerOptions,
    names: Sequence[str],
    *,
    has_stream: bool,
    consumers: Sequence[StreamConsumer],
    function: lambda_.IFunction,
    consumer_id: str | None,
) -> None:
    """Raise the table's one ValueError for every problem with an `add_stream_consumer` call."""
    errors = PropErrors(table)  # its path read only to raise
    prop = "add_stream_consumer"
    errors.check(
        has_stream,
        f"{prop}.function",
        "the table has no stream; pass stream=StreamViewType.NEW_AND_OLD_IMAGES (or another view type) "
        "to CompositeKeyTable",
    )
    options.validate(
        errors,
        prop,
        max_batch_size=1000,
        max_record_age=STREAM_RETENTION,
        max_record_age_text="24 hours (the stream keeps records 24 hours)",
    )
    unknown = sorted(set(names) - set(EVENT_NAMES))
    errors.check(
        bool(names) and not unknown and len(set(names)) == len(names),
        f"{prop}.event_names",
        f"{names} must be distinct values of {', '.join(EVENT_NAMES)} (at least one)",
    )
    check_new_consumer(
        errors,
        prop,
        table,
        consumers=consumers,
        function=function,
        consumer_id=consumer_id,
        what="this table's stream",
    )
    errors.raise_if_any()
