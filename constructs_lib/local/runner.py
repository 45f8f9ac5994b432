"""Runs a synthesized app locally: moto for the data services, the real handlers, the APIs and events.

`LocalRunner` reads a cloud assembly (``cdk.out``), starts an in-process moto server, creates the
templates' tables, buckets, topics, queues, keys and user pools in it, serves every REST and
WebSocket API on 127.0.0.1, runs each function's handler from its synthesized asset in a worker
process, and delivers S3 notifications, SNS messages and table streams to their subscribers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import string
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import requests
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from constructs_lib.local._assembly import AWS_URL_SUFFIX, AssemblyError, CloudAssembly
from constructs_lib.local._provision import CREATED_IN_MOTO, MotoProvisioner
from constructs_lib.local._types import Invocation
from constructs_lib.local._workers import FunctionPool, FunctionSpec, display_name_of, function_spec
from constructs_lib.local.event_sources import EventRouter
from constructs_lib.local.rest_api import RestApiGateway, serve
from constructs_lib.local.websocket_api import WebSocketGateway, serve_management_api

log = logging.getLogger("constructs_lib.local")

STATE_FILE = "local-runner.json"
NOT_EMULATED = (
    "IAM: policies are not enforced; every call a function makes is allowed.",
    "Presigned URLs: moto does not check their expiry.",
    "OpenSearch: requests to a domain answer 503 (search routes answer 503).",
    "Lambda limits and concurrency: one invocation per function at a time; only the timeout is enforced.",
    "Layers are not downloaded: their packages come from this Python environment.",
    "X-Ray, CloudWatch metrics and alarms, WAF, throttling and custom resources do not run.",
)
_HTTP_TIMEOUT = 10  # seconds: requests to the embedded moto server


@dataclass(frozen=True)
class RunnerOptions:
    """Where the runner listens. Port 0 picks a free port; REST APIs take consecutive ports from `port`."""

    host: str = "127.0.0.1"
    port: int = 4000
    websocket_port: int = 4100
    aws_port: int = 0
    region: str | None = None
    account: str | None = None


@dataclass
class _Servers:
    http: list[ThreadingHTTPServer] = field(default_factory=list)
    websockets: list[WebSocketGateway] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, server: ThreadingHTTPServer, name: str) -> None:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        thread.start()
        self.http.append(server)
        self.threads.append(thread)


class LocalRunner:
    """One local run of the app synthesized into `cdk_out`: `start()`, use its URLs, then `stop()`."""

    def __init__(
        self, cdk_out: Path, options: RunnerOptions | None = None, *, output: IO[str] | None = None
    ) -> None:
        self.cdk_out = cdk_out
        self.options = options or RunnerOptions()
        self.output = output or sys.stdout
        self.region, self.account = _environment(cdk_out, self.options)
        self.aws_url = ""
        self.rest_apis: dict[str, str] = {}
        self.websocket_apis: dict[str, str] = {}
        self.user_pools: list[dict[str, Any]] = []
        # What the app has that this run does not serve (functions, nested stacks), and why.
        self.not_run: dict[str, str] = {}
        self.assembly: CloudAssembly | None = None
        self.functions: FunctionPool | None = None
        self.events: EventRouter | None = None
        self.rest_gateways: dict[str, RestApiGateway] = {}
        self._jwks_by_pool: dict[str, Mapping[str, Any]] = {}
        self._moto: BaseWSGIServer | None = None
        self._servers = _Servers()
        self._previous_account: str | None = None

    # Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalRunner:
        """Start everything; on failure, stop what had started and raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalRunner:
        self._start_moto()
        provisioner = MotoProvisioner(self.aws_url, region=self.region)
        self.assembly = CloudAssembly(
            self.cdk_out, region=self.region, account=self.account, provision=provisioner
        )
        for stack in self.assembly.stacks:
            for logical_id in stack.resources_of_type(*CREATED_IN_MOTO):
                stack.physical(logical_id)
            for logical_id in stack.resources_of_type("AWS::CloudFormation::Stack"):
                self.not_run[f"{stack.stack_name}/{logical_id}"] = "nested stacks are not run locally"
        endpoints = self._start_apis()
        self.functions = FunctionPool(
            self._function_specs(endpoints), aws_environment=self.aws_environment(), output=self.output
        )
        self.events = EventRouter(
            self.assembly.stacks,
            invoker=self.functions,
            endpoint_url=self.aws_url,
            region=self.region,
            account=self.account,
        )
        self.events.start()
        self.user_pools = self._user_pools()
        (self.cdk_out / STATE_FILE).write_text(json.dumps(self.state(), indent=2))
        return self

    def stop(self) -> None:
        """Stop what is running (any part that started); calling it again does nothing."""
        if self.events is not None:
            self.events.stop()
            self.events = None
        for gateway in self._servers.websockets:
            gateway.stop()
        for server in self._servers.http:
            server.shutdown()
            server.server_close()
        self._servers = _Servers()
        if self.functions is not None:
            self.functions.close()
            self.functions = None
        if self._moto is not None:
            self._moto.shutdown()
            self._moto.server_close()
            self._moto = None
            if self._previous_account is None:
                os.environ.pop("MOTO_ACCOUNT_ID", None)
            else:
                os.environ["MOTO_ACCOUNT_ID"] = self._previous_account
        (self.cdk_out / STATE_FILE).unlink(missing_ok=True)

    def __enter__(self) -> LocalRunner:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def invoke(self, function: str, event: Mapping[str, Any]) -> Invocation:
        """Invoke a local function by name or ARN (synchronously)."""
        assert self.functions is not None, "start() the runner first"
        return self.functions.invoke(function, event)

    def aws_environment(self) -> dict[str, str]:
        """What every AWS SDK client of a function needs to reach the embedded moto server."""
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # botocore 1.44.4+ would otherwise put the account id in DynamoDB endpoints, unknown to moto.
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }

    def _start_moto(self) -> None:
        # moto serves every request as this account, so ARNs match the templates' account.
        self._previous_account = os.environ.get("MOTO_ACCOUNT_ID")
        os.environ["MOTO_ACCOUNT_ID"] = self.account
        self._moto = make_server(
            self.options.host,
            self.options.aws_port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        thread = threading.Thread(
            target=self._moto.serve_forever, kwargs={"poll_interval": 0.05}, name="moto", daemon=True
        )
        thread.start()
        self._servers.threads.append(thread)
        self.aws_url = f"http://{self.options.host}:{self._moto.server_port}"
        # moto keeps its state per process, not per server: every run starts from nothing.
        requests.post(f"{self.aws_url}/moto-api/reset", timeout=_HTTP_TIMEOUT).raise_for_status()

    def _start_apis(self) -> dict[str, str]:
        """Serve every REST and WebSocket API; returns each one's AWS URL prefix -> its local URL."""
        assert self.assembly is not None
        endpoints: dict[str, str] = {}
        host, rest_port, websocket_port = self.options.host, self.options.port, self.options.websocket_port
        for stack in self.assembly.stacks:
            for logical_id in stack.resources_of_type("AWS::ApiGateway::RestApi"):
                gateway = RestApiGateway(
                    stack,
                    logical_id,
                    invoker=self,
                    jwks=self._jwks,
                    region=self.region,
                    account=self.account,
                )
                server = serve(gateway, host, rest_port)
                rest_port = rest_port + 1 if rest_port else 0
                self._servers.start(server, f"rest-{logical_id}")
                url = f"http://{host}:{server.server_address[1]}"
                name = f"{stack.stack_name}/{gateway.name}"
                if name in self.rest_gateways:  # two APIs of one name: tell them apart by logical id
                    name = f"{stack.stack_name}/{logical_id}"
                self.rest_apis[name] = url
                self.rest_gateways[name] = gateway
                endpoints[_execute_api_url("https", stack.ref(logical_id), self.region)] = url
            for logical_id, resource in stack.resources_of_type("AWS::ApiGatewayV2::Api").items():
                if resource.get("Properties", {}).get("ProtocolType") != "WEBSOCKET":
                    log.warning(
                        "HTTP API %s/%s is not emulated (only REST and WebSocket APIs)",
                        stack.stack_name,
                        logical_id,
                    )
                    continue
                websocket = WebSocketGateway(
                    stack, logical_id, invoker=self, region=self.region, account=self.account
                )
                url = websocket.start(host, websocket_port)
                websocket_port = websocket_port + 1 if websocket_port else 0
                self._servers.websockets.append(websocket)
                management = serve_management_api(websocket, host, 0)
                self._servers.start(management, f"connections-{logical_id}")
                self.websocket_apis[f"{stack.stack_name}/{websocket.name}"] = url
                endpoints[_execute_api_url("wss", websocket.api_id, self.region)] = url
                endpoints[_execute_api_url("https", websocket.api_id, self.region)] = (
                    f"http://{host}:{management.server_address[1]}"
                )
            for logical_id in stack.resources_of_type("AWS::OpenSearchService::Domain"):
                domain = str(stack.resolve({"Fn::GetAtt": [logical_id, "DomainEndpoint"]}))
                server = _not_emulated_server(host, "OpenSearch")
                self._servers.start(server, f"opensearch-{logical_id}")
                endpoints[f"https://{domain}"] = f"http://{host}:{server.server_address[1]}"
        return endpoints

    def _function_specs(self, endpoints: Mapping[str, str]) -> list[FunctionSpec]:
        assert self.assembly is not None
        specs = []
        for stack in self.assembly.stacks:
            for logical_id, resource in stack.resources_of_type("AWS::Lambda::Function").items():
                display_name = display_name_of(resource, logical_id)
                try:
                    spec = function_spec(stack, logical_id, resource, display_name, endpoints)
                except (AssemblyError, KeyError, TypeError, ValueError, OSError) as error:
                    self.not_run[f"{stack.stack_name}/{display_name}"] = str(error)
                    continue
                if spec is None:
                    runtime = resource.get("Properties", {}).get("Runtime", "a container image")
                    self.not_run[f"{stack.stack_name}/{display_name}"] = (
                        f"runtime {runtime} is not run locally"
                    )
                    continue
                specs.append(spec)
        return specs

    # Cognito -----------------------------------------------------------------------------------

    def _jwks(self, user_pool_id: str) -> Mapping[str, Any]:
        """The pool's signing keys, from moto (which signs every pool's tokens with one fixed key)."""
        if user_pool_id not in self._jwks_by_pool:
            reply = requests.get(
                f"{self.aws_url}/{user_pool_id}/.well-known/jwks.json", timeout=_HTTP_TIMEOUT
            )
            reply.raise_for_status()
            self._jwks_by_pool[user_pool_id] = reply.json()
        return self._jwks_by_pool[user_pool_id]

    def _user_pools(self) -> list[dict[str, Any]]:
        assert self.assembly is not None
        pools = []
        for stack in self.assembly.stacks:
            clients = stack.resources_of_type("AWS::Cognito::UserPoolClient")
            for logical_id in stack.resources_of_type("AWS::Cognito::UserPool"):
                pool_id = stack.ref(logical_id)
                client_ids = [
                    stack.ref(client_id)
                    for client_id, client in clients.items()
                    if stack.resolve(client["Properties"]["UserPoolId"]) == pool_id
                ]
                pools.append(
                    {"name": f"{stack.stack_name}/{logical_id}", "id": pool_id, "clients": client_ids}
                )
        return pools

    def state(self) -> dict[str, Any]:
        """What `token` and other commands need to reach this run (written to cdk.out while it runs)."""
        return {
            "aws": self.aws_url,
            "region": self.region,
            "account": self.account,
            "restApis": self.rest_apis,
            "websocketApis": self.websocket_apis,
            "userPools": self.user_pools,
        }

    # Start-up banner ---------------------------------------------------------------------------

    def banner(self) -> Iterator[str]:
        yield f"Local run of {self.cdk_out} (account {self.account}, {self.region})"
        yield f"AWS services (moto): {self.aws_url}"
        for name, url in self.rest_apis.items():
            gateway = self.rest_gateways[name]
            yield f"REST API {name}: {url}/{gateway.stage_names[0] if gateway.stage_names else ''}"
            for method, path, authorization in gateway.routes():
                yield f"  {method:7} {path}  ({authorization.lower().replace('_', ' ')})"
        for name, url in self.websocket_apis.items():
            yield f"WebSocket API {name}: {url}"
        if self.functions is not None:
            names = ", ".join(sorted(spec.display_name for spec in self.functions.functions.values()))
            yield f"Functions: {names}"
        for name, reason in sorted(self.not_run.items()):
            yield f"Not run: {name}: {reason}"
        if self.events is not None:
            for line in self.events.describe():
                yield f"Events: {line}"
        for pool in self.user_pools:
            yield f"User pool {pool['name']}: {pool['id']}"
        if self.user_pools:
            yield "ID token for a new user: make local-token EMAIL=you@example.com"
        yield "Not emulated:"
        for line in NOT_EMULATED:
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


def _execute_api_url(scheme: str, api_id: str, region: str) -> str:
    return f"{scheme}://{api_id}.execute-api.{region}.{AWS_URL_SUFFIX}"


def _not_emulated_server(host: str, service: str) -> ThreadingHTTPServer:
    """A server answering every request 503 with a message saying `service` is not emulated."""
    body = json.dumps({"message": f"{service} is not emulated by the local runner"}).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            log.warning(
                "%s request %s %s answered 503: %s is not emulated", service, self.command, self.path, service
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815 -- BaseHTTPRequestHandler's naming

        def log_message(self, format: str, *args: Any) -> None:
            """Replaced by the warning above."""

    return ThreadingHTTPServer((host, 0), Handler)


def create_user_token(
    state: Mapping[str, Any], email: str, *, password: str | None = None, user_pool: str | None = None
) -> str:
    """Create (or reset) a confirmed user in a local user pool and return an ID token for it."""
    pools = [pool for pool in state["userPools"] if user_pool in (None, pool["name"], pool["id"])]
    pools = [pool for pool in pools if pool["clients"]]
    if not pools:
        raise ValueError(f"no local user pool with an app client matches {user_pool or 'the app'}")
    pool = pools[0]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=state["aws"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 -- moto accepts any credentials
        config=Config(account_id_endpoint_mode="disabled"),
    )
    password = password or _strong_password()
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool["id"], Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
    cognito.admin_set_user_password(UserPoolId=pool["id"], Username=email, Password=password, Permanent=True)
    reply = cognito.admin_initiate_auth(
        UserPoolId=pool["id"],
        ClientId=pool["clients"][0],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return str(reply["AuthenticationResult"]["IdToken"])


def _strong_password() -> str:
    """A password that meets any Cognito password policy: long, with every character class."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(24)) + "aA1!"


def read_state(cdk_out: Path) -> dict[str, Any]:
    path = cdk_out / STATE_FILE
    if not path.exists():
        raise FileNotFoundError(f"no local run is active for {cdk_out}: start one with `make local` first")
    state: dict[str, Any] = json.loads(path.read_text())
    return state
