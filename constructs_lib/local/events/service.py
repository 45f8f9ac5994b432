"""Event delivery as one `LocalService` of the runner: the `EventRouter` over the whole assembly."""

from __future__ import annotations

from typing import Any

from constructs_lib.local._service import ServiceContext
from constructs_lib.local.events.router import EventRouter


class Events:
    """S3 notifications, SNS subscriptions, asynchronous invocations and event source mappings."""

    name = "events"

    def __init__(self) -> None:
        self.router: EventRouter | None = None

    def start(self, context: ServiceContext) -> None:
        self.router = EventRouter(
            context.assembly.stacks,
            invoker=context.invoker,
            endpoint_url=context.aws.url,
            region=context.region,
            account=context.account,
            delivery_checks=context.delivery_checks,
            retry_delays=context.options.retry_delays,
        )
        self.router.start()
        context.invoke_async = self.router.invoke_async

    def stop(self) -> None:
        if self.router is not None:
            self.router.stop()

    def banner(self) -> list[str]:
        return [f"Events: {line}" for line in self.router.describe()] if self.router else []

    def state(self) -> dict[str, Any]:
        return self.router.state() if self.router else {}

    def not_emulated(self) -> list[str]:
        return self.router.not_emulated() if self.router else []
