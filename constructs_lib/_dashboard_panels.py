"""The graphs ServiceDashboard draws for each construct of the library: what an engineer checks first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

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

# One minute: the finest resolution of the AWS metrics drawn; CloudWatch widens it for long ranges.
GRAPH_PERIOD = Duration.minutes(1)
_LATENCY_OPERATIONS = ("GetItem", "PutItem", "Query")  # the calls whose latency users feel


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
    return metric(statistic=statistic, period=GRAPH_PERIOD, label=label)


def api_panel(api: ServerlessApi) -> Panel:
    stage = api.stage
    return Panel(
        f"REST API {api.node.path} (stage {stage.stage_name})",
        [
            Graph("Requests", [_stat(stage.metric_count, "Sum", "Requests")]),
            Graph(
                "4XX and 5XX",
                [
                    _stat(stage.metric_client_error, "Sum", "4XX"),
                    _stat(stage.metric_server_error, "Sum", "5XX"),
                ],
            ),
            Graph(
                "Latency",
                [_stat(stage.metric_latency, p, f"Latency {p}") for p in ("p50", "p90", "p99")],
            ),
        ],
    )


def websocket_panel(api: WebSocketApi) -> Panel:
    def metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return api.metric(name, statistic=statistic, period=GRAPH_PERIOD, label=name)

    return Panel(
        f"WebSocket API {api.node.path} (stage {api.stage.stage_name})",
        [
            Graph("Connections", [metric("ConnectCount")]),
            Graph("Messages", [metric("MessageCount")]),
            Graph("Errors", [metric("ClientError"), metric("IntegrationError"), metric("ExecutionError")]),
            Graph("Integration latency p99", [metric("IntegrationLatency", "p99")]),
        ],
    )


def function_panel(function: ServerlessFunction) -> Panel:
    fn = function.function
    graphs = [
        Graph(
            "Invocations and errors",
            [
                _stat(fn.metric_invocations, "Sum", "Invocations"),
                _stat(fn.metric_errors, "Sum", "Errors"),
                _stat(fn.metric_throttles, "Sum", "Throttles"),
            ],
        ),
        Graph("Duration p99", [_stat(fn.metric_duration, "p99", "Duration p99")]),
        Graph(
            "Concurrency",
            [
                fn.metric(
                    "ConcurrentExecutions", statistic="Maximum", period=GRAPH_PERIOD, label="Concurrency"
                )
            ],
        ),
    ]
    if function.dead_letter_queue is not None:  # invoked asynchronously
        graphs.append(
            Graph(
                "Async event age and drops",
                [fn.metric("AsyncEventAge", statistic="Maximum", period=GRAPH_PERIOD, label="Event age")],
                [fn.metric("AsyncEventsDropped", statistic="Sum", period=GRAPH_PERIOD, label="Dropped")],
            )
        )
    return Panel(f"Function {function.node.path}", graphs)


def table_panel(table: CompositeKeyTable) -> Panel:
    t = table.table
    graphs = [
        Graph(
            "Consumed capacity",
            [
                _stat(t.metric_consumed_read_capacity_units, "Sum", "Read units"),
                _stat(t.metric_consumed_write_capacity_units, "Sum", "Write units"),
            ],
        ),
        Graph(
            "Throttles and system errors",
            [
                t.metric("ReadThrottleEvents", statistic="Sum", period=GRAPH_PERIOD, label="Read throttles"),
                t.metric(
                    "WriteThrottleEvents", statistic="Sum", period=GRAPH_PERIOD, label="Write throttles"
                ),
            ],
        ),
        Graph(
            "Latency (average)",
            [
                t.metric_successful_request_latency(
                    dimensions_map={"TableName": t.table_name, "Operation": operation},
                    statistic="Average",
                    period=GRAPH_PERIOD,
                    label=operation,
                )
                for operation in _LATENCY_OPERATIONS
            ],
        ),
    ]
    graphs += [_iterator_age(consumer.function) for consumer in table.stream_consumers]
    return Panel(f"Table {table.node.path}", graphs)


def _iterator_age(function: lambda_.IFunction) -> Graph:
    metric = function.metric("IteratorAge", statistic="Maximum", period=GRAPH_PERIOD, label="Iterator age")
    return Graph(f"Consumer {function.node.path}: iterator age", [metric])


def queue_worker_panel(worker: QueueWorker) -> Panel:
    queue = worker.queue
    return Panel(
        f"Queue worker {worker.node.path}",
        [
            Graph(
                "Oldest message age",
                [_stat(queue.metric_approximate_age_of_oldest_message, "Maximum", "Oldest message (s)")],
            ),
            Graph(
                "Messages",
                [
                    _stat(queue.metric_number_of_messages_sent, "Sum", "Sent"),
                    _stat(queue.metric_number_of_messages_deleted, "Sum", "Done"),
                    _stat(queue.metric_approximate_number_of_messages_visible, "Maximum", "Waiting"),
                ],
            ),
        ],
    )


def data_stream_panel(stream: DataStream) -> Panel:
    s = stream.stream
    graphs = [
        Graph(
            "Records in and throttled writes",
            [_stat(s.metric_incoming_records, "Sum", "Records in")],
            [_stat(s.metric_write_provisioned_throughput_exceeded, "Sum", "Throttled writes")],
        ),
        Graph(
            "Iterator age (stream)",
            [_stat(s.metric_get_records_iterator_age_milliseconds, "Maximum", "Iterator age (ms)")],
        ),
    ]
    graphs += [_iterator_age(consumer.function) for consumer in stream.consumers]
    return Panel(f"Data stream {stream.node.path}", graphs)


def event_bus_panel(bus: EventBus) -> Panel:
    graphs = []
    for rule_id, rule in bus.rules.items():

        def metric(name: str, rule_name: str = rule.rule.rule_name) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name=name,
                dimensions_map={"EventBusName": bus.event_bus_name, "RuleName": rule_name},
                statistic="Sum",
                period=GRAPH_PERIOD,
                label=name,
            )

        graphs.append(Graph(f"Rule {rule_id}", [metric("Invocations"), metric("FailedInvocations")]))
    return Panel(f"Event bus {bus.node.path}", graphs)


def search_panel(search: SearchDomain) -> Panel:
    d = search.domain
    return Panel(
        f"Search domain {search.node.path}",
        [
            Graph(
                "Cluster status",
                [
                    _stat(d.metric_cluster_status_red, "Maximum", "Red"),
                    _stat(d.metric_cluster_status_yellow, "Maximum", "Yellow"),
                ],
            ),
            Graph("Free storage (MB)", [_stat(d.metric_free_storage_space, "Minimum", "Free storage")]),
            Graph("CPU (%)", [_stat(d.metric_cpu_utilization, "Maximum", "CPU")]),
            Graph(
                "JVM memory pressure (%)", [_stat(d.metric_jvm_memory_pressure, "Maximum", "JVM pressure")]
            ),
            Graph(
                "Indexing errors",
                [
                    _stat(d.metric_cluster_index_writes_blocked, "Maximum", "Writes blocked"),
                    d.metric(
                        "ThreadpoolWriteRejected",
                        statistic="Sum",
                        period=GRAPH_PERIOD,
                        label="Writes rejected",
                    ),
                ],
            ),
        ],
    )


def workflow_panel(workflow: Workflow) -> Panel:
    m = workflow.state_machine
    return Panel(
        f"Workflow {workflow.node.path}",
        [
            Graph(
                "Executions",
                [
                    _stat(m.metric_started, "Sum", "Started"),
                    _stat(m.metric_succeeded, "Sum", "Succeeded"),
                    _stat(m.metric_failed, "Sum", "Failed"),
                    _stat(m.metric_timed_out, "Sum", "Timed out"),
                ],
            ),
            Graph("Execution time p99", [_stat(m.metric_time, "p99", "Execution time p99")]),
        ],
    )


def scheduled_job_panel(job: ScheduledJob) -> Panel:
    def metric(name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Scheduler",
            metric_name=name,
            dimensions_map={"ScheduleGroup": job.schedule_group.schedule_group_name},
            statistic="Sum",
            period=GRAPH_PERIOD,
            label=name,
        )

    return Panel(
        f"Scheduled job {job.node.path}",
        [
            Graph(
                "Runs started and failed deliveries",
                [metric("InvocationAttemptCount"), metric("TargetErrorCount")],
                [metric("InvocationsSentToDeadLetterCount")],
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
            panel = build(construct)
            panel.owner = construct.node.path
            return order, panel
    return None
