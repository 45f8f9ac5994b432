"""Request body validation errors worded as API Gateway words them (`$context.error.validationErrorString`).

API Gateway validates models with a Java JSON Schema draft-04 validator and reports every problem
in one bracketed, comma-separated list, e.g.
``[object has missing required properties (["name"]), instance type (integer) does not match any
allowed primitive type (allowed: ["string"])]``. The runner validates with `jsonschema` and words
each error the same way, so a client (and its tests) sees locally the text it will see in AWS.
Keywords without a known wording keep jsonschema's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema import ValidationError  # type: ignore[import-untyped]


def validation_error_string(errors: Iterable[ValidationError]) -> str:
    """One bracketed list of every problem; an object's missing required properties in one entry, as AWS."""
    messages: list[str] = []
    reported_required: set[tuple[Any, ...]] = set()
    for error in errors:
        if error.validator == "required":
            path = tuple(error.absolute_path)
            if path in reported_required:
                continue  # jsonschema reports each missing name; AWS lists them together
            reported_required.add(path)
            present = error.instance if isinstance(error.instance, dict) else {}
            missing = [name for name in error.validator_value if name not in present]
            messages.append(f"object has missing required properties ({_json(missing)})")
            continue
        wording = _WORDINGS.get(str(error.validator))
        messages.append(wording(error) if wording else str(error.message))
    return f"[{', '.join(messages)}]"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _allowed_types(error: ValidationError) -> str:
    allowed = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    return _json(sorted(allowed))


def _additional(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    declared = set(schema.get("properties", {}))
    extra = (
        sorted(name for name in error.instance if name not in declared)
        if isinstance(error.instance, dict)
        else []
    )
    return f"object instance has properties which are not allowed by the schema: {_json(extra)}"


_WORDINGS: dict[str, Callable[[ValidationError], str]] = {
    "type": lambda e: (
        f"instance type ({_type_name(e.instance)}) does not match any allowed primitive type "
        f"(allowed: {_allowed_types(e)})"
    ),
    "enum": lambda e: (
        f"instance value ({_json(e.instance)}) not found in enum "
        f"(possible values: {_json(e.validator_value)})"
    ),
    "maxLength": lambda e: (
        f"string {_json(e.instance)} is too long "
        f"(length: {len(e.instance)}, maximum allowed: {e.validator_value})"
    ),
    "minLength": lambda e: (
        f"string {_json(e.instance)} is too short "
        f"(length: {len(e.instance)}, required minimum: {e.validator_value})"
    ),
    "pattern": lambda e: (
        f"ECMA 262 regex {_json(e.validator_value)} does not match input string {_json(e.instance)}"
    ),
    "minimum": lambda e: (
        "numeric instance is lower than the required minimum "
        f"(minimum: {e.validator_value}, found: {e.instance})"
    ),
    "maximum": lambda e: (
        "numeric instance is greater than the required maximum "
        f"(maximum: {e.validator_value}, found: {e.instance})"
    ),
    "additionalProperties": _additional,
    "maxItems": lambda e: (
        f"array is too long: must have at most {e.validator_value} elements but instance has "
        f"{len(e.instance)} elements"
    ),
    "minItems": lambda e: (
        f"array is too short: must have at least {e.validator_value} elements but instance has "
        f"{len(e.instance)} elements"
    ),
    "uniqueItems": lambda _e: "array must not contain duplicate elements",
    "maxProperties": lambda e: (
        f"object has too many properties (found {len(e.instance)}, maximum allowed {e.validator_value})"
    ),
    "minProperties": lambda e: (
        f"object has too few properties (found {len(e.instance)}, required minimum {e.validator_value})"
    ),
    "anyOf": lambda e: (
        f"instance failed to match at least one required schema among {len(e.validator_value)}"
    ),
}
