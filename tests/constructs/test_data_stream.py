"""DataStream: an encrypted Kinesis stream with lossless consumers, fan-out and alarms."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib._nag import acknowledge
from constructs_lib.data_stream import DataStream
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
STREAM = "AWS::Kinesis::Stream"
MAPPING = "AWS::Lambda::EventSourceMapping"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    defaults_stack = new_stack(app, "Defaults")
    clicks = DataStream(defaults_stack, "Clicks")
    counter = ServerlessFunction(defaults_stack, "Counter", entry=ECHO)
    default_consumer = clicks.add_consumer(counter.function)
    producer = ServerlessFunction(defaults_stack, "Producer", entry=ECHO)
    clicks.grant_write(producer.function)
    reader = ServerlessFunction(defaults_stack, "Reader", entry=ECHO)
    clicks.grant_read(reader.function)

    full = new_stack(app, "Full")
    key = kms.Key(full, "StreamKey", enable_key_rotation=True)
    topic = sns.Topic.from_topic_arn(full, "Alarms", TOPIC_ARN)
    orders = DataStream(
        full,
        "Orders",
        stream_mode=kinesis.StreamMode.PROVISIONED,
        shard_count=2,
        retention_period=Duration.days(3),
        encryption_key=key,
        stream_name="orders",
        removal_policy=RemovalPolicy.DESTROY,
        disposable_data_reason="Test orders: the shop replays them on a new stack.",
        alarm_topic=topic,
        iterator_age_threshold=Duration.minutes(5),
    )
    writer = ServerlessFunction(full, "Writer", entry=ECHO)
    orders.grant_write(writer.function)
    fan_out = orders.add_consumer(
        ServerlessFunction(full, "Billing", entry=ECHO).function,
        batch_size=500,
        max_batching_window=Duration.seconds(10),
        retry_attempts=2,
        max_record_age=Duration.days(2),
        parallelization_factor=3,
        enhanced_fan_out=True,
        consumer_id="Billing",
    )
    shared = sqs.Queue(
        full,
        "SharedFailures",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),  # explicit, as cfn-lint's I3013 asks
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(shared, rule, "Test queue: it is the on-failure destination of a stream consumer.")
    passed = orders.add_consumer(
        ServerlessFunction(full, "Audit", entry=ECHO).function, on_failure_queue=shared, consumer_id="Audit"
    )

    quiet = new_stack(app, "Quiet")
    DataStream(quiet, "Logs", alarms=False).add_consumer(
        ServerlessFunction(quiet, "Sink", entry=ECHO).function
    )
    return {
        "templates": synth_templates(app),
        "clicks": clicks,
        "default_consumer": default_consumer,
        "fan_out": fan_out,
        "passed": passed,
        "orders": orders,
    }


# Defaults.


def test_stream_is_on_demand_managed_key_24_hours_retained(defaults: Template) -> None:
    (stream,) = defaults.find_resources(STREAM).values()
    assert stream["Properties"]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert stream["Properties"]["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert stream["Properties"]["RetentionPeriodHours"] == 24
    assert "ShardCount" not in stream["Properties"]
    assert stream["DeletionPolicy"] == "Retain"


def test_consumer_loses_nothing(defaults: Template) -> None:
    defaults.has_resource_properties(
        MAPPING,
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^ClicksStream"), "Arn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 100,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 10,
            "MaximumRecordAgeInSeconds": 6 * 3600,
            "ParallelizationFactor": 1,
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {
                        "Fn::GetAtt": [Match.string_like_regexp("^ClicksConsumer.*DeadLetterQueue"), "Arn"]
                    }
                }
            },
        },
    )


def test_on_failure_queue_is_encrypted_tls_only_and_kept_14_days(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )
    defaults.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                    )
                ]
            }
        },
    )


def test_consumer_may_send_its_failures(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("^CounterServiceRole"),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                                "Resource": {
                                    "Fn::GetAtt": [Match.string_like_regexp("DeadLetterQueue"), "Arn"]
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


def test_alarms_on_write_throttles_iterator_age_and_failures(defaults: Template) -> None:
    defaults.has_resource_properties(
        ALARM,
        {"MetricName": "WriteProvisionedThroughputExceeded", "Namespace": "AWS/Kinesis", "Threshold": 1},
    )
    defaults.has_resource_properties(ALARM, {"MetricName": "IteratorAge", "Threshold": 15 * 60 * 1000})
    defaults.has_resource_properties(
        ALARM, {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1}
    )
    defaults.resource_count_is(ALARM, 3)


def test_grants_write_and_read(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("^ProducerServiceRole"),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": Match.array_with(["kinesis:PutRecord", "kinesis:PutRecords"])}
                        )
                    ]
                )
            },
        },
    )
    defaults.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("^ReaderServiceRole"),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": Match.array_with(["kinesis:GetRecords", "kinesis:GetShardIterator"])}
                        )
                    ]
                )
            },
        },
    )


def test_attributes(built: dict[str, Any]) -> None:
    clicks: DataStream = built["clicks"]
    assert clicks.consumers == [built["default_consumer"]]
    assert clicks.write_throttle_alarm is not None
    assert clicks.encryption_key is None
    assert built["default_consumer"].fan_out_consumer is None
    assert built["passed"].dead_letter_alarm is None  # only for queues the stream created


# Options.


def test_provisioned_named_stream_with_customer_key_and_retention(full: Template) -> None:
    (stream,) = full.find_resources(STREAM).values()
    (key_id,) = full.find_resources("AWS::KMS::Key")
    assert stream["Properties"]["ShardCount"] == 2
    assert stream["Properties"]["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert stream["Properties"]["Name"] == "orders"
    assert stream["Properties"]["RetentionPeriodHours"] == 72
    assert stream["Properties"]["StreamEncryption"] == {
        "EncryptionType": "KMS",
        "KeyId": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert stream["DeletionPolicy"] == "Delete"
    assert stream["Metadata"]["constructs_lib:disposableDataReason"] == (
        "Test orders: the shop replays them on a new stack."
    )


def test_enhanced_fan_out_consumer_options(full: Template) -> None:
    full.resource_count_is("AWS::Kinesis::StreamConsumer", 1)
    full.has_resource_properties(
        MAPPING,
        {
            "EventSourceArn": {
                "Fn::GetAtt": [Match.string_like_regexp("^OrdersBillingFanOut"), "ConsumerARN"]
            },
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 10,
            "MaximumRetryAttempts": 2,
            "MaximumRecordAgeInSeconds": 2 * 24 * 3600,
            "ParallelizationFactor": 3,
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_passed_on_failure_queue_is_used_and_none_created(full: Template) -> None:
    full.has_resource_properties(
        MAPPING,
        {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^OrdersStream"), "Arn"]},
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {"Fn::GetAtt": [Match.string_like_regexp("^SharedFailures"), "Arn"]}
                }
            },
        },
    )
    full.resource_count_is("AWS::SQS::Queue", 2)  # the shared one and the billing consumer's


def test_alarms_notify_the_topic_with_the_threshold(full: Template) -> None:
    full.resource_properties_count_is(ALARM, {"AlarmActions": [TOPIC_ARN]}, 4)
    full.has_resource_properties(ALARM, {"MetricName": "IteratorAge", "Threshold": 5 * 60 * 1000})


def test_no_alarms_when_off(templates: dict[str, dict[str, Any]]) -> None:
    Template.from_json(templates["Quiet"]).resource_count_is(ALARM, 0)


# Gates.


@pytest.mark.parametrize("stack", ["Defaults", "Full", "Quiet"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Full"]) == snapshot_json


# Bad input.


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Test")
    return {
        "stack": stack,
        "stream": DataStream(stack, "Stream"),
        "week": DataStream(stack, "Week", retention_period=Duration.days(30)),
        "function": ServerlessFunction(stack, "Consumer", entry=ECHO).function,
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        pytest.param(
            {"stream_mode": kinesis.StreamMode.PROVISIONED},
            "Test/Bad: shard_count: a provisioned stream needs 1-500 shards, not None; pass shard_count or "
            "use StreamMode.ON_DEMAND",
            id="provisioned-without-shards",
        ),
        pytest.param(
            {"shard_count": 2},
            "Test/Bad: shard_count: applies only to StreamMode.PROVISIONED; an on-demand stream scales its "
            "own shards",
            id="shards-on-demand",
        ),
        pytest.param(
            {"retention_period": Duration.hours(12)},
            "Test/Bad: retention_period: must be whole hours between 24 and 8760 (1 to 365 days)",
            id="retention",
        ),
        pytest.param(
            {"stream_name": "a b"},
            "Test/Bad: stream_name: 'a b' must be 1-128 characters of A-Z, a-z, 0-9, '_', '-' and '.'",
            id="stream-name",
        ),
        pytest.param(
            {"alarms": False, "alarm_topic": "topic"},
            "Test/Bad: alarm_topic: is the action of the stream's alarms; set alarms=True or remove it",
            id="topic-without-alarms",
        ),
        pytest.param(
            {"removal_policy": RemovalPolicy.DESTROY},
            "Test/Bad: disposable_data_reason: is required with removal_policy=DESTROY: they let the "
            "stream's records be lost for good. If the data is disposable, say why in one sentence "
            '(disposable_data_reason="..."); otherwise keep the defaults',
            id="destroy-without-reason",
        ),
        pytest.param(
            {"disposable_data_reason": "Nothing to keep."},
            "Test/Bad: disposable_data_reason: is set, but every protection of the stream's records is on; "
            "remove it",
            id="reason-without-destroy",
        ),
        pytest.param(
            {"iterator_age_threshold": Duration.seconds(30)},
            "Test/Bad: iterator_age_threshold: must be at least 1 minute: a consumer is always a few seconds "
            "behind",
            id="iterator-age-threshold",
        ),
    ],
)
def test_invalid_props_raise(bad: dict[str, Any], props: dict[str, Any], message: str) -> None:
    stack: Stack = bad["stack"]
    if props.get("alarm_topic") == "topic":
        props = {**props, "alarm_topic": sns.Topic.from_topic_arn(stack, "Topic", TOPIC_ARN)}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        DataStream(stack, "Bad", **props)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"batch_size": 10001}, "add_consumer.batch_size: 10001 is outside 1-10000", id="batch-size"
        ),
        pytest.param(
            {"max_batching_window": Duration.minutes(6)},
            "add_consumer.max_batching_window: Lambda waits at most 5 minutes to fill a batch",
            id="window",
        ),
        pytest.param(
            {"retry_attempts": -1},
            "add_consumer.retry_attempts: -1 is outside 0-10000; bounded retries keep a bad record from "
            "blocking its shard",
            id="retries",
        ),
        pytest.param(
            {"max_record_age": Duration.hours(25)},
            "add_consumer.max_record_age: must be between 1 minute and 24 hours (the stream keeps records 24 "
            "hours)",
            id="record-age",
        ),
        pytest.param(
            {"parallelization_factor": 0},
            "add_consumer.parallelization_factor: 0 is outside 1-10",
            id="parallelization",
        ),
    ],
)
def test_invalid_consumer_options_raise(bad: dict[str, Any], options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(f'Test/Stream: {message}')}$"):
        bad["stream"].add_consumer(bad["function"], **options)


def test_record_age_is_capped_at_lambdas_7_days(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError,
        match="^"
        + re.escape("Test/Week: add_consumer.max_record_age: must be between 1 minute and 7 days (Lambda"),
    ):
        bad["week"].add_consumer(bad["function"], max_record_age=Duration.days(8))


def test_at_most_20_fan_out_consumers(bad: dict[str, Any]) -> None:
    stream: DataStream = bad["week"]
    for index in range(20):
        stream.add_consumer(bad["function"], enhanced_fan_out=True, consumer_id=f"Fan{index}")
    with pytest.raises(
        ValueError,
        match="^"
        + re.escape(
            "Test/Week: add_consumer.enhanced_fan_out: the stream already has 20 enhanced fan-out consumers, "
            "Kinesis's limit; read through the shared throughput instead"
        ),
    ):
        stream.add_consumer(bad["function"], enhanced_fan_out=True, consumer_id="Fan20")


def test_every_problem_is_reported_at_once(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError, match=r"^Test/Bad2: 2 invalid props:\n  - shard_count: .*\n  - retention_period: "
    ):
        DataStream(bad["stack"], "Bad2", shard_count=1, retention_period=Duration.hours(1))
