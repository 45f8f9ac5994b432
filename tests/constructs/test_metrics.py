"""Every construct's metric_* methods: the right namespace, name, dimensions and statistic, and the
same metric its alarms use (the snapshots prove the templates; these prove the source is one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_

from constructs_lib import (
    DataStream,
    DeploymentPreference,
    EventBus,
    QueueWorker,
    ScheduledJob,
    SearchDomain,
    ServerlessFunction,
    Workflow,
    lambda_task,
)
from constructs_lib._alarms import alarm_facts
from constructs_lib._metrics import key_of, lambda_function
from constructs_lib.service_dashboard import _metric_key
from tests.cdk import new_app, new_stack
from tests.constructs.every_construct import ECHO, add_apis_and_table


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """One of each construct, with alarms, in one stack (nothing is synthesized)."""
    app = new_app()
    stack = new_stack(app, "Metrics")
    common = add_apis_and_table(stack)
    topic, api, sockets, table = common["topic"], common["api"], common["sockets"], common["table"]
    job_function = ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True)
    bus = EventBus(stack, "Bus", alarm_topic=topic)
    bus.add_rule(
        "Placed",
        event_pattern={"source": ["app.orders"]},
        targets=[ServerlessFunction(stack, "OnPlaced", entry=ECHO, invoked_asynchronously=True)],
    )
    stream = DataStream(stack, "Clicks", alarm_topic=topic)
    stream.add_consumer(ServerlessFunction(stack, "Counter", entry=ECHO).function)
    # Consumers that are an alias and a version: their metrics name the function and the qualifier.
    alias = lambda_.Alias(
        stack,
        "ReaderLive",
        alias_name="live",
        version=ServerlessFunction(stack, "Reader", entry=ECHO).function.current_version,
    )
    stream.add_consumer(alias)
    version = lambda_.Version(
        stack, "ArchiverV1", lambda_=ServerlessFunction(stack, "Archiver", entry=ECHO).function
    )
    table.add_stream_consumer(version)
    flow = Workflow(
        stack,
        "Flow",
        definition=lambda_task(stack, "Run", ServerlessFunction(stack, "Step", entry=ECHO)),
        alarm_topic=topic,
    )
    return {
        "stack": stack,
        "api": api,
        "sockets": sockets,
        "table": table,
        "function": job_function,
        "worker": QueueWorker(
            stack, "Jobs", function=ServerlessFunction(stack, "Worker", entry=ECHO), alarm_topic=topic
        ),
        "job": ScheduledJob(
            stack, "Nightly", function=job_function, schedule="cron(0 3 * * ? *)", alarm_topic=topic
        ),
        "bus": bus,
        "stream": stream,
        "flow": flow,
        "alias": alias,
        "version": version,
        "canary": ServerlessFunction(
            stack, "Canary", entry=ECHO, deployment=DeploymentPreference.canary(10, 5)
        ),
        "search": SearchDomain(
            stack, "Search", cognito_domain_prefix="metrics-search", alarms=True, alarm_topic=topic
        ),
    }


def _described(stack: Stack, metric: cloudwatch.Metric) -> tuple[str, str, dict[str, Any], str]:
    """Namespace, name, resolved dimensions and statistic, as the template will carry them."""
    dimensions = {name: stack.resolve(value) for name, value in (metric.dimensions or {}).items()}
    return metric.namespace, metric.metric_name, dimensions, metric.statistic


def _ref(built: dict[str, Any], construct: Any) -> dict[str, str]:
    return {"Ref": built["stack"].get_logical_id(construct.node.default_child)}


# (construct key, method, namespace, metric name, statistic, dimensions from the built constructs)
CASES: list[tuple[str, str, str, str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    *[
        (
            "function",
            method,
            "AWS/Lambda",
            name,
            statistic,
            lambda b: {"FunctionName": _ref(b, b["function"].function)},
        )
        for method, name, statistic in [
            ("metric_invocations", "Invocations", "Sum"),
            ("metric_errors", "Errors", "Sum"),
            ("metric_throttles", "Throttles", "Sum"),
            ("metric_duration", "Duration", "Average"),
            ("metric_concurrent_executions", "ConcurrentExecutions", "Maximum"),
            ("metric_async_event_age", "AsyncEventAge", "Maximum"),
            ("metric_async_events_dropped", "AsyncEventsDropped", "Sum"),
            ("metric_iterator_age", "IteratorAge", "Maximum"),
        ]
    ],
    *[
        (
            "api",
            method,
            "AWS/ApiGateway",
            name,
            statistic,
            lambda b: {"ApiName": "Api", "Stage": _ref(b, b["api"].stage)},
        )
        for method, name, statistic in [
            ("metric_count", "Count", "SampleCount"),
            ("metric_client_error", "4XXError", "Sum"),
            ("metric_server_error", "5XXError", "Sum"),
            ("metric_latency", "Latency", "Average"),
            ("metric_integration_latency", "IntegrationLatency", "Average"),
        ]
    ],
    *[
        (
            "sockets",
            method,
            "AWS/ApiGateway",
            name,
            statistic,
            lambda b: {"ApiId": _ref(b, b["sockets"].api), "Stage": "dev"},
        )
        for method, name, statistic in [
            ("metric_connect_count", "ConnectCount", "Sum"),
            ("metric_message_count", "MessageCount", "Sum"),
            ("metric_client_error", "ClientError", "Sum"),
            ("metric_integration_error", "IntegrationError", "Sum"),
            ("metric_execution_error", "ExecutionError", "Sum"),
            ("metric_integration_latency", "IntegrationLatency", "Average"),
        ]
    ],
    *[
        (
            "worker",
            method,
            "AWS/SQS",
            name,
            statistic,
            lambda b: {"QueueName": {"Fn::GetAtt": [_ref(b, b["worker"].queue)["Ref"], "QueueName"]}},
        )
        for method, name, statistic in [
            ("metric_approximate_age_of_oldest_message", "ApproximateAgeOfOldestMessage", "Maximum"),
            ("metric_number_of_messages_sent", "NumberOfMessagesSent", "Sum"),
            ("metric_number_of_messages_deleted", "NumberOfMessagesDeleted", "Sum"),
            (
                "metric_approximate_number_of_messages_visible",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
            ),
        ]
    ],
    (
        "worker",
        "metric_dead_letter_messages",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        lambda b: {"QueueName": {"Fn::GetAtt": [_ref(b, b["worker"].dead_letter_queue)["Ref"], "QueueName"]}},
    ),
    *[
        (
            "stream",
            method,
            "AWS/Kinesis",
            name,
            statistic,
            lambda b: {"StreamName": _ref(b, b["stream"].stream)},
        )
        for method, name, statistic in [
            ("metric_incoming_records", "IncomingRecords", "Average"),
            ("metric_write_provisioned_throughput_exceeded", "WriteProvisionedThroughputExceeded", "Average"),
            ("metric_get_records_iterator_age_milliseconds", "GetRecords.IteratorAgeMilliseconds", "Maximum"),
        ]
    ],
    *[
        (
            "flow",
            method,
            "AWS/States",
            name,
            statistic,
            lambda b: {"StateMachineArn": _ref(b, b["flow"].state_machine)},
        )
        for method, name, statistic in [
            ("metric_started", "ExecutionsStarted", "Sum"),
            ("metric_succeeded", "ExecutionsSucceeded", "Sum"),
            ("metric_failed", "ExecutionsFailed", "Sum"),
            ("metric_timed_out", "ExecutionsTimedOut", "Sum"),
            ("metric_aborted", "ExecutionsAborted", "Sum"),
            ("metric_throttled", "ExecutionThrottled", "Sum"),
            ("metric_time", "ExecutionTime", "Average"),
        ]
    ],
    *[
        (
            "search",
            method,
            "AWS/ES",
            name,
            statistic,
            lambda b: {"DomainName": _ref(b, b["search"].domain), "ClientId": "111111111111"},
        )
        for method, name, statistic in [
            ("metric_cluster_status_red", "ClusterStatus.red", "Maximum"),
            ("metric_cluster_status_yellow", "ClusterStatus.yellow", "Maximum"),
            ("metric_free_storage_space", "FreeStorageSpace", "Minimum"),
            ("metric_cluster_index_writes_blocked", "ClusterIndexWritesBlocked", "Maximum"),
            ("metric_cpu_utilization", "CPUUtilization", "Maximum"),
            ("metric_jvm_memory_pressure", "JVMMemoryPressure", "Maximum"),
            ("metric_automated_snapshot_failure", "AutomatedSnapshotFailure", "Maximum"),
            ("metric_threadpool_write_rejected", "ThreadpoolWriteRejected", "Sum"),
        ]
    ],
    *[
        ("table", method, "AWS/DynamoDB", name, "Sum", lambda b: {"TableName": _ref(b, b["table"].table)})
        for method, name in [
            ("metric_consumed_read_capacity_units", "ConsumedReadCapacityUnits"),
            ("metric_consumed_write_capacity_units", "ConsumedWriteCapacityUnits"),
            ("metric_read_throttle_events", "ReadThrottleEvents"),
            ("metric_write_throttle_events", "WriteThrottleEvents"),
        ]
    ],
    *[
        (
            "job",
            method,
            "AWS/Scheduler",
            name,
            "Sum",
            lambda b: {"ScheduleGroup": b["stack"].resolve(b["job"].schedule_group.schedule_group_name)},
        )
        for method, name in [
            ("metric_invocation_attempts", "InvocationAttemptCount"),
            ("metric_target_errors", "TargetErrorCount"),
            ("metric_invocations_sent_to_dead_letter", "InvocationsSentToDeadLetterCount"),
        ]
    ],
    (
        "job",
        "metric_failed_runs",
        "AWS/Lambda",
        "Errors",
        "Sum",
        lambda b: {"FunctionName": _ref(b, b["function"].function)},
    ),
]


@pytest.mark.parametrize(
    ("owner", "method", "namespace", "name", "statistic", "dimensions"),
    CASES,
    ids=[f"{case[0]}.{case[1]}" for case in CASES],
)
def test_metric_methods_name_the_resource_metric(  # noqa: PLR0917 -- one parameter per column of CASES
    built: dict[str, Any],
    owner: str,
    method: str,
    namespace: str,
    name: str,
    statistic: str,
    dimensions: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    metric = getattr(built[owner], method)()
    assert _described(built["stack"], metric) == (namespace, name, dimensions(built), statistic)
    # CloudWatch's default, as aws-cdk-lib's (which makes writes blocked a one-minute metric)
    assert metric.period.to_seconds() == (60 if method == "metric_cluster_index_writes_blocked" else 300)


def test_a_metric_takes_statistic_period_and_label(built: dict[str, Any]) -> None:
    metric = built["function"].metric_duration(statistic="p99", period=Duration.minutes(1), label="Slow")
    assert (metric.statistic, metric.period.to_seconds(), metric.label) == ("p99", 60, "Slow")


def test_event_bus_metrics_name_the_bus_and_the_rule(built: dict[str, Any]) -> None:
    bus, stack = built["bus"], built["stack"]
    rule = _ref(built, bus.rules["Placed"].rule)
    dimensions = {"EventBusName": _ref(built, bus.event_bus), "RuleName": rule}
    assert _described(stack, bus.metric_invocations("Placed")) == (
        "AWS/Events",
        "Invocations",
        dimensions,
        "Sum",
    )
    failed = bus.metric_failed_invocations("Placed")
    assert _described(stack, failed) == ("AWS/Events", "FailedInvocations", dimensions, "Sum")


def test_table_latency_and_system_errors_are_per_operation(built: dict[str, Any]) -> None:
    table, stack = built["table"], built["stack"]
    latency = table.metric_successful_request_latency("GetItem")
    assert _described(stack, latency) == (
        "AWS/DynamoDB",
        "SuccessfulRequestLatency",
        {"TableName": _ref(built, table.table), "Operation": "GetItem"},
        "Average",
    )
    errors = table.metric_system_errors_for_operations()
    assert errors.expression.startswith("getitem + batchgetitem + query + scan")
    assert len(errors.using_metrics) == 10  # CloudWatch's limit for an alarm's metric math
    assert {m.metric_name for m in errors.using_metrics.values()} == {"SystemErrors"}


# Each alarm and the metric_* method it must be built from.
ALARMS: list[tuple[str, Callable[[Any], cloudwatch.Alarm | None], Callable[[Any], cloudwatch.IMetric]]] = [
    ("worker", lambda w: w.oldest_message_alarm, lambda w: w.metric_approximate_age_of_oldest_message()),
    ("worker", lambda w: w.dead_letter_alarm, lambda w: w.metric_dead_letter_messages()),
    ("stream", lambda s: s.write_throttle_alarm, lambda s: s.metric_write_provisioned_throughput_exceeded()),
    ("stream", lambda s: s.consumers[0].iterator_age_alarm, lambda s: s.consumers[0].metric_iterator_age()),
    ("flow", lambda f: f.alarms["failed"], lambda f: f.metric_failed()),
    ("flow", lambda f: f.alarms["timed_out"], lambda f: f.metric_timed_out()),
    ("flow", lambda f: f.alarms["aborted"], lambda f: f.metric_aborted()),
    ("job", lambda j: j.failed_runs_alarm, lambda j: j.metric_failed_runs()),
    (
        "bus",
        lambda b: b.rules["Placed"].failed_invocations_alarm,
        lambda b: b.metric_failed_invocations("Placed"),
    ),
    ("table", lambda t: t.system_errors_alarm, lambda t: t.metric_system_errors_for_operations()),
    ("api", lambda a: a.alarms[0], lambda a: a.metric_server_error()),
    ("api", lambda a: a.alarms[1], lambda a: a.metric_latency()),
    ("search", lambda s: s.alarms["ClusterRed"], lambda s: s.metric_cluster_status_red()),
    ("search", lambda s: s.alarms["FreeStorage"], lambda s: s.metric_free_storage_space()),
    ("search", lambda s: s.alarms["Cpu"], lambda s: s.metric_cpu_utilization()),
    ("search", lambda s: s.alarms["SnapshotFailure"], lambda s: s.metric_automated_snapshot_failure()),
]


@pytest.mark.parametrize(
    ("owner", "alarm_of", "metric_of"), ALARMS, ids=[f"{a[0]}-{i}" for i, a in enumerate(ALARMS)]
)
def test_alarms_draw_the_metric_of_their_construct_method(
    built: dict[str, Any],
    owner: str,
    alarm_of: Callable[[Any], cloudwatch.Alarm | None],
    metric_of: Callable[[Any], cloudwatch.IMetric],
) -> None:
    alarm = alarm_of(built[owner])
    assert alarm is not None
    facts = alarm_facts(alarm)
    assert facts is not None
    key = key_of(facts[0])
    assert key is not None  # made by the library's metric helper, not inline
    assert key == key_of(metric_of(built[owner]))


def test_python_key_equals_the_key_read_through_jsii(built: dict[str, Any]) -> None:
    """A metric the library made matches the same metric made elsewhere (read back through jsii)."""
    function, table = built["function"], built["table"]
    assert _metric_key(function.metric_errors()) == _metric_key(function.function.metric_errors())
    assert _metric_key(table.metric_read_throttle_events()) == _metric_key(
        table.table.metric("ReadThrottleEvents")
    )


def test_the_deployment_alarm_draws_the_live_alias_errors(built: dict[str, Any]) -> None:
    canary, stack = built["canary"], built["stack"]
    alarm = canary.deployment_error_alarm
    assert alarm is not None
    metric = alarm.metric
    assert key_of(metric) is not None  # made by the library's metric helper
    name = _ref(built, canary.function)
    assert _described(stack, metric) == (
        "AWS/Lambda",
        "Errors",
        {"FunctionName": name, "Resource": {"Fn::Join": ["", [name, ":live"]]}},
        "Sum",
    )


def test_an_alias_consumer_alarms_on_the_alias_metric(built: dict[str, Any]) -> None:
    """An alias's ``FunctionName`` is ``<function>:<alias>``, which names no metric: its iterator age is
    the function's, by ``Resource``, as the alias's own metric gives it."""
    stack, alias = built["stack"], built["alias"]
    (consumer,) = [c for c in built["stream"].consumers if c.function is alias]
    assert consumer.iterator_age_alarm is not None
    expected = _described(stack, alias.metric("IteratorAge", statistic="Maximum"))
    assert "Resource" in expected[2]
    assert _described(stack, consumer.iterator_age_alarm.metric) == expected
    assert _described(stack, consumer.metric_iterator_age()) == expected


def test_a_version_consumer_alarms_on_the_version_metric(built: dict[str, Any]) -> None:
    """A version's metrics, as CloudWatch publishes them (the function's name and ``Resource``
    ``<function>:<version>``); aws-cdk-lib's Version.metric loses the ``Resource`` it means to add."""
    stack, version = built["stack"], built["version"]
    (consumer,) = [c for c in built["table"].stream_consumers if c.function is version]
    assert consumer.iterator_age_alarm is not None
    name = _ref(built, version.lambda_)
    qualifier = {"Fn::GetAtt": [stack.get_logical_id(version.node.default_child), "Version"]}
    expected = (
        "AWS/Lambda",
        "IteratorAge",
        {"FunctionName": name, "Resource": {"Fn::Join": ["", [name, ":", qualifier]]}},
        "Maximum",
    )
    assert _described(stack, consumer.iterator_age_alarm.metric) == expected
    assert _described(stack, consumer.metric_iterator_age()) == expected


def test_imported_aliases_and_versions_are_measured_by_function_and_resource(built: dict[str, Any]) -> None:
    """An alias or a version imported by its attributes (or a function's `latest_version`) is no Alias or
    Version instance; its metrics still name the function and the qualifier."""
    stack = built["stack"]
    function = built["function"].function
    imported_version = lambda_.Version.from_version_attributes(
        stack, "ImportedV3", lambda_=function, version="3"
    )
    imported_alias = lambda_.Alias.from_alias_attributes(
        stack, "ImportedLive", alias_name="live", alias_version=imported_version
    )
    for qualified, qualifier in (
        (imported_version, "3"),
        (imported_alias, "live"),
        (function.latest_version, "$LATEST"),
    ):
        metric = lambda_function(qualified).metric("IteratorAge", statistic="Maximum")
        expected = {
            "FunctionName": stack.resolve(function.function_name),
            "Resource": stack.resolve(f"{function.function_name}:{qualifier}"),
        }
        assert _described(stack, metric) == ("AWS/Lambda", "IteratorAge", expected, "Maximum"), qualifier


# Each construct and the aws-cdk-lib L2 whose metric_* methods of the same name it must agree with.
L2_OF: dict[str, Callable[[Any], Any]] = {
    "function": lambda f: f.function,
    "canary": lambda f: f.function,
    "api": lambda a: a.stage,
    "sockets": lambda s: s.api,
    "worker": lambda w: w.queue,
    "stream": lambda s: s.stream,
    "flow": lambda f: f.state_machine,
    "search": lambda s: s.domain,
    "table": lambda t: t.table,
    "job": lambda j: j.schedule_group,
    "bus": lambda b: b.event_bus,
}


def _same_named_metrics(built: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for owner, l2_of in L2_OF.items():
        l2 = l2_of(built[owner])
        pairs += [
            (owner, name)
            for name in dir(built[owner])
            if name.startswith("metric_") and callable(getattr(type(l2), name, None))
        ]
    return pairs


def _defaults(stack: Stack, metric: cloudwatch.IMetric) -> tuple[object, ...]:
    if isinstance(metric, cloudwatch.MathExpression):
        using = {name: _defaults(stack, used) for name, used in metric.using_metrics.items()}
        return metric.expression, sorted(using.items()), metric.period.to_seconds()
    assert isinstance(metric, cloudwatch.Metric)
    return (*_described(stack, metric), metric.period.to_seconds())


# The arguments a method needs, ours and the L2's: the same metric.
ARGUMENTS: dict[str, tuple[tuple[object, ...], dict[str, object]]] = {
    "metric_successful_request_latency": (("GetItem",), {"dimensions_map": {"Operation": "GetItem"}}),
}


# Where the library's metric differs from the L2's on purpose, and why.
DIFFERENT_ON_PURPOSE = {
    "table.metric_system_errors_for_operations": "an alarm's metric math takes at most 10 metrics; "
    "aws-cdk-lib's default sums 14 operations, so it sums the 10 data-plane operations applications call",
}


def test_metric_defaults_are_the_l2_defaults(built: dict[str, Any]) -> None:
    """Each metric_* method named like one of its resource's aws-cdk-lib L2 gives, called without
    arguments, the L2's metric: namespace, name, dimensions, statistic and period."""
    stack, different = built["stack"], {}
    pairs = _same_named_metrics(built)
    assert set(DIFFERENT_ON_PURPOSE) <= {f"{owner}.{name}" for owner, name in pairs}
    for owner, name in pairs:
        if f"{owner}.{name}" in DIFFERENT_ON_PURPOSE:
            continue
        our_arguments, their_arguments = ARGUMENTS.get(name, ((), {}))
        ours = getattr(built[owner], name)(*our_arguments)
        theirs = getattr(L2_OF[owner](built[owner]), name)(**their_arguments)
        if _defaults(stack, ours) != _defaults(stack, theirs):
            different[f"{owner}.{name}"] = (_defaults(stack, ours), _defaults(stack, theirs))
    assert not different, "\n".join(f"{name}: ours {o}, L2 {t}" for name, (o, t) in different.items())
    assert len(pairs) >= 39, pairs  # the L2 methods found: none was missed by a rename
