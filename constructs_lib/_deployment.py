"""ServerlessFunction's gradual deployments: a `live` alias shifted by CodeDeploy, rolled back on alarms.

With a canary or linear `DeploymentPreference`, the function publishes a version on every change of
its code or configuration (`Function.current_version`), a `live` alias points at it, and a CodeDeploy
deployment group moves the alias's traffic from the old version to the new one step by step. The
group rolls back by itself when the deployment fails or when any of its alarms fires during the shift:
the function's own error alarm on the alias (always), plus any the user adds (an API's 5XX alarm).

Defaults and their reasons:
- all at once (no alias, no version, no deployment group): what every function did before, so an app
  that does not ask for gradual deployments gets the same template;
- the error alarm looks at 1-minute periods and fires on the first error: a 5-minute canary must be able
  to notice an error before it ends, and the alias only sees the traffic it serves;
- CodeDeploy's predefined configurations where one matches (Canary10Percent5Minutes...), a custom
  deployment configuration otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from constructs_lib import _metrics, _resolved, compliance
from constructs_lib._nag import acknowledge, acknowledge_wildcard_resource
from constructs_lib._validation import PropErrors
from constructs_lib.compliance import COMPLIANCE_PACKS, HIPAA_SECURITY, NIST_800_53_R5, in_packs

LIVE_ALIAS_NAME = "live"
# CodeDeploy waits at most 2 days (2,880 minutes) between two traffic shifts of a Lambda deployment.
MAX_SHIFT_INTERVAL_MINUTES = 2880
# One minute: CloudWatch's finest standard resolution for Lambda metrics, so a 5-minute canary gets
# five chances to see an error before CodeDeploy shifts the rest of the traffic.
ERROR_ALARM_PERIOD = _resolved.minutes(1)
ERROR_ALARM_THRESHOLD = 1  # errors per minute on the alias: one failed invocation is one too many

# CodeDeploy's predefined Lambda configurations, by (kind, percent, minutes).
_PREDEFINED: dict[tuple[str, int, int], codedeploy.ILambdaDeploymentConfig] = {
    ("canary", 10, 5): codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
    ("canary", 10, 10): codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_10_MINUTES,
    ("canary", 10, 15): codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_15_MINUTES,
    ("canary", 10, 30): codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_30_MINUTES,
    ("linear", 10, 1): codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    ("linear", 10, 2): codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_2_MINUTES,
    ("linear", 10, 3): codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    ("linear", 10, 10): codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_10_MINUTES,
}


class DeploymentKind(enum.Enum):
    ALL_AT_ONCE = "all_at_once"
    CANARY = "canary"
    LINEAR = "linear"


@dataclass(frozen=True)
class DeploymentPreference:
    """How a `ServerlessFunction`'s new code reaches its traffic.

    `all_at_once()` (the default): every invocation runs the new code as soon as CloudFormation updates
    the function. `canary(percent, minutes)`: `percent` of the traffic for `minutes`, then all of it.
    `linear(percent, every_minutes)`: `percent` more every `every_minutes` until all of it.
    """

    kind: DeploymentKind = DeploymentKind.ALL_AT_ONCE
    percent: int = 100
    minutes: int = 0

    @classmethod
    def all_at_once(cls) -> DeploymentPreference:
        return cls()

    @classmethod
    def canary(cls, percent: int = 10, minutes: int = 5) -> DeploymentPreference:
        return cls(DeploymentKind.CANARY, percent, minutes)

    @classmethod
    def linear(cls, percent: int = 10, every_minutes: int = 1) -> DeploymentPreference:
        return cls(DeploymentKind.LINEAR, percent, every_minutes)

    @property
    def gradual(self) -> bool:
        return self.kind is not DeploymentKind.ALL_AT_ONCE

    def __str__(self) -> str:
        if self.kind is DeploymentKind.CANARY:
            return f"canary {self.percent}% for {self.minutes} min"
        if self.kind is DeploymentKind.LINEAR:
            return f"linear {self.percent}% every {self.minutes} min"
        return "all at once"


def check_deployment(
    errors: PropErrors,
    preference: DeploymentPreference,
    *,
    deployment_alarms: Sequence[cloudwatch.IAlarm],
    hooks: Sequence[tuple[str, object]],
    provisioned_concurrency: int | None,
    snap_start: bool,
    reserved_concurrent_executions: int | None,
) -> None:
    """Record in `errors` what is wrong with a function's deployment props."""
    if preference.gradual:
        name = preference.kind.value
        # Numbers from tokens (CfnParameters) are not judged: they resolve at deploy.
        errors.check(
            _resolved.is_unresolved_number(preference.percent)
            or (preference.percent == int(preference.percent) and 1 <= preference.percent <= 99),
            "deployment",
            f"{name} percent {preference.percent} must be a whole number from 1 to 99 (100 is all_at_once)",
        )
        errors.check(
            _resolved.is_unresolved_number(preference.minutes)
            or (
                preference.minutes == int(preference.minutes)
                and 1 <= preference.minutes <= MAX_SHIFT_INTERVAL_MINUTES
            ),
            "deployment",
            f"{name} minutes {preference.minutes} must be a whole number from 1 to "
            f"{MAX_SHIFT_INTERVAL_MINUTES} (CodeDeploy's 2 days between traffic shifts)",
        )
    needs_alias = (
        "only applies with a gradual deployment (the 'live' alias); "
        "set deployment=DeploymentPreference.canary(...) or .linear(...), or remove it"
    )
    if not preference.gradual:
        errors.check(not deployment_alarms, "deployment_alarms", needs_alias)
        for prop, hook in hooks:
            errors.check(hook is None, prop, needs_alias)
        errors.check(provisioned_concurrency is None, "provisioned_concurrency", needs_alias)
        errors.check(not snap_start, "snap_start", needs_alias)
    if provisioned_concurrency is not None:
        concurrency_known = not _resolved.is_unresolved_number(provisioned_concurrency)
        errors.check(
            not concurrency_known
            or (provisioned_concurrency == int(provisioned_concurrency) and provisioned_concurrency >= 1),
            "provisioned_concurrency",
            f"{provisioned_concurrency} must be a whole number of 1 or more; leave it unset for none",
        )
        errors.check(
            reserved_concurrent_executions is None
            or not concurrency_known
            or _resolved.is_unresolved_number(reserved_concurrent_executions)
            or provisioned_concurrency <= reserved_concurrent_executions,
            "provisioned_concurrency",
            f"{provisioned_concurrency} is more than reserved_concurrent_executions "
            f"({reserved_concurrent_executions}); Lambda refuses that: lower it or raise the reservation",
        )
        errors.check(
            not snap_start,
            "snap_start",
            "Lambda does not combine SnapStart with provisioned concurrency; choose one",
        )


@dataclass(frozen=True)
class GradualDeployment:
    """What a gradual deployment creates: the alias, its error alarm and the deployment group."""

    alias: lambda_.Alias
    error_alarm: cloudwatch.Alarm
    deployment_group: codedeploy.LambdaDeploymentGroup


def deployment_config(
    scope: Construct, preference: DeploymentPreference
) -> codedeploy.ILambdaDeploymentConfig:
    """CodeDeploy's predefined configuration for `preference`, or a custom one in `scope`."""
    predefined = _PREDEFINED.get((preference.kind.value, preference.percent, preference.minutes))
    if predefined is not None:
        return predefined
    interval = Duration.minutes(preference.minutes)
    routing = (
        codedeploy.TrafficRouting.time_based_canary(interval=interval, percentage=preference.percent)
        if preference.kind is DeploymentKind.CANARY
        else codedeploy.TrafficRouting.time_based_linear(interval=interval, percentage=preference.percent)
    )
    return codedeploy.LambdaDeploymentConfig(scope, "DeploymentConfig", traffic_routing=routing)


def gradual_deployment(
    scope: Construct,
    function: lambda_.Function,
    preference: DeploymentPreference,
    *,
    deployment_alarms: Sequence[cloudwatch.IAlarm],
    pre_traffic_hook: lambda_.IFunction | None,
    post_traffic_hook: lambda_.IFunction | None,
    provisioned_concurrency: int | None,
    on_failure: lambda_.IDestination | None,
    retry_attempts: int | None,
    max_event_age: Duration | None,
    snap_start: bool,
    scope_path: str,
) -> GradualDeployment:
    """The `live` alias on the function's current version, shifted by a CodeDeploy deployment group.

    `scope` is the function's owner, whose path is `scope_path`; `snap_start` says whether the function
    restores from snapshots."""
    alias = lambda_.Alias(
        scope,
        "LiveAlias",
        alias_name=LIVE_ALIAS_NAME,
        version=function.current_version,
        provisioned_concurrent_executions=provisioned_concurrency,
        # Asynchronous invocations of the alias follow the alias's own invoke configuration, not the
        # function's ($LATEST): the same retries and the same on-failure queue, so nothing is dropped.
        on_failure=on_failure,
        retry_attempts=retry_attempts,
        max_event_age=max_event_age,
    )
    error_alarm = cloudwatch.Alarm(
        scope,
        "DeploymentErrorsAlarm",
        alarm_description=f"Errors of {scope_path} on its '{LIVE_ALIAS_NAME}' "
        "alias: during a deployment, CodeDeploy rolls the alias back to the previous version",
        metric=_metrics.lambda_alias(alias).metric("Errors", statistic="Sum", period=ERROR_ALARM_PERIOD),
        threshold=ERROR_ALARM_THRESHOLD,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    acknowledge_rollback_alarm(error_alarm)
    group = codedeploy.LambdaDeploymentGroup(
        scope,
        "DeploymentGroup",
        alias=alias,
        deployment_config=deployment_config(scope, preference),
        alarms=[error_alarm, *deployment_alarms],
        auto_rollback=codedeploy.AutoRollbackConfig(failed_deployment=True, deployment_in_alarm=True),
        pre_hook=pre_traffic_hook,
        post_hook=post_traffic_hook,
    )
    acknowledge(
        group.role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
        "CodeDeploy's own managed policy for Lambda deployments: it may only read and update aliases and "
        "invoke functions named CodeDeployHook_*; the hooks this group runs are granted by name.",
    )
    if pre_traffic_hook is not None or post_traffic_hook is not None:
        compliance.acknowledge(
            group.role,
            reason="The role's own policy only lets CodeDeploy invoke this deployment's hook functions; a "
            "managed policy would add an attachable copy without narrowing anything.",
            cdk_nag=in_packs("IAMNoInlinePolicy", *COMPLIANCE_PACKS),
        )
    for hook in (pre_traffic_hook, post_traffic_hook):
        if hook is not None:
            # CDK's grantInvoke on a function also covers its versions and aliases (ARN:*).
            acknowledge_wildcard_resource(
                group.role.node.find_child("DefaultPolicy"),
                f"{hook.function_arn}:*",
                "CodeDeploy invokes this deployment's hook function; the ':*' covers only its versions.",
            )
    if snap_start:
        # aws-cdk-lib warns that SnapStart needs published versions: current_version publishes one per change.
        Annotations.of(function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish", "the live alias points at current_version"
        )
    return GradualDeployment(alias=alias, error_alarm=error_alarm, deployment_group=group)


def acknowledge_rollback_alarm(alarm: cloudwatch.Alarm) -> None:
    """The scanners' "alarm without an action" finding on an alarm CodeDeploy acts on."""
    compliance.acknowledge(
        alarm,
        reason="CodeDeploy acts on this alarm: it stops the deployment and rolls the alias back; a "
        "topic (add_alarm_action) is optional, the function's other alarms notify people.",
        cdk_nag=in_packs("CloudWatchAlarmAction", NIST_800_53_R5, HIPAA_SECURITY),
        control_tower=["cloudwatch_alarm_action_check"],
    )
