"""The library's one alarm builder, and the settings teams tune its alarms with.

Every construct creates its alarms through `threshold_alarm`, so every alarm has the same shape:
its construct's default threshold, evaluation periods, datapoints and missing-data treatment
(each documented where the construct defines it), changed by the construct's `alarm_settings`,
alarm actions AND OK actions on every topic its level sends to (an on-call engineer learns of the
recovery as of the problem), and a level:

- ``critical``: something failed and waits for a person (a dead-lettered message, a failed run);
- ``warning``: something degrades and may recover by itself (a consumer behind, throttles).

`AlarmSettings.topics` receive every alarm besides the construct's `alarm_topic`;
`AlarmSettings.critical_topics` (a pager, say) receive only the critical ones.
"""

from __future__ import annotations

import enum
import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._metrics import text_and_period
from constructs_lib._validation import PropErrors, check_token_unit

# Five minutes: CloudWatch's standard resolution for AWS metrics, so one bad period alarms.
ALARM_PERIOD = _resolved.minutes(5)


class AlarmLevel(enum.Enum):
    """How urgent an alarm is: which topics it notifies."""

    WARNING = "warning"
    CRITICAL = "critical"


class AlarmFacts(NamedTuple):
    """What `threshold_alarm` passed to an alarm it made: the dashboard need not read it back."""

    metric: cloudwatch.IMetric
    level: AlarmLevel
    scope: Construct
    construct_id: str
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    evaluation_periods: int
    datapoints_to_alarm: int | None


# Each alarm `threshold_alarm` made in this process (each read back through jsii is a round trip).
_FACTS: weakref.WeakKeyDictionary[cloudwatch.Alarm, AlarmFacts] = weakref.WeakKeyDictionary()
# One action per topic: an SnsAction holds only its topic, and each is a jsii object.
_ACTIONS: weakref.WeakKeyDictionary[sns.ITopic, cloudwatch_actions.SnsAction] = weakref.WeakKeyDictionary()
# aws-cdk-lib's Alarm.toAnnotation writes the comparison operator so (alarm.ts, OPERATOR_SYMBOLS).
_OPERATOR_SYMBOLS = {
    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD: ">=",
    cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD: ">",
    cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD: "<",
    cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD: "<=",
}


def alarm_facts(alarm: cloudwatch.Alarm) -> AlarmFacts | None:
    """What `threshold_alarm` made `alarm` from; None for another alarm."""
    return _FACTS.get(alarm)


def annotation(alarm: cloudwatch.Alarm) -> cloudwatch.HorizontalAnnotation:
    """`alarm.to_annotation()`, built in Python for the alarms `threshold_alarm` made on this library's
    metrics (exactly as aws-cdk-lib's Alarm renders it; tests/constructs/test_alarm_annotations.py
    compares them), read through jsii (six round trips) for any other alarm."""
    facts = _FACTS.get(alarm)
    drawn = None if facts is None else text_and_period(facts.metric)
    if (
        facts is None
        or drawn is None
        or facts.comparison not in _OPERATOR_SYMBOLS
        or not math.isfinite(facts.threshold)
    ):
        return alarm.to_annotation()
    text, seconds = drawn
    datapoints = facts.datapoints_to_alarm or facts.evaluation_periods
    label = (
        f"{text} {_OPERATOR_SYMBOLS[facts.comparison]} {_js_number(facts.threshold)} for "
        f"{_js_number(datapoints)} datapoints within {_describe_period(facts.evaluation_periods * seconds)}"
    )
    return cloudwatch.HorizontalAnnotation(value=facts.threshold, label=label)


def _describe_period(seconds: float) -> str:
    """aws-cdk-lib's `describePeriod` (alarm.ts)."""
    if seconds == 60:
        return "1 minute"
    if seconds == 1:
        return "1 second"
    if seconds > 60:
        return f"{_js_number(seconds / 60)} minutes"
    return f"{_js_number(seconds)} seconds"


def _js_number(value: float) -> str:
    """Finite `value` as JavaScript writes a number in a string (ECMAScript Number::toString): the
    shortest digits that round-trip (as Python's repr), placed by JavaScript's rules (no ".0",
    exponents only from 1e21 and below 1e-6)."""
    if value == 0:
        return "0"
    _, digit_tuple, exponent = Decimal(repr(float(abs(value)))).normalize().as_tuple()
    assert isinstance(exponent, int)  # a finite number
    digits = "".join(map(str, digit_tuple))
    point = exponent + len(digits)  # the value is 0.<digits> x 10^point
    if len(digits) <= point <= 21:
        text = digits + "0" * (point - len(digits))
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = f"0.{'0' * -point}{digits}"
    else:
        mantissa = digits if len(digits) == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if point > 0 else '-'}{abs(point - 1)}"
    return ("-" if value < 0 else "") + text


@dataclass(frozen=True)
class AlarmSetting:
    """A change to one of a construct's alarms; every field left None keeps the construct's default.

    `threshold` is in the alarm's metric unit (each construct's page lists it); a `Duration` is
    accepted for alarms on ages and latencies. `enabled=False` turns the alarm off.
    """

    enabled: bool = True
    threshold: float | Duration | None = None
    evaluation_periods: int | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: cloudwatch.TreatMissingData | None = None
    level: AlarmLevel | None = None


@dataclass(frozen=True)
class AlarmSettings:
    """A construct's alarm settings: changes by alarm name, and the topics its alarms notify.

    `alarms` maps an alarm's name (each construct documents its names and defaults) to an
    `AlarmSetting`, or to False to turn it off. `topics` get every alarm (beside the construct's
    `alarm_topic`), `critical_topics` only the critical ones.
    """

    alarms: Mapping[str, AlarmSetting | bool] = field(default_factory=dict)
    topics: Sequence[sns.ITopic] = ()
    critical_topics: Sequence[sns.ITopic] = ()

    def setting(self, name: str) -> AlarmSetting:
        value = self.alarms.get(name, True)
        if isinstance(value, bool):
            return AlarmSetting(enabled=value)
        return value


@dataclass(frozen=True)
class AlarmDefault:
    """One alarm as a construct defines it by default."""

    threshold: float
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None  # None: all evaluation periods
    # Missing data is healthy by default: no messages, records or runs means nothing failed.
    treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING
    level: AlarmLevel = AlarmLevel.CRITICAL
    comparison: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    )
    duration_unit: str = "seconds"  # how a Duration threshold converts: "seconds" or "milliseconds"


def check_alarm_settings(
    errors: PropErrors,
    settings: AlarmSettings | None,
    defaults: Mapping[str, AlarmDefault],
    *,
    alarms_on: bool,
    topic: sns.ITopic | None,
    what: str,
) -> None:
    """Record every problem with `settings` for a construct whose alarms are `defaults`."""
    if settings is None:
        return
    known = sorted(defaults)
    errors.check(
        alarms_on,
        "alarm_settings",
        f"tunes {what} alarms, which are off; set alarms=True or remove alarm_settings",
    )
    errors.check(
        topic is not None or bool(settings.topics),
        "alarm_settings",
        "are given without an alarm topic: pass alarm_topic (or AlarmSettings.topics), or the tuned alarms "
        "notify no one",
    )
    for name, value in settings.alarms.items():
        if name not in known:
            errors.add(
                "alarm_settings",
                f"names no alarm '{name}' of {what}; its alarms are: {', '.join(known)}",
            )
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value.threshold, Duration):
            unit = "millis" if defaults[name].duration_unit == "milliseconds" else "seconds"
            check_token_unit(errors, f"alarm_settings: '{name}': threshold", value.threshold, unit)
        # Numbers from tokens (a CfnParameter) are not judged: they compare as a huge negative float.
        numbers = (value.evaluation_periods, value.datapoints_to_alarm)
        if any(number is not None and _resolved.is_unresolved_number(number) for number in numbers):
            continue
        if value.evaluation_periods is not None and value.evaluation_periods < 1:
            errors.add("alarm_settings", f"'{name}': evaluation_periods must be at least 1")
        periods = value.evaluation_periods or defaults[name].evaluation_periods
        if value.datapoints_to_alarm is not None and not 1 <= value.datapoints_to_alarm <= periods:
            errors.add(
                "alarm_settings",
                f"'{name}': datapoints_to_alarm must be between 1 and evaluation_periods ({periods})",
            )


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.IMetric,
    *,
    threshold: float,
    description: str,
    topic: sns.ITopic | None,
    name: str = "",
    settings: AlarmSettings | None = None,
    default: AlarmDefault | None = None,
) -> cloudwatch.Alarm | None:
    """The alarm `name` on `metric`: `default` (by default: `threshold` reached in one period,
    missing data healthy, critical) changed by `settings`; None when `settings` turn it off.

    It notifies `topic` and the settings' topics for its level, both when it fires and when it is OK.
    """
    base = default or AlarmDefault(threshold=threshold)
    change = (settings or AlarmSettings()).setting(name)
    if not change.enabled:
        return None
    value = base.threshold if change.threshold is None else change.threshold
    if isinstance(value, Duration):
        value = value.to_milliseconds() if base.duration_unit == "milliseconds" else value.to_seconds()
    periods = change.evaluation_periods or base.evaluation_periods
    # A lower evaluation_periods setting caps the default's datapoints (settings' own are validated).
    datapoints = change.datapoints_to_alarm or base.datapoints_to_alarm
    if (
        datapoints is not None
        and not _resolved.is_unresolved_number(datapoints)
        and not _resolved.is_unresolved_number(periods)
        and datapoints > periods
    ):
        datapoints = periods
    level = change.level or base.level
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=value,
        evaluation_periods=periods,
        datapoints_to_alarm=datapoints,
        comparison_operator=base.comparison,
        treat_missing_data=change.treat_missing_data or base.treat_missing_data,
        alarm_description=description,
    )
    _FACTS[alarm] = AlarmFacts(
        metric, level, scope, construct_id, value, base.comparison, periods, datapoints
    )
    topics: list[sns.ITopic] = [topic] if topic is not None else []
    if settings is not None:
        topics += settings.topics
        if level is AlarmLevel.CRITICAL:
            topics += settings.critical_topics
    if topics:
        actions = [_action(target) for target in topics]
        alarm.add_alarm_action(*actions)
        alarm.add_ok_action(*actions)
    return alarm


def _action(topic: sns.ITopic) -> cloudwatch_actions.SnsAction:
    action = _ACTIONS.get(topic)
    if action is None:
        action = _ACTIONS[topic] = cloudwatch_actions.SnsAction(topic)
    return action
