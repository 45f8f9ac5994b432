"""Scoped cdk-nag acknowledgments: one rule (or one finding), one construct, one reason."""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk.aws_iam import IGrantable
from constructs import IConstruct, IValidation

from constructs_lib._grants import default_policy


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on `construct` only.

    Recorded as ``<pack>::<rule id>``, the policy-validation id aws-cdk-lib gives the finding of the
    plugin named after the pack: aws-cdk-lib (not cdk-nag) then suppresses it, and the validation
    report lists it as acknowledged, with the reason, where ``make compliance`` counts it.
    """
    Validations.of(construct).acknowledge(acknowledgment(rule_id, reason))


def acknowledgment(rule_id: str, reason: str) -> Acknowledgment:
    """The policy-validation acknowledgment of cdk-nag's `rule_id` (see `acknowledge`)."""
    pack = rule_id.split("-", 1)[0]
    return Acknowledgment(id=f"{pack}::{rule_id}", reason=reason)


def acknowledge_wildcard_resource(policy: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for the wildcard `resource` (an ARN, tokens allowed) on `policy`.

    cdk-nag names the finding after the resource as the policy's template shows it, and a
    reference to another stack only becomes an import (its name hashed by the CDK) when the app
    is prepared for synthesis. So the finding id is computed then, in a construct validation,
    exactly as cdk-nag flattens it; the acknowledgment stays scoped to `policy` and `resource`.

    Consecutive calls for one `policy` share one validation (its acknowledgments in call order, resolved
    and written at once): a few jsii round trips per policy rather than per resource.
    """
    latest = _LATEST[0]
    if latest is not None and latest.policy is policy:
        latest.wildcards.append((resource, reason))
        return
    validation = _AcknowledgeWildcards(policy, resource, reason)
    policy.node.add_validation(validation)
    _LATEST[0] = validation


@jsii.implements(IValidation)
class _AcknowledgeWildcards:
    def __init__(self, policy: IConstruct, resource: str, reason: str) -> None:
        self.policy = policy
        self.wildcards = [(resource, reason)]

    def validate(self) -> list[str]:
        resolved = Stack.of(self.policy).resolve([resource for resource, _ in self.wildcards])
        Validations.of(self.policy).acknowledge(
            *(
                acknowledgment(f"AwsSolutions-IAM5[Resource::{_flatten_cfn_reference(value)}]", reason)
                for value, (_, reason) in zip(resolved, self.wildcards, strict=True)
            )
        )
        return []


# The validation the latest acknowledge_wildcard_resource call added, which the next call on the same
# policy joins (only the latest: acknowledgments keep the order of the calls).
_LATEST: list[_AcknowledgeWildcards | None] = [None]


def _flatten_cfn_reference(node: Any) -> str:  # noqa: PLR0911 - one return per reference kind, as cdk-nag
    """cdk-nag's flattenCfnReference (utils/flatten-cfn-reference.ts), which names IAM5 findings."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten_cfn_reference(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten_cfn_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten_cfn_reference(resource)}.{_flatten_cfn_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten_cfn_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten_cfn_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)


_KMS_WILDCARD_ACTIONS = ("kms:GenerateDataKey*", "kms:ReEncrypt*")


def acknowledge_key_grant(grantee: IGrantable, grant: str) -> None:
    """Acknowledge the KMS action wildcards of CDK's encrypt grants on `grantee`'s default policy.

    `grant` names the grant and its key, e.g. "send grant for the KMS-encrypted queue of Stack/Jobs".
    """
    policy = default_policy(grantee)
    if policy is None:
        return
    reason = (
        f"CDK's {grant}: the statement's resource is that one key, and the wildcard covers the "
        "variants of the same operation."
    )
    Validations.of(policy).acknowledge(
        *(acknowledgment(f"AwsSolutions-IAM5[Action::{action}]", reason) for action in _KMS_WILDCARD_ACTIONS)
    )
