"""The event source mapping of an SQS queue: failed messages return after the visibility timeout."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

from constructs_lib.local.events._delivery import LOGGER, Deliveries, Record
from constructs_lib.local.events._mapping import SourceConsumer, SourceMapping, failed_items
from constructs_lib.local.events._threads import SQS_RECEIVE_LIMIT


class QueueConsumer(SourceConsumer):
    """An event source mapping of an SQS queue: failed messages return after the visibility timeout."""

    default_batch_size = 10

    def __init__(self, deliveries: Deliveries, mapping: SourceMapping) -> None:
        super().__init__(deliveries, mapping)
        self.url = ""

    def prepare(self) -> None:
        self.url = self.deliveries.queue_url(self.mapping.source_arn)

    def _cycle(self) -> bool:
        sqs = self.deliveries.clients["sqs"]
        records = [self._record(message) for message in self._receive()]
        if not records:
            counts = sqs.get_queue_attributes(
                QueueUrl=self.url,
                # Visible too: a message whose visibility timeout ended after the receive is still to come.
                AttributeNames=[
                    "ApproximateNumberOfMessages",
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
            invocation = self.deliveries.invoke(self.mapping.function, {"Records": matching})
            ids = [record["messageId"] for record in matching]
            failed, reason = failed_items(invocation, ids, self.mapping.report_failures)
            if failed:
                LOGGER.warning(
                    "%s: %d of %d messages failed (%s); they return after the queue's visibility timeout",
                    self.name,
                    len(failed),
                    len(matching),
                    reason,
                )
        done = [record for record in records if record["messageId"] not in failed]
        for start in range(0, len(done), SQS_RECEIVE_LIMIT):
            entries = [
                {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                for index, record in enumerate(done[start : start + SQS_RECEIVE_LIMIT])
            ]
            sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        return True

    def _receive(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: those there now, and those arriving within the batching window."""
        messages: list[dict[str, Any]] = []
        deadline = 0.0
        while len(messages) < self.mapping.batch_size and not self.deliveries.stopping.is_set():
            received = (
                self.deliveries.clients["sqs"]
                .receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, self.mapping.batch_size - len(messages)),
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
                self.deliveries.stopping.wait(min(self.deliveries.poll_interval, remaining))
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
        record["awsRegion"] = self.deliveries.region
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
