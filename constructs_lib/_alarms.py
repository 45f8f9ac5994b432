"""The one shape of the library's event-driven alarms: a threshold crossed once, sent to the alarm topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

# Five minutes: CloudWatch's standard resolution for AWS metrics, so one bad period alarms.
ALARM_PERIOD = Duration.minutes(5)


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.IMetric,
    *,
    threshold: float,
    description: str,
    topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """An alarm when `metric` reaches `threshold` in one period, notifying `topic` (if any).

    Missing data is healthy: no messages, records or runs means nothing failed.
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    if topic is not None:
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm
