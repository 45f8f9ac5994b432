"""CorsPolicy: one CORS configuration, rendered in every form the library needs.

A policy is checked once (`validate`, with the one rule of what an origin is) and rendered as:
the REST API's OPTIONS preflight (`preflight`), API Gateway's own error responses
(`gateway_response_headers`), mapped (non-proxy) integration responses (`mapped_response_vtl`),
the handlers' environment (`environment`, parsed back by `constructs_lib.runtime.cors`), and a
bucket's CORS rule (`bucket_cors_rule`). ServerlessApi and ImageStore use it; the forms cannot
drift because each is derived here from the same fields (tests/constructs/test_cors_policy.py
runs them through the handlers' parser and the local runner).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_s3 as s3

from constructs_lib import _resolved
from constructs_lib._validation import PropErrors, check_whole_seconds
from constructs_lib.runtime.environment import (
    CORS_ALLOW_CREDENTIALS,
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_ORIGINS,
    CORS_MAX_AGE,
)

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
# Browsers cache a preflight this long (Chromium caps it at 2 h): one preflight per page session
# instead of one per request, while a CORS change still reaches clients within minutes.
DEFAULT_CORS_MAX_AGE = _resolved.minutes(10)
DEFAULT_CORS_HEADERS = ("Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token")
DEFAULT_CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # OPTIONS is the preflight itself

# What a browser sends as Origin: scheme://host[:port], the host a DNS name or an IPv4 address.
# No path, no trailing slash, no wildcard subdomain: the API and the handlers compare origins
# exactly, so a pattern would allow nothing there while the bucket allowed it.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ORIGIN = re.compile(rf"^https?://{_LABEL}(?:\.{_LABEL})*(?::(?P<port>\d{{1,5}}))?$")
_MAX_PORT = 65535


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not an origin a browser sends (None if it is one, or ``*``): the one rule."""
    match = _ORIGIN.match(origin)
    if origin == "*" or (match is not None and int(match.group("port") or 0) <= _MAX_PORT):
        return None
    return (
        f"'{origin}' is not an origin; use scheme://host[:port] with no path or trailing slash, the host "
        "made of letters, digits and hyphens, e.g. 'https://app.example.com'"
    )


@dataclass(frozen=True)
class CorsPolicy:
    """One CORS configuration for the preflight, the gateway error responses and the handlers."""

    allow_origins: Sequence[str]
    allow_methods: Sequence[str] = DEFAULT_CORS_METHODS
    allow_headers: Sequence[str] = DEFAULT_CORS_HEADERS
    allow_credentials: bool = False
    max_age: Duration = DEFAULT_CORS_MAX_AGE

    def validate(self, errors: PropErrors, prop: str = "cors") -> None:
        """Add every problem of this policy to `errors`, the props named under `prop`."""
        origins = list(self.allow_origins)
        errors.check(
            bool(origins), f"{prop}.allow_origins", "list at least one origin, e.g. 'https://app.example.com'"
        )
        if "*" in origins:
            errors.check(
                not self.allow_credentials,
                f"{prop}.allow_origins",
                "'*' cannot be combined with allow_credentials=True (browsers reject it and it would "
                "expose every user's responses to any site); list the exact origins",
            )
            errors.check(
                len(origins) == 1, f"{prop}.allow_origins", "'*' already allows every origin; list it alone"
            )
        for origin in origins:
            problem = origin_problem(origin)
            if problem is not None:
                errors.add(f"{prop}.allow_origins", problem)
        for verb in self.allow_methods:
            errors.check(
                verb in HTTP_METHODS,
                f"{prop}.allow_methods",
                f"'{verb}' is not one of {', '.join(HTTP_METHODS)}",
            )
        # aws-cdk-lib throws through jsii on both (CorsOptions: "ANY cannot be used with any other
        # method"; max_age goes through to_seconds(), which refuses a fraction of a second) (issue #18).
        errors.check(
            "ANY" not in self.allow_methods or len(self.allow_methods) == 1,
            f"{prop}.allow_methods",
            "ANY already allows every method; list it alone or list the methods",
        )
        check_whole_seconds(errors, f"{prop}.max_age", self.max_age)  # the headers carry it in seconds

    def preflight(self) -> apigw.CorsOptions:
        """The OPTIONS preflight of every resource of a REST API."""
        return apigw.CorsOptions(
            allow_origins=list(self.allow_origins),
            allow_methods=list(self.allow_methods),
            allow_headers=list(self.allow_headers),
            allow_credentials=self.allow_credentials,
            max_age=self.max_age,
        )

    def gateway_response_headers(self) -> dict[str, str]:
        """Headers for API Gateway's own error responses (values are mapping expressions)."""
        origins = list(self.allow_origins)
        headers = {
            # Gateway responses cannot pick from a list: one origin is returned as is, several echo
            # the request's Origin (these responses carry only API Gateway's own error messages).
            "Access-Control-Allow-Origin": f"'{origins[0]}'"
            if len(origins) == 1
            else "method.request.header.Origin",
            "Access-Control-Allow-Headers": f"'{','.join(self.allow_headers)}'",
            "Access-Control-Allow-Methods": f"'{','.join(self.allow_methods)}'",
        }
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "'true'"
        if len(origins) > 1:
            headers["Vary"] = "'Origin'"
        return headers

    def mapped_response_vtl(self) -> str:
        """VTL that sets CORS headers on a mapped (non-proxy) response for an allowed Origin only."""
        lines = ['#set($origin = $input.params().header.get("Origin"))']
        if "*" in self.allow_origins:
            lines.append("#set($context.responseOverride.header.Access-Control-Allow-Origin = '*')")
        else:
            condition = " || ".join(f'$origin == "{origin}"' for origin in self.allow_origins)
            lines += [
                f"#if({condition})",
                "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
                "#set($context.responseOverride.header.Vary = 'Origin')",
            ]
            if self.allow_credentials:
                lines.append(
                    "#set($context.responseOverride.header.Access-Control-Allow-Credentials = 'true')"
                )
            lines.append("#end")
        return "\n".join(lines) + "\n"

    def environment(self) -> dict[str, str]:
        """The handlers' settings; `constructs_lib.runtime.cors.cors_config_from_env` reads them back."""
        return {
            CORS_ALLOW_ORIGINS: ",".join(self.allow_origins),
            CORS_ALLOW_HEADERS: ",".join(self.allow_headers),
            CORS_ALLOW_CREDENTIALS: "true" if self.allow_credentials else "false",
            CORS_MAX_AGE: Token.as_string(self.max_age.to_seconds())
            if _resolved.is_unresolved_duration(self.max_age)
            else str(int(_resolved.to_seconds(self.max_age))),
        }

    def bucket_cors_rule(
        self,
        rule_id: str,
        methods: Sequence[s3.HttpMethods],
        *,
        allowed_headers: Sequence[str] = (),
        exposed_headers: Sequence[str] = (),
    ) -> s3.CorsRule:
        """A bucket CORS rule for these origins (S3 answers credentialed requests of a listed origin)."""
        return s3.CorsRule(
            id=rule_id,
            allowed_origins=list(self.allow_origins),
            allowed_methods=list(methods),
            allowed_headers=list(allowed_headers) or None,
            exposed_headers=list(exposed_headers) or None,
            max_age=self.max_age.to_seconds()
            if _resolved.is_unresolved_duration(self.max_age)
            else int(_resolved.to_seconds(self.max_age)),
        )
