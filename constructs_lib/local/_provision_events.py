"""The event sources' resources in moto, named and referenced as CloudFormation does.

Created in moto: Kinesis streams (on demand: moto's four shards, as a new on-demand stream has;
provisioned: their shard count) and their enhanced fan-out consumers; EventBridge buses and
archives (moto records the bus's events in an archive and replays them onto the bus, where the
runner routes them again); Scheduler schedule groups and schedules (so that handlers can read
them). Rules only get their name and ARN: the runner evaluates them itself (`events.event_rules`),
and moto would fail PutEvents for a rule with a function target.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local._assembly import Physical, StackTemplate, generated_name

log = logging.getLogger("constructs_lib.local")

Client = Callable[[str], Any]  # a boto3 client for moto, by service name
DEFAULT_BUS = "default"
DEFAULT_GROUP = "default"
_KINESIS_DEFAULT_RETENTION = 24  # hours


def kinesis_stream(
    client: Client, stack: StackTemplate, logical_id: str, properties: dict[str, Any]
) -> Physical:
    name = properties.get("Name") or generated_name(stack.stack_name, logical_id, max_length=128)
    kinesis = client("kinesis")
    mode = properties.get("StreamModeDetails", {}).get("StreamMode")
    if mode == "ON_DEMAND" or ("ShardCount" not in properties and mode is None):
        kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    else:
        kinesis.create_stream(StreamName=name, ShardCount=int(properties.get("ShardCount", 1)))
    retention = int(properties.get("RetentionPeriodHours", _KINESIS_DEFAULT_RETENTION))
    if retention > _KINESIS_DEFAULT_RETENTION:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=retention)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return Physical(name, {"Arn": arn})


def kinesis_consumer(
    client: Client, stack: StackTemplate, logical_id: str, properties: dict[str, Any]
) -> Physical:
    consumer = client("kinesis").register_stream_consumer(
        StreamARN=properties["StreamARN"], ConsumerName=properties["ConsumerName"]
    )["Consumer"]
    created = consumer.get("ConsumerCreationTimestamp", datetime.now(UTC))
    return Physical(
        consumer["ConsumerARN"],
        {
            "ConsumerARN": consumer["ConsumerARN"],
            "ConsumerName": consumer["ConsumerName"],
            "ConsumerStatus": "ACTIVE",
            "StreamARN": properties["StreamARN"],
            "ConsumerCreationTimestamp": created.isoformat()
            if isinstance(created, datetime)
            else str(created),
        },
    )


def event_bus(client: Client, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
    name = str(properties["Name"])
    arn = client("events").create_event_bus(Name=name)["EventBusArn"]
    return Physical(name, {"Arn": arn, "Name": name, "Policy": ""})


def event_archive(
    client: Client, stack: StackTemplate, logical_id: str, properties: dict[str, Any]
) -> Physical:
    """An archive in moto: moto records the bus's matching events in it, and replays them to the bus."""
    name = str(properties.get("ArchiveName") or generated_name(stack.stack_name, logical_id, max_length=48))
    request: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": properties["SourceArn"]}
    if "EventPattern" in properties:
        pattern = properties["EventPattern"]
        request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if "RetentionDays" in properties:
        request["RetentionDays"] = int(properties["RetentionDays"])
    if "Description" in properties:
        request["Description"] = properties["Description"]
    arn = client("events").create_archive(**request)["ArchiveArn"]
    return Physical(name, {"Arn": arn, "ArchiveName": name})


def event_rule(stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
    """A rule's name and ARN; Ref is ``<bus>|<name>`` for a rule on a custom bus."""
    name = str(properties.get("Name") or generated_name(stack.stack_name, logical_id, max_length=64))
    bus = str(properties.get("EventBusName") or DEFAULT_BUS)
    bus = bus.split("event-bus/", 1)[1] if bus.startswith("arn:") else bus
    path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
    arn = f"arn:aws:events:{stack.region}:{stack.account}:rule/{path}"
    return Physical(name if bus == DEFAULT_BUS else f"{bus}|{name}", {"Arn": arn})


def schedule_group(
    client: Client, stack: StackTemplate, logical_id: str, properties: dict[str, Any]
) -> Physical:
    name = properties.get("Name") or generated_name(stack.stack_name, logical_id, max_length=64)
    arn = client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
    now = datetime.now(UTC).isoformat()
    return Physical(name, {"Arn": arn, "State": "ACTIVE", "CreationDate": now, "LastModificationDate": now})


def schedule(client: Client, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
    name = properties.get("Name") or generated_name(stack.stack_name, logical_id, max_length=64)
    group = properties.get("GroupName") or DEFAULT_GROUP
    arn = f"arn:aws:scheduler:{stack.region}:{stack.account}:schedule/{group}/{name}"
    request = {
        key: properties[key]
        for key in (
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "FlexibleTimeWindow",
            "Target",
            "State",
            "Description",
            "StartDate",
            "EndDate",
        )
        if key in properties
    }
    try:
        client("scheduler").create_schedule(Name=name, GroupName=group, **request)
    except (BotoCoreError, ClientError, ValueError, TypeError) as error:
        # The runner fires it from the template either way; only handlers' reads would miss it.
        log.warning("%s/%s: schedule %s not created in moto (%s)", stack.stack_name, logical_id, name, error)
    return Physical(name, {"Arn": arn})
