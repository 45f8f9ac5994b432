"""Reading one REST API from its template: stages, gateway responses, resources, methods, authorizers.

Whatever the template configures that is not emulated is warned about here, once, at start-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from constructs_lib.local._types import TemplateView
from constructs_lib.local.rest_api._model import (
    CONTEXT_REFERENCE,
    LOG,
    REQUEST_PARAMETER,
    TEMPLATE_CONTEXT,
    ApiDefinition,
    AuthorizerConfig,
    GatewayResponseConfig,
    Method,
    Resource,
    is_static,
)
from constructs_lib.local.rest_api.aws_integration import action_of
from constructs_lib.local.rest_api.responses import render_template

_LAMBDA_URI = re.compile(r"arn:aws[\w-]*:apigateway:[^:]+:lambda:path/2015-03-31/functions/(.+)/invocations")
_USER_POOL_ARN = re.compile(r"arn:aws[\w-]*:cognito-idp:([^:]+):[^:]*:userpool/(.+)")
_BUILTIN_MODELS: dict[str, Mapping[str, Any]] = {
    "Empty": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"},
    "Error": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"message": {"type": "string"}},
    },
}


def load_api(template: TemplateView, rest_api_id: str, *, region: str, account: str) -> ApiDefinition:
    """The API `rest_api_id` (a logical id) of `template`; ValueError if the template has no such API."""
    apis = template.resources_of_type("AWS::ApiGateway::RestApi")
    if rest_api_id not in apis:
        raise ValueError(f"{template.stack_name}: no AWS::ApiGateway::RestApi '{rest_api_id}'")
    properties = apis[rest_api_id].get("Properties", {})
    name = str(template.resolve(properties.get("Name", rest_api_id)))
    return _Loader(template, template.ref(rest_api_id), name).load(rest_api_id, properties, region, account)


class _Loader:
    """Reads the parts of one API from the template, warning about what is not emulated."""

    def __init__(self, template: TemplateView, api_id: str, name: str) -> None:
        self.template = template
        self.api_id = api_id
        self.name = name
        self._by_id: dict[str, Resource] = {}

    def load(
        self, rest_api_id: str, properties: Mapping[str, Any], region: str, account: str
    ) -> ApiDefinition:
        if "Body" in properties or "BodyS3Location" in properties:
            LOG.warning(
                "REST API %s: its OpenAPI definition (Body) is not read locally; only the template's "
                "AWS::ApiGateway::Resource and Method resources are served",
                self.name,
            )
        stages = self._load_stages()
        responses = self._load_gateway_responses()
        root, self._by_id = self._load_resources(rest_api_id)
        self._load_methods()
        return ApiDefinition(
            name=self.name,
            api_id=self.api_id,
            region=region,
            account=account,
            binary_media_types=tuple(
                str(media_type).replace("~1", "/").lower()
                for media_type in self.template.resolve(properties.get("BinaryMediaTypes", []))
            ),
            api_key_source=str(self.template.resolve(properties.get("ApiKeySourceType", "HEADER"))),
            stages=stages,
            responses=responses,
            root=root,
            by_id=self._by_id,
        )

    def _owned(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """Properties of this API's resources of `resource_type`, by logical id."""
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.template.resources_of_type(resource_type).items()
            if self.template.resolve(resource.get("Properties", {}).get("RestApiId")) == self.api_id
        }

    def _resolved(self, properties: Mapping[str, Any], *names: str) -> dict[str, Any]:
        """These properties, resolved; others may reference what is not emulated (roles, certificates)."""
        return {name: self.template.resolve(properties[name]) for name in names if name in properties}

    def _load_stages(self) -> dict[str, dict[str, str]]:
        stages: dict[str, dict[str, str]] = {}
        for properties in self._owned("AWS::ApiGateway::Stage").values():
            variables = self.template.resolve(properties.get("Variables", {}))
            stages[str(self.template.resolve(properties["StageName"]))] = dict(variables)
        for properties in self._owned("AWS::ApiGateway::Deployment").values():
            if "StageName" in properties:
                variables = self.template.resolve(properties.get("StageDescription", {}).get("Variables", {}))
                stages[str(self.template.resolve(properties["StageName"]))] = dict(variables)
        if not stages:
            LOG.warning("REST API %s has no stage: every request is answered 403", self.name)
        return stages

    def _load_gateway_responses(self) -> dict[str, GatewayResponseConfig]:
        responses: dict[str, GatewayResponseConfig] = {}
        for properties in self._owned("AWS::ApiGateway::GatewayResponse").values():
            resolved = self._resolved(
                properties, "ResponseType", "StatusCode", "ResponseParameters", "ResponseTemplates"
            )
            status = resolved.get("StatusCode")
            response = GatewayResponseConfig(
                status=int(status) if status else None,
                parameters=resolved.get("ResponseParameters", {}),
                templates=resolved.get("ResponseTemplates", {}),
            )
            for name, expression in response.parameters.items():
                self._check_parameter(f"gateway response {resolved['ResponseType']} {name}", expression)
            for text in response.templates.values():
                for match in CONTEXT_REFERENCE.finditer(text):
                    if (match.group(1) or match.group(2)) not in TEMPLATE_CONTEXT:
                        LOG.warning(
                            "REST API %s: gateway response %s uses %s, which is not emulated and stays as is",
                            self.name,
                            resolved["ResponseType"],
                            match.group(0),
                        )
            responses[resolved["ResponseType"]] = response
        return responses

    def _load_resources(self, rest_api_id: str) -> tuple[Resource, dict[str, Resource]]:
        """The root resource with its tree, and every resource by id."""
        root_id = str(self.template.resolve({"Fn::GetAtt": [rest_api_id, "RootResourceId"]}))
        by_id = {root_id: Resource(root_id, "/", "")}
        pending = {
            self.template.ref(logical_id): (
                str(self.template.resolve(properties["ParentId"])),
                str(self.template.resolve(properties["PathPart"])),
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
                child = Resource(resource_id, f"{parent.path.rstrip('/')}/{part}", part)
                parent.children.append(child)
                by_id[resource_id] = child
                del pending[resource_id]
        for resource in by_id.values():
            resource.children.sort(key=lambda child: child.rank)
        return by_id[root_id], by_id

    def _load_methods(self) -> None:
        authorizers = {
            self.template.ref(logical_id): self._authorizer(properties)
            for logical_id, properties in self._owned("AWS::ApiGateway::Authorizer").items()
        }
        validators = {
            self.template.ref(logical_id): (
                bool(self.template.resolve(properties.get("ValidateRequestBody", False))),
                bool(self.template.resolve(properties.get("ValidateRequestParameters", False))),
            )
            for logical_id, properties in self._owned("AWS::ApiGateway::RequestValidator").items()
        }
        models = {
            **_BUILTIN_MODELS,
            **{
                self.template.ref(logical_id): _schema(self.template.resolve(properties["Schema"]))
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
                raw.get("Integration", {}),
                "Type",
                "Uri",
                "Credentials",
                "RequestTemplates",
                "IntegrationResponses",
            )
            method = Method(
                http_method=verb,
                authorization_type=str(properties.get("AuthorizationType", "NONE")),
                authorizer=authorizer,
                scopes=tuple(properties.get("AuthorizationScopes", ())),
                api_key_required=bool(properties.get("ApiKeyRequired", False)),
                required_parameters=tuple(
                    (match.group(1).removeprefix("multivalue"), match.group(2))
                    for name, required in properties.get("RequestParameters", {}).items()
                    if required and (match := REQUEST_PARAMETER.fullmatch(name))
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

    def _authorizer(self, raw: Mapping[str, Any]) -> AuthorizerConfig:
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
        return AuthorizerConfig(
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

    def _check_method(self, route: str, method: Method) -> None:
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
                    if render_template(text, []) is None:
                        LOG.warning(
                            "REST API %s: %s has a response template beyond CDK's CORS shape; it is not "
                            "evaluated locally",
                            self.name,
                            route,
                        )
        elif method.function_arn is None and action_of(method.integration) is None:
            LOG.warning(
                "REST API %s: %s has a %s integration, which is not emulated locally: it answers 500",
                self.name,
                route,
                method.integration_type or "missing",
            )

    def _check_parameter(self, where: str, expression: str) -> None:
        if not (is_static(expression) or REQUEST_PARAMETER.fullmatch(expression)):
            LOG.warning(
                "REST API %s: %s maps %s, which is not emulated locally", self.name, where, expression
            )


def _lambda_arn(uri: str) -> str | None:
    """The function ARN in a Lambda integration URI, with its alias or version qualifier if any: IAM
    checks the permission of what API Gateway invokes (an alias has its own), and the runner runs the
    function's one local copy for every alias and version."""
    match = _LAMBDA_URI.fullmatch(uri)
    return match.group(1) if match is not None else None


def _function_arn(integration: Mapping[str, Any]) -> str | None:
    return _lambda_arn(str(integration.get("Uri", "")))


def _schema(value: Any) -> Mapping[str, Any]:
    """A model's schema: CloudFormation takes it as an object or as a JSON string."""
    schema = json.loads(value) if isinstance(value, str) else value
    return dict(schema)
