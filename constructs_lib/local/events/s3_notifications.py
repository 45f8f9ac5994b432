"""S3 bucket notifications, as S3 delivers them to queues, topics and functions.

Read from ``Custom::S3BucketNotifications`` (CDK's) or a bucket's own ``NotificationConfiguration``.
Queue targets are configured in moto, which delivers them; topic and function targets go to a
runner-owned queue, and each S3 event is published to the topic (subject "Amazon S3 Notification",
as S3 does) or invokes the function asynchronously. Notifications to EventBridge are not delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local._types import TemplateView
from constructs_lib.local.events._delivery import LOGGER, Deliveries, DeliveryPath, Sender, resolved, short
from constructs_lib.local.events._threads import Inbox, Poller
from constructs_lib.local.events.sns_subscriptions import SnsSubscriptions

S3_NOTIFICATION_SUBJECT = "Amazon S3 Notification"
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


@dataclass(frozen=True)
class BucketTarget:
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
        return f"s3://{bucket} {','.join(self.events)}{keys} -> {self.kind} {short(self.arn)}"


class S3Notifications(DeliveryPath):
    """Every bucket's notification configurations; `topics` names the subscribers of topic targets."""

    def __init__(self, topics: SnsSubscriptions) -> None:
        super().__init__()
        self.topics = topics
        self.targets: dict[str, list[BucketTarget]] = {}

    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        return {
            "Custom::S3BucketNotifications": self._read_bucket_notifications,
            "AWS::S3::Bucket": self._read_bucket,
        }

    def describe(self) -> list[str]:
        subscribers = self.topics.subscribers()
        lines = []
        for bucket, targets in self.targets.items():
            for target in targets:
                fan_out = subscribers.get(target.arn) if target.kind == "topic" else None
                lines.append(target.describe(bucket) + (f" -> {', '.join(fan_out)}" if fan_out else ""))
        return lines

    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        for bucket, targets in self.targets.items():
            self._configure_bucket(deliveries, bucket, targets, inbox)
        return []

    def _read_bucket_notifications(
        self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]
    ) -> None:
        props = resolved(template, properties, "BucketName", "NotificationConfiguration")
        configuration = props.get("NotificationConfiguration", {})
        for kind, key, arn_key in _CUSTOM_NOTIFICATION_KEYS:
            for index, entry in enumerate(configuration.get(key, [])):
                self._add_bucket_target(
                    props["BucketName"],
                    BucketTarget(
                        kind=kind,
                        arn=entry[arn_key],
                        events=tuple(entry["Events"]),
                        rules=_filter_rules(entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])),
                        configuration_id=entry.get("Id") or f"{logical_id}-{kind}-{index}",
                    ),
                )
        self._warn_event_bridge(props["BucketName"], configuration)

    def _read_bucket(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        configuration = resolved(template, properties, "NotificationConfiguration").get(
            "NotificationConfiguration"
        )
        if not configuration:
            return
        bucket = template.ref(logical_id)
        for kind, key, arn_key in _BUCKET_NOTIFICATION_KEYS:
            for index, entry in enumerate(configuration.get(key, [])):
                self._add_bucket_target(
                    bucket,
                    BucketTarget(
                        kind=kind,
                        arn=entry[arn_key],
                        events=(entry["Event"],),
                        rules=_filter_rules(entry.get("Filter", {}).get("S3Key", {}).get("Rules", [])),
                        configuration_id=f"{logical_id}-{kind}-{index}",
                    ),
                )
        self._warn_event_bridge(bucket, configuration)

    def _add_bucket_target(self, bucket: str, target: BucketTarget) -> None:
        self.targets.setdefault(bucket, []).append(target)

    def _warn_event_bridge(self, bucket: str, configuration: Mapping[str, Any]) -> None:
        if "EventBridgeConfiguration" in configuration:
            self.warn_once(
                f"eventbridge-{bucket}",
                "s3://%s: notifications to EventBridge are not delivered locally",
                bucket,
            )

    def _configure_bucket(
        self, deliveries: Deliveries, bucket: str, targets: Sequence[BucketTarget], inbox: Inbox
    ) -> None:
        """Configure the notifications: queues directly, topics and functions through a router queue."""
        # moto sends to queue targets itself: one whose queue policy refuses S3 is left out (AWS drops them).
        sender = Sender("s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
        configurations = [
            target.to_moto(target.arn)
            for target in targets
            if target.kind == "queue" and deliveries.allowed(sender, "sqs:SendMessage", target.arn)
        ]
        routed = {target.configuration_id: target for target in targets if target.kind != "queue"}
        try:
            url, arn = deliveries.create_queue("s3") if routed else ("", "")
            configurations += [target.to_moto(arn) for target in routed.values()]
            deliveries.clients["s3"].put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configurations}
            )
            if routed:
                inbox.add(url, partial(self._route_s3_event, deliveries, bucket, routed))
        except (BotoCoreError, ClientError) as error:
            LOGGER.error("s3://%s: notifications not configured: %s", bucket, error)

    def _route_s3_event(
        self, deliveries: Deliveries, bucket: str, targets: Mapping[str, BucketTarget], body: str
    ) -> None:
        """Deliver an S3 event from the bucket's router queue to its topic or function target."""
        sns = deliveries.clients["sns"]
        sender = Sender("s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
        event = json.loads(body)
        if event.get("Event") == "s3:TestEvent":
            # S3 sends a test event to topics and queues when notifications are configured, not to functions.
            for topic in sorted({target.arn for target in targets.values() if target.kind == "topic"}):
                if deliveries.allowed(sender, "sns:Publish", topic):
                    sns.publish(TopicArn=topic, Message=body, Subject=S3_NOTIFICATION_SUBJECT)
            return
        for record in event.get("Records", []):
            target = targets[record["s3"]["configurationId"]]
            if target.kind == "function":
                deliveries.deliver(target.arn, event, sender=sender)
            elif deliveries.allowed(sender, "sns:Publish", target.arn):
                sns.publish(TopicArn=target.arn, Message=body, Subject=S3_NOTIFICATION_SUBJECT)


def _filter_rules(rules: Sequence[Mapping[str, str]]) -> tuple[tuple[str, str], ...]:
    # S3 accepts "Prefix" and "prefix"; moto matches only the lower case.
    return tuple((rule["Name"].lower(), rule["Value"]) for rule in rules)
