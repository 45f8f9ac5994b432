"""The app's state machines as the templates define them: name, ARN, definition, role and type."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from constructs_lib.local._types import TemplateView

STATE_MACHINE = "AWS::StepFunctions::StateMachine"


@dataclass(frozen=True)
class StateMachineSpec:
    path: str  # "Stack/LogicalId"
    name: str
    arn: str
    definition: str  # Amazon States Language, every reference resolved to its local value
    role_arn: str
    kind: str  # "STANDARD" or "EXPRESS"


def read_state_machines(stacks: Iterable[TemplateView]) -> list[StateMachineSpec]:
    specs = []
    for stack in stacks:
        for logical_id, resource in stack.resources_of_type(STATE_MACHINE).items():
            properties: dict[str, Any] = stack.resolve(resource.get("Properties", {}))
            arn = stack.ref(logical_id)
            specs.append(
                StateMachineSpec(
                    path=f"{stack.stack_name}/{logical_id}",
                    name=arn.rsplit(":", 1)[-1],
                    arn=arn,
                    definition=_definition(properties),
                    role_arn=str(properties.get("RoleArn", "")),
                    kind=str(properties.get("StateMachineType", "STANDARD")),
                )
            )
    return specs


def _definition(properties: dict[str, Any]) -> str:
    """The definition string, with its DefinitionSubstitutions (``${name}``) made."""
    definition = properties.get("DefinitionString")
    if definition is None:
        definition = json.dumps(properties.get("Definition", {}))
    text = str(definition)
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + name + "}", str(value))
    return text
