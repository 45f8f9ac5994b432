"""The reference app's OpenAPI document (`make openapi`): valid OpenAPI 3.0, exactly the template's routes,
its request schemas equivalent to the deployed models, and committed up to date."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from scripts.openapi_document import DOCUMENT, api_document, document_text


@pytest.fixture(scope="module")
def api_template(dev_templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return dev_templates["ImageSharingApi-dev"]


@pytest.fixture(scope="module")
def document(dev_templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return api_document(dev_templates)


def _template_routes(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every AWS::ApiGateway::Method, paths rebuilt from the resources' parents."""
    resources = template["Resources"]

    def path(resource_id: Any) -> str:
        if not isinstance(resource_id, dict) or "Ref" not in resource_id:
            return ""  # Fn::GetAtt RootResourceId
        properties = resources[resource_id["Ref"]]["Properties"]
        return f"{path(properties['ParentId'])}/{properties['PathPart']}"

    return {
        (resource["Properties"]["HttpMethod"], path(resource["Properties"]["ResourceId"]) or "/")
        for resource in resources.values()
        if resource["Type"] == "AWS::ApiGateway::Method"
    }


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # openapi-spec-validator raises on any violation of the 3.0 schema and rules


def test_document_lists_exactly_the_templates_routes(
    document: dict[str, Any], api_template: dict[str, Any]
) -> None:
    documented = {(verb.upper(), path) for path, item in document["paths"].items() for verb in item}
    assert documented == _template_routes(api_template)
    # With CORS, every resource answers a preflight, and the document shows it.
    assert {path for verb, path in documented if verb == "OPTIONS"} == {path for _, path in documented}


def test_routes_carry_their_security_and_parameters(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert paths["/groups"]["post"]["security"] == [{"cognito": []}]
    assert paths["/groups/{groupId}/images"]["post"]["security"] == [{"cognito": []}]
    assert all(paths[path]["get"]["security"] == [] for path in paths if "get" in paths[path])
    assert paths["/images"]["get"]["parameters"] == [
        {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}
    ]
    assert paths["/images/{imageId}"]["get"]["parameters"][0]["in"] == "path"
    assert set(paths["/groups"]["post"]["responses"]) == {"2XX", "400", "401", "403", "429", "4XX", "500"}
    assert document["components"]["securitySchemes"]["cognito"]["x-amazon-apigateway-authtype"] == (
        "cognito_user_pools"
    )


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        (("/groups", "post"), {"name": "Birds", "description": "Feathers"}),
        (("/groups", "post"), {"name": "Birds"}),
        (("/groups", "post"), {"name": "", "description": "x"}),
        (("/groups", "post"), {"name": "Birds", "description": "x", "admin": True}),
        (("/groups/{groupId}/images", "post"), {"title": "A heron"}),
        (("/groups/{groupId}/images", "post"), {"title": "   "}),
        (("/groups/{groupId}/images", "post"), {"title": 7}),
    ],
)
def test_request_schemas_accept_what_the_deployed_models_accept(
    document: dict[str, Any], api_template: dict[str, Any], operation: tuple[str, str], body: Any
) -> None:
    """The OpenAPI schema and the API Gateway model (draft-04) agree on every example body."""
    path, verb = operation
    reference = document["paths"][path][verb]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
    (model,) = [
        resource["Properties"]["Schema"]
        for resource in api_template["Resources"].values()
        if resource["Type"] == "AWS::ApiGateway::Model"
        and resource["Properties"].get("Description") == f"Request body of {verb.upper()} {path}"
    ]
    assert OAS30Validator(schema).is_valid(body) == Draft4Validator(model).is_valid(body)


def test_committed_document_is_up_to_date(document: dict[str, Any]) -> None:
    assert DOCUMENT.read_text() == document_text(document), "run `make openapi` and commit openapi/"
    assert json.loads(DOCUMENT.read_text())["info"]["title"] == "Image sharing API"
