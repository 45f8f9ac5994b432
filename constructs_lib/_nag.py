"""Scoped cdk-nag acknowledgments: one rule (or one finding), one construct, one reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on `construct` only."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
