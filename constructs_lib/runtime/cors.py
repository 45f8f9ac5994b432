"""CORS settings for Powertools REST resolvers, read from the function's environment.

`ServerlessApi.cors_environment` (`CorsPolicy.environment`) sets the variables, named in
`constructs_lib.runtime.environment`, so API Gateway's own responses (preflight,
authorizer and validator rejections) and the handlers' responses carry the same CORS headers:

- CORS_ALLOW_ORIGINS: comma-separated origins, or ``*``
- CORS_ALLOW_HEADERS: comma-separated request headers browsers may send (added to Powertools'
  Authorization, Content-Type, X-Amz-Date, X-Api-Key and X-Amz-Security-Token)
- CORS_ALLOW_CREDENTIALS: ``true`` or ``false``
- CORS_MAX_AGE: seconds a browser may cache a preflight answer

Every response that echoes the request's origin also carries ``Vary: Origin``, so that a cache in
front of the API never serves one origin's CORS answer to another.

No CDK import: this module runs in Lambda.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.event_handler import CORSConfig

from constructs_lib.runtime.environment import (
    CORS_ALLOW_CREDENTIALS,
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_ORIGINS,
    CORS_MAX_AGE,
)

_TRUE_FALSE = {"true": True, "false": False}


class _OriginVaryingCORSConfig(CORSConfig):
    """Powertools' CORSConfig, plus ``Vary: Origin`` whenever the allowed origin is echoed."""

    def to_dict(self, origin: str | None) -> dict[str, str]:
        headers: dict[str, str] = super().to_dict(origin)
        if headers.get("Access-Control-Allow-Origin", "*") != "*":
            headers["Vary"] = "Origin"
        return headers


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def cors_config_from_env() -> CORSConfig:
    """The CORSConfig described by the CORS_* environment variables.

    Raises ValueError naming every variable that is missing or malformed: a function without
    its CORS settings would answer browsers inconsistently with API Gateway, so it fails at
    start instead of serving.
    """
    problems: list[str] = []
    origins = _split(os.environ.get(CORS_ALLOW_ORIGINS, ""))
    if not origins:
        problems.append(f"{CORS_ALLOW_ORIGINS} is not set: give comma-separated origins or '*'")
    credentials_text = os.environ.get(CORS_ALLOW_CREDENTIALS, "false").strip().lower()
    credentials = _TRUE_FALSE.get(credentials_text)
    if credentials is None:
        problems.append(f"{CORS_ALLOW_CREDENTIALS} is '{credentials_text}': use 'true' or 'false'")
    elif credentials and "*" in origins:
        problems.append(
            f"{CORS_ALLOW_CREDENTIALS} is 'true' with origin '*': browsers reject credentials for any "
            "origin; list the origins explicitly"
        )
    max_age_text = os.environ.get(CORS_MAX_AGE, "").strip()
    max_age: int | None = None
    if max_age_text:
        if max_age_text.isascii() and max_age_text.isdigit():
            max_age = int(max_age_text)
        else:
            problems.append(f"{CORS_MAX_AGE} is '{max_age_text}': use a whole number of seconds")
    if problems:
        raise ValueError("; ".join(problems))
    return _OriginVaryingCORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=_split(os.environ.get(CORS_ALLOW_HEADERS, "")),
        max_age=max_age,
        allow_credentials=bool(credentials),
    )
