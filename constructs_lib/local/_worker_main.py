"""Runs inside one function's worker process: imports its handler from the staged asset, serves invocations.

Run as ``python constructs_lib/local/_worker_main.py <fd>`` with the function's code directory as the working
directory and its Lambda environment. Once the handler is imported it sends ``{"ready": true}`` (or
the import error, and exits) on the socket `fd`; invocations then arrive as length-prefixed JSON
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

from packaging.tags import Tag, parse_tag, sys_tags

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
    """Imports these top-level packages from the runner's environment instead of the code directory.

    The asset holds them built for Lambda (another CPU architecture or Python version), which this
    machine cannot load.
    """

    def __init__(self, names: set[str], code_directory: str) -> None:
        self.names = names
        self.code_directory = code_directory

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.names or path is not None:
            return None
        search = [entry for entry in sys.path if str(Path(entry or ".").resolve()) != self.code_directory]
        return importlib.machinery.PathFinder.find_spec(fullname, search, target)


def foreign_packages(code_directory: Path) -> dict[str, str]:
    """Top-level packages of wheels in `code_directory` built for another platform, with their wheel tag."""
    supported = set(sys_tags())
    foreign: dict[str, str] = {}
    for wheel_file in code_directory.glob("*.dist-info/WHEEL"):
        tags: set[Tag] = set()
        for line in wheel_file.read_text().splitlines():
            if line.startswith("Tag:"):
                tags |= parse_tag(line.partition(":")[2].strip())
        if not tags or tags & supported:
            continue
        record = wheel_file.with_name("RECORD")
        for line in record.read_text().splitlines() if record.exists() else ():
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and not top.endswith((".dist-info", ".data")) and not top.startswith("__"):
                foreign[top.removesuffix(".py")] = str(min(tags, key=str))
    return foreign


def load_handler(code_directory: Path, handler: str) -> Any:
    foreign = foreign_packages(code_directory)
    if foreign:
        sys.meta_path.insert(0, _HostPackages(set(foreign), str(code_directory)))
        listed = ", ".join(f"{name} ({tag})" for name, tag in sorted(foreign.items()))
        print(
            f"[local] using this machine's installation of packages built for Lambda: {listed}",
            file=sys.stderr,
        )
    module_name, _, function_name = handler.rpartition(".")
    sys.path.insert(0, str(code_directory))
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def _error(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def main(fd: int) -> None:
    # Ctrl+C reaches the whole process group: the runner stops its workers itself, by closing their channel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=fd)
    code_directory = Path.cwd()
    try:
        handler = load_handler(code_directory, os.environ["_HANDLER"])
    except Exception as error:  # reported to the runner as Lambda's Runtime.ImportModuleError
        traceback.print_exc()
        sys.stderr.flush()
        # The invocation fails; like Lambda, the next one starts a fresh worker and imports again.
        send(channel, {"error": {**_error(error), "errorType": "Runtime.ImportModuleError"}})
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
    main(int(sys.argv[1]))
