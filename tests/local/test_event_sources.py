"""The event router against moto in server mode, with hand-written templates and a scripted invoker."""

from __future__ import annotations

import json
import logging
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

from constructs_lib.local._service import DeliveryCheck
from constructs_lib.local._types import FunctionError, Invocation
from constructs_lib.local.events import EventRouter
from constructs_lib.local.events.schedules import Clock, system_clock

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


@contextmanager
def running(
    aws: Aws,
    resources: Resources,
    values: Mapping[str, str],
    invoker: FakeInvoker,
    *,
    retry_delays: tuple[float, ...] = (0.05,),
    checks: list[DeliveryCheck] | None = None,
    clock: Clock = system_clock,
) -> Iterator[EventRouter]:
    """An event router over `resources` (their references resolved to `values`), started: fast
    retries and polls, the delivery `checks` and the `clock` a test gives."""
    router = EventRouter(
        [FakeTemplate(resources, values)],
        invoker=invoker,
        endpoint_url=aws.url,
        region=REGION,
        account=ACCOUNT,
        retry_delays=retry_delays,
        poll_interval=0.02,
        delivery_checks=checks if checks is not None else [],
        clock=clock,
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


def test_a_failed_event_reaches_both_the_on_failure_destination_and_the_dead_letter_queue(aws: Aws) -> None:
    # Lambda takes destinations "in addition to or instead of a dead-letter queue": with both, both get it.
    dead_url, dead_arn = aws.queue("both-dead-letters")
    failures_url, failures_arn = aws.queue("both-failures")
    resources: Resources = {
        "Flaky": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}}},
        },
        "FlakyInvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": "Flaky",
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 0,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
            },
        },
    }
    values = {"Flaky": "Flaky", "DeadLetters.Arn": dead_arn, "Failures.Arn": failures_arn}
    invoker = FakeInvoker(Flaky=fail)
    with running(aws, resources, values, invoker) as router:
        assert (
            "Flaky asynchronous invocations: 0 retries, on failure -> both-failures, "
            "dead letters -> both-dead-letters" in router.describe()
        )
        router.invoke_async("Flaky", {"n": 1})
        assert router.wait_idle(IDLE_TIMEOUT)

    (record,) = aws.messages(failures_url)
    assert json.loads(record["Body"])["requestPayload"] == {"n": 1}
    (dead,) = aws.messages(dead_url)
    assert json.loads(dead["Body"]) == {"n": 1}


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
