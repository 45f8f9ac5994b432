"""The event source mapping of a DynamoDB stream: in-order batches per shard, retries, bisection.

`StreamConsumer` is also the base of the Kinesis consumer (`kinesis_streams`): a subclass changes
the client, the record's shape and where its sequence number and arrival time are.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from constructs_lib._stream_records import dynamodb_stream_record
from constructs_lib.local._types import Invocation
from constructs_lib.local.events._delivery import LOGGER, Deliveries, Record, Sender, short, timestamp
from constructs_lib.local.events._mapping import (
    LOCAL_STREAM_RETRY_CAP,
    SourceConsumer,
    SourceMapping,
    failed_items,
)

_STREAM_READ_LIMIT = 1000  # records per GetRecords call, DynamoDB Streams' maximum


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None  # None once the shard is closed
    records: list[Record] = field(default_factory=list)  # read, not yet in a batch
    first_read: float = 0.0  # when the oldest of `records` was read (monotonic), for the batching window


@dataclass
class _Batch:
    records: list[Record]
    retries: int = 0
    invocations: int = 0


class StreamConsumer(SourceConsumer):
    """An event source mapping of a DynamoDB stream: in-order batches per shard, retries, bisection."""

    default_batch_size = 100
    client_name = "dynamodbstreams"  # the boto3 client (deliveries.clients) that reads the stream
    batch_info_key = "DDBStreamBatchInfo"  # the on-failure record's key for the batch's pointers
    read_limit = _STREAM_READ_LIMIT

    def __init__(self, deliveries: Deliveries, mapping: SourceMapping) -> None:
        super().__init__(deliveries, mapping)
        self.shards: list[_Shard] = []
        self.max_retries = mapping.max_retries if mapping.max_retries >= 0 else LOCAL_STREAM_RETRY_CAP

    @property
    def pending(self) -> int:
        return sum(len(shard.records) for shard in self.shards)

    def prepare(self) -> None:
        # Iterators are taken now: LATEST means the records written after start().
        streams = self.deliveries.clients[self.client_name]
        description = streams.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        for shard in description["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=self.mapping.source_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.mapping.starting_position,
            )["ShardIterator"]
            self.shards.append(_Shard(shard["ShardId"], iterator))

    def sequence_number(self, record: Record) -> str:
        return str(record["dynamodb"]["SequenceNumber"])

    def arrival(self, record: Record) -> float:
        """When the record reached the stream (epoch seconds)."""
        return float(record["dynamodb"].get("ApproximateCreationDateTime", time.time()))

    def filter_view(self, record: Record) -> Mapping[str, Any]:
        """What the mapping's FilterCriteria look at: the record as Lambda delivers it."""
        return record

    def _cycle(self) -> bool:
        worked = False
        for shard in self.shards:
            worked = self._read(shard) or worked
            while not self.deliveries.stopping.is_set() and (records := self._next_batch(shard)):
                self._deliver(shard, records)
                worked = True
        self.idle = not any(shard.records for shard in self.shards)
        return worked

    def _read(self, shard: _Shard) -> bool:
        if shard.iterator is None:
            return False
        response = self.deliveries.clients[self.client_name].get_records(
            ShardIterator=shard.iterator, Limit=self.read_limit
        )
        shard.iterator = response.get("NextShardIterator")
        records = [self._record(raw) for raw in response["Records"]]
        # Records that do not match the filter criteria are skipped, as Lambda does.
        matching = [record for record in records if self.mapping.matches(self.filter_view(record))]
        if matching and not shard.records:
            shard.first_read = time.monotonic()
        shard.records.extend(matching)
        return bool(records)

    def _record(self, raw: Mapping[str, Any]) -> Record:
        """A stream record as Lambda delivers it: creation time in epoch seconds, the source's ARN."""
        return dynamodb_stream_record(raw, region=self.deliveries.region, source_arn=self.mapping.source_arn)

    def _next_batch(self, shard: _Shard) -> list[Record]:
        """The next batch: BatchSize records, or fewer once the batching window has passed."""
        size = self.mapping.batch_size
        filling = time.monotonic() - shard.first_read < self.mapping.batching_window
        if not shard.records or (len(shard.records) < size and filling):
            return []
        batch, shard.records = shard.records[:size], shard.records[size:]
        shard.first_read = time.monotonic()
        return batch

    def _deliver(self, shard: _Shard, records: list[Record]) -> None:
        """Invoke the function with `records`, in order, until each succeeded or was given up on."""
        pending = deque([_Batch(records)])
        while pending:
            if self.deliveries.stopping.is_set():
                left = sum(len(batch.records) for batch in pending)
                LOGGER.warning("%s: stopped with %d stream records not delivered", self.name, left)
                return
            batch = pending[0]
            invocation = self.deliveries.invoke(self.mapping.function, {"Records": batch.records})
            batch.invocations += 1
            numbers = [self.sequence_number(record) for record in batch.records]
            failed, reason = failed_items(invocation, numbers, self.mapping.report_failures)
            if not failed:
                pending.popleft()
                continue
            # Lambda checkpoints the records before the first failure and retries from it.
            first = min(numbers.index(number) for number in failed)
            rest = batch.records[first:]
            if self.mapping.bisect and (first or len(rest) > 1):
                # Bisecting, at the failed record or else in halves, does not count as a retry.
                pending.popleft()
                half = len(rest) // 2
                pending.extendleft([_Batch(rest)] if first else [_Batch(rest[half:]), _Batch(rest[:half])])
                LOGGER.warning(
                    "%s: batch of %d failed (%s); bisecting", self.name, len(batch.records), reason
                )
                continue
            batch.records = rest
            batch.retries += 1
            condition = self._given_up(batch)
            if condition:
                pending.popleft()
                self._discard(shard, batch, invocation, condition, reason)
                continue
            delay = self.deliveries.retry_delay(batch.retries)
            LOGGER.warning(
                "%s: batch of %d failed (%s); retry %d of %d in %g s",
                self.name,
                len(rest),
                reason,
                batch.retries,
                self.max_retries,
                delay,
            )
            self.deliveries.stopping.wait(delay)

    def _given_up(self, batch: _Batch) -> str:
        """Why Lambda stops retrying `batch` ("" while it retries)."""
        if batch.retries > self.max_retries:
            return "RetryAttemptsExhausted"
        if 0 <= self.mapping.max_record_age < time.time() - self.arrival(batch.records[0]):
            return "RecordAgeExceeded"
        return ""

    def _discard(
        self, shard: _Shard, batch: _Batch, invocation: Invocation, condition: str, reason: str
    ) -> None:
        """Send Lambda's on-failure record for `batch` (pointers to its records) to the destination."""
        first, last = batch.records[0], batch.records[-1]
        what = f"{len(batch.records)} records ({self.sequence_number(first)}..{self.sequence_number(last)})"
        destination = self.mapping.on_failure
        if destination is None:
            LOGGER.error(
                "%s: %s discarded (%s, %s): no on-failure destination", self.name, what, condition, reason
            )
            return
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if invocation.error is not None:
            response["functionError"] = "Unhandled"
        record = {
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": self.deliveries.function_arn(self.mapping.function),
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": timestamp(),
            self.batch_info_key: {
                "shardId": shard.shard_id,
                "startSequenceNumber": self.sequence_number(first),
                "endSequenceNumber": self.sequence_number(last),
                "approximateArrivalOfFirstRecord": _iso(self.arrival(first)),
                "approximateArrivalOfLastRecord": _iso(self.arrival(last)),
                "batchSize": len(batch.records),
                "streamArn": self.mapping.source_arn,
            },
        }
        # The function's execution role sends the record.
        sender = Sender(self.deliveries.function_arn(self.mapping.function))
        if self.deliveries.send(destination, record, sender=sender):
            LOGGER.warning(
                "%s: %s sent to %s (%s, %s)", self.name, what, short(destination), condition, reason
            )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
