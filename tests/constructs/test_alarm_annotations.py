"""The dashboard's annotations built in Python equal aws-cdk-lib's own `Alarm.to_annotation()`.

`_alarms.annotation` writes the label of each alarm `threshold_alarm` made, so ServiceDashboard need
not read it back through jsii: here every shape of alarm the library can make is compared with what
aws-cdk-lib renders (comparison operators, datapoints, evaluation periods, metric periods, labels,
math expressions, awkward numbers and tokens).
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch

from constructs_lib import _metrics
from constructs_lib._alarms import (
    AlarmDefault,
    AlarmSetting,
    AlarmSettings,
    alarm_facts,
    annotation,
    threshold_alarm,
)
from tests.cdk import new_app, new_stack, number_token

Op = cloudwatch.ComparisonOperator
SOURCE = _metrics.MetricSource("AWS/SQS", {"QueueName": "jobs"})


@pytest.fixture(scope="module")
def stack() -> Stack:
    return new_stack(new_app())


def _fields(annotation: cloudwatch.HorizontalAnnotation) -> dict[str, Any]:
    """Its fields, the value as the double JavaScript gets (jsii reads 1.2345678901234568e+20 back as
    the int 123456789012345680000: the same double, unequal in Python)."""
    fields = {name: getattr(annotation, name) for name in ("label", "color", "fill", "visible")}
    return {"value": float(annotation.value), **fields}


def _metric(period: Duration | None, label: str | None = None) -> cloudwatch.IMetric:
    return SOURCE.metric(
        "ApproximateNumberOfMessagesVisible", statistic="Maximum", period=period, label=label
    )


def _expression(label: str | None) -> cloudwatch.IMetric:
    using = {"a": _metric(Duration.minutes(1)), "b": _metric(Duration.minutes(5), "b")}
    return _metrics.math_expression("a + b", using, period=Duration.minutes(2), label=label)


# (metric, threshold, AlarmDefault changes, settings' AlarmSetting)
SHAPES: list[tuple[str, Any]] = [
    ("default period, no label", lambda s: (_metric(None), 1, {}, None)),
    ("one minute", lambda s: (_metric(Duration.minutes(1)), 1, {}, None)),
    ("labelled", lambda s: (_metric(Duration.minutes(1), "Waiting"), 5, {}, None)),
    ("empty label", lambda s: (_metric(Duration.minutes(1), ""), 5, {}, None)),
    ("one second", lambda s: (_metric(Duration.seconds(1)), 1, {}, None)),
    ("ten seconds x 3", lambda s: (_metric(Duration.seconds(10)), 1, {"evaluation_periods": 3}, None)),
    ("90 s: 1.5 minutes", lambda s: (_metric(Duration.seconds(30)), 1, {"evaluation_periods": 3}, None)),
    (
        "5 min x 3, 2 datapoints",
        lambda s: (_metric(None), 0, {"evaluation_periods": 3, "datapoints_to_alarm": 2}, None),
    ),
    (">", lambda s: (_metric(None), 0.01, {"comparison": Op.GREATER_THAN_THRESHOLD}, None)),
    ("<", lambda s: (_metric(None), 2560.0, {"comparison": Op.LESS_THAN_THRESHOLD}, None)),
    ("<=", lambda s: (_metric(None), -3.5, {"comparison": Op.LESS_THAN_OR_EQUAL_TO_THRESHOLD}, None)),
    ("tiny threshold", lambda s: (_metric(None), 1e-7, {}, None)),
    ("small threshold", lambda s: (_metric(None), 0.000001, {}, None)),
    ("huge threshold", lambda s: (_metric(None), 1e21, {}, None)),
    ("large threshold", lambda s: (_metric(None), 123456789012345680000.0, {}, None)),
    ("a third", lambda s: (_metric(None), 1 / 3, {}, None)),
    ("math expression", lambda s: (_expression(None), 1, {}, None)),
    ("labelled math expression", lambda s: (_expression("Sum"), 1, {"evaluation_periods": 2}, None)),
    ("token threshold", lambda s: (_metric(None), number_token(s, "Threshold"), {}, None)),
    (
        "token evaluation periods",
        lambda s: (_metric(None), 1, {}, AlarmSetting(evaluation_periods=number_token(s, "Periods"))),
    ),
    (
        "settings' periods and datapoints",
        lambda s: (
            _metric(Duration.minutes(1)),
            1,
            {},
            AlarmSetting(evaluation_periods=4, datapoints_to_alarm=3),
        ),
    ),
    (
        "duration threshold in milliseconds",
        lambda s: (
            _metric(None),
            1,
            {"duration_unit": "milliseconds"},
            AlarmSetting(threshold=Duration.seconds(3)),
        ),
    ),
    (
        "duration threshold in seconds",
        lambda s: (_metric(None), 1, {}, AlarmSetting(threshold=Duration.minutes(2))),
    ),
]


@pytest.mark.parametrize("shape", [shape for _, shape in SHAPES], ids=[name for name, _ in SHAPES])
def test_the_python_annotation_is_aws_cdk_libs(
    stack: Stack, shape: Any, request: pytest.FixtureRequest
) -> None:
    metric, threshold, changes, setting = shape(stack)
    settings = AlarmSettings(alarms={"alarm": setting}) if setting is not None else None
    alarm = threshold_alarm(
        stack,
        f"Alarm{request.node.callspec.id}".replace(" ", ""),
        metric,
        threshold=threshold,
        description="test",
        topic=None,
        name="alarm",
        settings=settings,
        default=AlarmDefault(threshold=threshold, **changes),
    )
    assert alarm is not None
    facts = alarm_facts(alarm)
    assert facts is not None
    assert _metrics.text_and_period(facts.metric) is not None  # built in Python, not read back
    assert _fields(annotation(alarm)) == _fields(alarm.to_annotation())


def test_other_alarms_are_read_through_jsii(stack: Stack) -> None:
    """An alarm made elsewhere, or on a metric made elsewhere, gets aws-cdk-lib's own annotation."""
    metric = cloudwatch.Metric(namespace="App", metric_name="Orders", period=Duration.minutes(1))
    own = cloudwatch.Alarm(stack, "Own", metric=metric, threshold=3, evaluation_periods=2)
    library = threshold_alarm(stack, "OnOther", metric, threshold=3, description="test", topic=None)
    assert library is not None
    assert alarm_facts(own) is None
    for alarm in (own, library):
        assert _fields(annotation(alarm)) == _fields(alarm.to_annotation())
