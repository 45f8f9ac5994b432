"""JwtAuthorizer: the function it creates, ServerlessApi's JWT mode, WebSocketApi's $connect, its errors,
and the OpenAPI document of an API that uses every kind of security."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from openapi_spec_validator import validate
from syrupy.assertion import SnapshotAssertion

from constructs_lib import (
    ApiAuthorizers,
    AuthorizationMode,
    CorsPolicy,
    JwtAuthorizer,
    ServerlessApi,
    WebSocketApi,
)
from constructs_lib._bundling import stage_python_code
from constructs_lib._openapi import openapi_document
from constructs_lib.jwt_authorizer import ENTRY
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "tests" / "fixtures" / "echo_function"
ISSUER = "https://example.eu.auth0.com/"
AUDIENCE = "https://api.example.com"
SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}, "note": {"type": ["string", "null"]}},
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jwt-assembly")


@pytest.fixture(scope="module")
def built(assembly: Path) -> tuple[ServerlessApi, dict[str, dict[str, Any]]]:
    app = new_app(assembly)
    stack = new_stack(app, "Jwt")
    tokens = JwtAuthorizer(
        stack, "Tokens", issuer=ISSUER, audiences=[AUDIENCE, "spa-client"], required_scopes=["images:read"]
    )
    handler = ServerlessFunction(stack, "Handler", entry=ECHO).function
    api = ServerlessApi(
        stack,
        "Api",
        cors=CorsPolicy(allow_origins=["https://app.example.com"]),
        default_authorization=AuthorizationMode.JWT,
        authorizers=ApiAuthorizers(jwt_authorizer=tokens, token_authorizer=handler),
    )
    api.add_route("GET", "/items/{itemId}", handler)
    api.add_route("POST", "/items", handler, request_schema=SCHEMA, required_headers=["Idempotency-Key"])
    api.add_route("GET", "/admin", handler, authorization=AuthorizationMode.IAM)
    api.add_route("GET", "/legacy", handler, authorization=AuthorizationMode.TOKEN, api_key_required=True)
    api.add_route("GET", "/health", handler, authorization=AuthorizationMode.NONE, public_reason="Health.")
    sockets = WebSocketApi(stack, "Sockets")
    sockets.add_route("$connect", handler, authorizer=tokens)
    sockets.add_route("$default", handler)
    return api, synth_templates(app)


@pytest.fixture(scope="module")
def template(built: tuple[ServerlessApi, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    return built[1]["Jwt"]


def _function_with(template: dict[str, Any], variable: str) -> dict[str, Any]:
    functions: list[dict[str, Any]] = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and variable in resource["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert len(functions) == 1
    return functions[0]


def test_function_is_configured_from_the_props(template: dict[str, Any]) -> None:
    function = _function_with(template, "JWT_ISSUER")
    variables = function["Environment"]["Variables"]
    assert {name: value for name, value in variables.items() if name.startswith("JWT_")} == {
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCES": f"{AUDIENCE},spa-client",
        "JWT_REQUIRED_SCOPES": "images:read",
        "JWT_LEEWAY_SECONDS": "60",
        "JWT_TOKEN_QUERY_PARAMETER": "token",
    }
    assert function["Handler"] == "handler.handler"
    assert function["Timeout"] == 5


def test_function_asset_bundles_joserfc() -> None:
    staged = stage_python_code(
        ENTRY, include_runtime_helpers=False, architecture="arm64", python_version="3.13"
    )
    assert (staged / "handler.py").is_file()
    assert (staged / "joserfc").is_dir()
    assert (staged / "cryptography").is_dir()


def _imported_modules(source: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module)
    return imported


def _missing_imports(asset: Path) -> list[str]:
    """Modules the handler imports (following the library's own modules in the asset) that the
    asset does not hold. Checked by reading, not importing: the asset's binaries are for arm64."""
    missing: list[str] = []
    pending = [asset / "handler.py"]
    seen: set[str] = set()
    while pending:
        source = pending.pop()
        for module in sorted(_imported_modules(source) - seen):
            seen.add(module)
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if top != "constructs_lib":
                if not ((asset / top).is_dir() or (asset / f"{top}.py").is_file()):
                    missing.append(module)
                continue
            path = asset.joinpath(*module.split("."))
            if path.with_suffix(".py").is_file():
                pending.append(path.with_suffix(".py"))
            elif not (path / "__init__.py").is_file():
                missing.append(module)
    return missing


def test_function_asset_holds_every_module_its_handler_imports(
    template: dict[str, Any], assembly: Path
) -> None:
    key = _function_with(template, "JWT_ISSUER")["Code"]["S3Key"]
    manifest = json.loads((assembly / "Jwt.assets.json").read_text())
    (asset,) = [
        assembly / file["source"]["path"]
        for file in manifest["files"].values()
        if any(destination["objectKey"] == key for destination in file["destinations"].values())
    ]
    assert (asset / "handler.py").is_file()
    assert "constructs_lib.runtime.hosts" in _imported_modules(asset / "handler.py")
    assert _missing_imports(asset) == []


def test_issuer_is_checked_without_joserfc() -> None:
    # joserfc is in the `local` extra only: a consumer's synth must not need it.
    code = (
        "import sys\n"
        "sys.modules['joserfc'] = None\n"
        "from aws_cdk import App, Stack\n"
        "from constructs_lib import JwtAuthorizer\n"
        "stack = Stack(App(), 'Consumer')\n"
        "for issuer in ('https://example.eu.auth0.com/', 'http://127.0.0.2:8080/', 'http://[::1]:8080/',\n"
        "               'http://localhost:8080/'):\n"
        "    JwtAuthorizer(stack, issuer.split('/')[2], issuer=issuer, audiences=['api'])\n"
        "try:\n"
        "    JwtAuthorizer(stack, 'Private', issuer='http://10.0.0.1/', audiences=['api'])\n"
        "except ValueError as error:\n"
        "    print(error)\n"
        "print(sorted(name for name in sys.modules if name.startswith('joserfc') and sys.modules[name]))\n"
    )
    probe = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.splitlines() == [
        "Consumer/Private: issuer: 'http://10.0.0.1/' must be an https:// URL: the keys that verify every "
        "token are fetched from it (http:// is accepted only on a loopback host: localhost, 127.0.0.0/8 "
        "or ::1, for local runs and tests)",
        "[]",
    ]


def test_jwt_routes_use_a_cached_token_authorizer(template: dict[str, Any]) -> None:
    authorizers = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ApiGateway::Authorizer" and logical_id.startswith("ApiJwtAuthorizer")
    }
    ((logical_id, authorizer),) = authorizers.items()
    properties = authorizer["Properties"]
    assert properties["Type"] == "TOKEN"
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    assert properties["AuthorizerResultTtlInSeconds"] == 300
    assert re.fullmatch(properties["IdentityValidationExpression"], "Bearer aaa.bbb.ccc")
    assert not re.fullmatch(properties["IdentityValidationExpression"], "Basic dXNlcjpwYXNz")
    methods = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ApiGateway::Method"
        and resource["Properties"].get("AuthorizerId") == {"Ref": logical_id}
    ]
    assert {method["HttpMethod"] for method in methods} == {"GET", "POST"}
    assert all(method["AuthorizationType"] == "CUSTOM" for method in methods)


def test_websocket_connect_reads_the_token_query_parameter(template: dict[str, Any]) -> None:
    (authorizer,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ApiGatewayV2::Authorizer"
    ]
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    assert authorizer["AuthorizerType"] == "REQUEST"


def test_validation_errors_explain_themselves_with_cors(template: dict[str, Any]) -> None:
    responses = {
        resource["Properties"]["ResponseType"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ApiGateway::GatewayResponse"
    }
    assert responses["BAD_REQUEST_BODY"]["ResponseTemplates"] == {
        "application/json": '{"message": "Invalid request body: $context.error.validationErrorString"}'
    }
    assert responses["BAD_REQUEST_PARAMETERS"]["ResponseTemplates"] == {
        "application/json": '{"message": "$context.error.validationErrorString"}'
    }
    for response in responses.values():
        assert response["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "'https://app.example.com'"
        )


def test_openapi_document_describes_every_route_and_scheme(template: dict[str, Any]) -> None:
    document = openapi_document(template, title="Items")
    validate(document)  # raises on an invalid OpenAPI 3.0 document
    operations = {
        (verb.upper(), path): operation
        for path, item in document["paths"].items()
        for verb, operation in item.items()
    }
    assert {key for key in operations if key[0] != "OPTIONS"} == {
        ("GET", "/items/{itemId}"),
        ("POST", "/items"),
        ("GET", "/admin"),
        ("GET", "/legacy"),
        ("GET", "/health"),
    }
    schemes = document["components"]["securitySchemes"]
    assert schemes["jwt"] == {
        "type": "openIdConnect",
        "openIdConnectUrl": "https://example.eu.auth0.com/.well-known/openid-configuration",
        "description": f"A bearer token of {ISSUER} for audiences {AUDIENCE}, spa-client "
        "(Authorization header)",
    }
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert schemes["apiKey"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    assert operations[("GET", "/items/{itemId}")]["security"] == [{"jwt": ["images:read"]}]
    assert operations[("GET", "/admin")]["security"] == [{"sigv4": []}]
    assert operations[("GET", "/legacy")]["security"] == [{"lambdaAuthorizer": [], "apiKey": []}]
    assert operations[("GET", "/health")]["security"] == []
    post = operations[("POST", "/items")]
    assert post["parameters"] == [
        {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}}
    ]
    assert document["components"]["schemas"]["PostItemsRequest"] == {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "note": {"type": "string", "nullable": True},
        },
        "additionalProperties": False,
    }
    assert set(post["responses"]) == {"2XX", "400", "401", "403", "429", "4XX", "500"}
    assert set(operations[("GET", "/health")]["responses"]) == {"2XX", "429", "4XX", "500"}
    error = document["components"]["responses"]["Error401"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Access-Control-Allow-Origin" in error["headers"]
    assert document["components"]["schemas"]["Error"]["required"] == ["message"]
    preflight = operations[("OPTIONS", "/items")]
    assert preflight["security"] == []
    assert preflight["responses"]["204"]["headers"]["Access-Control-Allow-Origin"]["example"] == (
        "https://app.example.com"
    )


def test_openapi_document_method_reads_the_stack(
    built: tuple[ServerlessApi, dict[str, dict[str, Any]]],
) -> None:
    api, templates = built
    assert api.openapi_document(title="Items") == openapi_document(templates["Jwt"], title="Items")


def test_template_is_cfn_lint_clean(template: dict[str, Any]) -> None:
    assert cfn_lint_findings(template) == []


def test_snapshot(template: dict[str, Any], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(template) == snapshot_json


def _errors(**props: Any) -> str:
    stack = Stack()
    with pytest.raises(ValueError) as raised:
        JwtAuthorizer(stack, "Tokens", **{"issuer": ISSUER, "audiences": [AUDIENCE], **props})
    return str(raised.value)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"issuer": "http://idp.example.com/"},
            "issuer: 'http://idp.example.com/' must be an https:// URL: the keys that verify every "
            "token are fetched from it (http:// is accepted only on a loopback host: localhost, "
            "127.0.0.0/8 or ::1, for local runs and tests)",
        ),
        (
            {"issuer": "https://idp.example.com/?tenant=1"},
            "issuer: 'https://idp.example.com/?tenant=1' has a query or fragment; an OIDC issuer "
            "identifier has neither",
        ),
        (
            {"audiences": []},
            "audiences: name at least one audience (the API identifier or client id your tokens carry "
            "in 'aud'); without one, tokens minted for any other application of the issuer would be accepted",
        ),
        (
            {"audiences": ["a,b"]},
            "audiences: 'a,b' is not an audience; give non-empty values without commas",
        ),
        (
            {"required_scopes": ["images read"]},
            "required_scopes: 'images read' is not a scope; scopes are single words such as 'images:read'",
        ),
        (
            {"leeway": Duration.minutes(10)},
            "leeway: must be between 0 and 5 minutes; a larger skew would keep expired tokens working",
        ),
        (
            {"token_query_parameter": "access token"},
            "token_query_parameter: 'access token' is not a query parameter name (letters, digits, "
            "'.', '_', '~', '-')",
        ),
        (
            {"audiences": "images-api"},
            "audiences: 'images-api' is a string; pass a list: ['images-api']",
        ),
        (
            {"required_scopes": "images:read"},
            "required_scopes: 'images:read' is a string; pass a list: ['images:read']",
        ),
        ({"leeway": Duration.millis(500)}, "leeway: 500 ms is not a whole number of seconds"),
        ({"timeout": Duration.millis(1500)}, "timeout: 1500 ms is not a whole number of seconds"),
        (
            {"timeout": Duration.seconds(29)},
            "timeout: must be between 1 and 10 seconds; API Gateway waits at most 10 s for an authorizer",
        ),
    ],
)
def test_invalid_props_raise_one_error(props: dict[str, Any], message: str) -> None:
    assert _errors(**props) == f"Default/Tokens: {message}"


def test_every_problem_in_one_error() -> None:
    message = _errors(issuer="ftp://idp", audiences=[], leeway=Duration.minutes(6))
    assert message.startswith("Default/Tokens: 3 invalid props:\n  - issuer: ")


def test_jwt_mode_needs_a_jwt_authorizer() -> None:
    stack = Stack()
    with pytest.raises(ValueError) as raised:
        ServerlessApi(stack, "Api", default_authorization=AuthorizationMode.JWT)
    assert str(raised.value) == (
        "Default/Api: default_authorization: JWT authorization needs an authorizer; "
        "pass authorizers.jwt_authorizer to ServerlessApi"
    )


def test_loopback_issuer_is_allowed_with_a_warning() -> None:
    app = new_app()
    stack = new_stack(app, "Local")
    JwtAuthorizer(stack, "Tokens", issuer="http://127.0.0.1:8080/", audiences=[AUDIENCE])
    messages = [
        str(entry.entry.data)
        for entry in app.synth().get_stack_by_name("Local").messages
        if "jwt-loopback-issuer" in str(entry.entry.data)
    ]
    assert len(messages) == 1
    assert "refuses every token" in messages[0]
