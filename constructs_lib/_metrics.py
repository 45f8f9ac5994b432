"""The library's one way to make a CloudWatch metric, and what each metric it made draws.

Every construct's `metric_*` methods build their metrics here, from the namespace, metric name and
dimensions of the resource (read from it once, then known in Python), exactly as aws-cdk-lib's own
`metric*` methods would: the same statistic, period, dimensions and stack (`attachTo`; DynamoDB's
TableV2 sets account and region instead), so templates do not change
(tests/constructs/test_metrics.py compares every same-named method; a Lambda version's dimensions
and the table's system-errors math are the deliberate differences, see `lambda_function` and
`CompositeKeyTable.metric_system_errors_for_operations`). Alarms and ServiceDashboard's graphs of
one metric therefore come from one method, and `key_of` tells the dashboard which data a metric
draws without reading it back through jsii (each read is a round trip to node; the dashboard
compares every alarm with every graph), and `text_and_period` gives what aws-cdk-lib writes of a
metric in an alarm's annotation. Metrics made elsewhere have no key here: the dashboard reads those.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from constructs_lib import _resolved


class _Env(NamedTuple):
    account: str
    region: str
    concrete_account: str | None
    concrete_region: str | None


# What identifies the data a metric draws: (namespace, name, dimensions) or ("expression", text, using).
MetricKey = tuple[object, ...]

_KEYS: weakref.WeakKeyDictionary[cloudwatch.IMetric, MetricKey] = weakref.WeakKeyDictionary()
# What aws-cdk-lib writes of a metric in strings (its label, else its name or expression) and its period.
_TEXTS: weakref.WeakKeyDictionary[cloudwatch.IMetric, tuple[str, Duration | None]] = (
    weakref.WeakKeyDictionary()
)
# aws-cdk-lib's period of a Metric or MathExpression made without one.
_DEFAULT_PERIOD_SECONDS = 300
_STACK_ENV: weakref.WeakKeyDictionary[Stack, _Env] = weakref.WeakKeyDictionary()
_SOURCES: weakref.WeakKeyDictionary[IConstruct, MetricSource] = weakref.WeakKeyDictionary()


def key_of(metric: cloudwatch.IMetric) -> MetricKey | None:
    """What `metric` draws, when this module made it; None for a metric made elsewhere."""
    return _KEYS.get(metric)


def text_and_period(metric: cloudwatch.IMetric) -> tuple[str, float] | None:
    """How aws-cdk-lib writes `metric` in strings (``label || metricName``, ``label || expression``) and
    its period in seconds, when this module made it; None for a metric made elsewhere."""
    found = _TEXTS.get(metric)
    if found is None:
        return None
    period = found[1]
    return found[0], _DEFAULT_PERIOD_SECONDS if period is None else _resolved.to_seconds(period)


def _stack_env(scope: IConstruct) -> _Env:
    """The account and region of `scope`'s stack: as they are, and only where concrete (not tokens)."""
    stack = Stack.of(scope)
    env = _STACK_ENV.get(stack)
    if env is None:
        account, region = stack.account, stack.region
        env = _Env(
            account,
            region,
            None if _resolved.is_unresolved_str(account) else account,
            None if _resolved.is_unresolved_str(region) else region,
        )
        _STACK_ENV[stack] = env
    return env


@dataclass(frozen=True)
class MetricSource:
    """The metrics of one resource: its namespace, dimensions and environment."""

    namespace: str
    dimensions: Mapping[str, str]
    # The metric's environment as aws-cdk-lib gives it: most metrics are attached to their stack (its
    # concrete account and region, rendered only where they differ from the graph's or the alarm's);
    # TableV2's carry its stack's account and region as overrides, which graphs always render.
    stack_account: str | None = None
    stack_region: str | None = None
    account: str | None = None
    region: str | None = None

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str,
        period: Duration | None = None,
        label: str | None = None,
        dimensions: Mapping[str, str] | None = None,
    ) -> cloudwatch.Metric:
        """The metric `metric_name` of this resource (`dimensions` added to its own)."""
        dimensions_map = {**self.dimensions, **(dimensions or {})}
        metric = cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=metric_name,
            dimensions_map=dimensions_map,
            statistic=statistic,
            period=period,
            label=label,
            stack_account=self.stack_account,
            stack_region=self.stack_region,
            account=self.account,
            region=self.region,
        )
        _KEYS[metric] = (self.namespace, metric_name, tuple(sorted(dimensions_map.items())))
        _TEXTS[metric] = (label or metric_name, period)
        return metric


def _source(
    resource: IConstruct,
    namespace: str,
    dimensions: Callable[[], Mapping[str, str]],
    *,
    override_environment: bool = False,
) -> MetricSource:
    """The metric source of `resource`, made once: `dimensions` (jsii reads) run only the first time."""
    found = _SOURCES.get(resource)
    if found is None:
        env = _stack_env(resource)
        if override_environment:
            found = MetricSource(namespace, dict(dimensions()), account=env.account, region=env.region)
        else:
            found = MetricSource(
                namespace,
                dict(dimensions()),
                stack_account=env.concrete_account,
                stack_region=env.concrete_region,
            )
        _SOURCES[resource] = found
    return found


# --- One source per kind of resource, with aws-cdk-lib's namespace and dimensions -------------------


def lambda_function(function: lambda_.IFunction) -> MetricSource:
    """A function's metrics. A Function's by ``FunctionName``; an alias's or a version's by the function's
    name and ``Resource`` ``<function>:<qualifier>``, as CloudWatch publishes them (their own
    `function_name` is ``<function>:<qualifier>``, which names no metric); any other function's as
    its own `metric` gives them.

    aws-cdk-lib's `Version.metric` means to add ``Resource`` but loses it (`FunctionBase.metric`'s
    ``dimensionsMap`` wins over the ``dimensions`` it passes), leaving ``FunctionName``
    ``<function>:<version>``: versions are the one place this module does not follow it.
    """
    if isinstance(function, lambda_.Alias):
        return lambda_alias(function)
    if isinstance(function, lambda_.Version):
        return _qualified(function, function.lambda_, lambda: function.version)
    if isinstance(function, lambda_.Function):
        return _source(function, "AWS/Lambda", lambda: {"FunctionName": function.function_name})
    # An alias or a version imported by its attributes (or a function's `latest_version`) is no Alias or
    # Version instance, but has their attributes: an IAlias `alias_name`, an IVersion `version`.
    alias_name = getattr(function, "alias_name", None)
    if isinstance(alias_name, str):
        return _qualified(function, function.version.lambda_, lambda: alias_name)  # type: ignore[attr-defined]
    version = getattr(function, "version", None)
    if isinstance(version, str):
        return _qualified(function, function.lambda_, lambda: version)  # type: ignore[attr-defined]
    return _source(function, "AWS/Lambda", lambda: _own_dimensions(function))


def _own_dimensions(function: lambda_.IFunction) -> Mapping[str, str]:
    return function.metric("Invocations").dimensions or {}


def _qualified(
    qualified: lambda_.IFunction, function: lambda_.IFunction, qualifier: Callable[[], str]
) -> MetricSource:
    """The metrics of an alias or a version of `function`: ``Resource`` is ``<function>:<qualifier>``."""

    def dimensions() -> dict[str, str]:
        name = function.function_name
        return {"FunctionName": name, "Resource": f"{name}:{qualifier()}"}

    return _source(qualified, "AWS/Lambda", dimensions)


def lambda_alias(alias: lambda_.Alias) -> MetricSource:
    """An alias's own metrics, as aws-cdk-lib's `Alias.metric`: ``Resource`` is ``<function>:<alias>``."""
    return _qualified(alias, alias.lambda_, lambda: alias.alias_name)


def queue(queue: sqs.IQueue) -> MetricSource:
    return _source(queue, "AWS/SQS", lambda: {"QueueName": queue.queue_name})


def table(table: dynamodb.ITableV2) -> MetricSource:
    return _source(table, "AWS/DynamoDB", lambda: {"TableName": table.table_name}, override_environment=True)


def stream(stream: kinesis.IStream) -> MetricSource:
    return _source(stream, "AWS/Kinesis", lambda: {"StreamName": stream.stream_name})


def state_machine(machine: sfn.IStateMachine) -> MetricSource:
    return _source(machine, "AWS/States", lambda: {"StateMachineArn": machine.state_machine_arn})


def search_domain(domain: opensearch.IDomain) -> MetricSource:
    return _source(
        domain, "AWS/ES", lambda: {"DomainName": domain.domain_name, "ClientId": domain.env.account}
    )


def rest_api_stage(stage: apigw.Stage) -> MetricSource:
    return _source(
        stage,
        "AWS/ApiGateway",
        lambda: {"ApiName": stage.rest_api.rest_api_name, "Stage": stage.stage_name},
    )


def websocket_stage(stage: apigwv2.WebSocketStage) -> MetricSource:
    return _source(stage, "AWS/ApiGateway", lambda: {"ApiId": stage.api.api_id, "Stage": stage.stage_name})


def events_rule(rule: events.IRule, event_bus_name: str) -> MetricSource:
    return _source(rule, "AWS/Events", lambda: {"EventBusName": event_bus_name, "RuleName": rule.rule_name})


def schedule_group(group: scheduler.IScheduleGroup) -> MetricSource:
    return _source(group, "AWS/Scheduler", lambda: {"ScheduleGroup": group.schedule_group_name})


def math_expression(
    expression: str,
    using_metrics: Mapping[str, cloudwatch.IMetric],
    *,
    period: Duration | None = None,
    label: str | None = None,
) -> cloudwatch.MathExpression:
    """A metric-math expression over metrics of this module, remembered like them."""
    result = cloudwatch.MathExpression(
        expression=expression, using_metrics=dict(using_metrics), period=period, label=label
    )
    using = [(name, key_of(metric)) for name, metric in using_metrics.items()]
    if all(key is not None for _, key in using):
        _KEYS[result] = ("expression", expression, tuple(sorted(using)))
    _TEXTS[result] = (label or expression, period)
    return result
