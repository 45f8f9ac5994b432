"""Redrive under `make local`: poison events land in a QueueWorker's, an async function's and a stream
consumer's dead-letter queues; the bug is fixed (the staged handler edited and reloaded); redrive
through `python -m constructs_lib.ops redrive --local` puts each back, losing and repeating nothing."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import Duration, Stack
from aws_cdk.cx_api import CloudAssembly

from constructs_lib import DataStream, QueueWorker, ServerlessFunction
from constructs_lib.local.runner import LocalRunner
from constructs_lib.ops.__main__ import main
from tests.cdk import new_app, new_stack
from tests.local_apps import serving
from tests.polling import eventually

HANDLER = Path(__file__).resolve().parent.parent / "fixtures" / "redrive_function"
KEPT_FOR = 1  # seconds a message the buggy function failed again stays hidden


def function(stack: Stack, name: str, mode: str, **options: Any) -> ServerlessFunction:
    return ServerlessFunction(stack, name, entry=HANDLER, environment={"MODE": mode}, **options)


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    app = new_app(tmp_path_factory.mktemp("redrive"))
    stack = new_stack(app, "Redrive")
    worker = function(stack, "Worker", "worker", timeout=Duration.seconds(1))
    QueueWorker(stack, "Jobs", function=worker, max_receive_count=2, alarms=False)
    function(stack, "Async", "async", invoked_asynchronously=True)
    clicks = DataStream(stack, "Clicks", alarms=False)
    clicks.add_consumer(function(stack, "Counter", "consumer").function, retry_attempts=1, batch_size=10)
    return app.synth()


@pytest.fixture(scope="module")
def runner(assembly: CloudAssembly) -> Iterator[LocalRunner]:
    with serving(assembly.directory) as local:
        yield local


def client(runner: LocalRunner, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=runner.aws_url,
        region_name=runner.state()["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def queue(runner: LocalRunner, *name_parts: str, dead_letters: bool = True) -> str:
    urls: list[str] = client(runner, "sqs").list_queues().get("QueueUrls", [])
    (url,) = [
        url
        for url in urls
        if all(part in url.rsplit("/", 1)[1] for part in name_parts) and ("DeadLetter" in url) == dead_letters
    ]
    return url


def waiting(runner: LocalRunner, url: str) -> int:
    attributes = client(runner, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def successes(runner: LocalRunner, name: str) -> list[Any]:
    assert runner.functions is not None
    return [call.payload for fn, call in list(runner.functions.invocations) if fn == name and not call.error]


def arn_of(runner: LocalRunner, name: str) -> str:
    assert runner.functions is not None
    (arn,) = [arn for arn, spec in runner.functions.functions.items() if spec.display_name == name]
    return arn


def fix_the_bug(runner: LocalRunner) -> None:
    """Deploy the fix: the staged handler no longer fails on poison; fresh workers load it."""
    assert runner.functions is not None
    arns = {arn_of(runner, name) for name in ("Worker", "Async", "Counter")}
    for arn in arns:
        staged = Path(runner.functions.functions[arn].code_directory) / "handler.py"
        staged.write_text(staged.read_text().replace("FIXED = False", "FIXED = True"))
    runner.functions.reload(arns)


def redrive(runner: LocalRunner, assembly: CloudAssembly, url: str) -> int:
    name = url.rsplit("/", 1)[1]
    local = ["--local", "--cdk-out", assembly.directory, "--port", str(runner.port)]
    return main(["redrive", name, *local, "--yes", "--visibility-timeout", str(KEPT_FOR)])


def test_poison_events_are_redriven_once_the_bug_is_fixed(
    runner: LocalRunner, assembly: CloudAssembly
) -> None:
    sqs, kinesis = client(runner, "sqs"), client(runner, "kinesis")
    jobs = queue(runner, "Jobs", dead_letters=False)
    sqs.send_message(QueueUrl=jobs, MessageBody="fine")
    sqs.send_message(QueueUrl=jobs, MessageBody="poison")
    assert runner.events is not None
    runner.events.invoke_async(arn_of(runner, "Async"), {"key": "poison"})
    (stream,) = kinesis.list_streams()["StreamNames"]
    for data in (b"one", b"poison"):
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey="p")

    dead = {
        "jobs": queue(runner, "Jobs", "DeadLetterQueue"),
        "async": queue(runner, "Async", "DeadLetterQueue"),
        "clicks": queue(runner, "Clicks", "DeadLetterQueue"),
    }
    for url in dead.values():
        eventually(functools.partial(lambda url: waiting(runner, url) == 1, url))

    # Still buggy: every redrive fails, and nothing leaves a dead-letter queue.
    assert redrive(runner, assembly, dead["async"]) == 3
    assert redrive(runner, assembly, dead["clicks"]) == 3
    assert waiting(runner, dead["async"]) == 1 and waiting(runner, dead["clicks"]) == 1

    fix_the_bug(runner)
    time.sleep(KEPT_FOR + 0.5)  # the kept messages are back in their queues
    assert [redrive(runner, assembly, url) for url in dead.values()] == [0, 0, 0]
    assert all(waiting(runner, url) == 0 for url in dead.values())

    # The queue's poison message went back to the queue and was worked off once; nothing else repeated.
    def worked_off(body: str) -> list[Any]:
        return [
            payload
            for payload in successes(runner, "Worker")
            if body in payload["bodies"] and not payload["batchItemFailures"]
        ]

    eventually(lambda: worked_off("poison"))
    time.sleep(1)  # long enough for a duplicate delivery to show
    assert len(worked_off("poison")) == 1
    delivered = [body for payload in successes(runner, "Worker") for body in payload["bodies"]]
    assert delivered.count("fine") == 1  # worked off in the first batch, never delivered again
    assert successes(runner, "Async") == [{"handled": {"key": "poison"}}]
    counted = [data for payload in successes(runner, "Counter") for data in payload["datas"]]
    assert counted == ["one", "poison"]  # the failed batch, read back from the stream
