"""ScheduledJob: a Scheduler schedule invoking a function, with retries, dead letters and alarms."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.scheduled_job import ScheduledJob
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import TEST_ENV, cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
SCHEDULE = "AWS::Scheduler::Schedule"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    defaults_stack = new_stack(app, "Defaults")
    sweep = ScheduledJob(
        defaults_stack,
        "Sweep",
        function=ServerlessFunction(defaults_stack, "Sweeper", entry=ECHO, invoked_asynchronously=True),
        schedule="rate(1 hour)",
    )
    full = new_stack(app, "Full")
    report = ScheduledJob(
        full,
        "Report",
        function=ServerlessFunction(full, "Reporter", entry=ECHO, invoked_asynchronously=True),
        schedule="cron(0 7 ? * MON-FRI *)",
        time_zone="Europe/Paris",
        flexible_time_window=Duration.minutes(15),
        input={"report": "daily", "scheduledTime": "<aws.scheduler.scheduled-time>"},
        description="Weekday morning report",
        retry_attempts=3,
        max_event_age=Duration.minutes(30),
        enabled=False,
        alarm_topic=sns.Topic.from_topic_arn(full, "Alarms", TOPIC_ARN),
    )
    once = ScheduledJob(
        full,
        "Once",
        function=ServerlessFunction(full, "Migrator", entry=ECHO, invoked_asynchronously=True),
        schedule="at(2027-01-01T09:00:00)",
        alarms=False,
    )
    return {"templates": synth_templates(app), "sweep": sweep, "report": report, "once": once}


def _schedule(template: Template, prefix: str) -> dict[str, Any]:
    (found,) = [r for k, r in template.find_resources(SCHEDULE).items() if k.startswith(prefix)]
    return dict(found["Properties"])


# Defaults.


def test_schedule_runs_the_function_on_time_in_utc_in_its_own_group(defaults: Template) -> None:
    schedule = _schedule(defaults, "Sweep")
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    assert schedule["GroupName"] == "Defaults-Sweep-Group-ACC7AD80"  # generated from the construct path
    assert schedule["Target"]["Arn"]["Fn::GetAtt"][0].startswith("SweeperFunction")
    (group,) = defaults.find_resources("AWS::Scheduler::ScheduleGroup").values()
    assert group["DeletionPolicy"] == "Delete"  # it holds no data


def test_delivery_retried_for_an_hour_then_dead_lettered(defaults: Template) -> None:
    target = _schedule(defaults, "Sweep")["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("SweepDeadLetterQueue")
    assert target["Input"] == "{}"


def test_role_is_trusted_by_scheduler_for_this_account_and_group_only(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": TEST_ENV.account},
                            "ArnEquals": {
                                "aws:SourceArn": {
                                    "Fn::GetAtt": [Match.string_like_regexp("^SweepGroup"), "Arn"]
                                }
                            },
                        },
                    }
                ]
            }
        },
    )


def test_role_may_invoke_exactly_the_function_and_send_to_the_queue(defaults: Template) -> None:
    (policy,) = [
        p
        for k, p in defaults.find_resources("AWS::IAM::Policy").items()
        if k.startswith("SweepSchedulerRole")
    ]
    invoke, send = policy["Properties"]["PolicyDocument"]["Statement"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"]["Fn::GetAtt"][0].startswith("SweeperFunction")
    assert invoke["Resource"]["Fn::GetAtt"][1] == "Arn"
    assert send["Action"] == "sqs:SendMessage"
    assert send["Resource"]["Fn::GetAtt"][0].startswith("SweepDeadLetterQueue")


def test_dead_letter_queue_is_encrypted_tls_only_and_kept_14_days(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )
    defaults.resource_count_is("AWS::SQS::QueuePolicy", 2)  # the job's queue and the function's


def test_alarms_on_failed_runs_and_both_dead_letter_queues(defaults: Template) -> None:
    defaults.has_resource_properties(
        ALARM, {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Threshold": 1}
    )
    defaults.has_resource_properties(
        ALARM,
        {
            "Metrics": Match.array_with(
                [Match.object_like({"Expression": "undelivered + failed", "Id": "expr_1"})]
            ),
            "Threshold": 1,
        },
    )
    defaults.resource_count_is(ALARM, 2)


def test_attributes(built: dict[str, Any]) -> None:
    sweep: ScheduledJob = built["sweep"]
    assert sweep.failed_runs_alarm is not None and sweep.dead_letter_alarm is not None
    assert sweep.schedule_name == sweep.schedule.schedule_name
    assert built["once"].dead_letter_alarm is None


# Options.


def test_cron_in_a_time_zone_with_a_window_paused(full: Template) -> None:
    schedule = _schedule(full, "Report")
    assert schedule["ScheduleExpression"] == "cron(0 7 ? * MON-FRI *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert schedule["State"] == "DISABLED"
    assert schedule["Description"] == "Weekday morning report"
    assert schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 1800}
    assert json.loads(schedule["Target"]["Input"]) == {
        "report": "daily",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
    }


def test_one_time_schedule(full: Template) -> None:
    assert _schedule(full, "Once")["ScheduleExpression"] == "at(2027-01-01T09:00:00)"


def test_alarms_notify_the_topic(full: Template) -> None:
    full.resource_properties_count_is(ALARM, {"AlarmActions": [TOPIC_ARN]}, 2)
    full.resource_count_is(ALARM, 2)  # none for the job without alarms


# Gates.


@pytest.mark.parametrize("stack", ["Defaults", "Full"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Full"]) == snapshot_json


# Bad input.


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Test")
    return {
        "stack": stack,
        "function": ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True),
        "sync": ServerlessFunction(stack, "Sync", entry=ECHO),
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        pytest.param(
            {"schedule": "rate(0 minutes)"},
            "Test/Bad: schedule: schedule expression 'rate(0 minutes)': the rate value '0' is not a positive "
            "whole number",
            id="rate",
        ),
        pytest.param(
            {"schedule": "cron(0 12 * * * *)"},
            "Test/Bad: schedule: schedule expression 'cron(0 12 * * * *)': exactly one of day-of-month (*) "
            "and day-of-week (*) must be '?'",
            id="cron-question-mark",
        ),
        pytest.param(
            {"schedule": "cron(0 12 * * ?)"},
            "Test/Bad: schedule: schedule expression 'cron(0 12 * * ?)': a cron has six fields (minutes "
            "hours day-of-month month day-of-week year), not 5",
            id="cron-fields",
        ),
        pytest.param(
            {"schedule": "every hour"},
            "Test/Bad: schedule: schedule expression 'every hour' is not rate(value unit), cron(minutes "
            "hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)",
            id="not-an-expression",
        ),
        pytest.param(
            {"time_zone": "Mars/Base"},
            "Test/Bad: time_zone: time zone 'Mars/Base' is not an IANA time zone name such as 'Europe/Paris' "
            "or 'UTC'",
            id="time-zone",
        ),
        pytest.param(
            {"function": "sync"},
            "Test/Bad: function: Scheduler invokes it asynchronously; create the ServerlessFunction with "
            "invoked_asynchronously=True so a failed run lands in its dead-letter queue",
            id="synchronous-function",
        ),
        pytest.param(
            {"flexible_time_window": Duration.hours(25)},
            "Test/Bad: flexible_time_window: must be whole minutes between 1 minute and 24 hours; leave it "
            "unset to run on time",
            id="window",
        ),
        pytest.param(
            {"retry_attempts": 186},
            "Test/Bad: retry_attempts: 186 is outside 0-185, Scheduler's limits",
            id="retries",
        ),
        pytest.param(
            {"max_event_age": Duration.seconds(30)},
            "Test/Bad: max_event_age: must be between 1 minute and 24 hours, Scheduler's limits",
            id="event-age",
        ),
        pytest.param(
            {"description": "x" * 513},
            "Test/Bad: description: must be at most 512 characters",
            id="description",
        ),
        pytest.param(
            {"input": {"a": {1, 2}}},
            "Test/Bad: input: must be a JSON object Scheduler can send as the event (Object of type set is "
            "not JSON serializable)",
            id="input-not-json",
        ),
        pytest.param(
            {"alarms": False, "alarm_topic": "topic"},
            "Test/Bad: alarm_topic: is the action of the job's alarms; set alarms=True or remove it",
            id="topic-without-alarms",
        ),
    ],
)
def test_invalid_props_raise(bad: dict[str, Any], props: dict[str, Any], message: str) -> None:
    stack: Stack = bad["stack"]
    if props.get("alarm_topic") == "topic":
        props = {**props, "alarm_topic": sns.Topic.from_topic_arn(stack, "Topic", TOPIC_ARN)}
    if props.get("function") == "sync":
        props = {**props, "function": bad["sync"]}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ScheduledJob(stack, "Bad", **{"function": bad["function"], "schedule": "rate(1 day)", **props})


def test_input_with_nan_is_refused_as_not_json(bad: dict[str, Any]) -> None:
    # Python's json writes NaN, which no JSON parser (Scheduler's included) reads; the text after the
    # reason varies with the Python version.
    message = (
        "Test/Bad: input: must be a JSON object Scheduler can send as the event (Out of range float values"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        ScheduledJob(
            bad["stack"],
            "Bad",
            function=bad["function"],
            schedule="rate(1 day)",
            input={"ratio": float("nan")},
        )


def test_every_problem_is_reported_at_once(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^Test/Bad: 2 invalid props:\n  - schedule: .*\n  - time_zone: "):
        ScheduledJob(
            bad["stack"], "Bad", function=bad["function"], schedule="rate(1 week)", time_zone="Nowhere"
        )
