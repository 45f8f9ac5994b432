"""SNS subscriptions: ``sqs`` ones are created in moto, which delivers them; ``lambda`` ones by the runner.

Every ``lambda`` subscription becomes a runner-owned queue subscribed to the topic with the same
filter policy; each notification then invokes the function asynchronously with Lambda's SNS event.
Other protocols (email, http, ...) are not delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from constructs_lib.local._types import TemplateView
from constructs_lib.local.events._delivery import (
    LOGGER,
    Deliveries,
    DeliveryPath,
    Sender,
    resolved,
    short,
)
from constructs_lib.local.events._threads import Inbox, Poller

# Subscription properties that are also SNS subscription attributes.
_SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
)


@dataclass(frozen=True)
class Subscription:
    topic_arn: str
    protocol: str  # "lambda" or "sqs"
    endpoint: str
    attributes: Mapping[str, str]  # SNS subscription attributes as the API takes them


class SnsSubscriptions(DeliveryPath):
    """Every ``lambda`` and ``sqs`` subscription of the templates' topics."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: list[Subscription] = []

    def readers(self) -> Mapping[str, Callable[[TemplateView, str, Mapping[str, Any]], None]]:
        return {"AWS::SNS::Topic": self._read_topic, "AWS::SNS::Subscription": self._read_subscription}

    def subscribers(self) -> dict[str, list[str]]:
        """The short names of each topic's subscribers, by topic ARN."""
        subscribers: dict[str, list[str]] = {}
        for subscription in self.subscriptions:
            subscribers.setdefault(subscription.topic_arn, []).append(short(subscription.endpoint))
        return subscribers

    def describe(self) -> list[str]:
        lines = []
        for subscription in self.subscriptions:
            filtered = " (filter policy)" if "FilterPolicy" in subscription.attributes else ""
            lines.append(
                f"sns {short(subscription.topic_arn)} -> {subscription.protocol} "
                f"{short(subscription.endpoint)}{filtered}"
            )
        return lines

    def start(self, deliveries: Deliveries, inbox: Inbox) -> list[Poller]:
        for subscription in self.subscriptions:
            self._configure_subscription(deliveries, subscription, inbox)
        return []

    def _read_topic(self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]) -> None:
        for entry in resolved(template, properties, "Subscription").get("Subscription", []):
            self._add_subscription(template.ref(logical_id), entry["Protocol"], entry["Endpoint"], {})

    def _read_subscription(
        self, template: TemplateView, logical_id: str, properties: Mapping[str, Any]
    ) -> None:
        props = resolved(template, properties, "TopicArn", "Protocol", "Endpoint", *_SUBSCRIPTION_ATTRIBUTES)
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
            self.subscriptions.append(Subscription(topic_arn, protocol, endpoint, attributes))
        else:
            self.warn_once(
                f"sns-{protocol}",
                "SNS %s subscriptions are not delivered locally (%s -> %s)",
                protocol,
                short(topic_arn),
                endpoint,
            )

    def _configure_subscription(
        self, deliveries: Deliveries, subscription: Subscription, inbox: Inbox
    ) -> None:
        try:
            if subscription.protocol == "sqs":
                # moto delivers these itself: a queue whose policy refuses the topic gets no subscription
                # (in AWS, every delivery would be dropped).
                sender = Sender("sns.amazonaws.com", subscription.topic_arn)
                if deliveries.allowed(sender, "sqs:SendMessage", subscription.endpoint):
                    self._subscribe(deliveries, subscription, subscription.endpoint, subscription.attributes)
                return
            url, arn = deliveries.create_queue("sns")
            # A function gets the notification envelope whatever RawMessageDelivery says, and its
            # invocation is queued at once, so the subscription's redrive policy never applies.
            filter_policy = {
                name: value
                for name, value in subscription.attributes.items()
                if name.startswith("FilterPolicy")
            }
            subscription_arn = self._subscribe(deliveries, subscription, arn, filter_policy)
            function = subscription.endpoint  # an alias's ARN keeps its qualifier for the permission check
            inbox.add(url, partial(self._route_notification, deliveries, function, subscription_arn))
        except (BotoCoreError, ClientError) as error:
            LOGGER.error(
                "sns %s -> %s: subscription not configured: %s",
                short(subscription.topic_arn),
                subscription.endpoint,
                error,
            )

    def _subscribe(
        self,
        deliveries: Deliveries,
        subscription: Subscription,
        queue_arn: str,
        attributes: Mapping[str, str],
    ) -> str:
        """Subscribe `queue_arn` to the topic in moto; without the filter policy if moto cannot apply it."""
        sns = deliveries.clients["sns"]
        arguments = {"TopicArn": subscription.topic_arn, "Protocol": "sqs", "Endpoint": queue_arn}
        try:
            response = sns.subscribe(**arguments, Attributes=dict(attributes), ReturnSubscriptionArn=True)
        except ClientError as error:
            if "FilterPolicy" not in attributes:
                raise
            self.warn_once(
                f"filter-{subscription.topic_arn}-{subscription.endpoint}",
                "sns %s -> %s: filter policy not applied locally (%s): every message is delivered",
                short(subscription.topic_arn),
                short(subscription.endpoint),
                error,
            )
            others = {
                name: value for name, value in attributes.items() if not name.startswith("FilterPolicy")
            }
            response = sns.subscribe(**arguments, Attributes=others, ReturnSubscriptionArn=True)
        arn: str = response["SubscriptionArn"]
        return arn

    def _route_notification(
        self, deliveries: Deliveries, function: str, subscription_arn: str, body: str
    ) -> None:
        """Invoke `function` asynchronously with Lambda's SNS event for a notification moto queued."""
        notification = json.loads(body)
        region = deliveries.region
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
        sender = Sender("sns.amazonaws.com", notification["TopicArn"])
        deliveries.deliver(function, {"Records": [record]}, sender=sender)
