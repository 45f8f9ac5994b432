"""Pinned logical ids: a resource whose state lives outside CloudFormation keeps its id when moved."""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnResource, Stack, Stage
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


@pytest.mark.parametrize("owner_path", ["", "Search", "Outer/Search", "Outer/Inner/Search"])
@pytest.mark.parametrize("in_stage", [False, True])
def test_the_owner_is_found_below_its_stack_at_any_depth(owner_path: str, in_stage: bool) -> None:
    """The owner's components are read from its path after its stack's (a stack in a Stage has a path
    of two parts): pinned under an owner, a resource gets the id it would have there."""
    app = App()
    stack = Stack(Stage(app, "Stage") if in_stage else app, "Test")
    owner: Construct = stack
    for name in owner_path.split("/") if owner_path else []:
        owner = Construct(owner, name)
    where = CfnResource(Construct(owner, "SecurityRoles"), "Default", type="T::T")
    moved = CfnResource(Construct(Construct(stack, "Elsewhere"), "SecurityRoles"), "Default", type="T::T")

    pin_logical_id(moved, owner, "SecurityRoles/Default")

    assert stack.resolve(moved.logical_id) == stack.resolve(stack.get_logical_id(where))
