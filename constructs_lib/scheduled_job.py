"""ScheduledJob: a function run on a schedule by EventBridge Scheduler, with nothing failing silently.

Creates: an `AWS::Scheduler::Schedule` (rate, cron or one-time, in an IANA time zone) in a schedule
group of its own, invoking a `ServerlessFunction`; the role Scheduler assumes (trusted only by
Scheduler for this account and this group) allowed to invoke exactly that function and to send to
the job's dead-letter queue; the dead-letter queue (SQS-encrypted, TLS-only, 14 days) for runs
Scheduler could not deliver; alarms on failed runs and on dead letters (this queue and the function's
own on-failure queue).

Defaults: time zone UTC; no flexible time window (a job runs when it says); delivery retried up to 185
times (Scheduler's maximum, with backoff) for at most 1 hour: a run later than that would overlap the
next ones, so it goes to the dead-letter queue instead; the input ``{}``; enabled; alarms on.

The function must be created with ``invoked_asynchronously=True``: Scheduler invokes Lambda
asynchronously, so a run whose code fails is retried by Lambda and then lands in the function's own
dead-letter queue, while a run Scheduler cannot deliver (throttled past the retry policy, function
gone, permission missing) lands in this job's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import _metrics, _resolved, _schedules
from constructs_lib._alarms import (
    ALARM_PERIOD,
    AlarmDefault,
    AlarmLevel,
    AlarmSettings,
    check_alarm_settings,
    threshold_alarm,
)
from constructs_lib._paths import path_of
from constructs_lib._queues import dead_letter_queue, messages_waiting
from constructs_lib._validation import (
    MAX_TARGET_RETRY_ATTEMPTS,
    PropErrors,
    check_target_retry_policy,
    check_token_unit,
)
from constructs_lib.compliance import (
    COMPLIANCE_PACKS,
    acknowledge,
    in_packs,
)
from constructs_lib.serverless_function import ServerlessFunction

DEFAULT_TIME_ZONE = "UTC"
# Scheduler's maximum; the event age below is what really bounds the retries.
DEFAULT_RETRY_ATTEMPTS = MAX_TARGET_RETRY_ATTEMPTS
# A run delivered more than an hour late overlaps the runs after it: dead-letter it for a look instead.
DEFAULT_MAX_EVENT_AGE = _resolved.hours(1)
MAX_FLEXIBLE_WINDOW = _resolved.hours(24)  # Scheduler's limit (1440 minutes)
MAX_DESCRIPTION_LENGTH = 512

# The alarms by name, with their defaults (`alarm_settings` changes them): a failed run is retried
# (warning); a dead-lettered run waits for a person (critical). No data means no run failed.
ALARMS = {
    "failed_runs": AlarmDefault(threshold=1, level=AlarmLevel.WARNING),
    "dead_letter": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
}


class ScheduledJob(Construct):
    """Runs a `ServerlessFunction` on a rate, cron or one-time schedule.

    `schedule` is a Scheduler expression: ``rate(15 minutes)``, ``cron(0 3 * * ? *)`` (six fields:
    minutes hours day-of-month month day-of-week year, with ``?`` in exactly one of the day fields)
    or ``at(2027-01-01T09:00:00)``; it is validated at synth time. `input` is the JSON the function
    receives; it may use Scheduler's context attributes, e.g. ``"<aws.scheduler.scheduled-time>"``.
    `enabled=False` pauses the job without deleting it.

    Attributes: `schedule`, `schedule_group`, `role` (the one Scheduler assumes), `dead_letter_queue`,
    `function`, `failed_runs_alarm` and `dead_letter_alarm` (None without alarms or turned off).

    Alarms (`alarm_settings` changes them by name; `ALARMS` holds the defaults): ``failed_runs``
    (warning: a run failed in 5 minutes; Lambda retries it) and ``dead_letter`` (critical: a run is
    in this job's or the function's dead-letter queue). Missing data is healthy: no run, no failure.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: ServerlessFunction,
        schedule: str,
        time_zone: str = DEFAULT_TIME_ZONE,
        flexible_time_window: Duration | None = None,
        input: Mapping[str, Any] | None = None,
        description: str | None = None,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_event_age: Duration = DEFAULT_MAX_EVENT_AGE,
        enabled: bool = True,
        alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_settings: AlarmSettings | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        try:
            _schedules.parse_schedule(schedule)
        except ValueError as error:
            errors.add("schedule", f"{error}")
        zone_problem = _schedules.time_zone_error(time_zone)
        if zone_problem:
            errors.add("time_zone", zone_problem)
        errors.check(
            function.dead_letter_queue is not None,
            "function",
            "Scheduler invokes it asynchronously; create the ServerlessFunction with "
            "invoked_asynchronously=True so a failed run lands in its dead-letter queue",
        )
        # Durations and numbers from tokens (CfnParameters) are not judged: they resolve at deploy.
        check_token_unit(errors, "flexible_time_window", flexible_time_window, "minutes")
        window_is_token = flexible_time_window is not None and _resolved.is_unresolved_duration(
            flexible_time_window
        )
        if flexible_time_window is not None and not window_is_token:
            minutes = flexible_time_window.to_minutes(integral=False)
            errors.check(
                minutes == int(minutes)
                and 1 <= minutes <= _resolved.to_milliseconds(MAX_FLEXIBLE_WINDOW) / 60_000,
                "flexible_time_window",
                "must be whole minutes between 1 minute and 24 hours; leave it unset to run on time",
            )
        check_target_retry_policy(errors, retry_attempts, max_event_age, service="Scheduler")
        errors.check(
            description is None or len(description) <= MAX_DESCRIPTION_LENGTH,
            "description",
            f"must be at most {MAX_DESCRIPTION_LENGTH} characters",
        )
        errors.check(
            alarms or alarm_topic is None,
            "alarm_topic",
            "is the action of the job's alarms; set alarms=True or remove it",
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the job's"
        )
        # Scheduler's Lambda target takes well-formed JSON only: no sets or objects, no NaN or Infinity.
        rendered_input = "{}"
        try:
            rendered_input = json.dumps(dict(input or {}), allow_nan=False)
        except (TypeError, ValueError) as error:
            errors.add("input", f"must be a JSON object Scheduler can send as the event ({error})")
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self.function = function.function
        self._serverless_function = function
        # A group of its own: Scheduler publishes its metrics per group, so they are this job's. It holds
        # no data, and retained it would block a re-created stack from taking its name again.
        self.schedule_group = scheduler.ScheduleGroup(self, "Group", removal_policy=RemovalPolicy.DESTROY)
        path = path_of(self)
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", holds=f"the runs Scheduler could not deliver for {path}"
        )
        dead_letter_arn = self.dead_letter_queue.queue_arn
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "SchedulerRole",
            description=f"EventBridge Scheduler runs {path} with this role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": self.schedule_group.schedule_group_arn},
                },
            ),
        )
        # Exactly what runs (the function's live alias with a gradual deployment, else the unqualified
        # function) and this queue; no CDK grant, whose invoke grant would add every version and alias.
        invoked_arn = function.invocation_target.function_arn
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[invoked_arn])
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dead_letter_arn]))
        acknowledge(
            self.role,
            reason="The role's own policy allows only invoking this job's function and sending to its "
            "dead-letter queue; a managed policy would add an attachable copy without narrowing anything.",
            cdk_nag=in_packs("IAMNoInlinePolicy", *COMPLIANCE_PACKS),
        )
        target = _InvokeFunction(
            function_arn=invoked_arn,
            role=self.role,
            dead_letter_arn=dead_letter_arn,
            # Schedule range-checks the retry policy and throws through jsii on a token, which
            # CloudFormation checks instead: a token goes on the resource below, the default meanwhile.
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_retry_attempts=DEFAULT_RETRY_ATTEMPTS
                if _resolved.is_unresolved_number(retry_attempts)
                else retry_attempts,
                maximum_event_age_in_seconds=int(
                    _resolved.to_seconds(
                        DEFAULT_MAX_EVENT_AGE
                        if _resolved.is_unresolved_duration(max_event_age)
                        else max_event_age
                    )
                ),
            ),
            input=rendered_input,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.expression(schedule, TimeZone.of(time_zone)),
            target=target,
            schedule_group=self.schedule_group,
            description=description,
            enabled=enabled,
            time_window=(
                scheduler.TimeWindow.flexible(flexible_time_window)
                if flexible_time_window is not None and not window_is_token
                else scheduler.TimeWindow.off()
            ),
        )
        _place_token_settings(self.schedule, retry_attempts, max_event_age, flexible_time_window)
        # The role must hold its permissions before the first run.
        self.schedule.node.add_dependency(self.role)

        self.failed_runs_alarm: cloudwatch.Alarm | None = None
        self.dead_letter_alarm: cloudwatch.Alarm | None = None
        if alarms:
            self.failed_runs_alarm = threshold_alarm(
                self,
                "FailedRunsAlarm",
                self.metric_failed_runs(period=ALARM_PERIOD),
                threshold=1,
                description=f"{path}: a run of the job failed; Lambda retries it, then sends it "
                "to the function's dead-letter queue. Look at the function's logs.",
                topic=alarm_topic,
                name="failed_runs",
                settings=alarm_settings,
                default=ALARMS["failed_runs"],
            )
            assert function.dead_letter_queue is not None  # validated above
            self.dead_letter_alarm = threshold_alarm(
                self,
                "DeadLetterAlarm",
                _metrics.math_expression(
                    "undelivered + failed",
                    {
                        "undelivered": messages_waiting(self.dead_letter_queue),
                        "failed": messages_waiting(function.dead_letter_queue),
                    },
                    period=ALARM_PERIOD,
                    label="Runs dead-lettered by Scheduler or Lambda",
                ),
                threshold=1,
                description=f"{path}: runs were dead-lettered: Scheduler could not deliver them "
                "(this job's queue) or they failed every retry (the function's queue). Fix the cause, "
                "then run the job again.",
                topic=alarm_topic,
                name="dead_letter",
                settings=alarm_settings,
                default=ALARMS["dead_letter"],
            )

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """The job's AWS/Scheduler metric `metric_name` (dimension ``ScheduleGroup``: the job's own group),
        over `period` (five minutes by default). The dashboard's graphs of this job get their metrics here."""
        return _metrics.schedule_group(self.schedule_group).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def metric_invocation_attempts(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Runs Scheduler started (AWS/Scheduler ``InvocationAttemptCount``), summed."""
        return self.metric("InvocationAttemptCount", statistic=statistic, period=period, label=label)

    def metric_target_errors(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Runs Scheduler failed to deliver to the function (``TargetErrorCount``), summed."""
        return self.metric("TargetErrorCount", statistic=statistic, period=period, label=label)

    def metric_invocations_sent_to_dead_letter(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Runs Scheduler gave up on and dead-lettered (``InvocationsSentToDeadLetterCount``), summed."""
        return self.metric(
            "InvocationsSentToDeadLetterCount", statistic=statistic, period=period, label=label
        )

    def metric_failed_runs(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Runs the function failed (its ``Errors``, summed): the failed-runs alarm's metric."""
        return self._serverless_function.metric_errors(statistic=statistic, period=period, label=label)

    @property
    def schedule_name(self) -> str:
        return self.schedule.schedule_name


@jsii.implements(scheduler.IScheduleTarget)
class _InvokeFunction:
    """A Scheduler target invoking one function with the job's role, retry policy and dead-letter queue."""

    def __init__(
        self,
        *,
        function_arn: str,
        role: iam.IRole,
        dead_letter_arn: str,
        retry_policy: scheduler.CfnSchedule.RetryPolicyProperty,
        input: str,
    ) -> None:
        self._config = scheduler.ScheduleTargetConfig(
            arn=function_arn,
            role=role,
            dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letter_arn),
            retry_policy=retry_policy,
            input=scheduler.ScheduleTargetInput.from_text(input),
        )

    def bind(self, _schedule: scheduler.ISchedule) -> scheduler.ScheduleTargetConfig:
        return self._config


def _place_token_settings(
    schedule: scheduler.Schedule,
    retry_attempts: int,
    max_event_age: Duration,
    flexible_time_window: Duration | None,
) -> None:
    """Settings from tokens (CfnParameters) go on the CfnSchedule: the Schedule construct range-checks
    them and throws through jsii on a token, which CloudFormation checks instead."""
    retry_token = _resolved.is_unresolved_number(retry_attempts)
    age_token = _resolved.is_unresolved_duration(max_event_age)
    window_token = flexible_time_window is not None and _resolved.is_unresolved_duration(flexible_time_window)
    if not (retry_token or age_token or window_token):
        return  # the usual case: no CfnSchedule to look up
    cfn_schedule = schedule.node.default_child
    assert isinstance(cfn_schedule, scheduler.CfnSchedule)
    if retry_token:
        cfn_schedule.add_property_override("Target.RetryPolicy.MaximumRetryAttempts", retry_attempts)
    if age_token:
        cfn_schedule.add_property_override(
            "Target.RetryPolicy.MaximumEventAgeInSeconds", max_event_age.to_seconds()
        )
    if window_token:
        assert flexible_time_window is not None
        # TimeWindow.flexible range-checks its duration and throws through jsii on a token too.
        cfn_schedule.flexible_time_window = scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode="FLEXIBLE", maximum_window_in_minutes=flexible_time_window.to_minutes()
        )
