"""Redrive a dead-letter queue: put its failed events back where they failed, once the cause is fixed.

What a dead-letter queue of the library holds decides how each message goes back:

- a queue's dead-letter queue (QueueWorker; any queue whose redrive policy names it): the messages
  go back to their source queue, through SQS's own message-move task (StartMessageMoveTask) against
  AWS; where the endpoint has no message-move task (the local runner's moto), through the same
  receive, send, then delete loop, one message at a time;
- Lambda's on-failure record of an asynchronous invocation (an on-failure destination): the function
  in ``requestContext.functionArn`` is invoked again with ``requestPayload``;
- a plain asynchronous dead letter (a function's DeadLetterConfig; ServerlessFunction's
  ``dead_letter_queue``): the body is the event; the function is the one whose DeadLetterConfig
  names the queue;
- an EventBridge target's dead letter: the body is the event, sent again to ``TARGET_ARN`` (a
  function is invoked, a queue is sent to);
- a stream consumer's on-failure record (DynamoDB Streams or Kinesis): it holds only pointers
  (shard, first and last sequence number), so the records are read back from the stream while it
  still retains them and the function is invoked with them in Lambda's event shape, in batches of
  the record's ``batchSize``; records the stream no longer holds are reported as expired.

A function is invoked synchronously (RequestResponse), so success is known: no function error and,
for stream batches, no ``batchItemFailures``. A message is deleted only after everything it holds was
re-driven successfully; any other message stays in the queue (it reappears once its visibility
timeout passes), so a run can be repeated: delivery is at least once, never lost.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from constructs_lib._stream_records import dynamodb_stream_record, kinesis_record
from constructs_lib.runtime.function_arns import unqualified

# How long a received message stays hidden while it is re-driven: longer than one invocation
# usually takes, and short enough that a failed one is back in the queue soon after the run.
VISIBILITY_TIMEOUT = 300
MOVE_TASK_POLL = 2.0  # seconds between ListMessageMoveTasks calls
_STALE_RECEIVES = 3  # receives returning only messages already handled before the run ends
_EMPTY_PAGES = 5  # an open DynamoDB stream shard may answer a few empty pages before its next records
_EXPIRED_ERRORS = ("TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException")


@dataclass
class Clients:
    """The AWS clients a redrive uses (boto3 clients for one account and region, or the local run's)."""

    sqs: Any
    lambda_: Any
    dynamodbstreams: Any
    kinesis: Any
    move_task: bool = True  # False where StartMessageMoveTask is not available (the local runner)


@dataclass
class Report:
    """What a redrive did: messages re-driven (deleted), kept with the reason, and expired stream records."""

    redriven: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    expired_records: int = 0
    moved_by_task: int = 0
    lines: list[str] = field(default_factory=list)

    def keep(self, reason: str, detail: str) -> None:
        self.kept[reason] += 1
        self.lines.append(f"kept ({reason}): {detail}")

    def summary(self) -> str:
        parts = [f"{self.redriven + self.moved_by_task} re-driven"]
        parts += [f"{count} kept: {reason}" for reason, count in sorted(self.kept.items())]
        if self.expired_records:
            parts.append(f"{self.expired_records} stream records had expired")
        return "; ".join(parts)


@dataclass(frozen=True)
class Plan:
    """A dead-letter queue, its message count, and where its messages go back to."""

    queue_url: str
    queue_arn: str
    messages: int
    source_queues: tuple[str, ...]  # URLs of the queues whose redrive policy names it
    visibility_timeout: int = VISIBILITY_TIMEOUT

    def describe(self) -> str:
        if self.source_queues:
            names = ", ".join(url.rsplit("/", 1)[-1] for url in self.source_queues)
            return f"{self.messages} messages to move back to {names}"
        return (
            f"{self.messages} messages to re-drive to the functions, rules or streams they came from "
            "(each message's kind is read as it is received)"
        )


def plan(clients: Clients, queue: str) -> Plan:
    """The plan for `queue` (a name, URL or ARN): its message count and source queues."""
    url = queue_url(clients.sqs, queue)
    attributes = clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages"]
    )["Attributes"]
    sources = clients.sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls", [])
    return Plan(url, attributes["QueueArn"], int(attributes["ApproximateNumberOfMessages"]), tuple(sources))


def queue_url(sqs: Any, queue: str) -> str:
    if queue.startswith(("https://", "http://")):
        return queue
    if queue.startswith("arn:"):
        _, _, _, _, account, name = queue.split(":", 5)
        return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
    return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def redrive(
    clients: Clients,
    chosen: Plan,
    *,
    to: str | None = None,
    log: Callable[[str], None] = print,
    visibility_timeout: int = VISIBILITY_TIMEOUT,
) -> Report:
    """Re-drive every message of `chosen`'s queue; `to` picks the destination among several source queues.

    A message that is kept stays hidden for `visibility_timeout` seconds, then is back in the queue.
    """
    report = Report()
    chosen = replace(chosen, visibility_timeout=visibility_timeout)
    if chosen.source_queues:
        _redrive_to_queue(clients, chosen, to, report, log)
    else:
        _Redriver(clients, chosen, report, log).run()
    return report


# --- A queue's dead-letter queue -----------------------------------------------------------------


def _redrive_to_queue(
    clients: Clients, chosen: Plan, to: str | None, report: Report, log: Callable[[str], None]
) -> None:
    if clients.move_task and to is None:
        task = clients.sqs.start_message_move_task(SourceArn=chosen.queue_arn)["TaskHandle"]
        log(f"message-move task started: {task}")
        while True:
            tasks = clients.sqs.list_message_move_tasks(SourceArn=chosen.queue_arn, MaxResults=1)["Results"]
            current = next(
                (item for item in tasks if item.get("TaskHandle") == task), tasks[0] if tasks else {}
            )
            status = current.get("Status")
            if status in ("COMPLETED", "FAILED", "CANCELLED"):
                report.moved_by_task = int(current.get("ApproximateNumberOfMessagesMoved", 0))
                if status != "COMPLETED":
                    report.keep(f"message-move task {status}", current.get("FailureReason", ""))
                return
            time.sleep(MOVE_TASK_POLL)
    destination = _destination(clients.sqs, chosen, to)
    fifo = destination.endswith(".fifo")
    for message in _receive_all(clients.sqs, chosen):
        send: dict[str, Any] = {"QueueUrl": destination, "MessageBody": message["Body"]}
        if message.get("MessageAttributes"):
            send["MessageAttributes"] = message["MessageAttributes"]
        if fifo:
            send["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
            send["MessageDeduplicationId"] = message["Attributes"].get(
                "MessageDeduplicationId", message["MessageId"]
            )
        try:
            clients.sqs.send_message(**send)
        except ClientError as error:
            report.keep("send failed", f"{message['MessageId']}: {error}")
            continue
        _delete(clients.sqs, chosen, message, report)


def _destination(sqs: Any, chosen: Plan, to: str | None) -> str:
    if to is not None:
        return queue_url(sqs, to)
    if len(chosen.source_queues) > 1:
        names = ", ".join(url.rsplit("/", 1)[-1] for url in chosen.source_queues)
        raise ValueError(f"several queues dead-letter into this queue ({names}): choose one with --to")
    return chosen.source_queues[0]


# --- Lambda and stream records -------------------------------------------------------------------


class _Redriver:
    def __init__(self, clients: Clients, chosen: Plan, report: Report, log: Callable[[str], None]) -> None:
        self.clients = clients
        self.plan = chosen
        self.report = report
        self.log = log
        self._dead_letter_function: str | bool | None = False  # False: not looked up yet

    def run(self) -> None:
        for message in _receive_all(self.clients.sqs, self.plan):
            try:
                done = self._one(message)
            except ClientError as error:
                self.report.keep("AWS error", f"{message['MessageId']}: {error}")
                continue
            if done:
                _delete(self.clients.sqs, self.plan, message, self.report)

    def _one(self, message: Mapping[str, Any]) -> bool:
        body = _json(message["Body"])
        attributes = {
            name: value.get("StringValue") for name, value in message.get("MessageAttributes", {}).items()
        }
        context = body.get("requestContext") if isinstance(body, dict) else None
        if isinstance(context, dict) and "functionArn" in context:
            function = unqualified(context["functionArn"])
            for key in ("DDBStreamBatchInfo", "KinesisBatchInfo"):
                if key in body:
                    return self._stream(message, function, key, body[key])
            if "requestPayload" in body:
                return self._invoke(message, function, body["requestPayload"])
        if "TARGET_ARN" in attributes:
            return self._target(message, str(attributes["TARGET_ARN"]), message["Body"])
        if "RequestID" in attributes or "ErrorCode" in attributes:
            owner = self._function_of_dead_letter_queue()
            if owner is None:
                self.report.keep("no function names this queue as its DeadLetterConfig", message["MessageId"])
                return False
            return self._invoke(message, owner, body)
        self.report.keep("unknown message kind", message["MessageId"])
        return False

    def _invoke(self, message: Mapping[str, Any], function: str, event: Any) -> bool:
        error = invoke(self.clients.lambda_, function, event)
        if error:
            self.report.keep("the function failed again", f"{message['MessageId']} -> {function}: {error}")
            return False
        self.log(f"re-driven {message['MessageId']} -> {function}")
        return True

    def _target(self, message: Mapping[str, Any], target: str, body: str) -> bool:
        service = target.split(":")[2]
        if service == "lambda":
            return self._invoke(message, unqualified(target), _json(body))
        if service == "sqs":
            self.clients.sqs.send_message(QueueUrl=queue_url(self.clients.sqs, target), MessageBody=body)
            self.log(f"re-driven {message['MessageId']} -> {target}")
            return True
        self.report.keep(f"targets of {service} are not re-driven", message["MessageId"])
        return False

    def _function_of_dead_letter_queue(self) -> str | None:
        if self._dead_letter_function is False:
            self._dead_letter_function = None
            for page in self.clients.lambda_.get_paginator("list_functions").paginate():
                for function in page["Functions"]:
                    if function.get("DeadLetterConfig", {}).get("TargetArn") == self.plan.queue_arn:
                        self._dead_letter_function = function["FunctionArn"]
        return self._dead_letter_function if isinstance(self._dead_letter_function, str) else None

    def _stream(self, message: Mapping[str, Any], function: str, key: str, info: Mapping[str, Any]) -> bool:
        read = _dynamodb_records if key == "DDBStreamBatchInfo" else _kinesis_records
        client = self.clients.dynamodbstreams if key == "DDBStreamBatchInfo" else self.clients.kinesis
        records, expired = read(client, info, self.clients.lambda_.meta.region_name)
        wanted = int(info.get("batchSize") or len(records) or 1)
        if expired:
            self.report.expired_records += expired
            self.report.lines.append(
                f"{message['MessageId']}: {expired} of {wanted} records "
                f"({info['startSequenceNumber']}..{info['endSequenceNumber']}) are no longer in the stream"
            )
        if not records:
            self.report.keep("every record has expired from the stream", message["MessageId"])
            return False
        for start in range(0, len(records), max(wanted, 1)):
            batch = records[start : start + max(wanted, 1)]
            error = invoke(self.clients.lambda_, function, {"Records": batch})
            if error:
                self.report.keep(
                    "the function failed again", f"{message['MessageId']} -> {function}: {error}"
                )
                return False
        self.log(f"re-driven {message['MessageId']} -> {function} ({len(records)} records)")
        return True


def invoke(lambda_: Any, function: str, event: Any) -> str | None:
    """Invoke `function` synchronously with `event`; the error (None on success, batch failures count)."""
    response = lambda_.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        return f"{response['FunctionError']}: {payload.decode(errors='replace')[:300]}"
    result = _json(payload.decode() or "null")
    if isinstance(result, dict) and result.get("batchItemFailures"):
        return f"{len(result['batchItemFailures'])} batch item failures"
    return None


def _dynamodb_records(client: Any, info: Mapping[str, Any], region: str) -> tuple[list[dict[str, Any]], int]:
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = client.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        ).get("ShardIterator")
    except ClientError as error:
        if error.response["Error"]["Code"] in _EXPIRED_ERRORS:
            return [], int(info.get("batchSize", 1))
        raise
    records: list[dict[str, Any]] = []
    for raw in _pages(lambda it: client.get_records(ShardIterator=it), iterator):
        number = int(raw["dynamodb"]["SequenceNumber"])
        if number > end:
            break
        if number >= start:
            records.append(dynamodb_stream_record(raw, region=region, source_arn=info["streamArn"]))
    return records, _missing(records, info, lambda record: record["dynamodb"]["SequenceNumber"])


def _kinesis_records(client: Any, info: Mapping[str, Any], region: str) -> tuple[list[dict[str, Any]], int]:
    end = int(info["endSequenceNumber"])
    arn = info["streamArn"]
    try:
        iterator = client.get_shard_iterator(
            StreamARN=arn,
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=info["startSequenceNumber"],
        ).get("ShardIterator")
    except ClientError as error:
        if error.response["Error"]["Code"] in (*_EXPIRED_ERRORS, "InvalidArgumentException"):
            return [], int(info.get("batchSize", 1))
        raise
    records: list[dict[str, Any]] = []
    for raw in _pages(lambda it: client.get_records(ShardIterator=it, StreamARN=arn), iterator):
        if int(raw["SequenceNumber"]) > end:
            break
        records.append(kinesis_record(raw, shard_id=info["shardId"], region=region, stream_arn=arn))
    return records, _missing(records, info, lambda record: record["kinesis"]["sequenceNumber"])


def _pages(get: Callable[[str], Mapping[str, Any]], iterator: str | None) -> Iterator[Mapping[str, Any]]:
    empty = 0
    while iterator and empty < _EMPTY_PAGES:
        page = get(iterator)
        records = page.get("Records", [])
        empty = 0 if records else empty + 1
        yield from records
        iterator = page.get("NextShardIterator")


def _missing(
    records: list[dict[str, Any]], info: Mapping[str, Any], number: Callable[[dict[str, Any]], str]
) -> int:
    """How many of the batch's records the stream no longer has (its first ones were trimmed)."""
    size = int(info.get("batchSize") or 0)
    if records and number(records[0]) != info["startSequenceNumber"]:
        return max(size - len(records), 1)
    return max(size - len(records), 0) if not records else 0


# --- Queue helpers -------------------------------------------------------------------------------


def _receive_all(sqs: Any, chosen: Plan) -> Iterator[dict[str, Any]]:
    """Each message of the queue once: a received message stays hidden for the rest of the run."""
    seen: set[str] = set()
    stale = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=chosen.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=chosen.visibility_timeout,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        fresh = [message for message in messages if message["MessageId"] not in seen]
        stale = 0 if fresh else stale + 1
        if stale >= _STALE_RECEIVES:  # only messages this run already kept come back: done
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def _delete(sqs: Any, chosen: Plan, message: Mapping[str, Any], report: Report) -> None:
    sqs.delete_message(QueueUrl=chosen.queue_url, ReceiptHandle=message["ReceiptHandle"])
    report.redriven += 1


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
