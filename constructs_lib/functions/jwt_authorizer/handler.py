"""JWT authorizer: API Gateway Lambda authorizer for tokens of any OpenID Connect identity provider.

Verifies RS256 and ES256 tokens (Auth0, Okta, Entra ID, Google, Cognito...) against the keys the
issuer publishes: its discovery document (``<issuer>/.well-known/openid-configuration``) names
the JWKS, both fetched once per container and cached. A token signed with a key id the cache does
not hold refreshes the keys first (the issuer rotated them), at most once per
`MIN_REFRESH_INTERVAL_SECONDS`, so a stream of forged key ids cannot make this function hammer
the issuer. A token without a key id is verified with the JWKS's one key of its algorithm, and
refused when there are several. Then ``exp``/``nbf`` (with `LEEWAY_SECONDS` of clock skew),
``iss``, ``aud`` and the required scopes are checked.

Answers, as API Gateway expects of a Lambda authorizer:
- a missing, malformed, forged, expired, not-yet-valid or foreign token: ``Unauthorized`` (401);
- a valid token without every required scope: a Deny policy (403);
- a valid token: an Allow policy for every method of the stage (API Gateway caches the decision
  per token, so it must hold for the other routes too) with the claims as the context, each a
  string, the way the Cognito authorizer passes them (``exp``/``iat`` as dates, lists joined
  with commas); handlers read them at ``requestContext.authorizer.<claim>``.

Events: TOKEN (REST APIs: the Authorization header, with or without ``Bearer``) and REQUEST (the
WebSocket ``$connect`` route: the query parameter `JWT_TOKEN_QUERY_PARAMETER`, since browsers
cannot set headers on a WebSocket handshake; else the Authorization header).

Environment (set by ServerlessApi / WebSocketApi from `JwtAuthorizerOptions`): JWT_ISSUER,
JWT_AUDIENCES (comma-separated), JWT_REQUIRED_SCOPES (space-separated, optional),
JWT_TOKEN_QUERY_PARAMETER (REQUEST events), JWT_LEEWAY_SECONDS.

No CDK import: this module runs in Lambda. It depends on joserfc (requirements.txt) and the
library's runtime helpers (`constructs_lib.runtime.hosts`), which its asset includes.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import Key, KeySet

from constructs_lib.runtime.hosts import is_loopback

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

ALGORITHMS = ("RS256", "ES256")  # asymmetric only: an HS256 token "signed" with a public key is refused
# The JWK each algorithm verifies with (RFC 7518 section 6), to pick the key of a token without a kid.
_KEY_FAMILIES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
LEEWAY_SECONDS = 60  # clock skew between the issuer and Lambda; tokens live minutes to hours
# Keys are re-read at least this often even when every kid is known, so a revoked key stops
# verifying within the hour.
JWKS_MAX_AGE_SECONDS = 3600
# At most one refresh per 30 s for unknown key ids: a rotation is picked up at once, a flood of
# forged kids costs the issuer two requests a minute per container.
MIN_REFRESH_INTERVAL_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 3  # API Gateway waits 10 s for an authorizer; leave time for a retry
MAX_DOCUMENT_BYTES = 1024 * 1024  # a discovery document or JWKS is a few KB
DEFAULT_TOKEN_QUERY_PARAMETER = "token"  # noqa: S105 - a parameter name, not a secret
UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into a 401
# Context keys API Gateway sets itself; a claim of the same name is not passed on.
_RESERVED_CONTEXT_KEYS = {"principalId", "integrationLatency"}


class RejectedTokenError(Exception):
    """The token is not acceptable; `reason` is logged, never returned to the caller."""

    def __init__(self, reason: str, *, forbidden: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.forbidden = forbidden  # authenticated but lacking a scope: 403 instead of 401


def check_url(url: str, what: str) -> None:
    """`url` must be https, or http on a loopback host (local runs and tests); else ValueError."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ValueError(f"{what} '{url}' must be an https:// URL (http:// only on a loopback host)")


def fetch_json(url: str) -> dict[str, Any]:
    """GET `url` as a JSON object (https only, bounded in time and size)."""
    check_url(url, "URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - checked above
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - checked above
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


class IssuerKeys:
    """The issuer's signing keys, read through its discovery document and cached."""

    def __init__(
        self,
        issuer: str,
        *,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        max_age: float = JWKS_MAX_AGE_SECONDS,
        min_refresh_interval: float = MIN_REFRESH_INTERVAL_SECONDS,
    ) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._clock = clock
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key_set(self, kid: str | None) -> KeySet:
        """Keys that may hold `kid`: the cached set, refreshed when stale or missing `kid` (rate-bounded)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            unknown = self._keys is not None and not _has_kid(self._keys, kid)
            may_refresh = self._fetched_at is None or now - self._fetched_at >= self._min_refresh_interval
            if stale or (unknown and may_refresh):
                try:
                    self._keys = self._load()
                    self._fetched_at = now
                except (OSError, ValueError, JoseError) as error:
                    if self._keys is None:
                        raise  # nothing to verify with: the authorizer fails (500), it never allows
                    LOG.warning("Keeping the cached keys of %s: refresh failed: %s", self.issuer, error)
                    self._fetched_at = now  # back off for the refresh interval like a success
            if self._keys is None:  # pragma: no cover - _load either sets keys or raises
                raise ValueError(f"no keys for {self.issuer}")
            return self._keys

    def _load(self) -> KeySet:
        discovery = self._fetch(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if discovery.get("issuer") != self.issuer:
            named = discovery.get("issuer")
            raise ValueError(f"the discovery document names issuer {named!r}, not {self.issuer!r}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError("the discovery document has no jwks_uri")
        check_url(jwks_uri, "jwks_uri")
        jwks = self._fetch(jwks_uri)
        keys = [
            key for key in jwks.get("keys", []) if isinstance(key, dict) and key.get("use", "sig") == "sig"
        ]
        return KeySet.import_key_set({"keys": keys})


def _has_kid(keys: KeySet, kid: str | None) -> bool:
    return kid is None or any(key.kid == kid for key in keys.keys)


class JwtVerifier:
    """Checks one token against an issuer, audiences and required scopes; returns its claims."""

    def __init__(
        self,
        keys: IssuerKeys,
        *,
        audiences: Sequence[str],
        required_scopes: Sequence[str] = (),
        leeway: int = LEEWAY_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.audiences = list(audiences)
        self.required_scopes = list(required_scopes)
        self.leeway = leeway
        self._now = now

    def verify(self, token: str) -> dict[str, Any]:
        header = _unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise RejectedTokenError(f"algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise RejectedTokenError("the kid header is not a string")
        keys = self.keys.key_set(kid)
        if not _has_kid(keys, kid):
            raise RejectedTokenError(f"no key {kid!r} in the issuer's JWKS, even after a refresh")
        verifying: KeySet | Key = keys if kid is not None else _only_key_for(keys, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(token, verifying, algorithms=[algorithm]).claims
        except InvalidKeyIdError:
            raise RejectedTokenError("the token names no key of the issuer's JWKS") from None
        except (JoseError, ValueError) as error:
            raise RejectedTokenError(f"the signature does not verify: {error}") from None
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._now()),
            leeway=self.leeway,
            iss={"essential": True, "value": self.keys.issuer},
            aud={"essential": True, "values": self.audiences},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise RejectedTokenError(f"claim check failed: {error}") from None
        missing = [scope for scope in self.required_scopes if scope not in granted_scopes(claims)]
        if missing:
            raise RejectedTokenError(f"the token lacks the scopes {' '.join(missing)}", forbidden=True)
        return claims


def _only_key_for(keys: KeySet, algorithm: str) -> Key:
    """The key a token without a kid is verified with: the JWKS's one key of `algorithm`'s family.

    As many JWT libraries do, a single candidate is unambiguous; with two or more, trying each would
    let the token choose, so it is refused (issuers that publish several keys set kid).
    """
    key_type, curve = _KEY_FAMILIES[algorithm]
    candidates = [
        key
        for key in keys.keys
        if key.key_type == key_type
        and (curve is None or key.get("crv") == curve)
        and key.get("alg") in (None, algorithm)
    ]
    if len(candidates) != 1:
        raise RejectedTokenError(
            f"the token has no kid and the issuer's JWKS has {len(candidates)} {algorithm} keys, "
            "not exactly one"
        )
    return candidates[0]


def _unverified_header(token: str) -> dict[str, Any]:
    """The header, read unverified to pick the algorithm and key; RejectedTokenError if malformed."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise RejectedTokenError("not a compact JWS (three dot-separated parts)")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        raise RejectedTokenError("the header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise RejectedTokenError("the header is not a JSON object")
    return header


def granted_scopes(claims: Mapping[str, Any]) -> set[str]:
    """Scopes of a token: OAuth's space-separated ``scope``, or ``scp`` (Okta, Entra ID) as text or list."""
    granted: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            granted.update(value.split())
        elif isinstance(value, list):
            granted.update(str(item) for item in value)
    return granted


def claim_text(name: str, value: Any) -> str:
    """A claim as API Gateway passes Cognito claims on: every value a string, times as dates."""
    # Only exp and iat: the Cognito authorizer passes auth_time (and any other number) as its digits.
    if name in ("exp", "iat") and isinstance(value, int | float) and not isinstance(value, bool):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def token_of(event: Mapping[str, Any], query_parameter: str) -> str | None:
    """The token of a TOKEN event, or of a REQUEST event's query parameter or Authorization header."""
    if event.get("type") == "TOKEN":
        token = event.get("authorizationToken")
    else:
        query = event.get("queryStringParameters") or {}
        headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
        token = query.get(query_parameter) or headers.get("authorization")
    if not isinstance(token, str) or not token.strip():
        return None
    token = token.strip()
    return token[7:].strip() if token[:7].lower() == "bearer " else token


def stage_resource(method_arn: str) -> str:
    """Every method of the stage ``method_arn`` belongs to: ``arn:...:api-id/stage/*``."""
    prefix, _, path = method_arn.partition(":execute-api:")
    region_account_api = path.split("/")
    if not prefix or len(region_account_api) < 2:
        raise ValueError(f"{method_arn!r} is not an execute-api method ARN")
    return f"{prefix}:execute-api:{region_account_api[0]}/{region_account_api[1]}/*"


def policy(principal_id: str, effect: str, method_arn: str, context: Mapping[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": stage_resource(method_arn)}
            ],
        },
        "context": dict(context),
    }


def authorize(event: Mapping[str, Any], verifier: JwtVerifier, query_parameter: str) -> dict[str, Any]:
    """The authorizer's answer to `event`; raises Exception('Unauthorized') for a 401."""
    method_arn = str(event.get("methodArn", ""))
    token = token_of(event, query_parameter)
    try:
        if token is None:
            raise RejectedTokenError("no token")
        claims = verifier.verify(token)
    except RejectedTokenError as rejected:
        LOG.info("Token rejected for %s: %s", method_arn, rejected.reason)
        if rejected.forbidden:
            return policy("unknown", "Deny", method_arn, {})
        raise Exception(UNAUTHORIZED) from None  # API Gateway matches this exact message
    context = {
        name: claim_text(name, value) for name, value in claims.items() if name not in _RESERVED_CONTEXT_KEYS
    }
    return policy(str(claims.get("sub", "unknown")), "Allow", method_arn, context)


_VERIFIER: JwtVerifier | None = None


def verifier_from_environment() -> JwtVerifier:
    """The container's verifier (and key cache), built once from the JWT_* variables."""
    global _VERIFIER  # noqa: PLW0603 - one key cache per container, reused across invocations
    if _VERIFIER is None:
        issuer = os.environ["JWT_ISSUER"]
        check_url(issuer, "JWT_ISSUER")
        audiences = [item.strip() for item in os.environ["JWT_AUDIENCES"].split(",") if item.strip()]
        if not audiences:
            raise ValueError("JWT_AUDIENCES is empty: name at least one audience")
        _VERIFIER = JwtVerifier(
            IssuerKeys(issuer),
            audiences=audiences,
            required_scopes=os.environ.get("JWT_REQUIRED_SCOPES", "").split(),
            leeway=int(os.environ.get("JWT_LEEWAY_SECONDS", str(LEEWAY_SECONDS))),
        )
    return _VERIFIER


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    query_parameter = os.environ.get("JWT_TOKEN_QUERY_PARAMETER", DEFAULT_TOKEN_QUERY_PARAMETER)
    return authorize(event, verifier_from_environment(), query_parameter)
