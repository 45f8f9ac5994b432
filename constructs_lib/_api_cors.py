"""CORS of REST APIs: the policy checks, the preflight, gateway and mapped responses, handler settings."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aws_cdk import aws_apigateway as apigw

from constructs_lib._validation import PropErrors

if TYPE_CHECKING:
    from constructs_lib.serverless_api import CorsPolicy

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_ORIGIN = re.compile(r"^https?://[^/\s]+$")


def validate_cors(errors: PropErrors, cors: CorsPolicy) -> None:
    origins = list(cors.allow_origins)
    errors.check(
        bool(origins), "cors.allow_origins", "list at least one origin, e.g. 'https://app.example.com'"
    )
    if "*" in origins:
        errors.check(
            not cors.allow_credentials,
            "cors.allow_origins",
            "'*' cannot be combined with allow_credentials=True (browsers reject it and it would "
            "expose every user's responses to any site); list the exact origins",
        )
        errors.check(
            len(origins) == 1, "cors.allow_origins", "'*' already allows every origin; list it alone"
        )
    for origin in origins:
        errors.check(
            origin == "*" or bool(_ORIGIN.match(origin)),
            "cors.allow_origins",
            f"'{origin}' is not an origin; use scheme://host[:port] with no path or trailing slash",
        )
    for verb in cors.allow_methods:
        errors.check(
            verb in HTTP_METHODS, "cors.allow_methods", f"'{verb}' is not one of {', '.join(HTTP_METHODS)}"
        )
    # aws-cdk-lib throws through jsii on both (CorsOptions: "ANY cannot be used with any other
    # method"; max_age goes through to_seconds(), which refuses a fraction of a second) (issue #18).
    errors.check(
        "ANY" not in cors.allow_methods or len(cors.allow_methods) == 1,
        "cors.allow_methods",
        "ANY already allows every method; list it alone or list the methods",
    )
    max_age_ms = cors.max_age.to_milliseconds()
    errors.check(
        max_age_ms % 1000 == 0 and max_age_ms >= 0,
        "cors.max_age",
        f"{max_age_ms} ms is not a whole number of seconds",
    )


def preflight(cors: CorsPolicy) -> apigw.CorsOptions:
    return apigw.CorsOptions(
        allow_origins=list(cors.allow_origins),
        allow_methods=list(cors.allow_methods),
        allow_headers=list(cors.allow_headers),
        allow_credentials=cors.allow_credentials,
        max_age=cors.max_age,
    )


def gateway_cors_headers(cors: CorsPolicy) -> dict[str, str]:
    """Headers for API Gateway's own error responses (values are mapping expressions)."""
    origins = list(cors.allow_origins)
    headers = {
        # Gateway responses cannot pick from a list: one origin is returned as is, several echo
        # the request's Origin (these responses carry only API Gateway's own error messages).
        "Access-Control-Allow-Origin": f"'{origins[0]}'"
        if len(origins) == 1
        else "method.request.header.Origin",
        "Access-Control-Allow-Headers": f"'{','.join(cors.allow_headers)}'",
        "Access-Control-Allow-Methods": f"'{','.join(cors.allow_methods)}'",
    }
    if cors.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "'true'"
    if len(origins) > 1:
        headers["Vary"] = "'Origin'"
    return headers


def cors_response_vtl(cors: CorsPolicy) -> str:
    """VTL that sets CORS headers on a mapped (non-proxy) response for an allowed Origin only."""
    lines = ['#set($origin = $input.params().header.get("Origin"))']
    if "*" in cors.allow_origins:
        lines.append("#set($context.responseOverride.header.Access-Control-Allow-Origin = '*')")
    else:
        condition = " || ".join(f'$origin == "{origin}"' for origin in cors.allow_origins)
        lines += [
            f"#if({condition})",
            "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
            "#set($context.responseOverride.header.Vary = 'Origin')",
        ]
        if cors.allow_credentials:
            lines.append("#set($context.responseOverride.header.Access-Control-Allow-Credentials = 'true')")
        lines.append("#end")
    return "\n".join(lines) + "\n"


def cors_environment(cors: CorsPolicy) -> dict[str, str]:
    return {
        "CORS_ALLOW_ORIGINS": ",".join(cors.allow_origins),
        "CORS_ALLOW_HEADERS": ",".join(cors.allow_headers),
        "CORS_ALLOW_CREDENTIALS": "true" if cors.allow_credentials else "false",
        "CORS_MAX_AGE": str(int(cors.max_age.to_seconds())),
    }
