"""constructs_lib.ops redrive against moto (SQS, DynamoDB Streams, Kinesis) and the local Lambda API.

Each case: a poison event lands in a dead-letter queue, the bug is "fixed" (the handler swapped),
the redrive succeeds, and nothing is lost or duplicated (a failed redrive deletes nothing).
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from constructs_lib.local._types import FunctionError, Invocation
from constructs_lib.local.lambda_api import LocalFunction, lambda_server
from constructs_lib.ops.__main__ import main
from constructs_lib.ops.redrive import Clients, Plan, plan, redrive
from tests.moto_server import moto_server

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "thumbnail"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
KEPT_FOR = 1  # seconds a kept message stays hidden in these tests
CREDENTIALS = {"region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}


class Handler:
    """The deployed function: buggy (fails on poison events) until `fix()`; records what it was given."""

    def __init__(self) -> None:
        self.fixed = False
        self.events: list[Any] = []
        self.lock = threading.Lock()

    def fix(self) -> None:
        self.fixed = True

    def __call__(self, arn: str, event: Mapping[str, Any]) -> Invocation:
        poisoned = "poison" in json.dumps(event)
        if poisoned and not self.fixed:
            return Invocation("r-1", error=FunctionError("ValueError", "cannot handle poison"))
        with self.lock:
            self.events.append(event)
        records = event.get("Records") if isinstance(event, dict) else None
        return Invocation("r-2", payload={"batchItemFailures": []} if records else {"ok": True})


@pytest.fixture(scope="module")
def aws() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def lambda_url(handler: Handler, aws: str) -> Iterator[str]:
    sqs = boto3.client("sqs", endpoint_url=aws, **CREDENTIALS)
    dead_letters = sqs.create_queue(QueueName="thumbnail-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    functions = [LocalFunction(FUNCTION, FUNCTION_ARN, dlq_arn)]
    server = lambda_server("127.0.0.1", functions, handler, lambda: None)  # redrive invokes synchronously
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def clients(aws: str, lambda_url: str) -> Clients:
    return Clients(
        sqs=boto3.client("sqs", endpoint_url=aws, **CREDENTIALS),
        lambda_=boto3.client("lambda", endpoint_url=lambda_url, **CREDENTIALS),
        dynamodbstreams=boto3.client("dynamodbstreams", endpoint_url=aws, **CREDENTIALS),
        kinesis=boto3.client("kinesis", endpoint_url=aws, **CREDENTIALS),
        move_task=False,
    )


def _queue(clients: Clients, name: str) -> str:
    url: str = clients.sqs.create_queue(QueueName=name)["QueueUrl"]
    clients.sqs.purge_queue(QueueUrl=url)
    return url


def _bodies(clients: Clients, url: str) -> list[str]:
    bodies = []
    while messages := clients.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30
    ).get("Messages", []):
        bodies += [message["Body"] for message in messages]
    return sorted(bodies)


def _count(clients: Clients, url: str) -> int:
    attributes = clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _on_failure_record(event: Any) -> str:
    """Lambda's on-failure record of an asynchronous invocation (as the local runner writes it)."""
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {
                "requestId": "r",
                "functionArn": f"{FUNCTION_ARN}:$LATEST",
                "condition": "RetriesExhausted",
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        }
    )


def test_queue_dead_letters_move_back_to_their_source(clients: Clients) -> None:
    dlq = _queue(clients, "jobs-dlq")
    dlq_arn = clients.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = clients.sqs.create_queue(
        QueueName="jobs",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})},
    )["QueueUrl"]
    for body in ("job-1", "poison", "job-3"):
        clients.sqs.send_message(QueueUrl=source, MessageBody=body)
    for _ in range(2):  # received once without success: the second receive moves them to the DLQ
        clients.sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert _count(clients, dlq) == 3

    chosen = plan(clients, "jobs-dlq")
    assert chosen.messages == 3 and chosen.source_queues == (source,)
    report = redrive(clients, chosen, log=lambda _: None)

    assert report.redriven == 3 and not report.kept
    assert _count(clients, dlq) == 0
    assert _bodies(clients, source) == ["job-1", "job-3", "poison"]  # each once


def test_queue_dead_letters_use_the_message_move_task_against_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("constructs_lib.ops.redrive.MOVE_TASK_POLL", 0.0)
    sqs = boto3.client("sqs", **CREDENTIALS)
    clients = Clients(sqs=sqs, lambda_=None, dynamodbstreams=None, kinesis=None)
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs-dlq"
    chosen = Plan(f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs-dlq", arn, 4, ("https://sqs/jobs",))
    with Stubber(sqs) as stub:
        stub.add_response("start_message_move_task", {"TaskHandle": "task-1"}, {"SourceArn": arn})
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {"TaskHandle": "task-1", "Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 1}
                ]
            },
            {"SourceArn": arn, "MaxResults": 1},
        )
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {"TaskHandle": "task-1", "Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 4}
                ]
            },
            {"SourceArn": arn, "MaxResults": 1},
        )
        report = redrive(clients, chosen, log=lambda _: None)
        stub.assert_no_pending_responses()
    assert report.moved_by_task == 4 and not report.kept


def test_async_on_failure_records_are_invoked_again_once_fixed(clients: Clients, handler: Handler) -> None:
    dlq = _queue(clients, "thumbnail-failures")
    events = [{"key": "a.jpg"}, {"key": "poison.jpg"}, {"key": "c.jpg"}]
    for event in events:
        clients.sqs.send_message(QueueUrl=dlq, MessageBody=_on_failure_record(event))

    report = redrive(
        clients, plan(clients, "thumbnail-failures"), log=lambda _: None, visibility_timeout=KEPT_FOR
    )  # the bug is still there
    assert report.redriven == 2 and report.kept == {"the function failed again": 1}
    assert _count(clients, dlq) == 1  # the poison event was not deleted

    time.sleep(KEPT_FOR + 0.2)  # the kept message is visible again
    handler.fix()
    report = redrive(
        clients, plan(clients, "thumbnail-failures"), log=lambda _: None, visibility_timeout=KEPT_FOR
    )
    assert report.redriven == 1 and not report.kept
    assert _count(clients, dlq) == 0
    assert sorted(event["key"] for event in handler.events) == ["a.jpg", "c.jpg", "poison.jpg"]  # each once


def test_plain_async_dead_letters_go_to_the_function_whose_dead_letter_queue_it_is(
    clients: Clients, handler: Handler
) -> None:
    dlq = _queue(clients, "thumbnail-dlq")  # the lambda_url fixture's function names it as DeadLetterConfig
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": "r-9"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "cannot handle poison"},
    }
    clients.sqs.send_message(
        QueueUrl=dlq, MessageBody=json.dumps({"key": "poison.jpg"}), MessageAttributes=attributes
    )
    kept = redrive(clients, plan(clients, "thumbnail-dlq"), log=lambda _: None, visibility_timeout=KEPT_FOR)
    assert kept.redriven == 0 and _count(clients, dlq) == 1
    time.sleep(KEPT_FOR + 0.2)
    handler.fix()
    report = redrive(clients, plan(clients, "thumbnail-dlq"), log=lambda _: None)
    assert report.redriven == 1 and _count(clients, dlq) == 0
    assert handler.events == [{"key": "poison.jpg"}]


def _stream_record(key: str, info: dict[str, Any]) -> str:
    return json.dumps(
        {
            "requestContext": {
                "requestId": "r",
                "functionArn": FUNCTION_ARN,
                "condition": "RetryAttemptsExhausted",
            },
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "version": "1.0",
            key: info,
        }
    )


def test_dynamodb_stream_pointers_are_read_back_and_redriven(
    clients: Clients, handler: Handler, aws: str
) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=aws, **CREDENTIALS)
    table = dynamodb.create_table(
        TableName="images",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    for key in ("before", "poison-1", "poison-2", "after"):
        dynamodb.put_item(TableName="images", Item={"id": {"S": key}})
    stream_arn = table["LatestStreamArn"]
    shard = clients.dynamodbstreams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = clients.dynamodbstreams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    numbers = [
        r["dynamodb"]["SequenceNumber"]
        for r in clients.dynamodbstreams.get_records(ShardIterator=iterator)["Records"]
    ]
    info = {
        "shardId": shard["ShardId"],
        "startSequenceNumber": numbers[1],
        "endSequenceNumber": numbers[2],
        "batchSize": 2,
        "streamArn": stream_arn,
    }
    # A stream that no longer exists (its table deleted, or disabled for more than 24 hours): expired.
    gone = {**info, "streamArn": stream_arn.replace("table/images", "table/deleted"), "batchSize": 1}
    dlq = _queue(clients, "images-consumer-dlq")
    clients.sqs.send_message(QueueUrl=dlq, MessageBody=_stream_record("DDBStreamBatchInfo", info))
    clients.sqs.send_message(QueueUrl=dlq, MessageBody=_stream_record("DDBStreamBatchInfo", gone))

    handler.fix()
    report = redrive(
        clients, plan(clients, "images-consumer-dlq"), log=lambda _: None, visibility_timeout=KEPT_FOR
    )

    assert report.redriven == 1 and report.kept == {"every record has expired from the stream": 1}
    assert report.expired_records == 1  # reported, and its message kept
    assert _count(clients, dlq) == 1
    (event,) = handler.events
    assert [record["dynamodb"]["Keys"]["id"]["S"] for record in event["Records"]] == ["poison-1", "poison-2"]
    assert {record["eventSource"] for record in event["Records"]} == {"aws:dynamodb"}
    assert event["Records"][0]["eventSourceARN"] == stream_arn


def test_kinesis_stream_pointers_are_read_back_and_redriven(clients: Clients, handler: Handler) -> None:
    clients.kinesis.create_stream(StreamName="clicks", ShardCount=1)
    arn = clients.kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    put = [
        clients.kinesis.put_record(StreamARN=arn, Data=json.dumps({"n": n}).encode(), PartitionKey="p")
        for n in range(4)
    ]
    info = {
        "shardId": put[1]["ShardId"],
        "startSequenceNumber": put[1]["SequenceNumber"],
        "endSequenceNumber": put[2]["SequenceNumber"],
        "batchSize": 2,
        "streamArn": arn,
    }
    dlq = _queue(clients, "clicks-consumer-dlq")
    clients.sqs.send_message(QueueUrl=dlq, MessageBody=_stream_record("KinesisBatchInfo", info))
    handler.fix()
    report = redrive(clients, plan(clients, "clicks-consumer-dlq"), log=lambda _: None)
    assert report.redriven == 1 and not report.kept and _count(clients, dlq) == 0
    (event,) = handler.events
    data = [json.loads(base64.b64decode(record["kinesis"]["data"])) for record in event["Records"]]
    assert data == [{"n": 1}, {"n": 2}]


class _Stdin(io.StringIO):
    def __init__(self, text: str, *, tty: bool) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _local_run(tmp_path: Path, aws: str, lambda_url: str) -> Path:
    """A state file as a running `make local` writes it (this process stands in for the run)."""
    cdk_out = tmp_path / "cdk.out"
    cdk_out.mkdir()
    state = {"pid": os.getpid(), "port": 4000, "aws": aws, "lambdaApi": lambda_url, "region": REGION}
    (cdk_out / "local-runner-4000.json").write_text(json.dumps(state))
    return cdk_out


@pytest.fixture
def cdk_out(tmp_path: Path, aws: str, lambda_url: str) -> Path:
    return _local_run(tmp_path, aws, lambda_url)


def test_cli_asks_refuses_without_a_terminal_and_redrives_with_yes(
    clients: Clients, handler: Handler, cdk_out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dlq = _queue(clients, "cli-failures")
    clients.sqs.send_message(QueueUrl=dlq, MessageBody=_on_failure_record({"key": "poison.jpg"}))
    handler.fix()
    local = ["redrive", "cli-failures", "--local", "--cdk-out", str(cdk_out)]

    assert main(local, stdin=_Stdin("", tty=False)) == 2
    assert "pass --yes" in capsys.readouterr().err and _count(clients, dlq) == 1
    assert main(local, stdin=_Stdin("n\n", tty=True)) == 1
    assert "1 messages to re-drive" in capsys.readouterr().out and _count(clients, dlq) == 1
    assert main(local, stdin=_Stdin("y\n", tty=True)) == 0
    assert "1 re-driven" in capsys.readouterr().out and _count(clients, dlq) == 0
    assert handler.events == [{"key": "poison.jpg"}]
    clients.sqs.send_message(QueueUrl=dlq, MessageBody=_on_failure_record({"key": "again.jpg"}))
    assert main([*local, "--yes"], stdin=_Stdin("", tty=False)) == 0
    assert _count(clients, dlq) == 0


def test_cli_without_a_local_run_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cdk.out").mkdir()
    assert main(["redrive", "q", "--local", "--cdk-out", str(tmp_path / "cdk.out"), "--yes"]) == 1
    assert "no local run is active" in capsys.readouterr().err
