"""Draft-04 request models as OpenAPI 3.0 schema objects (constructs_lib._openapi.schema_object).

Each converted schema is embedded in a minimal document that openapi-spec-validator must accept,
and OpenAPI's validator must accept and reject the same instances as the draft-04 validator.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from constructs_lib._openapi import schema_object

NULLABLE_AND_UNION = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "https://example.com/item",
    "type": "object",
    "properties": {
        "note": {"type": ["string", "null"], "maxLength": 3},
        "size": {"type": ["integer", "string"]},
        "nothing": {"type": ["null"]},
        "price": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
    },
}
DEFINITIONS = {
    "definitions": {"tag": {"type": "string", "enum": ["a", "b"]}},
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"$ref": "#/definitions/tag"}, "uniqueItems": True}},
    "required": ["tags"],
}
TUPLE_AND_PATTERNS = {
    "type": "object",
    "properties": {"point": {"type": "array", "items": [{"type": "number"}, {"type": "string"}]}},
    "patternProperties": {"^x-": {"type": "string"}},
    "dependencies": {"a": ["b"]},
    "additionalProperties": {"type": "integer"},
}


def _document(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }


def test_nullable_and_union_types() -> None:
    components: dict[str, Any] = {}
    converted = schema_object(NULLABLE_AND_UNION, "Item", components)
    assert "$schema" not in converted and "id" not in converted
    properties = converted["properties"]
    assert properties["note"] == {"type": "string", "nullable": True, "maxLength": 3}
    assert properties["size"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert properties["nothing"] == {"nullable": True, "enum": [None]}
    assert properties["price"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    validate(_document({"Item": converted, **components}))


def test_definitions_become_components_and_refs_follow() -> None:
    components: dict[str, Any] = {}
    converted = schema_object(DEFINITIONS, "Tagged", components)
    assert components == {"Tagged_tag": {"type": "string", "enum": ["a", "b"]}}
    assert converted["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tagged_tag"}
    assert "definitions" not in converted
    validate(_document({"Tagged": converted, **components}))


def test_keywords_openapi_30_lacks_are_kept_as_extensions() -> None:
    components: dict[str, Any] = {}
    converted = schema_object(TUPLE_AND_PATTERNS, "Shape", components)
    assert converted["properties"]["point"]["items"] == {"anyOf": [{"type": "number"}, {"type": "string"}]}
    assert converted["x-patternProperties"] == {"^x-": {"type": "string"}}
    assert converted["x-dependencies"] == {"a": ["b"]}
    assert converted["additionalProperties"] == {"type": "integer"}
    validate(_document({"Shape": converted}))


@pytest.mark.parametrize(
    "instance",
    [
        {},
        {"note": None},
        {"note": "abc"},
        {"note": "abcd"},
        {"note": 1},
        {"size": 3},
        {"size": "L"},
        {"size": 1.5},
        {"size": None},
        {"nothing": None},
        {"nothing": 0},
        {"price": 0},
        {"price": 0.5},
        {"price": -1},
    ],
)
def test_openapi_schema_accepts_what_the_model_accepts(instance: Any) -> None:
    converted = schema_object(NULLABLE_AND_UNION, "Item", {})
    assert OAS30Validator(converted).is_valid(instance) == Draft4Validator(NULLABLE_AND_UNION).is_valid(
        instance
    )
