"""Event delivery between the local services, wired from the synthesized templates as AWS wires it.

moto stores the data and moves messages between its own services, but it cannot invoke a local
function. The `EventRouter` fills that gap with one `DeliveryPath` per way events travel (see
`paths`): S3 notifications, SNS subscriptions, asynchronous invocations (retries, destinations,
dead-letter queues), event source mappings (DynamoDB streams, SQS queues, Kinesis streams),
EventBridge rules and EventBridge Scheduler schedules.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import boto3

from constructs_lib.local._service import DeliveryCheck
from constructs_lib.local._types import Invoker, TemplateView
from constructs_lib.local.events._delivery import _CLIENT_CONFIG, LOGGER, Deliveries, DeliveryPath
from constructs_lib.local.events._threads import EventThread, Inbox, Poller
from constructs_lib.local.events.async_invocations import AsyncInvocations
from constructs_lib.local.events.event_rules import EventRules
from constructs_lib.local.events.s3_notifications import S3Notifications
from constructs_lib.local.events.schedules import Clock, Schedules, system_clock
from constructs_lib.local.events.sns_subscriptions import SnsSubscriptions
from constructs_lib.local.events.source_mappings import SourceMappings

STOP_TIMEOUT = 0.9  # seconds stop() waits for its threads; an invocation in progress ends on its own
# The boto3 clients (for moto) the paths use, as ``deliveries.clients[<service>]``.
CLIENT_SERVICES = ("s3", "sns", "sqs", "dynamodbstreams", "kinesis", "events")


class EventRouter:
    """Delivers events between the local services and functions as the templates configure AWS to.

    `start` configures moto and starts the threads that poll and invoke; `stop` ends them;
    `wait_idle` waits until nothing is queued or in flight. Functions are invoked through
    `invoker` with ``arn:aws:lambda:<region>:<account>:function:<name>``; every delivery made on
    a service's or a function's behalf passes `delivery_checks` first (the list itself is kept: checks
    added to it later apply too).
    """

    def __init__(
        self,
        templates: Sequence[TemplateView],
        *,
        invoker: Invoker,
        endpoint_url: str,
        region: str,
        account: str,
        retry_delays: Sequence[float] = (1.0, 2.0),
        poll_interval: float = 0.2,
        delivery_checks: list[DeliveryCheck] | None = None,
        clock: Clock = system_clock,
    ) -> None:
        if not retry_delays:
            raise ValueError("retry_delays needs at least one delay")
        self._endpoint_url = endpoint_url
        topics = SnsSubscriptions()
        self.asynchronous = AsyncInvocations()
        self.schedules = Schedules(clock)  # `clock` fires them: tests pass a fake one
        # Every path, in the order the banner lists them: add a new path here.
        self.paths: list[DeliveryPath] = [
            S3Notifications(topics),
            topics,
            self.asynchronous,
            SourceMappings(),
            EventRules(self.schedules),
            self.schedules,
        ]
        for template in templates:
            for path in self.paths:
                path.read(template)
        self._runtime = Deliveries(
            invoker,
            region=region,
            account=account,
            retry_delays=retry_delays,
            poll_interval=poll_interval,
            async_queue=self.asynchronous.queue,
            checks=delivery_checks if delivery_checks is not None else [],
        )
        self._pollers: list[Poller] = []
        self._started = False
        self._stopped = False

    def describe(self) -> list[str]:
        """One line per wiring, for the start-up banner."""
        return [line for path in self.paths for line in path.describe()]

    def not_emulated(self) -> list[str]:
        """What the paths knowingly leave out, one sentence each."""
        return [line for path in self.paths for line in path.not_emulated()]

    def state(self) -> dict[str, Any]:
        """What scripts need to reach the paths (the schedule trigger queue), for the state file."""
        return {key: value for path in self.paths for key, value in path.state().items()}

    def start(self) -> None:
        """Configure moto (bucket notifications, the router's queues and subscriptions) and start polling."""
        if self._started:
            raise RuntimeError("the event router was already started")
        self._started = True
        runtime = self._runtime
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto takes any credentials; these reach nothing else
            region_name=runtime.region,
        )
        for service in CLIENT_SERVICES:
            runtime.clients[service] = session.client(
                service, endpoint_url=self._endpoint_url, config=_CLIENT_CONFIG
            )
        inbox = Inbox(runtime)
        for path in self.paths:
            self._pollers.extend(path.start(runtime, inbox))
        if inbox.queues:
            self._pollers.insert(0, inbox)
        for poller in self._pollers:
            poller.start()

    def stop(self) -> None:
        """Stop every thread within about a second; events still queued are logged, not delivered."""
        if self._stopped:
            return
        self._stopped = True
        self._runtime.stopping.set()
        with self._runtime.changed:
            queues = list(self._runtime.async_queues.values())
        for queue in queues:
            queue.wake()
        workers: list[EventThread] = [*self._pollers, *queues]
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        busy = [worker.name for worker in workers if worker.alive]
        if busy:
            LOGGER.warning("Event delivery stopped while invoking: %s", ", ".join(busy))
        for worker in workers:
            if worker.pending:
                LOGGER.warning("%s: %d events not delivered at shutdown", worker.name, worker.pending)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no event is queued or in flight; False if that takes longer than `timeout` seconds.

        Idle means: during full poll cycles of every poller none found work and no function was
        invoked, and no asynchronous invocation is queued (retries included) or running.
        """
        runtime = self._runtime
        deadline = time.monotonic() + timeout
        with runtime.changed:
            if self._stopped:  # nothing moves any more
                return self._settled([])
            while True:
                activity = runtime.activity
                # Two more cycles: the first may have started before the last event arrived.
                targets = [(poller, poller.cycles + 2) for poller in self._pollers]
                settled = partial(self._settled, targets)
                if not runtime.changed.wait_for(settled, max(0.0, deadline - time.monotonic())):
                    return False
                if runtime.activity == activity and all(poller.idle for poller in self._pollers):
                    return True

    def _settled(self, targets: Sequence[tuple[Poller, int]]) -> bool:
        """Every poller reached its target cycle count and no asynchronous invocation is queued or running."""
        return all(poller.cycles >= cycles for poller, cycles in targets) and all(
            queue.idle for queue in self._runtime.async_queues.values()
        )

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> str:
        """Invoke `function` (name or ARN) as Lambda's Event invocation type does; returns the request id.

        Retries, destinations and the dead-letter queue apply as the templates configure them.
        """
        if not self._started:
            raise RuntimeError("start the event router before invoking through it")
        return self._runtime.invoke_async(function, event)
