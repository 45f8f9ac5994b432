"""API Gateway REST APIs (v1) served locally, as the synthesized template configures them.

`RestApiGateway` answers requests the way execute-api answers them for one ``AWS::ApiGateway::RestApi``:
routed through the resource tree (`routing`), authorized (`authorizers`: Cognito user pools, Lambda
TOKEN and REQUEST authorizers, API keys by presence, IAM by signature presence), validated (request
validators with their models), integrated (Lambda proxy, `proxy`; MOCK, `responses`), and answered
with the API's gateway responses on every error the gateway itself answers (`responses`).

Not emulated, each with a warning at start-up: IAM authorization (requests pass), API key values
and usage plans, integrations other than Lambda proxy, MOCK and AWS service integrations with a JSON
protocol (`aws_integration`: Step Functions), and mapping template constructs beyond the ones CDK
emits in non-proxy Lambda integrations. Authorizer results are not cached (every request is authorized).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from constructs_lib.local._types import Invocation, Invoker, TemplateView
from constructs_lib.local.rest_api._definition import load_api
from constructs_lib.local.rest_api._model import (
    JSON,
    LOG,
    PAYLOAD_LIMIT,
    Call,
    GatewayError,
    HttpRequest,
    HttpResponse,
    Method,
    first_accept,
    media_type,
    parameter,
)
from constructs_lib.local.rest_api._validation_messages import validation_error_string
from constructs_lib.local.rest_api.authorizers import Authorizers
from constructs_lib.local.rest_api.aws_integration import AwsIntegrations, action_of
from constructs_lib.local.rest_api.proxy import proxy_event, proxy_result
from constructs_lib.local.rest_api.responses import gateway_response, mock, service_headers
from constructs_lib.local.rest_api.routing import route, walk


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
        aws_integrations: AwsIntegrations | None = None,
    ) -> None:
        """Read the API `rest_api_id` (a logical id) of `template`; `jwks` gives a user pool's JWKS;
        `aws_integrations` serves AWS service integrations (Step Functions) against moto."""
        self.api = load_api(template, rest_api_id, region=region, account=account)
        self.api_id = self.api.api_id
        self.name = self.api.name
        self.stage_names = list(self.api.stages)
        self._invoker = invoker
        self._aws_integrations = aws_integrations
        self._authorizers = Authorizers(self.api, jwks=jwks, invoke=self._invoke)

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, resource path, authorization type) of every method with an integration other than MOCK."""
        return [
            (method.http_method, resource.path, method.authorization_type)
            for resource in walk(self.api.root)
            for method in resource.methods.values()
            if method.integration_type != "MOCK"
        ]

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer `request` as API Gateway would, invoking the integration's function if it gets that far."""
        call = Call(request)
        try:
            response = self._serve(call)
        except GatewayError as error:
            response = gateway_response(self.api, call, error)
        except Exception:
            LOG.exception(
                "REST API %s: %s %s failed in the local gateway", self.name, request.method, request.path
            )
            response = gateway_response(
                self.api, call, GatewayError("DEFAULT_5XX", "Internal server error", 500)
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

    def _serve(self, call: Call) -> HttpResponse:
        if len(call.request.body) > PAYLOAD_LIMIT:
            raise GatewayError("REQUEST_TOO_LARGE", "Request Too Long")
        method = route(self.api, call)
        self._authorizers.authorize(call, method)
        if method.api_key_required:
            self._authorizers.check_api_key(call)
        self._validate(call, method)
        return self._integrate(call, method)

    def _validate(self, call: Call, method: Method) -> None:
        """Apply the method's request validator: required parameters first, then the body's model."""
        if method.validate_parameters:
            missing = [
                name for location, name in method.required_parameters if not parameter(call, location, name)
            ]
            if missing:
                message = f"Missing required request parameters: [{', '.join(missing)}]"
                raise GatewayError("BAD_REQUEST_PARAMETERS", message, validation_error=message)
        if not method.validate_body:
            return
        content_type = media_type(call.request) or JSON
        validator = method.models.get(content_type) or method.models.get("$default")
        if validator is None:
            return  # API Gateway validates only bodies whose content type has a model
        try:
            document = json.loads(call.request.body)
        except ValueError as error:
            raise GatewayError(
                "BAD_REQUEST_BODY", "Invalid request body", validation_error=f"[{error}]"
            ) from None
        problems = list(validator.iter_errors(document))
        if problems:
            raise GatewayError(
                "BAD_REQUEST_BODY", "Invalid request body", validation_error=validation_error_string(problems)
            )

    def _integrate(self, call: Call, method: Method) -> HttpResponse:
        if method.integration_type == "MOCK":
            return mock(call, method)
        if self._aws_integrations is not None and action_of(method.integration) is not None:
            return self._aws_integrations.integrate(self.api, call, method)
        if method.function_arn is None:
            raise GatewayError(
                "API_CONFIGURATION_ERROR",
                f"{method.integration_type or 'This'} integration is not emulated locally",
            )
        internal_error = GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        invocation = self._invoke(method.function_arn, proxy_event(self.api, call), internal_error)
        bad_gateway = GatewayError("DEFAULT_5XX", "Internal server error", 502)
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
            status, headers, body, encoded = proxy_result(invocation.payload)
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
        if encoded and self.api.is_binary(first_accept(call.request)):
            try:
                content = base64.b64decode(body, validate=True)
            except binascii.Error:
                raise internal_error from None
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", JSON))
        return HttpResponse(status, headers + service_headers(call), content)

    def _invoke(self, function_arn: str, event: Mapping[str, Any], not_local: GatewayError) -> Invocation:
        try:
            return self._invoker.invoke(function_arn, event)
        except KeyError:
            LOG.error("REST API %s: function %s is not running locally", self.name, function_arn)
            raise not_local from None
