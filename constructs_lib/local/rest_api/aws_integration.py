"""AWS service integrations of REST API methods (``Type: AWS``), served locally against moto.

API Gateway renders the method's request template, signs the request as the integration's
credentials role and sends it to the service; the status code selects an integration response,
whose template renders the answer. Locally the same happens against the embedded moto server:
the role's session comes from moto's STS, so IAM enforcement decides the call as that role, and a
service the runner emulates in moto's place (Step Functions' StartSyncExecution) answers through
the same checks. Emulated: services with a JSON protocol (Step Functions, DynamoDB, SQS's JSON
API, ...) called with POST ``action/<Action>`` URIs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import requests
from botocore.auth import SigV4Auth  # type: ignore[import-untyped,unused-ignore]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped,unused-ignore]
from botocore.credentials import Credentials  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.local.rest_api._model import (
    JSON,
    LOG,
    ApiDefinition,
    Call,
    GatewayError,
    HttpResponse,
    Method,
    media_type,
)
from constructs_lib.local.rest_api.proxy import proxy_event
from constructs_lib.local.rest_api.responses import service_headers
from constructs_lib.local.rest_api.vtl import TemplateError, render

_ACTION_URI = re.compile(r"arn:aws[\w-]*:apigateway:([^:]+):([^:]+):action/([A-Za-z0-9]+)")
# Services whose JSON protocol takes X-Amz-Target "<prefix>.<Action>"; others are not emulated.
TARGET_PREFIXES = {"states": "AWSStepFunctions", "dynamodb": "DynamoDB_20120810"}
_TIMEOUT = 29  # seconds: API Gateway's integration timeout
# A role ARN -> the (access key, secret, token) of a session of it.
SessionFor = Callable[[str], tuple[str, str, str]]


def action_of(integration: Mapping[str, Any]) -> tuple[str, str] | None:
    """(service, action) of an emulated AWS integration, else None."""
    if integration.get("Type") != "AWS":
        return None
    match = _ACTION_URI.fullmatch(str(integration.get("Uri", "")))
    if match is None or match.group(2) not in TARGET_PREFIXES:
        return None
    return match.group(2), match.group(3)


class AwsIntegrations:
    """Calls AWS service integrations on the embedded moto server at `aws_url`, as their roles."""

    def __init__(self, aws_url: str, region: str, session_for: SessionFor) -> None:
        self._aws_url = aws_url
        self._region = region
        self._session_for = session_for

    def integrate(self, api: ApiDefinition, call: Call, method: Method) -> HttpResponse:
        found = action_of(method.integration)
        if found is None:
            raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        service, action = found
        integration = method.integration
        event = proxy_event(api, call)
        params = {
            "path": dict(call.path_parameters),
            "querystring": dict(call.request.query),
            "header": dict(call.request.headers),
        }
        stage_variables = api.stages.get(call.stage or "", {})
        templates: Mapping[str, str] = integration.get("RequestTemplates") or {}
        template = templates.get(media_type(call.request) or JSON) or templates.get(JSON)
        body = call.request.body.decode(errors="replace")
        try:
            request_body = (
                render(
                    template,
                    body=body,
                    params=params,
                    context=event["requestContext"],
                    stage_variables=stage_variables,
                ).text
                if template is not None
                else body
            )
        except TemplateError as error:
            LOG.error("REST API %s: request template of %s failed: %s", api.name, call.request.path, error)
            raise GatewayError("DEFAULT_5XX", "Internal server error", 500) from None
        status, answer = self._send(service, action, str(integration.get("Credentials", "")), request_body)
        response = _selected(integration.get("IntegrationResponses", []), status)
        if response is None:
            LOG.error(
                "REST API %s: %s answered %d, which no integration response selects", api.name, action, status
            )
            raise GatewayError("DEFAULT_5XX", "Internal server error", 500)
        response_template = (response.get("ResponseTemplates") or {}).get(JSON)
        try:
            rendered = render(
                response_template if response_template is not None else "$input.body",
                body=answer,
                params=params,
                context=event["requestContext"],
                stage_variables=stage_variables,
            )
        except TemplateError as error:
            LOG.error("REST API %s: response template of %s failed: %s", api.name, call.request.path, error)
            raise GatewayError("DEFAULT_5XX", "Internal server error", 500) from None
        headers = [("Content-Type", JSON), *rendered.headers.items()]
        final = rendered.status or int(response.get("StatusCode", 200))
        return HttpResponse(final, headers + service_headers(call), rendered.text.encode())

    def _send(self, service: str, action: str, role_arn: str, body: str) -> tuple[int, str]:
        """POST `body` to the service's `action` on moto, signed as a session of `role_arn`."""
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"{TARGET_PREFIXES[service]}.{action}",
        }
        request = AWSRequest(method="POST", url=f"{self._aws_url}/", data=body.encode(), headers=headers)
        if role_arn:
            access_key, secret, token = self._session_for(role_arn)
            SigV4Auth(Credentials(access_key, secret, token), service, self._region).add_auth(request)
        prepared = request.prepare()
        reply = requests.post(
            prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=_TIMEOUT
        )
        return reply.status_code, reply.text


def _selected(responses: list[Mapping[str, Any]], status: int) -> Mapping[str, Any] | None:
    """The integration response whose SelectionPattern matches the status, else the default one."""
    default = None
    for response in responses:
        pattern = response.get("SelectionPattern")
        if not pattern:
            default = default or response
        elif re.fullmatch(str(pattern), str(status)):
            return response
    return default
