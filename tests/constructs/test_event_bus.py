"""EventBus: a custom bus with an archive, and rules delivering to functions and queues, losing nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib._nag import acknowledge
from constructs_lib.event_bus import EventBus
from constructs_lib.queue_worker import QueueWorker
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import TEST_ENV, cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
RULE = "AWS::Events::Rule"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"
ORDERS = {"source": ["app.orders"], "detail-type": ["OrderPlaced"]}


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    stack = new_stack(app, "Defaults")
    bus = EventBus(stack, "Orders")
    handler = ServerlessFunction(stack, "Handler", entry=ECHO, invoked_asynchronously=True)
    worker = QueueWorker(stack, "Fulfilment", function=ServerlessFunction(stack, "Fulfil", entry=ECHO))
    placed = bus.add_rule("Placed", event_pattern=ORDERS, targets=[handler, worker])
    producer = ServerlessFunction(stack, "Producer", entry=ECHO)
    bus.grant_put_events(producer.function)

    full = new_stack(app, "Full")
    audit = EventBus(
        full,
        "Audit",
        event_bus_name="audit",
        description="Audit events",
        archive_retention=Duration.days(90),
        alarm_topic=sns.Topic.from_topic_arn(full, "Alarms", TOPIC_ARN),
    )
    queue = sqs.Queue(
        full,
        "Inbox",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),  # explicit, as cfn-lint's I3013 asks
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(queue, rule, "Test queue: a plain target of an event rule.")
    large = audit.add_rule(
        "LargeRefunds",
        event_pattern={
            "source": [{"prefix": "app."}],
            "detail": {"amount": [{"numeric": [">", 1000]}], "currency": [{"anything-but": ["XTS"]}]},
        },
        targets=[queue],
        description="Refunds over 1000",
        retry_attempts=4,
        max_event_age=Duration.hours(2),
        enabled=False,
    )
    quiet = new_stack(app, "Quiet")
    EventBus(quiet, "Plain", archive_retention=None, alarms=False).add_rule(
        "All",
        event_pattern={"account": [TEST_ENV.account]},
        targets=[ServerlessFunction(quiet, "Sink", entry=ECHO, invoked_asynchronously=True)],
    )
    return {"templates": synth_templates(app), "bus": bus, "placed": placed, "large": large, "audit": audit}


def _logical_id(template: Template, type_: str, prefix: str) -> str:
    (found,) = [k for k in template.find_resources(type_) if k.startswith(prefix)]
    return found


# Defaults.


def test_archive_keeps_this_accounts_events_14_days(defaults: Template) -> None:
    bus = _logical_id(defaults, "AWS::Events::EventBus", "OrdersBus")
    defaults.has_resource_properties(
        "AWS::Events::Archive",
        {
            "SourceArn": {"Fn::GetAtt": [bus, "Arn"]},
            "EventPattern": {"account": [TEST_ENV.account]},
            "RetentionDays": 14,
        },
    )


def test_rule_matches_the_pattern_on_the_bus(defaults: Template) -> None:
    bus = _logical_id(defaults, "AWS::Events::EventBus", "OrdersBus")
    defaults.has_resource_properties(
        RULE,
        {"EventBusName": {"Ref": bus}, "EventPattern": ORDERS, "State": "ENABLED"},
    )


def test_each_target_retries_then_dead_letters_to_its_own_queue(defaults: Template) -> None:
    rule_id = _logical_id(defaults, RULE, "OrdersPlacedRule")
    (rule,) = [r for k, r in defaults.find_resources(RULE).items() if k == rule_id]
    function_target, queue_target = rule["Properties"]["Targets"]
    for index, target in enumerate((function_target, queue_target)):
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert dlq.startswith(f"OrdersPlacedTarget{index}DeadLetterQueue")
    assert function_target["Arn"]["Fn::GetAtt"][0].startswith("HandlerFunction")
    assert queue_target["Arn"]["Fn::GetAtt"][0].startswith("FulfilmentQueue")


def test_eventbridge_may_invoke_the_function_for_this_rule_only(defaults: Template) -> None:
    rule_id = _logical_id(defaults, RULE, "OrdersPlacedRule")
    defaults.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        },
    )


def test_queue_policies_let_eventbridge_send_for_this_rule_only(defaults: Template) -> None:
    rule_id = _logical_id(defaults, RULE, "OrdersPlacedRule")
    allowed = []
    for policy in defaults.find_resources("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Principal") == {"Service": "events.amazonaws.com"}:
                assert statement["Effect"] == "Allow"
                # CDK's send grant (with the read-only lookups) on the target queue, SendMessage on a DLQ.
                assert statement["Action"] in (
                    "sqs:SendMessage",
                    ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                )
                assert statement["Condition"] == {
                    "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}
                }
                allowed.append(statement["Resource"]["Fn::GetAtt"][0])
    assert sorted(name.rstrip("0123456789ABCDEF") for name in allowed) == sorted(
        ["FulfilmentQueue", "OrdersPlacedTarget0DeadLetterQueue", "OrdersPlacedTarget1DeadLetterQueue"]
    )


def test_every_queue_denies_requests_without_tls(defaults: Template) -> None:
    for policy in defaults.find_resources("AWS::SQS::QueuePolicy").values():
        assert any(
            statement["Effect"] == "Deny"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_put_events_grant_is_scoped_to_the_bus(defaults: Template) -> None:
    bus = _logical_id(defaults, "AWS::Events::EventBus", "OrdersBus")
    defaults.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyName": Match.string_like_regexp("^ProducerServiceRole"),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "events:PutEvents",
                            "Effect": "Allow",
                            "Resource": {"Fn::GetAtt": [bus, "Arn"]},
                        }
                    ]
                )
            },
        },
    )


def test_alarms_on_failed_invocations_and_dead_letters(defaults: Template) -> None:
    defaults.has_resource_properties(
        ALARM,
        {
            "MetricName": "FailedInvocations",
            "Namespace": "AWS/Events",
            "Dimensions": Match.array_with([Match.object_like({"Name": "RuleName"})]),
            "Threshold": 1,
        },
    )
    defaults.has_resource_properties(
        ALARM,
        {"Metrics": Match.array_with([Match.object_like({"Expression": "q0 + q1"})]), "Threshold": 1},
    )


def test_attributes(built: dict[str, Any]) -> None:
    bus: EventBus = built["bus"]
    assert bus.rules == {"Placed": built["placed"]}
    assert len(built["placed"].dead_letter_queues) == 2
    assert bus.archive is not None
    assert built["placed"].failed_invocations_alarm is not None


# Options.


def test_named_bus_longer_archive(full: Template) -> None:
    full.has_resource_properties("AWS::Events::EventBus", {"Name": "audit", "Description": "Audit events"})
    full.has_resource_properties("AWS::Events::Archive", {"RetentionDays": 90})


def test_rule_options_and_content_filters(full: Template) -> None:
    full.has_resource_properties(
        RULE,
        {
            "Description": "Refunds over 1000",
            "State": "DISABLED",
            "EventPattern": {
                "source": [{"prefix": "app."}],
                "detail": {"amount": [{"numeric": [">", 1000]}], "currency": [{"anything-but": ["XTS"]}]},
            },
            "Targets": [
                Match.object_like(
                    {"RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 7200}}
                )
            ],
        },
    )


def test_alarms_notify_the_topic(full: Template) -> None:
    full.resource_properties_count_is(ALARM, {"AlarmActions": [TOPIC_ARN]}, 2)


def test_without_archive_or_alarms(templates: dict[str, dict[str, Any]]) -> None:
    quiet = Template.from_json(templates["Quiet"])
    quiet.resource_count_is("AWS::Events::Archive", 0)
    quiet.resource_count_is(ALARM, 0)


# Gates.


@pytest.mark.parametrize("stack", ["Defaults", "Full", "Quiet"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Defaults"]) == snapshot_json


# Bad input.


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Test")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    return {
        "stack": stack,
        "bus": EventBus(stack, "Bus"),
        "function": ServerlessFunction(stack, "Async", entry=ECHO, invoked_asynchronously=True),
        "sync": ServerlessFunction(stack, "Sync", entry=ECHO),
        "imported": sqs.Queue.from_queue_arn(stack, "Imported", "arn:aws:sqs:us-east-1:111111111111:q"),
        "fifo": sqs.Queue(stack, "Fifo", fifo=True),
        "keyed": sqs.Queue(stack, "Keyed", encryption_master_key=key),
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        pytest.param(
            {"event_bus_name": "default"},
            "Test/Bad: event_bus_name: 'default' must be 1-256 characters of A-Z, a-z, 0-9, '.', '_', '-' "
            "and '/', and not 'default'",
            id="bus-name",
        ),
        pytest.param(
            {"archive_retention": Duration.hours(12)},
            "Test/Bad: archive_retention: must be whole days, at least 1; pass None for no archive",
            id="archive-retention",
        ),
        pytest.param(
            {"alarms": False, "alarm_topic": "topic"},
            "Test/Bad: alarm_topic: is the action of the bus's alarms; set alarms=True or remove it",
            id="topic-without-alarms",
        ),
    ],
)
def test_invalid_props_raise(bad: dict[str, Any], props: dict[str, Any], message: str) -> None:
    stack: Stack = bad["stack"]
    if props.get("alarm_topic") == "topic":
        props = {**props, "alarm_topic": sns.Topic.from_topic_arn(stack, "Topic", TOPIC_ARN)}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        EventBus(stack, "Bad", **props)


RULE_PATH = "Test/Bus/add_rule(Bad)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"event_pattern": {"source": "app.orders"}},
            "event_pattern: source must be an array of values or an object, not "
            '"app.orders": use ["app.orders"]',
            id="pattern-value",
        ),
        pytest.param(
            {"event_pattern": {"detail": {"amount": [{"numerik": [">", 1]}]}}},
            "event_pattern: detail.amount[0] uses unknown operator 'numerik': did you mean 'numeric'? "
            "operators are prefix, suffix, equals-ignore-case, anything-but, numeric, exists, cidr, wildcard",
            id="pattern-operator",
        ),
        pytest.param(
            {"event_pattern": {"orderId": ["1"]}},
            "event_pattern: 'orderId' is not a top-level field of an EventBridge event (source, detail-type, "
            "detail, account, region, resources, time, id, version); match your own fields under 'detail'",
            id="pattern-field",
        ),
        pytest.param(
            {"targets": []},
            "targets: a rule needs 1-5 targets (EventBridge's limit), not 0",
            id="no-targets",
        ),
        pytest.param(
            {"targets": ["sync"]},
            "targets[0]: EventBridge invokes Test/Sync asynchronously; create the ServerlessFunction with "
            "invoked_asynchronously=True so an event it fails lands in its dead-letter queue",
            id="synchronous-function",
        ),
        pytest.param(
            {"targets": ["imported"]},
            "targets[0]: an imported queue's policy cannot be changed here, so EventBridge could not send to "
            "it; pass a queue created in this app",
            id="imported-queue",
        ),
        pytest.param(
            {"targets": ["fifo"]},
            "targets[0]: a FIFO queue needs a message group id per event; route events to a standard queue",
            id="fifo-queue",
        ),
        pytest.param(
            {"targets": ["keyed"]},
            "targets[0]: the queue is encrypted with a customer-managed KMS key, whose key policy would have "
            "to let EventBridge use it; use SQS-managed encryption (QueueWorker's default)",
            id="customer-key-queue",
        ),
        pytest.param(
            {"retry_attempts": 200},
            "retry_attempts: 200 is outside 0-185, EventBridge's limits",
            id="retries",
        ),
        pytest.param(
            {"max_event_age": Duration.hours(25)},
            "max_event_age: must be between 1 minute and 24 hours, EventBridge's limits",
            id="event-age",
        ),
    ],
)
def test_invalid_rules_raise(bad: dict[str, Any], options: dict[str, Any], message: str) -> None:
    options = {"event_pattern": ORDERS, "targets": [bad["function"]], **options}
    options["targets"] = [bad[t] if isinstance(t, str) else t for t in options["targets"]]
    with pytest.raises(ValueError, match=f"^{re.escape(f'{RULE_PATH}: {message}')}$"):
        bad["bus"].add_rule("Bad", **options)


def test_rule_ids_are_unique(bad: dict[str, Any]) -> None:
    bad["bus"].add_rule("Once", event_pattern=ORDERS, targets=[bad["function"]])
    with pytest.raises(
        ValueError,
        match="^"
        + re.escape(
            "Test/Bus/add_rule(Once): rule_id: 'Once' must be a unique construct id of letters and digits, "
            "starting with a letter"
        ),
    ):
        bad["bus"].add_rule("Once", event_pattern=ORDERS, targets=[bad["function"]])
