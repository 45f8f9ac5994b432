"""Shared by the tests that serve an app under the local runner (tests/constructs, tests/app): serving a
synthesized app, the fixture functions' folders, what a run's functions returned, and invoking its
producer. No CDK import: it reads a run, whoever synthesized its app."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from constructs_lib.local.runner import LocalRunner, RunnerOptions
from tests.polling import FAST_RETRIES

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# One handler for the event-source apps; its MODE variable picks its job (producer, worker, consumer,
# recorder).
HANDLER = FIXTURES / "event_sources_function"
ECHO = FIXTURES / "echo_function"


def payloads(runner: LocalRunner, function: str) -> list[Any]:
    """What every invocation of the function shown as `function` returned, in order."""
    assert runner.functions is not None
    return [invocation.payload for name, invocation in list(runner.functions.invocations) if name == function]


def produce(runner: LocalRunner, **event: Any) -> dict[str, Any]:
    """Invoke the app's "Producer" function with `event`; its answer."""
    assert runner.functions is not None
    (arn,) = [spec.arn for spec in runner.functions.functions.values() if spec.display_name == "Producer"]
    invocation = runner.invoke(arn, event)
    assert invocation.error is None, invocation.error
    assert isinstance(invocation.payload, dict)
    return invocation.payload


@contextmanager
def serving(assembly_directory: str | Path) -> Iterator[LocalRunner]:
    """The app synthesized into `assembly_directory`, run on free ports, retrying failed deliveries at
    once (tests that time retries build their own options)."""
    options = RunnerOptions(port=0, websocket_port=0, retry_delays=FAST_RETRIES)
    with LocalRunner(Path(assembly_directory), options, output=io.StringIO()) as runner:
        yield runner
