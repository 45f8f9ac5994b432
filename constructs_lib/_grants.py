"""What every construct's grant_* asks about a grantee: its default policy, and which stack it is in."""

from __future__ import annotations

import weakref

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

_STACK_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()


def default_policy(grantee: iam.IGrantable) -> IConstruct | None:
    """The policy CDK adds the grantee's statements to (a role's ``DefaultPolicy``), where there is one.

    Acknowledgments of what a grant writes belong on that policy; imported roles, account or
    service principals have none here, so there is nothing of ours to acknowledge.
    """
    principal = grantee.grant_principal
    return principal.node.try_find_child("DefaultPolicy") if isinstance(principal, Construct) else None


def principal_in_another_stack(grantee: iam.IGrantable, scope: IConstruct) -> Construct | None:
    """`grantee`'s principal if it is a construct of another stack than `scope`'s, else None.

    A resource of `scope` cannot then name the principal (the two stacks would reference each
    other), so such grants write only to the grantee's side.
    """
    principal = grantee.grant_principal
    if isinstance(principal, Construct) and _stack_path(principal) != _stack_path(scope):
        return principal
    return None


def _stack_path(construct: IConstruct) -> str:
    # A construct never changes stack: each construct's and each stack's path is read once, so a
    # construct granting to many principals asks jsii only for each principal's stack.
    path = _STACK_PATHS.get(construct)
    if path is None:
        stack = Stack.of(construct)
        path = _STACK_PATHS.get(stack) or stack.node.path
        _STACK_PATHS[construct] = _STACK_PATHS[stack] = path
    return path
