"""The reference app's dashboard: every alarm on it, and its layout picture current."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scripts.dashboard_layout import PICTURE, dashboard, resolve, svg

Templates = dict[str, dict[str, Any]]


def _alarms(templates: Templates) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (stack, logical_id): resource["Properties"]
        for stack, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _graphs(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for widget in body["widgets"]:
        if widget["type"] == "metric" and "metrics" in widget["properties"]:
            yield widget["properties"]


def test_every_alarm_is_in_the_alarm_status_widgets(dev_templates: Templates) -> None:
    stack, body, references = dashboard(dev_templates)
    shown = {
        resolve(dev_templates, stack, references[arn])
        for widget in body["widgets"]
        if widget["type"] == "alarm"
        for arn in widget["properties"]["alarms"]
    }
    alarms = _alarms(dev_templates)
    assert len(alarms) >= 17
    assert shown == set(alarms)


def test_every_alarm_is_an_annotation_on_a_graph_of_its_metric(dev_templates: Templates) -> None:
    _, body, _ = dashboard(dev_templates)
    for (stack, logical_id), alarm in _alarms(dev_templates).items():
        if "MetricName" in alarm:
            wanted = alarm["MetricName"]
        else:  # metric math: the graph draws the alarm's expression
            wanted = next(query["Expression"] for query in alarm["Metrics"] if "Expression" in query)
        graphs = [
            graph
            for graph in _graphs(body)
            if wanted in str(graph["metrics"])
            and alarm["Threshold"]
            in [note["value"] for note in graph.get("annotations", {}).get("horizontal", [])]
        ]
        assert graphs, f"{stack}/{logical_id}: no graph of {wanted} shows its threshold {alarm['Threshold']}"


def test_each_dead_letter_queue_is_drawn_with_its_replay_command(dev_templates: Templates) -> None:
    stack, body, references = dashboard(dev_templates)
    (text,) = [
        w["properties"]["markdown"] for w in body["widgets"] if "python -m constructs_lib.ops" in str(w)
    ]
    queues = {
        (name, logical_id)
        for name, template in dev_templates.items()
        for logical_id, resource in template["Resources"].items()
        # The checkov acknowledgment only constructs_lib._queues.dead_letter_queue writes.
        if resource["Type"] == "AWS::SQS::Queue"
        and "SNS, Lambda and EventBridge can write" in str(resource.get("Metadata"))
    }
    replayed = {
        resolve(dev_templates, stack, references[placeholder])
        for placeholder in references
        if f"redrive {placeholder}" in text
    }
    assert queues and replayed == queues


def test_dashboard_picture_is_up_to_date(dev_templates: Templates) -> None:
    assert PICTURE.read_text() == svg(dev_templates), "run `make diagram` and commit the picture"
