"""Step Functions state machines run locally by moto's ASL interpreter, with the app's real functions.

moto ships an interpreter of the Amazon States Language (``moto.stepfunctions.parser``, enabled by its
``stepfunctions: execute_state_machine`` setting): Task, Pass, Choice, Wait, Parallel, Map, Succeed
and Fail with Retry, Catch, paths, parameters and intrinsic functions. This service creates each
``AWS::StepFunctions::StateMachine`` of the assembly in it and wires it into the run:

- Every AWS call of an execution (a Lambda task's Invoke, an SDK or optimized integration) goes to
  the embedded moto server signed with a session of the state machine's role (`RoleSessions`), so IAM
  enforcement decides it as that role, exactly like the functions' own calls.
- A Lambda Invoke an execution makes is answered by the function's local worker (`context.invoker`),
  not by moto's Lambda: the task runs the app's real handler.
- StartSyncExecution (Express workflows started synchronously, as API Gateway's Step Functions
  integration does; moto has no such operation) runs the execution to its end and answers with its
  output; StartExecution without a name gets a fresh one (moto would name every such execution "None").
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from moto.core.config import default_user_config
from moto.stepfunctions.parser.asl.utils import boto_client

from constructs_lib.local._aws import RUNNER_ACCESS_KEY, AwsRequest, AwsResponse
from constructs_lib.local._service import DeliveryRequest, ServiceContext, check_delivery
from constructs_lib.local._sessions import RoleSessions
from constructs_lib.local._types import Invocation
from constructs_lib.local.stepfunctions.machines import StateMachineSpec, read_state_machines
from constructs_lib.runtime.function_arns import unqualified_arn

log = logging.getLogger("constructs_lib.local")

NOT_EMULATED = (
    "Workflows: moto's ASL interpreter runs them; activities, callbacks (.waitForTaskToken), Distributed "
    "Map, redrive, versions and aliases, execution logging, X-Ray and the workflows' alarms are not "
    "emulated; executions start at once (no StartExecution throttling); Express executions are listed and "
    "keep a history locally (AWS records them only in their log group).",
)
STATE_KEY = "stateMachines"  # the run's state file: "Stack/LogicalId" -> state machine ARN
_TARGET_PREFIX = "AWSStepFunctions."
_STATES = "states.amazonaws.com"
_INVOKE_PATH = "/2015-03-31/functions/"
_POLL = 0.02  # seconds between looks at a synchronous execution's status
_JSON = "application/x-amz-json-1.0"
# moto's client settings for the interpreter's calls: no retries (Retry is the state's business).
_CLIENT_CONFIG = Config(
    parameter_validation=False,
    retries={"max_attempts": 0, "total_max_attempts": 1},
    connect_timeout=10,
    read_timeout=900,  # a Lambda task may run its function's whole timeout
    account_id_endpoint_mode="disabled",
)


# The interpreter's own client factory, taken before any run patches it.
_ORIGINAL_CLIENT_FOR: Callable[..., Any] = getattr(boto_client, "boto_client_for")  # noqa: B009 -- untyped


_LAMBDA_TASK_MODULE = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda"
)


def _let_invoke_take_invocation_type() -> bool:
    """AWS's Lambda integration (arn:aws:states:::lambda:invoke) takes InvocationType; moto's interpreter
    drops it, which would run an Event task synchronously (the workflow waiting on, and failing with, the
    function). With it, the call reaches `_invoke_async` below, queued as Lambda queues it. The bindings
    are moto's private table (moto >=5.2.5,<6 has it): a release without it must not stop every run."""
    try:
        module = importlib.import_module(_LAMBDA_TASK_MODULE)
        bindings = getattr(module, "_SUPPORTED_API_PARAM_BINDINGS")  # noqa: B009
        bindings["invoke"].add("InvocationType")
    except (ImportError, AttributeError, KeyError, TypeError):
        return False
    return True


EVENT_TASKS_QUEUED = _let_invoke_take_invocation_type()
_warned_event_tasks = threading.Event()


def warn_if_event_tasks_run_synchronously() -> None:
    """Once per process, when this moto could not be taught InvocationType and the app has workflows."""
    if EVENT_TASKS_QUEUED or _warned_event_tasks.is_set():
        return
    _warned_event_tasks.set()
    log.warning(
        "Workflows: this moto's ASL interpreter has no InvocationType for lambda:invoke; Event-type Lambda "
        "tasks run synchronously (the workflow waits for, and fails with, the function)"
    )


def _interpreter_modules() -> list[Any]:
    return [
        module for name, module in list(sys.modules.items()) if name.startswith("moto.stepfunctions.parser")
    ]


class Workflows:
    """The `LocalService` running the app's Step Functions state machines."""

    name = "workflows"

    def __init__(self) -> None:
        self.machines: dict[str, StateMachineSpec] = {}  # "Stack/LogicalId" -> spec
        self._context: ServiceContext | None = None
        self._sessions: RoleSessions | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()
        self._previous_config: dict[str, Any] | None = None
        self._skipped: dict[str, str] = {}

    # LocalService ----------------------------------------------------------------------------

    def start(self, context: ServiceContext) -> None:
        self._context = context
        specs = read_state_machines(context.assembly.stacks)
        if not specs:
            return
        warn_if_event_tasks_run_synchronously()
        config = cast(dict[str, Any], default_user_config)
        self._previous_config = dict(config.get("stepfunctions", {}))
        config["stepfunctions"] = {**self._previous_config, "execute_state_machine": True}
        self._sessions = RoleSessions(context.aws.url, context.region, "states")
        self._patch_clients()
        backend = self._backend()
        for spec in specs:
            # CreateStateMachine fails in AWS unless Step Functions may assume the machine's role.
            refusal = check_delivery(
                context.delivery_checks, DeliveryRequest(_STATES, "sts:AssumeRole", spec.role_arn, spec.arn)
            )
            if refusal is not None:
                self._skipped[spec.path] = f"{_STATES} may not assume its role: {refusal}"
                log.warning("Delivery refused: workflow %s is not run locally: %s", spec.path, refusal)
                context.not_run[spec.path] = "its role's trust policy does not let Step Functions assume it"
                continue
            try:
                _create(backend, spec)
            except Exception as error:  # moto rejects what its interpreter cannot parse
                self._skipped[spec.path] = f"{type(error).__name__}: {error}"
                log.warning("Workflow %s is not run locally: %s", spec.path, self._skipped[spec.path])
                context.not_run[spec.path] = "moto's ASL interpreter rejects its definition"
                continue
            self.machines[spec.path] = spec
        context.aws.checks.append(self.answer)

    def stop(self) -> None:
        if self._context is not None and self.answer in self._context.aws.checks:
            self._context.aws.checks.remove(self.answer)
        # Every module holding this run's client factory gets the original back, including the ones
        # the interpreter imported lazily while this run was patched (they copied the patched name).
        for module in _interpreter_modules():
            if getattr(module, "boto_client_for", None) == self._client_for:
                setattr(module, "boto_client_for", _ORIGINAL_CLIENT_FOR)  # noqa: B010 -- put back
        if self._previous_config is not None:
            cast(dict[str, Any], default_user_config)["stepfunctions"] = self._previous_config
            self._previous_config = None

    def banner(self) -> list[str]:
        if not self.machines:
            return []
        lines = [f"Workflows ({len(self.machines)}): moto's ASL interpreter, tasks run the local functions"]
        for path, spec in self.machines.items():
            lines.append(f"  {spec.kind:8} {path}  {spec.arn}")
        lines += [f"  not run: {path} ({reason})" for path, reason in self._skipped.items()]
        return lines

    def state(self) -> dict[str, Any]:
        return {STATE_KEY: {path: spec.arn for path, spec in self.machines.items()}}

    def not_emulated(self) -> list[str]:
        return list(NOT_EMULATED) if self.machines or self._skipped else []

    # The interpreter's AWS calls -------------------------------------------------------------

    def _backend(self) -> Any:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

        assert self._context is not None
        return stepfunctions_parser_backends[self._context.account][self._context.region]

    def _patch_clients(self) -> None:
        """Point every module of the interpreter that made a boto3 client at `_client_for`."""
        for module in _interpreter_modules():
            current = getattr(module, "boto_client_for", None)
            # The original, or a factory a run left behind (a run that ended without stop()).
            if current is _ORIGINAL_CLIENT_FOR or getattr(current, "__func__", None) is Workflows._client_for:
                setattr(module, "boto_client_for", self._client_for)  # noqa: B010 -- see above

    def _client_for(self, region: str, service: str, state_credentials: Any = None) -> Any:
        """A boto3 client for the interpreter, signed as the state machine's role (or the runner)."""
        assert self._context is not None and self._sessions is not None
        role = getattr(state_credentials, "role_arn", None) or ""
        key = (region, service, role)
        with self._lock:
            if key not in self._clients:
                access_key, secret, token = (
                    self._sessions.session_for(role) if role else (RUNNER_ACCESS_KEY, "local", None)
                )
                client = boto3.client(
                    service,
                    endpoint_url=self._context.aws.url,
                    region_name=region,
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret,
                    aws_session_token=token,
                    config=_CLIENT_CONFIG,
                )
                self._clients[key] = _SdkCased(client) if service == "stepfunctions" else client
            return self._clients[key]

    # Requests answered in moto's place ---------------------------------------------------------

    def answer(self, request: AwsRequest) -> AwsResponse | None:
        """The `AwsRequestCheck` (after IAM's): Lambda invokes by executions, and starts of executions."""
        path = urlsplit(request.url).path
        if request.method == "POST" and path.startswith(_INVOKE_PATH) and path.endswith("/invocations"):
            if self._sessions is not None and request.access_key in self._sessions.access_keys():
                return self._invoke(unquote(path[len(_INVOKE_PATH) : -len("/invocations")]), request)
            return None
        target = next((v for k, v in request.headers.items() if k.lower() == "x-amz-target"), "")
        if target == f"{_TARGET_PREFIX}StartSyncExecution":
            return self._start_sync(_json_body(request.body))
        if target == f"{_TARGET_PREFIX}StartExecution":
            body = _json_body(request.body)
            if not body.get("name"):
                return self._start(body)
        return None

    def _invoke(self, function: str, request: AwsRequest) -> AwsResponse | None:
        assert self._context is not None
        # Every form Lambda's FunctionName takes (name, partial ARN, ARN; qualified or not): locally
        # every version and alias of a function runs its one copy.
        arn = unqualified_arn(function, region=self._context.region, account=self._context.account)
        if not self._context.runs(arn):
            return None  # not a local function: moto answers (ResourceNotFoundException)
        event = _json_body(request.body) if request.body.strip() else {}
        asynchronous = (
            next((v for k, v in request.headers.items() if k.lower() == "x-amz-invocation-type"), "")
            == "Event"
        )
        if asynchronous:
            return self._invoke_async(arn, event)
        return _invoke_response(self._context.invoker.invoke(arn, event))

    def _invoke_async(self, arn: str, event: Any) -> AwsResponse | None:
        """Lambda's Event invocation type, as the events service runs it for every other caller:
        queued, retried as the function's invoke config says, then to its destination or DLQ."""
        assert self._context is not None
        queue = self._context.invoke_async
        if queue is None:  # the events service did not start: nothing could retry or dead-letter it
            message = "asynchronous invocation not accepted: no event router runs"
            return _error_response("ServiceException", message, status=500)
        queue(arn, event)
        return AwsResponse(202, [("Content-Type", "application/json")], b"")

    def _start(self, body: dict[str, Any]) -> AwsResponse:
        try:
            execution = self._backend().start_execution(
                str(body.get("stateMachineArn", "")),
                str(uuid.uuid4()),
                body.get("input") or "{}",
                body.get("traceHeader"),
            )
        except Exception as error:  # moto's own errors carry AWS's code and message
            return _error(error)
        answer = {"executionArn": execution.execution_arn, "startDate": _epoch(execution.start_date)}
        return AwsResponse(200, [("Content-Type", _JSON)], json.dumps(answer).encode())

    def _start_sync(self, body: dict[str, Any]) -> AwsResponse:
        arn = str(body.get("stateMachineArn", ""))
        backend = self._backend()
        try:
            machine = backend.describe_state_machine(arn)
        except Exception as error:  # StateMachineDoesNotExist
            return _error(error)
        if str(getattr(machine, "type", "STANDARD")) != "EXPRESS":  # moto keeps the type in `type`
            message = "This operation is not supported by this type of state machine"
            return _error_response("StateMachineTypeNotSupported", message)
        try:
            execution = backend.start_execution(
                arn, str(body.get("name") or uuid.uuid4()), body.get("input") or "{}", body.get("traceHeader")
            )
        except Exception as error:  # moto's own errors carry AWS's code and message
            return _error(error)
        while str(execution.status) == "RUNNING":
            time.sleep(_POLL)
        status = {"SUCCEEDED": "SUCCEEDED", "TIMED_OUT": "TIMED_OUT"}.get(str(execution.status), "FAILED")
        answer: dict[str, Any] = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": arn,
            "name": execution.name,
            "startDate": _epoch(execution.start_date),
            "stopDate": _epoch(execution.stop_date),
            "status": status,
            "input": execution.execution_input,
            "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100},
        }
        if status == "SUCCEEDED":
            answer["output"] = json.dumps(execution.output, separators=(",", ":"))
        if execution.error is not None:
            answer["error"] = execution.error
        if execution.cause is not None:
            answer["cause"] = execution.cause
        return AwsResponse(200, [("Content-Type", _JSON)], json.dumps(answer).encode())


class _SdkCased:
    """A Step Functions client taking and giving the field names of Step Functions' own integration.

    A state names the fields of its ``states:startExecution`` call as AWS's SDK reference does
    (``StateMachineArn``, ``Input``) and reads ``ExecutionArn`` from the result, while botocore's
    Step Functions model spells them ``stateMachineArn`` and ``executionArn``: moto's interpreter
    passes them through unchanged, so this client converts the first letter both ways.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._client, name)
        if not callable(operation):
            return operation

        def call(**parameters: Any) -> Any:
            result = operation(**{key[:1].lower() + key[1:]: value for key, value in parameters.items()})
            if not isinstance(result, dict):
                return result
            return {
                key[:1].upper() + key[1:] if key != "ResponseMetadata" else key: value
                for key, value in result.items()
            }

        return call


def _create(backend: Any, spec: StateMachineSpec) -> None:
    """Create `spec` in moto's interpreter, or replace its definition (a re-provisioned run)."""
    try:
        backend.describe_state_machine(spec.arn)
    except Exception:  # StateMachineDoesNotExist
        backend.create_state_machine(
            name=spec.name, definition=spec.definition, roleArn=spec.role_arn, sm_type=spec.kind
        )
        return
    backend.update_state_machine(spec.arn, definition=spec.definition, role_arn=spec.role_arn)


def _invoke_response(invocation: Invocation) -> AwsResponse:
    headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
    if invocation.error is None:
        return AwsResponse(200, headers, json.dumps(invocation.payload).encode())
    error = invocation.error
    payload = {"errorType": error.error_type, "errorMessage": error.message, "stackTrace": list(error.trace)}
    return AwsResponse(200, [*headers, ("X-Amz-Function-Error", "Unhandled")], json.dumps(payload).encode())


def _error(error: Exception) -> AwsResponse:
    code = str(getattr(error, "code", "") or type(error).__name__)
    message = str(getattr(error, "message", "") or error)
    return _error_response(code, message)


def _error_response(code: str, message: str, status: int = 400) -> AwsResponse:
    body = json.dumps({"__type": code, "message": message}).encode()
    return AwsResponse(status, [("Content-Type", _JSON), ("x-amzn-ErrorType", code)], body)


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _epoch(moment: Any) -> float | None:
    if isinstance(moment, datetime):
        return moment.timestamp()
    if isinstance(moment, int | float):
        return float(moment)
    if isinstance(moment, str):
        return datetime.fromisoformat(moment).timestamp()
    return None
