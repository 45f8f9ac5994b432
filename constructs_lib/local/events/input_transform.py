"""What an EventBridge rule sends its target: the event, a constant Input, an InputPath, or an
InputTransformer (InputPathsMap + InputTemplate), as EventBridge renders them.

- ``Input``: the constant text, as given.
- ``InputPath``: the part of the event a JSONPath (``$.detail.items[0]``) selects, as JSON.
- ``InputTransformer``: each ``<name>`` of the template replaced by the value its path selects (or
  a reserved variable: ``aws.events.rule-arn``, ``aws.events.rule-name``, ``aws.events.event``,
  ``aws.events.event.json``, ``aws.events.event.ingestion-time``). Inside a JSON string a value is
  inserted as text (a string without its quotes); outside one, as JSON. A path that selects
  nothing inserts null (an empty string inside quotes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_MISSING = object()


@dataclass(frozen=True)
class TargetInput:
    """One target's Input, InputPath or InputTransformer (none: the whole event)."""

    constant: str | None = None
    path: str | None = None
    paths_map: Mapping[str, str] | None = None
    template: str | None = None

    @classmethod
    def from_properties(cls, target: Mapping[str, Any]) -> TargetInput:
        transformer = target.get("InputTransformer") or {}
        constant = target.get("Input")
        return cls(
            constant=constant if constant is None or isinstance(constant, str) else json.dumps(constant),
            path=target.get("InputPath"),
            paths_map=transformer.get("InputPathsMap") or {},
            template=transformer.get("InputTemplate"),
        )

    def render(self, event: Mapping[str, Any], *, rule_arn: str, ingestion_time: str) -> str:
        """The text EventBridge sends the target for `event`."""
        if self.constant is not None:
            return self.constant
        if self.path is not None:
            value = select(event, self.path)
            return json.dumps(None if value is _MISSING else value)
        if self.template is None:
            return json.dumps(event)
        values: dict[str, Any] = {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_arn.rsplit("/", 1)[-1],
            "aws.events.event": event,
            "aws.events.event.json": event,
            "aws.events.event.ingestion-time": ingestion_time,
        }
        values.update({name: select(event, path) for name, path in (self.paths_map or {}).items()})
        return fill(self.template, values)


def select(event: Any, path: str) -> Any:
    """The value the JSONPath `path` selects in `event`, or `_MISSING`; ValueError for a bad path."""
    if not path.startswith("$"):
        raise ValueError(f"{path!r} is not a JSONPath starting with $")
    position, value = 1, event
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            raise ValueError(f"{path!r} is not a JSONPath EventBridge reads (at {path[position:]!r})")
        key, index, quoted, double_quoted = step.groups()
        position = step.end()
        if index is not None:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else _MISSING
        else:
            name = key if key is not None else quoted if quoted is not None else double_quoted
            value = value.get(name, _MISSING) if isinstance(value, Mapping) else _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with each known ``<name>`` replaced: as text inside a JSON string, as JSON outside."""
    parts: list[str] = []
    in_string = False
    position = 0
    for index, char in enumerate(template):
        if index < position:
            continue
        if char == "\\" and in_string:
            parts.append(template[index : index + 2])
            position = index + 2
            continue
        if char == '"':
            in_string = not in_string
        match = _PLACEHOLDER.match(template, index) if char == "<" else None
        if match is not None and match.group(1) in values:
            value = values[match.group(1)]
            parts.append(_as_text(value) if in_string else _as_json(value))
            position = match.end()
            continue
        parts.append(char)
        position = index + 1
    return "".join(parts)


def _as_json(value: Any) -> str:
    return "null" if value is _MISSING else json.dumps(value)


def _as_text(value: Any) -> str:
    if value is _MISSING:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1]  # escaped to stay a valid JSON string
