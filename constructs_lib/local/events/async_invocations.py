"""Lambda's asynchronous invocation: one queue and thread per function.

Retries after the router's retry delays, maximum event age, on-success and on-failure destinations
(``AWS::Lambda::EventInvokeConfig``) and the function's dead-letter queue, with Lambda's invocation
records. S3 and SNS deliveries, and destinations that are functions, arrive here.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.local._types import FunctionError, Invocation, TemplateView
from constructs_lib.local.events._delivery import (
    LOGGER,
    Deliveries,
    DeliveryPath,
    Sender,
    function_name,
    resolved,
    short,
    timestamp,
)
from constructs_lib.local.events._threads import EventThread, Inbox, Poller

DEFAULT_ASYNC_RETRIES = 2  # Lambda's MaximumRetryAttempts for asynchronous invocation
DEFAULT_MAX_EVENT_AGE = 21600  # seconds: Lambda's MaximumEventAgeInSeconds (6 hours)
ERROR_MESSAGE_LIMIT = 1024  # characters of ErrorMessage on a dead-letter message, as Lambda truncates it


@dataclass(frozen=True)
class InvokeConfig:
    """How Lambda handles a function's asynchronous invocations (AWS::Lambda::EventInvokeConfig)."""

    max_retries: int = DEFAULT_ASYNC_RETRIES
    max_age: float = DEFAULT_MAX_EVENT_AGE
    on_success: str | None = None
    on_failure: str | None = None


class AsyncInvocations(DeliveryPath):
    """How each function's asynchronous invocations are retried and where their outcomes go."""

    def __init__(self) -> None:
        super().__init__()
        self.configs: dict[str, InvokeConfig] = {}
        self.dead_letters: dict[str, str] = {}

    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        return {
            "AWS::Lambda::EventInvokeConfig": self._read_invoke_config,
            "AWS::Lambda::Function": self._read_function,
        }

    def queue(self, deliveries: Deliveries, function: str) -> AsyncQueue:
        """A new queue for `function`'s asynchronous invocations, configured as the templates say."""
        return AsyncQueue(
            deliveries, function, self.configs.get(function, InvokeConfig()), self.dead_letters.get(function)
        )

    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        return []  # a function's queue starts with its first asynchronous invocation

    def describe(self) -> list[str]:
        return [
            self._describe_async(function)
            for function in sorted(self.configs.keys() | self.dead_letters.keys())
        ]

    def _read_invoke_config(
        self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]
    ) -> None:
        props = resolved(
            template,
            properties,
            "FunctionName",
            "MaximumRetryAttempts",
            "MaximumEventAgeInSeconds",
            "DestinationConfig",
        )
        destinations = props.get("DestinationConfig", {})
        self.configs[function_name(props["FunctionName"])] = InvokeConfig(
            max_retries=int(props.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
            max_age=float(props.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE)),
            on_success=destinations.get("OnSuccess", {}).get("Destination"),
            on_failure=destinations.get("OnFailure", {}).get("Destination"),
        )

    def _read_function(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        target = (
            resolved(template, properties, "DeadLetterConfig").get("DeadLetterConfig", {}).get("TargetArn")
        )
        if target:
            self.dead_letters[template.ref(logical_id)] = target

    def _describe_async(self, function: str) -> str:
        config = self.configs.get(function, InvokeConfig())
        parts = [f"{config.max_retries} retries"]
        if config.on_success:
            parts.append(f"on success -> {short(config.on_success)}")
        if config.on_failure:
            parts.append(f"on failure -> {short(config.on_failure)}")
        if function in self.dead_letters:
            parts.append(f"dead letters -> {short(self.dead_letters[function])}")
        return f"{function} asynchronous invocations: {', '.join(parts)}"


@dataclass(order=True)
class _AsyncEvent:
    due: float  # monotonic time of the next attempt
    number: int  # first in, first out among events due at the same time
    request_id: str = field(compare=False)
    event: Mapping[str, Any] = field(compare=False)
    received: float = field(compare=False)
    attempts: int = field(compare=False, default=0)


class AsyncQueue(EventThread):
    """Lambda's queue of one function's asynchronous invocations: attempts, retries, destinations."""

    def __init__(
        self, deliveries: Deliveries, function: str, config: InvokeConfig, dead_letter: str | None
    ) -> None:
        super().__init__(deliveries, f"{function} (asynchronous)")
        # Destinations and the dead-letter queue are sent to as the function's execution role.
        self._sender = Sender(deliveries.function_arn(function))
        self.function = function
        self.config = config
        self.dead_letter = dead_letter
        self._events: list[_AsyncEvent] = []  # a heap by due time
        self._numbers = itertools.count()
        self._busy = False
        self._changed = threading.Condition()

    @property
    def pending(self) -> int:
        return len(self._events)

    @property
    def idle(self) -> bool:
        return not self._events and not self._busy

    def put(self, event: Mapping[str, Any]) -> str:
        request_id = str(uuid.uuid4())
        if self.deliveries.stopping.is_set():
            LOGGER.warning("%s: event router stopped; invocation %s not delivered", self.function, request_id)
            return request_id
        now = time.monotonic()
        with self._changed:
            heapq.heappush(self._events, _AsyncEvent(now, next(self._numbers), request_id, event, now))
            self._changed.notify()
        self.deliveries.worked()
        return request_id

    def wake(self) -> None:
        with self._changed:
            self._changed.notify()

    def _run(self) -> None:
        while (item := self._next()) is not None:
            try:
                self._attempt(item)
            except Exception:  # whatever went wrong, the function's other events still get delivered
                LOGGER.exception("%s: invocation %s lost: %s", self.function, item.request_id, item.event)
            finally:
                with self._changed:
                    self._busy = False
                self.deliveries.worked()

    def _next(self) -> _AsyncEvent | None:
        """The next event due, once it is; None once the router stops."""
        with self._changed:
            while not self.deliveries.stopping.is_set():
                now = time.monotonic()
                if self._events and self._events[0].due <= now:
                    self._busy = True  # before the pop, so that the queue never looks idle in between
                    return heapq.heappop(self._events)
                self._changed.wait(self._events[0].due - now if self._events else None)
        return None

    def _attempt(self, item: _AsyncEvent) -> None:
        item.attempts += 1
        invocation = self.deliveries.invoke(self.function, item.event)
        error = invocation.error
        if error is None:
            if self.config.on_success:
                self.deliveries.send(
                    self.config.on_success, self._record(item, invocation, "Success"), sender=self._sender
                )
            return
        condition = "RetriesExhausted"
        if item.attempts <= self.config.max_retries:
            delay = self.deliveries.retry_delay(item.attempts)
            condition = "EventAgeExceeded"
            if time.monotonic() + delay - item.received <= self.config.max_age:
                LOGGER.warning(
                    "%s: asynchronous invocation %s failed (%s: %s); retry %d of %d in %g s",
                    self.function,
                    item.request_id,
                    error.error_type,
                    error.message,
                    item.attempts,
                    self.config.max_retries,
                    delay,
                )
                item.due = time.monotonic() + delay
                with self._changed:
                    heapq.heappush(self._events, item)
                return
        self._fail(item, invocation, error, condition)

    def _fail(self, item: _AsyncEvent, invocation: Invocation, error: FunctionError, condition: str) -> None:
        """Send a failed event to the on-failure destination and the dead-letter queue, or log it.

        Lambda uses both when both are configured ("destinations in addition to or instead of a
        dead-letter queue"): the record goes to the destination, the event to the queue.
        """
        what = f"{self.function}: asynchronous invocation {item.request_id} failed {item.attempts} times"
        if self.config.on_failure:
            record = self._record(item, invocation, condition)
            if self.deliveries.send(self.config.on_failure, record, sender=self._sender):
                LOGGER.warning("%s (%s); sent to %s", what, condition, short(self.config.on_failure))
        if self.dead_letter:
            attributes = {
                "RequestID": item.request_id,
                "ErrorCode": "200",
                "ErrorMessage": error.message[:ERROR_MESSAGE_LIMIT],
            }
            if self.deliveries.send(self.dead_letter, item.event, attributes, sender=self._sender):
                LOGGER.warning(
                    "%s (%s); sent to dead-letter queue %s", what, condition, short(self.dead_letter)
                )
        if not self.config.on_failure and not self.dead_letter:
            LOGGER.error(
                "%s (%s); discarded: no on-failure destination or dead-letter queue; event: %s",
                what,
                condition,
                json.dumps(item.event),
            )

    def _record(self, item: _AsyncEvent, invocation: Invocation, condition: str) -> dict[str, Any]:
        """Lambda's invocation record for a destination."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        payload = invocation.payload
        if invocation.error is not None:
            response["functionError"] = "Unhandled"
            payload = {
                "errorMessage": invocation.error.message,
                "errorType": invocation.error.error_type,
                "requestId": invocation.request_id,
                "stackTrace": list(invocation.error.trace),
            }
        return {
            "version": "1.0",
            "timestamp": timestamp(),
            "requestContext": {
                "requestId": item.request_id,
                "functionArn": f"{self.deliveries.function_arn(self.function)}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": item.attempts,
            },
            "requestPayload": item.event,
            "responseContext": response,
            "responsePayload": payload,
        }
