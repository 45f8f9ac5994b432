"""Each local function in its own worker process, as in Lambda: its own imports and environment.

A worker starts on the function's first invocation (its cold start) and then serves one invocation at
a time; a second invocation waits for the first. A handler that runs past the function's timeout has
its worker stopped, like Lambda's, and the next invocation starts a fresh one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from constructs_lib.local import _worker_main
from constructs_lib.local._assembly import StackTemplate
from constructs_lib.local._isolation import (
    POWERTOOLS_LAYER,
    foreign_packages,
    host_site_packages,
    import_path,
)
from constructs_lib.local._types import FunctionError, Invocation

log = logging.getLogger("constructs_lib.local")

# What a worker inherits from the runner's environment; everything else comes from the template.
# Lambda's limit on a function's initialization (importing its handler), not counted in its timeout.
INIT_TIMEOUT = 10.0
# Invocations kept for inspection (tests, debugging): the latest ones.
RECORDED_INVOCATIONS = 1000
_PYTHON_RUNTIME = re.compile(r"^python3\.\d+$")
# What CDK appends to a construct path to make a logical id: the L1's name and an 8-digit hash.
_LOGICAL_ID_SUFFIX = re.compile(r"(Function)?[0-9A-F]{8}$")
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the template configures it, with its environment already resolved."""

    name: str
    arn: str
    display_name: str
    handler: str
    code_directory: Path
    runtime: str = "python3.13"
    memory_size: int = 128
    timeout: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    log_group: str = ""
    log_format: str = "Text"
    log_level: str = ""
    layers: tuple[str, ...] = ()  # the layer ARNs, as the template gives them
    layer_directories: tuple[Path, ...] = ()  # the app's own layers' python/ folders, staged locally
    missing_layers: tuple[str, ...] = ()  # neither the app's nor Powertools': their packages are missing
    # Watch mode: the folder the asset was staged from, imported ahead of the asset so that edits apply.
    source_directory: Path | None = None


class WorkerProcess:
    """The runner's handle on one function's worker process (which runs `_worker_main`) and its socket."""

    def __init__(self, spec: FunctionSpec, aws_environment: Mapping[str, str], output: IO[str]) -> None:
        self.spec = spec
        runner_end, worker_end = socket.socketpair()
        self.channel = runner_end
        try:
            environment = {name: os.environ[name] for name in _INHERITED if name in os.environ}
            environment.update(lambda_environment(spec))
            environment.update(aws_environment)
            environment.update(spec.environment)
            self.process = subprocess.Popen(
                # -S: none of the runner's installed packages; the worker gets Lambda's path (`_isolation`).
                [
                    sys.executable,
                    "-S",
                    _worker_main.__file__,
                    str(worker_end.fileno()),
                    json.dumps(worker_paths(spec)),
                ],
                cwd=spec.code_directory,
                env=environment,
                pass_fds=(worker_end.fileno(),),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        except BaseException:
            runner_end.close()  # no worker will ever answer on it: every failed start would leak it
            raise
        finally:
            worker_end.close()  # the worker holds its own copy (pass_fds), or there is no worker
        self.ready = False
        self._relay = threading.Thread(target=self._relay_output, args=(output,), daemon=True)
        self._relay.start()

    def _relay_output(self, output: IO[str]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            output.write(f"  {self.spec.display_name} | {line}")
            output.flush()

    def call(self, event: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        """Run one invocation; after a cold start, first wait for the handler to be imported.

        The reply holds ``payload`` or ``error``, and ``init_failed`` when the handler could not be
        loaded (the worker has then exited). Raises TimeoutError past the function's timeout and
        ConnectionError if the worker died.
        """
        if not self.ready:
            init = self._receive(INIT_TIMEOUT, "initialization")
            if init.get("error"):
                return {"error": init["error"], "init_failed": True}
            self.ready = True
        # Lambda's timeout starts with the invocation, not with the import (its init phase).
        deadline = time.time() + self.spec.timeout
        _worker_main.send(self.channel, {"event": event, "request_id": request_id, "deadline": deadline})
        return self._receive(self.spec.timeout, "invocation")

    def _receive(self, timeout: float, phase: str) -> dict[str, Any]:
        self.channel.settimeout(timeout)
        try:
            reply = _worker_main.receive(self.channel)
        except TimeoutError:
            raise TimeoutError(phase) from None
        except OSError as error:
            raise ConnectionError(str(error)) from error
        if reply is None:
            try:  # the channel closes as the process exits: give it a moment to be reaped
                code = self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                raise ConnectionError("the worker stopped") from None
            raise ConnectionError(f"the worker exited with code {code}")
        return reply

    def interrupt(self) -> None:
        """Wake an invocation waiting on this worker (it then fails) and tell the worker to exit."""
        with contextlib.suppress(OSError):
            self.channel.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.channel.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._relay.join(timeout=2)


# Lambda's code directory is read-only: compiled modules go beside the runner, never into the asset.
PYCACHE_PREFIX = Path(tempfile.gettempdir()) / "constructs-lib-local" / "pycache"


def forget_compiled(directory: Path) -> None:
    """Drop the compiled modules of `directory`'s sources: Python trusts a compiled module whose
    source has the same size and modification second, so an edit made within the second of the
    previous one would otherwise keep running the old code."""
    absolute = directory.absolute()
    shutil.rmtree(PYCACHE_PREFIX / absolute.relative_to(absolute.anchor), ignore_errors=True)


def worker_paths(spec: FunctionSpec) -> dict[str, Any]:
    """What the worker imports from besides its code (see `_isolation` and `_worker_main.load_handler`)."""
    before, after = import_path(spec.layers, spec.layer_directories)
    return {
        "source": [str(spec.source_directory)] if spec.source_directory else [],
        "before": before,
        "after": after,
        "foreign": foreign_packages(spec.code_directory),
        "host": host_site_packages(),
    }


def lambda_environment(spec: FunctionSpec) -> dict[str, str]:
    """The variables Lambda's Python runtime sets for a function."""
    runtime_version = spec.runtime.removeprefix("python")
    variables = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group or f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{runtime_version}",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "LAMBDA_TASK_ROOT": str(spec.code_directory),
        "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPYCACHEPREFIX": str(PYCACHE_PREFIX),
        "CONSTRUCTS_LIB_LOCAL_FUNCTION_ARN": spec.arn,
        # X-Ray is not emulated: without a daemon the SDK would only log errors.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    if spec.log_format == "JSON":
        variables["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    if spec.log_level:
        variables["AWS_LAMBDA_LOG_LEVEL"] = spec.log_level
    return variables


class FunctionPool:
    """Invokes local functions (an `Invoker`), one worker process per function."""

    def __init__(
        self,
        functions: list[FunctionSpec],
        *,
        aws_environment: Mapping[str, str],
        credentials: Callable[[FunctionSpec], Mapping[str, str]] | None = None,
        output: IO[str] | None = None,
    ) -> None:
        self.functions = {spec.arn: spec for spec in functions}
        self._by_name = {spec.name: spec.arn for spec in functions}
        self._aws_environment = dict(aws_environment)
        # Each function's own access key, so that the AWS endpoint knows which function calls it.
        self._credentials = credentials
        self._output = output or sys.stdout
        self._workers: dict[str, WorkerProcess] = {}
        # One invocation per function at a time; _registry guards _workers and _closed.
        self._locks = {arn: threading.Lock() for arn in self.functions}
        self._registry = threading.Lock()
        self._closed = False
        self._stale: set[str] = set()  # functions whose code changed since their worker started
        self.invocations: deque[tuple[str, Invocation]] = deque(maxlen=RECORDED_INVOCATIONS)

    def spec(self, function: str) -> FunctionSpec:
        """The function with this ARN (qualified or not) or name; KeyError if it is not local."""
        arn = self._by_name.get(function, function)
        if arn not in self.functions:
            arn = arn.rsplit(":", 1)[0] if arn.count(":") == 7 else arn
        return self.functions[arn]

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        spec = self.spec(function_arn)
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        with self._locks[spec.arn]:
            with self._registry:
                stale = spec.arn in self._stale
                self._stale.discard(spec.arn)
            if stale:
                self._discard(spec.arn)
            with self._registry:
                if self._closed:
                    raise RuntimeError("the local runner is stopping")
                worker = self._workers.get(spec.arn)
                cold = worker is None
                if worker is None:
                    worker = self._workers[spec.arn] = WorkerProcess(
                        spec, self._worker_aws_environment(spec), self._output
                    )
            payload = None
            try:
                reply = worker.call(event, request_id)
                error = _function_error(reply.get("error"))
                payload = reply.get("payload")
                if reply.get("init_failed"):
                    # As in Lambda, the next invocation tries to initialize again.
                    self._discard(spec.arn)
            except TimeoutError as timeout:
                self._discard(spec.arn)
                error = (
                    FunctionError(
                        "Runtime.InitTimeout", f"the handler took over {INIT_TIMEOUT:.0f} s to import"
                    )
                    if str(timeout) == "initialization"
                    else FunctionError("Sandbox.Timedout", f"Task timed out after {spec.timeout:.2f} seconds")
                )
            except ConnectionError as crash:
                self._discard(spec.arn)
                error = FunctionError("Runtime.ExitError", f"the function's process exited: {crash}")
        duration_ms = (time.perf_counter() - started) * 1000
        invocation = Invocation(request_id, payload=payload, error=error, duration_ms=duration_ms)
        self.invocations.append((spec.display_name, invocation))
        outcome = f"error {error.error_type}: {error.message}" if error else "ok"
        log.info(
            "%s %s %.0f ms%s %s",
            spec.display_name,
            request_id,
            duration_ms,
            " (cold start)" if cold else "",
            outcome,
        )
        return invocation

    def _worker_aws_environment(self, spec: FunctionSpec) -> dict[str, str]:
        if self._credentials is None:
            return self._aws_environment
        return {**self._aws_environment, **self._credentials(spec)}

    def reload(self, arns: set[str]) -> None:
        """Give these functions a fresh worker (a cold start with their code as it is now) on their next
        invocation; an invocation in progress finishes with the code it started with.
        """
        with self._registry:
            stale = arns & self.functions.keys()
            self._stale |= stale
        for arn in stale:
            source = self.functions[arn].source_directory
            if source is not None:
                forget_compiled(source)

    def _discard(self, arn: str) -> None:
        with self._registry:
            worker = self._workers.pop(arn, None)
        if worker is not None:
            worker.process.kill()
            worker.stop()

    def close(self) -> None:
        """Stop every worker promptly, busy or not: all are told at once, then each is waited for."""
        with self._registry:
            self._closed = True
            stopping = list(self._workers.items())
            self._workers.clear()
        for arn, worker in stopping:
            worker.interrupt()
            if self._locks[arn].locked():
                worker.process.kill()  # its handler is running: the invocation ends now, as an error
        for _, worker in stopping:
            worker.stop()


def _function_error(error: Mapping[str, Any] | None) -> FunctionError | None:
    if error is None:
        return None
    return FunctionError(
        str(error.get("errorType", "Error")),
        str(error.get("errorMessage", "")),
        tuple(str(line) for line in error.get("stackTrace", ())),
    )


def display_name_of(resource: Mapping[str, Any], logical_id: str) -> str:
    """A short name for logs: the construct path without the stack and L1 parts, e.g. ``GroupsRead``.

    Without path metadata (an app synthesized without the CDK CLI), the logical id without its
    ``Function<hash>`` suffix.
    """
    path = resource.get("Metadata", {}).get("aws:cdk:path")
    if path is None:
        return _LOGICAL_ID_SUFFIX.sub("", logical_id) or logical_id
    parts = [part for part in str(path).split("/")[1:] if part not in ("Resource", "Function")]
    return "/".join(parts) or logical_id


def function_spec(
    stack: StackTemplate,
    logical_id: str,
    resource: Mapping[str, Any],
    display_name: str,
    endpoints: Mapping[str, str],
) -> FunctionSpec | None:
    properties = resource.get("Properties", {})
    runtime = str(stack.resolve(properties.get("Runtime", "")))
    if not _PYTHON_RUNTIME.match(runtime):
        return None
    code = stack.resolve(properties["Code"])
    local_code = stack.directory / ".local-code" / stack.stack_name / logical_id
    if "ZipFile" in code:
        # Inline code (CDK's own helpers): written beside the assembly so it runs like an asset.
        local_code.mkdir(parents=True, exist_ok=True)
        (local_code / "index.py").write_text(str(code["ZipFile"]))
        directory = local_code
    else:
        directory = stack.asset_directory(str(code["S3Key"]))
        if directory.is_file():
            # A .zip file asset (Code.from_asset("bundle.zip")): unpacked once, as Lambda would.
            if not local_code.exists():
                shutil.unpack_archive(directory, local_code, format="zip")
            directory = local_code
    layers = tuple(str(layer) for layer in stack.resolve(properties.get("Layers", [])))
    layer_directories = _layer_directories(stack, layers)
    variables = stack.resolve(properties.get("Environment", {}).get("Variables", {}))
    logging_config = stack.resolve(properties.get("LoggingConfig", {}))
    return FunctionSpec(
        name=stack.ref(logical_id),
        arn=str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]})),
        display_name=display_name,
        handler=str(stack.resolve(properties["Handler"])),
        code_directory=directory,
        runtime=runtime,
        memory_size=int(stack.resolve(properties.get("MemorySize", 128))),
        timeout=float(stack.resolve(properties.get("Timeout", 3))),
        environment={name: _local_url(str(value), endpoints) for name, value in variables.items()},
        log_group=str(logging_config.get("LogGroup", "")),
        log_format=str(logging_config.get("LogFormat", "Text")),
        log_level=str(logging_config.get("ApplicationLogLevel", "")),
        layers=layers,
        layer_directories=tuple(directory for directory in layer_directories if directory is not None),
        missing_layers=tuple(
            layer
            for layer, directory in zip(layers, layer_directories, strict=True)
            if directory is None and not POWERTOOLS_LAYER.search(layer)
        ),
    )


def _layer_directories(stack: StackTemplate, layers: tuple[str, ...]) -> list[Path | None]:
    """For each of `layers`, its python/ folder if the stack itself defines it (None otherwise)."""
    defined = {
        stack.ref(logical_id): resource
        for logical_id, resource in stack.resources_of_type("AWS::Lambda::LayerVersion").items()
    }
    directories: list[Path | None] = []
    for layer in layers:
        if layer in defined:
            content = stack.resolve(defined[layer].get("Properties", {}).get("Content", {}))
            directories.append(stack.asset_directory(str(content["S3Key"])) / "python")
        else:
            directories.append(None)
    return directories


def _local_url(value: str, endpoints: Mapping[str, str]) -> str:
    """`value` with AWS endpoints of locally served APIs and domains replaced by their local URLs."""
    for aws_url, local_url in endpoints.items():
        value = value.replace(aws_url, local_url)
    return value
