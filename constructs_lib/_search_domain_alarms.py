"""SearchDomain's CloudWatch alarms on the domain's health metrics, and their defaults (AWS's guidance)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns

from constructs_lib import _resolved
from constructs_lib._alarms import ALARM_PERIOD, AlarmDefault, AlarmLevel, AlarmSettings, threshold_alarm
from constructs_lib._paths import path_of

if TYPE_CHECKING:
    from constructs_lib.search_domain import SearchDomain

_FREE_STORAGE_FRACTION = 0.25  # AWS recommends alarming at 25 % of a node's storage left
_CPU_THRESHOLD = 80  # percent, sustained 15 minutes: AWS's recommended alarm
_JVM_THRESHOLD = 95  # percent: above 95 % OpenSearch starts rejecting requests (AWS guidance)
# Missing data is MISSING (the alarm keeps its state) for the domain's health metrics, which a live
# domain publishes every minute; ClusterRed alone treats it as breaching: a domain that stops
# publishing it is down.
_MISSING = cloudwatch.TreatMissingData.MISSING
# The alarms by name, with their defaults (`alarm_settings` changes them; free_storage's threshold is
# 25 % of a node's volume, in MB). Data at risk or writes failing is critical; a degraded but working
# cluster (yellow, CPU, JVM pressure, a failed snapshot) is a warning.
ALARMS = {
    "cluster_red": AlarmDefault(
        threshold=1, treat_missing_data=cloudwatch.TreatMissingData.BREACHING, level=AlarmLevel.CRITICAL
    ),
    "cluster_yellow": AlarmDefault(
        threshold=1, evaluation_periods=5, treat_missing_data=_MISSING, level=AlarmLevel.WARNING
    ),
    "free_storage": AlarmDefault(
        threshold=0,
        treat_missing_data=_MISSING,
        level=AlarmLevel.CRITICAL,
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    ),
    "index_writes_blocked": AlarmDefault(threshold=1, treat_missing_data=_MISSING, level=AlarmLevel.CRITICAL),
    "cpu": AlarmDefault(
        threshold=_CPU_THRESHOLD, evaluation_periods=3, treat_missing_data=_MISSING, level=AlarmLevel.WARNING
    ),
    "jvm_memory_pressure": AlarmDefault(
        threshold=_JVM_THRESHOLD, evaluation_periods=3, treat_missing_data=_MISSING, level=AlarmLevel.WARNING
    ),
    "snapshot_failure": AlarmDefault(threshold=1, treat_missing_data=_MISSING, level=AlarmLevel.WARNING),
}


def add_alarms(
    search: SearchDomain,
    volume_size_gib: int,
    topic: sns.ITopic | None,
    settings: AlarmSettings | None,
) -> dict[str, cloudwatch.Alarm]:
    """The domain's alarms (in `search`, on its `metric_*` methods) by name, those turned off left out."""
    free_storage_mb = volume_size_gib * 1024 * _FREE_STORAGE_FRACTION
    minute = _resolved.minutes(1)  # the status, storage and snapshot metrics: one bad minute alarms
    specs: list[tuple[str, str, cloudwatch.Metric, float, str]] = [
        (
            "ClusterRed",
            "cluster_red",
            search.metric_cluster_status_red(period=minute),
            1,
            "at least one primary shard is unassigned: searches miss data and writes fail",
        ),
        (
            "ClusterYellow",
            "cluster_yellow",
            search.metric_cluster_status_yellow(period=minute),
            1,
            "replica shards are unassigned: one more node failure loses data (a one-node domain is "
            "always yellow unless its indexes have no replicas)",
        ),
        (
            "FreeStorage",
            "free_storage",
            search.metric_free_storage_space(period=minute),
            free_storage_mb,
            "a node has 25 % or less of its storage left: grow the volumes or delete indexes",
        ),
        (
            "IndexWritesBlocked",
            "index_writes_blocked",
            search.metric_cluster_index_writes_blocked(period=ALARM_PERIOD),
            1,
            "the cluster blocks writes (storage or memory pressure): the indexer is failing",
        ),
        (
            "Cpu",
            "cpu",
            search.metric_cpu_utilization(period=ALARM_PERIOD),
            _CPU_THRESHOLD,
            "data node CPU has been 80 % or more for 15 minutes: scale up or out",
        ),
        (
            "JvmMemoryPressure",
            "jvm_memory_pressure",
            search.metric_jvm_memory_pressure(period=ALARM_PERIOD),
            _JVM_THRESHOLD,
            "JVM memory pressure is 95 % or more: requests will be rejected; scale up",
        ),
        (
            "SnapshotFailure",
            "snapshot_failure",
            search.metric_automated_snapshot_failure(period=minute),
            1,
            "an automated snapshot failed: the domain has no recent backup",
        ),
    ]
    alarms: dict[str, cloudwatch.Alarm] = {}
    path = path_of(search)  # read once: each read is a jsii call
    for name, key, metric, threshold, problem in specs:
        alarm = threshold_alarm(
            search,
            f"{name}Alarm",
            metric,
            threshold=threshold,
            description=f"{path}: {problem}.",
            topic=topic,
            name=key,
            settings=settings,
            default=replace(ALARMS[key], threshold=threshold),
        )
        if alarm is not None:
            alarms[name] = alarm
    return alarms
