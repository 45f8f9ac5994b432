"""What the compliance scanners say about the library's log groups, acknowledged once for all of them."""

from __future__ import annotations

from typing import cast

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._validation import PropErrors
from constructs_lib.compliance import (
    COMPLIANCE_PACKS,
    acknowledge,
    in_packs,
)

# The library's one log retention default, for every log group and access log it creates: a year covers
# most audits and review cycles, and is what Control Tower's CT.CLOUDWATCH.PR.2 asks for.
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
DEFAULT_LOG_RETENTION_DAYS = 365  # the same year, for retentions given in days (S3 access logs)


# Why the library's function and API log groups need no customer-managed key.
SERVICE_KEY_REASON = (
    "CloudWatch Logs encrypts this log group at rest with keys it manages, and the library writes ids, "
    "statuses and latencies to it, never request bodies or tokens; a customer-managed key would add a "
    "key policy for the Logs service without protecting more."
)


def check_retention(errors: PropErrors, prop: str, retention: logs.RetentionDays) -> None:
    """Every construct's one rule for a log retention prop: finite (secure by default)."""
    errors.check(
        retention != logs.RetentionDays.INFINITE,
        prop,
        "logs must expire; pick a finite RetentionDays (the default keeps them one year)",
    )


def retained_log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None = None,
    encryption_reason: str = SERVICE_KEY_REASON,
) -> logs.LogGroup:
    """The library's log group: kept when its stack is deleted (logs are the record of what happened,
    needed most after a teardown), with a finite `retention`, and acknowledged once (`acknowledge_log_group`).
    """
    group = logs.LogGroup(
        scope,
        construct_id,
        retention=retention,
        removal_policy=RemovalPolicy.RETAIN,
        encryption_key=encryption_key,
    )
    acknowledge_log_group(group, encryption_reason=encryption_reason)
    return group


def acknowledge_log_group(log_group: logs.LogGroup, *, encryption_reason: str = SERVICE_KEY_REASON) -> None:
    """Acknowledge service-key encryption on `log_group`, and a retention its owner set under a year."""
    acknowledge(
        log_group,
        reason=encryption_reason,
        cdk_nag=in_packs("CloudWatchLogGroupEncrypted", *COMPLIANCE_PACKS),
        checkov=["CKV_AWS_158"],
        control_tower=["cloudwatch_log_group_encrypted_check"],
    )
    days = cast(logs.CfnLogGroup, log_group.node.default_child).retention_in_days
    if days is not None and days < DEFAULT_LOG_RETENTION_DAYS:
        owner = log_group.node.path.rsplit("/", 1)[0]
        acknowledge(
            log_group,
            reason=f"Kept {days} days: the retention its owner chose for {owner} "
            "(a development stage, say); the library's default keeps logs one year.",
            control_tower=["cloudwatch_log_group_retention_period_check"],
        )
