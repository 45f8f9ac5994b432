"""The event source mapping of a Kinesis data stream: the DynamoDB stream consumer's machinery
(`dynamodb_streams.StreamConsumer`: in-order batches per shard, batching window, partial batch
responses, bisection, bounded retries, record age, on-failure destinations) over Kinesis records.

Records reach the function in Lambda's Kinesis shape (``kinesis.data`` base64, ``eventID``
``<shard>:<sequence>``); partial batch responses name sequence numbers; the on-failure record carries
``KinesisBatchInfo``. FilterCriteria see the ``kinesis`` part with ``data`` decoded from JSON, as
Lambda's filtering does. An enhanced fan-out consumer (an EventSourceArn naming a stream consumer)
is read like the stream itself: locally there is no dedicated throughput to emulate.
ParallelizationFactor is not emulated: each shard delivers one batch at a time.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from constructs_lib._stream_records import kinesis_record
from constructs_lib.local.events._delivery import Record
from constructs_lib.local.events.dynamodb_streams import StreamConsumer, _Shard

_KINESIS_READ_LIMIT = 10000  # records per GetRecords call, Kinesis's maximum


def stream_arn(source_arn: str) -> str:
    """The stream of an EventSourceArn that names a stream or one of its enhanced fan-out consumers."""
    return source_arn.split("/consumer/", 1)[0]


class KinesisConsumer(StreamConsumer):
    """An event source mapping of a Kinesis stream (or of an enhanced fan-out consumer, read alike)."""

    default_batch_size = 100
    client_name = "kinesis"
    batch_info_key = "KinesisBatchInfo"
    read_limit = _KINESIS_READ_LIMIT

    def prepare(self) -> None:
        kinesis = self.deliveries.clients["kinesis"]
        arn = stream_arn(self.mapping.source_arn)
        for shard in kinesis.list_shards(StreamARN=arn)["Shards"]:
            request: dict[str, Any] = {
                # By name: moto's iterators taken by ARN do not find their stream in GetRecords.
                "StreamName": arn.split("/")[1],
                "ShardId": shard["ShardId"],
                "ShardIteratorType": self.mapping.starting_position,
            }
            if self.mapping.starting_position == "AT_TIMESTAMP":
                request["Timestamp"] = self.mapping.starting_timestamp
            iterator = kinesis.get_shard_iterator(**request)["ShardIterator"]
            self.shards.append(_Shard(shard["ShardId"], iterator))

    def _record(self, raw: Mapping[str, Any]) -> Record:
        """A Kinesis record as Lambda delivers it."""
        return kinesis_record(
            raw,
            shard_id=self._shard_of(raw),
            region=self.deliveries.region,
            stream_arn=stream_arn(self.mapping.source_arn),
        )

    def _shard_of(self, raw: Mapping[str, Any]) -> str:
        # GetRecords does not say which shard a record came from; the shard being read does.
        return self._reading.shard_id if self._reading is not None else ""

    def _read(self, shard: _Shard) -> bool:
        self._reading = shard
        try:
            return super()._read(shard)
        finally:
            self._reading = None

    _reading: _Shard | None = None

    def sequence_number(self, record: Record) -> str:
        return str(record["kinesis"]["sequenceNumber"])

    def arrival(self, record: Record) -> float:
        return float(record["kinesis"]["approximateArrivalTimestamp"])

    def filter_view(self, record: Record) -> Mapping[str, Any]:
        view = dict(record["kinesis"])
        # Data that is not JSON is filtered as its base64 text.
        with contextlib.suppress(ValueError):
            view["data"] = json.loads(base64.b64decode(view["data"]))
        return view
