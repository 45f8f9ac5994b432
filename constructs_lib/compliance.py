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
resource they are written on. Several acknowledgments on one construct, each with its own reason, go
in one `acknowledge_all(construct, Acknowledged(...), ...)`: one check, one write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Acknowledged:
    """One reason and the findings it covers, for `acknowledge_all` (the fields are `acknowledge`'s).

    Not aws-cdk-lib's `Acknowledgment` (one policy-validation rule id and its reason): an entry here
    names findings in every scanner, and `acknowledge_all` writes each scanner's form of it.
    """

    reason: str
    cdk_nag: Sequence[str] = ()
    checkov: Sequence[str] = ()
    control_tower: Sequence[str] = ()


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
    _acknowledge(
        construct, (Acknowledged(reason, cdk_nag, checkov, control_tower),), batch=False, new_resource=False
    )


def acknowledge_all(construct: IConstruct, *acknowledged: Acknowledged) -> None:
    """Acknowledge several findings on `construct`, each `Acknowledged` with its own reason.

    The same as one `acknowledge` call per entry, in order, but checked into one ValueError and
    written with one policy-validation call and one checkov metadata update: each jsii round trip
    costs about half a millisecond of synth.
    """
    _acknowledge(construct, acknowledged, batch=True, new_resource=False)


def _acknowledge_created(construct: IConstruct, *acknowledged: Acknowledged) -> None:
    """`acknowledge_all` on a construct the library's calling code created a moment ago.

    Its resource cannot hold checkov metadata yet, so the skips are written without reading it
    first (one jsii round trip fewer). Private: on any other construct the write would replace
    checkov skips someone else wrote.
    """
    _acknowledge(construct, acknowledged, batch=True, new_resource=True)


def in_packs(rule: str, *packs: str) -> list[str]:
    """`rule` as each cdk-nag pack names it: ``in_packs("LambdaInsideVPC", NIST_800_53_R5, PCI_DSS_321)``."""
    return [f"{pack}-{rule}" for pack in packs]


def _acknowledge(
    construct: IConstruct, entries: Sequence[Acknowledged], *, batch: bool, new_resource: bool
) -> None:
    """Check every entry, then write them all; errors name `acknowledge_all[<index>]` in a `batch`."""
    resource = _validate(construct, entries, batch=batch)
    # One call for every rule, in the order sequential acknowledgments would record them.
    acknowledgments: list[Acknowledgment] = []
    for entry in entries:
        acknowledgments += [_nag.acknowledgment(rule, entry.reason) for rule in entry.cdk_nag]
        acknowledgments += [
            Acknowledgment(id=f"{CFN_GUARD_PLUGIN}::{rule}", reason=entry.reason)
            for rule in entry.control_tower
        ]
    if acknowledgments:
        Validations.of(construct).acknowledge(*acknowledgments)
    if resource is not None:
        _skip_checkov(
            resource, entries, existing=None if new_resource else resource.get_metadata(CHECKOV_METADATA)
        )


def _validate(construct: IConstruct, entries: Sequence[Acknowledged], *, batch: bool) -> CfnResource | None:
    """Raise for any problem; return the resource checkov's skips go on (None without checkov)."""
    function = "acknowledge_all" if batch else "acknowledge"
    # Only a tree's root has no scope, and the root is an App (a Stack made without a scope gets an
    # App of its own); Python knows an App's class: no jsii round trip for the many constructs a
    # synth acknowledges on.
    if isinstance(construct, App):
        raise ValueError(
            f"{construct.node.id or 'App'}: {function}: an app-wide acknowledgment would hide findings on "
            "every resource; acknowledge on the resource the finding concerns"
        )
    errors = PropErrors(construct)
    names = [f"{function}[{index}]" if batch else function for index in range(len(entries))]
    errors.check(
        bool(entries),
        "acknowledge_all",
        "names no acknowledgment; pass one Acknowledged(reason, cdk_nag=..., checkov=..., control_tower=...) "
        "or more",
    )
    for entry, name in zip(entries, names, strict=True):
        _check_entry(errors, entry, name)
    with_checkov = [name for entry, name in zip(entries, names, strict=True) if entry.checkov]
    resource = _cfn_resource(construct) if with_checkov else None
    if with_checkov and resource is None:
        for name in with_checkov:
            errors.add(
                f"{name}.checkov",
                f"{construct.node.path} has no CloudFormation resource of its own (it is neither one nor "
                "has a default child); acknowledge checkov findings on the resource itself",
            )
    errors.raise_if_any()
    return resource


def _check_entry(errors: PropErrors, entry: Acknowledged, name: str) -> None:
    errors.check(
        bool(entry.reason.strip()),
        f"{name}.reason",
        "is empty; say in one sentence why the finding does not apply, so a reviewer can check it",
    )
    errors.check(
        bool(entry.cdk_nag or entry.checkov or entry.control_tower),
        name,
        "names no finding; list rule ids in cdk_nag, checkov or control_tower",
    )
    for index, rule in enumerate(entry.cdk_nag):
        errors.check(
            bool(_NAG_RULE.match(rule)),
            f"{name}.cdk_nag[{index}]",
            f"'{rule}' is not a cdk-nag rule id like 'NIST.800.53.R5-LambdaInsideVPC' or 'AwsSolutions-L1'",
        )
    for index, check in enumerate(entry.checkov):
        errors.check(
            bool(_CHECKOV_ID.match(check)),
            f"{name}.checkov[{index}]",
            f"'{check}' is not a checkov check id like 'CKV_AWS_117'",
        )
    for index, rule in enumerate(entry.control_tower):
        errors.check(
            bool(_GUARD_RULE.match(rule)),
            f"{name}.control_tower[{index}]",
            f"'{rule}' is not a CfnGuardValidator rule name; use the name its report prints "
            "(e.g. 's3_bucket_versioning_enabled_check' for CT.S3.PR.11)",
        )


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


def _skip_checkov(resource: CfnResource, entries: Sequence[Acknowledged], *, existing: Any) -> None:
    """Add the entries' checks to the checkov skips `existing` on `resource` (None: it has none)."""
    existing = existing or {}
    skips: list[dict[str, str]] = list(existing.get("skip", []))
    # Entry by entry, as sequential acknowledgments would: a check already skipped keeps its comment.
    for entry in entries:
        known = {skip["id"] for skip in skips}
        skips.extend({"id": check, "comment": entry.reason} for check in entry.checkov if check not in known)
    resource.add_metadata(CHECKOV_METADATA, {**existing, "skip": skips})
