"""QueueWorker: an encrypted SQS queue, its dead-letter queue, a lossless Lambda consumer and alarms."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.queue_worker import QueueWorker
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import TEST_ENV, cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
QUEUE = "AWS::SQS::Queue"
MAPPING = "AWS::Lambda::EventSourceMapping"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    defaults_stack = new_stack(app, "Defaults")
    worker = QueueWorker(
        defaults_stack, "Jobs", function=ServerlessFunction(defaults_stack, "Worker", entry=ECHO)
    )
    producer = ServerlessFunction(defaults_stack, "Producer", entry=ECHO)
    worker.grant_send_messages(producer.function)

    full = new_stack(app, "Full")
    key = kms.Key(full, "QueueKey", enable_key_rotation=True)
    topic = sns.Topic.from_topic_arn(full, "Alarms", TOPIC_ARN)
    slow = ServerlessFunction(full, "Slow", entry=ECHO, timeout=Duration.seconds(30))
    windowed = QueueWorker(
        full,
        "Windowed",
        function=slow,
        batch_size=500,
        max_batching_window=Duration.seconds(20),
        max_concurrency=5,
        visibility_timeout=Duration.minutes(10),
        retention_period=Duration.days(7),
        max_receive_count=3,
        queue_name="windowed-jobs",
        encryption_key=key,
        removal_policy=RemovalPolicy.DESTROY,
        disposable_data_reason="Test jobs: replayed from their source on a new stack.",
        alarm_topic=topic,
        oldest_message_age_threshold=Duration.minutes(5),
    )
    sender = ServerlessFunction(full, "Sender", entry=ECHO)
    windowed.grant_send_messages(sender.function)
    ordered = QueueWorker(
        full,
        "Ordered",
        function=ServerlessFunction(full, "InOrder", entry=ECHO),
        fifo=True,
        content_based_deduplication=True,
        alarms=False,
    )
    return {"templates": synth_templates(app), "worker": worker, "windowed": windowed, "ordered": ordered}


def _queue(template: Template, path_part: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, dict(resource))
        for logical_id, resource in template.find_resources(QUEUE).items()
        if logical_id.startswith(path_part)
    ]
    return found


# Defaults.


def test_work_queue_is_encrypted_kept_4_days_and_retained(defaults: Template) -> None:
    _, queue = _queue(defaults, "JobsQueue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert queue["DeletionPolicy"] == "Retain"


def test_visibility_timeout_is_six_function_timeouts(defaults: Template) -> None:
    _, queue = _queue(defaults, "JobsQueue")
    assert queue["Properties"]["VisibilityTimeout"] == 60  # ServerlessFunction's 10 s timeout x 6


def test_dead_letter_after_five_receives_kept_longer(defaults: Template) -> None:
    dlq_id, dlq = _queue(defaults, "JobsDeadLetterQueue")
    _, queue = _queue(defaults, "JobsQueue")
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["Properties"]["MessageRetentionPeriod"] > queue["Properties"]["MessageRetentionPeriod"]
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True


def test_only_the_work_queue_may_redrive_into_the_dead_letter_queue(defaults: Template) -> None:
    _, dlq = _queue(defaults, "JobsDeadLetterQueue")
    _, queue = _queue(defaults, "JobsQueue")
    name = queue["Properties"]["QueueName"]
    assert dlq["Properties"]["RedriveAllowPolicy"] == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [f"arn:aws:sqs:{TEST_ENV.region}:{TEST_ENV.account}:{name}"],
    }


def test_both_queues_deny_requests_without_tls(defaults: Template) -> None:
    policies = defaults.find_resources("AWS::SQS::QueuePolicy")
    assert len(policies) == 2
    for policy in policies.values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_mapping_reports_partial_batch_failures(defaults: Template) -> None:
    defaults.has_resource_properties(
        MAPPING,
        {
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^JobsQueue"), "Arn"]},
        },
    )
    (mapping,) = defaults.find_resources(MAPPING).values()
    assert "MaximumBatchingWindowInSeconds" not in mapping["Properties"]
    assert "ScalingConfig" not in mapping["Properties"]


def test_alarms_on_oldest_message_and_dead_letters(defaults: Template) -> None:
    defaults.has_resource_properties(
        ALARM,
        {
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Statistic": "Maximum",
            "Threshold": 900,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )
    defaults.has_resource_properties(
        ALARM,
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {
                    "Name": "QueueName",
                    "Value": {"Fn::GetAtt": [Match.string_like_regexp("^JobsDeadLetter"), "QueueName"]},
                }
            ],
            "Threshold": 1,
        },
    )
    for alarm in defaults.find_resources(ALARM).values():
        assert "AlarmActions" not in alarm["Properties"]  # no topic given


def test_send_grant_is_scoped_to_the_work_queue(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("^ProducerServiceRole"),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                            "Effect": "Allow",
                            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("^JobsQueue"), "Arn"]},
                        }
                    ]
                )
            },
        },
    )


def test_attributes(built: dict[str, Any]) -> None:
    worker: QueueWorker = built["worker"]
    assert worker.visibility_timeout.to_seconds() == 60
    assert worker.oldest_message_alarm is not None
    assert worker.dead_letter_alarm is not None
    assert worker.queue_arn == worker.queue.queue_arn
    assert built["ordered"].oldest_message_alarm is None


# Options.


def test_options_reach_the_mapping(full: Template) -> None:
    full.has_resource_properties(
        MAPPING,
        {
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 20,
            "ScalingConfig": {"MaximumConcurrency": 5},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_customer_key_encrypts_both_queues(full: Template) -> None:
    for part in ("WindowedQueue", "WindowedDeadLetterQueue"):
        _, queue = _queue(full, part)
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [_key_id(full), "Arn"]}
        assert queue["DeletionPolicy"] == "Delete"
        assert queue["Metadata"]["constructs_lib:disposableDataReason"] == (
            "Test jobs: replayed from their source on a new stack."
        )


def _key_id(template: Template) -> str:
    (logical_id,) = template.find_resources("AWS::KMS::Key")
    return logical_id


def test_named_queue_retention_visibility_and_receive_count(full: Template) -> None:
    _, queue = _queue(full, "WindowedQueue")
    assert queue["Properties"]["QueueName"] == "windowed-jobs"
    assert queue["Properties"]["MessageRetentionPeriod"] == 7 * 24 * 3600
    assert queue["Properties"]["VisibilityTimeout"] == 600
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3


def test_alarms_notify_the_topic(full: Template) -> None:
    full.resource_properties_count_is(ALARM, {"AlarmActions": [TOPIC_ARN]}, 2)
    full.has_resource_properties(ALARM, {"MetricName": "ApproximateAgeOfOldestMessage", "Threshold": 300})


def test_fifo_queues_deduplicate_and_dead_letter_to_a_fifo_queue(full: Template) -> None:
    _, queue = _queue(full, "OrderedQueue")
    _, dlq = _queue(full, "OrderedDeadLetterQueue")
    assert queue["Properties"]["FifoQueue"] is True
    assert queue["Properties"]["ContentBasedDeduplication"] is True
    assert queue["Properties"]["QueueName"].endswith(".fifo")
    assert dlq["Properties"]["FifoQueue"] is True


def test_without_alarms_there_are_none_for_the_fifo_worker(full: Template) -> None:
    assert len(full.find_resources(ALARM)) == 2  # the windowed worker's only


# Gates.


@pytest.mark.parametrize("stack", ["Defaults", "Full"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Full"]) == snapshot_json


# Bad input: one ValueError naming the construct path, every problem, each with its fix.


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Test")
    return {"stack": stack, "function": ServerlessFunction(stack, "Worker", entry=ECHO)}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        pytest.param({"batch_size": 0}, "Test/Bad: batch_size: 0 is outside 1-10000", id="batch-size"),
        pytest.param(
            {"batch_size": 50},
            "Test/Bad: batch_size: 50 is above 10, which needs a max_batching_window of at least 1 second; "
            "set one or take batches of 10",
            id="batch-without-window",
        ),
        pytest.param(
            {"fifo": True, "batch_size": 20},
            "Test/Bad: batch_size: 20 is outside 1-10, Lambda's limit for FIFO queues",
            id="fifo-batch-size",
        ),
        pytest.param(
            {"fifo": True, "max_batching_window": Duration.seconds(1)},
            "Test/Bad: max_batching_window: FIFO queues take no batching window; remove it",
            id="fifo-window",
        ),
        pytest.param(
            {"max_batching_window": Duration.minutes(6)},
            "Test/Bad: max_batching_window: Lambda waits at most 5 minutes to fill a batch",
            id="window",
        ),
        pytest.param(
            {"max_concurrency": 1},
            "Test/Bad: max_concurrency: 1 is outside 2-1000; leave it unset for no limit",
            id="max-concurrency",
        ),
        pytest.param(
            {"visibility_timeout": Duration.seconds(30)},
            "Test/Bad: visibility_timeout: 30 s is shorter than 6 x the function's 10 s timeout plus the "
            "batching window (60 s): a message would reappear while it is still being processed; raise it "
            "or leave it unset",
            id="visibility-too-short",
        ),
        pytest.param(
            {"visibility_timeout": Duration.hours(13)},
            "Test/Bad: visibility_timeout: 46800 s exceeds SQS's 12 hours; shorten the function's timeout",
            id="visibility-too-long",
        ),
        pytest.param(
            {"queue_name": "jobs!"},
            "Test/Bad: queue_name: 'jobs!' must be 1-80 characters of A-Z, a-z, 0-9, '-' and '_' (a FIFO "
            "queue's included, with its '.fifo' suffix)",
            id="queue-name",
        ),
        pytest.param(
            {"queue_name": "jobs", "fifo": True},
            "Test/Bad: queue_name: 'jobs' must end in '.fifo' for a FIFO queue; add the suffix",
            id="fifo-name",
        ),
        pytest.param(
            {"queue_name": "jobs.fifo"},
            "Test/Bad: queue_name: 'jobs.fifo' ends in '.fifo', which only a FIFO queue's name may; set "
            "fifo=True or rename it",
            id="standard-name-with-fifo-suffix",
        ),
        pytest.param(
            {"content_based_deduplication": True},
            "Test/Bad: content_based_deduplication: applies only to FIFO queues; set fifo=True or remove it",
            id="deduplication",
        ),
        pytest.param(
            {"retention_period": Duration.days(14)},
            "Test/Bad: retention_period: must be at least 1 minute and shorter than the dead-letter queue's "
            "14 days: a dead-lettered message keeps the time it was first sent, so it must outlive its "
            "retention here",
            id="retention",
        ),
        pytest.param(
            {"max_receive_count": 0},
            "Test/Bad: max_receive_count: 0 is outside 1-1000",
            id="max-receive-count",
        ),
        pytest.param(
            {"alarms": False, "alarm_topic": "topic"},
            "Test/Bad: alarm_topic: is the action of the worker's alarms; set alarms=True or remove it",
            id="topic-without-alarms",
        ),
        pytest.param(
            {"removal_policy": RemovalPolicy.DESTROY},
            "Test/Bad: disposable_data_reason: is required with removal_policy=DESTROY: they let the queued "
            "messages be lost for good. If the data is disposable, say why in one sentence "
            '(disposable_data_reason="..."); otherwise keep the defaults',
            id="destroy-without-reason",
        ),
        pytest.param(
            {"disposable_data_reason": "Nothing to keep."},
            "Test/Bad: disposable_data_reason: is set, but every protection of the queued messages is on; "
            "remove it",
            id="reason-without-destroy",
        ),
        pytest.param(
            {"oldest_message_age_threshold": Duration.days(5)},
            "Test/Bad: oldest_message_age_threshold: must be at least 1 minute and shorter than "
            "retention_period, or messages expire unnoticed",
            id="age-threshold",
        ),
    ],
)
def test_invalid_props_raise(bad: dict[str, Any], props: dict[str, Any], message: str) -> None:
    stack: Stack = bad["stack"]
    if props.get("alarm_topic") == "topic":
        props = {**props, "alarm_topic": sns.Topic.from_topic_arn(stack, "Topic", TOPIC_ARN)}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        QueueWorker(stack, "Bad", function=bad["function"], **props)


def test_every_problem_is_reported_at_once(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError,
        match=r"^Test/Bad: 3 invalid props:\n  - batch_size: 0 .*\n  - content_based_deduplication: .*\n"
        r"  - max_receive_count: 0 .*$",
    ):
        QueueWorker(
            bad["stack"],
            "Bad",
            function=bad["function"],
            batch_size=0,
            content_based_deduplication=True,
            max_receive_count=0,
        )
