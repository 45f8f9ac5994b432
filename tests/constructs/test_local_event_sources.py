"""`make local` runs the event-source constructs' real templates: a small app with a QueueWorker, a
ScheduledJob, an EventBus rule and a DataStream consumer, synthesized once, served by the runner, and
driven through a producer function that sends, puts and writes as application code does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_cdk import Duration, Stack
from aws_cdk.cx_api import CloudAssembly

from constructs_lib import DataStream, EventBus, QueueWorker, ScheduledJob, ServerlessFunction
from constructs_lib.local.events.trigger import trigger
from constructs_lib.local.runner import LocalRunner
from constructs_lib.serverless_function import DEFAULT_TIMEOUT
from tests.cdk import new_app, new_stack
from tests.local_apps import HANDLER, payloads, produce, serving
from tests.polling import eventually


def function(
    stack: Stack, name: str, mode: str, timeout: Duration = DEFAULT_TIMEOUT, **environment: str
) -> ServerlessFunction:
    return ServerlessFunction(
        stack,
        name,
        entry=HANDLER,
        timeout=timeout,
        environment={"MODE": mode, **environment},
        invoked_asynchronously=mode == "recorder",  # by Scheduler and EventBridge
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    app = new_app(tmp_path_factory.mktemp("event-sources"))
    stack = new_stack(app, "EventSources")
    # One second: six times it, the queue's visibility timeout, is how long a failed message waits.
    worker = function(stack, "Worker", "worker", timeout=Duration.seconds(1))
    jobs = QueueWorker(stack, "Jobs", function=worker, max_receive_count=2, alarms=False)
    ScheduledJob(
        stack,
        "Sweep",
        function=function(stack, "Sweeper", "recorder"),
        schedule="rate(1 hour)",
        input={"job": "sweep"},
        alarms=False,
    )
    bus = EventBus(stack, "Bus", alarms=False)
    bus.add_rule(
        "Pings",
        event_pattern={"source": ["test.app"], "detail-type": ["Ping"]},
        targets=[function(stack, "Listener", "recorder")],
    )
    clicks = DataStream(stack, "Clicks", alarms=False)
    clicks.add_consumer(function(stack, "Counter", "consumer").function, retry_attempts=1, batch_size=10)
    producer = function(
        stack,
        "Producer",
        "producer",
        BUS_NAME=bus.event_bus.event_bus_name,
        STREAM_NAME=clicks.stream.stream_name,
        QUEUE_URL=jobs.queue.queue_url,
    )
    jobs.grant_send_messages(producer.function)
    bus.grant_put_events(producer.function)
    clicks.grant_write(producer.function)
    return app.synth()


@pytest.fixture(scope="module")
def runner(assembly: CloudAssembly) -> Iterator[LocalRunner]:
    with serving(assembly.directory) as local:
        yield local


def errors(runner: LocalRunner, function: str) -> list[str]:
    assert runner.functions is not None
    return [
        invocation.error.message
        for name, invocation in list(runner.functions.invocations)
        if name == function and invocation.error
    ]


def queue_messages(runner: LocalRunner, *name_parts: str) -> list[dict[str, Any]]:
    """Messages waiting in the run's queue whose name contains `name_parts` (received, not deleted)."""
    sqs = boto3.client("sqs", endpoint_url=runner.aws_url, region_name=runner.state()["region"])
    urls = sqs.list_queues().get("QueueUrls", [])
    (url,) = [url for url in urls if all(part in url.rsplit("/", 1)[1] for part in name_parts)]
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def test_a_queue_message_that_fails_twice_lands_in_the_dead_letter_queue(runner: LocalRunner) -> None:
    produce(runner, messages=["fine", "poison"])
    dead = eventually(lambda: queue_messages(runner, "Jobs", "DeadLetterQueue"))
    assert [message["Body"] for message in dead] == ["poison"]
    bodies = [body for payload in payloads(runner, "Worker") for body in payload["bodies"]]
    assert sorted(bodies) == ["fine", "poison", "poison"]


def test_the_schedule_fires_at_start_and_on_demand(runner: LocalRunner) -> None:
    assert eventually(lambda: payloads(runner, "Sweeper")) == [{"received": {"job": "sweep"}}]
    (schedule,) = runner.state()["schedules"]
    assert trigger(runner.state(), schedule.split("/", 1)[1]) == schedule
    eventually(lambda: len(payloads(runner, "Sweeper")) == 2)
    assert payloads(runner, "Sweeper")[1] == {"received": {"job": "sweep"}}


def test_an_event_put_by_a_handler_reaches_the_rules_target_only_if_it_matches(runner: LocalRunner) -> None:
    sent = produce(
        runner,
        events=[
            {"source": "test.app", "detail-type": "Pong", "detail": {"n": 0}},
            {"source": "test.app", "detail-type": "Ping", "detail": {"n": 1}},
        ],
    )
    [received] = eventually(lambda: payloads(runner, "Listener"))
    event = received["received"]
    assert event["id"] == sent["events"][1]
    assert (event["detail-type"], event["detail"]) == ("Ping", {"n": 1})
    time.sleep(1)  # the Pong had the same time to arrive
    assert len(payloads(runner, "Listener")) == 1


def test_a_poison_record_is_bisected_and_recorded_on_failure(runner: LocalRunner) -> None:
    sequence = produce(runner, records=["a", "poison", "b"])["records"]
    [failure] = eventually(lambda: queue_messages(runner, "Clicks", "DeadL"))
    info = json.loads(failure["Body"])["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence[1],
        sequence[1],
        1,
    )

    def delivered() -> list[str]:
        return sorted(data for payload in payloads(runner, "Counter") if payload for data in payload["datas"])

    # "b" comes in a batch after the poison record's, so it may arrive after the failure is recorded.
    eventually(lambda: "b" in delivered())
    assert delivered() == ["a", "b"]
    assert errors(runner, "Counter")


def test_the_banner_lists_the_event_sources(runner: LocalRunner) -> None:
    banner = "\n".join(runner.banner())
    assert "schedule " in banner
    assert "rate(1 hour)" in banner
    assert "rule " in banner
    assert "kinesis " in banner
    assert "EventBridge: events AWS services emit" in banner


def test_the_bus_archive_records_events_and_a_replay_reaches_the_rules_again(runner: LocalRunner) -> None:
    events = boto3.client("events", endpoint_url=runner.aws_url, region_name=runner.state()["region"])
    sent = produce(runner, events=[{"source": "test.app", "detail-type": "Ping", "detail": {"n": 2}}])
    eventually(lambda: [p for p in payloads(runner, "Listener") if p["received"]["id"] == sent["events"][0]])
    (archive,) = events.list_archives()["Archives"]
    assert archive["EventCount"] >= 1
    bus_arn = archive["EventSourceArn"]
    archive_arn = events.describe_archive(ArchiveName=archive["ArchiveName"])["ArchiveArn"]
    events.start_replay(
        ReplayName="again",
        EventSourceArn=archive_arn,
        EventStartTime=datetime(2020, 1, 1, tzinfo=UTC),
        EventEndTime=datetime(2100, 1, 1, tzinfo=UTC),
        Destination={"Arn": bus_arn},
    )
    replayed = eventually(
        lambda: [p["received"] for p in payloads(runner, "Listener") if p["received"].get("replay-name")]
    )
    assert {event["replay-name"] for event in replayed} == {"again"}
    assert {2} <= {event["detail"]["n"] for event in replayed}
