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
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib._validation import PropErrors, check_token_unit

# Five minutes: CloudWatch's standard resolution for AWS metrics, so one bad period alarms.
ALARM_PERIOD = Duration.minutes(5)


class AlarmLevel(enum.Enum):
    """How urgent an alarm is: which topics it notifies."""

    WARNING = "warning"
    CRITICAL = "critical"


# The metric and level of each alarm `threshold_alarm` made in this process, so that the dashboard
# need not read them back through jsii (the metadata above stays for the cloud assembly).
_FACTS: weakref.WeakKeyDictionary[cloudwatch.Alarm, tuple[cloudwatch.IMetric, AlarmLevel]] = (
    weakref.WeakKeyDictionary()
)


def alarm_facts(alarm: cloudwatch.Alarm) -> tuple[cloudwatch.IMetric, AlarmLevel] | None:
    """The metric and level of `alarm` if `threshold_alarm` made it; None for another alarm."""
    return _FACTS.get(alarm)


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
        if Token.is_unresolved(value.evaluation_periods) or Token.is_unresolved(value.datapoints_to_alarm):
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
        and not Token.is_unresolved(datapoints)
        and not Token.is_unresolved(periods)
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
    _FACTS[alarm] = (metric, level)
    topics: list[sns.ITopic] = [topic] if topic is not None else []
    if settings is not None:
        topics += settings.topics
        if level is AlarmLevel.CRITICAL:
            topics += settings.critical_topics
    for target in topics:
        action = cloudwatch_actions.SnsAction(target)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    return alarm
