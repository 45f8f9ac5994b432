"""Pinned logical ids: a resource whose state lives outside CloudFormation keeps its id when moved."""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnResource, Stack
from constructs import Construct

from constructs_lib._logical_ids import make_unique_id, pin_logical_id


@pytest.mark.parametrize(
    "path",
    [
        "Search/SecurityRoles/Default",
        "Images/Bucket/Notifications/Resource",
        "SearchAccessOneTwoimages/Default",
        "A/A/Resource",
        "Service/Api/Deployment/Stage/Resource",
    ],
)
def test_the_id_is_the_one_cdk_allocates(path: str) -> None:
    stack = Stack(App(), "Test")
    scope: Construct = stack
    *parents, last = path.split("/")
    for name in parents:
        scope = Construct(scope, name)
    resource = CfnResource(scope, last, type="Custom::Thing")

    assert make_unique_id(path.split("/")) == stack.resolve(stack.get_logical_id(resource))


def test_a_pinned_resource_moved_inside_its_owner_keeps_its_id() -> None:
    app = App()
    before_stack, after_stack = Stack(app, "Before"), Stack(app, "After")
    before = CfnResource(
        Construct(Construct(before_stack, "Search"), "SecurityRoles"), "Default", type="T::T"
    )
    owner = Construct(after_stack, "Search")
    moved = CfnResource(Construct(Construct(owner, "Inner"), "SecurityRoles"), "Default", type="T::T")
    assert after_stack.resolve(moved.logical_id) != before_stack.resolve(before_stack.get_logical_id(before))

    pin_logical_id(moved, owner, "SecurityRoles")

    assert after_stack.resolve(moved.logical_id) == before_stack.resolve(before_stack.get_logical_id(before))
