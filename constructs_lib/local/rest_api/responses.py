"""What the gateway answers itself: gateway responses on errors, MOCK integrations (CDK's CORS preflights).

A MOCK integration's response template is evaluated only in the shape CDK emits for CORS (it echoes
one of several allowed origins); any other VTL is warned about at start-up and not evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from constructs_lib.local.rest_api._model import (
    CONTEXT_REFERENCE,
    DEFAULT_RESPONSE_TEMPLATE,
    JSON,
    REQUEST_PARAMETER,
    ApiDefinition,
    Call,
    GatewayError,
    HttpResponse,
    Method,
    is_static,
    last,
    media_type,
    parameter,
)

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
# The VTL CDK writes for CORS: read the Origin header, compare it, override response headers.
_VTL_HEADER_PARAM = re.compile(r'#set\(\s*\$(\w+)\s*=\s*\$input\.params\(\)\.header\.get\("([^"]+)"\)\s*\)')
_VTL_IF = re.compile(r"#if\(\s*(.+?)\s*\)")
_VTL_EQUALS = re.compile(r'\$(\w+)\s*==\s*"([^"]*)"')
_VTL_OVERRIDE = re.compile(
    r"#set\(\s*\$context\.responseOverride\.header\.([\w-]+)\s*=\s*(?:\$(\w+)|'([^']*)')\s*\)"
)


def gateway_response(api: ApiDefinition, call: Call, error: GatewayError) -> HttpResponse:
    """The gateway response of the error's type, or its DEFAULT_4XX/5XX, or AWS's default."""
    specific = api.responses.get(error.response_type)
    fallback = api.responses.get("DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX")
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
        # Substituted JSON-escaped (its quotes as \"), so a template can quote it inside a JSON string.
        "context.error.validationErrorString": json.dumps(error.validation_error)[1:-1],
        "context.requestId": call.request_id,
        "context.extendedRequestId": call.extended_request_id,
        "context.apiId": api.api_id,
        "context.stage": call.stage or "",
    }

    def substitute(match: re.Match[str]) -> str:
        return values.get(match.group(1) or match.group(2), match.group(0))

    body = CONTEXT_REFERENCE.sub(substitute, template)
    headers = mapped_headers(call, configured.parameters if configured else {}, "gatewayresponse.header.")
    headers.append(("Content-Type", JSON))
    if error.response_type in _ERROR_TYPES:
        headers.append(("x-amzn-ErrorType", _ERROR_TYPES[error.response_type]))
    return HttpResponse(status, headers + service_headers(call), body.encode())


def mock(call: Call, method: Method) -> HttpResponse:
    """A MOCK integration: the status its request template names picks the integration response."""
    templates = method.integration.get("RequestTemplates", {})
    template = str(templates.get(media_type(call.request) or JSON) or templates.get(JSON) or "")
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
        raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
    headers = mapped_headers(call, chosen.get("ResponseParameters", {}), "method.response.header.")
    body = ""
    rendered = render_template(str(chosen.get("ResponseTemplates", {}).get(JSON, "")), call.request.headers)
    if rendered is not None:
        overrides, body = rendered
        replaced = {name.lower() for name in overrides}
        headers = [(name, value) for name, value in headers if name.lower() not in replaced]
        headers += overrides.items()
    headers.append(("Content-Type", JSON))
    return HttpResponse(int(chosen.get("StatusCode", 200)), headers + service_headers(call), body.encode())


def mapped_headers(call: Call, parameters: Mapping[str, str], prefix: str) -> list[tuple[str, str]]:
    """Response headers from mapping expressions: ``'static'`` values and request parameters."""
    headers = []
    for key, expression in parameters.items():
        if not key.startswith(prefix):
            continue
        if is_static(expression):
            value: str | None = expression[1:-1]
        elif match := REQUEST_PARAMETER.fullmatch(expression):
            value = parameter(call, match.group(1).removeprefix("multivalue"), match.group(2))
        else:
            value = None
        if value is not None:
            headers.append((key.removeprefix(prefix), value))
    return headers


def service_headers(call: Call) -> list[tuple[str, str]]:
    """Headers API Gateway adds to every response."""
    return [
        ("x-amzn-RequestId", call.request_id),
        ("x-amz-apigw-id", call.extended_request_id),
        ("X-Amzn-Trace-Id", call.trace_id),
    ]


def render_template(template: str, headers: Sequence[tuple[str, str]]) -> tuple[dict[str, str], str] | None:
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
                variables[match.group(1)] = last(headers, match.group(2)) or ""
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
