"""Function workers: one process per function with Lambda's environment, errors, timeouts and crashes."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from constructs_lib.local._types import Invocation
from constructs_lib.local._workers import FunctionPool, FunctionSpec, WorkerProcess, display_name_of

HANDLER = """
import os
import sys
import time

import idna

STARTED = time.time()


def environment(event, context):
    return {
        "table": os.environ["TABLE"],
        "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "handler": os.environ["_HANDLER"],
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "cwd": os.getcwd(),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "started": STARTED,
        "event": event,
        "idna": idna.__file__,
        "inherited_secret": os.environ.get("RUNNER_ONLY_SECRET"),
        "pid": os.getpid(),
    }


def fail(event, context):
    print("about to fail")
    raise ValueError("no such group")


def sleep(event, context):
    print("sleeping", flush=True)
    time.sleep(event["seconds"])
    return "slept"


def crash(event, context):
    os._exit(3)


def unserializable(event, context):
    return {"when": object()}
"""


SLOW_IMPORT = """
import time
time.sleep(0.5)  # longer than the function's timeout: Lambda's init phase does not count against it


def handler(event, context):
    return context.get_remaining_time_in_millis()
"""
FLAKY_IMPORT = """
import pathlib
marker = pathlib.Path(__file__).with_name("imported-once")
if not marker.exists():
    marker.write_text("")
    raise RuntimeError("the first import fails")


def handler(event, context):
    return "imported"
"""


@pytest.fixture(scope="module")
def code_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A staged asset: the handler module, and a copy of `idna` built for another platform."""
    directory = tmp_path_factory.mktemp("asset")
    (directory / "handlers.py").write_text(textwrap.dedent(HANDLER))
    (directory / "slow.py").write_text(SLOW_IMPORT)
    (directory / "flaky.py").write_text(FLAKY_IMPORT)
    package = directory / "idna"
    package.mkdir()
    (package / "__init__.py").write_text('raise ImportError("this copy is built for aarch64")\n')
    dist_info = directory / "idna-9.9.dist-info"
    dist_info.mkdir()
    (dist_info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: cp313-cp313-manylinux_2_28_aarch64\n")
    (dist_info / "RECORD").write_text("idna/__init__.py,,\nidna-9.9.dist-info/WHEEL,,\n")
    return directory


def spec(code_directory: Path, handler: str, *, timeout: float = 5.0) -> FunctionSpec:
    name = handler.replace(".", "-")
    return FunctionSpec(
        name=name,
        arn=f"arn:aws:lambda:us-east-1:111111111111:function:{name}",
        display_name=handler.rpartition(".")[2].title(),
        handler=handler,
        code_directory=code_directory,
        memory_size=256,
        timeout=timeout,
        environment={"TABLE": "orders"},
    )


@pytest.fixture(scope="module")
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def pool(code_directory: Path, output: io.StringIO) -> Iterator[FunctionPool]:
    functions = [
        spec(code_directory, "handlers.environment"),
        spec(code_directory, "handlers.fail"),
        spec(code_directory, "handlers.sleep", timeout=0.3),
        spec(code_directory, "handlers.crash"),
        spec(code_directory, "handlers.unserializable"),
        spec(code_directory, "missing_module.handler"),
        spec(code_directory, "slow.handler", timeout=0.3),
        spec(code_directory, "flaky.handler"),
    ]
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("RUNNER_ONLY_SECRET", "never passed to functions")
    pool = FunctionPool(functions, aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, output=output)
    yield pool
    pool.close()
    monkeypatch.undo()


def test_a_handler_runs_with_lambdas_environment_context_and_its_own_code(
    pool: FunctionPool, code_directory: Path
) -> None:
    invocation = pool.invoke("arn:aws:lambda:us-east-1:111111111111:function:handlers-environment", {"n": 1})
    assert invocation.error is None
    payload = invocation.payload
    assert payload["table"] == "orders"
    assert payload["function"] == "handlers-environment"
    assert payload["handler"] == "handlers.environment"
    assert payload["endpoint"] == "http://127.0.0.1:9"
    assert payload["cwd"] == str(code_directory)
    assert payload["request_id"] == invocation.request_id
    assert payload["arn"].endswith(":function:handlers-environment")
    assert payload["memory"] == 256
    assert 0 < payload["remaining_ms"] <= 5000
    assert payload["event"] == {"n": 1}
    assert payload["inherited_secret"] is None


def test_packages_built_for_another_platform_come_from_this_environment(
    pool: FunctionPool, output: io.StringIO
) -> None:
    payload = pool.invoke("handlers-environment", {}).payload
    assert "site-packages" in payload["idna"]
    assert "idna (cp313-cp313-manylinux_2_28_aarch64)" in output.getvalue()


def test_a_warm_worker_keeps_its_module_state_and_names_are_accepted(pool: FunctionPool) -> None:
    first = pool.invoke("handlers-environment", {}).payload
    second = pool.invoke(
        "arn:aws:lambda:us-east-1:111111111111:function:handlers-environment:$LATEST", {}
    ).payload
    assert first["started"] == second["started"]


def test_a_handler_exception_is_the_invocations_error_and_its_output_is_relayed(
    pool: FunctionPool, output: io.StringIO
) -> None:
    invocation = pool.invoke("handlers-fail", {})
    assert invocation.error is not None
    assert (invocation.error.error_type, invocation.error.message) == ("ValueError", "no such group")
    assert any("raise ValueError" in line for line in invocation.error.trace)
    # The output is relayed by its own thread: it may land just after the invocation's answer.
    deadline = time.monotonic() + 5
    while "  Fail | about to fail" not in output.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "  Fail | about to fail" in output.getvalue()


def test_a_handler_past_its_timeout_is_stopped_and_the_next_invocation_starts_fresh(
    pool: FunctionPool,
) -> None:
    timed_out = pool.invoke("handlers-sleep", {"seconds": 3})
    assert timed_out.error is not None
    assert (timed_out.error.error_type, timed_out.error.message) == (
        "Sandbox.Timedout",
        "Task timed out after 0.30 seconds",
    )
    assert timed_out.duration_ms < 2900  # stopped at its timeout, not after the handler's 3 s
    assert pool.invoke("handlers-sleep", {"seconds": 0}).payload == "slept"


def test_a_worker_that_exits_is_reported_and_replaced(pool: FunctionPool) -> None:
    crashed = pool.invoke("handlers-crash", {})
    assert crashed.error is not None
    assert crashed.error.error_type == "Runtime.ExitError"
    assert "exited with code 3" in crashed.error.message
    assert pool.invoke("handlers-crash", {}).error is not None


def test_a_result_that_is_not_json_is_an_error(pool: FunctionPool) -> None:
    invocation = pool.invoke("handlers-unserializable", {})
    assert invocation.error is not None
    assert invocation.error.error_type == "TypeError"


def test_a_handler_that_cannot_be_imported_fails_every_invocation_clearly(pool: FunctionPool) -> None:
    invocation = pool.invoke("missing_module-handler", {})
    assert invocation.error is not None
    assert invocation.error.error_type == "Runtime.ImportModuleError"
    assert "missing_module" in invocation.error.message


def test_importing_the_handler_does_not_count_against_the_timeout(pool: FunctionPool) -> None:
    invocation = pool.invoke("slow-handler", {})
    assert invocation.error is None
    assert 0 < invocation.payload <= 300  # the whole timeout is left when the handler starts


def test_a_failed_import_is_tried_again_on_the_next_invocation(pool: FunctionPool) -> None:
    first = pool.invoke("flaky-handler", {})
    assert first.error is not None
    assert (first.error.error_type, first.error.message) == (
        "Runtime.ImportModuleError",
        "the first import fails",
    )
    assert pool.invoke("flaky-handler", {}).payload == "imported"


def test_closing_stops_a_busy_worker_at_once(code_directory: Path) -> None:
    output = io.StringIO()
    busy = FunctionPool(
        [spec(code_directory, "handlers.sleep", timeout=60.0)], aws_environment={}, output=output
    )
    outcomes: list[Invocation] = []
    caller = threading.Thread(target=lambda: outcomes.append(busy.invoke("handlers-sleep", {"seconds": 60})))
    caller.start()
    for _ in range(200):  # the handler has started once it says so
        if "Sleep | sleeping" in output.getvalue():
            break
        time.sleep(0.05)
    busy.close()
    caller.join(timeout=10)
    assert not caller.is_alive()  # long before the handler's 60 s sleep would end
    (outcome,) = outcomes
    assert outcome.error is not None
    assert outcome.error.error_type == "Runtime.ExitError"
    with pytest.raises(RuntimeError, match="stopping"):
        busy.invoke("handlers-sleep", {"seconds": 0})


def test_an_unknown_function_is_a_key_error(pool: FunctionPool) -> None:
    with pytest.raises(KeyError):
        pool.invoke("arn:aws:lambda:us-east-1:111111111111:function:nobody", {})


def test_ctrl_c_in_the_terminal_leaves_workers_to_the_runner(pool: FunctionPool) -> None:
    """Ctrl+C signals the whole process group; the runner, not the signal, stops its workers."""
    first = pool.invoke("handlers-environment", {}).payload
    os.kill(first["pid"], signal.SIGINT)
    second = pool.invoke("handlers-environment", {})
    assert second.error is None
    assert second.payload["pid"] == first["pid"]


def test_workers_never_write_into_the_code_directory(pool: FunctionPool, code_directory: Path) -> None:
    assert pool.invoke("handlers-environment", {}).error is None
    assert list(code_directory.rglob("__pycache__")) == []


@pytest.mark.parametrize(
    ("metadata", "logical_id", "name"),
    [
        (
            {"aws:cdk:path": "Api-dev/GroupsRead/Function/Resource"},
            "GroupsReadFunctionF8A2632A",
            "GroupsRead",
        ),
        (
            {"aws:cdk:path": "Search-dev/Search/Indexer-images/Function/Resource"},
            "X",
            "Search/Indexer-images",
        ),
        ({}, "GroupsReadFunctionF8A2632A", "GroupsRead"),
        (
            {},
            "BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691",
            "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
        ),
    ],
)
def test_functions_are_named_by_their_construct_path(
    metadata: dict[str, str], logical_id: str, name: str
) -> None:
    assert display_name_of({"Metadata": metadata}, logical_id) == name


def test_every_invocation_is_recorded(pool: FunctionPool) -> None:
    before = len(pool.invocations)
    pool.invoke("handlers-sleep", {"seconds": 0})
    assert pool.invocations[-1][0] == "Sleep"
    assert len(pool.invocations) == before + 1


def test_a_worker_that_cannot_be_started_leaves_no_socket_open(
    code_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs: list[tuple[socket.socket, socket.socket]] = []
    real_socketpair = socket.socketpair

    def recorded_socketpair() -> tuple[socket.socket, socket.socket]:
        pair = real_socketpair()
        pairs.append(pair)
        return pair

    def failing_popen(*args: object, **kwargs: object) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(socket, "socketpair", recorded_socketpair)
    monkeypatch.setattr(subprocess, "Popen", failing_popen)
    with pytest.raises(OSError, match="Too many open files"):
        WorkerProcess(spec(code_directory, "handlers.echo"), {}, io.StringIO())
    ((runner_end, worker_end),) = pairs
    assert runner_end.fileno() == -1  # closed
    assert worker_end.fileno() == -1
