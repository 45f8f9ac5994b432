"""ServerlessApi's gateway responses: API Gateway's own errors with CORS headers, and validator
rejections that say what was wrong, in the ``{"message"}`` shape of every error."""

from __future__ import annotations

from functools import cache

from aws_cdk import aws_apigateway as apigw

from constructs_lib._api_errors import VALIDATION_RESPONSE_TEMPLATES
from constructs_lib._api_integrations import JSON_CONTENT_TYPE
from constructs_lib.cors_policy import CorsPolicy


@cache
def _response_type(name: str) -> apigw.ResponseType:
    """`apigw.ResponseType.<name>`: a constant, read through jsii once per process, not once per API."""
    response_type: apigw.ResponseType = getattr(apigw.ResponseType, name)
    return response_type


def add_gateway_responses(api: apigw.RestApi, cors: CorsPolicy | None) -> None:
    """CORS headers on API Gateway's own errors; validator rejections that say what was wrong."""
    if cors:
        for type_name, name in (("DEFAULT_4_XX", "Default4xx"), ("DEFAULT_5_XX", "Default5xx")):
            api.add_gateway_response(
                name, type=_response_type(type_name), response_headers=cors.gateway_response_headers()
            )
    for type_name, name in (
        ("BAD_REQUEST_BODY", "BadRequestBody"),
        ("BAD_REQUEST_PARAMETERS", "BadRequestParameters"),
    ):
        api.add_gateway_response(
            name,
            type=_response_type(type_name),
            response_headers=cors.gateway_response_headers() if cors else None,
            templates={JSON_CONTENT_TYPE: VALIDATION_RESPONSE_TEMPLATES[type_name]},
        )
