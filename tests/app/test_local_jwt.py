"""`make local` runs a JwtAuthorizer like any Lambda authorizer: a small app synthesized against a local
OpenID Connect provider (tests/oidc_provider.py), served by the runner, called over HTTP and WebSocket.

The authorizer's own worker fetches the provider's discovery document and keys over HTTP, as it
would from Auth0 or Okta in AWS; the gateway caches nothing and applies its policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from constructs_lib import (
    ApiAuthorizers,
    AuthorizationMode,
    CorsPolicy,
    JwtAuthorizer,
    ServerlessApi,
    WebSocketApi,
)
from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.testing import LocalApp, local_app
from tests.cdk import new_app, new_stack
from tests.oidc_provider import AUDIENCE, OidcProvider, oidc_provider

CLAIMS = Path(__file__).resolve().parent.parent / "fixtures" / "claims_function"
ORIGIN = "https://app.example.com"
TIMEOUT = 30  # seconds: a cold worker imports joserfc and fetches the keys on its first request


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture(scope="module")
def local(provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApp]:
    cdk_out = tmp_path_factory.mktemp("jwt-app")
    app = new_app(cdk_out)
    stack = new_stack(app, "JwtApp")
    tokens = JwtAuthorizer(
        stack, "Tokens", issuer=provider.issuer, audiences=[AUDIENCE], required_scopes=["items:read"]
    )
    claims = ServerlessFunction(stack, "Claims", entry=CLAIMS)
    api = ServerlessApi(
        stack,
        "Api",
        cors=CorsPolicy(allow_origins=[ORIGIN]),
        default_authorization=AuthorizationMode.JWT,
        authorizers=ApiAuthorizers(jwt_authorizer=tokens),
    )
    api.add_route("GET", "/me", claims.function)
    sockets = WebSocketApi(stack, "Sockets")
    sockets.add_route("$connect", claims.function, authorizer=tokens)
    sockets.add_route("$default", claims.function, return_response=True)
    app.synth()
    with local_app(cdk_out) as running:
        yield running


def _get(local: LocalApp, token: str | None) -> requests.Response:
    headers = {"Origin": ORIGIN}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(local.rest_api_url() + "me", headers=headers, timeout=TIMEOUT)


def test_valid_token_reaches_the_handler_with_its_claims(local: LocalApp, provider: OidcProvider) -> None:
    response = _get(local, provider.token(scope="items:read", email="ana@example.com"))
    assert response.status_code == 200, response.text
    authorizer = response.json()["authorizer"]
    assert authorizer["principalId"] == "user-1"
    assert authorizer["sub"] == "user-1"
    assert authorizer["email"] == "ana@example.com"
    assert authorizer["aud"] == AUDIENCE
    assert provider.requests["/jwks"] >= 1  # the authorizer's worker fetched the provider's keys


@pytest.mark.parametrize(
    ("claims", "answer"),
    [
        (None, (401, "Unauthorized")),  # no token
        ({"exp": 1_000_000_000, "scope": "items:read"}, (401, "Unauthorized")),  # expired
        ({"aud": "https://other.example.com", "scope": "items:read"}, (401, "Unauthorized")),
        ({"scope": "openid"}, (403, "User is not authorized to access this resource with an explicit deny")),
    ],
    ids=["no token", "expired", "wrong audience", "missing scope"],
)
def test_rejections_answer_json_with_cors(
    local: LocalApp, provider: OidcProvider, claims: dict[str, Any] | None, answer: tuple[int, str]
) -> None:
    response = _get(local, None if claims is None else provider.token(**claims))
    assert (response.status_code, response.json()) == (answer[0], {"message": answer[1]})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_header_that_is_not_a_jwt_is_refused_without_invoking_the_authorizer(local: LocalApp) -> None:
    response = requests.get(
        local.rest_api_url() + "me", headers={"Authorization": "Basic dXNlcjpwYXNz"}, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_websocket_connect_takes_the_token_in_the_query_string(
    local: LocalApp, provider: OidcProvider
) -> None:
    token = provider.token(scope="items:read")
    url = local.websocket_url() + "/dev"
    with connect(f"{url}?token={token}", open_timeout=TIMEOUT) as socket:
        socket.send("{}")
        # Messages of the connection carry what the authorizer passed on at $connect.
        assert json.loads(socket.recv(timeout=TIMEOUT))["authorizer"]["sub"] == "user-1"
    forged = provider.token(scope="items:read", aud="https://other.example.com")
    unscoped = provider.token(scope="openid")
    for refused_url, status in ((url, 401), (f"{url}?token={forged}", 401), (f"{url}?token={unscoped}", 403)):
        with pytest.raises(InvalidStatus) as refused:
            connect(refused_url, open_timeout=TIMEOUT)
        assert refused.value.response.status_code == status
