"""The environment contract between the library's constructs and the handlers they configure.

A construct writes these variables into a function's environment (`ServerlessApi.cors_environment`,
...) and a handler reads them: both sides import the names from here, so neither spells a
variable name itself. `require` reads one for a handler and says which construct sets it when
it is missing. No CDK import: this module runs in Lambda.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# CORS of a ServerlessApi (CorsPolicy.environment writes them, runtime.cors reads them).
CORS_ALLOW_ORIGINS = "CORS_ALLOW_ORIGINS"  # comma-separated origins, or "*"
CORS_ALLOW_HEADERS = "CORS_ALLOW_HEADERS"  # comma-separated request headers browsers may send
CORS_ALLOW_CREDENTIALS = "CORS_ALLOW_CREDENTIALS"  # "true" or "false"
CORS_MAX_AGE = "CORS_MAX_AGE"  # seconds a browser may cache a preflight answer

# Who sets each variable, for the message when a handler finds it missing.
SET_BY: Mapping[str, str] = {
    CORS_ALLOW_ORIGINS: "ServerlessApi.cors_environment",
    CORS_ALLOW_HEADERS: "ServerlessApi.cors_environment",
    CORS_ALLOW_CREDENTIALS: "ServerlessApi.cors_environment",
    CORS_MAX_AGE: "ServerlessApi.cors_environment",
}


class MissingEnvironmentError(RuntimeError):
    """A handler started without a variable its construct should have set."""


def require(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of `name`, or MissingEnvironmentError naming what sets it (a function misconfigured
    at deployment should fail at start, not answer with a default)."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if not value:
        where = SET_BY.get(name, "the construct that configures this function")
        raise MissingEnvironmentError(f"{name} is not set: pass {where} to the function's environment")
    return value


def require_int(name: str, environ: Mapping[str, str] | None = None) -> int:
    """`require`, as a whole number."""
    value = require(name, environ)
    if not (value.isascii() and value.lstrip("-").isdigit()):
        raise MissingEnvironmentError(f"{name} is '{value}': expected a whole number")
    return int(value)
