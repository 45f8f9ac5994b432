"""What the compliance scanners say about the library's log groups, acknowledged once for all of them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._validation import PropErrors
from constructs_lib.compliance import COMPLIANCE_PACKS, Acknowledged, _acknowledge_created, in_packs

# The library's one log retention default, for every log group and access log it creates: a year covers
# most audits and review cycles, and is what Control Tower's CT.CLOUDWATCH.PR.2 asks for.
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
DEFAULT_LOG_RETENTION_DAYS = 365  # the same year, for retentions given in days (S3 access logs)
# The days of each RetentionDays, as aws-cdk-lib writes them into RetentionInDays (INFINITE: none), so
# a log group's retention is known without a jsii round trip to its CfnLogGroup; a test checks the table.
RETENTION_DAYS: dict[logs.RetentionDays, int | None] = {
    logs.RetentionDays.ONE_DAY: 1,
    logs.RetentionDays.THREE_DAYS: 3,
    logs.RetentionDays.FIVE_DAYS: 5,
    logs.RetentionDays.ONE_WEEK: 7,
    logs.RetentionDays.TWO_WEEKS: 14,
    logs.RetentionDays.ONE_MONTH: 30,
    logs.RetentionDays.TWO_MONTHS: 60,
    logs.RetentionDays.THREE_MONTHS: 90,
    logs.RetentionDays.FOUR_MONTHS: 120,
    logs.RetentionDays.FIVE_MONTHS: 150,
    logs.RetentionDays.SIX_MONTHS: 180,
    logs.RetentionDays.ONE_YEAR: 365,
    logs.RetentionDays.THIRTEEN_MONTHS: 400,
    logs.RetentionDays.EIGHTEEN_MONTHS: 545,
    logs.RetentionDays.TWO_YEARS: 731,
    logs.RetentionDays.THREE_YEARS: 1096,
    logs.RetentionDays.FIVE_YEARS: 1827,
    logs.RetentionDays.SIX_YEARS: 2192,
    logs.RetentionDays.SEVEN_YEARS: 2557,
    logs.RetentionDays.EIGHT_YEARS: 2922,
    logs.RetentionDays.NINE_YEARS: 3288,
    logs.RetentionDays.TEN_YEARS: 3653,
    logs.RetentionDays.INFINITE: None,
}


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
    scope_path: str | None = None,
) -> logs.LogGroup:
    """The library's log group: kept when its stack is deleted (logs are the record of what happened,
    needed most after a teardown), with a finite `retention`.

    Acknowledged at once: service-key encryption (`encryption_reason`), and a retention its owner set
    under a year, naming the owner by `scope_path` (`scope`'s path, read from it when not given).
    """
    group = logs.LogGroup(
        scope,
        construct_id,
        retention=retention,
        removal_policy=RemovalPolicy.RETAIN,
        encryption_key=encryption_key,
    )
    acknowledged = [
        Acknowledged(
            encryption_reason,
            cdk_nag=in_packs("CloudWatchLogGroupEncrypted", *COMPLIANCE_PACKS),
            checkov=["CKV_AWS_158"],
            control_tower=["cloudwatch_log_group_encrypted_check"],
        )
    ]
    days = RETENTION_DAYS[retention]
    if days is not None and days < DEFAULT_LOG_RETENTION_DAYS:
        acknowledged.append(
            Acknowledged(
                f"Kept {days} days: the retention its owner chose for {scope_path or scope.node.path} "
                "(a development stage, say); the library's default keeps logs one year.",
                control_tower=["cloudwatch_log_group_retention_period_check"],
            )
        )
    _acknowledge_created(group, *acknowledged)
    return group
