"""EventBridge rules under the event router: PutEvents from a handler reaches the matching rules'
targets (with their input), not the others; failed deliveries go to the target's dead-letter queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from constructs_lib.local._service import DeliveryRequest
from constructs_lib.local.events import EventRouter
from constructs_lib.local.events.input_transform import TargetInput, fill, select
from tests.local.test_event_sources import (
    ACCOUNT,
    REGION,
    Aws,
    FakeInvoker,
    FakeTemplate,
    Resources,
    function_arn,
    running,
)
from tests.local.test_schedules import FakeClock

IDLE = 10.0
BUS = "images"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{BUS}/Uploaded"


def rule(pattern: dict[str, Any], *targets: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventBusName": {"Ref": "Bus"},
            "EventPattern": pattern,
            "State": "ENABLED",
            "Targets": list(targets),
            **properties,
        },
    }


def put(aws: Aws, detail_type: str, detail: dict[str, Any], source: str = "app.images") -> str:
    events = boto3.client("events", endpoint_url=aws.url, region_name=REGION)
    response = events.put_events(
        Entries=[
            {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": BUS}
        ]
    )
    assert response["FailedEntryCount"] == 0
    event_id: str = response["Entries"][0]["EventId"]
    return event_id


def test_put_events_reach_the_matching_rules_targets_only(aws: Aws) -> None:
    boto3.client("events", endpoint_url=aws.url, region_name=REGION).create_event_bus(Name=BUS)
    queue_url, queue_arn = aws.queue("uploads")
    resources: Resources = {
        "Uploaded": rule(
            {
                "source": ["app.images"],
                "detail-type": ["Image Uploaded"],
                "detail": {"size": [{"numeric": [">", 0]}]},
            },
            {"Id": "Thumbnail", "Arn": {"Fn::GetAtt": ["Thumbnail", "Arn"]}},
            {
                "Id": "Audit",
                "Arn": {"Fn::GetAtt": ["Audit", "Arn"]},
                "InputTransformer": {
                    "InputPathsMap": {"key": "$.detail.key", "size": "$.detail.size"},
                    "InputTemplate": '{"object": "<key>", "bytes": <size>, "rule": "<aws.events.rule-name>"}',
                },
            },
            {"Id": "Queue", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}, "InputPath": "$.detail"},
        ),
        "Deleted": rule(
            {"source": ["app.images"], "detail-type": ["Image Deleted"]},
            {"Id": "Cleanup", "Arn": {"Fn::GetAtt": ["Cleanup", "Arn"]}},
        ),
    }
    values = {
        "Bus": BUS,
        "Uploaded": f"{BUS}|Uploaded",
        "Uploaded.Arn": RULE_ARN,
        "Deleted": f"{BUS}|Deleted",
        "Deleted.Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{BUS}/Deleted",
        "Thumbnail.Arn": function_arn("Thumbnail"),
        "Audit.Arn": function_arn("Audit"),
        "Cleanup.Arn": function_arn("Cleanup"),
        "Queue.Arn": queue_arn,
    }
    invoker = FakeInvoker()
    with running(aws, resources, values, invoker) as router:
        event_id = put(aws, "Image Uploaded", {"key": "uploads/cat.png", "size": 2048})
        put(aws, "Image Uploaded", {"key": "uploads/empty.png", "size": 0})  # matches no rule
        put(aws, "Something Else", {"key": "x"})
        assert router.wait_idle(IDLE)
        lines = router.describe()

    [event] = invoker.events("Thumbnail")
    assert event["id"] == event_id
    assert {key: event[key] for key in ("source", "detail-type", "detail", "account", "region")} == {
        "source": "app.images",
        "detail-type": "Image Uploaded",
        "detail": {"key": "uploads/cat.png", "size": 2048},
        "account": ACCOUNT,
        "region": REGION,
    }
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert invoker.events("Audit") == [{"object": "uploads/cat.png", "bytes": 2048, "rule": "Uploaded"}]
    assert invoker.events("Cleanup") == []
    [message] = aws.messages(queue_url)
    assert json.loads(message["Body"]) == {"key": "uploads/cat.png", "size": 2048}
    assert lines[0].startswith(
        f"rule {BUS}/Uploaded -> lambda Thumbnail (185 retries (capped at 10 locally), max age 86400 s), "
        "lambda Audit"
    )


def test_refused_deliveries_go_to_the_targets_dead_letter_queue(aws: Aws) -> None:
    boto3.client("events", endpoint_url=aws.url, region_name=REGION).create_event_bus(Name=BUS)
    dlq_url, dlq_arn = aws.queue("uploads-dlq")
    resources: Resources = {
        "Uploaded": rule(
            {"detail-type": ["Image Uploaded"]},
            {
                "Id": "Thumbnail",
                "Arn": {"Fn::GetAtt": ["Thumbnail", "Arn"]},
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
            },
        ),
    }
    values = {
        "Bus": BUS,
        "Uploaded": f"{BUS}|Uploaded",
        "Uploaded.Arn": RULE_ARN,
        "Thumbnail.Arn": function_arn("Thumbnail"),
        "Dlq.Arn": dlq_arn,
    }
    asked: list[DeliveryRequest] = []

    def no_invoke(request: DeliveryRequest) -> str | None:
        asked.append(request)
        return "no resource-based policy allows it" if request.action == "lambda:InvokeFunction" else None

    invoker = FakeInvoker()
    with running(aws, resources, values, invoker, checks=[no_invoke]) as router:
        event_id = put(aws, "Image Uploaded", {"key": "k"})
        assert router.wait_idle(IDLE)

    assert invoker.calls == []
    assert asked[0] == DeliveryRequest(
        "events.amazonaws.com", "lambda:InvokeFunction", function_arn("Thumbnail"), RULE_ARN
    )
    [message] = aws.messages(dlq_url)
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {
        "RULE_ARN": RULE_ARN,
        "TARGET_ARN": function_arn("Thumbnail"),
        "ERROR_CODE": "AccessDeniedException",
        "ERROR_MESSAGE": "events.amazonaws.com may not invoke Thumbnail",
    }


def test_rules_that_cannot_run_are_listed() -> None:
    resources: Resources = {
        "Off": rule({"source": ["a"]}, State="DISABLED"),
        "Bad": rule({"source": "a"}),
        "Never": {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(0 days)"}},
    }
    values = {"Bus": BUS, "Off": f"{BUS}|Off", "Bad": f"{BUS}|Bad", "Never": "Never"}
    router = EventRouter(
        [FakeTemplate(resources, values)],
        invoker=FakeInvoker(),
        endpoint_url="http://127.0.0.1:1",
        region=REGION,
        account=ACCOUNT,
    )
    assert router.describe() == [
        f"rule {BUS}/Off (disabled)",
        f'rule {BUS}/Bad (not valid: source must be an array of values or an object, not "a": use ["a"])',
        "rule default/Never (not valid: schedule expression 'rate(0 days)': "
        "the rate value '0' is not a positive whole number)",
    ]
    assert any(line.startswith("EventBridge: events AWS services emit") for line in router.not_emulated())


def test_scheduled_rules_send_scheduled_events_by_the_clock(aws: Aws) -> None:
    start = datetime(2026, 3, 4, 11, 58, tzinfo=UTC)
    clock = FakeClock(start)
    resources: Resources = {
        "Every5": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(5 minutes)",
                "Targets": [{"Id": "T", "Arn": {"Fn::GetAtt": ["Tick", "Arn"]}}],
            },
        },
        "Noon": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "cron(0 12 * * ? *)",
                "Targets": [{"Id": "T", "Arn": {"Fn::GetAtt": ["Lunch", "Arn"]}, "Input": '{"lunch": true}'}],
            },
        },
    }
    values = {
        "Every5": "Every5",
        "Every5.Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Every5",
        "Noon": "Noon",
        "Noon.Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Noon",
        "Tick.Arn": function_arn("Tick"),
        "Lunch.Arn": function_arn("Lunch"),
    }
    invoker = FakeInvoker()
    router = EventRouter(
        [FakeTemplate(resources, values)],
        invoker=invoker,
        endpoint_url=aws.url,
        region=REGION,
        account=ACCOUNT,
        retry_delays=(0.05,),
        poll_interval=0.02,
        clock=clock,
    )
    router.start()
    try:
        assert router.wait_idle(IDLE)
        assert invoker.calls == []  # a rate rule's first event is one interval after it starts
        clock.advance(minutes=2)
        assert router.wait_idle(IDLE)
        assert invoker.events("Lunch") == [{"lunch": True}]
        clock.advance(minutes=3)
        assert router.wait_idle(IDLE)
        banner = router.describe()
    finally:
        router.stop()

    [tick] = invoker.events("Tick")
    assert {
        key: tick[key] for key in ("detail-type", "source", "time", "resources", "detail", "account")
    } == {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-03-04T12:03:00Z",
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Every5"],
        "detail": {},
        "account": ACCOUNT,
    }
    assert banner[0].startswith("rule default/Every5 rate(5 minutes) (UTC) -> lambda Tick")


EVENT = {"id": "1", "detail": {"key": "a/b.png", "tags": ["x", "y"], "n": 3, "meta": {"ok": True}}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", EVENT),
        ("$.detail.key", "a/b.png"),
        ("$.detail.tags[1]", "y"),
        ("$['detail']['n']", 3),
        ("$.detail.meta", {"ok": True}),
    ],
)
def test_json_paths_select_what_eventbridge_selects(path: str, expected: Any) -> None:
    assert select(EVENT, path) == expected


def test_input_transformer_quotes_as_eventbridge_does() -> None:
    values = {"key": "a/b.png", "n": 3, "meta": {"ok": True}, "quote": 'say "hi"'}
    assert json.loads(fill('{"k": "<key>", "n": <n>, "m": <meta>, "s": "n=<n>"}', values)) == {
        "k": "a/b.png",
        "n": 3,
        "m": {"ok": True},
        "s": "n=3",
    }
    assert json.loads(fill('"The object <key> says <quote>"', values)) == 'The object a/b.png says say "hi"'
    assert fill("<unknown> stays", values) == "<unknown> stays"


def test_target_input_kinds() -> None:
    rendered = TargetInput.from_properties({"Input": '{"fixed": 1}'}).render(
        EVENT, rule_arn=RULE_ARN, ingestion_time="t"
    )
    assert rendered == '{"fixed": 1}'
    missing = TargetInput.from_properties({"InputPath": "$.detail.nothing"})
    assert missing.render(EVENT, rule_arn=RULE_ARN, ingestion_time="t") == "null"
    whole = TargetInput.from_properties({}).render(EVENT, rule_arn=RULE_ARN, ingestion_time="t")
    assert json.loads(whole) == EVENT
    transformer = TargetInput.from_properties(
        {
            "InputTransformer": {
                "InputPathsMap": {"gone": "$.detail.gone"},
                "InputTemplate": '{"g": <gone>, "t": "<gone>"}',
            }
        }
    )
    assert json.loads(transformer.render(EVENT, rule_arn=RULE_ARN, ingestion_time="t")) == {
        "g": None,
        "t": "",
    }


def test_a_rule_on_a_bus_that_is_not_local_does_not_stop_the_others(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    boto3.client("events", endpoint_url=aws.url, region_name=REGION).create_event_bus(Name=BUS)
    resources: Resources = {
        "Uploaded": rule(
            {"detail-type": ["Image Uploaded"]}, {"Id": "T", "Arn": {"Fn::GetAtt": ["Thumbnail", "Arn"]}}
        ),
        "Elsewhere": rule(
            {"detail-type": ["Image Uploaded"]},
            {"Id": "T", "Arn": {"Fn::GetAtt": ["Thumbnail", "Arn"]}},
            EventBusName="arn:aws:events:us-east-1:210987654321:event-bus/shared",
        ),
    }
    values = {
        "Bus": BUS,
        "Uploaded": f"{BUS}|Uploaded",
        "Uploaded.Arn": RULE_ARN,
        "Elsewhere": "shared|Elsewhere",
        "Elsewhere.Arn": "arn:aws:events:us-east-1:123456789012:rule/shared/Elsewhere",
        "Thumbnail.Arn": function_arn("Thumbnail"),
    }
    invoker = FakeInvoker()
    with running(aws, resources, values, invoker) as router:
        put(aws, "Image Uploaded", {"key": "k"})
        assert router.wait_idle(IDLE)

    assert len(invoker.events("Thumbnail")) == 1
    assert any("Event bus shared is not local" in record.getMessage() for record in caplog.records)
