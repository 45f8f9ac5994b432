"""Types shared by the local runner's parts: templates, invocations, and what invokes functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


def function_arn(region: str, account: str, name: str) -> str:
    """The unqualified ARN of the Lambda function `name`."""
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


@dataclass(frozen=True)
class FunctionError:
    """Why an invocation failed, as Lambda reports it (``errorType``, ``errorMessage``)."""

    error_type: str
    message: str
    trace: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invocation:
    """The outcome of one synchronous invocation of a local function."""

    request_id: str
    payload: Any = None
    error: FunctionError | None = None
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


class Invoker(Protocol):
    """Runs a local function synchronously (Lambda's RequestResponse invocation)."""

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        """Invoke the function with this ARN (or name); raises KeyError for a function that is not local."""
        ...


class TemplateView(Protocol):
    """One synthesized stack: its raw resources, and intrinsic functions resolved to local values."""

    @property
    def stack_name(self) -> str: ...

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        """Raw resources (``{"Type", "Properties", ...}``) of these types by logical id, in template order."""
        ...

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function (Ref, Fn::GetAtt, ...) replaced by its local value."""
        ...

    def ref(self, logical_id: str) -> str:
        """What ``{"Ref": logical_id}`` resolves to (a physical name, id or ARN)."""
        ...
