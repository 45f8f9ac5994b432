"""ServerlessApi's gateway responses: API Gateway's own errors with CORS headers, and validator
rejections that say what was wrong, in the ``{"message"}`` shape of every error."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw

from constructs_lib._api_errors import VALIDATION_RESPONSE_TEMPLATES
from constructs_lib._api_integrations import JSON_CONTENT_TYPE
from constructs_lib.cors_policy import CorsPolicy


def add_gateway_responses(api: apigw.RestApi, cors: CorsPolicy | None) -> None:
    """CORS headers on API Gateway's own errors; validator rejections that say what was wrong."""
    if cors:
        for response_type, name in (
            (apigw.ResponseType.DEFAULT_4_XX, "Default4xx"),
            (apigw.ResponseType.DEFAULT_5_XX, "Default5xx"),
        ):
            api.add_gateway_response(
                name, type=response_type, response_headers=cors.gateway_response_headers()
            )
    for response_type, name, key in (
        (apigw.ResponseType.BAD_REQUEST_BODY, "BadRequestBody", "BAD_REQUEST_BODY"),
        (apigw.ResponseType.BAD_REQUEST_PARAMETERS, "BadRequestParameters", "BAD_REQUEST_PARAMETERS"),
    ):
        api.add_gateway_response(
            name,
            type=response_type,
            response_headers=cors.gateway_response_headers() if cors else None,
            templates={JSON_CONTENT_TYPE: VALIDATION_RESPONSE_TEMPLATES[key]},
        )
