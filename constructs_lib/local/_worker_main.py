"""Runs inside one function's worker process: imports its handler from the staged asset, serves invocations.

Run as ``python -S constructs_lib/local/_worker_main.py <fd> <paths>`` with the function's code directory
as the working directory and its Lambda environment: ``-S`` leaves the runner's installed packages out,
and `paths` (JSON, made by `_isolation`) says what to import from instead (layers, the runtime's SDK,
and this machine's installation for packages the asset holds built for another platform).

Once the handler is imported it sends ``{"ready": true}`` (or the import error, and exits) on the
socket `fd`; invocations then arrive as length-prefixed JSON
(``{"event", "request_id", "deadline"}``) and each answer goes back the same way. The handler's own
output goes to stdout and stderr, which the runner prefixes with the function's name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

_HEADER = struct.Struct("!I")


def send(channel: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, default=str).encode()
    channel.sendall(_HEADER.pack(len(data)) + data)


def receive(channel: socket.socket) -> dict[str, Any] | None:
    """The next message, or None once the other end has closed the channel."""
    header = _read_exactly(channel, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    data = _read_exactly(channel, length)
    if data is None:
        return None
    message: dict[str, Any] = json.loads(data)
    return message


def _read_exactly(channel: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = channel.recv(size - len(chunks))
        if not chunk:
            return None
        chunks.extend(chunk)
    return bytes(chunks)


class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["CONSTRUCTS_LIB_LOCAL_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request_id
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _HostPackages(importlib.abc.MetaPathFinder):
    """Imports these top-level packages from this machine's installation instead of the code directory.

    The asset holds them built for Lambda (another CPU architecture or Python version), which this
    machine cannot load.
    """

    def __init__(self, names: set[str], host_path: Sequence[str]) -> None:
        self.names = names
        self.host_path = list(host_path)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.names or path is not None:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, self.host_path, target)


def load_handler(code_directory: Path, handler: str, paths: dict[str, Any]) -> Any:
    """Import the handler with Lambda's path: code, layers, the standard library, the runtime's SDK."""
    sys.path[:] = [*paths["source"], str(code_directory), *paths["before"], *sys.path, *paths["after"]]
    foreign: dict[str, str] = paths["foreign"]
    if foreign:
        sys.meta_path.insert(0, _HostPackages(set(foreign), paths["host"]))
        listed = ", ".join(f"{name} ({tag})" for name, tag in sorted(foreign.items()))
        print(
            f"[local] using this machine's installation of packages built for Lambda: {listed}",
            file=sys.stderr,
        )
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def _error(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def main(fd: int, paths: dict[str, Any]) -> None:
    # Ctrl+C reaches the whole process group: the runner stops its workers itself, by closing their channel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=fd)
    code_directory = Path.cwd()
    try:
        handler = load_handler(code_directory, os.environ["_HANDLER"], paths)
    except Exception as error:  # reported to the runner as Lambda's Runtime.ImportModuleError
        traceback.print_exc()
        sys.stderr.flush()
        reported = _error(error)
        if isinstance(error, ImportError):
            # Lambda's own words for a module the function's code and layers do not have.
            module = os.environ["_HANDLER"].rpartition(".")[0]
            reported["errorMessage"] = f"Unable to import module '{module}': {error}"
        # The invocation fails; like Lambda, the next one starts a fresh worker and imports again.
        send(channel, {"error": {**reported, "errorType": "Runtime.ImportModuleError"}})
        return
    send(channel, {"ready": True})
    while (message := receive(channel)) is not None:
        context = LambdaContext(message["request_id"], message["deadline"])
        os.environ["_X_AMZN_REQUEST_ID"] = message["request_id"]
        try:
            result = handler(message["event"], context)
            reply: dict[str, Any] = {"payload": json.loads(json.dumps(result))}
        except Exception as error:  # a handler's exception is its invocation's error
            traceback.print_exc()
            reply = {"error": _error(error)}
        sys.stdout.flush()
        sys.stderr.flush()
        send(channel, reply)


if __name__ == "__main__":
    # Run as a script: its own folder must not shadow the handler's modules.
    sys.path.pop(0)
    main(int(sys.argv[1]), json.loads(sys.argv[2]))
