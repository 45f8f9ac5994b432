"""ServerlessApi's stage alarms: 5XX rate (critical) and p99 latency (warning), with their defaults."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from aws_cdk import Token
from aws_cdk import aws_cloudwatch as cloudwatch

from constructs_lib import _resolved
from constructs_lib._alarms import ALARM_PERIOD, AlarmDefault, AlarmLevel, threshold_alarm
from constructs_lib._api_settings import (
    DEFAULT_LATENCY_P99_THRESHOLD,
    DEFAULT_SERVER_ERROR_RATE_THRESHOLD,
    ApiAlarms,
)
from constructs_lib._paths import path_of

if TYPE_CHECKING:
    from constructs_lib.serverless_api import ServerlessApi

# The alarms by name, with their defaults (`alarms.settings` changes them): in 2 of 3 five-minute periods,
# 5XX is critical (requests fail), latency a warning (they succeed, slowly). No requests is healthy.
_API_ALARM = AlarmDefault(
    threshold=0,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    duration_unit="milliseconds",
)
ALARMS = {
    "server_error_rate": replace(_API_ALARM, threshold=DEFAULT_SERVER_ERROR_RATE_THRESHOLD),
    "latency_p99": replace(
        _API_ALARM,
        threshold=_resolved.to_milliseconds(DEFAULT_LATENCY_P99_THRESHOLD),
        level=AlarmLevel.WARNING,
    ),
}


def stage_alarms(scope: ServerlessApi, alarms: ApiAlarms) -> list[cloudwatch.Alarm]:
    """The stage's alarms, on the API's `metric_*` methods, as `alarms` tunes them (minus those off)."""
    topic, settings = alarms.topic, alarms.settings
    error_rate, latency_ms = (
        alarms.server_error_rate_threshold,
        _resolved.to_milliseconds(alarms.latency_p99_threshold),
    )
    # A threshold from a token (a CfnParameter) reaches the description as a reference: no format spec.
    rate_text = (
        Token.as_string(error_rate) if _resolved.is_unresolved_number(error_rate) else f"{error_rate:.1%}"
    )
    latency_text = (
        Token.as_string(latency_ms) if _resolved.is_unresolved_number(latency_ms) else f"{latency_ms:.0f}"
    )
    path = path_of(scope)  # read once: each read is a jsii call
    server_errors = threshold_alarm(
        scope,
        "ServerErrorRateAlarm",
        scope.metric_server_error(statistic="Average", period=ALARM_PERIOD),
        threshold=error_rate,
        description=f"More than {rate_text} of requests to {path} fail with 5XX.",
        topic=topic,
        name="server_error_rate",
        settings=settings,
        default=replace(ALARMS["server_error_rate"], threshold=error_rate),
    )
    slow = threshold_alarm(
        scope,
        "LatencyP99Alarm",
        scope.metric_latency(statistic="p99", period=ALARM_PERIOD),
        threshold=latency_ms,
        description=f"The slowest 1 % of requests to {path} take over {latency_text} ms.",
        topic=topic,
        name="latency_p99",
        settings=settings,
        default=replace(ALARMS["latency_p99"], threshold=latency_ms),
    )
    return [alarm for alarm in (server_errors, slow) if alarm is not None]
