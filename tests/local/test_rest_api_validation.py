"""Request validation errors rendered by the local gateway with ServerlessApi's BAD_REQUEST_* responses.

The gateway responses use the templates ServerlessApi deploys (constructs_lib._api_errors), and
the explanation is worded as API Gateway's validator words it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from jsonschema import Draft4Validator  # type: ignore[import-untyped]

from constructs_lib._api_errors import VALIDATION_RESPONSE_TEMPLATES
from constructs_lib.local.rest_api._validation_messages import validation_error_string
from tests.local.rest_api_helpers import (
    FakeInvoker,
    _gateway,
    _gateway_response,
    _request,
    _resources,
    _token,
)


@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": "test-key"})


def _validated_resources() -> dict[str, dict[str, Any]]:
    resources = _resources()
    for response_type, template in VALIDATION_RESPONSE_TEMPLATES.items():
        resources[response_type.title().replace("_", "")] = _gateway_response(
            response_type, ResponseTemplates={"application/json": template}
        )
    return resources


@pytest.mark.parametrize(
    ("body", "explanation"),
    [
        (b'{"description": "no name"}', '[object has missing required properties (["name"])]'),
        (
            b'{"name": 7}',
            '[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]',
        ),
        (b'{"name": ""}', '[string "" is too short (length: 0, required minimum: 1)]'),
        (
            b'{"name": "cats", "extra": 1, "more": 2}',
            '[object instance has properties which are not allowed by the schema: ["extra","more"]]',
        ),
        (
            b'{"description": 1, "x": 1}',
            '[object has missing required properties (["name"]), '
            'instance type (integer) does not match any allowed primitive type (allowed: ["string"]), '
            'object instance has properties which are not allowed by the schema: ["x"]]',
        ),
    ],
)
def test_invalid_body_answers_the_validators_explanation_as_json(
    body: bytes, explanation: str, signing_key: RSAKey
) -> None:
    invoker = FakeInvoker()
    response = _gateway(_validated_resources(), invoker, signing_key).handle(
        _request("POST", "/dev/groups", headers=[("Authorization", _token(signing_key))], body=body)
    )
    assert response.status == 400
    parsed = json.loads(response.body)  # valid JSON although the explanation holds quotes
    assert set(parsed) == {"message"}
    assert parsed == {"message": f"Invalid request body: {explanation}"}
    assert invoker.calls == []


def test_missing_parameter_answers_the_validators_explanation() -> None:
    response = _gateway(_validated_resources(), FakeInvoker()).handle(_request("GET", "/dev/images"))
    assert response.status == 400
    assert json.loads(response.body) == {"message": "Missing required request parameters: [q]"}
    assert dict(response.headers)["Access-Control-Allow-Origin"] == "https://app.example.com"


@pytest.mark.parametrize(
    ("schema", "instance", "explanation"),
    [
        ({"enum": ["a", "b"]}, "c", '[instance value ("c") not found in enum (possible values: ["a","b"])]'),
        ({"maxLength": 3}, "abcd", '[string "abcd" is too long (length: 4, maximum allowed: 3)]'),
        ({"pattern": "^a+$"}, "b", '[ECMA 262 regex "^a+$" does not match input string "b"]'),
        ({"minimum": 1}, 0, "[numeric instance is lower than the required minimum (minimum: 1, found: 0)]"),
        ({"maximum": 1}, 2, "[numeric instance is greater than the required maximum (maximum: 1, found: 2)]"),
        (
            {"maxItems": 1},
            [1, 2],
            "[array is too long: must have at most 1 elements but instance has 2 elements]",
        ),
        (
            {"minItems": 2},
            [1],
            "[array is too short: must have at least 2 elements but instance has 1 elements]",
        ),
        ({"uniqueItems": True}, [1, 1], "[array must not contain duplicate elements]"),
        (
            {"type": ["string", "null"]},
            1.5,
            '[instance type (number) does not match any allowed primitive type (allowed: ["null","string"])]',
        ),
        (
            {"required": ["a", "b", "c"]},
            {"b": 1},
            '[object has missing required properties (["a","c"])]',
        ),
    ],
)
def test_explanations_are_worded_as_api_gateway_words_them(
    schema: dict[str, Any], instance: Any, explanation: str
) -> None:
    assert validation_error_string(Draft4Validator(schema).iter_errors(instance)) == explanation
