"""traced_on_first_call: a handler's Tracer is built on its first invocation, once."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import aws_lambda_powertools
import pytest

from constructs_lib.runtime.tracing import traced_on_first_call


def test_the_tracer_is_built_once_on_the_first_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    class RecordingTracer:
        def __init__(self, **options: Any) -> None:
            built.append(options)

        def capture_lambda_handler(self, handler: Any) -> Any:
            return handler

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", RecordingTracer)
    traced = traced_on_first_call(lambda event, context: event["n"])
    assert built == []  # decorating stays free of the X-Ray SDK

    assert [traced({"n": 1}, None), traced({"n": 2}, None)] == [1, 2]
    assert built == [{"patch_modules": ("botocore",)}]


def test_importing_the_helper_does_not_load_the_xray_sdk() -> None:
    probe = (
        "import sys; import constructs_lib.runtime.tracing; "
        "print(any(name.startswith(('aws_xray_sdk', 'aws_lambda_powertools')) for name in sys.modules))"
    )
    # A fresh interpreter: this test session has long imported both.
    result = subprocess.run(
        [sys.executable, "-c", probe.replace("import constructs_lib.runtime.tracing", _runtime_only())],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


def _runtime_only() -> str:
    # Import the module by path, as Lambda does from the staged asset, so that the library's
    # own __init__ (which imports the CDK, and with it many modules) does not run.
    from constructs_lib.runtime import tracing

    return (
        "import importlib.util as u; s = u.spec_from_file_location('tracing', "
        f"{tracing.__file__!r}); m = u.module_from_spec(s); s.loader.exec_module(m)"
    )
