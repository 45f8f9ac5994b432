"""Plain JSON Schema (draft-04) dictionaries to `aws_apigateway.JsonSchema`, checked at synth time.

API Gateway request models accept JSON Schema draft-04 only. Users write schemas as the
dictionaries they already have (from OpenAPI files or tests); a schema API Gateway would
reject, or would silently ignore part of, must fail the synth instead of the deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import aws_apigateway as apigw

DRAFT4_URI = "http://json-schema.org/draft-04/schema#"

_Converter = Callable[[Any, str, list[str]], Any]


def to_json_schema(schema: Mapping[str, Any]) -> tuple[apigw.JsonSchema | None, list[str]]:
    """Convert a draft-04 schema dict; on failure return None and every problem found."""
    declared = schema.get("$schema", DRAFT4_URI)
    if str(declared).rstrip("#") != DRAFT4_URI.rstrip("#"):
        return None, [f"$schema is '{declared}'; API Gateway models support only {DRAFT4_URI}"]
    # Imported here, by the first route with a model: jsonschema takes ~80 ms to import, which an app
    # without request models (and every `import constructs_lib`) should not pay.
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        jsonschema.Draft4Validator.check_schema(dict(schema))
    except jsonschema.SchemaError as error:
        location = "/".join(str(part) for part in error.absolute_path) or "the root"
        return None, [f"not a valid JSON Schema draft-04 at {location}: {error.message}"]
    problems: list[str] = []
    converted = _schema(schema, "schema", problems)
    return (None, problems) if problems else (converted, [])


def _schema(value: Any, where: str, problems: list[str]) -> apigw.JsonSchema | None:
    if not isinstance(value, Mapping):
        problems.append(f"{where} must be a schema object, not {type(value).__name__}")
        return None
    kwargs: dict[str, Any] = {}
    for keyword, item in value.items():
        known = _KEYWORDS.get(keyword)
        if known is None:
            problems.append(
                f"{where} uses '{keyword}', which is not a JSON Schema draft-04 keyword (the only draft "
                "API Gateway models support); remove it or express it in draft-04"
            )
            continue
        argument, convert = known
        kwargs[argument] = convert(item, f"{where}.{keyword}", problems)
    return apigw.JsonSchema(**kwargs)


def _plain(value: Any, _where: str, _problems: list[str]) -> Any:
    return value


def _version(_value: Any, _where: str, _problems: list[str]) -> apigw.JsonSchemaVersion:
    return apigw.JsonSchemaVersion.DRAFT4


def _type(value: Any, _where: str, _problems: list[str]) -> Any:
    names = value if isinstance(value, list) else [value]
    types = [apigw.JsonSchemaType[name.upper()] for name in names]
    return types if isinstance(value, list) else types[0]


def _schema_list(value: Any, where: str, problems: list[str]) -> list[apigw.JsonSchema | None]:
    return [_schema(item, f"{where}[{index}]", problems) for index, item in enumerate(value)]


def _schema_map(value: Any, where: str, problems: list[str]) -> dict[str, apigw.JsonSchema | None]:
    return {name: _schema(item, f"{where}.{name}", problems) for name, item in value.items()}


def _schema_or_bool(value: Any, where: str, problems: list[str]) -> Any:
    return value if isinstance(value, bool) else _schema(value, where, problems)


def _schema_or_list(value: Any, where: str, problems: list[str]) -> Any:
    return (
        _schema_list(value, where, problems) if isinstance(value, list) else _schema(value, where, problems)
    )


def _dependencies(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    return {
        name: list(item) if isinstance(item, list) else _schema(item, f"{where}.{name}", problems)
        for name, item in value.items()
    }


# JSON keyword -> (JsonSchema argument, converter): every draft-04 keyword JsonSchema models.
_KEYWORDS: dict[str, tuple[str, _Converter]] = {
    "$schema": ("schema", _version),
    "$ref": ("ref", _plain),
    "id": ("id", _plain),
    "title": ("title", _plain),
    "description": ("description", _plain),
    "default": ("default", _plain),
    "format": ("format", _plain),
    "type": ("type", _type),
    "enum": ("enum", _plain),
    "multipleOf": ("multiple_of", _plain),
    "maximum": ("maximum", _plain),
    "exclusiveMaximum": ("exclusive_maximum", _plain),
    "minimum": ("minimum", _plain),
    "exclusiveMinimum": ("exclusive_minimum", _plain),
    "maxLength": ("max_length", _plain),
    "minLength": ("min_length", _plain),
    "pattern": ("pattern", _plain),
    "items": ("items", _schema_or_list),
    "additionalItems": ("additional_items", _schema_or_bool),
    "maxItems": ("max_items", _plain),
    "minItems": ("min_items", _plain),
    "uniqueItems": ("unique_items", _plain),
    "maxProperties": ("max_properties", _plain),
    "minProperties": ("min_properties", _plain),
    "required": ("required", _plain),
    "properties": ("properties", _schema_map),
    "patternProperties": ("pattern_properties", _schema_map),
    "additionalProperties": ("additional_properties", _schema_or_bool),
    "dependencies": ("dependencies", _dependencies),
    "definitions": ("definitions", _schema_map),
    "allOf": ("all_of", _schema_list),
    "anyOf": ("any_of", _schema_list),
    "oneOf": ("one_of", _schema_list),
    "not": ("not_", _schema),
}
