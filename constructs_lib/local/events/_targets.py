"""Delivery to the targets of schedules (EventBridge Scheduler) and rules (EventBridge), with their
retry policy and dead-letter queue.

Both services treat a target alike: they call it (a function asynchronously, as both do; a queue;
a topic) with a role or as a service principal, retry a failed delivery within its RetryPolicy
(MaximumRetryAttempts, MaximumEventAgeInSeconds, 185 and 24 hours by default), and then send what
they could not deliver to the target's DeadLetterConfig queue with attributes saying why. A
function's own failure is not a delivery failure: it goes through the function's asynchronous
retries and destinations (``async_invocations``), as in AWS.

As in AWS, errors a retry cannot fix (the delivery is refused: missing permissions; the target
does not exist) go to the dead-letter queue at once. Locally, retries follow the router's retry
delays instead of the services' exponential back-off, and more than `LOCAL_RETRY_CAP` retries are
capped, so that a failing target reaches its dead-letter queue within the session.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local.events._delivery import LOGGER, Deliveries, Sender, short
from constructs_lib.local.events._threads import Poller

DEFAULT_MAX_RETRIES = 185  # Scheduler's and EventBridge's default MaximumRetryAttempts
DEFAULT_MAX_EVENT_AGE = 86400  # seconds: their default MaximumEventAgeInSeconds (24 hours)
LOCAL_RETRY_CAP = 10  # retries at the router's delays: 185 would keep a failing target busy for minutes
# Errors a retry cannot fix: AWS sends these to the dead-letter queue without retrying.
_FINAL_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "UnsupportedTarget",
    }
)
_ERROR_MESSAGE_LIMIT = 1024  # characters of ERROR_MESSAGE kept on a dead-letter message


@dataclass(frozen=True)
class Target:
    """One target of a schedule or rule: where to deliver and what to do when that fails."""

    arn: str
    role_arn: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    max_age: int = DEFAULT_MAX_EVENT_AGE
    dead_letter: str | None = None
    message_group: str | None = None  # SqsParameters.MessageGroupId, for a FIFO queue

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> Target:
        """A target from a (resolved) Scheduler or EventBridge Target property: the keys are the same."""
        retry = properties.get("RetryPolicy", {})
        return cls(
            arn=str(properties["Arn"]),
            role_arn=properties.get("RoleArn"),
            max_retries=int(retry.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES)),
            max_age=int(retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE)),
            dead_letter=properties.get("DeadLetterConfig", {}).get("Arn"),
            message_group=properties.get("SqsParameters", {}).get("MessageGroupId"),
        )

    @property
    def service(self) -> str:
        return self.arn.split(":")[2] if self.arn.startswith("arn:") else ""

    @property
    def local_retries(self) -> int:
        return min(self.max_retries, LOCAL_RETRY_CAP)

    def describe(self) -> str:
        retries = f"{self.max_retries} retries" + (
            f" (capped at {LOCAL_RETRY_CAP} locally)" if self.max_retries > LOCAL_RETRY_CAP else ""
        )
        options = [retries, f"max age {self.max_age} s"]
        if self.dead_letter:
            options.append(f"DLQ {short(self.dead_letter)}")
        return f"{self.service} {short(self.arn)} ({', '.join(options)})"


@dataclass(order=True)
class Delivery:
    """One event on its way to one target, retried until it is delivered or dead-lettered."""

    due: float  # time.monotonic() of the next attempt
    number: int
    label: str = field(compare=False)  # "schedule Jobs/Nightly", "rule Bus/Images"
    target: Target = field(compare=False)
    render: Callable[[int], str] = field(compare=False)  # the payload text for attempt n (1, 2, ...)
    sender: Sender = field(compare=False)
    dead_letter_attributes: Mapping[str, str] = field(compare=False)  # the service's own ones
    first_attempt: float = field(default=0.0, compare=False)  # time.time()
    attempts: int = field(default=0, compare=False)


class TargetDeliveries(Poller):
    """Attempts deliveries to targets; retries failed ones when due; dead-letters what cannot be delivered.

    `submit` makes the first attempt in the caller's thread; this thread makes the retries.
    """

    def __init__(self, deliveries: Deliveries, name: str) -> None:
        super().__init__(deliveries, name)
        self._lock = threading.Lock()
        self._due: list[Delivery] = []
        self._numbers = itertools.count()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._due)

    def submit(
        self,
        label: str,
        target: Target,
        render: Callable[[int], str],
        *,
        sender: Sender,
        dead_letter_attributes: Mapping[str, str],
    ) -> bool:
        """Deliver an event now; False if this attempt failed (it is then retried or dead-lettered)."""
        delivery = Delivery(
            due=time.monotonic(),
            number=next(self._numbers),
            label=label,
            target=target,
            render=render,
            sender=sender,
            dead_letter_attributes=dead_letter_attributes,
            first_attempt=time.time(),
        )
        return self._attempt(delivery)

    def _cycle(self) -> bool:
        worked = False
        while not self.deliveries.stopping.is_set():
            with self._lock:
                if not self._due or self._due[0].due > time.monotonic():
                    break
                delivery = heapq.heappop(self._due)
            self._attempt(delivery)
            worked = True
        with self._lock:
            self.idle = not self._due
        return worked

    def _attempt(self, delivery: Delivery) -> bool:
        delivery.attempts += 1
        payload = delivery.render(delivery.attempts)
        error = deliver(self.deliveries, delivery.target, payload, delivery.sender)
        if error is None:
            return True
        code, message = error
        retries = delivery.attempts - 1
        age = time.time() - delivery.first_attempt
        if code in _FINAL_ERRORS:
            condition = "not retried"
        elif retries >= delivery.target.local_retries:
            condition = f"{retries} retries exhausted"
        elif age >= delivery.target.max_age:
            condition = f"maximum event age {delivery.target.max_age} s exceeded"
        else:
            delay = self.deliveries.retry_delay(retries + 1)
            LOGGER.warning(
                "%s: delivery to %s failed (%s: %s); retry %d of %d in %g s",
                delivery.label,
                short(delivery.target.arn),
                code,
                message,
                retries + 1,
                delivery.target.local_retries,
                delay,
            )
            delivery.due = time.monotonic() + delay
            with self._lock:
                heapq.heappush(self._due, delivery)
                self.idle = False
            return False
        self._dead_letter(delivery, payload, code, message, condition)
        return False

    def _dead_letter(self, delivery: Delivery, payload: str, code: str, message: str, condition: str) -> None:
        destination = delivery.target.dead_letter
        target = short(delivery.target.arn)
        what = f"{delivery.label}: delivery to {target} failed ({code}: {message}; {condition})"
        if destination is None:
            LOGGER.error("%s; lost: no dead-letter queue: %s", what, payload)
            return
        attributes = {
            **delivery.dead_letter_attributes,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:_ERROR_MESSAGE_LIMIT],
            "TARGET_ARN": delivery.target.arn,
        }
        failure = send_to_queue(self.deliveries, destination, payload, delivery.sender, attributes=attributes)
        if failure is None:
            LOGGER.warning("%s; sent to %s", what, short(destination))
        else:
            LOGGER.error("%s; lost: the dead-letter queue refused it too (%s): %s", what, failure[1], payload)


def deliver(deliveries: Deliveries, target: Target, payload: str, sender: Sender) -> tuple[str, str] | None:
    """Deliver `payload` (text) to `target`; None when delivered, else (error code, message)."""
    service = target.service
    if service == "lambda":
        arn = deliveries.invoked_arn(target.arn)
        if not deliveries.allowed(sender, "lambda:InvokeFunction", arn):
            return "AccessDeniedException", f"{sender.principal} may not invoke {short(arn)}"
        deliveries.invoke_async(target.arn, _event(payload))
        return None
    if service == "sqs":
        return send_to_queue(deliveries, target.arn, payload, sender, group=target.message_group)
    if service == "sns":
        return _publish(deliveries, target.arn, payload, sender)
    return "UnsupportedTarget", f"targets of {service or target.arn} are not emulated locally"


def _publish(deliveries: Deliveries, topic_arn: str, payload: str, sender: Sender) -> tuple[str, str] | None:
    if not deliveries.allowed(sender, "sns:Publish", topic_arn):
        return "AccessDeniedException", f"{sender.principal} may not publish to {short(topic_arn)}"
    try:
        deliveries.clients["sns"].publish(TopicArn=topic_arn, Message=payload)
    except (BotoCoreError, ClientError) as error:
        return _error(error)
    return None


def send_to_queue(
    deliveries: Deliveries,
    queue_arn: str,
    body: str,
    sender: Sender,
    *,
    group: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> tuple[str, str] | None:
    """Send `body` to the queue `queue_arn` as `sender`; None when sent, else (error code, message)."""
    if not deliveries.allowed(sender, "sqs:SendMessage", queue_arn):
        return "AccessDeniedException", f"{sender.principal} may not send to {short(queue_arn)}"
    request: dict[str, Any] = {"MessageBody": body}
    if attributes:
        request["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items() if value
        }
    if queue_arn.endswith(".fifo"):
        request["MessageGroupId"] = group or "default"
    try:
        request["QueueUrl"] = deliveries.queue_url(queue_arn)
        deliveries.clients["sqs"].send_message(**request)
    except (BotoCoreError, ClientError) as error:
        return _error(error)
    return None


def _event(payload: str) -> Any:
    """What a function receives for a payload: its JSON value, or the text itself."""
    try:
        return json.loads(payload)
    except ValueError:
        return payload


def _error(error: BotoCoreError | ClientError) -> tuple[str, str]:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return str(details.get("Code", "ClientError")), str(details.get("Message", error))
    return type(error).__name__, str(error)
