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

# ImageStore.runtime_environment (and content_type_environment)
IMAGE_STORE_BUCKET = "IMAGE_STORE_BUCKET"
IMAGE_STORE_UPLOAD_PREFIX = "IMAGE_STORE_UPLOAD_PREFIX"
IMAGE_STORE_THUMBNAIL_BUCKET = "IMAGE_STORE_THUMBNAIL_BUCKET"
IMAGE_STORE_THUMBNAIL_PREFIX = "IMAGE_STORE_THUMBNAIL_PREFIX"
IMAGE_STORE_PRESIGN_ROLE_ARN = "IMAGE_STORE_PRESIGN_ROLE_ARN"
IMAGE_STORE_UPLOAD_URL_TTL = "IMAGE_STORE_UPLOAD_URL_TTL"  # whole seconds
IMAGE_STORE_DOWNLOAD_URL_TTL = "IMAGE_STORE_DOWNLOAD_URL_TTL"  # whole seconds
IMAGE_STORE_ALLOWED_CONTENT_TYPES = "IMAGE_STORE_ALLOWED_CONTENT_TYPES"  # comma-separated

# WebSocketApi.handler_environment
CONNECTIONS_TABLE = "CONNECTIONS_TABLE"
CONNECTIONS_ENDPOINT = "CONNECTIONS_ENDPOINT"  # https://.../<stage>, the @connections API
CONNECTION_TTL_SECONDS = "CONNECTION_TTL_SECONDS"

# SearchDomain.search_environment (and the indexers SearchDomain.index_table creates)
SEARCH_DOMAIN_ENDPOINT = "SEARCH_DOMAIN_ENDPOINT"
SEARCH_INDEX = "SEARCH_INDEX"
SEARCH_ID_ATTRIBUTE = "SEARCH_ID_ATTRIBUTE"

# IdempotencyTable.runtime_environment (Powertools' DynamoDBPersistenceLayer takes the name)
IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"

# ServerlessFunction (Powertools reads these itself)
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"

# Who sets each variable, for the message when a handler finds it missing.
SET_BY: Mapping[str, str] = {
    **dict.fromkeys(
        (CORS_ALLOW_ORIGINS, CORS_ALLOW_HEADERS, CORS_ALLOW_CREDENTIALS, CORS_MAX_AGE),
        "ServerlessApi.cors_environment",
    ),
    **dict.fromkeys(
        (
            IMAGE_STORE_BUCKET,
            IMAGE_STORE_UPLOAD_PREFIX,
            IMAGE_STORE_THUMBNAIL_BUCKET,
            IMAGE_STORE_THUMBNAIL_PREFIX,
            IMAGE_STORE_PRESIGN_ROLE_ARN,
            IMAGE_STORE_UPLOAD_URL_TTL,
            IMAGE_STORE_DOWNLOAD_URL_TTL,
        ),
        "ImageStore.runtime_environment",
    ),
    IMAGE_STORE_ALLOWED_CONTENT_TYPES: "ImageStore.content_type_environment",
    **dict.fromkeys(
        (CONNECTIONS_TABLE, CONNECTIONS_ENDPOINT, CONNECTION_TTL_SECONDS), "WebSocketApi.handler_environment"
    ),
    **dict.fromkeys((SEARCH_DOMAIN_ENDPOINT, SEARCH_INDEX), "SearchDomain.search_environment(index)"),
    SEARCH_ID_ATTRIBUTE: "SearchDomain.index_table",
    IDEMPOTENCY_TABLE: "IdempotencyTable.runtime_environment",
    POWERTOOLS_METRICS_NAMESPACE: "ServerlessFunction(environment=...)",
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
