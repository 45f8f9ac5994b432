"""Stream records as Lambda delivers them to a function, built from what GetRecords returns. No CDK import.

One shape for the two places that hand stream records to a function: the local runner's event source
mappings (constructs_lib.local) and redrive's re-reading of on-failure pointers (constructs_lib.ops).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def dynamodb_stream_record(raw: Mapping[str, Any], *, region: str, source_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams record: its creation time in epoch seconds, the stream's ARN as its source."""
    change = dict(raw["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw["eventVersion"],
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", region),
        "dynamodb": change,
        "eventSourceARN": source_arn,
    }


def kinesis_record(raw: Mapping[str, Any], *, shard_id: str, region: str, stream_arn: str) -> dict[str, Any]:
    """A Kinesis record: its data base64-encoded, its arrival in epoch seconds, its id shard:sequence."""
    arrival = raw.get("ApproximateArrivalTimestamp")
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": raw["PartitionKey"],
            "sequenceNumber": raw["SequenceNumber"],
            "data": base64.b64encode(raw["Data"]).decode(),
            "approximateArrivalTimestamp": arrival.timestamp() if isinstance(arrival, datetime) else arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{raw['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }
