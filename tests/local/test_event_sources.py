"""The event router against moto in server mode, with hand-written templates and a scripted invoker."""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import boto3
import pytest
import requests

from constructs_lib._event_patterns import compile_pattern as _compile
from constructs_lib.local._types import FunctionError, Invocation
from constructs_lib.local.events import EventRouter
from constructs_lib.local.events._mapping import failed_items as _failed_items
from tests.moto_server import moto_server

REGION = "us-east-1"
ACCOUNT = "123456789012"
IDLE_TIMEOUT = 5.0
SNS_KEYS = {
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertUrl",
    "UnsubscribeUrl",
    "MessageAttributes",
}
STREAM_RECORD_KEYS = {
    "eventID",
    "eventName",
    "eventVersion",
    "eventSource",
    "awsRegion",
    "dynamodb",
    "eventSourceARN",
}

Resources = dict[str, dict[str, Any]]
# What a scripted function does with an event: return a payload, or a FunctionError to fail.
Behaviour = Callable[[Mapping[str, Any]], Any]


class FakeTemplate:
    """A TemplateView over hand-written resources, resolving Ref and Fn::GetAtt from `values`."""

    def __init__(self, resources: Resources, values: Mapping[str, str]) -> None:
        self._resources = resources
        self._values = values

    @property
    def stack_name(self) -> str:
        return "Test"

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        return {key: value for key, value in self._resources.items() if value["Type"] in resource_types}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "Ref" in value:
                return self._values[value["Ref"]]
            if "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                return self._values[f"{logical_id}.{attribute}"]
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def ref(self, logical_id: str) -> str:
        return self._values[logical_id]


class FakeInvoker:
    """Records every invocation and answers as the function's scripted behaviour says (default: None)."""

    def __init__(self, **behaviours: Behaviour) -> None:
        self.behaviours = behaviours
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        name = function_arn.rsplit(":", maxsplit=1)[-1]
        with self._lock:
            self.calls.append((name, json.loads(json.dumps(event))))
        behaviour = self.behaviours.get(name)
        outcome = behaviour(event) if behaviour else None
        if isinstance(outcome, FunctionError):
            return Invocation(request_id=str(uuid.uuid4()), error=outcome)
        return Invocation(request_id=str(uuid.uuid4()), payload=outcome)

    def events(self, function: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for name, event in self.calls if name == function]


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def fail(event: Mapping[str, Any]) -> FunctionError:
    return FunctionError("ValueError", "cannot process", ('  File "handler.py", line 1, in handler',))


@dataclass
class Aws:
    """Clients for the test's moto server, and helpers to create what the templates refer to."""

    url: str

    def __post_init__(self) -> None:
        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=self.url, region_name=REGION)

        self.s3 = client("s3")
        self.sns = client("sns")
        self.sqs = client("sqs")
        self.dynamodb = client("dynamodb")

    def queue(self, name: str, **attributes: str) -> tuple[str, str]:
        url: str = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def topic(self, name: str) -> str:
        arn: str = self.sns.create_topic(Name=name)["TopicArn"]
        return arn

    def table(self, name: str) -> str:
        """A table keyed by "pk" with a NEW_AND_OLD_IMAGES stream; returns the stream's ARN."""
        table = self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        arn: str = table["TableDescription"]["LatestStreamArn"]
        return arn

    def put(self, table: str, *keys: str) -> None:
        for key in keys:
            self.dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}})

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages


@pytest.fixture
def aws() -> Iterator[Aws]:
    with moto_server() as url:
        # moto's backends live in the process, not in the server: each test starts from nothing.
        requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()
        yield Aws(url)


@contextmanager
def running(
    aws: Aws,
    resources: Resources,
    values: Mapping[str, str],
    invoker: FakeInvoker,
    retry_delays: tuple[float, ...] = (0.05,),
) -> Iterator[EventRouter]:
    router = EventRouter(
        [FakeTemplate(resources, values)],
        invoker=invoker,
        endpoint_url=aws.url,
        region=REGION,
        account=ACCOUNT,
        retry_delays=retry_delays,
        poll_interval=0.02,
    )
    router.start()
    try:
        yield router
    finally:
        router.stop()


def lambda_subscription(topic: str, function: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "Protocol": "lambda",
            "TopicArn": {"Ref": topic},
            "Endpoint": {"Fn::GetAtt": [function, "Arn"]},
            **properties,
        },
    }


def stream_mapping(function: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]},
            "FunctionName": {"Ref": function},
            "StartingPosition": "TRIM_HORIZON",
            **properties,
        },
    }


def keys(event: Mapping[str, Any]) -> list[str]:
    """The partition keys of a stream event's records, in order."""
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]


def sns_messages(invoker: FakeInvoker, function: str) -> list[dict[str, Any]]:
    return [event["Records"][0]["Sns"] for event in invoker.events(function)]


def test_s3_upload_reaches_topic_subscribers_with_lambdas_sns_event(aws: Aws) -> None:
    aws.s3.create_bucket(Bucket="images")
    topic = aws.topic("uploads")
    resources: Resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Notifications": {
            "Type": "Custom::S3BucketNotifications",
            "Properties": {
                # Never resolved: the runner has no such handler.
                "ServiceToken": {"Fn::GetAtt": ["NotificationsHandler", "Arn"]},
                "BucketName": {"Ref": "Bucket"},
                "NotificationConfiguration": {
                    "TopicConfigurations": [
                        {
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                            "TopicArn": {"Ref": "Topic"},
                        }
                    ]
                },
                "Managed": True,
            },
        },
        "ThumbnailUploads": lambda_subscription("Topic", "Thumbnail"),
        "NotifierUploads": lambda_subscription("Topic", "Notifier"),
    }
    values = {
        "Bucket": "images",
        "Topic": topic,
        "Thumbnail.Arn": function_arn("Thumbnail"),
        "Notifier.Arn": function_arn("Notifier"),
    }
    invoker = FakeInvoker()
    with running(aws, resources, values, invoker) as router:
        assert router.describe() == [
            "s3://images s3:ObjectCreated:* (uploads/*) -> topic uploads -> Thumbnail, Notifier",
            "sns uploads -> lambda Thumbnail",
            "sns uploads -> lambda Notifier",
        ]
        aws.s3.put_object(Bucket="images", Key="uploads/a b.jpg", Body=b"jpeg")
        aws.s3.put_object(Bucket="images", Key="other/c.jpg", Body=b"jpeg")
        assert router.wait_idle(IDLE_TIMEOUT)

    for function in ("Thumbnail", "Notifier"):
        # S3's test event, sent when the notification was configured, then the upload (not other/).
        test_event, upload = sns_messages(invoker, function)
        assert json.loads(test_event["Message"])["Event"] == "s3:TestEvent"
        (record,) = invoker.events(function)[1]["Records"]
        assert record.keys() == {"EventSource", "EventVersion", "EventSubscriptionArn", "Sns"}
        assert record["EventSource"] == "aws:sns"
        assert record["EventVersion"] == "1.0"
        assert record["EventSubscriptionArn"].startswith(f"{topic}:")
        assert upload.keys() == SNS_KEYS
        assert upload["Type"] == "Notification"
        assert upload["TopicArn"] == topic
        assert upload["Subject"] == "Amazon S3 Notification"
        assert upload["MessageAttributes"] == {}
        assert upload["UnsubscribeUrl"].endswith(f"SubscriptionArn={record['EventSubscriptionArn']}")
        (s3_record,) = json.loads(upload["Message"])["Records"]
        assert s3_record["eventSource"] == "aws:s3"
        assert s3_record["eventName"] == "ObjectCreated:Put"
        assert s3_record["s3"]["configurationId"] == "Notifications-topic-0"
        assert s3_record["s3"]["bucket"]["name"] == "images"
        assert s3_record["s3"]["object"]["key"] == quote_plus("uploads/a b.jpg")
        assert unquote_plus(s3_record["s3"]["object"]["key"]) == "uploads/a b.jpg"
        assert s3_record["s3"]["object"]["size"] == 4
    subscriptions = {event["Records"][0]["EventSubscriptionArn"] for _, event in invoker.calls}
    assert len(subscriptions) == 2  # one per lambda subscription


def test_publish_reaches_subscribers_through_their_filter_policies(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    topic = aws.topic("events")
    raw_url, raw_arn = aws.queue("raw")
    resources: Resources = {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Everything": lambda_subscription("Topic", "All"),
        "OnlyImages": lambda_subscription("Topic", "Images", FilterPolicy={"kind": ["image"]}),
        # moto has no "wildcard" operator: the subscriber gets every message, and a warning says so.
        "Wildcard": lambda_subscription("Topic", "Wild", FilterPolicy={"kind": [{"wildcard": "im*"}]}),
        "Raw": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "sqs",
                "TopicArn": {"Ref": "Topic"},
                "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                "RawMessageDelivery": True,
            },
        },
    }
    values = {
        "Topic": topic,
        "Queue.Arn": raw_arn,
        **{f"{name}.Arn": function_arn(name) for name in ("All", "Images", "Wild")},
    }
    invoker = FakeInvoker()
    with (
        caplog.at_level(logging.WARNING, "constructs_lib.local"),
        running(aws, resources, values, invoker) as router,
    ):
        for message, kind in (("hello", "image"), ("bye", "text")):
            aws.sns.publish(
                TopicArn=topic,
                Message=message,
                MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
            )
        assert router.wait_idle(IDLE_TIMEOUT)

    assert [message["Message"] for message in sns_messages(invoker, "All")] == ["hello", "bye"]
    assert [message["Message"] for message in sns_messages(invoker, "Wild")] == ["hello", "bye"]
    (image,) = sns_messages(invoker, "Images")
    assert image["Message"] == "hello"
    assert image["Subject"] is None
    assert image["MessageAttributes"] == {"kind": {"Type": "String", "Value": "image"}}
    assert sorted(message["Body"] for message in aws.messages(raw_url)) == ["bye", "hello"]
    assert "sns events -> Wild: filter policy not applied locally" in caplog.text


def test_async_invocation_retries_then_sends_the_invocation_record_on_failure(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    aws.s3.create_bucket(Bucket="photos")
    failures_url, failures_arn = aws.queue("failures")
    archive_url, archive_arn = aws.queue("archive")
    resources: Resources = {
        "Notifications": {
            "Type": "Custom::S3BucketNotifications",
            "Properties": {
                "BucketName": "photos",
                "NotificationConfiguration": {
                    "LambdaFunctionConfigurations": [
                        {
                            "Events": ["s3:ObjectCreated:Put"],
                            "LambdaFunctionArn": {"Fn::GetAtt": ["Resize", "Arn"]},
                        }
                    ],
                    # moto delivers to queues itself.
                    "QueueConfigurations": [{"Events": ["s3:ObjectCreated:*"], "QueueArn": archive_arn}],
                },
            },
        },
        "ResizeInvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Resize"},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 1,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
            },
        },
    }
    values = {"Resize": "Resize", "Resize.Arn": function_arn("Resize"), "Failures.Arn": failures_arn}
    invoker = FakeInvoker(Resize=fail)
    with (
        caplog.at_level(logging.WARNING, "constructs_lib.local"),
        running(aws, resources, values, invoker) as router,
    ):
        aws.s3.put_object(Bucket="photos", Key="cat.png", Body=b"png")
        assert router.wait_idle(IDLE_TIMEOUT)

    first, second = invoker.events("Resize")  # the attempt and one retry; functions get no test event
    assert first == second
    assert first["Records"][0]["s3"]["object"]["key"] == "cat.png"
    test_event, archived = [json.loads(message["Body"]) for message in aws.messages(archive_url)]
    assert test_event["Event"] == "s3:TestEvent"
    assert archived["Records"][0]["s3"]["object"]["key"] == "cat.png"
    (message,) = aws.messages(failures_url)
    record = json.loads(message["Body"])
    assert record.keys() == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": record["requestContext"]["requestId"],
        "functionArn": f"{function_arn('Resize')}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 2,
    }
    assert record["requestPayload"] == first
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "cannot process"
    assert record["responsePayload"]["stackTrace"] == ['  File "handler.py", line 1, in handler']
    assert "retry 1 of 1" in caplog.text
    assert "(RetriesExhausted); sent to failures" in caplog.text


def test_dead_letter_queue_without_on_failure_destination_and_on_success_records(aws: Aws) -> None:
    dead_url, dead_arn = aws.queue("dead-letters")
    done_url, done_arn = aws.queue("done")
    resources: Resources = {
        "Flaky": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Role": {"Fn::GetAtt": ["NoSuchRole", "Arn"]},  # never resolved
                "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}},
            },
        },
        "SteadyInvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": "Steady",
                "Qualifier": "$LATEST",
                "DestinationConfig": {"OnSuccess": {"Destination": {"Fn::GetAtt": ["Done", "Arn"]}}},
            },
        },
    }
    values = {"Flaky": "Flaky", "DeadLetters.Arn": dead_arn, "Done.Arn": done_arn}
    invoker = FakeInvoker(Flaky=fail, Steady=lambda event: {"ok": event["n"]})
    with running(aws, resources, values, invoker) as router:
        assert "Flaky asynchronous invocations: 2 retries, dead letters -> dead-letters" in router.describe()
        request_id = router.invoke_async("Flaky", {"n": 1})
        router.invoke_async(function_arn("Steady"), {"n": 2})
        assert router.wait_idle(IDLE_TIMEOUT)

    assert invoker.events("Flaky") == [{"n": 1}] * 3  # Lambda's default: two retries
    (dead,) = aws.messages(dead_url)
    assert json.loads(dead["Body"]) == {"n": 1}
    assert dead["MessageAttributes"] == {
        "RequestID": {"StringValue": request_id, "DataType": "String"},
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": "cannot process", "DataType": "String"},
    }
    (done,) = aws.messages(done_url)
    success = json.loads(done["Body"])
    assert success["requestContext"]["condition"] == "Success"
    assert success["requestContext"]["approximateInvokeCount"] == 1
    assert success["requestPayload"] == {"n": 2}
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert success["responsePayload"] == {"ok": 2}


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


def test_unsupported_wiring_is_described_and_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    kafka = "arn:aws:kafka:us-east-1:123456789012:cluster/clicks/abc"
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/images/stream/2024-01-01T00:00:00.000"
    regex = {"Filters": [{"Pattern": json.dumps({"eventName": [{"regex": ".*"}]})}]}
    resources: Resources = {
        "Clicks": stream_mapping("Counter", EventSourceArn=kafka),
        "MoreClicks": stream_mapping("Counter", EventSourceArn=kafka),
        "Paused": stream_mapping("Indexer", Enabled=False),
        "Wild": stream_mapping("Indexer", FilterCriteria=regex),
        "Email": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "email",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                "Endpoint": "a@b.c",
            },
        },
    }
    values = {"Table.StreamArn": stream, "Counter": "Counter", "Indexer": "Indexer"}
    with caplog.at_level(logging.WARNING, "constructs_lib.local"):
        router = EventRouter(
            [FakeTemplate(resources, values)],
            invoker=FakeInvoker(),
            endpoint_url="http://127.0.0.1:1",
            region=REGION,
            account=ACCOUNT,
        )

    assert router.describe() == [
        "dynamodb images -> Indexer (batch 100, TRIM_HORIZON, unlimited retries)",
        "kafka cluster/clicks/abc -> Counter (not supported locally)",
        "kafka cluster/clicks/abc -> Counter (not supported locally)",
        "dynamodb images -> Indexer (disabled)",
    ]
    messages = [record.getMessage() for record in caplog.records]
    assert (
        messages.count("kafka event sources are not supported locally (kafka cluster/clicks/abc -> Counter)")
        == 1
    )
    assert any("FilterCriteria not applied locally" in message for message in messages)
    assert any("SNS email subscriptions are not delivered locally" in message for message in messages)
    assert any("capped locally at 10 retries" in message for message in messages)


def test_stop_is_prompt_and_logs_what_was_not_delivered(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    stream = aws.table("images")
    topic = aws.topic("events")
    resources: Resources = {
        "Mapping": stream_mapping("Indexer"),
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Subscription": lambda_subscription("Topic", "Notifier"),
    }
    values = {
        "Table.StreamArn": stream,
        "Indexer": "Indexer",
        "Topic": topic,
        "Notifier.Arn": function_arn("Notifier"),
    }
    invoker = FakeInvoker(Notifier=fail)
    with (
        caplog.at_level(logging.WARNING, "constructs_lib.local"),
        running(aws, resources, values, invoker, retry_delays=(30.0,)) as router,
    ):
        router.invoke_async("Notifier", {"n": 1})
        assert not router.wait_idle(0.3)  # its retry is 30 s away
        started = time.monotonic()
        router.stop()
        router.stop()
        assert time.monotonic() - started < 1.0

    assert invoker.events("Notifier") == [{"n": 1}]
    assert "Notifier (asynchronous): 1 events not delivered at shutdown" in caplog.text
