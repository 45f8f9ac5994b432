"""traced / traced_on_first_call: a Tracer patching botocore, built on the first invocation, once;
none at all (and no X-Ray SDK) where Powertools would not trace."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, ClassVar

import aws_lambda_powertools
import pytest

from constructs_lib.runtime.tracing import traced, traced_on_first_call, tracing_enabled


class RecordingTracer:
    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **options: Any) -> None:
        self.built.append(options)

    def capture_lambda_handler(self, handler: Any, *, capture_response: bool = True) -> Any:
        self.built.append({"capture_response": capture_response})
        return handler


@pytest.fixture
def tracer(monkeypatch: pytest.MonkeyPatch) -> type[RecordingTracer]:
    RecordingTracer.built = []
    monkeypatch.setattr(aws_lambda_powertools, "Tracer", RecordingTracer)
    for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # in Lambda
    return RecordingTracer


def test_the_tracer_is_built_once_on_the_first_invocation(tracer: type[RecordingTracer]) -> None:
    traced = traced_on_first_call(lambda event, context: event["n"])
    assert tracer.built == []  # decorating stays free of the X-Ray SDK

    assert [traced({"n": 1}, None), traced({"n": 2}, None)] == [1, 2]
    assert tracer.built == [{"patch_modules": ("botocore",)}, {"capture_response": True}]


def test_traced_can_keep_the_response_out_of_the_trace(tracer: type[RecordingTracer]) -> None:
    handler = traced(lambda event, context: event, capture_response=False)

    assert handler({"n": 1}, None) == {"n": 1}
    assert tracer.built == [{"patch_modules": ("botocore",)}, {"capture_response": False}]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("POWERTOOLS_TRACE_DISABLED", "true"),
        ("POWERTOOLS_TRACE_DISABLED", "1"),
        ("LAMBDA_TASK_ROOT", ""),  # outside Lambda
        ("AWS_SAM_LOCAL", "true"),
        ("AWS_CHALICE_CLI_MODE", "true"),
    ],
)
def test_no_tracer_where_powertools_would_not_trace(
    tracer: type[RecordingTracer], monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    def handler(event: dict[str, Any], context: Any) -> int:
        return 1

    assert not tracing_enabled()
    assert traced(handler) is handler
    assert traced_on_first_call(handler)({}, None) == 1
    assert tracer.built == []


def test_tracing_in_lambda_unless_disabled(
    tracer: type[RecordingTracer], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tracing_enabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert tracing_enabled()


def test_a_handler_with_tracing_off_never_loads_the_xray_sdk() -> None:
    loaded = _in_a_fresh_interpreter(
        "handler = tracing.traced_on_first_call(lambda event, context: 7)\n"
        "assert handler({}, None) == 7\n"
        "print(any(name.startswith('aws_xray_sdk') for name in sys.modules))\n",
        POWERTOOLS_TRACE_DISABLED="true",
        LAMBDA_TASK_ROOT="/var/task",
    )
    assert loaded == "False"


def test_importing_the_helper_does_not_load_the_xray_sdk() -> None:
    loaded = _in_a_fresh_interpreter(
        "print(any(name.startswith(('aws_xray_sdk', 'aws_lambda_powertools')) for name in sys.modules))\n"
    )
    assert loaded == "False"


def _in_a_fresh_interpreter(code: str, **environment: str) -> str:
    """What `code` prints, run with the tracing helper loaded as `tracing` in a fresh interpreter (this
    test session has long imported Powertools and the X-Ray SDK). The helper is loaded by its path, as
    Lambda does from the staged asset, so that nothing the library's package imports counts as
    loaded by the helper."""
    from constructs_lib.runtime import tracing

    loader = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('tracing', {tracing.__file__!r})\n"
        "tracing = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(tracing)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", loader + code],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()
