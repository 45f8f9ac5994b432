"""Event source mappings through the event router: DynamoDB streams, SQS queues, filters, batch failures."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests

from constructs_lib._event_patterns import compile_pattern as _compile
from constructs_lib.local._types import FunctionError, Invocation
from constructs_lib.local.events._mapping import failed_items as _failed_items
from tests.local.test_event_sources import (
    IDLE_TIMEOUT,
    REGION,
    STREAM_RECORD_KEYS,
    Aws,
    FakeInvoker,
    Resources,
    fail,
    function_arn,
    keys,
    running,
    stream_mapping,
)
from tests.moto_server import moto_server


@pytest.fixture
def aws() -> Iterator[Aws]:
    with moto_server() as url:
        # moto's backends live in the process, not in the server: each test starts from nothing.
        requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()
        yield Aws(url)


def test_stream_records_arrive_in_order_in_batches_from_the_starting_position(aws: Aws) -> None:
    stream = aws.table("images")
    aws.put("images", "a")
    aws.dynamodb.update_item(
        TableName="images",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    aws.dynamodb.delete_item(TableName="images", Key={"pk": {"S": "a"}})
    inserts_only = {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]}
    resources: Resources = {
        # The window holds a short batch until it fills or a second has passed.
        "IndexerMapping": stream_mapping("Indexer", BatchSize=2, MaximumBatchingWindowInSeconds=1),
        "AuditMapping": stream_mapping("Audit", StartingPosition="LATEST", FilterCriteria=inserts_only),
    }
    values = {"Table.StreamArn": stream, "Indexer": "Indexer", "Audit": "Audit"}
    invoker = FakeInvoker()
    with running(aws, resources, values, invoker) as router:
        assert router.wait_idle(IDLE_TIMEOUT)
        aws.put("images", "b")
        aws.dynamodb.delete_item(TableName="images", Key={"pk": {"S": "b"}})
        assert router.wait_idle(IDLE_TIMEOUT)
        assert router.describe() == [
            "dynamodb images -> Indexer (batch 2, window 1 s, TRIM_HORIZON, unlimited retries)",
            "dynamodb images -> Audit (batch 100, LATEST, unlimited retries)",
        ]

    batches = invoker.events("Indexer")
    assert [[record["eventName"] for record in batch["Records"]] for batch in batches] == [
        ["INSERT", "MODIFY"],
        ["REMOVE"],
        ["INSERT", "REMOVE"],
    ]
    insert, modify = batches[0]["Records"]
    assert insert.keys() == STREAM_RECORD_KEYS
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == stream
    assert insert["awsRegion"] == REGION
    change = modify["dynamodb"]
    assert change["Keys"] == {"pk": {"S": "a"}}
    assert change["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert change["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert abs(change["ApproximateCreationDateTime"] - time.time()) < 60
    assert int(insert["dynamodb"]["SequenceNumber"]) < int(change["SequenceNumber"])
    # LATEST: only what was written after start; the filter lets INSERT records through only.
    assert [keys(event) for event in invoker.events("Audit")] == [["b"]]


def test_partial_batch_failure_is_retried_from_the_first_failed_record(aws: Aws) -> None:
    stream = aws.table("orders")
    aws.put("orders", "a", "b", "c")
    calls = itertools.count(1)

    def indexer(event: Mapping[str, Any]) -> dict[str, Any]:
        call = next(calls)
        if call == 1:  # the second record failed
            return {
                "batchItemFailures": [{"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}]
            }
        if call == 2:  # an identifier that is not in the batch fails the whole batch
            return {"batchItemFailures": [{"itemIdentifier": "42"}]}
        return {"batchItemFailures": []}

    invoker = FakeInvoker(Indexer=indexer)
    resources: Resources = {
        "Mapping": stream_mapping(
            "Indexer", FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=5
        )
    }
    values = {"Table.StreamArn": stream, "Indexer": "Indexer"}
    with running(aws, resources, values, invoker) as router:
        assert router.wait_idle(IDLE_TIMEOUT)

    assert [keys(event) for event in invoker.events("Indexer")] == [["a", "b", "c"], ["b", "c"], ["b", "c"]]


def test_failing_batch_is_bisected_and_the_bad_record_goes_to_the_on_failure_queue(aws: Aws) -> None:
    stream = aws.table("images")
    aws.put("images", "1", "2", "3", "4")
    failures_url, failures_arn = aws.queue("stream-failures")

    def indexer(event: Mapping[str, Any]) -> FunctionError | None:
        return fail(event) if "3" in keys(event) else None

    invoker = FakeInvoker(Indexer=indexer)
    resources: Resources = {
        "Mapping": stream_mapping(
            "Indexer",
            BatchSize=4,
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=1,
            DestinationConfig={"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
        )
    }
    values = {"Table.StreamArn": stream, "Indexer": "Indexer", "Failures.Arn": failures_arn}
    with running(aws, resources, values, invoker) as router:
        assert router.wait_idle(IDLE_TIMEOUT)

    batches = invoker.events("Indexer")
    # Bisecting does not count as a retry: the single bad record is tried twice (MaximumRetryAttempts 1).
    assert [keys(event) for event in batches] == [
        ["1", "2", "3", "4"],
        ["1", "2"],
        ["3", "4"],
        ["3"],
        ["3"],
        ["4"],
    ]
    (message,) = aws.messages(failures_url)
    record = json.loads(message["Body"])
    sequence_number = batches[3]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert record["version"] == "1.0"
    assert record["requestContext"]["functionArn"] == function_arn("Indexer")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = record["DDBStreamBatchInfo"]
    assert info["shardId"].startswith("shardId-")
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence_number
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream
    assert info["approximateArrivalOfFirstRecord"] == info["approximateArrivalOfLastRecord"]
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_sqs_mapping_deletes_what_succeeded_and_redelivers_reported_failures(aws: Aws) -> None:
    queue_url, queue_arn = aws.queue("jobs", VisibilityTimeout="0")
    for number in (1, 2, 3):
        attributes = {"source": {"DataType": "String", "StringValue": "test"}} if number == 1 else {}
        aws.sqs.send_message(
            QueueUrl=queue_url, MessageBody=json.dumps({"n": number}), MessageAttributes=attributes
        )
    calls = iter([1, 2])

    def worker(event: Mapping[str, Any]) -> dict[str, Any]:
        # The first call reports the second message as failed.
        failed = [{"itemIdentifier": event["Records"][1]["messageId"]}] if next(calls) == 1 else []
        return {"batchItemFailures": failed}

    invoker = FakeInvoker(Worker=worker)
    below_three = {"Filters": [{"Pattern": json.dumps({"body": {"n": [{"numeric": ["<", 3]}]}})}]}
    resources: Resources = {
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                "FunctionName": {"Ref": "Worker"},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "FilterCriteria": below_three,
            },
        }
    }
    values = {"Queue.Arn": queue_arn, "Worker": "Worker"}
    with running(aws, resources, values, invoker) as router:
        assert router.wait_idle(IDLE_TIMEOUT)
        assert router.describe() == ["sqs jobs -> Worker (batch 10, partial batch responses)"]

    first, second = invoker.events("Worker")
    assert [json.loads(record["body"]) for record in first["Records"]] == [
        {"n": 1},
        {"n": 2},
    ]  # 3 filtered out
    (retried,) = second["Records"]
    assert json.loads(retried["body"]) == {"n": 2}
    assert retried["attributes"]["ApproximateReceiveCount"] == "2"
    record = first["Records"][0]
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["messageAttributes"] == {
        "source": {
            "stringValue": "test",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue_arn
    assert aws.messages(queue_url) == []  # filtered messages are deleted too


@pytest.mark.parametrize(
    ("payload", "error", "failed"),
    [
        (None, None, set()),
        ({"processed": 2}, None, set()),
        ({"batchItemFailures": []}, None, set()),
        ({"batchItemFailures": None}, None, set()),
        ({"batchItemFailures": [{"itemIdentifier": "2"}]}, None, {"2"}),
        (None, FunctionError("Timeout", "timed out"), {"1", "2", "3"}),
        ("done", None, {"1", "2", "3"}),
        ({"batchItemFailures": {"itemIdentifier": "2"}}, None, {"1", "2", "3"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None, {"1", "2", "3"}),
        ({"batchItemFailures": [{"id": "2"}]}, None, {"1", "2", "3"}),
        ({"batchItemFailures": [{"itemIdentifier": {"not": "hashable"}}]}, None, {"1", "2", "3"}),
    ],
)
def test_partial_batch_responses_read_as_lambda_reads_them(
    payload: Any, error: FunctionError | None, failed: set[str]
) -> None:
    invocation = Invocation(request_id="r", payload=payload, error=error)
    assert _failed_items(invocation, ["1", "2", "3"], report_failures=True)[0] == failed


@pytest.mark.parametrize(
    ("pattern", "record", "matches"),
    [
        ({"eventName": ["INSERT", "MODIFY"]}, {"eventName": "MODIFY"}, True),
        ({"eventName": ["INSERT"]}, {"eventName": "REMOVE"}, False),
        (
            {"dynamodb": {"NewImage": {"kind": {"S": ["a"]}}}},
            {"dynamodb": {"NewImage": {"kind": {"S": "a"}}}},
            True,
        ),
        ({"dynamodb": {"NewImage": {"kind": {"S": ["a"]}}}}, {"dynamodb": {"Keys": {}}}, False),
        ({"key": [{"prefix": "up"}]}, {"key": "uploads/x"}, True),
        ({"key": [{"suffix": ".png"}]}, {"key": "x.jpg"}, False),
        ({"key": [{"equals-ignore-case": "ABC"}]}, {"key": "abc"}, True),
        ({"key": [{"anything-but": ["a", "b"]}]}, {"key": "c"}, True),
        ({"key": [{"anything-but": "a"}]}, {"key": "a"}, False),
        ({"key": [{"exists": False}]}, {}, True),
        ({"key": [{"exists": True}]}, {}, False),
        ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}, True),
        ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 6}, False),
        ({"n": [1]}, {"n": True}, False),
        ({"tags": ["x"]}, {"tags": ["w", "x"]}, True),
    ],
)
def test_filter_patterns(pattern: dict[str, Any], record: dict[str, Any], matches: bool) -> None:
    assert _compile(pattern)(record) is matches


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"key": [{"regex": "."}]}, "key[0] uses unknown operator 'regex'"),
        ({"key": "not a list"}, "key must be an array of values or an object"),
        ({"n": [{"numeric": ["~", 1]}]}, 'n[0].numeric has operator "~"'),
    ],
)
def test_filter_patterns_that_are_not_valid_are_refused(pattern: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _compile(pattern)
