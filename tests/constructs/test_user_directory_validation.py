"""UserDirectory: what Cognito refuses at deployment, or aws-cdk-lib throws through jsii, fails at synth.

Nothing here synthesizes: each case builds into a fresh stack of one shared App (issue #18).
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cognito as cognito

from constructs_lib import UserDirectory
from tests.cdk import TEST_ENV, new_app

_ids = count()


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


def _oauth(
    *callbacks: str, logout: tuple[str, ...] = (), default: str | None = None
) -> cognito.OAuthSettings:
    return cognito.OAuthSettings(
        flows=cognito.OAuthFlows(authorization_code_grant=True),
        callback_urls=list(callbacks),
        logout_urls=list(logout) or None,
        default_redirect_uri=default,
    )


CASES: dict[str, tuple[dict[str, Any], str]] = {
    "http-callback": (
        {"oauth": _oauth("http://app.example.com/callback")},
        "oauth.callback_urls: 'http://app.example.com/callback' uses http, which Cognito allows only for "
        "localhost; use https",
    ),
    "fragment": (
        {"oauth": _oauth("https://app.example.com/#/callback")},
        "oauth.callback_urls: 'https://app.example.com/#/callback' has a fragment (#...), which Cognito "
        "refuses in redirect URLs; remove it",
    ),
    "relative-logout": (
        {"oauth": _oauth("https://app.example.com/callback", logout=("/signed-out",))},
        "oauth.logout_urls: '/signed-out' is not an absolute URL; write it with its scheme, like "
        "https://app.example.com/callback",
    ),
    "too-long": (
        {"oauth": _oauth("https://app.example.com/" + "a" * 1010)},
        "is longer than Cognito's 1024 characters",
    ),
    "too-many": (
        {"oauth": _oauth(*(f"https://app.example.com/{i}" for i in range(101)))},
        "oauth.callback_urls: 101 URLs exceed Cognito's 100 per app client",
    ),
    "default-not-a-callback": (
        {"oauth": _oauth("https://app.example.com/callback", default="https://app.example.com/other")},
        "oauth.default_redirect_uri: 'https://app.example.com/other' is not one of callback_urls; add it "
        "there or choose one of them",
    ),
    "fractional-minutes": (
        {"access_token_validity": Duration.seconds(330)},
        "access_token_validity: 5.5 minutes is not a whole number of minutes",
    ),
    "sub-second": (
        {"id_token_validity": Duration.millis(600_500)},
        "id_token_validity: 10.0083 minutes is not a whole number of minutes",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_props_cognito_would_refuse_raise(app: App, case: str) -> None:
    props, message = CASES[case]
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    with pytest.raises(ValueError, match=re.escape(message)):
        UserDirectory(stack, "Users", **props)


def test_localhost_https_and_app_schemes_pass(app: App) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    UserDirectory(
        stack,
        "Users",
        oauth=_oauth(
            "http://localhost:3000/callback",
            "https://app.example.com/callback",
            "myapp://callback",
            default="https://app.example.com/callback",
        ),
    )
