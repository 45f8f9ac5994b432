"""Event delivery between the local services, wired from the synthesized templates as AWS wires it.

moto stores the data and moves messages between its own services, but it cannot invoke a local
function. The `EventRouter` fills that gap:

- Bucket notifications (``Custom::S3BucketNotifications``, or a bucket's own
  ``NotificationConfiguration``): queue targets are configured in moto, which delivers them;
  topic and function targets go to a queue the router owns, and the router publishes each S3
  event to the topic (subject "Amazon S3 Notification", as S3 does) or invokes the function.
- SNS: every ``lambda`` subscription becomes a router-owned queue subscribed to the topic with
  the same filter policy; each notification becomes Lambda's SNS event. ``sqs`` subscriptions
  are created in moto, which delivers them.
- Asynchronous invocation, one queue and thread per function: retries after `retry_delays`,
  maximum event age, on-success and on-failure destinations (``AWS::Lambda::EventInvokeConfig``)
  and the function's dead-letter queue, with Lambda's invocation records.
- Event source mappings for DynamoDB streams and SQS queues: batch size, batching window,
  filter criteria, partial batch responses, bisection, retries and on-failure destinations.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import logging
import operator
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local._types import FunctionError, Invocation, Invoker, TemplateView, function_arn

LOGGER = logging.getLogger("constructs_lib.local")

S3_NOTIFICATION_SUBJECT = "Amazon S3 Notification"
DEFAULT_ASYNC_RETRIES = 2  # Lambda's MaximumRetryAttempts for asynchronous invocation
DEFAULT_MAX_EVENT_AGE = 21600  # seconds: Lambda's MaximumEventAgeInSeconds (6 hours)
DEFAULT_BATCH_SIZES = {"dynamodb": 100, "sqs": 10}
# MaximumRetryAttempts -1 retries a stream batch until its records expire a day later: locally that
# would block the shard for the whole session, so the retries stop here.
LOCAL_STREAM_RETRY_CAP = 10
STOP_TIMEOUT = 0.9  # seconds stop() waits for its threads; an invocation in progress ends on its own
_QUEUE_PREFIX = "constructs-lib-local"
_STREAM_READ_LIMIT = 1000  # records per GetRecords call, DynamoDB Streams' maximum
_SQS_RECEIVE_LIMIT = 10  # messages per ReceiveMessage call, SQS's maximum
_ERROR_MESSAGE_LIMIT = 1024  # characters of ErrorMessage on a dead-letter message, as Lambda truncates it
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 2},
    # botocore 1.44.4+ puts the account id in DynamoDB endpoints, which moto's stream mock rejects.
    account_id_endpoint_mode="disabled",
)
# Bucket notification targets: (kind, list key, ARN key) in CDK's custom resource and in AWS::S3::Bucket.
_CUSTOM_NOTIFICATION_KEYS = (
    ("topic", "TopicConfigurations", "TopicArn"),
    ("queue", "QueueConfigurations", "QueueArn"),
    ("function", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
)
_BUCKET_NOTIFICATION_KEYS = (
    ("topic", "TopicConfigurations", "Topic"),
    ("queue", "QueueConfigurations", "Queue"),
    ("function", "LambdaConfigurations", "Function"),
)
# Subscription properties that are also SNS subscription attributes.
_SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
)
_MAPPING_PROPERTIES = (
    "EventSourceArn",
    "FunctionName",
    "BatchSize",
    "StartingPosition",
    "MaximumBatchingWindowInSeconds",
    "BisectBatchOnFunctionError",
    "FunctionResponseTypes",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "Enabled",
    "FilterCriteria",
    "TumblingWindowInSeconds",
)

Record = dict[str, Any]


@dataclass(frozen=True)
class _BucketTarget:
    """One notification configuration of a bucket: which events and keys go to which target."""

    kind: str  # "topic", "queue" or "function"
    arn: str
    events: tuple[str, ...]
    rules: tuple[tuple[str, str], ...]  # ("prefix" | "suffix", value)
    configuration_id: str

    def to_moto(self, queue_arn: str) -> dict[str, Any]:
        """This configuration as an S3 QueueConfiguration that sends to `queue_arn`."""
        configuration: dict[str, Any] = {
            "Id": self.configuration_id,
            "QueueArn": queue_arn,
            "Events": list(self.events),
        }
        if self.rules:
            rules = [{"Name": name, "Value": value} for name, value in self.rules]
            configuration["Filter"] = {"Key": {"FilterRules": rules}}
        return configuration

    def describe(self, bucket: str) -> str:
        rules = dict(self.rules)
        keys = f" ({rules.get('prefix', '')}*{rules.get('suffix', '')})" if rules else ""
        return f"s3://{bucket} {','.join(self.events)}{keys} -> {self.kind} {_short(self.arn)}"


@dataclass(frozen=True)
class _Subscription:
    topic_arn: str
    protocol: str  # "lambda" or "sqs"
    endpoint: str
    attributes: Mapping[str, str]  # SNS subscription attributes as the API takes them


@dataclass(frozen=True)
class _InvokeConfig:
    """How Lambda handles a function's asynchronous invocations (AWS::Lambda::EventInvokeConfig)."""

    max_retries: int = DEFAULT_ASYNC_RETRIES
    max_age: float = DEFAULT_MAX_EVENT_AGE
    on_success: str | None = None
    on_failure: str | None = None


@dataclass(frozen=True)
class _SourceMapping:
    """An enabled event source mapping of a DynamoDB stream or an SQS queue."""

    label: str
    source_arn: str
    function: str
    batch_size: int
    starting_position: str
    batching_window: float
    bisect: bool
    report_failures: bool
    max_retries: int  # -1: until the record expires
    max_record_age: int  # seconds, -1: until the record expires
    on_failure: str | None
    matches: Callable[[Mapping[str, Any]], bool]

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]

    def describe(self) -> str:
        options = [f"batch {self.batch_size}"]
        if self.batching_window:
            options.append(f"window {self.batching_window:g} s")
        if self.service == "dynamodb":
            options.append(self.starting_position)
            options.append(f"{'unlimited' if self.max_retries < 0 else self.max_retries} retries")
        if self.bisect:
            options.append("bisect on error")
        if self.report_failures:
            options.append("partial batch responses")
        if self.on_failure:
            options.append(f"on failure -> {_short(self.on_failure)}")
        return f"{self.label} ({', '.join(options)})"


def _short(arn: str) -> str:
    """A readable name for an ARN: the topic, queue, function, bucket or table it names."""
    parts = arn.split(":")
    if len(parts) < 6:
        return arn
    if parts[2] == "lambda":
        return parts[6]
    if parts[2] == "dynamodb":
        return parts[5].split("/")[1]
    return parts[5]


def _function_name(function: str) -> str:
    """A function's name from its name or (qualified) ARN."""
    return function.split(":")[6] if function.startswith("arn:") else function


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _timestamp() -> str:
    """The time now in ISO 8601 UTC with milliseconds, as Lambda writes it in invocation records."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _resolved(template: TemplateView, properties: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The properties `names` that are set, resolved: the others may hold intrinsics the runner lacks."""
    return {name: template.resolve(properties[name]) for name in names if name in properties}


class _Runtime:
    """What the router's threads share: moto clients, the invoker, the stop flag and progress counters."""

    def __init__(
        self,
        invoker: Invoker,
        *,
        region: str,
        account: str,
        retry_delays: Sequence[float],
        poll_interval: float,
        invoke_configs: Mapping[str, _InvokeConfig],
        dead_letters: Mapping[str, str],
    ) -> None:
        self.invoker = invoker
        self.region = region
        self.account = account
        self.retry_delays = tuple(retry_delays)
        self.poll_interval = poll_interval
        self.invoke_configs = invoke_configs
        self.dead_letters = dead_letters
        self.clients: dict[str, Any] = {}  # boto3 clients for moto by service name, created by start()
        self.stopping = threading.Event()
        self.changed = threading.Condition()  # guards activity, async_queues and the pollers' cycles
        self.activity = 0
        self.async_queues: dict[str, _AsyncQueue] = {}
        self._queue_urls: dict[str, str] = {}

    def function_arn(self, function: str) -> str:
        return function_arn(self.region, self.account, function)

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
        name = _function_name(function)
        with self.changed:
            queue = self.async_queues.get(name)
            if queue is None:
                queue = _AsyncQueue(
                    self, name, self.invoke_configs.get(name, _InvokeConfig()), self.dead_letters.get(name)
                )
                self.async_queues[name] = queue
                queue.start()
        return queue.put(event)

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...): the last delay repeats."""
        return self.retry_delays[min(retry, len(self.retry_delays)) - 1]

    def worked(self) -> None:
        """Note that an event moved, so that wait_idle looks again."""
        with self.changed:
            self.activity += 1
            self.changed.notify_all()

    def cycled(self, poller: _Poller) -> None:
        with self.changed:
            poller.cycles += 1
            self.changed.notify_all()

    def send(
        self, destination: str, payload: Mapping[str, Any], attributes: Mapping[str, str] | None = None
    ) -> bool:
        """Send `payload` as JSON to an SQS queue or SNS topic, or invoke a function with it, by ARN."""
        service = destination.split(":")[2] if destination.startswith("arn:") else ""
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

    def queue_url(self, queue_arn: str) -> str:
        if queue_arn not in self._queue_urls:
            _, _, _, _, account, name = queue_arn.split(":")
            response = self.clients["sqs"].get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._queue_urls[queue_arn] = response["QueueUrl"]
        return self._queue_urls[queue_arn]


class EventRouter:
    """Delivers events between the local services and functions as the templates configure AWS to.

    `start` configures moto and starts the threads that poll and invoke; `stop` ends them;
    `wait_idle` waits until nothing is queued or in flight. Functions are invoked through
    `invoker` with ``arn:aws:lambda:<region>:<account>:function:<name>``.
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
    ) -> None:
        if not retry_delays:
            raise ValueError("retry_delays needs at least one delay")
        self._endpoint_url = endpoint_url
        self._warned: set[str] = set()
        self._bucket_targets: dict[str, list[_BucketTarget]] = {}
        self._subscriptions: list[_Subscription] = []
        self._invoke_configs: dict[str, _InvokeConfig] = {}
        self._dead_letters: dict[str, str] = {}
        self._mappings: list[_SourceMapping] = []
        self._skipped: list[str] = []
        for template in templates:
            self._read_template(template)
        self._runtime = _Runtime(
            invoker,
            region=region,
            account=account,
            retry_delays=retry_delays,
            poll_interval=poll_interval,
            invoke_configs=self._invoke_configs,
            dead_letters=self._dead_letters,
        )
        self._pollers: list[_Poller] = []
        self._queue_numbers = itertools.count(1)
        self._started = False
        self._stopped = False

    # Reading the templates

    def _read_template(self, template: TemplateView) -> None:
        readers: dict[str, Callable[[TemplateView, str, Mapping[str, Any]], None]] = {
            "Custom::S3BucketNotifications": self._read_bucket_notifications,
            "AWS::S3::Bucket": self._read_bucket,
            "AWS::SNS::Topic": self._read_topic,
            "AWS::SNS::Subscription": self._read_subscription,
            "AWS::Lambda::EventInvokeConfig": self._read_invoke_config,
            "AWS::Lambda::Function": self._read_function,
            "AWS::Lambda::EventSourceMapping": self._read_mapping,
        }
        for resource_type, read in readers.items():
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

    def _read_bucket_notifications(
        self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]
    ) -> None:
        props = _resolved(template, properties, "BucketName", "NotificationConfiguration")
        configuration = props.get("NotificationConfiguration", {})
        for kind, key, arn_key in _CUSTOM_NOTIFICATION_KEYS:
            for index, entry in enumerate(configuration.get(key, [])):
                self._add_bucket_target(
                    props["BucketName"],
                    _BucketTarget(
                        kind=kind,
                        arn=entry[arn_key],
                        events=tuple(entry["Events"]),
                        rules=_filter_rules(entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])),
                        configuration_id=entry.get("Id") or f"{logical_id}-{kind}-{index}",
                    ),
                )
        self._warn_event_bridge(props["BucketName"], configuration)

    def _read_bucket(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        configuration = _resolved(template, properties, "NotificationConfiguration").get(
            "NotificationConfiguration"
        )
        if not configuration:
            return
        bucket = template.ref(logical_id)
        for kind, key, arn_key in _BUCKET_NOTIFICATION_KEYS:
            for index, entry in enumerate(configuration.get(key, [])):
                self._add_bucket_target(
                    bucket,
                    _BucketTarget(
                        kind=kind,
                        arn=entry[arn_key],
                        events=(entry["Event"],),
                        rules=_filter_rules(entry.get("Filter", {}).get("S3Key", {}).get("Rules", [])),
                        configuration_id=f"{logical_id}-{kind}-{index}",
                    ),
                )
        self._warn_event_bridge(bucket, configuration)

    def _add_bucket_target(self, bucket: str, target: _BucketTarget) -> None:
        self._bucket_targets.setdefault(bucket, []).append(target)

    def _warn_event_bridge(self, bucket: str, configuration: Mapping[str, Any]) -> None:
        if "EventBridgeConfiguration" in configuration:
            self._warn_once(
                f"eventbridge-{bucket}",
                "s3://%s: notifications to EventBridge are not delivered locally",
                bucket,
            )

    def _read_topic(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        for entry in _resolved(template, properties, "Subscription").get("Subscription", []):
            self._add_subscription(template.ref(logical_id), entry["Protocol"], entry["Endpoint"], {})

    def _read_subscription(
        self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]
    ) -> None:
        props = _resolved(template, properties, "TopicArn", "Protocol", "Endpoint", *_SUBSCRIPTION_ATTRIBUTES)
        attributes = {
            name: value if isinstance(value, str) else json.dumps(value)
            for name, value in props.items()
            if name in _SUBSCRIPTION_ATTRIBUTES
        }
        self._add_subscription(props["TopicArn"], props["Protocol"], props["Endpoint"], attributes)

    def _add_subscription(
        self, topic_arn: str, protocol: str, endpoint: str, attributes: Mapping[str, str]
    ) -> None:
        if protocol in ("lambda", "sqs"):
            self._subscriptions.append(_Subscription(topic_arn, protocol, endpoint, attributes))
        else:
            self._warn_once(
                f"sns-{protocol}",
                "SNS %s subscriptions are not delivered locally (%s -> %s)",
                protocol,
                _short(topic_arn),
                endpoint,
            )

    def _read_invoke_config(
        self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]
    ) -> None:
        props = _resolved(
            template,
            properties,
            "FunctionName",
            "MaximumRetryAttempts",
            "MaximumEventAgeInSeconds",
            "DestinationConfig",
        )
        destinations = props.get("DestinationConfig", {})
        self._invoke_configs[_function_name(props["FunctionName"])] = _InvokeConfig(
            max_retries=int(props.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
            max_age=float(props.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE)),
            on_success=destinations.get("OnSuccess", {}).get("Destination"),
            on_failure=destinations.get("OnFailure", {}).get("Destination"),
        )

    def _read_function(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        target = (
            _resolved(template, properties, "DeadLetterConfig").get("DeadLetterConfig", {}).get("TargetArn")
        )
        if target:
            self._dead_letters[template.ref(logical_id)] = target

    def _read_mapping(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = _resolved(template, properties, *_MAPPING_PROPERTIES)
        function = _function_name(props["FunctionName"])
        source = props.get("EventSourceArn", "")
        service = source.split(":")[2] if source.startswith("arn:") else "self-managed"
        label = f"{service} {_short(source) if source else logical_id} -> {function}"
        if service not in DEFAULT_BATCH_SIZES:
            self._warn_once(
                f"esm-{service}", "%s event sources are not supported locally (%s)", service, label
            )
            self._skipped.append(f"{label} (not supported locally)")
            return
        if not _flag(props.get("Enabled", True)):
            self._skipped.append(f"{label} (disabled)")
            return
        if "TumblingWindowInSeconds" in props:
            self._warn_once(
                f"tumbling-{logical_id}",
                "%s: tumbling windows are not emulated: plain batches are sent",
                label,
            )
        max_retries = int(props.get("MaximumRetryAttempts", -1))
        if service == "dynamodb" and max_retries < 0:
            self._warn_once(
                f"retries-{logical_id}",
                "%s: MaximumRetryAttempts -1 (until the record expires) is capped locally at %d retries",
                label,
                LOCAL_STREAM_RETRY_CAP,
            )
        self._mappings.append(
            _SourceMapping(
                label=label,
                source_arn=source,
                function=function,
                batch_size=int(props.get("BatchSize", DEFAULT_BATCH_SIZES[service])),
                starting_position=props.get("StartingPosition", "TRIM_HORIZON"),
                batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                bisect=_flag(props.get("BisectBatchOnFunctionError", False)),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                max_retries=max_retries,
                max_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
                on_failure=props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
                matches=self._filter(label, props.get("FilterCriteria", {})),
            )
        )

    def _filter(self, label: str, criteria: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
        """The mapping's FilterCriteria as a predicate on records; all pass when it cannot be evaluated."""
        patterns = [entry["Pattern"] for entry in criteria.get("Filters", [])]
        try:
            tests = [_compile(json.loads(p) if isinstance(p, str) else p) for p in patterns]
        except ValueError as error:
            self._warn_once(
                f"filter-{label}",
                "%s: FilterCriteria not applied locally (%s): every record is sent",
                label,
                error,
            )
            return lambda record: True
        return lambda record: not tests or any(test(record) for test in tests)

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            LOGGER.warning(message, *args)

    # Public API

    def describe(self) -> list[str]:
        """One line per wiring, for the start-up banner."""
        subscribers: dict[str, list[str]] = {}
        for subscription in self._subscriptions:
            subscribers.setdefault(subscription.topic_arn, []).append(_short(subscription.endpoint))
        lines = []
        for bucket, targets in self._bucket_targets.items():
            for target in targets:
                fan_out = subscribers.get(target.arn) if target.kind == "topic" else None
                lines.append(target.describe(bucket) + (f" -> {', '.join(fan_out)}" if fan_out else ""))
        for subscription in self._subscriptions:
            filtered = " (filter policy)" if "FilterPolicy" in subscription.attributes else ""
            lines.append(
                f"sns {_short(subscription.topic_arn)} -> {subscription.protocol} "
                f"{_short(subscription.endpoint)}{filtered}"
            )
        for function in sorted(self._invoke_configs.keys() | self._dead_letters.keys()):
            lines.append(self._describe_async(function))
        lines.extend(mapping.describe() for mapping in self._mappings)
        lines.extend(self._skipped)
        return lines

    def _describe_async(self, function: str) -> str:
        config = self._invoke_configs.get(function, _InvokeConfig())
        parts = [f"{config.max_retries} retries"]
        if config.on_success:
            parts.append(f"on success -> {_short(config.on_success)}")
        if config.on_failure:
            parts.append(f"on failure -> {_short(config.on_failure)}")
        elif function in self._dead_letters:
            parts.append(f"dead letters -> {_short(self._dead_letters[function])}")
        return f"{function} asynchronous invocations: {', '.join(parts)}"

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
        for service in ("s3", "sns", "sqs", "dynamodbstreams"):
            runtime.clients[service] = session.client(
                service, endpoint_url=self._endpoint_url, config=_CLIENT_CONFIG
            )
        inbox = _Inbox(runtime)
        for bucket, targets in self._bucket_targets.items():
            self._configure_bucket(bucket, targets, inbox)
        for subscription in self._subscriptions:
            self._configure_subscription(subscription, inbox)
        if inbox.queues:
            self._pollers.append(inbox)
        for mapping in self._mappings:
            consumer: _Poller = (
                _StreamConsumer(runtime, mapping)
                if mapping.service == "dynamodb"
                else _QueueConsumer(runtime, mapping)
            )
            try:
                consumer.prepare()
            except (BotoCoreError, ClientError) as error:
                LOGGER.error("%s: not started: %s", mapping.label, error)
                continue
            self._pollers.append(consumer)
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
        workers: list[_Worker] = [*self._pollers, *queues]
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

    def _settled(self, targets: Sequence[tuple[_Poller, int]]) -> bool:
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

    # Configuring moto

    def _create_queue(self, kind: str) -> tuple[str, str]:
        """A new router-owned queue: its URL and ARN."""
        sqs = self._runtime.clients["sqs"]
        url: str = sqs.create_queue(QueueName=f"{_QUEUE_PREFIX}-{kind}-{next(self._queue_numbers)}")[
            "QueueUrl"
        ]
        arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def _configure_bucket(self, bucket: str, targets: Sequence[_BucketTarget], inbox: _Inbox) -> None:
        """Configure the notifications: queues directly, topics and functions through a router queue."""
        configurations = [target.to_moto(target.arn) for target in targets if target.kind == "queue"]
        routed = {target.configuration_id: target for target in targets if target.kind != "queue"}
        try:
            url, arn = self._create_queue("s3") if routed else ("", "")
            configurations += [target.to_moto(arn) for target in routed.values()]
            self._runtime.clients["s3"].put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configurations}
            )
            if routed:
                inbox.add(url, partial(self._route_s3_event, routed))
        except (BotoCoreError, ClientError) as error:
            LOGGER.error("s3://%s: notifications not configured: %s", bucket, error)

    def _route_s3_event(self, targets: Mapping[str, _BucketTarget], body: str) -> None:
        """Deliver an S3 event from the bucket's router queue to its topic or function target."""
        sns = self._runtime.clients["sns"]
        event = json.loads(body)
        if event.get("Event") == "s3:TestEvent":
            # S3 sends a test event to topics and queues when notifications are configured, not to functions.
            for topic in sorted({target.arn for target in targets.values() if target.kind == "topic"}):
                sns.publish(TopicArn=topic, Message=body, Subject=S3_NOTIFICATION_SUBJECT)
            return
        for record in event.get("Records", []):
            target = targets[record["s3"]["configurationId"]]
            if target.kind == "topic":
                sns.publish(TopicArn=target.arn, Message=body, Subject=S3_NOTIFICATION_SUBJECT)
            else:
                self._runtime.invoke_async(target.arn, event)

    def _configure_subscription(self, subscription: _Subscription, inbox: _Inbox) -> None:
        try:
            if subscription.protocol == "sqs":
                self._subscribe(subscription, subscription.endpoint, subscription.attributes)
                return
            url, arn = self._create_queue("sns")
            # A function gets the notification envelope whatever RawMessageDelivery says, and its
            # invocation is queued at once, so the subscription's redrive policy never applies.
            filter_policy = {
                name: value
                for name, value in subscription.attributes.items()
                if name.startswith("FilterPolicy")
            }
            subscription_arn = self._subscribe(subscription, arn, filter_policy)
            function = _function_name(subscription.endpoint)
            inbox.add(url, partial(self._route_notification, function, subscription_arn))
        except (BotoCoreError, ClientError) as error:
            LOGGER.error(
                "sns %s -> %s: subscription not configured: %s",
                _short(subscription.topic_arn),
                subscription.endpoint,
                error,
            )

    def _subscribe(self, subscription: _Subscription, queue_arn: str, attributes: Mapping[str, str]) -> str:
        """Subscribe `queue_arn` to the topic in moto; without the filter policy if moto cannot apply it."""
        sns = self._runtime.clients["sns"]
        arguments = {"TopicArn": subscription.topic_arn, "Protocol": "sqs", "Endpoint": queue_arn}
        try:
            response = sns.subscribe(**arguments, Attributes=dict(attributes), ReturnSubscriptionArn=True)
        except ClientError as error:
            if "FilterPolicy" not in attributes:
                raise
            self._warn_once(
                f"filter-{subscription.topic_arn}-{subscription.endpoint}",
                "sns %s -> %s: filter policy not applied locally (%s): every message is delivered",
                _short(subscription.topic_arn),
                _short(subscription.endpoint),
                error,
            )
            others = {
                name: value for name, value in attributes.items() if not name.startswith("FilterPolicy")
            }
            response = sns.subscribe(**arguments, Attributes=others, ReturnSubscriptionArn=True)
        arn: str = response["SubscriptionArn"]
        return arn

    def _route_notification(self, function: str, subscription_arn: str, body: str) -> None:
        """Invoke `function` asynchronously with Lambda's SNS event for a notification moto queued."""
        notification = json.loads(body)
        region = self._runtime.region
        message = {
            "Type": notification["Type"],
            "MessageId": notification["MessageId"],
            "TopicArn": notification["TopicArn"],
            "Subject": notification.get("Subject"),
            "Message": notification["Message"],
            "Timestamp": notification["Timestamp"],
            "SignatureVersion": notification["SignatureVersion"],
            "Signature": notification["Signature"],
            "SigningCertUrl": notification["SigningCertURL"],
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={subscription_arn}",
            "MessageAttributes": notification.get("MessageAttributes", {}),
        }
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": message,
        }
        self._runtime.invoke_async(function, {"Records": [record]})


def _filter_rules(rules: Sequence[Mapping[str, str]]) -> tuple[tuple[str, str], ...]:
    # S3 accepts "Prefix" and "prefix"; moto matches only the lower case.
    return tuple((rule["Name"].lower(), rule["Value"]) for rule in rules)


# Event filtering (FilterCriteria): the EventBridge pattern syntax Lambda uses.

_MISSING = object()
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "prefix": str.startswith,
    "suffix": str.endswith,
    "equals-ignore-case": lambda value, operand: value.lower() == operand.lower(),
}
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compile(pattern: Any) -> Callable[[Any], bool]:
    """A predicate for an event filtering pattern; ValueError for what it cannot evaluate."""
    if isinstance(pattern, Mapping):
        fields = {key: _compile(rule) for key, rule in pattern.items()}
        return lambda value: (
            isinstance(value, Mapping) and all(test(value.get(key, _MISSING)) for key, test in fields.items())
        )
    if isinstance(pattern, list):
        tests = [_compile_rule(rule) for rule in pattern]
        return lambda value: any(
            test(item) for item in (value if isinstance(value, list) else [value]) for test in tests
        )
    raise ValueError(f"{pattern!r} is neither an object nor a list of values")


def _same(value: Any, expected: Any) -> bool:
    # True == 1 in Python, not in a pattern.
    return (
        value is not _MISSING and isinstance(value, bool) == isinstance(expected, bool) and value == expected
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compile_rule(rule: Any) -> Callable[[Any], bool]:
    if not isinstance(rule, Mapping):
        return lambda value: _same(value, rule)
    if len(rule) != 1:
        raise ValueError(f"{rule!r} has more than one operator")
    ((kind, operand),) = rule.items()
    if kind in _STRING_TESTS and isinstance(operand, str):
        test = _STRING_TESTS[kind]
        return lambda value: isinstance(value, str) and test(value, operand)
    if kind == "exists" and isinstance(operand, bool):
        return lambda value: (value is not _MISSING) == operand
    if kind == "anything-but" and not isinstance(operand, Mapping):
        excluded = operand if isinstance(operand, list) else [operand]
        return lambda value: value is not _MISSING and not any(_same(value, item) for item in excluded)
    if kind == "numeric" and isinstance(operand, list) and len(operand) in (2, 4):
        comparisons = list(zip(operand[::2], operand[1::2], strict=True))
        if not all(op in _COMPARISONS and _number(bound) for op, bound in comparisons):
            raise ValueError(f"{rule!r} is not a numeric comparison")
        return lambda value: (
            _number(value) and all(_COMPARISONS[op](value, bound) for op, bound in comparisons)
        )
    raise ValueError(f"operator {kind!r} with {operand!r} is not supported")


def _failed_items(
    invocation: Invocation, identifiers: Sequence[str], report_failures: bool
) -> tuple[set[str], str]:
    """The identifiers of the batch's records that failed, and why ("" when none did).

    With ReportBatchItemFailures, an empty or missing ``batchItemFailures`` is success; a response
    Lambda cannot read, or an identifier that is not in the batch, fails the whole batch.
    """
    everything = set(identifiers)
    if invocation.error is not None:
        return everything, f"{invocation.error.error_type}: {invocation.error.message}"
    if not report_failures:
        return set(), ""
    reported, problem = _reported_failures(invocation.payload)
    unknown = [item for item in reported if not (isinstance(item, str) and item in everything)]
    if problem or unknown:
        return everything, problem or f"batchItemFailures names {unknown[0]!r}, which is not in the batch"
    failed = set(reported)
    return failed, f"{len(failed)} batch item failures reported" if failed else ""


def _reported_failures(payload: Any) -> tuple[list[Any], str]:
    """The itemIdentifiers of a partial batch response, or why Lambda could not read it."""
    if payload is None:
        return [], ""
    if not isinstance(payload, Mapping):
        return [], f"the response {payload!r} is not a batch item failure report"
    failures = payload.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return [], f"batchItemFailures {failures!r} is not a list"
    return [item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in failures], ""


# Threads


class _Worker(ABC):
    """A daemon thread of the router."""

    def __init__(self, runtime: _Runtime, name: str) -> None:
        self.runtime = runtime
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


class _Poller(_Worker):
    """Runs `_cycle` until the router stops, waiting a poll interval after each cycle without work."""

    def __init__(self, runtime: _Runtime, name: str) -> None:
        super().__init__(runtime, name)
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
        runtime = self.runtime
        failing = False
        while not runtime.stopping.is_set():
            try:
                worked = self._cycle()
                failing = False
            except Exception:  # a failing poll is logged and retried, never fatal to the thread
                if runtime.stopping.is_set():
                    return
                if not failing:
                    LOGGER.exception(
                        "%s: polling failed; retrying every %g s", self.name, runtime.poll_interval
                    )
                failing, worked, self.idle = True, False, False
            if worked:
                runtime.worked()
            runtime.cycled(self)
            if not worked:
                runtime.stopping.wait(runtime.poll_interval)


class _Inbox(_Poller):
    """The router-owned queues moto delivers S3 events and SNS notifications to, polled in one thread."""

    def __init__(self, runtime: _Runtime) -> None:
        super().__init__(runtime, "inbox")
        self.queues: list[tuple[str, Callable[[str], None]]] = []

    def add(self, queue_url: str, route: Callable[[str], None]) -> None:
        self.queues.append((queue_url, route))

    def _cycle(self) -> bool:
        sqs = self.runtime.clients["sqs"]
        worked = False
        for url, route in self.queues:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=_SQS_RECEIVE_LIMIT).get(
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


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None  # None once the shard is closed
    records: list[Record] = field(default_factory=list)  # read, not yet in a batch
    first_read: float = 0.0  # when the oldest of `records` was read (monotonic), for the batching window


@dataclass
class _Batch:
    records: list[Record]
    retries: int = 0
    invocations: int = 0


class _StreamConsumer(_Poller):
    """An event source mapping of a DynamoDB stream: in-order batches per shard, retries, bisection."""

    def __init__(self, runtime: _Runtime, mapping: _SourceMapping) -> None:
        super().__init__(runtime, mapping.label)
        self.mapping = mapping
        self.shards: list[_Shard] = []
        self.max_retries = mapping.max_retries if mapping.max_retries >= 0 else LOCAL_STREAM_RETRY_CAP

    @property
    def pending(self) -> int:
        return sum(len(shard.records) for shard in self.shards)

    def prepare(self) -> None:
        # Iterators are taken now: LATEST means the records written after start().
        streams = self.runtime.clients["dynamodbstreams"]
        description = streams.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        for shard in description["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=self.mapping.source_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.mapping.starting_position,
            )["ShardIterator"]
            self.shards.append(_Shard(shard["ShardId"], iterator))

    def _cycle(self) -> bool:
        worked = False
        for shard in self.shards:
            worked = self._read(shard) or worked
            while not self.runtime.stopping.is_set() and (records := self._next_batch(shard)):
                self._deliver(shard, records)
                worked = True
        self.idle = not any(shard.records for shard in self.shards)
        return worked

    def _read(self, shard: _Shard) -> bool:
        if shard.iterator is None:
            return False
        response = self.runtime.clients["dynamodbstreams"].get_records(
            ShardIterator=shard.iterator, Limit=_STREAM_READ_LIMIT
        )
        shard.iterator = response.get("NextShardIterator")
        records = [self._record(raw) for raw in response["Records"]]
        # Records that do not match the filter criteria are skipped, as Lambda does.
        matching = [record for record in records if self.mapping.matches(record)]
        if matching and not shard.records:
            shard.first_read = time.monotonic()
        shard.records.extend(matching)
        return bool(records)

    def _record(self, raw: Mapping[str, Any]) -> Record:
        """A stream record as Lambda delivers it: creation time in epoch seconds, the source's ARN."""
        change = dict(raw["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = int(created.timestamp())
        return {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": raw["eventVersion"],
            "eventSource": "aws:dynamodb",
            "awsRegion": raw["awsRegion"],
            "dynamodb": change,
            "eventSourceARN": self.mapping.source_arn,
        }

    def _next_batch(self, shard: _Shard) -> list[Record]:
        """The next batch: BatchSize records, or fewer once the batching window has passed."""
        size = self.mapping.batch_size
        filling = time.monotonic() - shard.first_read < self.mapping.batching_window
        if not shard.records or (len(shard.records) < size and filling):
            return []
        batch, shard.records = shard.records[:size], shard.records[size:]
        shard.first_read = time.monotonic()
        return batch

    def _deliver(self, shard: _Shard, records: list[Record]) -> None:
        """Invoke the function with `records`, in order, until each succeeded or was given up on."""
        pending = deque([_Batch(records)])
        while pending:
            if self.runtime.stopping.is_set():
                left = sum(len(batch.records) for batch in pending)
                LOGGER.warning("%s: stopped with %d stream records not delivered", self.name, left)
                return
            batch = pending[0]
            invocation = self.runtime.invoke(self.mapping.function, {"Records": batch.records})
            batch.invocations += 1
            numbers = [record["dynamodb"]["SequenceNumber"] for record in batch.records]
            failed, reason = _failed_items(invocation, numbers, self.mapping.report_failures)
            if not failed:
                pending.popleft()
                continue
            # Lambda checkpoints the records before the first failure and retries from it.
            first = min(numbers.index(number) for number in failed)
            rest = batch.records[first:]
            if self.mapping.bisect and (first or len(rest) > 1):
                # Bisecting, at the failed record or else in halves, does not count as a retry.
                pending.popleft()
                half = len(rest) // 2
                pending.extendleft([_Batch(rest)] if first else [_Batch(rest[half:]), _Batch(rest[:half])])
                LOGGER.warning(
                    "%s: batch of %d failed (%s); bisecting", self.name, len(batch.records), reason
                )
                continue
            batch.records = rest
            batch.retries += 1
            condition = self._given_up(batch)
            if condition:
                pending.popleft()
                self._discard(shard, batch, invocation, condition, reason)
                continue
            delay = self.runtime.retry_delay(batch.retries)
            LOGGER.warning(
                "%s: batch of %d failed (%s); retry %d of %d in %g s",
                self.name,
                len(rest),
                reason,
                batch.retries,
                self.max_retries,
                delay,
            )
            self.runtime.stopping.wait(delay)

    def _given_up(self, batch: _Batch) -> str:
        """Why Lambda stops retrying `batch` ("" while it retries)."""
        if batch.retries > self.max_retries:
            return "RetryAttemptsExhausted"
        oldest = batch.records[0]["dynamodb"].get("ApproximateCreationDateTime", time.time())
        if 0 <= self.mapping.max_record_age < time.time() - oldest:
            return "RecordAgeExceeded"
        return ""

    def _discard(
        self, shard: _Shard, batch: _Batch, invocation: Invocation, condition: str, reason: str
    ) -> None:
        """Send Lambda's on-failure record for `batch` (pointers to its records) to the destination."""
        first, last = batch.records[0]["dynamodb"], batch.records[-1]["dynamodb"]
        what = f"{len(batch.records)} records ({first['SequenceNumber']}..{last['SequenceNumber']})"
        destination = self.mapping.on_failure
        if destination is None:
            LOGGER.error(
                "%s: %s discarded (%s, %s): no on-failure destination", self.name, what, condition, reason
            )
            return
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if invocation.error is not None:
            response["functionError"] = "Unhandled"
        record = {
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": self.runtime.function_arn(self.mapping.function),
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _timestamp(),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _arrival(first),
                "approximateArrivalOfLastRecord": _arrival(last),
                "batchSize": len(batch.records),
                "streamArn": self.mapping.source_arn,
            },
        }
        if self.runtime.send(destination, record):
            LOGGER.warning(
                "%s: %s sent to %s (%s, %s)", self.name, what, _short(destination), condition, reason
            )


def _arrival(change: Mapping[str, Any]) -> str:
    created = datetime.fromtimestamp(change.get("ApproximateCreationDateTime", time.time()), UTC)
    return created.strftime("%Y-%m-%dT%H:%M:%SZ")


class _QueueConsumer(_Poller):
    """An event source mapping of an SQS queue: failed messages return after the visibility timeout."""

    def __init__(self, runtime: _Runtime, mapping: _SourceMapping) -> None:
        super().__init__(runtime, mapping.label)
        self.mapping = mapping
        self.url = ""

    def prepare(self) -> None:
        self.url = self.runtime.queue_url(self.mapping.source_arn)

    def _cycle(self) -> bool:
        sqs = self.runtime.clients["sqs"]
        records = [self._record(message) for message in self._receive()]
        if not records:
            counts = sqs.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            self.idle = not any(int(count) for count in counts.values())
            return False
        self.idle = False
        # Messages that do not match the filter criteria are deleted, as Lambda does.
        matching = [record for record in records if self.mapping.matches({**record, "body": _body(record)})]
        failed: set[str] = set()
        if matching:
            invocation = self.runtime.invoke(self.mapping.function, {"Records": matching})
            ids = [record["messageId"] for record in matching]
            failed, reason = _failed_items(invocation, ids, self.mapping.report_failures)
            if failed:
                LOGGER.warning(
                    "%s: %d of %d messages failed (%s); they return after the queue's visibility timeout",
                    self.name,
                    len(failed),
                    len(matching),
                    reason,
                )
        done = [record for record in records if record["messageId"] not in failed]
        for start in range(0, len(done), _SQS_RECEIVE_LIMIT):
            entries = [
                {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                for index, record in enumerate(done[start : start + _SQS_RECEIVE_LIMIT])
            ]
            sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        return True

    def _receive(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: those there now, and those arriving within the batching window."""
        messages: list[dict[str, Any]] = []
        deadline = 0.0
        while len(messages) < self.mapping.batch_size and not self.runtime.stopping.is_set():
            received = (
                self.runtime.clients["sqs"]
                .receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=min(_SQS_RECEIVE_LIMIT, self.mapping.batch_size - len(messages)),
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                .get("Messages", [])
            )
            if not messages:
                if not received:
                    break
                deadline = time.monotonic() + self.mapping.batching_window
            messages.extend(received)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if not received:
                self.runtime.stopping.wait(min(self.runtime.poll_interval, remaining))
        return messages

    def _record(self, message: Mapping[str, Any]) -> Record:
        """An SQS message as Lambda delivers it."""
        record: Record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: _message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record["eventSource"] = "aws:sqs"
        record["eventSourceARN"] = self.mapping.source_arn
        record["awsRegion"] = self.runtime.region
        return record


def _body(record: Mapping[str, Any]) -> Any:
    """An SQS record's body as filter criteria see it: parsed when it is JSON, else the string."""
    try:
        return json.loads(record["body"])
    except ValueError:
        return record["body"]


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return {**attribute, "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}


@dataclass(order=True)
class _AsyncEvent:
    due: float  # monotonic time of the next attempt
    number: int  # first in, first out among events due at the same time
    request_id: str = field(compare=False)
    event: Mapping[str, Any] = field(compare=False)
    received: float = field(compare=False)
    attempts: int = field(compare=False, default=0)


class _AsyncQueue(_Worker):
    """Lambda's queue of one function's asynchronous invocations: attempts, retries, destinations."""

    def __init__(
        self, runtime: _Runtime, function: str, config: _InvokeConfig, dead_letter: str | None
    ) -> None:
        super().__init__(runtime, f"{function} (asynchronous)")
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
        if self.runtime.stopping.is_set():
            LOGGER.warning("%s: event router stopped; invocation %s not delivered", self.function, request_id)
            return request_id
        now = time.monotonic()
        with self._changed:
            heapq.heappush(self._events, _AsyncEvent(now, next(self._numbers), request_id, event, now))
            self._changed.notify()
        self.runtime.worked()
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
                self.runtime.worked()

    def _next(self) -> _AsyncEvent | None:
        """The next event due, once it is; None once the router stops."""
        with self._changed:
            while not self.runtime.stopping.is_set():
                now = time.monotonic()
                if self._events and self._events[0].due <= now:
                    self._busy = True  # before the pop, so that the queue never looks idle in between
                    return heapq.heappop(self._events)
                self._changed.wait(self._events[0].due - now if self._events else None)
        return None

    def _attempt(self, item: _AsyncEvent) -> None:
        item.attempts += 1
        invocation = self.runtime.invoke(self.function, item.event)
        error = invocation.error
        if error is None:
            if self.config.on_success:
                self.runtime.send(self.config.on_success, self._record(item, invocation, "Success"))
            return
        condition = "RetriesExhausted"
        if item.attempts <= self.config.max_retries:
            delay = self.runtime.retry_delay(item.attempts)
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
        """Send a failed event to the on-failure destination, else to the dead-letter queue, else log it."""
        what = f"{self.function}: asynchronous invocation {item.request_id} failed {item.attempts} times"
        if self.config.on_failure:
            if self.runtime.send(self.config.on_failure, self._record(item, invocation, condition)):
                LOGGER.warning("%s (%s); sent to %s", what, condition, _short(self.config.on_failure))
        elif self.dead_letter:
            attributes = {
                "RequestID": item.request_id,
                "ErrorCode": "200",
                "ErrorMessage": error.message[:_ERROR_MESSAGE_LIMIT],
            }
            if self.runtime.send(self.dead_letter, item.event, attributes):
                LOGGER.warning(
                    "%s (%s); sent to dead-letter queue %s", what, condition, _short(self.dead_letter)
                )
        else:
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
            "timestamp": _timestamp(),
            "requestContext": {
                "requestId": item.request_id,
                "functionArn": f"{self.runtime.function_arn(self.function)}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": item.attempts,
            },
            "requestPayload": item.event,
            "responseContext": response,
            "responsePayload": payload,
        }
