"""Giving up a stateful construct's data protections takes a written reason: `disposable_data_reason`.

Every construct that keeps data (CompositeKeyTable, ImageStore, SearchDomain, UserDirectory,
QueueWorker's queues, DataStream's stream, and AlarmTopic's key, whose loss makes its messages
unreadable) keeps it by default: RETAIN, and for
tables point-in-time recovery and deletion protection. Switching any of that off is valid for data
that can be thrown away (a dev stage, a cache, test fixtures), so it is allowed, but only with
``disposable_data_reason="..."`` on the construct: one sentence saying why the data is disposable.
The reason is written into the resource's template Metadata (`METADATA_KEY`), where reviewers and
`constructs-lib-diff` see it next to the change. A reason with every protection on is an error too:
a stale acknowledgment would silently cover a later change.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnResource, RemovalPolicy
from constructs import IConstruct

from constructs_lib._validation import PropErrors
from constructs_lib.diff._checks import DISPOSABLE_REASON_KEY

PROP = "disposable_data_reason"
METADATA_KEY = DISPOSABLE_REASON_KEY  # constructs-lib-diff quotes it beside the data-loss warning
# Policies that keep the data when the resource leaves the stack.
KEEPS_DATA = (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


def weakened_removal_policy(removal_policy: RemovalPolicy) -> list[str]:
    """``["removal_policy=DESTROY"]`` when the policy lets the data go, else nothing."""
    return [] if removal_policy in KEEPS_DATA else [f"removal_policy={removal_policy.name}"]


def check_disposable(errors: PropErrors, weakened: Sequence[str], reason: str | None, data: str) -> None:
    """Record the error for protections switched off without a reason, or a reason with none off.

    `weakened` names the props as the user set them (``point_in_time_recovery=False``); `data` says
    what would be lost (``the table's items``).
    """
    given = reason is not None and reason.strip() != ""
    if weakened and not given:
        errors.add(
            PROP,
            f"is required with {', '.join(weakened)}: they let {data} be lost for good. "
            'If the data is disposable, say why in one sentence (disposable_data_reason="..."); '
            "otherwise keep the defaults",
        )
    elif reason is not None and not weakened:
        errors.add(PROP, f"is set, but every protection of {data} is on; remove it")


def record_reason(resource: IConstruct, reason: str | None) -> None:
    """Write the reason into the template Metadata of `resource` (an L2's default child or an L1)."""
    if reason is None:
        return
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    assert isinstance(cfn, CfnResource), f"{resource.node.path} has no CloudFormation resource"
    cfn.add_metadata(METADATA_KEY, reason.strip())
