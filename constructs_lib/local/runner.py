"""Runs a synthesized app locally: moto for the data services, the real handlers, the APIs and events.

`LocalRunner` reads a cloud assembly (``cdk.out``), starts an in-process moto server (`_aws`), creates
the templates' tables, buckets, topics, queues, keys and user pools in it (`_provision`), then starts
each service of `SERVICES` in order (one module each, behind `_service.LocalService`): the REST and
WebSocket APIs, OpenSearch's stand-in, the functions' worker processes, event delivery and the
user pools. Stopping stops them in reverse order.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from constructs_lib.local._assembly import CloudAssembly, Physical, StackTemplate
from constructs_lib.local._aws import AwsServer, aws_environment
from constructs_lib.local._hints import commands_for
from constructs_lib.local._provision import CREATED_IN_MOTO, MotoProvisioner
from constructs_lib.local._service import LocalService, ServiceContext
from constructs_lib.local._state import read_state, remove_state, state_path, write_state
from constructs_lib.local._types import Invocation
from constructs_lib.local._workers import FunctionPool
from constructs_lib.local.cognito import UserPools, create_user_token
from constructs_lib.local.events.router import EventRouter
from constructs_lib.local.events.service import Events
from constructs_lib.local.functions import Functions
from constructs_lib.local.iam.service import IamEnforcement
from constructs_lib.local.lambda_api import LambdaApi
from constructs_lib.local.opensearch import OpenSearchDomains
from constructs_lib.local.rest_api.service import RestApis
from constructs_lib.local.stepfunctions.service import Workflows
from constructs_lib.local.watch import Watcher, run_synth, synth_command
from constructs_lib.local.websocket_api import WebSocketApis
from constructs_lib.runtime.function_arns import unqualified_arn

__all__ = ["LocalRunner", "RunnerOptions", "create_user_token", "read_state", "state_path"]

log = logging.getLogger("constructs_lib.local")
_S = TypeVar("_S")

# What no service emulates; each service adds its own lines (`LocalService.not_emulated`).
NOT_EMULATED = (
    "Presigned URLs: moto does not check their expiry.",
    "X-Ray, CloudWatch metrics and alarms, WAF, throttling and custom resources do not run.",
)


# The longest retry delay a run takes: 15 minutes, Lambda's longest timeout. No local retry needs to
# wait longer, and the bound catches a delay given in milliseconds (1000 meaning 1 s).
MAX_RETRY_DELAY = 900


def valid_retry_delays(delays: Sequence[float]) -> bool:
    """The one rule for `RunnerOptions.retry_delays` and ``--retry-delays``: one or more seconds, each
    from 0 to MAX_RETRY_DELAY (NaN is refused: it compares false)."""
    return bool(delays) and all(0 <= delay <= MAX_RETRY_DELAY for delay in delays)


@dataclass(frozen=True)
class RunnerOptions:
    """Where the runner listens. Port 0 picks free ports; REST APIs take consecutive ports from `port`,
    WebSocket APIs from `websocket_port`.
    """

    host: str = "127.0.0.1"
    port: int = 4000
    websocket_port: int = 4100
    aws_port: int = 0
    region: str | None = None
    account: str | None = None
    iam: str = "enforce"  # "enforce" (AWS's decisions), "report" (denials only logged) or "off"
    watch: bool = False  # follow the app's files: reload functions' code, re-synthesize on other changes
    # Seconds before each retry of a failed asynchronous invocation, stream batch, schedule or rule target
    # (the last repeats): AWS waits minutes; a local run keeps the order of events but not the wait.
    retry_delays: tuple[float, ...] = (1.0, 2.0)

    def __post_init__(self) -> None:
        if not valid_retry_delays(self.retry_delays):
            raise ValueError(
                f"RunnerOptions: retry_delays {self.retry_delays!r} must be one or more seconds from 0 to "
                f"{MAX_RETRY_DELAY}, such as (1.0, 2.0)"
            )


# The services of a run, in start order: APIs and domains first (functions' environments name their
# local URLs), then the functions, then what invokes them. Add a new service here.
SERVICES: tuple[Callable[[], LocalService], ...] = (
    IamEnforcement,  # first: its checks are in place before anything can call AWS or be delivered
    RestApis,
    WebSocketApis,
    OpenSearchDomains,
    Functions,
    LambdaApi,  # after Functions: it invokes them for scripts (constructs_lib.ops redrive)
    Workflows,  # after Functions: its executions invoke them
    Events,
    UserPools,
)


class LocalRunner:
    """One local run of the app synthesized into `cdk_out`: `start()`, use its URLs, then `stop()`."""

    def __init__(
        self, cdk_out: Path, options: RunnerOptions | None = None, *, output: IO[str] | None = None
    ) -> None:
        self.cdk_out = cdk_out
        self.options = options or RunnerOptions()
        self.output = output or sys.stdout
        self.region, self.account = _environment(cdk_out, self.options)
        self.aws = AwsServer(self.options.host, self.options.aws_port, self.account)
        self.assembly: CloudAssembly | None = None
        self.commands = commands_for(cdk_out)
        self.services: list[LocalService] = [make() for make in SERVICES]
        self.context: ServiceContext | None = None
        # What the app has that this run does not serve (functions, nested stacks), and why.
        self.not_run: dict[str, str] = {}
        self._started: list[LocalService] = []
        self._jwks_by_pool: dict[str, Mapping[str, Any]] = {}
        # This run's state file, once written (`state_file`); only this run ever removes it.
        self.state_file: Path | None = None
        self._run_id = uuid.uuid4().hex
        # What each resource was provisioned as, by its template (kept across re-provisioning).
        self._provisioned: dict[tuple[str, str, str], tuple[str, Physical]] = {}
        self._created: list[str] = []
        self._watcher: Watcher | None = None
        self._lifecycle = threading.RLock()  # start, re-provisioning and stop, one at a time
        self._moto: MotoProvisioner | None = None

    # Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalRunner:
        """Start everything; on failure, stop what had started and raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalRunner:
        with self._lifecycle:
            self.aws.start()
            self._moto = MotoProvisioner(self.aws.url, region=self.region)
            self._start_services({})
            if self.options.watch:
                self._watch()
            return self

    def _start_services(self, ports: dict[str, dict[str, int]]) -> None:
        """Read the assembly, provision what is new, start every service, publish the state."""
        self.not_run.clear()
        self._created = []
        self.assembly = CloudAssembly(
            self.cdk_out, region=self.region, account=self.account, provision=self._provision
        )
        for stack in self.assembly.stacks:
            for logical_id in stack.resources_of_type(*CREATED_IN_MOTO):
                stack.physical(logical_id)
            for logical_id in stack.resources_of_type("AWS::CloudFormation::Stack"):
                self.not_run[f"{stack.stack_name}/{logical_id}"] = "nested stacks are not run locally"
        self.context = ServiceContext(
            assembly=self.assembly,
            options=self.options,
            region=self.region,
            account=self.account,
            aws=self.aws,
            invoker=self,
            runs=self.runs,
            jwks=self._jwks,
            output=self.output,
            not_run=self.not_run,
            app_directory=self.cdk_out.absolute().parent,
            ports=ports,
        )
        for service in self.services:
            self._started.append(service)
            service.start(self.context)
        self._of(UserPools).token_command = self.commands.token(self.port)
        path = state_path(self.cdk_out, self.port)
        self._of(IamEnforcement).report_path = path.with_name(f"local-iam-report-{self.port}.json")
        write_state(path, self.state())
        self.state_file = path

    def _provision(
        self, stack: StackTemplate, logical_id: str, resource_type: str, resource: dict[str, Any]
    ) -> Physical:
        """Provision in moto, or reuse what an unchanged resource was provisioned as (its data stays)."""
        key = (stack.stack_name, logical_id, resource_type)
        template = json.dumps(resource, sort_keys=True, default=str)
        previous = self._provisioned.get(key)
        if previous is not None and previous[0] == template:
            return previous[1]
        assert self._moto is not None, "the AWS endpoint starts first"
        physical = self._moto(stack, logical_id, resource_type, resource)
        self._provisioned[key] = (template, physical)
        if resource_type in CREATED_IN_MOTO and self.context is not None:  # not on the first start
            self._created.append(f"{stack.stack_name}/{logical_id}")
        return physical

    def reprovision(self) -> str:
        """Serve the assembly in `cdk_out` as it is now: unchanged resources keep their data, new or
        changed ones are created, and every service restarts (the APIs on their ports). Says what it did.
        """
        with self._lifecycle:
            ports = {
                RestApis.name: self._of(RestApis).ports(),
                WebSocketApis.name: self._of(WebSocketApis).ports(),
            }
            while self._started:
                self._started.pop().stop()
            # Every check in front of moto or of deliveries was put there by a service now stopped;
            # the new services add their own (IAM's, with the new policies).
            self.aws.checks.clear()
            self.services = [make() for make in SERVICES]
            self._start_services(ports)
            created = ", ".join(self._created) or "nothing"
            functions = len(self.functions.functions) if self.functions else 0
            return (
                f"created {created}; kept the other resources and their data; restarted "
                f"{len(self.rest_apis)} REST API(s), {len(self.websocket_apis)} WebSocket API(s), "
                f"{functions} function(s) and event delivery"
            )

    def _watch(self) -> None:
        app_directory = self.cdk_out.absolute().parent
        self._watcher = Watcher(
            app_directory,
            self.cdk_out.absolute(),
            source_directories=self._source_directories,
            reload_code=self._reload_code,
            reload_app=self._reload_app,
        )
        self._watcher.start()
        sources = len(self._source_directories())
        log.info("Watching %s: %d function source folder(s) reload on change", app_directory, sources)

    def _source_directories(self) -> set[Path]:
        pool = self.functions
        specs = pool.functions.values() if pool is not None else ()
        return {spec.source_directory for spec in specs if spec.source_directory is not None}

    def _reload_code(self, folders: set[Path]) -> None:
        pool = self.functions
        if pool is None:
            return
        changed = {arn for arn, spec in pool.functions.items() if spec.source_directory in folders}
        pool.reload(changed)
        names = ", ".join(sorted(pool.functions[arn].display_name for arn in changed))
        log.info("Watch: %s changed: %s reload on their next invocation", _listed(folders), names)

    def _reload_app(self, changed: list[Path]) -> None:
        app_directory = self.cdk_out.absolute().parent
        command = synth_command(app_directory, self.cdk_out)
        if command is None:
            log.warning(
                "Watch: %s changed; no CDK CLI (cdk) to re-synthesize with: synthesize and restart the run",
                _listed(changed),
            )
            return
        started = time.monotonic()
        succeeded, errors = run_synth(command, app_directory)
        if not succeeded:
            log.error(
                "Watch: %s changed; cdk synth failed, the run serves what it served:\n%s",
                _listed(changed),
                errors,
            )
            return
        synthesized = time.monotonic() - started
        log.info(
            "Watch: %s changed: re-synthesized in %.1f s; %s",
            _listed(changed),
            synthesized,
            self.reprovision(),
        )

    def stop(self) -> None:
        """Stop what is running (any part that started); calling it again does nothing."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        with self._lifecycle:
            self._stop()

    def _stop(self) -> None:
        while self._started:
            self._started.pop().stop()
        self.aws.stop()
        if self.state_file is not None:
            remove_state(self.state_file, self._run_id)
            self.state_file = None

    def __enter__(self) -> LocalRunner:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def service(self, name: str) -> LocalService:
        """The service of this run named `name` ("rest-apis", "functions", "events", ...)."""
        return next(service for service in self.services if service.name == name)

    def invoke(self, function: str, event: Mapping[str, Any]) -> Invocation:
        """Invoke a local function by name or ARN (synchronously)."""
        assert self.functions is not None, "start() the runner first"
        return self.functions.invoke(function, event)

    def runs(self, function: str) -> bool:
        """Whether this run runs `function`: any form Lambda takes (name, ARN or partial ARN, qualified
        or not)."""
        assert self.functions is not None, "start() the runner first"
        try:
            self.functions.spec(unqualified_arn(function, region=self.region, account=self.account))
        except KeyError:
            return False
        return True

    def aws_environment(self) -> dict[str, str]:
        """What every AWS SDK client of a function needs to reach the embedded moto server."""
        return aws_environment(self.aws.url, self.region)

    # What the services serve -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port that names this run (its state file, ``token --port``): its first REST API's, else
        its first WebSocket API's, else its AWS endpoint's.
        """
        urls = [*self.rest_apis.values(), *self.websocket_apis.values(), self.aws.url]
        return next((int(url.rsplit(":", 1)[1]) for url in urls if url), 0)

    @property
    def aws_url(self) -> str:
        return self.aws.url

    @property
    def functions(self) -> FunctionPool | None:
        return self._of(Functions).pool

    @property
    def events(self) -> EventRouter | None:
        return self._of(Events).router

    @property
    def rest_apis(self) -> dict[str, str]:
        """Each REST API's URL (without its stage) by "Stack/ApiName"."""
        return self._of(RestApis).urls

    @property
    def websocket_apis(self) -> dict[str, str]:
        return self._of(WebSocketApis).urls

    @property
    def user_pools(self) -> list[dict[str, Any]]:
        return self._of(UserPools).pools

    def _of(self, kind: type[_S]) -> _S:
        return next(service for service in self.services if isinstance(service, kind))

    # Cognito -----------------------------------------------------------------------------------

    def _jwks(self, user_pool_id: str) -> Mapping[str, Any]:
        """The pool's signing keys, from moto (which signs every pool's tokens with one fixed key)."""
        if user_pool_id not in self._jwks_by_pool:
            self._jwks_by_pool[user_pool_id] = self.aws.get(f"/{user_pool_id}/.well-known/jwks.json")
        return self._jwks_by_pool[user_pool_id]

    def state(self) -> dict[str, Any]:
        """What `token` and other commands need to reach this run (written to cdk.out while it runs)."""
        state: dict[str, Any] = {
            "pid": os.getpid(),
            "runId": self._run_id,
            "port": self.port,
            "aws": self.aws.url,
            "region": self.region,
            "account": self.account,
        }
        for service in self.services:
            state.update(service.state())
        return state

    # Start-up banner ---------------------------------------------------------------------------

    def banner(self) -> Iterator[str]:
        yield f"Local run of {self.cdk_out} (account {self.account}, {self.region})"
        yield f"AWS services (moto): {self.aws.url}"
        if self.state_file is not None:
            yield f"URLs for scripts: {self.state_file}"
        for service in self.services:
            yield from service.banner()
        yield "Not emulated:"
        for line in NOT_EMULATED:
            yield f"  - {line}"
        for service in self.services:
            for line in service.not_emulated():
                yield f"  - {line}"


def _environment(cdk_out: Path, options: RunnerOptions) -> tuple[str, str]:
    """The region and account the stacks were synthesized for (the first stack with both, Stages included)."""
    for environment in _stack_environments(cdk_out):
        match = re.fullmatch(r"aws://(\d{12})/([a-z]{2}(?:-[a-z]+)+-\d)", environment)
        if match:
            return options.region or match.group(2), options.account or match.group(1)
    return options.region or "us-east-1", options.account or "123456789012"


def _stack_environments(directory: Path) -> Iterator[str]:
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        return
    for artifact in json.loads(manifest_path.read_text()).get("artifacts", {}).values():
        if artifact.get("type") == "aws:cloudformation:stack":
            yield str(artifact.get("environment", ""))
        elif artifact.get("type") == "cdk:cloud-assembly":
            yield from _stack_environments(directory / artifact["properties"]["directoryName"])


def _listed(paths: set[Path] | list[Path]) -> str:
    names = sorted(path.name for path in paths)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
