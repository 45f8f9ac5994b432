"""Lambda event source mappings: which consumer polls which source, with the mapping's settings.

One consumer class per source service (`CONSUMERS`): DynamoDB and Kinesis streams (in-order batches
per shard, retries, bisection, on-failure destinations) and SQS queues (failed messages return after
the visibility timeout). Batch size, batching window, filter criteria (EventBridge's matcher,
`constructs_lib._event_patterns`) and partial batch responses apply to all. Self-managed and other
sources are listed as not supported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib._event_patterns import compile_pattern
from constructs_lib.local._types import TemplateView
from constructs_lib.local.events._delivery import (
    LOGGER,
    Deliveries,
    DeliveryPath,
    Sender,
    flag,
    function_name,
    resolved,
    short,
)
from constructs_lib.local.events._mapping import LOCAL_STREAM_RETRY_CAP, SourceConsumer, SourceMapping
from constructs_lib.local.events._threads import Inbox, Poller
from constructs_lib.local.events.dynamodb_streams import StreamConsumer
from constructs_lib.local.events.kinesis_streams import KinesisConsumer
from constructs_lib.local.events.sqs_queues import QueueConsumer

_N = TypeVar("_N", int, float)
# The consumer of each source service (the service in the source's ARN): add one here to support a source.
CONSUMERS: dict[str, type[SourceConsumer]] = {
    "dynamodb": StreamConsumer,
    "sqs": QueueConsumer,
    "kinesis": KinesisConsumer,
}
# What Lambda's poller calls on the source as the function's execution role (checked before it polls).
READ_ACTIONS: dict[str, tuple[str, ...]] = {
    "dynamodb": ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "kinesis": ("kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator"),
}
_MAPPING_PROPERTIES = (
    "EventSourceArn",
    "FunctionName",
    "BatchSize",
    "StartingPosition",
    "MaximumBatchingWindowInSeconds",
    "BisectBatchOnFunctionError",
    "FunctionResponseTypes",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "Enabled",
    "FilterCriteria",
    "TumblingWindowInSeconds",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "ScalingConfig",
)


class SourceMappings(DeliveryPath):
    """Every enabled event source mapping of a supported source, each polled by its own consumer."""

    def __init__(self) -> None:
        super().__init__()
        self.mappings: list[SourceMapping] = []
        self.skipped: list[str] = []

    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        return {"AWS::Lambda::EventSourceMapping": self._read_mapping}

    def describe(self) -> list[str]:
        return [mapping.describe() for mapping in self.mappings] + self.skipped

    def not_emulated(self) -> list[str]:
        services = {mapping.service for mapping in self.mappings}
        lines = []
        if "kinesis" in services:
            lines.append(
                "Kinesis: ParallelizationFactor (each shard delivers one batch at a time) and the dedicated "
                "throughput of enhanced fan-out consumers (read like the stream)."
            )
        if any(mapping.max_concurrency for mapping in self.mappings):
            lines.append("Event source mappings: MaximumConcurrency (one batch at a time per mapping).")
        return lines

    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        consumers: list[Poller] = []
        for mapping in self.mappings:
            role = Sender(deliveries.function_arn(mapping.function), mapping.source_arn)
            actions = READ_ACTIONS.get(mapping.service, ())
            if not all(deliveries.allowed(role, action, mapping.source_arn) for action in actions):
                LOGGER.error(
                    "%s: not started: the function's execution role may not read its source", mapping.label
                )
                continue
            consumer = CONSUMERS[mapping.service](deliveries, mapping)
            try:
                consumer.prepare()
            except (BotoCoreError, ClientError) as error:
                LOGGER.error("%s: not started: %s", mapping.label, error)
                continue
            consumers.append(consumer)
        return consumers

    def _read_mapping(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = resolved(template, properties, *_MAPPING_PROPERTIES)
        function = function_name(props["FunctionName"])
        source = props.get("EventSourceArn", "")
        service = source.split(":")[2] if source.startswith("arn:") else "self-managed"
        label = f"{service} {short(source) if source else logical_id} -> {function}"
        if service not in CONSUMERS:
            self.warn_once(
                f"esm-{service}", "%s event sources are not supported locally (%s)", service, label
            )
            self.skipped.append(f"{label} (not supported locally)")
            return
        if not flag(props.get("Enabled", True)):
            self.skipped.append(f"{label} (disabled)")
            return
        if "TumblingWindowInSeconds" in props:
            self.warn_once(
                f"tumbling-{logical_id}",
                "%s: tumbling windows are not emulated: plain batches are sent",
                label,
            )
        max_retries = int(props.get("MaximumRetryAttempts", -1))
        if int(props.get("ParallelizationFactor", 1)) > 1:
            self.warn_once(
                f"parallel-{logical_id}",
                "%s: ParallelizationFactor %s is not emulated: each shard delivers one batch at a time",
                label,
                props["ParallelizationFactor"],
            )
        if service in ("dynamodb", "kinesis") and max_retries < 0:
            self.warn_once(
                f"retries-{logical_id}",
                "%s: MaximumRetryAttempts -1 (until the record expires) is capped locally at %d retries",
                label,
                LOCAL_STREAM_RETRY_CAP,
            )
        self.mappings.append(
            SourceMapping(
                label=label,
                source_arn=source,
                function=function,
                batch_size=int(props.get("BatchSize", CONSUMERS[service].default_batch_size)),
                starting_position=props.get("StartingPosition", "TRIM_HORIZON"),
                batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                bisect=flag(props.get("BisectBatchOnFunctionError", False)),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                max_retries=max_retries,
                max_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
                on_failure=props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
                matches=self._filter(label, props.get("FilterCriteria", {})),
                starting_timestamp=_optional(float, props.get("StartingPositionTimestamp")),
                max_concurrency=_optional(int, props.get("ScalingConfig", {}).get("MaximumConcurrency")),
            )
        )

    def _filter(self, label: str, criteria: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
        """The mapping's FilterCriteria as a predicate on records; all pass when it cannot be evaluated."""
        patterns = [entry["Pattern"] for entry in criteria.get("Filters", [])]
        try:
            tests = [compile_pattern(json.loads(p) if isinstance(p, str) else p) for p in patterns]
        except ValueError as error:
            self.warn_once(
                f"filter-{label}",
                "%s: FilterCriteria not applied locally (%s): every record is sent",
                label,
                error,
            )
            return lambda record: True
        return lambda record: not tests or any(test(record) for test in tests)


def _optional(kind: Callable[[Any], _N], value: Any) -> _N | None:
    return None if value is None else kind(value)
