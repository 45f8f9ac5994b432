"""An OpenAPI 3.0 document of the REST API a synthesized template deploys (`ServerlessApi.openapi_document`).

Read from the template, not from the construct's bookkeeping, so the document lists exactly what
API Gateway will serve: every ``AWS::ApiGateway::Method`` (CORS preflights included) with its path
parameters, required query strings and headers, its request model as a schema component, its
security (Cognito user pools, JwtAuthorizer, other Lambda authorizers, IAM, API keys) and the
error responses API Gateway and the handlers answer with, all ``{"message": "..."}``.

API Gateway models are JSON Schema draft-04; OpenAPI 3.0 schema objects are a dialect of it.
`schema_object` converts: ``$schema``/``id`` dropped, ``type: [T, "null"]`` becomes ``nullable``,
several types become ``anyOf``, ``definitions`` become components (and their ``$ref``s follow),
tuple ``items`` become ``items.anyOf``; keywords OpenAPI 3.0 lacks (``patternProperties``,
``dependencies``, ``additionalItems``) are kept as ``x-`` extensions so nothing is silently lost.

No CDK import: it reads template JSON only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from constructs_lib._api_errors import ERROR_BODY_SCHEMA

OPENAPI_VERSION = "3.0.3"
JSON = "application/json"
_UNSUPPORTED_IN_OAS30 = ("patternProperties", "dependencies", "additionalItems")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_COMPONENT_NAME = re.compile(r"[^A-Za-z0-9._-]")
# Error responses by status: when each applies and what API Gateway (or the handler) says.
_ERRORS = {
    "400": "The request body or parameters do not match the route's model; the message says how",
    "401": "No valid token: missing, malformed, expired or not for this API",
    "403": "Authenticated but not allowed (a missing scope, an explicit deny, a missing or invalid API key, "
    "or an unsigned IAM request)",
    "429": "Throttled: too many requests for the stage or usage plan",
    "4XX": "The handler refused the request (e.g. not found, conflict, too large); the message says why",
    "500": "An unexpected error; the message never holds internals",
}


def openapi_document(
    template: Mapping[str, Any],
    *,
    api_logical_id: str | None = None,
    title: str | None = None,
    version: str = "1.0.0",
    server_url: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the REST API `api_logical_id` (or the template's only one)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    api_id = api_logical_id or _only_api(resources)
    api = resources[api_id].get("Properties", {})
    owned = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if _ref(resource.get("Properties", {}).get("RestApiId")) == api_id
    }
    paths = _resource_paths(owned)
    stage = next(
        (str(r["Properties"].get("StageName")) for r in _of_type(owned, "AWS::ApiGateway::Stage")), "dev"
    )
    cors = _gateway_cors_headers(owned)
    components: dict[str, Any] = {
        "schemas": {"Error": dict(ERROR_BODY_SCHEMA)},
        "responses": {},
        "securitySchemes": {},
    }
    for status, description in _ERRORS.items():
        components["responses"][f"Error{status}"] = _error_response(description, cors)

    document_paths: dict[str, dict[str, Any]] = {}
    for _, method in sorted(_of_type(owned, "AWS::ApiGateway::Method", with_ids=True)):
        properties = method["Properties"]
        path = paths.get(_resource_id(properties.get("ResourceId")), "/")
        verb = str(properties["HttpMethod"]).lower()
        operation = _operation(properties, path, resources, components)
        document_paths.setdefault(path, {})[verb if verb != "any" else "x-amazon-apigateway-any-method"] = (
            operation
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title or str(api.get("Name") or api_id),
            "version": version,
            **({"description": str(api["Description"])} if isinstance(api.get("Description"), str) else {}),
        },
        "servers": [
            {"url": server_url}
            if server_url
            else {
                "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
                "variables": {
                    "restApiId": {"default": "example", "description": "The API's id (stack output)"},
                    "region": {"default": "us-east-1"},
                    "stage": {"default": stage},
                },
            }
        ],
        "paths": dict(sorted(document_paths.items())),
        "components": components,
    }


def _operation(
    properties: Mapping[str, Any], path: str, resources: Mapping[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    verb = str(properties["HttpMethod"]).upper()
    integration = properties.get("Integration", {})
    parameters = _parameters(path, properties.get("RequestParameters", {}))
    operation: dict[str, Any] = {"operationId": operation_id(verb, path)}
    if parameters:
        operation["parameters"] = parameters
    if integration.get("Type") == "MOCK" and verb == "OPTIONS":
        operation["summary"] = "CORS preflight"
        operation["security"] = []
        operation["responses"] = _preflight_responses(integration)
        return operation
    for content_type, model in (properties.get("RequestModels") or {}).items():
        schema = resources.get(_ref(model) or "", {}).get("Properties", {}).get("Schema")
        if isinstance(schema, Mapping):
            name = operation["operationId"][:1].upper() + operation["operationId"][1:] + "Request"
            components["schemas"][name] = schema_object(schema, name, components["schemas"])
            operation["requestBody"] = {
                "required": True,
                "content": {str(content_type): {"schema": {"$ref": f"#/components/schemas/{name}"}}},
            }
    operation["security"] = _security(properties, resources, components["securitySchemes"])
    scopes = [str(scope) for scope in properties.get("AuthorizationScopes") or []]
    if scopes:
        # OpenAPI 3.0 lists scopes only for OAuth2/OIDC schemes; a Cognito route's are named here.
        operation["x-amazon-apigateway-authorization-scopes"] = scopes
    authorization = str(properties.get("AuthorizationType", "NONE"))
    statuses = {
        "400": bool(operation.get("requestBody")) or any(item["in"] != "path" for item in parameters),
        "401": authorization in ("COGNITO_USER_POOLS", "CUSTOM"),
        "403": bool(operation["security"]),
        "429": True,
        "4XX": True,
        "500": True,
    }
    operation["responses"] = {
        "2XX": {"description": "The route's answer (see its handler)"},
        **{
            status: {"$ref": f"#/components/responses/Error{status}"}
            for status, applies in statuses.items()
            if applies
        },
    }
    return operation


def operation_id(verb: str, path: str) -> str:
    """``get`` + the path's words: ``POST /groups/{groupId}/images`` is ``postGroupsGroupIdImages``."""
    words = re.findall(r"[A-Za-z0-9]+", path)
    return verb.lower() + ("".join(word[:1].upper() + word[1:] for word in words) or "Root")


def _parameters(path: str, request_parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{([^}]+)\}", path)
    ]
    for key, required in sorted(request_parameters.items()):
        match = re.fullmatch(r"method\.request\.(querystring|header)\.(.+)", key)
        if match:
            parameters.append(
                {
                    "name": match.group(2),
                    "in": "query" if match.group(1) == "querystring" else "header",
                    "required": bool(required),
                    "schema": {"type": "string"},
                }
            )
    return parameters


def _security(
    properties: Mapping[str, Any], resources: Mapping[str, Any], schemes: dict[str, Any]
) -> list[dict[str, list[str]]]:
    """The route's security requirement (all of one alternative must hold), registering its schemes."""
    authorization = str(properties.get("AuthorizationType", "NONE"))
    requirement: dict[str, list[str]] = {}
    if authorization == "AWS_IAM":
        schemes["sigv4"] = {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "AWS Signature Version 4 of a caller granted execute-api:Invoke on the route",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
        requirement["sigv4"] = []
    elif authorization in ("COGNITO_USER_POOLS", "CUSTOM"):
        name, scheme, scopes = _authorizer_scheme(_ref(properties.get("AuthorizerId")) or "", resources)
        schemes[name] = scheme
        requirement[name] = scopes if scheme["type"] == "openIdConnect" else []
    if properties.get("ApiKeyRequired"):
        schemes["apiKey"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
        requirement["apiKey"] = []
    return [requirement] if requirement else []


def _authorizer_scheme(
    authorizer_id: str, resources: Mapping[str, Any]
) -> tuple[str, dict[str, Any], list[str]]:
    """The security scheme of one AWS::ApiGateway::Authorizer: name, scheme object, scopes a token needs."""
    properties = resources.get(authorizer_id, {}).get("Properties", {})
    kind = str(properties.get("Type", "TOKEN"))
    header = _header_name(properties.get("IdentitySource")) or "Authorization"
    if kind == "COGNITO_USER_POOLS":
        return (
            "cognito",
            {
                "type": "apiKey",
                "name": header,
                "in": "header",
                "description": "An ID token of the API's Cognito user pool (an access token on routes with "
                "OAuth scopes)",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
            },
            [],
        )
    environment = _function_environment(properties.get("AuthorizerUri"), resources)
    issuer = environment.get("JWT_ISSUER")
    if isinstance(issuer, str) and kind == "TOKEN":
        scopes = str(environment.get("JWT_REQUIRED_SCOPES", "")).split()
        return (
            "jwt",
            {
                "type": "openIdConnect",
                "openIdConnectUrl": issuer.rstrip("/") + "/.well-known/openid-configuration",
                "description": f"A bearer token of {issuer} for audiences "
                f"{', '.join(str(environment.get('JWT_AUDIENCES', '')).split(','))} (Authorization header)",
            },
            scopes,
        )
    return (
        "lambdaAuthorizer" if kind == "TOKEN" else "lambdaRequestAuthorizer",
        {
            "type": "apiKey",
            "name": header,
            "in": "header",
            "description": f"Checked by a Lambda {kind} authorizer",
            "x-amazon-apigateway-authtype": "custom",
        },
        [],
    )


def _function_environment(uri: Any, resources: Mapping[str, Any]) -> Mapping[str, Any]:
    """The environment of the Lambda function an authorizer URI names, when it is in this template."""
    for value in _walk(uri):
        if isinstance(value, Mapping) and isinstance(value.get("Fn::GetAtt"), list):
            target = resources.get(str(value["Fn::GetAtt"][0]), {})
            if target.get("Type") == "AWS::Lambda::Function":
                variables = target.get("Properties", {}).get("Environment", {}).get("Variables", {})
                return variables if isinstance(variables, Mapping) else {}
    return {}


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _header_name(identity_source: Any) -> str | None:
    if isinstance(identity_source, str):
        match = re.match(r"method\.request\.header\.([^,\s]+)", identity_source)
        return match.group(1) if match else None
    return None


def _preflight_responses(integration: Mapping[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for response in integration.get("IntegrationResponses", []):
        headers = {
            key.removeprefix("method.response.header."): {
                "schema": {"type": "string"},
                **({"example": value[1:-1]} if _static(value) else {}),
            }
            for key, value in sorted(response.get("ResponseParameters", {}).items())
        }
        responses[str(response.get("StatusCode", "204"))] = {
            "description": "The CORS preflight answer for an allowed origin",
            **({"headers": headers} if headers else {}),
        }
    return responses or {"204": {"description": "The CORS preflight answer"}}


def _gateway_cors_headers(owned: Mapping[str, Any]) -> dict[str, Any]:
    """CORS headers of the DEFAULT_4XX gateway response: what every error carries."""
    for response in _of_type(owned, "AWS::ApiGateway::GatewayResponse"):
        properties = response["Properties"]
        if properties.get("ResponseType") == "DEFAULT_4XX":
            return {
                key.removeprefix("gatewayresponse.header."): {"schema": {"type": "string"}}
                for key in sorted(properties.get("ResponseParameters", {}))
            }
    return {}


def _error_response(description: str, cors_headers: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        **({"headers": dict(cors_headers)} if cors_headers else {}),
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def schema_object(schema: Mapping[str, Any], name: str, components: dict[str, Any]) -> dict[str, Any]:
    """A draft-04 schema as an OpenAPI 3.0 schema object; its definitions go to `components`."""
    for definition, value in (schema.get("definitions") or {}).items():
        components[_component_name(f"{name}_{definition}")] = _convert(value, name)
    return _convert(schema, name)


def _convert(schema: Mapping[str, Any], name: str) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in ("$schema", "id", "definitions"):
            continue
        if keyword == "type" and isinstance(value, list):
            converted.update(_types(value))
        elif keyword == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
            definition = value.removeprefix("#/definitions/")
            converted["$ref"] = "#/components/schemas/" + _component_name(f"{name}_{definition}")
        elif keyword == "properties":
            converted[keyword] = {key: _convert(item, name) for key, item in value.items()}
        elif keyword in _SCHEMA_LISTS:
            converted.setdefault(keyword, []).extend(_convert(item, name) for item in value)
        elif keyword == "items" and isinstance(value, list):
            converted["items"] = {"anyOf": [_convert(item, name) for item in value]}
        elif keyword in ("not", "items", "additionalProperties") and isinstance(value, Mapping):
            converted[keyword] = _convert(value, name)
        elif keyword in _UNSUPPORTED_IN_OAS30:
            converted[f"x-{keyword}"] = value
        else:
            converted[keyword] = value
    return converted


def _types(types: list[Any]) -> dict[str, Any]:
    """``type: [...]``: OpenAPI 3.0 takes one type, so null becomes `nullable` and several become anyOf."""
    others = [item for item in types if item != "null"]
    converted: dict[str, Any] = {"nullable": True} if "null" in types else {}
    if len(others) == 1:
        converted["type"] = others[0]
    elif others:
        converted["anyOf"] = [{"type": item} for item in others]
    else:
        converted["enum"] = [None]
    return converted


def _component_name(text: str) -> str:
    return _COMPONENT_NAME.sub("_", text)


def _only_api(resources: Mapping[str, Any]) -> str:
    apis = [logical_id for logical_id, r in resources.items() if r.get("Type") == "AWS::ApiGateway::RestApi"]
    if len(apis) != 1:
        raise ValueError(
            f"name the REST API (api_logical_id): the template has {len(apis)}: {', '.join(apis)}"
        )
    return apis[0]


def _of_type(resources: Mapping[str, Any], resource_type: str, *, with_ids: bool = False) -> list[Any]:
    found = [(logical_id, r) for logical_id, r in resources.items() if r.get("Type") == resource_type]
    return found if with_ids else [r for _, r in found]


def _ref(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, Mapping) and "Ref" in value else None


def _resource_id(value: Any) -> str:
    """A method's resource: its logical id, or "" for the root (GetAtt RootResourceId)."""
    return _ref(value) or ""


def _resource_paths(owned: Mapping[str, Any]) -> dict[str, str]:
    """Every AWS::ApiGateway::Resource's full path ("" is the root, "/")."""
    parts = {
        logical_id: (_ref(r["Properties"].get("ParentId")) or "", str(r["Properties"]["PathPart"]))
        for logical_id, r in owned.items()
        if r.get("Type") == "AWS::ApiGateway::Resource"
    }

    def path_of(logical_id: str) -> str:
        if not logical_id:
            return ""
        parent, part = parts[logical_id]
        return f"{path_of(parent)}/{part}"

    return {"": "/", **{logical_id: path_of(logical_id) for logical_id in parts}}


def _static(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 2 and value.startswith("'") and value.endswith("'")
