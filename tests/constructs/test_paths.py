"""`path_of` gives `node.path` for every kind of construct, in one jsii call where that is exact."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aws_cdk import App, CfnResource, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import AlarmTopic
from constructs_lib._paths import path_of


class _Renamed(Construct):
    """A construct of an app's own whose string is not its path."""

    def to_string(self) -> str:
        return "renamed"


def test_every_kind_of_construct_gives_its_node_path() -> None:
    app = App()
    stack = Stack(app, "Paths")
    queue = sqs.Queue(stack, "Queue")
    renamed = _Renamed(stack, "Renamed")
    constructs = [
        stack,
        queue,
        cast(CfnResource, queue.node.default_child),
        CfnResource(stack, "Raw", type="AWS::SQS::Queue"),
        Construct(stack, "Plain"),
        AlarmTopic(stack, "Alarms"),
        renamed,
    ]
    assert [path_of(construct) for construct in constructs] == [c.node.path for c in constructs]
    assert path_of(app) == app.node.path == ""


def test_a_library_or_aws_cdk_lib_construct_is_not_asked_for_its_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = Stack(App(), "Paths")
    queue, topic = sqs.Queue(stack, "Queue"), AlarmTopic(stack, "Alarms")
    expected = [queue.node.path, topic.node.path]

    def refuse(construct: Any) -> None:
        raise AssertionError(f"{type(construct).__name__}.node read: two jsii calls where one gives the path")

    monkeypatch.setattr(Construct, "node", property(refuse))
    assert [path_of(queue), path_of(topic)] == expected
