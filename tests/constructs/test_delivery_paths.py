"""Every service that must deliver is allowed to by the policies the library writes.

A resource policy written through CloudFormation replaces the service's default one, so a topic,
queue, bucket or key whose policy forgets a delivering service silently drops everything it
should receive. Each test names one delivery path (service principal, action, resource and the
request context the service sends) and evaluates it against the synthesized policies: some Allow
statement must match and no Deny may. A look-alike request from another account or source must
stay denied, so the conditions are checked too, not just the principal.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sqs as sqs

from constructs_lib._nag import acknowledge
from constructs_lib.alarm_topic import AlarmTopic
from constructs_lib.composite_key_table import CompositeKeyTable
from constructs_lib.event_bus import EventBus
from constructs_lib.image_store import ImageStore
from constructs_lib.scheduled_job import ScheduledJob
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import TEST_ENV, new_app, new_stack, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
ACCOUNT = str(TEST_ENV.account)
REGION = str(TEST_ENV.region)
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:Delivery-ImagesThrottled"
OTHER_ACCOUNT = "222222222222"


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    app = new_app()
    stack = new_stack(app, "Delivery")
    alarms = AlarmTopic(stack, "Alarms", email_addresses=["oncall@example.com"])
    CompositeKeyTable(
        stack,
        "Images",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
        alarms=True,
        alarm_topic=alarms.topic,
    )
    store = ImageStore(stack, "Store", separate_thumbnail_bucket=True)
    api = ServerlessFunction(stack, "Api", entry=ECHO)
    store.grant_presign(api.function)
    processor = ServerlessFunction(stack, "Processor", entry=ECHO, invoked_asynchronously=True)
    store.add_upload_subscriber(processor.function)
    dead_letters = sqs.Queue(stack, "IndexingDlq", enforce_ssl=True)
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(dead_letters, rule, "The test queue's dead-letter queue; a DLQ has no DLQ.")
    indexing = sqs.Queue(
        stack,
        "Indexing",
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=3),
    )
    store.add_upload_subscriber(indexing)
    bus = EventBus(stack, "Orders", alarm_topic=alarms.topic)
    bus.add_rule("Placed", event_pattern={"source": ["app.orders"]}, targets=[processor])
    ScheduledJob(
        stack,
        "Nightly",
        function=ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True),
        schedule="cron(0 3 * * ? *)",
        alarm_topic=alarms.topic,
    )
    resources: dict[str, dict[str, Any]] = synth_templates(app)["Delivery"]["Resources"]
    return resources


# --- a small evaluator for the statements CDK writes ------------------------------------------


def _ids(resources: dict[str, Any], type_: str, prefix: str) -> list[str]:
    found = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == type_ and logical_id.startswith(prefix)
    ]
    assert found, f"no {type_} whose logical id starts with {prefix}"
    return found


def _one(resources: dict[str, Any], type_: str, prefix: str) -> str:
    (found,) = _ids(resources, type_, prefix)
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(statement: dict[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
        return True
    return isinstance(principal, dict) and service in _as_list(principal.get("Service", []))


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    return any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(statement["Action"])
    )


def _resource_matches(statement: dict[str, Any], resource: Any) -> bool:
    if "Resource" not in statement:
        return True  # a trust policy: the resource is the role itself
    for candidate in _as_list(statement["Resource"]):
        if candidate in ("*", resource):
            return True
        if (
            isinstance(candidate, str)
            and isinstance(resource, str)
            and fnmatch.fnmatchcase(resource, candidate)
        ):
            return True
    return False


def _value_matches(operator: str, expected: Any, actual: Any) -> bool:
    if actual is None:
        return False
    if operator in ("ArnLike", "StringLike") and isinstance(expected, str) and isinstance(actual, str):
        return fnmatch.fnmatchcase(actual, expected)
    if operator == "NumericLessThan":
        return float(actual) < float(expected)
    if operator == "Bool":
        return str(actual).lower() == str(expected).lower()
    return bool(expected == actual)  # StringEquals, ArnEquals, and unresolved references compared as written


def _conditions_hold(statement: dict[str, Any], context: dict[str, Any]) -> bool:
    for operator, pairs in statement.get("Condition", {}).items():
        for key, expected in pairs.items():
            if not any(_value_matches(operator, value, context.get(key)) for value in _as_list(expected)):
                return False
    return True


def allowed(
    document: dict[str, Any], *, service: str, action: str, resource: Any, context: dict[str, Any]
) -> bool:
    """True when an Allow statement of `document` matches the request and no Deny does."""
    request_context = {"aws:SecureTransport": "true", "s3:TlsVersion": 1.3, **context}
    matching = [
        statement
        for statement in document["Statement"]
        if _principal_matches(statement, service)
        and _action_matches(statement, action)
        and _resource_matches(statement, resource)
        and _conditions_hold(statement, request_context)
    ]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


def _topic_policy(resources: dict[str, Any], topic_id: str) -> dict[str, Any]:
    for resource in resources.values():
        if (
            resource["Type"] == "AWS::SNS::TopicPolicy"
            and {"Ref": topic_id} in resource["Properties"]["Topics"]
        ):
            document: dict[str, Any] = resource["Properties"]["PolicyDocument"]
            return document
    raise AssertionError(f"no topic policy for {topic_id}")


def _queue_policy(resources: dict[str, Any], queue_id: str) -> dict[str, Any]:
    for resource in resources.values():
        if (
            resource["Type"] == "AWS::SQS::QueuePolicy"
            and {"Ref": queue_id} in resource["Properties"]["Queues"]
        ):
            document: dict[str, Any] = resource["Properties"]["PolicyDocument"]
            return document
    raise AssertionError(f"no queue policy for {queue_id}")


def _bucket_policy(resources: dict[str, Any], bucket_id: str) -> dict[str, Any]:
    for resource in resources.values():
        if resource["Type"] == "AWS::S3::BucketPolicy" and resource["Properties"]["Bucket"] == {
            "Ref": bucket_id
        }:
            document: dict[str, Any] = resource["Properties"]["PolicyDocument"]
            return document
    raise AssertionError(f"no bucket policy for {bucket_id}")


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


# --- CloudWatch alarms -> the alarm topic ------------------------------------------------------


def test_cloudwatch_alarms_of_this_account_may_publish_to_the_alarm_topic(
    resources: dict[str, Any],
) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "AlarmsTopic")
    policy = _topic_policy(resources, topic)
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ALARM_ARN}
    request: dict[str, Any] = {
        "service": "cloudwatch.amazonaws.com",
        "action": "sns:Publish",
        "resource": {"Ref": topic},
    }
    assert allowed(policy, **request, context=context)
    assert not allowed(policy, **request, context={**context, "aws:SourceAccount": OTHER_ACCOUNT})
    assert not allowed(
        policy, **request, context={**context, "aws:SourceArn": ALARM_ARN.replace(ACCOUNT, OTHER_ACCOUNT)}
    )
    assert not allowed(policy, **request, context={**context, "aws:SecureTransport": "false"})


def test_the_table_alarms_notify_the_alarm_topic(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "AlarmsTopic")
    alarm_ids = _ids(resources, "AWS::CloudWatch::Alarm", "Images")
    for alarm_id in alarm_ids:
        assert resources[alarm_id]["Properties"]["AlarmActions"] == [{"Ref": topic}], alarm_id


def test_cloudwatch_may_encrypt_with_the_alarm_topic_key(resources: dict[str, Any]) -> None:
    key = _one(resources, "AWS::KMS::Key", "AlarmsKey")
    policy = resources[key]["Properties"]["KeyPolicy"]
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert allowed(
            policy,
            service="cloudwatch.amazonaws.com",
            action=action,
            resource="*",
            context={"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ALARM_ARN},
        ), action


def test_sns_may_dead_letter_undeliverable_alarm_emails(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "AlarmsTopic")
    queue = _one(resources, "AWS::SQS::Queue", "AlarmsUndeliveredQueue")
    policy = _queue_policy(resources, queue)
    request: dict[str, Any] = {
        "service": "sns.amazonaws.com",
        "action": "sqs:SendMessage",
        "resource": _arn(queue),
    }
    assert allowed(policy, **request, context={"aws:SourceArn": {"Ref": topic}})
    assert not allowed(policy, **request, context={"aws:SourceArn": "arn:aws:sns:us-east-1:2:other"})


# --- S3 -> the upload-events topic and its key ----------------------------------------------


def test_the_images_bucket_may_publish_upload_events(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "StoreUploadEvents")
    bucket = _one(resources, "AWS::S3::Bucket", "StoreBucket")
    policy = _topic_policy(resources, topic)
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": _arn(bucket)}
    request: dict[str, Any] = {
        "service": "s3.amazonaws.com",
        "action": "sns:Publish",
        "resource": {"Ref": topic},
    }
    assert allowed(policy, **request, context=context)
    assert not allowed(policy, **request, context={**context, "aws:SourceArn": "arn:aws:s3:::elsewhere"})
    assert not allowed(policy, **request, context={**context, "aws:SourceAccount": OTHER_ACCOUNT})


def test_the_images_bucket_may_encrypt_upload_events(resources: dict[str, Any]) -> None:
    key = _one(resources, "AWS::KMS::Key", "StoreTopicKey")
    bucket = _one(resources, "AWS::S3::Bucket", "StoreBucket")
    policy = resources[key]["Properties"]["KeyPolicy"]
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": _arn(bucket)}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        request = {"service": "s3.amazonaws.com", "action": action, "resource": "*"}
        assert allowed(policy, **request, context=context), action
        assert not allowed(policy, **request, context={**context, "aws:SourceArn": "arn:aws:s3:::elsewhere"})


def test_the_bucket_notification_points_at_the_topic(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "StoreUploadEvents")
    (notifications,) = (r for r in resources.values() if r["Type"] == "Custom::S3BucketNotifications")
    configurations = notifications["Properties"]["NotificationConfiguration"]["TopicConfigurations"]
    assert [c["TopicArn"] for c in configurations] == [{"Ref": topic}]


# --- S3 server access logs -> the log bucket --------------------------------------------------


@pytest.mark.parametrize(
    ("bucket_prefix", "log_prefix"), [("StoreBucket", "images/"), ("StoreThumbnailBucket", "thumbnails/")]
)
def test_s3_logging_may_deliver_access_logs(
    resources: dict[str, Any], bucket_prefix: str, log_prefix: str
) -> None:
    log_bucket = _one(resources, "AWS::S3::Bucket", "StoreAccessLogs")
    source = _one(resources, "AWS::S3::Bucket", bucket_prefix)
    assert resources[source]["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_bucket},
        "LogFilePrefix": log_prefix,
    }
    policy = _bucket_policy(resources, log_bucket)
    objects = {"Fn::Join": ["", [_arn(log_bucket), f"/{log_prefix}*"]]}
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": _arn(source)}
    request: dict[str, Any] = {
        "service": "logging.s3.amazonaws.com",
        "action": "s3:PutObject",
        "resource": objects,
    }
    assert allowed(policy, **request, context=context)
    assert not allowed(policy, **request, context={**context, "aws:SourceAccount": OTHER_ACCOUNT})


# --- SNS -> subscribers and their dead-letter queues --------------------------------------------


def test_sns_may_invoke_the_function_subscriber(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "StoreUploadEvents")
    function = _one(resources, "AWS::Lambda::Function", "ProcessorFunction")
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == _arn(function)
    ]
    assert {"Action": "lambda:InvokeFunction", "FunctionName": _arn(function),
            "Principal": "sns.amazonaws.com", "SourceArn": {"Ref": topic}} in permissions  # fmt: skip


def test_sns_may_send_to_the_queue_subscriber(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "StoreUploadEvents")
    (queue,) = (q for q in _ids(resources, "AWS::SQS::Queue", "Indexing") if not q.startswith("IndexingDlq"))
    policy = _queue_policy(resources, queue)
    request: dict[str, Any] = {
        "service": "sns.amazonaws.com",
        "action": "sqs:SendMessage",
        "resource": _arn(queue),
    }
    assert allowed(policy, **request, context={"aws:SourceArn": {"Ref": topic}})
    assert not allowed(policy, **request, context={"aws:SourceArn": "arn:aws:sns:us-east-1:2:other"})


def test_sns_may_dead_letter_every_upload_subscription(resources: dict[str, Any]) -> None:
    topic = _one(resources, "AWS::SNS::Topic", "StoreUploadEvents")
    subscriptions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription" and r["Properties"]["TopicArn"] == {"Ref": topic}
    ]
    assert len(subscriptions) == 2
    for subscription in subscriptions:
        queue = subscription["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        policy = _queue_policy(resources, queue)
        assert allowed(
            policy,
            service="sns.amazonaws.com",
            action="sqs:SendMessage",
            resource=_arn(queue),
            context={"aws:SourceArn": {"Ref": topic}},
        ), queue


# --- Lambda -> on-failure destinations (sent with the function's own role) ----------------------


def _role_allows(resources: dict[str, Any], role_id: str, action: str, resource: Any) -> bool:
    for policy in resources.values():
        if policy["Type"] != "AWS::IAM::Policy" or {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Allow"
                and _action_matches(statement, action)
                and _resource_matches(statement, resource)
            ):
                return True
    return False


def test_lambda_may_send_failed_async_events_to_the_dead_letter_queue(resources: dict[str, Any]) -> None:
    function = _one(resources, "AWS::Lambda::Function", "ProcessorFunction")
    (config,) = (
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["FunctionName"] == {"Ref": function}
    )
    queue = config["DestinationConfig"]["OnFailure"]["Destination"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert _role_allows(resources, role, "sqs:SendMessage", queue)


def test_lambda_may_send_failed_stream_batches_to_the_on_failure_queue(resources: dict[str, Any]) -> None:
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    for mapping in mappings:
        queue = mapping["DestinationConfig"]["OnFailure"]["Destination"]
        function = mapping["FunctionName"]["Ref"]
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert _role_allows(resources, role, "sqs:SendMessage", queue), function


def test_the_evaluator_denies_what_no_statement_allows() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sns:Publish",
             "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
            {"Effect": "Deny", "Principal": "*", "Action": "sns:*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ]
    }  # fmt: skip
    request: dict[str, Any] = {"action": "sns:Publish", "resource": "arn:aws:sns:us-east-1:1:t"}
    assert allowed(document, service="s3.amazonaws.com", **request, context={"aws:SourceAccount": ACCOUNT})
    assert not allowed(document, service="cloudwatch.amazonaws.com", **request, context={})
    assert not allowed(document, service="s3.amazonaws.com", **request, context={})
    assert not allowed(
        document,
        service="s3.amazonaws.com",
        **request,
        context={"aws:SourceAccount": ACCOUNT, "aws:SecureTransport": "false"},
    )


# --- EventBridge -> rule targets and their dead-letter queues ----------------------------------


def test_eventbridge_may_invoke_the_rule_target(resources: dict[str, Any]) -> None:
    rule = _one(resources, "AWS::Events::Rule", "OrdersPlaced")
    function = _one(resources, "AWS::Lambda::Function", "ProcessorFunction")
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert any(
        p["FunctionName"] == _arn(function)
        and p["SourceArn"] == _arn(rule)
        and p["Action"] == "lambda:InvokeFunction"
        for p in permissions
    ), permissions


def test_eventbridge_may_dead_letter_what_the_rule_cannot_deliver(resources: dict[str, Any]) -> None:
    rule = _one(resources, "AWS::Events::Rule", "OrdersPlaced")
    (target,) = resources[rule]["Properties"]["Targets"]
    queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    policy = _queue_policy(resources, queue)
    request: dict[str, Any] = {
        "service": "events.amazonaws.com",
        "action": "sqs:SendMessage",
        "resource": _arn(queue),
    }
    assert allowed(policy, **request, context={"aws:SourceArn": _arn(rule)})
    assert not allowed(policy, **request, context={"aws:SourceArn": "arn:aws:events:us-east-1:2:rule/x"})


# --- EventBridge Scheduler -> the job's function and its dead-letter queue (with the schedule's role) ---


def test_scheduler_may_assume_its_role_and_deliver(resources: dict[str, Any]) -> None:
    (schedule_id,) = [name for name, r in resources.items() if r["Type"] == "AWS::Scheduler::Schedule"]
    schedule = resources[schedule_id]["Properties"]
    role = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = resources[role]["Properties"]["AssumeRolePolicyDocument"]
    request: dict[str, Any] = {
        "service": "scheduler.amazonaws.com",
        "action": "sts:AssumeRole",
        "resource": "*",
    }
    group = _one(resources, "AWS::Scheduler::ScheduleGroup", "Nightly")  # Scheduler's aws:SourceArn
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": _arn(group)}
    assert allowed(trust, **request, context=context)
    assert not allowed(
        trust, **request, context={**context, "aws:SourceArn": "arn:aws:scheduler:::schedule/x"}
    )
    assert _role_allows(resources, role, "lambda:InvokeFunction", schedule["Target"]["Arn"])
    assert _role_allows(resources, role, "sqs:SendMessage", schedule["Target"]["DeadLetterConfig"]["Arn"])
