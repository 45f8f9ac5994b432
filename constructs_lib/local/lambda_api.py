"""LambdaApi: the local run's functions behind Lambda's own API, for scripts and ``constructs_lib.ops``.

Serves the parts of the Lambda API (2015-03-31) that operating an app needs, so the same boto3 code
works against AWS and against ``make local``: ``Invoke`` (RequestResponse: the function runs in its
worker and the answer says ``X-Amz-Function-Error`` when it failed; Event: accepted with 202 and queued
on the runner's asynchronous invocation path, so retries, destinations and the dead-letter queue apply
as the templates configure them; DryRun: 204), ``ListFunctions`` and ``GetFunctionConfiguration``
(name, ARN and each function's DeadLetterConfig, read from the templates).
The endpoint's URL is ``lambdaApi`` in the run's state file.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from constructs_lib.local._servers import HttpServers
from constructs_lib.local._service import ServiceContext
from constructs_lib.local._types import Invocation, function_arn
from constructs_lib.runtime.function_arns import unqualified

LOGGER = logging.getLogger(__name__)
STATE_KEY = "lambdaApi"
_PREFIX = "/2015-03-31/functions"


@dataclass(frozen=True)
class LocalFunction:
    """What ListFunctions says about one function."""

    name: str
    arn: str
    dead_letter_arn: str | None = None

    def configuration(self) -> dict[str, Any]:
        result: dict[str, Any] = {"FunctionName": self.name, "FunctionArn": self.arn}
        if self.dead_letter_arn:
            result["DeadLetterConfig"] = {"TargetArn": self.dead_letter_arn}
        return result


Invoke = Callable[[str, Mapping[str, Any]], Invocation]
# Queues an Event invocation (name or ARN, event) and returns its request id; None while no event
# router runs (the invocation is then refused with 503, never run without its retries and DLQ).
InvokeAsync = Callable[[], Callable[[str, Mapping[str, Any]], str] | None]


def lambda_server(
    host: str, functions: list[LocalFunction], invoke: Invoke, invoke_async: InvokeAsync
) -> ThreadingHTTPServer:
    """An HTTP server on `host` (a free port) answering Lambda API calls for `functions`."""
    # Every form Lambda takes as FunctionName: the name, the ARN and the partial ARN (account:function:name).
    by_name = {function.name: function for function in functions}
    by_name.update({function.arn: function for function in functions})
    by_name.update({function.arn.split(":", 4)[4]: function for function in functions})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            LOGGER.debug(format, *args)

        def _answer(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _function(self, path: str) -> LocalFunction | None:
            parts = path.split("/")  # "", "2015-03-31", "functions", name, ...
            name = urllib.parse.unquote(parts[3]) if len(parts) > 3 else ""
            function = by_name.get(unqualified(name))
            if function is None:
                self._answer(
                    404,
                    {"Type": "User", "message": f"Function not found: {name}"},
                    {"X-Amzn-ErrorType": "ResourceNotFoundException"},
                )
            return function

        def do_GET(self) -> None:
            path = urllib.parse.urlparse(self.path).path.rstrip("/")
            if path == _PREFIX:
                self._answer(200, {"Functions": [function.configuration() for function in functions]})
            elif path.startswith(f"{_PREFIX}/") and path.endswith("/configuration"):
                function = self._function(path)
                if function is not None:
                    self._answer(200, function.configuration())
            else:
                self._answer(404, {"message": f"not served locally: GET {path}"})

        def do_POST(self) -> None:
            path = urllib.parse.urlparse(self.path).path
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not (path.startswith(f"{_PREFIX}/") and path.endswith("/invocations")):
                self._answer(404, {"message": f"not served locally: POST {path}"})
                return
            function = self._function(path)
            if function is None:
                return
            try:
                event = json.loads(body or b"{}")
            except ValueError:
                self._answer(400, {"Type": "User", "message": "Could not parse request body into json"})
                return
            invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
            if invocation_type == "Event":
                self._queue(function, event)
                return
            if invocation_type == "DryRun":  # Lambda checks the call and runs nothing
                self._answer(204, b"")
                return
            if invocation_type != "RequestResponse":
                self._answer(
                    400,
                    {"Type": "User", "message": f"Invalid InvocationType: {invocation_type}"},
                    {"X-Amzn-ErrorType": "InvalidParameterValueException"},
                )
                return
            invocation = invoke(function.arn, event)
            headers = {"X-Amz-Executed-Version": "$LATEST", "X-Amzn-RequestId": invocation.request_id}
            if invocation.error is not None:
                headers["X-Amz-Function-Error"] = "Unhandled"
                payload: Any = {
                    "errorMessage": invocation.error.message,
                    "errorType": invocation.error.error_type,
                    "stackTrace": list(invocation.error.trace),
                }
            else:
                payload = invocation.payload
            self._answer(200, payload, headers)

        def _queue(self, function: LocalFunction, event: Any) -> None:
            queue = invoke_async()
            try:
                if queue is None:
                    raise RuntimeError("no event router runs")
                request_id = queue(function.arn, event)
            except RuntimeError as error:
                self._answer(
                    503,
                    {"Type": "Service", "message": f"asynchronous invocation not accepted: {error}"},
                    {"X-Amzn-ErrorType": "ServiceException"},
                )
                return
            self._answer(202, b"", {"X-Amzn-RequestId": request_id})

    return ThreadingHTTPServer((host, 0), Handler)


class LambdaApi:
    """The local run's Lambda API endpoint (after Functions: it invokes them)."""

    name = "lambda-api"

    def __init__(self) -> None:
        self._servers = HttpServers()
        self.url = ""

    def start(self, context: ServiceContext) -> None:
        functions = []
        for stack in context.assembly.stacks:
            for logical_id, resource in stack.resources_of_type("AWS::Lambda::Function").items():
                name = stack.ref(logical_id)
                target = stack.resolve(resource.get("Properties", {}).get("DeadLetterConfig", {})).get(
                    "TargetArn"
                )
                arn = function_arn(context.region, context.account, name)
                functions.append(LocalFunction(name, arn, target if isinstance(target, str) else None))
        # Looked up per call: the events service (started after this one) sets it.
        server = lambda_server(
            context.options.host, functions, context.invoker.invoke, lambda: context.invoke_async
        )
        self._servers.start(server, "lambda-api")
        self.url = f"http://{context.options.host}:{server.server_address[1]}"

    def stop(self) -> None:
        self._servers.stop()

    def banner(self) -> list[str]:
        return [f"Lambda API (Invoke, ListFunctions): {self.url}"] if self.url else []

    def state(self) -> dict[str, Any]:
        return {STATE_KEY: self.url} if self.url else {}

    def not_emulated(self) -> list[str]:
        return ["Lambda API: only Invoke, ListFunctions and GetFunctionConfiguration are served."]
