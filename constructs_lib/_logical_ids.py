"""Pinned logical ids for resources whose state lives outside CloudFormation.

A custom resource that writes to another system (OpenSearch security roles, a bucket's
notification configuration) is keyed in that system by what it declares, not by its logical id.
When a refactor moves it in the construct tree, its logical id changes, and CloudFormation
creates the "new" resource and then deletes the "old" one: the delete undoes what the create just
wrote. So these resources get a logical id computed from their owner's path and a fixed name,
the same id CDK allocates today, which no later move inside the owner can change.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import CfnElement, Stack
from constructs import Construct, IConstruct

from constructs_lib._paths import path_of

# CDK's makeUniqueId (aws-cdk-lib core/lib/private/uniqueid.ts), which allocates logical ids.
_HIDDEN_ID = "Default"  # left out of the id altogether
_HIDDEN_FROM_HUMAN_ID = "Resource"  # left out of the readable part, kept in the hash
_HASH_LENGTH = 8
_MAX_HUMAN_LENGTH = 240
_MAX_ID_LENGTH = 255
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


def pin_logical_id(resource: CfnElement, owner: IConstruct, name: str) -> str:
    """Give `resource` the logical id of ``<owner's path in its stack>/<name>``, whatever its own path.

    `name` is a path below `owner` (e.g. ``"Bucket/Notifications/Resource"``), the one the
    resource had when it was pinned, so pinning changes no template. Returns the id.
    """
    if isinstance(owner, Stack):  # the owner is its own stack: no component below it, no jsii call
        below_stack: list[str] = []
    elif isinstance(owner, Construct):
        # Both paths in one jsii call each where that is exact (`path_of`): construct ids hold no
        # "/" (the CDK refuses one), so the owner's components are its path after the stack's.
        stack_path = path_of(Stack.of(owner))
        below_stack = path_of(owner)[len(stack_path) + 1 :].split("/")
    else:
        stack = Stack.of(owner)
        scopes = owner.node.scopes
        below_stack = [scope.node.id for scope in scopes[scopes.index(stack) + 1 :]]
    logical_id = make_unique_id([*below_stack, *name.split("/")])
    resource.override_logical_id(logical_id)
    return logical_id


def make_unique_id(components: list[str]) -> str:
    """The logical id CDK allocates for a construct path (components below the stack)."""
    components = [component for component in components if component != _HIDDEN_ID]
    if len(components) == 1:
        # A top-level resource keeps its name, so templates migrate to CDK unchanged.
        candidate = _NOT_ALPHANUMERIC.sub("", components[0])
        if len(candidate) <= _MAX_ID_LENGTH:
            return candidate
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human: list[str] = []
    for component in components:
        if not human or not human[-1].endswith(component):
            human.append(component)
    readable = "".join(
        _NOT_ALPHANUMERIC.sub("", component) for component in human if component != _HIDDEN_FROM_HUMAN_ID
    )
    return readable[:_MAX_HUMAN_LENGTH] + digest[:_HASH_LENGTH].upper()
