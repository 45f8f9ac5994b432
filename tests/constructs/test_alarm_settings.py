"""alarm_settings of every construct with alarms: a threshold changed, an alarm off, several topics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from constructs_lib import (
    AlarmLevel,
    AlarmSetting,
    AlarmSettings,
    ApiAlarms,
    CompositeKeyTable,
    DataStream,
    EventBus,
    QueueWorker,
    ScheduledJob,
    SearchDomain,
    ServerlessApi,
    ServerlessFunction,
    Workflow,
)
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
ALARM = "AWS::CloudWatch::Alarm"
TEAM = "arn:aws:sns:us-east-1:123456789012:team"
OPS = "arn:aws:sns:us-east-1:123456789012:ops"
PAGER = "arn:aws:sns:us-east-1:123456789012:pager"


def _settings(stack: Stack, **alarms: AlarmSetting | bool) -> AlarmSettings:
    """Every alarm to the team topic (as alarm_topic) and ops; critical ones also to the pager."""
    return AlarmSettings(
        alarms=alarms,
        topics=[sns.Topic.from_topic_arn(stack, f"Ops{len(stack.node.children)}", OPS)],
        critical_topics=[sns.Topic.from_topic_arn(stack, f"Pager{len(stack.node.children)}", PAGER)],
    )


@pytest.fixture(scope="module")
def template() -> Template:
    app = new_app()
    stack = new_stack(app, "Tuned")
    team = sns.Topic.from_topic_arn(stack, "Team", TEAM)
    QueueWorker(
        stack,
        "Worker",
        function=ServerlessFunction(stack, "WorkerFunction", entry=ECHO),
        alarm_topic=team,
        alarm_settings=_settings(
            stack,
            oldest_message=AlarmSetting(
                threshold=Duration.minutes(40), evaluation_periods=3, datapoints_to_alarm=2
            ),
        ),
    )
    QueueWorker(
        stack,
        "Quiet",
        function=ServerlessFunction(stack, "QuietFunction", entry=ECHO),
        alarm_topic=team,
        alarm_settings=_settings(stack, oldest_message=False),
    )
    ScheduledJob(
        stack,
        "Job",
        function=ServerlessFunction(stack, "JobFunction", entry=ECHO, invoked_asynchronously=True),
        schedule="rate(1 hour)",
        alarm_topic=team,
        alarm_settings=_settings(stack, failed_runs=AlarmSetting(threshold=3)),
    )
    bus = EventBus(
        stack,
        "Bus",
        alarm_topic=team,
        alarm_settings=_settings(stack, failed_invocations=False, dead_letter=AlarmSetting(threshold=5)),
    )
    bus.add_rule(
        "Placed",
        event_pattern={"source": ["app.orders"]},
        targets=[ServerlessFunction(stack, "BusTarget", entry=ECHO, invoked_asynchronously=True)],
    )
    stream = DataStream(
        stack,
        "Stream",
        alarm_topic=team,
        alarm_settings=_settings(
            stack,
            write_throttle=AlarmSetting(threshold=10, level=AlarmLevel.CRITICAL),
            iterator_age=AlarmSetting(threshold=Duration.minutes(30)),
        ),
    )
    stream.add_consumer(ServerlessFunction(stack, "StreamConsumer", entry=ECHO).function)
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=True,
        alarms=True,
        alarm_topic=team,
        alarm_settings=_settings(stack, throttle=AlarmSetting(threshold=25), consumer_dead_letter=False),
    )
    table.add_stream_consumer(ServerlessFunction(stack, "TableConsumer", entry=ECHO).function)
    Workflow(
        stack,
        "Flow",
        definition=sfn.Pass(stack, "Nothing"),
        alarm_topic=team,
        alarm_settings=_settings(stack, aborted=False, failed=AlarmSetting(evaluation_periods=2)),
    )
    SearchDomain(
        stack,
        "Search",
        cognito_domain_prefix="tuned-search",
        alarms=True,
        alarm_topic=team,
        alarm_settings=_settings(
            stack,
            cpu=False,
            jvm_memory_pressure=AlarmSetting(threshold=90),
            cluster_yellow=AlarmSetting(treat_missing_data=cloudwatch.TreatMissingData.IGNORE),
        ),
    )
    api = ServerlessApi(
        stack,
        "Api",
        alarms=ApiAlarms(
            topic=team,
            settings=_settings(
                stack, latency_p99=AlarmSetting(threshold=Duration.seconds(1)), server_error_rate=False
            ),
        ),
    )
    api.add_route("GET", "/items", ServerlessFunction(stack, "Items", entry=ECHO).function)
    return Template.from_stack(stack)


def _alarms(template: Template, construct: str) -> dict[str, Any]:
    found = template.find_resources(ALARM)
    return {key: value["Properties"] for key, value in found.items() if key.startswith(construct)}


def _alarm(template: Template, construct: str, name: str) -> dict[str, Any]:
    (props,) = [
        props for key, props in _alarms(template, construct).items() if re.match(f"{construct}.*{name}", key)
    ]
    result: dict[str, Any] = props
    return result


def _topics(props: dict[str, Any]) -> list[str]:
    return sorted(action for action in props.get("AlarmActions", []) if isinstance(action, str))


def _ok_topics(props: dict[str, Any]) -> list[str]:
    return sorted(action for action in props.get("OKActions", []) if isinstance(action, str))


def test_queue_worker_threshold_periods_and_datapoints_changed(template: Template) -> None:
    oldest = _alarm(template, "Worker", "OldestMessageAlarm")
    assert (oldest["Threshold"], oldest["EvaluationPeriods"], oldest["DatapointsToAlarm"]) == (2400, 3, 2)
    assert _topics(oldest) == [OPS, TEAM]  # a warning: not the pager
    dead = _alarm(template, "Worker", "DeadLetterAlarm")
    assert dead["Threshold"] == 1 and "DatapointsToAlarm" not in dead
    assert _topics(dead) == [OPS, PAGER, TEAM] == _ok_topics(dead)  # critical: the pager too


def test_queue_worker_alarm_turned_off(template: Template) -> None:
    assert [key for key in _alarms(template, "Quiet") if "Oldest" in key] == []
    assert _alarm(template, "Quiet", "DeadLetterAlarm")["Threshold"] == 1


def test_scheduled_job_settings(template: Template) -> None:
    failed = _alarm(template, "Job", "FailedRunsAlarm")
    assert failed["Threshold"] == 3 and _topics(failed) == [OPS, TEAM]
    assert _topics(_alarm(template, "Job", "DeadLetterAlarm")) == [OPS, PAGER, TEAM]


def test_event_bus_settings(template: Template) -> None:
    assert [key for key in _alarms(template, "Bus") if "FailedInvocations" in key] == []
    dead = _alarm(template, "Bus", "DeadLetterAlarm")
    assert dead["Threshold"] == 5 and _topics(dead) == [OPS, PAGER, TEAM]


def test_data_stream_settings(template: Template) -> None:
    throttle = _alarm(template, "Stream", "WriteThrottleAlarm")
    assert throttle["Threshold"] == 10 and _topics(throttle) == [OPS, PAGER, TEAM]  # raised to critical
    (age,) = [
        props
        for key, props in template.find_resources(ALARM).items()
        if "IteratorAge" in key and "Stream" in key
    ]
    assert age["Properties"]["Threshold"] == 30 * 60 * 1000  # milliseconds
    assert _topics(age["Properties"]) == [OPS, TEAM]


def test_composite_key_table_settings(template: Template) -> None:
    throttle = _alarm(template, "Table", "ThrottleAlarm")
    assert throttle["Threshold"] == 25 and _topics(throttle) == [OPS, TEAM]
    assert _topics(_alarm(template, "Table", "SystemErrorsAlarm")) == [OPS, PAGER, TEAM]
    table_consumer_alarms = [
        key for key in template.find_resources(ALARM) if key.startswith("Table") and "DeadLetter" in key
    ]
    assert table_consumer_alarms == []  # consumer_dead_letter off; its queue is still created
    assert any(key.startswith("Table") and "IteratorAge" in key for key in template.find_resources(ALARM))


def test_workflow_settings(template: Template) -> None:
    assert [key for key in _alarms(template, "Flow") if "Aborted" in key] == []
    failed = _alarm(template, "Flow", "FailedAlarm")
    assert failed["EvaluationPeriods"] == 2 and _topics(failed) == [OPS, PAGER, TEAM]


def test_search_domain_settings(template: Template) -> None:
    assert [key for key in _alarms(template, "Search") if "Cpu" in key] == []
    assert _alarm(template, "Search", "JvmMemoryPressureAlarm")["Threshold"] == 90
    yellow = _alarm(template, "Search", "ClusterYellowAlarm")
    assert yellow["TreatMissingData"] == "ignore" and _topics(yellow) == [OPS, TEAM]
    red = _alarm(template, "Search", "ClusterRedAlarm")
    assert red["TreatMissingData"] == "breaching" and _topics(red) == [OPS, PAGER, TEAM]


def test_serverless_api_settings(template: Template) -> None:
    assert [key for key in _alarms(template, "Api") if "ServerError" in key] == []
    latency = _alarm(template, "Api", "LatencyP99Alarm")
    assert (latency["Threshold"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (1000, 3, 2)
    assert _topics(latency) == [OPS, TEAM] == _ok_topics(latency)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda stack: QueueWorker(
                stack,
                "Bad",
                function=ServerlessFunction(stack, "F", entry=ECHO),
                alarm_settings=AlarmSettings(alarms={"dead_letter": AlarmSetting(threshold=2)}),
            ),
            "Test/Bad: alarm_settings: are given without an alarm topic: pass alarm_topic (or "
            "AlarmSettings.topics), or the tuned alarms notify no one",
        ),
        (
            lambda stack: EventBus(
                stack,
                "Bad",
                alarm_topic=sns.Topic.from_topic_arn(stack, "T", TEAM),
                alarm_settings=AlarmSettings(alarms={"dead_letters": False}),
            ),
            "Test/Bad: alarm_settings: names no alarm 'dead_letters' of the bus's; its alarms are: "
            "dead_letter, failed_invocations",
        ),
        (
            lambda stack: CompositeKeyTable(
                stack,
                "Bad",
                partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
                alarm_settings=AlarmSettings(topics=[sns.Topic.from_topic_arn(stack, "T", TEAM)]),
            ),
            "Test/Bad: alarm_settings: tunes the table's alarms, which are off; set alarms=True or remove "
            "alarm_settings",
        ),
        (
            lambda stack: ScheduledJob(
                stack,
                "Bad",
                function=ServerlessFunction(stack, "F", entry=ECHO, invoked_asynchronously=True),
                schedule="rate(1 hour)",
                alarm_topic=sns.Topic.from_topic_arn(stack, "T", TEAM),
                alarm_settings=AlarmSettings(
                    alarms={"failed_runs": AlarmSetting(evaluation_periods=2, datapoints_to_alarm=3)}
                ),
            ),
            "Test/Bad: alarm_settings: 'failed_runs': datapoints_to_alarm must be between 1 and "
            "evaluation_periods (2)",
        ),
        (
            lambda stack: QueueWorker(
                stack,
                "Bad",
                function=ServerlessFunction(stack, "F", entry=ECHO),
                alarm_topic=sns.Topic.from_topic_arn(stack, "T", TEAM),
                alarm_settings=AlarmSettings(alarms={"dead_letter": AlarmSetting(datapoints_to_alarm=2)}),
            ),
            "Test/Bad: alarm_settings: 'dead_letter': datapoints_to_alarm must be between 1 and "
            "evaluation_periods (1)",
        ),
    ],
    ids=["no-topic", "unknown-alarm", "alarms-off", "datapoints", "datapoints-over-default-periods"],
)
def test_invalid_alarm_settings_raise(build: Any, message: str) -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError) as raised:
        build(stack)
    assert str(raised.value) == message
