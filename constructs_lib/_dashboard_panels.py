"""The graphs ServiceDashboard draws for each construct of the library: what an engineer checks first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import IConstruct

from constructs_lib import _metrics, _resolved
from constructs_lib._paths import path_of
from constructs_lib._stream_consumers import StreamConsumer
from constructs_lib.composite_key_table import CompositeKeyTable
from constructs_lib.data_stream import DataStream
from constructs_lib.event_bus import EventBus
from constructs_lib.queue_worker import QueueWorker
from constructs_lib.scheduled_job import ScheduledJob
from constructs_lib.search_domain import SearchDomain
from constructs_lib.serverless_api import ServerlessApi
from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.websocket_api import WebSocketApi
from constructs_lib.workflow import Workflow

_LATENCY_OPERATIONS = ("GetItem", "PutItem", "Query")  # the calls whose latency users feel


@cache
def graph_period() -> Duration:
    """One minute: the finest resolution of the AWS metrics drawn; CloudWatch widens it for long ranges.
    Made once, when a dashboard first needs it (a Duration is a jsii object; not made at import)."""
    return _resolved.minutes(1)


@dataclass
class Graph:
    """One graph widget: its title and metrics (right axis for another unit)."""

    title: str
    left: Sequence[cloudwatch.IMetric]
    right: Sequence[cloudwatch.IMetric] = ()


@dataclass
class Panel:
    """The graphs of one construct, under a heading naming it."""

    heading: str
    graphs: list[Graph]
    owner: str = ""  # the construct's path: its alarms no graph draws get graphs of their own here


def _stat(metric: Callable[..., cloudwatch.Metric], statistic: str, label: str) -> cloudwatch.Metric:
    return metric(statistic=statistic, period=graph_period(), label=label)


def _stage(source: _metrics.MetricSource) -> str:
    """The stage name the API's metrics read (their ``Stage`` dimension): not read a second time."""
    return source.dimensions["Stage"]


def api_panel(api: ServerlessApi, path: str) -> Panel:
    return Panel(
        f"REST API {path} (stage {_stage(_metrics.rest_api_stage(api.stage))})",
        [
            Graph("Requests", [_stat(api.metric_count, "Sum", "Requests")]),
            Graph(
                "4XX and 5XX",
                [_stat(api.metric_client_error, "Sum", "4XX"), _stat(api.metric_server_error, "Sum", "5XX")],
            ),
            Graph("Latency", [_stat(api.metric_latency, p, f"Latency {p}") for p in ("p50", "p90", "p99")]),
        ],
    )


def websocket_panel(api: WebSocketApi, path: str) -> Panel:
    def metric(method: Callable[..., cloudwatch.Metric], label: str) -> cloudwatch.Metric:
        return method(period=graph_period(), label=label)

    return Panel(
        f"WebSocket API {path} (stage {_stage(_metrics.websocket_stage(api.stage))})",
        [
            Graph("Connections", [metric(api.metric_connect_count, "ConnectCount")]),
            Graph("Messages", [metric(api.metric_message_count, "MessageCount")]),
            Graph(
                "Errors",
                [
                    metric(api.metric_client_error, "ClientError"),
                    metric(api.metric_integration_error, "IntegrationError"),
                    metric(api.metric_execution_error, "ExecutionError"),
                ],
            ),
            Graph(
                "Integration latency p99",
                [
                    api.metric_integration_latency(
                        statistic="p99", period=graph_period(), label="IntegrationLatency"
                    )
                ],
            ),
        ],
    )


def function_panel(function: ServerlessFunction, path: str) -> Panel:
    graphs = [
        Graph(
            "Invocations and errors",
            [
                _stat(function.metric_invocations, "Sum", "Invocations"),
                _stat(function.metric_errors, "Sum", "Errors"),
                _stat(function.metric_throttles, "Sum", "Throttles"),
            ],
        ),
        Graph("Duration p99", [_stat(function.metric_duration, "p99", "Duration p99")]),
        Graph("Concurrency", [_stat(function.metric_concurrent_executions, "Maximum", "Concurrency")]),
    ]
    if function.dead_letter_queue is not None:  # invoked asynchronously
        graphs.append(
            Graph(
                "Async event age and drops",
                [_stat(function.metric_async_event_age, "Maximum", "Event age")],
                [_stat(function.metric_async_events_dropped, "Sum", "Dropped")],
            )
        )
    return Panel(f"Function {path}", graphs)


def table_panel(table: CompositeKeyTable, path: str) -> Panel:
    graphs = [
        Graph(
            "Consumed capacity",
            [
                _stat(table.metric_consumed_read_capacity_units, "Sum", "Read units"),
                _stat(table.metric_consumed_write_capacity_units, "Sum", "Write units"),
            ],
        ),
        Graph(
            "Throttles and system errors",
            [
                _stat(table.metric_read_throttle_events, "Sum", "Read throttles"),
                _stat(table.metric_write_throttle_events, "Sum", "Write throttles"),
            ],
        ),
        Graph(
            "Latency (average)",
            [
                table.metric_successful_request_latency(
                    operation, statistic="Average", period=graph_period(), label=operation
                )
                for operation in _LATENCY_OPERATIONS
            ],
        ),
    ]
    graphs += [_iterator_age(consumer) for consumer in table.stream_consumers]
    return Panel(f"Table {path}", graphs)


def _iterator_age(consumer: StreamConsumer) -> Graph:
    metric = _stat(consumer.metric_iterator_age, "Maximum", "Iterator age")
    return Graph(f"Consumer {path_of(consumer.function)}: iterator age", [metric])


def queue_worker_panel(worker: QueueWorker, path: str) -> Panel:
    return Panel(
        f"Queue worker {path}",
        [
            Graph(
                "Oldest message age",
                [_stat(worker.metric_approximate_age_of_oldest_message, "Maximum", "Oldest message (s)")],
            ),
            Graph(
                "Messages",
                [
                    _stat(worker.metric_number_of_messages_sent, "Sum", "Sent"),
                    _stat(worker.metric_number_of_messages_deleted, "Sum", "Done"),
                    _stat(worker.metric_approximate_number_of_messages_visible, "Maximum", "Waiting"),
                ],
            ),
        ],
    )


def data_stream_panel(stream: DataStream, path: str) -> Panel:
    graphs = [
        Graph(
            "Records in and throttled writes",
            [_stat(stream.metric_incoming_records, "Sum", "Records in")],
            [_stat(stream.metric_write_provisioned_throughput_exceeded, "Sum", "Throttled writes")],
        ),
        Graph(
            "Iterator age (stream)",
            [_stat(stream.metric_get_records_iterator_age_milliseconds, "Maximum", "Iterator age (ms)")],
        ),
    ]
    graphs += [_iterator_age(consumer) for consumer in stream.consumers]
    return Panel(f"Data stream {path}", graphs)


def event_bus_panel(bus: EventBus, path: str) -> Panel:
    graphs = [
        Graph(
            f"Rule {rule_id}",
            [
                _stat(partial(bus.metric_invocations, rule_id), "Sum", "Invocations"),
                _stat(partial(bus.metric_failed_invocations, rule_id), "Sum", "FailedInvocations"),
            ],
        )
        for rule_id in bus.rules
    ]
    return Panel(f"Event bus {path}", graphs)


def search_panel(search: SearchDomain, path: str) -> Panel:
    return Panel(
        f"Search domain {path}",
        [
            Graph(
                "Cluster status",
                [
                    _stat(search.metric_cluster_status_red, "Maximum", "Red"),
                    _stat(search.metric_cluster_status_yellow, "Maximum", "Yellow"),
                ],
            ),
            Graph("Free storage (MB)", [_stat(search.metric_free_storage_space, "Minimum", "Free storage")]),
            Graph("CPU (%)", [_stat(search.metric_cpu_utilization, "Maximum", "CPU")]),
            Graph(
                "JVM memory pressure (%)",
                [_stat(search.metric_jvm_memory_pressure, "Maximum", "JVM pressure")],
            ),
            Graph(
                "Indexing errors",
                [
                    _stat(search.metric_cluster_index_writes_blocked, "Maximum", "Writes blocked"),
                    _stat(search.metric_threadpool_write_rejected, "Sum", "Writes rejected"),
                ],
            ),
        ],
    )


def workflow_panel(workflow: Workflow, path: str) -> Panel:
    return Panel(
        f"Workflow {path}",
        [
            Graph(
                "Executions",
                [
                    _stat(workflow.metric_started, "Sum", "Started"),
                    _stat(workflow.metric_succeeded, "Sum", "Succeeded"),
                    _stat(workflow.metric_failed, "Sum", "Failed"),
                    _stat(workflow.metric_timed_out, "Sum", "Timed out"),
                ],
            ),
            Graph("Execution time p99", [_stat(workflow.metric_time, "p99", "Execution time p99")]),
        ],
    )


def scheduled_job_panel(job: ScheduledJob, path: str) -> Panel:
    return Panel(
        f"Scheduled job {path}",
        [
            Graph(
                "Runs started and failed deliveries",
                [
                    _stat(job.metric_invocation_attempts, "Sum", "InvocationAttemptCount"),
                    _stat(job.metric_target_errors, "Sum", "TargetErrorCount"),
                ],
                [
                    _stat(
                        job.metric_invocations_sent_to_dead_letter, "Sum", "InvocationsSentToDeadLetterCount"
                    )
                ],
            )
        ],
    )


# Each construct type the dashboard knows, in the order its panels appear: the front door first.
PANELS: Sequence[tuple[type, Callable[..., Panel]]] = (
    (ServerlessApi, api_panel),
    (WebSocketApi, websocket_panel),
    (ServerlessFunction, function_panel),
    (Workflow, workflow_panel),
    (ScheduledJob, scheduled_job_panel),
    (QueueWorker, queue_worker_panel),
    (EventBus, event_bus_panel),
    (DataStream, data_stream_panel),
    (CompositeKeyTable, table_panel),
    (SearchDomain, search_panel),
)


def panel_for(construct: IConstruct) -> tuple[int, Panel] | None:
    """The panel of `construct` and its place in PANELS' order; None for a construct it does not know."""
    for order, (kind, build) in enumerate(PANELS):
        if isinstance(construct, kind):
            path = path_of(construct)  # read once: each read is a jsii call
            panel = build(construct, path)
            panel.owner = path
            return order, panel
    return None
