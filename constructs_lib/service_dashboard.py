"""ServiceDashboard: one CloudWatch dashboard per service, drawn from the library's constructs.

Creates: one `Dashboard`. `add(*constructs)` adds constructs (and everything the library created
inside them); `add_all(scope)` adds every construct of the library in a stack, a stage or a whole
app (the construct tree is walked), so an app gets its dashboard in one line.

What it draws: first the alarms' state in alarm-status widgets (critical alarms, then warnings);
then per construct the graphs an engineer checks first (`_dashboard_panels.PANELS`: APIs' requests,
4XX/5XX and latency p50/p90/p99 per stage; WebSocket connections and messages; each function's
invocations, errors, throttles, duration p99, concurrency and async event age; tables' capacity,
throttles and latency; consumers' iterator age and queues' oldest message; the search domain's
health; workflows' executions); every alarm as a horizontal annotation on the graph of its metric
(or on a graph of its own when no panel draws that metric); last, every dead-letter queue's depth,
with a text widget giving each queue's replay command (`python -m constructs_lib.ops redrive`).

Defaults: the dashboard is named after the stack (`dashboard_name` to choose); graphs of 1-minute
metrics; 6 x 6 widgets, four to a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from constructs_lib._alarms import alarm_facts, annotation
from constructs_lib._dashboard_panels import Graph, Panel, graph_period, panel_for
from constructs_lib._metrics import key_of
from constructs_lib._metrics import queue as queue_metrics
from constructs_lib._paths import path_of
from constructs_lib._queues import dead_letter_holds, messages_waiting
from constructs_lib._validation import PropErrors

WIDGET_WIDTH = 6  # four graphs to a row of CloudWatch's 24 columns
WIDGET_HEIGHT = 6
ROW_WIDTH = 24
# The command the DLQ text widget shows (docs/operations.md#replaying-failed-events).
REDRIVE_COMMAND = "python -m constructs_lib.ops redrive"


@dataclass
class _AlarmOnGraph:
    alarm: cloudwatch.Alarm
    level: str
    # The paths read so far, by id() of their construct: an alarm the library made in one of them has
    # its path without a read.
    paths: dict[int, str]
    placed: bool = False
    # Read once: each read is a jsii round trip, and every graph of every panel compares them.
    metric: cloudwatch.IMetric = field(init=False)
    key: tuple[object, ...] = field(init=False)
    _path: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        facts = alarm_facts(self.alarm)  # the library's alarms: known in Python
        self.metric = facts.metric if facts else self.alarm.metric
        self.key = _metric_key(self.metric)

    @property
    def path(self) -> str:
        if self._path is None:
            facts = alarm_facts(self.alarm)
            scope = None if facts is None else self.paths.get(id(facts.scope))
            if facts is not None and scope is not None and "/" not in facts.construct_id:
                self._path = f"{scope}/{facts.construct_id}"
            else:
                self._path = path_of(self.alarm)
        return self._path


class ServiceDashboard(Construct):
    """A CloudWatch dashboard of the library's constructs, their alarms and dead-letter queues.

    Attributes: `dashboard` (the L2 `Dashboard`), `alarms` (every alarm on it), `dead_letter_queues`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, dashboard_name: str | None = None) -> None:
        errors = PropErrors(scope, construct_id)
        if dashboard_name is not None:
            errors.check(
                0 < len(dashboard_name) <= 255 and all(c.isalnum() or c in "-_" for c in dashboard_name),
                "dashboard_name",
                f"'{dashboard_name}' must be 1-255 characters of A-Z, a-z, 0-9, '-' and '_'",
            )
        errors.raise_if_any()
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=None,
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        self.alarms: list[cloudwatch.Alarm] = []
        self.dead_letter_queues: list[sqs.IQueue] = []

    def add_all(self, scope: IConstruct) -> None:
        """Add every construct of the library under `scope` (a stack, a stage or the app)."""
        self.add(scope)

    def add(self, *constructs: IConstruct) -> None:
        """Add `constructs`, everything the library created inside them, and all their alarms."""
        panels, alarms, queues = self._find(constructs)
        alarms.sort(key=lambda item: item.level != "critical")
        # Every widget in one Row (one jsii call, not one per panel): a Row starts a widget that does not
        # fit the 24 columns left of it on a new line below everything before, and every panel and
        # status widget starts with a full-width one, so each lands where a row of its own would.
        widgets = self._status(alarms)
        for panel in panels:
            widgets += self._panel(panel, alarms)
        widgets += self._dead_letter_queues(queues, alarms)
        unplaced = [Graph(f"Alarm {item.path}", [item.metric]) for item in alarms if not item.placed]
        if unplaced:
            widgets += self._panel(Panel("Other alarms", unplaced), alarms)
        if widgets:
            self.dashboard.add_widgets(*widgets)
        self.alarms += [item.alarm for item in alarms]

    def _find(
        self, constructs: Sequence[IConstruct]
    ) -> tuple[list[Panel], list[_AlarmOnGraph], list[tuple[sqs.Queue, str]]]:
        """The panels (in PANELS' order), alarms and dead-letter queues under `constructs`."""
        panels: list[tuple[int, int, Panel]] = []
        alarms: list[_AlarmOnGraph] = []
        queues: list[tuple[sqs.Queue, str]] = []
        seen: set[str] = set()
        paths: dict[int, str] = {}  # the panels' constructs' paths, by id()
        for root in constructs:
            for node in root.node.find_all():
                if node is self:
                    continue
                if len(constructs) > 1:  # only then can two roots hold the same construct
                    path = path_of(node)
                    if path in seen:
                        continue
                    seen.add(path)
                if isinstance(node, cloudwatch.Alarm):
                    alarms.append(_AlarmOnGraph(node, _level(node), paths))
                elif isinstance(node, sqs.Queue):
                    holds = dead_letter_holds(node)
                    if holds is not None:
                        queues.append((node, holds))
                else:
                    found = panel_for(node)
                    if found is not None:
                        panels.append((found[0], len(panels), found[1]))
                        paths[id(node)] = found[1].owner
        panels.sort(key=lambda item: (item[0], item[1]))
        return [panel for _, _, panel in panels], alarms, queues

    # --- Widgets -----------------------------------------------------------------------------------

    def _status(self, alarms: list[_AlarmOnGraph]) -> list[cloudwatch.IWidget]:
        widgets: list[cloudwatch.IWidget] = []
        for level in ("critical", "warning"):
            chosen = [item.alarm for item in alarms if item.level == level]
            if chosen:
                widgets.append(
                    cloudwatch.AlarmStatusWidget(
                        title=f"{level.capitalize()} alarms ({len(chosen)})",
                        alarms=chosen,
                        width=ROW_WIDTH,
                        height=max(2, 1 + (len(chosen) + 3) // 4),
                    )
                )
        return widgets

    def _panel(self, panel: Panel, alarms: list[_AlarmOnGraph]) -> list[cloudwatch.IWidget]:
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.TextWidget(markdown=f"### {panel.heading}", width=ROW_WIDTH, height=1)
        ]
        for graph in panel.graphs:
            keys = {_metric_key(metric) for metric in [*graph.left, *graph.right]}
            annotations = []
            for item in alarms:
                if not item.placed and item.key in keys:
                    annotations.append(annotation(item.alarm))
                    item.placed = True
            widgets.append(_graph_widget(graph.title, graph.left, graph.right, annotations))
        # The construct's alarms on metrics no graph of the panel draws (sums over several metrics,
        # say): each on a graph of its own metric, beside the construct's other graphs.
        for item in alarms:
            if not item.placed and panel.owner and item.path.startswith(f"{panel.owner}/"):
                widgets.append(
                    _graph_widget(
                        f"Alarm {item.path.rpartition('/')[2]}",
                        [item.metric],
                        [],
                        [annotation(item.alarm)],
                    )
                )
                item.placed = True
        return widgets

    def _dead_letter_queues(
        self, queues: list[tuple[sqs.Queue, str]], alarms: list[_AlarmOnGraph]
    ) -> list[cloudwatch.IWidget]:
        if not queues:
            return []
        self.dead_letter_queues += [queue for queue, _ in queues]
        depth = [
            messages_waiting(queue, statistic="Maximum", period=graph_period(), label=path_of(queue))
            for queue, _ in queues
        ]
        widgets = self._panel(Panel("Dead-letter queues", [Graph("Messages waiting", depth)]), alarms)
        lines = [
            "Replay a queue's messages once its cause is fixed (docs/operations.md, Replay):",
            "",
            "| Queue | Holds | Replay |",
            "|---|---|---|",
        ]
        # The names the depth metrics above read (their QueueName): no second read.
        names = [(queue_metrics(queue).dimensions["QueueName"], holds) for queue, holds in queues]
        lines += [f"| {name} | {holds} | `{REDRIVE_COMMAND} {name}` |" for name, holds in names]
        widgets.append(
            cloudwatch.TextWidget(markdown="\n".join(lines), width=ROW_WIDTH, height=2 + len(queues))
        )
        return widgets


def _graph_widget(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    right: Sequence[cloudwatch.IMetric],
    annotations: list[cloudwatch.HorizontalAnnotation],
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(left),
        right=list(right) or None,
        left_annotations=annotations or None,
        width=WIDGET_WIDTH,
        height=WIDGET_HEIGHT,
        period=graph_period(),
    )


def _level(alarm: cloudwatch.Alarm) -> str:
    """The level of one of the library's alarms; any other alarm is critical."""
    facts = alarm_facts(alarm)
    return facts.level.value if facts else "critical"


def _metric_key(metric: cloudwatch.IMetric) -> tuple[object, ...]:
    """What identifies the data a metric draws: namespace, name and dimensions, or the expression."""
    known = key_of(metric)  # a metric of the library's constructs: known in Python, no jsii read
    if known is not None:
        return known
    # A metric made elsewhere: read from its own properties when Python knows its class (three jsii
    # calls), where to_metric_config() returns a struct whose every field is another call (about sixteen).
    if isinstance(metric, cloudwatch.Metric):
        dimensions = tuple(sorted((name, str(value)) for name, value in (metric.dimensions or {}).items()))
        return (metric.namespace, metric.metric_name, dimensions)
    if isinstance(metric, cloudwatch.MathExpression):
        using = tuple(sorted((name, _metric_key(m)) for name, m in metric.using_metrics.items()))
        return ("expression", metric.expression, using)
    config = metric.to_metric_config()
    if config.metric_stat is not None:
        stat = config.metric_stat
        dimensions = tuple(sorted((d.name, str(d.value)) for d in stat.dimensions or ()))
        return (stat.namespace, stat.metric_name, dimensions)
    if config.math_expression is not None:
        expression = config.math_expression
        using = tuple(sorted((name, _metric_key(m)) for name, m in expression.using_metrics.items()))
        return ("expression", expression.expression, using)
    return ("unknown", id(metric))
