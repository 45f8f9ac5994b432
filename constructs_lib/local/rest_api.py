"""API Gateway REST APIs (v1) served locally, as the synthesized template configures them.

`RestApiGateway` answers requests the way execute-api answers them for one ``AWS::ApiGateway::RestApi``:
``/<stage>/<resource path>`` routed through the resource tree (literal parts before ``{param}``
before ``{proxy+}``, ``ANY`` methods), Cognito user pool and Lambda (TOKEN, REQUEST) authorizers,
API keys (presence only), request validators with their models, Lambda proxy integrations (event
and response format 1.0), MOCK integrations (CDK's CORS preflights, including the VTL that echoes
one of several allowed origins), and gateway responses (DEFAULT_4XX/5XX and per type, with their
headers and templates) on every error the gateway itself answers.

Not emulated, each with a warning at start-up: IAM authorization (requests pass), API key values
and usage plans, integrations other than Lambda proxy and MOCK, and mapping template constructs
beyond the ones CDK emits. Authorizer results are not cached (every request is authorized).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from constructs_lib.local._types import Invocation, Invoker, TemplateView

LOG = logging.getLogger("constructs_lib.local")
_SIGV4_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")

PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway refuses larger request bodies with 413
JSON = "application/json"
# Every API's gateway responses default to this body (the message as a JSON string).
DEFAULT_RESPONSE_TEMPLATE = '{"message":$context.error.messageString}'
# API Gateway's own status code for each gateway response type this emulator answers with.
_DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "INVALID_API_KEY": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "UNAUTHORIZED": 401,
}
# The x-amzn-ErrorType header API Gateway sends with each gateway response type.
_ERROR_TYPES = {
    "ACCESS_DENIED": "AccessDeniedException",
    "API_CONFIGURATION_ERROR": "InternalServerErrorException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "BAD_REQUEST_BODY": "BadRequestException",
    "BAD_REQUEST_PARAMETERS": "BadRequestException",
    "DEFAULT_5XX": "InternalServerErrorException",
    "INVALID_API_KEY": "ForbiddenException",
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNAUTHORIZED": "UnauthorizedException",
}
# An API that customizes no gateway response answers an explicit deny with a capitalized key.
_BUILTIN_TEMPLATES = {"ACCESS_DENIED": '{"Message":$context.error.messageString}'}
_LAMBDA_URI = re.compile(r"arn:aws[\w-]*:apigateway:[^:]+:lambda:path/2015-03-31/functions/(.+)/invocations")
_USER_POOL_ARN = re.compile(r"arn:aws[\w-]*:cognito-idp:([^:]+):[^:]*:userpool/(.+)")
_REQUEST_PARAMETER = re.compile(
    r"method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.(.+)"
)
_CONTEXT_REFERENCE = re.compile(r"\$!?(?:\{(context\.[\w.]+)\}|(context\.[A-Za-z][\w]*(?:\.[A-Za-z]\w*)*))")
# The VTL CDK writes for CORS: read the Origin header, compare it, override response headers.
_VTL_HEADER_PARAM = re.compile(r'#set\(\s*\$(\w+)\s*=\s*\$input\.params\(\)\.header\.get\("([^"]+)"\)\s*\)')
_VTL_IF = re.compile(r"#if\(\s*(.+?)\s*\)")
_VTL_EQUALS = re.compile(r'\$(\w+)\s*==\s*"([^"]*)"')
_VTL_OVERRIDE = re.compile(
    r"#set\(\s*\$context\.responseOverride\.header\.([\w-]+)\s*=\s*(?:\$(\w+)|'([^']*)')\s*\)"
)
_BUILTIN_MODELS: dict[str, Mapping[str, Any]] = {
    "Empty": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"},
    "Error": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"message": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as received: raw path (no query), decoded query pairs, headers in order."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP response; the server adds Content-Length."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _GatewayError(Exception):
    """A request API Gateway answers itself, with the gateway response of `response_type`."""

    def __init__(
        self, response_type: str, message: str | None, status: int | None = None, validation_error: str = ""
    ) -> None:
        super().__init__(message)
        self.response_type = response_type
        self.message = message
        self.status = status if status is not None else _DEFAULT_STATUS[response_type]
        self.validation_error = validation_error


@dataclass(frozen=True)
class _Authorizer:
    name: str
    type: str  # COGNITO_USER_POOLS, TOKEN or REQUEST
    identity_sources: tuple[str, ...]
    validation_expression: str | None
    user_pools: tuple[tuple[str, str], ...]  # (region, pool id) of each provider
    function_arn: str | None
    ttl: int


@dataclass(frozen=True)
class _Method:
    http_method: str
    authorization_type: str
    authorizer: _Authorizer | None
    scopes: tuple[str, ...]
    api_key_required: bool
    required_parameters: tuple[tuple[str, str], ...]  # (location, name)
    validate_parameters: bool
    validate_body: bool
    models: Mapping[str, jsonschema.Draft4Validator]  # by lower-case content type
    integration_type: str
    integration: Mapping[str, Any]
    function_arn: str | None


@dataclass
class _Resource:
    resource_id: str
    path: str
    part: str
    children: list[_Resource] = field(default_factory=list)
    methods: dict[str, _Method] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        """Matching order among siblings: literal parts, then ``{param}``, then ``{proxy+}``."""
        if self.part.startswith("{") and self.part.endswith("+}"):
            return 2
        return 1 if self.part.startswith("{") else 0

    @property
    def parameter(self) -> str:
        return self.part.strip("{}").rstrip("+")


@dataclass(frozen=True)
class _GatewayResponse:
    status: int | None
    parameters: Mapping[str, str]
    templates: Mapping[str, str]


@dataclass
class _Call:
    """What the gateway knows about one request as it goes through routing and authorization."""

    request: HttpRequest
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extended_request_id: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(10)).decode()
    )
    trace_id: str = field(default_factory=lambda: f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
    started: float = field(default_factory=time.time)
    stage: str | None = None
    path: str = "/"
    resource: _Resource | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None
    api_key: str | None = None
    access_key: str | None = None


class RestApiGateway:
    """One AWS::ApiGateway::RestApi of a stack, as API Gateway would serve it."""

    def __init__(
        self,
        template: TemplateView,
        rest_api_id: str,
        *,
        invoker: Invoker,
        jwks: Callable[[str], Mapping[str, Any]],
        region: str,
        account: str,
    ) -> None:
        """Read the API `rest_api_id` (a logical id) of `template`; `jwks` gives a user pool's JWKS."""
        apis = template.resources_of_type("AWS::ApiGateway::RestApi")
        if rest_api_id not in apis:
            raise ValueError(f"{template.stack_name}: no AWS::ApiGateway::RestApi '{rest_api_id}'")
        self._template = template
        self._invoker = invoker
        self._jwks = jwks
        self._region = region
        self._account = account
        properties = apis[rest_api_id].get("Properties", {})
        self.api_id = template.ref(rest_api_id)
        self.name = str(template.resolve(properties.get("Name", rest_api_id)))
        self._binary_media_types = tuple(
            str(media_type).replace("~1", "/").lower()
            for media_type in template.resolve(properties.get("BinaryMediaTypes", []))
        )
        self._api_key_source = str(template.resolve(properties.get("ApiKeySourceType", "HEADER")))
        if "Body" in properties or "BodyS3Location" in properties:
            LOG.warning(
                "REST API %s: its OpenAPI definition (Body) is not read locally; only the template's "
                "AWS::ApiGateway::Resource and Method resources are served",
                self.name,
            )
        self._stages = self._load_stages()
        self.stage_names = list(self._stages)
        self._responses = self._load_gateway_responses()
        self._root, self._by_id = self._load_resources(rest_api_id)
        self._load_methods()

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, resource path, authorization type) of every method with an integration other than MOCK."""
        return [
            (method.http_method, resource.path, method.authorization_type)
            for resource in _walk(self._root)
            for method in resource.methods.values()
            if method.integration_type != "MOCK"
        ]

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer `request` as API Gateway would, invoking the integration's function if it gets that far."""
        call = _Call(request)
        try:
            response = self._serve(call)
        except _GatewayError as error:
            response = self._gateway_response(call, error)
        except Exception:
            LOG.exception(
                "REST API %s: %s %s failed in the local gateway", self.name, request.method, request.path
            )
            response = self._gateway_response(
                call, _GatewayError("DEFAULT_5XX", "Internal server error", 500)
            )
        LOG.info(
            "%s %s %s -> %d (%.0f ms)",
            self.name,
            request.method,
            request.path,
            response.status,
            (time.time() - call.started) * 1000,
        )
        return response

    # Loading the template

    def _owned(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """Properties of this API's resources of `resource_type`, by logical id."""
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self._template.resources_of_type(resource_type).items()
            if self._template.resolve(resource.get("Properties", {}).get("RestApiId")) == self.api_id
        }

    def _resolved(self, properties: Mapping[str, Any], *names: str) -> dict[str, Any]:
        """These properties, resolved; others may reference what is not emulated (roles, certificates)."""
        return {name: self._template.resolve(properties[name]) for name in names if name in properties}

    def _load_stages(self) -> dict[str, dict[str, str]]:
        stages: dict[str, dict[str, str]] = {}
        for properties in self._owned("AWS::ApiGateway::Stage").values():
            variables = self._template.resolve(properties.get("Variables", {}))
            stages[str(self._template.resolve(properties["StageName"]))] = dict(variables)
        for properties in self._owned("AWS::ApiGateway::Deployment").values():
            if "StageName" in properties:
                variables = self._template.resolve(
                    properties.get("StageDescription", {}).get("Variables", {})
                )
                stages[str(self._template.resolve(properties["StageName"]))] = dict(variables)
        if not stages:
            LOG.warning("REST API %s has no stage: every request is answered 403", self.name)
        return stages

    def _load_gateway_responses(self) -> dict[str, _GatewayResponse]:
        responses: dict[str, _GatewayResponse] = {}
        for properties in self._owned("AWS::ApiGateway::GatewayResponse").values():
            resolved = self._resolved(
                properties, "ResponseType", "StatusCode", "ResponseParameters", "ResponseTemplates"
            )
            status = resolved.get("StatusCode")
            response = _GatewayResponse(
                status=int(status) if status else None,
                parameters=resolved.get("ResponseParameters", {}),
                templates=resolved.get("ResponseTemplates", {}),
            )
            for name, expression in response.parameters.items():
                self._check_parameter(f"gateway response {resolved['ResponseType']} {name}", expression)
            for text in response.templates.values():
                for match in _CONTEXT_REFERENCE.finditer(text):
                    if (match.group(1) or match.group(2)) not in _TEMPLATE_CONTEXT:
                        LOG.warning(
                            "REST API %s: gateway response %s uses %s, which is not emulated and stays as is",
                            self.name,
                            resolved["ResponseType"],
                            match.group(0),
                        )
            responses[resolved["ResponseType"]] = response
        return responses

    def _load_resources(self, rest_api_id: str) -> tuple[_Resource, dict[str, _Resource]]:
        """The root resource with its tree, and every resource by id."""
        root_id = str(self._template.resolve({"Fn::GetAtt": [rest_api_id, "RootResourceId"]}))
        by_id = {root_id: _Resource(root_id, "/", "")}
        pending = {
            self._template.ref(logical_id): (
                str(self._template.resolve(properties["ParentId"])),
                str(self._template.resolve(properties["PathPart"])),
            )
            for logical_id, properties in self._owned("AWS::ApiGateway::Resource").items()
        }
        # Parents come before children only by chance in a template: attach what can be attached until done.
        while pending:
            ready = {rid: link for rid, link in pending.items() if link[0] in by_id}
            if not ready:
                LOG.warning(
                    "REST API %s: resources %s have no parent in this API", self.name, sorted(pending)
                )
                break
            for resource_id, (parent_id, part) in ready.items():
                parent = by_id[parent_id]
                child = _Resource(resource_id, f"{parent.path.rstrip('/')}/{part}", part)
                parent.children.append(child)
                by_id[resource_id] = child
                del pending[resource_id]
        for resource in by_id.values():
            resource.children.sort(key=lambda child: child.rank)
        return by_id[root_id], by_id

    def _load_methods(self) -> None:
        authorizers = {
            self._template.ref(logical_id): self._authorizer(properties)
            for logical_id, properties in self._owned("AWS::ApiGateway::Authorizer").items()
        }
        validators = {
            self._template.ref(logical_id): (
                bool(self._template.resolve(properties.get("ValidateRequestBody", False))),
                bool(self._template.resolve(properties.get("ValidateRequestParameters", False))),
            )
            for logical_id, properties in self._owned("AWS::ApiGateway::RequestValidator").items()
        }
        models = {
            **_BUILTIN_MODELS,
            **{
                self._template.ref(logical_id): _schema(self._template.resolve(properties["Schema"]))
                for logical_id, properties in self._owned("AWS::ApiGateway::Model").items()
            },
        }
        api_keys = False
        for logical_id, raw in self._owned("AWS::ApiGateway::Method").items():
            properties = self._resolved(
                raw,
                "ResourceId",
                "HttpMethod",
                "AuthorizationType",
                "AuthorizerId",
                "AuthorizationScopes",
                "ApiKeyRequired",
                "RequestParameters",
                "RequestValidatorId",
                "RequestModels",
            )
            resource = self._by_id.get(str(properties["ResourceId"]))
            if resource is None:
                LOG.warning("REST API %s: method %s is on a resource outside this API", self.name, logical_id)
                continue
            verb = str(properties["HttpMethod"]).upper()
            route = f"{verb} {resource.path}"
            authorizer = authorizers.get(str(properties.get("AuthorizerId")))
            validate_body, validate_parameters = validators.get(
                str(properties.get("RequestValidatorId")), (False, False)
            )
            integration = self._resolved(
                raw.get("Integration", {}), "Type", "Uri", "RequestTemplates", "IntegrationResponses"
            )
            method = _Method(
                http_method=verb,
                authorization_type=str(properties.get("AuthorizationType", "NONE")),
                authorizer=authorizer,
                scopes=tuple(properties.get("AuthorizationScopes", ())),
                api_key_required=bool(properties.get("ApiKeyRequired", False)),
                required_parameters=tuple(
                    (match.group(1).removeprefix("multivalue"), match.group(2))
                    for name, required in properties.get("RequestParameters", {}).items()
                    if required and (match := _REQUEST_PARAMETER.fullmatch(name))
                ),
                validate_parameters=validate_parameters,
                validate_body=validate_body,
                models=self._method_models(route, properties.get("RequestModels", {}), models),
                integration_type=str(integration.get("Type", "")),
                integration=integration,
                function_arn=_function_arn(integration) if integration.get("Type") == "AWS_PROXY" else None,
            )
            self._check_method(route, method)
            api_keys = api_keys or method.api_key_required
            resource.methods[verb] = method
        if api_keys:
            LOG.warning(
                "REST API %s: methods that require an API key accept any key locally (usage plans, "
                "quotas and key values are not checked)",
                self.name,
            )

    def _authorizer(self, raw: Mapping[str, Any]) -> _Authorizer:
        properties = self._resolved(
            raw,
            "Name",
            "Type",
            "IdentitySource",
            "IdentityValidationExpression",
            "ProviderARNs",
            "AuthorizerUri",
            "AuthorizerResultTtlInSeconds",
        )
        pools = []
        for arn in properties.get("ProviderARNs", []):
            match = _USER_POOL_ARN.fullmatch(str(arn))
            if match is None:
                LOG.warning("REST API %s: authorizer provider %s is not a user pool ARN", self.name, arn)
                continue
            pools.append((match.group(1), match.group(2)))
        uri = properties.get("AuthorizerUri")
        return _Authorizer(
            name=str(properties.get("Name", "")),
            type=str(properties["Type"]),
            identity_sources=tuple(
                source.strip()
                for source in str(properties.get("IdentitySource", "")).split(",")
                if source.strip()
            ),
            validation_expression=properties.get("IdentityValidationExpression"),
            user_pools=tuple(pools),
            function_arn=_lambda_arn(str(uri)) if uri else None,
            ttl=int(properties.get("AuthorizerResultTtlInSeconds", 300)),
        )

    def _method_models(
        self, route: str, request_models: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, jsonschema.Draft4Validator]:
        validators: dict[str, jsonschema.Draft4Validator] = {}
        for content_type, model_name in request_models.items():
            schema = models.get(str(model_name))
            if schema is None:
                LOG.warning(
                    "REST API %s: %s names model %s, which is not in this API", self.name, route, model_name
                )
                continue
            try:
                jsonschema.Draft4Validator.check_schema(schema)
            except jsonschema.SchemaError as error:
                LOG.warning(
                    "REST API %s: %s's model is not valid draft-04: %s", self.name, route, error.message
                )
                continue
            validators[str(content_type).lower()] = jsonschema.Draft4Validator(schema)
        return validators

    def _check_method(self, route: str, method: _Method) -> None:
        """Warn once, at start-up, about what this method configures that is not emulated."""
        if method.authorization_type == "AWS_IAM":
            LOG.warning(
                "REST API %s: %s uses IAM authorization: requests must be SigV4-signed, but signatures "
                "and policies are not checked locally",
                self.name,
                route,
            )
        if method.authorization_type in ("COGNITO_USER_POOLS", "CUSTOM") and method.authorizer is None:
            LOG.warning("REST API %s: %s names an authorizer that is not in this API", self.name, route)
        if method.integration_type == "MOCK":
            for response in method.integration.get("IntegrationResponses", []):
                for name, expression in response.get("ResponseParameters", {}).items():
                    self._check_parameter(f"{route} {name}", expression)
                for text in response.get("ResponseTemplates", {}).values():
                    if _render_template(text, []) is None:
                        LOG.warning(
                            "REST API %s: %s has a response template beyond CDK's CORS shape; it is not "
                            "evaluated locally",
                            self.name,
                            route,
                        )
        elif method.function_arn is None:
            LOG.warning(
                "REST API %s: %s has a %s integration, which is not emulated locally: it answers 500",
                self.name,
                route,
                method.integration_type or "missing",
            )

    def _check_parameter(self, where: str, expression: str) -> None:
        if not (_is_static(expression) or _REQUEST_PARAMETER.fullmatch(expression)):
            LOG.warning(
                "REST API %s: %s maps %s, which is not emulated locally", self.name, where, expression
            )

    # Serving a request

    def _serve(self, call: _Call) -> HttpResponse:
        if len(call.request.body) > PAYLOAD_LIMIT:
            raise _GatewayError("REQUEST_TOO_LARGE", "Request Too Long")
        method = self._route(call)
        self._authorize(call, method)
        if method.api_key_required:
            self._check_api_key(call)
        self._validate(call, method)
        return self._integrate(call, method)

    def _route(self, call: _Call) -> _Method:
        stage, _, rest = call.request.path.lstrip("/").partition("/")
        if stage not in self._stages:
            raise _GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        found = _match(self._root, [part for part in rest.split("/") if part], {})
        if found is None:
            raise _GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        resource, parameters = found
        method = resource.methods.get(call.request.method) or resource.methods.get("ANY")
        if method is None:
            raise _GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        call.stage, call.path, call.resource, call.path_parameters = stage, f"/{rest}", resource, parameters
        return method

    def _authorize(self, call: _Call, method: _Method) -> None:
        if method.authorization_type == "AWS_IAM":
            call.access_key = _signing_access_key(call.request)
            if call.access_key is None:
                # What API Gateway answers an IAM-authorized route for an unsigned request.
                raise _GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            return
        authorizer = method.authorizer
        if method.authorization_type not in ("COGNITO_USER_POOLS", "CUSTOM") or authorizer is None:
            return
        if authorizer.type == "COGNITO_USER_POOLS":
            call.authorizer = {"claims": self._cognito_claims(call, method, authorizer)}
        else:
            call.authorizer = self._lambda_authorizer(call, authorizer)

    def _cognito_claims(self, call: _Call, method: _Method, authorizer: _Authorizer) -> dict[str, str]:
        """The token's claims as the event carries them, or the error API Gateway answers."""
        unauthorized = _GatewayError("UNAUTHORIZED", "Unauthorized")
        token = self._identity(call, authorizer.identity_sources[0]) if authorizer.identity_sources else None
        if not token:
            raise unauthorized
        # API Gateway takes the token with or without a "Bearer " scheme.
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        issuers = {
            f"https://cognito-idp.{region}.amazonaws.com/{pool_id}": pool_id
            for region, pool_id in authorizer.user_pools
        }
        pool_id = issuers.get(str(_unverified_claims(token).get("iss")))
        if pool_id is None:
            raise unauthorized
        try:
            keys = KeySet.import_key_set({"keys": self._jwks(pool_id)["keys"]})
        except Exception as error:
            LOG.error("REST API %s: cannot read the keys of user pool %s: %s", self.name, pool_id, error)
            raise _GatewayError("AUTHORIZER_CONFIGURATION_ERROR", None) from error
        try:
            claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            raise unauthorized from None
        expires = claims.get("exp")
        if not isinstance(expires, int | float):
            raise unauthorized
        if time.time() >= expires:
            raise _GatewayError("UNAUTHORIZED", "The incoming token has expired")
        if method.scopes:
            # Methods with scopes take access tokens only, carrying at least one of the scopes.
            granted = str(claims.get("scope", "")).split()
            if claims.get("token_use") != "access" or not set(granted) & set(method.scopes):
                raise unauthorized
        elif claims.get("token_use") != "id":
            raise unauthorized
        expression = authorizer.validation_expression
        if expression and not re.fullmatch(expression, str(claims.get("aud", ""))):
            raise unauthorized
        return {name: _claim_text(name, value) for name, value in claims.items()}

    def _lambda_authorizer(self, call: _Call, authorizer: _Authorizer) -> dict[str, Any]:
        """Invoke a TOKEN or REQUEST authorizer and apply its policy to this method's ARN."""
        method_arn = (
            f"arn:aws:execute-api:{self._region}:{self._account}:{self.api_id}/{call.stage}/"
            f"{call.request.method}{call.path}"
        )
        unauthorized = _GatewayError("UNAUTHORIZED", "Unauthorized")
        event: dict[str, Any]
        if authorizer.type == "TOKEN":
            token = (
                self._identity(call, authorizer.identity_sources[0]) if authorizer.identity_sources else None
            )
            expression = authorizer.validation_expression
            if not token or (expression and not re.fullmatch(expression, token)):
                raise unauthorized
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        else:
            # With caching on, the identity sources are the cache key and must all be present.
            if authorizer.ttl > 0 and not all(
                self._identity(call, source) for source in authorizer.identity_sources
            ):
                raise unauthorized
            proxy_event = self._event(call)
            del proxy_event["body"], proxy_event["isBase64Encoded"]
            event = {"type": "REQUEST", "methodArn": method_arn, **proxy_event}
        configuration_error = _GatewayError("AUTHORIZER_CONFIGURATION_ERROR", None)
        if authorizer.function_arn is None:
            raise configuration_error
        started = time.monotonic()
        invocation = self._invoke(authorizer.function_arn, event, configuration_error)
        latency = round((time.monotonic() - started) * 1000)
        if invocation.error is not None:
            if invocation.error.message == "Unauthorized":
                raise unauthorized
            LOG.error(
                "REST API %s: authorizer %s failed: %s: %s",
                self.name,
                authorizer.name,
                invocation.error.error_type,
                invocation.error.message,
            )
            raise configuration_error
        try:
            principal_id, statements, context = _authorizer_result(invocation.payload)
        except ValueError as error:
            LOG.error("REST API %s: authorizer %s returned %s", self.name, authorizer.name, error)
            raise configuration_error from None
        decision = _policy_decision(statements, method_arn)
        if decision == "Deny":
            raise _GatewayError(
                "ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny"
            )
        if decision is None:
            raise _GatewayError("ACCESS_DENIED", "User is not authorized to access this resource")
        if isinstance(invocation.payload.get("usageIdentifierKey"), str):
            call.api_key = invocation.payload["usageIdentifierKey"]
        return {"principalId": principal_id, "integrationLatency": latency, **context}

    def _check_api_key(self, call: _Call) -> None:
        if self._api_key_source == "HEADER":
            call.api_key = _last(call.request.headers, "x-api-key", ignore_case=True)
        if not call.api_key:
            raise _GatewayError("INVALID_API_KEY", "Forbidden")

    def _validate(self, call: _Call, method: _Method) -> None:
        """Apply the method's request validator: required parameters first, then the body's model."""
        if method.validate_parameters:
            missing = [
                name
                for location, name in method.required_parameters
                if not self._parameter(call, location, name)
            ]
            if missing:
                message = f"Missing required request parameters: [{', '.join(missing)}]"
                raise _GatewayError("BAD_REQUEST_PARAMETERS", message, validation_error=message)
        if not method.validate_body:
            return
        content_type = _media_type(call.request) or JSON
        validator = method.models.get(content_type) or method.models.get("$default")
        if validator is None:
            return  # API Gateway validates only bodies whose content type has a model
        try:
            document = json.loads(call.request.body)
        except ValueError as error:
            raise _GatewayError(
                "BAD_REQUEST_BODY", "Invalid request body", validation_error=f"[{error}]"
            ) from None
        problems = [error.message for error in validator.iter_errors(document)]
        if problems:
            raise _GatewayError(
                "BAD_REQUEST_BODY", "Invalid request body", validation_error=f"[{', '.join(problems)}]"
            )

    def _integrate(self, call: _Call, method: _Method) -> HttpResponse:
        if method.integration_type == "MOCK":
            return self._mock(call, method)
        if method.function_arn is None:
            raise _GatewayError(
                "API_CONFIGURATION_ERROR",
                f"{method.integration_type or 'This'} integration is not emulated locally",
            )
        internal_error = _GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        invocation = self._invoke(method.function_arn, self._event(call), internal_error)
        bad_gateway = _GatewayError("DEFAULT_5XX", "Internal server error", 502)
        if invocation.error is not None:
            LOG.error(
                "REST API %s: %s %s: function %s failed: %s: %s",
                self.name,
                call.request.method,
                call.request.path,
                method.function_arn,
                invocation.error.error_type,
                invocation.error.message,
            )
            raise bad_gateway
        try:
            status, headers, body, encoded = _proxy_result(invocation.payload)
        except ValueError as error:
            LOG.error(
                "REST API %s: %s %s: malformed Lambda proxy response from %s: %s",
                self.name,
                call.request.method,
                call.request.path,
                method.function_arn,
                error,
            )
            raise bad_gateway from None
        content = body.encode()
        if encoded and self._is_binary(_first_accept(call.request)):
            try:
                content = base64.b64decode(body, validate=True)
            except binascii.Error:
                raise internal_error from None
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", JSON))
        return HttpResponse(status, headers + self._service_headers(call), content)

    def _mock(self, call: _Call, method: _Method) -> HttpResponse:
        """A MOCK integration: the status its request template names picks the integration response."""
        templates = method.integration.get("RequestTemplates", {})
        template = str(templates.get(_media_type(call.request) or JSON) or templates.get(JSON) or "")
        match = re.search(r"statusCode\"?\s*:\s*(\d{3})", template)
        status = match.group(1) if match else "200"
        responses = method.integration.get("IntegrationResponses", [])
        chosen = next(
            (
                response
                for response in responses
                if response.get("SelectionPattern") and re.fullmatch(response["SelectionPattern"], status)
            ),
            next((response for response in responses if not response.get("SelectionPattern")), None),
        )
        if chosen is None:
            raise _GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        headers = self._mapped_headers(call, chosen.get("ResponseParameters", {}), "method.response.header.")
        body = ""
        rendered = _render_template(
            str(chosen.get("ResponseTemplates", {}).get(JSON, "")), call.request.headers
        )
        if rendered is not None:
            overrides, body = rendered
            replaced = {name.lower() for name in overrides}
            headers = [(name, value) for name, value in headers if name.lower() not in replaced]
            headers += overrides.items()
        headers.append(("Content-Type", JSON))
        return HttpResponse(
            int(chosen.get("StatusCode", 200)), headers + self._service_headers(call), body.encode()
        )

    def _gateway_response(self, call: _Call, error: _GatewayError) -> HttpResponse:
        """The gateway response of the error's type, or its DEFAULT_4XX/5XX, or AWS's default."""
        specific = self._responses.get(error.response_type)
        fallback = self._responses.get("DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX")
        configured = specific or fallback
        status = error.status
        if specific is not None and specific.status:
            status = specific.status
        elif fallback is not None and fallback.status:
            status = fallback.status
        if configured is None:
            template = _BUILTIN_TEMPLATES.get(error.response_type, DEFAULT_RESPONSE_TEMPLATE)
        else:
            template = configured.templates.get(JSON) or next(
                iter(configured.templates.values()), DEFAULT_RESPONSE_TEMPLATE
            )
        values = {
            "context.error.message": error.message or "",
            "context.error.messageString": json.dumps(error.message),
            "context.error.responseType": error.response_type,
            "context.error.validationErrorString": error.validation_error,
            "context.requestId": call.request_id,
            "context.extendedRequestId": call.extended_request_id,
            "context.apiId": self.api_id,
            "context.stage": call.stage or "",
        }

        def substitute(match: re.Match[str]) -> str:
            return values.get(match.group(1) or match.group(2), match.group(0))

        body = _CONTEXT_REFERENCE.sub(substitute, template)
        headers = self._mapped_headers(
            call, configured.parameters if configured else {}, "gatewayresponse.header."
        )
        headers.append(("Content-Type", JSON))
        if error.response_type in _ERROR_TYPES:
            headers.append(("x-amzn-ErrorType", _ERROR_TYPES[error.response_type]))
        return HttpResponse(status, headers + self._service_headers(call), body.encode())

    # Pieces of requests and responses

    def _event(self, call: _Call) -> dict[str, Any]:
        """The Lambda proxy integration event (format 1.0) for this request."""
        request, resource = call.request, call.resource
        assert resource is not None and call.stage is not None  # routed before any event is made
        headers = list(request.headers)
        forwarded_for = _last(headers, "X-Forwarded-For", ignore_case=True)
        headers = [(name, value) for name, value in headers if name.lower() != "x-forwarded-for"]
        host = (
            _last(headers, "Host", ignore_case=True)
            or f"{self.api_id}.execute-api.{self._region}.amazonaws.com"
        )
        headers += [
            (
                "X-Forwarded-For",
                f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip,
            ),
            ("X-Forwarded-Port", host.rpartition(":")[2] if ":" in host else "80"),
            ("X-Forwarded-Proto", "http"),
        ]
        if _last(headers, "X-Amzn-Trace-Id", ignore_case=True) is None:
            headers.append(("X-Amzn-Trace-Id", call.trace_id))
        single_headers, multi_headers = _single_and_multi(headers)
        single_query, multi_query = _single_and_multi(request.query)
        body: str | None = None
        encoded = False
        if request.body:
            encoded = self._is_binary(_media_type(request))
            body = (
                base64.b64encode(request.body).decode() if encoded else request.body.decode(errors="replace")
            )
        identity: dict[str, Any] = dict.fromkeys(
            (
                "accessKey",
                "accountId",
                "caller",
                "cognitoAuthenticationProvider",
                "cognitoAuthenticationType",
                "cognitoIdentityId",
                "cognitoIdentityPoolId",
                "principalOrgId",
                "user",
                "userArn",
            )
        )
        identity |= {
            "sourceIp": request.source_ip,
            "userAgent": _last(headers, "User-Agent", ignore_case=True),
        }
        if call.api_key is not None:
            identity |= {"apiKey": call.api_key, "apiKeyId": None}
        if call.access_key is not None:
            # Without IAM, the signing access key stands for the principal API Gateway would name.
            identity |= {
                "accessKey": call.access_key,
                "accountId": self._account,
                "caller": call.access_key,
                "user": call.access_key,
            }
        context: dict[str, Any] = {
            "accountId": self._account,
            "apiId": self.api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "extendedRequestId": call.extended_request_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": f"/{call.stage}{call.path}",
            "protocol": "HTTP/1.1",
            "requestId": call.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(call.started)),
            "requestTimeEpoch": int(call.started * 1000),
            "resourceId": resource.resource_id,
            "resourcePath": resource.path,
            "stage": call.stage,
        }
        if call.authorizer is not None:
            context["authorizer"] = call.authorizer
        return {
            "resource": resource.path,
            "path": call.path,
            "httpMethod": request.method,
            "headers": single_headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": single_query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(call.path_parameters) or None,
            "stageVariables": dict(self._stages[call.stage]) or None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }

    def _invoke(self, function_arn: str, event: Mapping[str, Any], not_local: _GatewayError) -> Invocation:
        try:
            return self._invoker.invoke(function_arn, event)
        except KeyError:
            LOG.error("REST API %s: function %s is not running locally", self.name, function_arn)
            raise not_local from None

    def _identity(self, call: _Call, source: str) -> str | None:
        """The value of an authorizer identity source (``method.request.header.Authorization``)."""
        match = _REQUEST_PARAMETER.fullmatch(source)
        if match is not None:
            return self._parameter(call, match.group(1).removeprefix("multivalue"), match.group(2))
        if source.startswith("stageVariables."):
            return self._stages.get(call.stage or "", {}).get(source.removeprefix("stageVariables."))
        return source  # context variables: always present

    def _parameter(self, call: _Call, location: str, name: str) -> str | None:
        if location == "header":
            return _last(call.request.headers, name, ignore_case=True)
        if location == "querystring":
            return _last(call.request.query, name)
        return call.path_parameters.get(name)

    def _mapped_headers(
        self, call: _Call, parameters: Mapping[str, str], prefix: str
    ) -> list[tuple[str, str]]:
        """Response headers from mapping expressions: ``'static'`` values and request parameters."""
        headers = []
        for key, expression in parameters.items():
            if not key.startswith(prefix):
                continue
            if _is_static(expression):
                value: str | None = expression[1:-1]
            elif match := _REQUEST_PARAMETER.fullmatch(expression):
                value = self._parameter(call, match.group(1).removeprefix("multivalue"), match.group(2))
            else:
                value = None
            if value is not None:
                headers.append((key.removeprefix(prefix), value))
        return headers

    def _service_headers(self, call: _Call) -> list[tuple[str, str]]:
        """Headers API Gateway adds to every response."""
        return [
            ("x-amzn-RequestId", call.request_id),
            ("x-amz-apigw-id", call.extended_request_id),
            ("X-Amzn-Trace-Id", call.trace_id),
        ]

    def _is_binary(self, media_type: str | None) -> bool:
        return media_type is not None and any(
            _wildcard_match(pattern, media_type) for pattern in self._binary_media_types
        )


# What gateway response templates may reference (the values `_gateway_response` fills in).
_TEMPLATE_CONTEXT = (
    "context.error.message",
    "context.error.messageString",
    "context.error.responseType",
    "context.error.validationErrorString",
    "context.requestId",
    "context.extendedRequestId",
    "context.apiId",
    "context.stage",
)


def _walk(resource: _Resource) -> Iterator[_Resource]:
    yield resource
    for child in sorted(resource.children, key=lambda child: child.part):
        yield from _walk(child)


def _match(
    resource: _Resource, parts: Sequence[str], parameters: dict[str, str]
) -> tuple[_Resource, dict[str, str]] | None:
    """The resource a request path's parts reach, literal parts first, and its path parameters."""
    if not parts:
        return resource, parameters
    for child in resource.children:
        if child.rank == 2:
            return child, {**parameters, child.parameter: unquote("/".join(parts))}
        if child.rank == 1:
            found = _match(child, parts[1:], {**parameters, child.parameter: unquote(parts[0])})
        else:
            found = _match(child, parts[1:], parameters) if child.part == parts[0] else None
        if found is not None:
            return found
    return None


def _lambda_arn(uri: str) -> str | None:
    """The function ARN in a Lambda integration URI, without an alias or version qualifier."""
    match = _LAMBDA_URI.fullmatch(uri)
    if match is None:
        return None
    # Locally every alias and version of a function runs the one local copy.
    return ":".join(match.group(1).split(":")[:7])


def _function_arn(integration: Mapping[str, Any]) -> str | None:
    return _lambda_arn(str(integration.get("Uri", "")))


def _schema(value: Any) -> Mapping[str, Any]:
    """A model's schema: CloudFormation takes it as an object or as a JSON string."""
    schema = json.loads(value) if isinstance(value, str) else value
    return dict(schema)


def _is_static(expression: str) -> bool:
    return len(expression) >= 2 and expression.startswith("'") and expression.endswith("'")


def _last(pairs: Sequence[tuple[str, str]], name: str, *, ignore_case: bool = False) -> str | None:
    """The last value of `name` among (name, value) pairs."""
    found = None
    for key, value in pairs:
        if key == name or (ignore_case and key.lower() == name.lower()):
            found = value
    return found


def _single_and_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Pairs as API Gateway puts them in an event: last value per name, and every value per name."""
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _media_type(request: HttpRequest) -> str | None:
    content_type = _last(request.headers, "Content-Type", ignore_case=True)
    return content_type.split(";")[0].strip().lower() if content_type else None


def _first_accept(request: HttpRequest) -> str | None:
    accept = _last(request.headers, "Accept", ignore_case=True)
    return accept.split(",")[0].split(";")[0].strip().lower() if accept else None


def _wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style matching: ``*`` is any run of characters, ``?`` any one character."""
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, value, re.IGNORECASE if ignore_case else 0) is not None


def _signing_access_key(request: HttpRequest) -> str | None:
    """The access key id of a SigV4-signed request (Authorization header or presigned query), unverified."""
    authorization = _last(request.headers, "Authorization", ignore_case=True) or ""
    signed = (
        _SIGV4_CREDENTIAL.search(authorization) if authorization.startswith("AWS4-HMAC-SHA256 ") else None
    )
    if signed:
        return signed.group(1)
    credential = _last(request.query, "X-Amz-Credential") or ""
    return credential.split("/", 1)[0] or None


def _unverified_claims(token: str) -> Mapping[str, Any]:
    """The payload of a JWT before its signature is checked (to pick the user pool), or {}."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _claim_text(name: str, value: Any) -> str:
    """A claim as API Gateway passes Cognito claims on: every value a string, times as dates."""
    if name in ("exp", "iat") and isinstance(value, int | float):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _authorizer_result(payload: Any) -> tuple[str, list[Mapping[str, Any]], dict[str, Any]]:
    """principalId, policy statements and context of a Lambda authorizer's output; ValueError if malformed."""
    if not isinstance(payload, dict):
        raise ValueError(f"{type(payload).__name__} instead of an object")
    principal_id = payload.get("principalId")
    document = payload.get("policyDocument")
    if not isinstance(principal_id, str) or not isinstance(document, dict):
        raise ValueError("no principalId or policyDocument")
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not all(isinstance(statement, dict) for statement in statements):
        raise ValueError("a policyDocument whose Statement is not a list of statements")
    context = payload.get("context") or {}
    if not isinstance(context, dict) or not all(
        isinstance(value, str | int | float | bool) for value in context.values()
    ):
        raise ValueError("a context that is not an object of strings, numbers and booleans")
    # The integration sees context values as strings.
    texts = {
        key: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key, value in context.items()
    }
    return principal_id, statements, texts


def _policy_decision(statements: Sequence[Mapping[str, Any]], method_arn: str) -> str | None:
    """``Deny`` if a statement denies execute-api:Invoke on the method ARN, ``Allow`` if one allows it."""
    effects = set()
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if any(
            _wildcard_match(str(action), "execute-api:Invoke", ignore_case=True) for action in actions
        ) and any(_wildcard_match(str(resource), method_arn) for resource in resources):
            effects.add(str(statement.get("Effect")))
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else None


def _proxy_result(payload: Any) -> tuple[int, list[tuple[str, str]], str, bool]:
    """Status, headers, body and isBase64Encoded of a Lambda proxy response; ValueError if malformed."""
    if not isinstance(payload, dict):
        raise ValueError(f"{type(payload).__name__} instead of an object")
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status code")
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body is {type(body).__name__}, not a string")
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    if not all(isinstance(values, list) for values in multi.values()):
        raise ValueError("multiValueHeaders values must be lists")
    # A header in multiValueHeaders replaces the same header in headers.
    multi_names = {name.lower() for name in multi}
    pairs = [(name, value) for name, value in single.items() if name.lower() not in multi_names]
    pairs += [(name, value) for name, values in multi.items() for value in values]
    headers = []
    for name, value in pairs:
        if isinstance(value, dict | list):
            raise ValueError(f"header {name} is not a string")
        if value is not None and name.lower() not in ("content-length", "transfer-encoding", "connection"):
            headers.append(
                (str(name), ("true" if value else "false") if isinstance(value, bool) else str(value))
            )
    return status, headers, body or "", bool(payload.get("isBase64Encoded", False))


def _render_template(template: str, headers: Sequence[tuple[str, str]]) -> tuple[dict[str, str], str] | None:
    """Evaluate a response template of the shape CDK emits for CORS; None for any other VTL.

    That shape reads the Origin header, compares it with the allowed origins, and sets
    ``$context.responseOverride.header.*``. Returns the overridden headers and the body text.
    """
    variables: dict[str, str] = {}
    overrides: dict[str, str] = {}
    active = [True]
    body: list[str] = []
    for line in (raw.strip() for raw in template.splitlines()):
        if not line:
            continue
        if (match := _VTL_HEADER_PARAM.fullmatch(line)) is not None:
            if all(active):
                # $input.params().header is case-sensitive and gives "" for a missing header.
                variables[match.group(1)] = _last(headers, match.group(2)) or ""
        elif (match := _VTL_IF.fullmatch(line)) is not None:
            terms = [_VTL_EQUALS.fullmatch(term.strip()) for term in match.group(1).split("||")]
            if not all(terms):
                return None
            active.append(any(variables.get(term.group(1), "") == term.group(2) for term in terms if term))
        elif line == "#end" and len(active) > 1:
            active.pop()
        elif (match := _VTL_OVERRIDE.fullmatch(line)) is not None:
            if all(active):
                overrides[match.group(1)] = (
                    variables.get(match.group(2), "") if match.group(2) else match.group(3)
                )
        elif "#" in line or "$" in line:
            return None
        elif all(active):
            body.append(line)
    return (overrides, "\n".join(body)) if len(active) == 1 else None


def serve(gateway: RestApiGateway, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP/1.1 server for `gateway`, bound to host:port (0: a free port) but not started.

    The caller runs ``serve_forever`` (in a thread) and later ``shutdown`` and ``server_close``.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            try:
                body = self._read_body()
            except ValueError:
                self.send_error(400, "Bad request body framing")
                return
            url = urlsplit(self.path)
            response = gateway.handle(
                HttpRequest(
                    method=self.command,
                    path=url.path,
                    query=parse_qsl(url.query, keep_blank_values=True),
                    headers=list(self.headers.items()),
                    body=body,
                    source_ip=self.client_address[0],
                )
            )
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():
                    pass  # trailer fields, up to the blank line that ends the body
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        # http.server calls do_<METHOD>.
        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: `RestApiGateway.handle` logs every request."""

    return ThreadingHTTPServer((host, port), Handler)
