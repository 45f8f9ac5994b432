"""The library's JWT authorizer against a local OpenID Connect provider (tests/oidc_provider.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from constructs_lib.functions.jwt_authorizer import handler as authorizer
from tests.oidc_provider import AUDIENCE, OidcProvider, oidc_provider

METHOD_ARN = "arn:aws:execute-api:us-east-1:111111111111:abc123/dev/GET/groups/1"
STAGE_ARN = "arn:aws:execute-api:us-east-1:111111111111:abc123/dev/*"


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with oidc_provider() as running:
        yield running


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _verifier(provider: OidcProvider, clock: Clock, scopes: tuple[str, ...] = ()) -> authorizer.JwtVerifier:
    keys = authorizer.IssuerKeys(provider.issuer, clock=clock)
    return authorizer.JwtVerifier(keys, audiences=["other", AUDIENCE], required_scopes=scopes)


def _token_event(token: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}


def _answer(verifier: authorizer.JwtVerifier, token: str) -> dict[str, Any] | str:
    """The authorizer's policy, or the exception message API Gateway would see."""
    try:
        return authorizer.authorize(_token_event(token), verifier, "token")
    except Exception as error:
        return str(error)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_valid_token_is_allowed_on_the_stage_with_claims_as_strings(
    provider: OidcProvider, clock: Clock, kid: str
) -> None:
    token = provider.token(
        kid, email="a@example.com", groups=["admin", "dev"], email_verified=True, auth_time=1700000000
    )
    answer = _answer(_verifier(provider, clock), token)
    assert isinstance(answer, dict)
    assert answer["principalId"] == "user-1"
    assert answer["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_ARN}
    ]
    context = answer["context"]
    assert context["sub"] == "user-1"
    assert context["email"] == "a@example.com"
    assert context["groups"] == "admin,dev"
    assert context["email_verified"] == "true"
    assert context["aud"] == AUDIENCE
    assert context["exp"].endswith(" UTC " + time.strftime("%Y", time.gmtime()))
    assert context["auth_time"] == "1700000000"  # as the Cognito authorizer passes it: only exp/iat as dates
    assert all(isinstance(value, str) for value in context.values())


def test_keys_are_fetched_once_and_reused_across_invocations(provider: OidcProvider, clock: Clock) -> None:
    verifier = _verifier(provider, clock)
    for _ in range(3):
        assert isinstance(_answer(verifier, provider.token()), dict)
    assert provider.requests == {"/.well-known/openid-configuration": 1, "/jwks": 1}


def test_keys_are_re_read_after_their_maximum_age(provider: OidcProvider, clock: Clock) -> None:
    verifier = _verifier(provider, clock)
    assert isinstance(_answer(verifier, provider.token()), dict)
    clock.now += authorizer.JWKS_MAX_AGE_SECONDS
    assert isinstance(_answer(verifier, provider.token()), dict)
    assert provider.requests["/jwks"] == 2


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        # exp and nbf: seconds from now, when the test runs
        ("expired", {"exp": -authorizer.LEEWAY_SECONDS - 60}),
        ("not yet valid", {"nbf": authorizer.LEEWAY_SECONDS + 60}),
        ("wrong audience", {"aud": "https://someone-else.example.com"}),
        ("wrong issuer", {"iss": "https://evil.example.com/"}),
        ("no expiry", {"exp": None}),
        ("no audience", {"aud": None}),
    ],
)
def test_token_failing_a_claim_check_is_unauthorized(
    provider: OidcProvider, clock: Clock, case: str, claims: dict[str, Any]
) -> None:
    now = int(time.time())
    timed = {
        name: now + value if name in ("exp", "nbf") and value is not None else value
        for name, value in claims.items()
    }
    assert _answer(_verifier(provider, clock), provider.token(**timed)) == "Unauthorized", case


def test_expiry_and_not_before_allow_small_clock_skew(provider: OidcProvider, clock: Clock) -> None:
    now = int(time.time())
    verifier = _verifier(provider, clock)
    assert isinstance(_answer(verifier, provider.token(exp=now - 30)), dict)
    assert isinstance(_answer(verifier, provider.token(nbf=now + 30)), dict)


def test_unknown_key_refreshes_the_keys_once_then_is_rejected(provider: OidcProvider, clock: Clock) -> None:
    verifier = _verifier(provider, clock)
    assert isinstance(_answer(verifier, provider.token()), dict)
    clock.now += authorizer.MIN_REFRESH_INTERVAL_SECONDS
    provider.add_key("forged", "RS256", publish=False)
    assert _answer(verifier, provider.token("forged")) == "Unauthorized"
    assert provider.requests["/jwks"] == 2  # it looked for a rotated key
    # Another unknown kid right after: no request to the issuer (refreshes are rate-bounded).
    provider.add_key("forged-2", "ES256", publish=False)
    for _ in range(5):
        assert _answer(verifier, provider.token("forged-2")) == "Unauthorized"
    assert provider.requests["/jwks"] == 2


def _without_kid(provider: OidcProvider, kid: str) -> str:
    """A token as provider.token(kid) makes it, with no kid in its header."""
    key = provider.published.get(kid) or provider.unpublished[kid]
    algorithm = "RS256" if isinstance(key, RSAKey) else "ES256"
    payload = provider.token(kid).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return jwt.encode({"alg": algorithm}, claims, key, algorithms=[algorithm])


def test_a_token_without_kid_is_verified_with_the_one_key_of_its_algorithm(
    provider: OidcProvider, clock: Clock
) -> None:
    verifier = _verifier(provider, clock)  # the JWKS: one RSA key (rsa-1) and one P-256 key (ec-1)
    assert isinstance(_answer(verifier, _without_kid(provider, "rsa-1")), dict)
    assert isinstance(_answer(verifier, _without_kid(provider, "ec-1")), dict)
    provider.add_key("rsa-other", "RS256", publish=False)  # the one RSA key must also be the signer
    assert _answer(verifier, _without_kid(provider, "rsa-other")) == "Unauthorized"


def test_a_token_without_kid_is_refused_when_several_keys_could_verify_it(
    provider: OidcProvider, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    provider.add_key("rsa-2", "RS256")
    verifier = _verifier(provider, clock)
    assert _answer(verifier, _without_kid(provider, "rsa-1")) == "Unauthorized"
    assert "the token has no kid and the issuer's JWKS has 2 RS256 keys, not exactly one" in caplog.text
    assert isinstance(_answer(verifier, _without_kid(provider, "ec-1")), dict)  # still one EC key


def test_rotated_key_is_picked_up_by_a_refresh(provider: OidcProvider, clock: Clock) -> None:
    verifier = _verifier(provider, clock)
    assert isinstance(_answer(verifier, provider.token()), dict)
    clock.now += authorizer.MIN_REFRESH_INTERVAL_SECONDS
    provider.add_key("rsa-2", "RS256")
    assert isinstance(_answer(verifier, provider.token("rsa-2")), dict)
    assert provider.requests["/jwks"] == 2


def test_tampered_payload_is_unauthorized(provider: OidcProvider, clock: Clock) -> None:
    header, payload, signature = provider.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    tampered = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    assert _answer(_verifier(provider, clock), tampered) == "Unauthorized"


def test_unsigned_token_is_unauthorized(provider: OidcProvider, clock: Clock) -> None:
    claims = {"iss": provider.issuer, "aud": AUDIENCE, "sub": "admin", "exp": int(time.time()) + 600}
    header = _b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    unsigned = f"{header}.{_b64(json.dumps(claims).encode())}."
    assert _answer(_verifier(provider, clock), unsigned) == "Unauthorized"


def test_hs256_signed_with_the_public_key_is_unauthorized(provider: OidcProvider, clock: Clock) -> None:
    """The algorithm-confusion attack: an HMAC 'signed' with the issuer's public key as the secret."""
    public_pem = provider.published["rsa-1"].as_pem(private=False)
    claims = {"iss": provider.issuer, "aud": AUDIENCE, "sub": "admin", "exp": int(time.time()) + 600}
    header = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert _answer(_verifier(provider, clock), f"{signing_input}.{_b64(signature)}") == "Unauthorized"


@pytest.mark.parametrize("token", ["", "Bearer ", "not-a-jwt", "a.b", "e30.e30.e30", "!!!.e30.x"])
def test_missing_or_malformed_token_is_unauthorized(provider: OidcProvider, clock: Clock, token: str) -> None:
    event = {"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.authorize(event, _verifier(provider, clock), "token")


def test_missing_scope_is_denied_and_granted_scopes_allow(provider: OidcProvider, clock: Clock) -> None:
    verifier = _verifier(provider, clock, scopes=("images:read", "images:write"))
    denied = _answer(verifier, provider.token(scope="images:read openid"))
    assert isinstance(denied, dict)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied["context"] == {}
    assert _answer(verifier, provider.token()) != "Unauthorized"  # authenticated: 403, not 401
    for claims in ({"scope": "openid images:write images:read"}, {"scp": ["images:read", "images:write"]}):
        allowed = _answer(verifier, provider.token(**claims))
        assert isinstance(allowed, dict)
        assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_websocket_connect_takes_the_token_from_the_query_string(
    provider: OidcProvider, clock: Clock
) -> None:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:111111111111:ws123/dev/$connect",
        "queryStringParameters": {"access_token": provider.token()},
        "headers": {},
    }
    answer = authorizer.authorize(event, _verifier(provider, clock), "access_token")
    assert answer["policyDocument"]["Statement"][0]["Resource"] == (
        "arn:aws:execute-api:us-east-1:111111111111:ws123/dev/*"
    )
    event["queryStringParameters"] = {}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.authorize(event, _verifier(provider, clock), "access_token")


def test_unreachable_issuer_fails_the_authorizer_instead_of_allowing(clock: Clock) -> None:
    keys = authorizer.IssuerKeys("http://127.0.0.1:9/", clock=clock)
    verifier = authorizer.JwtVerifier(keys, audiences=[AUDIENCE])
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImEifQ.e30.c2ln"
    with pytest.raises(OSError):
        authorizer.authorize(_token_event(token), verifier, "token")


def test_cached_keys_outlive_a_failed_refresh(provider: OidcProvider, clock: Clock) -> None:
    verifier = _verifier(provider, clock)
    token = provider.token()
    assert isinstance(_answer(verifier, token), dict)
    verifier.keys._fetch = lambda url: (_ for _ in ()).throw(OSError("connection refused"))
    clock.now += authorizer.JWKS_MAX_AGE_SECONDS
    assert isinstance(_answer(verifier, token), dict)


def test_discovery_document_for_another_issuer_is_refused(clock: Clock) -> None:
    documents = {
        "https://idp.example.com/.well-known/openid-configuration": {
            "issuer": "https://evil.example.com/",
            "jwks_uri": "https://evil.example.com/jwks",
        }
    }
    keys = authorizer.IssuerKeys("https://idp.example.com/", fetch=documents.__getitem__, clock=clock)
    with pytest.raises(ValueError, match=r"names issuer 'https://evil\.example\.com/'"):
        keys.key_set("a")


@pytest.mark.parametrize(
    "url", ["http://idp.example.com/", "file:///etc/passwd", "ftp://idp.example.com/", "https://"]
)
def test_only_https_or_loopback_urls_are_fetched(url: str) -> None:
    with pytest.raises(ValueError, match="must be an https:// URL"):
        authorizer.check_url(url, "JWT_ISSUER")
    for allowed in (
        "https://idp.example.com/",
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://[::1]/",
    ):
        authorizer.check_url(allowed, "JWT_ISSUER")


def test_handler_reads_its_configuration_from_the_environment(
    provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authorizer, "_VERIFIER", None)
    monkeypatch.setenv("JWT_ISSUER", provider.issuer)
    monkeypatch.setenv("JWT_AUDIENCES", f"{AUDIENCE},https://admin.example.com")
    monkeypatch.setenv("JWT_REQUIRED_SCOPES", "images:read")
    answer = authorizer.handler(_token_event(provider.token(scope="images:read")), None)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert (
        authorizer.handler(_token_event(provider.token()), None)["policyDocument"]["Statement"][0]["Effect"]
        == "Deny"
    )
    assert provider.requests["/jwks"] == 1  # one verifier and key cache per container
