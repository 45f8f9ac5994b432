"""The one shape every emulated service has, and what the runner hands each one when it starts.

The runner (`runner.LocalRunner`) starts moto, provisions the templates' resources in it, then starts
each `LocalService` of `runner.SERVICES` in order with one `ServiceContext`, and stops them in
reverse order. A service reads what it emulates from ``context.assembly``, registers the local URLs
of the AWS endpoints it serves in ``context.endpoints`` (functions' environments are rewritten with
them), invokes functions through ``context.invoker``, and lists its start-up banner lines, the state
it publishes for scripts (`state`), and what it knowingly leaves out (`not_emulated`).

Two seams exist for checks that must run before something happens (IAM enforcement):

- ``context.aws.checks``: every request any SDK client (a function's worker, or the runner) sends
  to the embedded moto server passes through each `AwsRequestCheck` first; one that returns a
  response answers the request instead of moto. Each function's worker signs with its own access
  key, so a check knows which function made the call (`AwsRequest.principal`).
- ``context.delivery_checks``: every delivery the runner makes on a service's behalf (S3 or SNS
  invoking a function, S3 publishing to a topic, a function's destinations and dead-letter queue)
  is a `DeliveryRequest` each `DeliveryCheck` may refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from constructs_lib.local._types import Invoker

if TYPE_CHECKING:
    from constructs_lib.local._assembly import CloudAssembly
    from constructs_lib.local._aws import AwsServer
    from constructs_lib.local.runner import RunnerOptions


@dataclass(frozen=True)
class DeliveryRequest:
    """One delivery the runner makes on behalf of a service or a function, in IAM's terms."""

    principal: str  # a service principal ("sns.amazonaws.com"), or the ARN of the function whose role sends
    action: str  # "lambda:InvokeFunction", "sqs:SendMessage", "sns:Publish"
    resource: str  # the target's ARN
    source_arn: str | None = None  # aws:SourceArn: the bucket, topic, rule or schedule that delivers


# None lets the delivery happen; a text refuses it and says why (logged by the delivering service).
DeliveryCheck = Callable[[DeliveryRequest], str | None]


def check_delivery(checks: list[DeliveryCheck], request: DeliveryRequest) -> str | None:
    """Why the first check that refuses `request` refuses it, or None when every check allows it."""
    for check in checks:
        refusal = check(request)
        if refusal is not None:
            return refusal
    return None


@dataclass
class ServiceContext:
    """What a service gets from the runner when it starts (shared by all services of one run)."""

    assembly: CloudAssembly
    options: RunnerOptions
    region: str
    account: str
    aws: AwsServer  # the embedded moto server: its URL, and the request checks in front of it
    invoker: Invoker  # invokes local functions (the runner; usable once the functions service started)
    # Whether `invoker` runs this function (name, ARN or partial ARN, qualified or not).
    runs: Callable[[str], bool]
    jwks: Callable[[str], Mapping[str, Any]]  # a Cognito user pool's signing keys, by pool id
    output: IO[str]  # where the functions' own output goes (each line prefixed with the function)
    # AWS endpoint URL prefixes (``https://<id>.execute-api.<region>.amazonaws.com``) -> local URLs.
    endpoints: dict[str, str] = field(default_factory=dict)
    # What the app has that this run does not serve, and why ("Stack/Name" -> reason).
    not_run: dict[str, str] = field(default_factory=dict)
    delivery_checks: list[DeliveryCheck] = field(default_factory=list)
    app_directory: Path | None = None  # the folder holding the app (and its cdk.out)
    # Ports to serve APIs on again, by service name then "Stack/ApiName" (a re-provisioned run keeps its
    # URLs; a REST and a WebSocket API may share a name).
    ports: dict[str, dict[str, int]] = field(default_factory=dict)
    # Lambda's Event invocation type (retries, destinations, dead-letter queue): set by the events
    # service once its router runs; returns the request id.
    invoke_async: Callable[[str, Mapping[str, Any]], str] | None = None


class LocalService(Protocol):
    """One emulated service or delivery path, built from the cloud assembly."""

    name: str  # short and unique: "rest-apis", "functions", "events"

    def start(self, context: ServiceContext) -> None:
        """Read the assembly and start serving; raise (OSError, AssemblyError) if it cannot."""
        ...

    def stop(self) -> None:
        """Stop what `start` started, even if it failed half-way; calling it again does nothing."""
        ...

    def banner(self) -> list[str]:
        """The lines this service adds to the start-up banner (URLs, routes, wiring)."""
        ...

    def state(self) -> dict[str, Any]:
        """What scripts need to reach this service, merged into the run's state file."""
        ...

    def not_emulated(self) -> list[str]:
        """What this service knowingly leaves out, one sentence each."""
        ...
