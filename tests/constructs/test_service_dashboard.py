"""ServiceDashboard: every construct type's panel, every alarm's state and annotation, every DLQ's replay."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Node
from syrupy.assertion import SnapshotAssertion

from constructs_lib import (
    DataStream,
    EventBus,
    QueueWorker,
    ScheduledJob,
    SearchDomain,
    ServerlessFunction,
    ServiceDashboard,
    Workflow,
    lambda_task,
)
from constructs_lib._alarms import alarm_facts
from constructs_lib._paths import path_of
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates
from tests.constructs.every_construct import ECHO, add_apis_and_table


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    stack = new_stack(app, "Service")
    topic = add_apis_and_table(stack)["topic"]
    QueueWorker(stack, "Jobs", function=ServerlessFunction(stack, "Worker", entry=ECHO), alarm_topic=topic)
    ScheduledJob(
        stack,
        "Nightly",
        function=ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True),
        schedule="cron(0 3 * * ? *)",
        alarm_topic=topic,
    )
    bus = EventBus(stack, "Bus", alarm_topic=topic)
    bus.add_rule(
        "Placed",
        event_pattern={"source": ["app.orders"]},
        targets=[ServerlessFunction(stack, "OnPlaced", entry=ECHO, invoked_asynchronously=True)],
    )
    stream = DataStream(stack, "Clicks", alarm_topic=topic)
    stream.add_consumer(ServerlessFunction(stack, "Counter", entry=ECHO).function)
    step = ServerlessFunction(stack, "Step", entry=ECHO)
    Workflow(stack, "Flow", definition=lambda_task(stack, "Run", step), alarm_topic=topic)
    SearchDomain(stack, "Search", cognito_domain_prefix="service-search", alarms=True, alarm_topic=topic)

    dashboard = ServiceDashboard(stack, "Dashboard", dashboard_name="service-test")
    dashboard.add_all(stack)
    templates = synth_templates(app)
    return {"template": templates["Service"], "dashboard": dashboard, "stack": stack}


def _body(template: dict[str, Any]) -> str:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    parts = resource["Properties"]["DashboardBody"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else json.dumps(part).replace('"', "'") for part in parts)


def test_every_construct_type_has_its_panel(built: dict[str, Any]) -> None:
    headings = re.findall(r"### ([A-Za-z -]+?) Service/", _body(built["template"]))
    assert set(headings) >= {
        "REST API",
        "WebSocket API",
        "Function",
        "Workflow",
        "Scheduled job",
        "Queue worker",
        "Event bus",
        "Data stream",
        "Table",
        "Search domain",
    }


def test_every_alarm_is_in_a_status_widget_and_annotated(built: dict[str, Any]) -> None:
    template = built["template"]
    alarms = [key for key, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    body = _body(template)
    assert len(alarms) >= 20
    for alarm in alarms:
        assert f"{{'Fn::GetAtt': ['{alarm}', 'Arn']}}" in body, alarm
    assert len(built["dashboard"].alarms) == len(alarms)
    assert body.count('"horizontal"') >= len(
        {
            r["Properties"]["Threshold"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
        }
    )


def test_critical_alarms_come_first(built: dict[str, Any]) -> None:
    body = _body(built["template"])
    assert body.index("Critical alarms") < body.index("Warning alarms") < body.index("### ")


def test_each_dead_letter_queue_has_its_replay_command(built: dict[str, Any]) -> None:
    template = built["template"]
    body = _body(template)
    for queue in built["dashboard"].dead_letter_queues:
        logical_id = built["stack"].get_logical_id(queue.node.default_child)
        assert (
            f"`python -m constructs_lib.ops redrive {{'Fn::GetAtt': ['{logical_id}', 'QueueName']}}`" in body
        )
    assert len(built["dashboard"].dead_letter_queues) >= 7


def test_snapshot(built: dict[str, Any], snapshot_json: SnapshotAssertion) -> None:
    (dashboard,) = [
        r for r in built["template"]["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    assert normalized({"Resources": {"Dashboard": dashboard}}) == snapshot_json


def test_invalid_dashboard_name_raises() -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError) as raised:
        ServiceDashboard(stack, "Bad", dashboard_name="my dashboard")
    assert str(raised.value) == (
        "Test/Bad: dashboard_name: 'my dashboard' must be 1-255 characters of A-Z, a-z, 0-9, '-' and '_'"
    )


def test_a_stack_without_constructs_of_the_library_gets_an_empty_dashboard() -> None:
    stack: Stack = new_stack(new_app(), "Empty")
    dashboard = ServiceDashboard(stack, "Dashboard")
    dashboard.add_all(stack)
    assert dashboard.alarms == [] and dashboard.dead_letter_queues == []


def test_paths_known_in_python_are_the_node_paths(built: dict[str, Any]) -> None:
    """The dashboard reads a path in one call (`path_of`), and an alarm the library made in a panel's
    construct has its path without one: both are what `node.path` gives."""
    dashboard, stack = built["dashboard"], built["stack"]
    constructs = [dashboard, *dashboard.alarms, *dashboard.dead_letter_queues, *stack.node.children]
    assert [path_of(construct) for construct in constructs] == [c.node.path for c in constructs]
    made = [(alarm, alarm_facts(alarm)) for alarm in dashboard.alarms]
    assert len([facts for _, facts in made if facts is not None]) >= 10
    for alarm, facts in made:
        if facts is not None:
            assert f"{facts.scope.node.path}/{facts.construct_id}" == alarm.node.path


def test_only_a_users_alarm_annotation_is_read_through_jsii(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's alarms get their annotations built in Python (six jsii round trips each when
    read back); a user's alarm gets aws-cdk-lib's own."""
    stack = new_stack(new_app(), "Annotations")
    topic = add_apis_and_table(stack)["topic"]
    worker = QueueWorker(
        stack, "Jobs", function=ServerlessFunction(stack, "Worker", entry=ECHO), alarm_topic=topic
    )
    mine = cloudwatch.Alarm(
        stack,
        "Mine",
        metric=worker.metric_approximate_age_of_oldest_message(),
        threshold=60,
        evaluation_periods=1,
    )
    read: list[str] = []
    original = cloudwatch.Alarm.to_annotation

    def to_annotation(alarm: cloudwatch.Alarm) -> cloudwatch.HorizontalAnnotation:
        read.append(alarm.node.id)
        return original(alarm)

    monkeypatch.setattr(cloudwatch.Alarm, "to_annotation", to_annotation)
    dashboard = ServiceDashboard(stack, "Dashboard")
    dashboard.add_all(stack)
    assert len(dashboard.alarms) > 3
    assert read == [mine.node.id]


def test_cfn_lint_clean(built: dict[str, Any]) -> None:
    assert cfn_lint_findings(built["template"]) == []


def test_a_users_queue_and_alarm_cost_no_metadata_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the library's queues hold and its alarms' levels are known in Python: the dashboard reads no
    construct's metadata (a jsii round trip per entry). A user's alarm counts as critical, a user's
    queue as no dead-letter queue."""
    stack = new_stack(new_app(), "Users")
    queue = sqs.Queue(stack, "Queue", enforce_ssl=True)
    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        metric=queue.metric_approximate_age_of_oldest_message(),
        threshold=60,
        evaluation_periods=1,
    )
    worker = QueueWorker(stack, "Jobs", function=ServerlessFunction(stack, "Worker", entry=ECHO))
    reads: list[str] = []

    def read_metadata(node: Node) -> list[object]:
        reads.append(node.path)
        return []

    monkeypatch.setattr(Node, "metadata", property(read_metadata))
    dashboard = ServiceDashboard(stack, "Dashboard")
    dashboard.add_all(stack)
    assert reads == []
    assert dashboard.dead_letter_queues == [worker.dead_letter_queue]
    assert alarm in dashboard.alarms
