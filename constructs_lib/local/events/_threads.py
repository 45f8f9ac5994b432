"""The router's threads: `EventThread` (a daemon thread of the runner process, not a function's
worker process), `Poller` (polls until the router stops) and `Inbox` (the runner-owned queues moto
delivers S3 events and SNS notifications to).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from constructs_lib.local.events._delivery import LOGGER

if TYPE_CHECKING:
    from constructs_lib.local.events._delivery import Deliveries

SQS_RECEIVE_LIMIT = 10  # messages per ReceiveMessage call, SQS's maximum


class EventThread(ABC):
    """A daemon thread of the router."""

    def __init__(self, deliveries: Deliveries, name: str) -> None:
        self.deliveries = deliveries
        self.name = name
        self._thread = threading.Thread(target=self._run, name=f"events {name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    @abstractmethod
    def pending(self) -> int:
        """Events received and not delivered yet."""

    @abstractmethod
    def _run(self) -> None:
        """The thread's loop, until the router stops."""


class Poller(EventThread):
    """Runs `_cycle` until the router stops, waiting a poll interval after each cycle without work."""

    def __init__(self, deliveries: Deliveries, name: str) -> None:
        super().__init__(deliveries, name)
        self.cycles = 0
        self.idle = False  # the last cycle found nothing, and nothing waits to be delivered

    @property
    def pending(self) -> int:
        # What a poller has not received stays in its queue or stream.
        return 0

    def prepare(self) -> None:
        """Set up, before `start`, what must exist when the router's start() returns."""

    @abstractmethod
    def _cycle(self) -> bool:
        """Poll once and deliver what was found; True if there was anything."""

    def _run(self) -> None:
        deliveries = self.deliveries
        failing = False
        while not deliveries.stopping.is_set():
            try:
                worked = self._cycle()
                failing = False
            except Exception:  # a failing poll is logged and retried, never fatal to the thread
                if deliveries.stopping.is_set():
                    return
                if not failing:
                    LOGGER.exception(
                        "%s: polling failed; retrying every %g s", self.name, deliveries.poll_interval
                    )
                failing, worked, self.idle = True, False, False
            if worked:
                deliveries.worked()
            deliveries.cycled(self)
            if not worked:
                deliveries.stopping.wait(deliveries.poll_interval)


class Inbox(Poller):
    """The router-owned queues moto delivers S3 events and SNS notifications to, polled in one thread."""

    def __init__(self, deliveries: Deliveries) -> None:
        super().__init__(deliveries, "inbox")
        self.queues: list[tuple[str, Callable[[str], None]]] = []

    def add(self, queue_url: str, route: Callable[[str], None]) -> None:
        self.queues.append((queue_url, route))

    def _cycle(self) -> bool:
        sqs = self.deliveries.clients["sqs"]
        worked = False
        for url, route in self.queues:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=SQS_RECEIVE_LIMIT).get(
                "Messages", []
            )
            for message in messages:
                try:
                    route(message["Body"])
                except Exception:  # one message that cannot be routed must not block the others
                    LOGGER.exception("Could not route a message from %s; lost: %s", url, message["Body"])
            if messages:
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                ]
                sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                worked = True
        self.idle = not worked
        return worked
