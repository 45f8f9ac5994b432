"""Request bodies checked against the same JSON Schemas API Gateway's request models use.

Defence in depth without jsonschema or pydantic (both cost cold-start time): this interprets
the small draft-04 subset the schemas in ``schemas/`` use (an object of string properties with
minLength, maxLength and pattern; required; additionalProperties false). Loading a schema with
any other keyword fails at import, so the schemas cannot grow a rule this code would ignore.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api_common import ApiError

SCHEMAS = Path(__file__).resolve().parent / "schemas"
_OBJECT_KEYWORDS = {"$schema", "title", "type", "properties", "required", "additionalProperties"}
_STRING_KEYWORDS = {"type", "minLength", "maxLength", "pattern"}
_SHOWN_NAME_CHARS = 40  # unknown property names are echoed back, cut short


@dataclass(frozen=True)
class StringRule:
    min_length: int
    max_length: int | None
    pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class BodySchema:
    """An object whose properties are all strings, all listed, some required."""

    title: str
    properties: dict[str, StringRule]
    required: tuple[str, ...]


def load_schema(path: Path) -> BodySchema:
    """Read a request model; ValueError names any keyword outside the supported subset."""
    document = json.loads(path.read_text())
    problems = sorted(set(document) - _OBJECT_KEYWORDS)
    if document.get("type") != "object" or document.get("additionalProperties") is not False:
        problems.append("the schema must be an object with additionalProperties false")
    properties: dict[str, StringRule] = {}
    for name, rule in document.get("properties", {}).items():
        problems += [f"{name}.{keyword}" for keyword in sorted(set(rule) - _STRING_KEYWORDS)]
        if rule.get("type") != "string":
            problems.append(f"{name}: only string properties are supported")
        pattern = rule.get("pattern")
        properties[name] = StringRule(
            min_length=rule.get("minLength", 0),
            max_length=rule.get("maxLength"),
            pattern=re.compile(pattern) if pattern is not None else None,
        )
    required = tuple(document.get("required", ()))
    problems += [f"required '{name}' is not a property" for name in required if name not in properties]
    if problems:
        raise ValueError(f"{path.name}: unsupported schema: {', '.join(problems)}")
    return BodySchema(title=document.get("title", path.stem), properties=properties, required=required)


def _string_problem(name: str, value: Any, rule: StringRule) -> str | None:
    if not isinstance(value, str):
        return f"{name} must be a string"
    if len(value) < rule.min_length:
        return (
            f"{name} must not be empty"
            if not value
            else f"{name} must be at least {rule.min_length} characters"
        )
    if rule.max_length is not None and len(value) > rule.max_length:
        return f"{name} must be at most {rule.max_length} characters"
    if rule.pattern is not None and not rule.pattern.search(value):
        return f"{name} must not be blank"
    return None


def validated(schema: BodySchema, body: Any) -> dict[str, str]:
    """`body` if it satisfies `schema`; otherwise a 400 listing every problem."""
    if not isinstance(body, dict):
        raise ApiError(400, f"Invalid request body: expected a JSON object ({schema.title})")
    problems = [f"{name} is required" for name in schema.required if name not in body]
    problems += [
        f"unknown property '{name[:_SHOWN_NAME_CHARS]}'" for name in body if name not in schema.properties
    ]
    for name, rule in schema.properties.items():
        if name in body:
            problem = _string_problem(name, body[name], rule)
            if problem:
                problems.append(problem)
    if problems:
        raise ApiError(400, "Invalid request body: " + "; ".join(problems))
    return body


CREATE_GROUP = load_schema(SCHEMAS / "create-group-request.json")
CREATE_IMAGE = load_schema(SCHEMAS / "create-image-request.json")
