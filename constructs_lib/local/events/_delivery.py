"""What every delivery path shares: moto clients, invoking functions, sending to destinations, checks.

`Deliveries` is the state the router's threads share; `DeliveryPath` is the shape of one path
(S3 notifications, SNS subscriptions, asynchronous invocations, event source mappings): it reads
its resources from each template, configures moto and returns its threads at start, and describes
its wiring for the banner.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local._service import DeliveryCheck, DeliveryRequest, check_delivery
from constructs_lib.local._types import FunctionError, Invocation, Invoker, TemplateView, function_arn

if TYPE_CHECKING:
    from constructs_lib.local.events._threads import Inbox, Poller
    from constructs_lib.local.events.async_invocations import AsyncQueue

LOGGER = logging.getLogger("constructs_lib.local")

_QUEUE_PREFIX = "constructs-lib-local"
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 2},
    # botocore 1.44.4+ puts the account id in DynamoDB endpoints, which moto's stream mock rejects.
    account_id_endpoint_mode="disabled",
)
# The IAM action of sending to a destination, by the destination's service.
_SEND_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}

Record = dict[str, Any]


@dataclass(frozen=True)
class Sender:
    """Who delivers: a service principal and its source (aws:SourceArn), or a function's execution role."""

    principal: str
    source_arn: str | None = None


def short(arn: str) -> str:
    """A readable name for an ARN: the topic, queue, function, bucket or table it names."""
    parts = arn.split(":")
    if len(parts) < 6:
        return arn
    if parts[2] == "lambda":
        return parts[6]
    if parts[2] == "dynamodb":
        return parts[5].split("/")[1]
    return parts[5]


def function_name(function: str) -> str:
    """A function's name from its name or ARN, either qualified (``name:live``): locally every alias
    and version of a function runs its one copy."""
    return function.split(":")[6] if function.startswith("arn:") else function.split(":", maxsplit=1)[0]


def flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def timestamp() -> str:
    """The time now in ISO 8601 UTC with milliseconds, as Lambda writes it in invocation records."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def resolved(template: TemplateView, properties: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The properties `names` that are set, resolved: the others may hold intrinsics the runner lacks."""
    return {name: template.resolve(properties[name]) for name in names if name in properties}


class Deliveries:
    """What the router's threads share: moto clients, the invoker, the stop flag and progress counters."""

    def __init__(
        self,
        invoker: Invoker,
        *,
        region: str,
        account: str,
        retry_delays: Sequence[float],
        poll_interval: float,
        async_queue: Callable[[Deliveries, str], AsyncQueue],
        checks: list[DeliveryCheck],
    ) -> None:
        self.invoker = invoker
        self.region = region
        self.account = account
        self.retry_delays = tuple(retry_delays)
        self.poll_interval = poll_interval
        self._async_queue = async_queue
        self.checks = checks  # shared with whoever adds checks, also after start
        self.clients: dict[str, Any] = {}  # boto3 clients for moto by service name, created by start()
        self.stopping = threading.Event()
        self.changed = threading.Condition()  # guards activity, async_queues and the pollers' cycles
        self.activity = 0
        self.async_queues: dict[str, AsyncQueue] = {}
        self._queue_urls: dict[str, str] = {}
        self._queue_numbers = itertools.count(1)

    def function_arn(self, function: str) -> str:
        return function_arn(self.region, self.account, function)

    def invoked_arn(self, function: str) -> str:
        """The ARN an invocation of `function` (name, ``name:alias`` or ARN) names, with its alias or
        version: Lambda checks the permission of what is invoked, and an alias has its own."""
        if function.startswith("arn:"):
            return function
        name, _, qualifier = function.partition(":")
        return f"{self.function_arn(name)}:{qualifier}" if qualifier else self.function_arn(name)

    def invoke(self, function: str, event: Mapping[str, Any]) -> Invocation:
        """Invoke `function` synchronously; a failure of the invoker itself counts as a failed attempt."""
        try:
            return self.invoker.invoke(self.function_arn(function), event)
        except Exception as error:  # the invoker failed, not the function: retried like a service error
            LOGGER.error("Could not invoke %s: %s", function, error)
            return Invocation(
                request_id=str(uuid.uuid4()), error=FunctionError(type(error).__name__, str(error))
            )

    def invoke_async(self, function: str, event: Mapping[str, Any]) -> str:
        """Queue an asynchronous invocation of `function` (name or ARN); returns its request id."""
        name = function_name(function)
        with self.changed:
            queue = self.async_queues.get(name)
            if queue is None:
                queue = self._async_queue(self, name)
                self.async_queues[name] = queue
                queue.start()
        return queue.put(event)

    def deliver(self, function: str, event: Mapping[str, Any], *, sender: Sender) -> str | None:
        """Invoke `function` asynchronously on behalf of `sender` (S3, SNS, ...) if the checks allow it."""
        if not self.allowed(sender, "lambda:InvokeFunction", self.invoked_arn(function)):
            return None
        return self.invoke_async(function, event)

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...): the last delay repeats."""
        return self.retry_delays[min(retry, len(self.retry_delays)) - 1]

    def worked(self) -> None:
        """Note that an event moved, so that wait_idle looks again."""
        with self.changed:
            self.activity += 1
            self.changed.notify_all()

    def cycled(self, poller: Poller) -> None:
        with self.changed:
            poller.cycles += 1
            self.changed.notify_all()

    def send(
        self,
        destination: str,
        payload: Mapping[str, Any],
        attributes: Mapping[str, str] | None = None,
        *,
        sender: Sender,
    ) -> bool:
        """Send `payload` as JSON to an SQS queue or SNS topic, or invoke a function with it, by ARN."""
        service = destination.split(":")[2] if destination.startswith("arn:") else ""
        action = _SEND_ACTIONS.get(service)
        if action is not None and not self.allowed(sender, action, destination):
            return False
        message_attributes = {
            name: {"DataType": "Number" if name == "ErrorCode" else "String", "StringValue": value}
            for name, value in (attributes or {}).items()
        }
        body = json.dumps(payload)
        try:
            if service == "sqs":
                self.clients["sqs"].send_message(
                    QueueUrl=self.queue_url(destination),
                    MessageBody=body,
                    MessageAttributes=message_attributes,
                )
            elif service == "sns":
                self.clients["sns"].publish(
                    TopicArn=destination, Message=body, MessageAttributes=message_attributes
                )
            elif service == "lambda":
                self.invoke_async(destination, payload)
            else:
                LOGGER.error("Destination %s is not supported locally; lost: %s", destination, body)
                return False
        except (BotoCoreError, ClientError) as error:
            LOGGER.error("Could not send to %s (%s); lost: %s", destination, error, body)
            return False
        return True

    def allowed(self, sender: Sender, action: str, resource: str) -> bool:
        """Whether the delivery checks let `sender` do `action` on `resource`; a refusal is logged."""
        request = DeliveryRequest(sender.principal, action, resource, sender.source_arn)
        refusal = check_delivery(self.checks, request)
        if refusal is not None:
            LOGGER.warning(
                "Delivery refused: %s may not %s on %s%s: %s",
                sender.principal,
                action,
                resource,
                f" (from {sender.source_arn})" if sender.source_arn else "",
                refusal,
            )
        return refusal is None

    def create_queue(self, kind: str) -> tuple[str, str]:
        """A new queue owned by the runner (moto delivers to it, the runner polls it): its URL and ARN."""
        sqs = self.clients["sqs"]
        url: str = sqs.create_queue(QueueName=f"{_QUEUE_PREFIX}-{kind}-{next(self._queue_numbers)}")[
            "QueueUrl"
        ]
        arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def queue_url(self, queue_arn: str) -> str:
        if queue_arn not in self._queue_urls:
            _, _, _, _, account, name = queue_arn.split(":")
            response = self.clients["sqs"].get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._queue_urls[queue_arn] = response["QueueUrl"]
        return self._queue_urls[queue_arn]


class DeliveryPath(ABC):
    """One way events travel between the local services and functions, wired from the templates."""

    def __init__(self) -> None:
        self._warned: set[str] = set()

    @abstractmethod
    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        """The resource types this path reads, each with its reader (template, logical id, properties)."""

    def read(self, template: TemplateView) -> None:
        """Read this path's resources of `template`; one that cannot be read is warned about and skipped."""
        for resource_type, read in self.readers().items():
            for logical_id, resource in template.resources_of_type(resource_type).items():
                try:
                    read(template, logical_id, resource.get("Properties", {}))
                except Exception as error:  # one unreadable resource must not stop the others
                    LOGGER.warning(
                        "%s/%s (%s) is not wired locally: %s",
                        template.stack_name,
                        logical_id,
                        resource_type,
                        error,
                    )

    @abstractmethod
    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        """Configure moto (queues to `inbox`, subscriptions) and return the threads to start."""

    @abstractmethod
    def describe(self) -> list[str]:
        """One line per wiring, for the start-up banner."""

    def not_emulated(self) -> list[str]:
        """What this path knowingly leaves out, one sentence each (for the banner)."""
        return []

    def state(self) -> dict[str, Any]:
        """What scripts need to reach this path while it runs (merged into the run's state file)."""
        return {}

    def warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            LOGGER.warning(message, *args)
