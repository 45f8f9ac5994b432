"""Kinesis and SQS event source mappings under the event router, as DataStream and QueueWorker wire
them: a poison record is bisected out and recorded on failure; a failing message lands in the DLQ."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import boto3

from constructs_lib.local._types import FunctionError
from tests.local.test_event_sources import REGION, Aws, FakeInvoker, Resources, running

IDLE = 15.0


def mapping(source: str, function: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": [source, "Arn"]},
            "FunctionName": {"Ref": function},
            **properties,
        },
    }


def kinesis_stream(aws: Aws, name: str) -> tuple[Any, str]:
    kinesis = boto3.client("kinesis", endpoint_url=aws.url, region_name=REGION)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn: str = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return kinesis, arn


def datas(event: Mapping[str, Any]) -> list[str]:
    return [base64.b64decode(record["kinesis"]["data"]).decode() for record in event["Records"]]


def fail_on_poison(event: Mapping[str, Any]) -> FunctionError | None:
    return FunctionError("ValueError", "poison") if "poison" in datas(event) else None


def test_a_poison_record_is_bisected_out_and_recorded_on_failure(aws: Aws) -> None:
    kinesis, stream = kinesis_stream(aws, "clicks")
    failures_url, failures_arn = aws.queue("clicks-failures")
    resources: Resources = {
        "Mapping": mapping(
            "Stream",
            "Counter",
            StartingPosition="TRIM_HORIZON",
            BatchSize=4,
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=1,
            ParallelizationFactor=2,
            DestinationConfig={"OnFailure": {"Destination": failures_arn}},
        ),
    }
    sequence = {}
    for data in ("a", "b", "poison", "d"):
        sequence[data] = kinesis.put_record(StreamName="clicks", Data=data.encode(), PartitionKey="p")[
            "SequenceNumber"
        ]
    invoker = FakeInvoker(Counter=fail_on_poison)
    with running(aws, resources, {"Stream.Arn": stream, "Counter": "Counter"}, invoker) as router:
        assert router.wait_idle(IDLE)
        banner = router.describe()
        not_emulated = router.not_emulated()

    assert not_emulated == [
        "Kinesis: ParallelizationFactor (each shard delivers one batch at a time) and the dedicated "
        "throughput of enhanced fan-out consumers (read like the stream)."
    ]
    batches = [datas(event) for event in invoker.events("Counter")]
    # The whole batch, then its halves; the poison alone is retried once, then given up on.
    assert batches == [["a", "b", "poison", "d"], ["a", "b"], ["poison", "d"], ["poison"], ["poison"], ["d"]]
    record = invoker.events("Counter")[1]["Records"][0]
    assert record["eventSource"] == "aws:kinesis"
    assert record["eventSourceARN"] == stream
    assert record["eventID"] == f"shardId-000000000000:{sequence['a']}"
    assert record["kinesis"]["partitionKey"] == "p"
    assert record["kinesis"]["sequenceNumber"] == sequence["a"]
    [message] = aws.messages(failures_url)
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["KinesisBatchInfo"]
    assert {
        key: info[key]
        for key in ("shardId", "startSequenceNumber", "endSequenceNumber", "batchSize", "streamArn")
    } == {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": sequence["poison"],
        "endSequenceNumber": sequence["poison"],
        "batchSize": 1,
        "streamArn": stream,
    }
    assert banner == [
        "kinesis stream/clicks -> Counter (batch 4, TRIM_HORIZON, 1 retries, bisect on error, "
        "on failure -> clicks-failures)"
    ]


def test_partial_batch_responses_and_filters_on_kinesis_data(aws: Aws) -> None:
    kinesis, stream = kinesis_stream(aws, "orders")
    resources: Resources = {
        "Mapping": mapping(
            "Stream",
            "Orders",
            StartingPosition="TRIM_HORIZON",
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            MaximumRetryAttempts=3,
            FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["order"]}})}]},
        ),
    }
    sequence = {}
    for number, kind in ((1, "order"), (2, "ping"), (3, "order"), (4, "order")):
        data = json.dumps({"kind": kind, "n": number}).encode()
        sequence[number] = kinesis.put_record(StreamName="orders", Data=data, PartitionKey="p")[
            "SequenceNumber"
        ]
    failed_once: set[str] = set()

    def second_fails_once(event: Mapping[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            number = record["kinesis"]["sequenceNumber"]
            if number == sequence[3] and number not in failed_once:
                failed_once.add(number)
                return {"batchItemFailures": [{"itemIdentifier": number}]}
        return {"batchItemFailures": []}

    invoker = FakeInvoker(Orders=second_fails_once)
    with running(aws, resources, {"Stream.Arn": stream, "Orders": "Orders"}, invoker) as router:
        assert router.wait_idle(IDLE)

    numbers = [[json.loads(data)["n"] for data in datas(event)] for event in invoker.events("Orders")]
    # The ping is filtered out; Lambda resumes from the reported record, keeping the shard's order.
    assert numbers == [[1, 3, 4], [3, 4]]


def test_a_message_that_fails_twice_lands_in_the_dead_letter_queue(aws: Aws) -> None:
    dlq_url, dlq_arn = aws.queue("jobs-dlq")
    queue_url, queue_arn = aws.queue(
        "jobs",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    resources: Resources = {
        "Mapping": mapping(
            "Queue",
            "Worker",
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": 5},
        ),
    }

    def poison_fails(event: Mapping[str, Any]) -> dict[str, Any]:
        failures = [record["messageId"] for record in event["Records"] if record["body"] == "poison"]
        return {"batchItemFailures": [{"itemIdentifier": failure} for failure in failures]}

    aws.sqs.send_message(QueueUrl=queue_url, MessageBody="fine")
    aws.sqs.send_message(QueueUrl=queue_url, MessageBody="poison")
    invoker = FakeInvoker(Worker=poison_fails)
    with running(aws, resources, {"Queue.Arn": queue_arn, "Worker": "Worker"}, invoker) as router:
        assert router.wait_idle(IDLE)
        banner = router.describe()

    bodies = [record["body"] for event in invoker.events("Worker") for record in event["Records"]]
    assert sorted(bodies) == ["fine", "poison", "poison"]
    assert [message["Body"] for message in aws.messages(dlq_url)] == ["poison"]
    assert aws.messages(queue_url) == []
    assert banner == [
        "sqs jobs -> Worker (batch 10, partial batch responses, "
        "max concurrency 5: one batch at a time locally)"
    ]


def test_fifo_message_groups_keep_their_order(aws: Aws) -> None:
    queue_url, queue_arn = aws.queue("orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    resources: Resources = {"Mapping": mapping("Queue", "Worker", BatchSize=2)}
    for group, number in (("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)):
        aws.sqs.send_message(QueueUrl=queue_url, MessageBody=f"{group}{number}", MessageGroupId=group)
    invoker = FakeInvoker()
    with running(aws, resources, {"Queue.Arn": queue_arn, "Worker": "Worker"}, invoker) as router:
        assert router.wait_idle(IDLE)

    bodies = [record["body"] for event in invoker.events("Worker") for record in event["Records"]]
    assert [body for body in bodies if body.startswith("a")] == ["a1", "a2", "a3"]
    assert [body for body in bodies if body.startswith("b")] == ["b1", "b2"]
