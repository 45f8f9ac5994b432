"""One acknowledgment of a scanner finding, written once for every scanner that names the concern.

Teams run several scanners over what a CDK app synthesizes. Each has its own way to accept a
finding on one resource, and the library's constructs (and users' apps) acknowledge their
design choices through this one function, so a reason is written once and stays next to the
resource it concerns:

- cdk-nag (any pack: ``AwsSolutions-L1``, ``NIST.800.53.R5-LambdaInsideVPC``,
  ``HIPAA.Security-...``, ``PCI.DSS.321-...``, ``Serverless-...``): an aws-cdk-lib policy-validation
  acknowledgment ``<pack>::<rule>``, which the validation report lists as acknowledged, with the reason.
- checkov (``CKV_AWS_117``): resource ``Metadata`` ``{"checkov": {"skip": [{"id", "comment"}]}}`` on
  the construct's CloudFormation resource; checkov reads it and reports the check as skipped
  with the comment.
- AWS Control Tower proactive controls, as run by the ``CfnGuardValidator`` plugin of
  ``cdklabs-cdk-validator-cfnguard``: an aws-cdk-lib acknowledgment
  ``cdk-validator-cfnguard::<rule>``, where ``<rule>`` is the guard rule name its report prints
  (e.g. ``s3_bucket_versioning_enabled_check`` for CT.S3.PR.11).

Validation acknowledgments cover the construct and everything under it; checkov's cover the one
resource they are written on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Acknowledgment, App, CfnResource, Validations
from constructs import IConstruct

from constructs_lib import _nag
from constructs_lib._validation import PropErrors

# The name the CfnGuardValidator plugin reports under, which prefixes its acknowledgment ids.
CFN_GUARD_PLUGIN = "cdk-validator-cfnguard"
CHECKOV_METADATA = "checkov"
# cdk-nag's compliance packs, as they prefix their rule ids.
NIST_800_53_R5 = "NIST.800.53.R5"
HIPAA_SECURITY = "HIPAA.Security"
PCI_DSS_321 = "PCI.DSS.321"
# The packs a compliance review runs beside AwsSolutions (`make compliance`): an acknowledgment of a
# concern they share names the rule in each, `in_packs(rule, *COMPLIANCE_PACKS)`.
COMPLIANCE_PACKS = (NIST_800_53_R5, HIPAA_SECURITY, PCI_DSS_321)

_NAG_RULE = re.compile(r"^(?P<pack>[A-Za-z0-9.]+)-[A-Za-z0-9]+(?:\[.+\])?$")
_CHECKOV_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_GUARD_RULE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$")


def acknowledge(
    construct: IConstruct,
    *,
    reason: str,
    cdk_nag: Sequence[str] = (),
    checkov: Sequence[str] = (),
    control_tower: Sequence[str] = (),
) -> None:
    """Acknowledge findings on `construct` for the reason given, in every scanner listed.

    `reason` is one sentence a reviewer can check. `cdk_nag` lists rule ids as cdk-nag reports
    them (``NIST.800.53.R5-LambdaInsideVPC``); `checkov` check ids (``CKV_AWS_117``), written on the
    construct's own CloudFormation resource (itself, or an L2's default child); `control_tower`
    the CfnGuardValidator rule names (``lambda_inside_vpc_check``), as its report prints them.
    """
    resource = _validate(construct, reason, cdk_nag, checkov, control_tower)
    # One call for every rule: each jsii round trip costs about a millisecond of synth.
    acknowledgments = [_nag.acknowledgment(rule, reason) for rule in cdk_nag]
    acknowledgments += [
        Acknowledgment(id=f"{CFN_GUARD_PLUGIN}::{rule}", reason=reason) for rule in control_tower
    ]
    if acknowledgments:
        Validations.of(construct).acknowledge(*acknowledgments)
    if resource is not None:
        _skip_checkov(resource, checkov, reason)


def in_packs(rule: str, *packs: str) -> list[str]:
    """`rule` as each cdk-nag pack names it: ``in_packs("LambdaInsideVPC", NIST_800_53_R5, PCI_DSS_321)``."""
    return [f"{pack}-{rule}" for pack in packs]


def _validate(
    construct: IConstruct,
    reason: str,
    cdk_nag: Sequence[str],
    checkov: Sequence[str],
    control_tower: Sequence[str],
) -> CfnResource | None:
    """Raise for any problem; return the resource checkov's skips go on (None without checkov)."""
    # Only a tree's root has no scope, and the root is an App (a Stack made without a scope gets an
    # App of its own); Python knows an App's class: no jsii round trip for the many constructs a
    # synth acknowledges on.
    if isinstance(construct, App):
        raise ValueError(
            f"{construct.node.id or 'App'}: acknowledge: an app-wide acknowledgment would hide findings on "
            "every resource; acknowledge on the resource the finding concerns"
        )
    errors = PropErrors(construct)
    errors.check(
        bool(reason.strip()),
        "acknowledge.reason",
        "is empty; say in one sentence why the finding does not apply, so a reviewer can check it",
    )
    errors.check(
        bool(cdk_nag or checkov or control_tower),
        "acknowledge",
        "names no finding; list rule ids in cdk_nag, checkov or control_tower",
    )
    for index, rule in enumerate(cdk_nag):
        errors.check(
            bool(_NAG_RULE.match(rule)),
            f"acknowledge.cdk_nag[{index}]",
            f"'{rule}' is not a cdk-nag rule id like 'NIST.800.53.R5-LambdaInsideVPC' or 'AwsSolutions-L1'",
        )
    for index, check in enumerate(checkov):
        errors.check(
            bool(_CHECKOV_ID.match(check)),
            f"acknowledge.checkov[{index}]",
            f"'{check}' is not a checkov check id like 'CKV_AWS_117'",
        )
    for index, rule in enumerate(control_tower):
        errors.check(
            bool(_GUARD_RULE.match(rule)),
            f"acknowledge.control_tower[{index}]",
            f"'{rule}' is not a CfnGuardValidator rule name; use the name its report prints "
            "(e.g. 's3_bucket_versioning_enabled_check' for CT.S3.PR.11)",
        )
    resource = _cfn_resource(construct) if checkov else None
    if checkov and resource is None:
        errors.add(
            "acknowledge.checkov",
            f"{construct.node.path} has no CloudFormation resource of its own (it is neither one nor "
            "has a default child); acknowledge checkov findings on the resource itself",
        )
    errors.raise_if_any()
    return resource


def _cfn_resource(construct: IConstruct) -> CfnResource | None:
    # isinstance answers without a jsii round trip for every L1 and L2 class Python has loaded;
    # CfnResource.is_cfn_resource (a call to Node.js) decides only the rest.
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if child is None:
        return construct if CfnResource.is_cfn_resource(construct) else None  # type: ignore[return-value]
    if isinstance(child, CfnResource) or CfnResource.is_cfn_resource(child):
        return child  # type: ignore[return-value]
    return None


def _skip_checkov(resource: CfnResource, checks: Sequence[str], reason: str) -> None:
    existing: Any = resource.get_metadata(CHECKOV_METADATA) or {}
    skips: list[dict[str, str]] = list(existing.get("skip", []))
    known = {skip["id"] for skip in skips}
    skips.extend({"id": check, "comment": reason} for check in checks if check not in known)
    resource.add_metadata(CHECKOV_METADATA, {**existing, "skip": skips})
