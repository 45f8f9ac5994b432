"""JwtAuthorizer: a Lambda authorizer for the tokens of any OpenID Connect identity provider.

Creates: one `ServerlessFunction` running the library's own authorizer code
(``constructs_lib/functions/jwt_authorizer``, joserfc and the library's runtime helpers bundled
into its asset): it verifies RS256 and ES256 tokens against the issuer's published keys (its
discovery document's JWKS, cached per container, refreshed on an unknown key id at most every
30 s), checks ``exp``/``nbf`` with `leeway`, ``iss``, ``aud`` and `required_scopes`, and hands the
claims to handlers as strings (``requestContext.authorizer.<claim>``).

Use it as `ServerlessApi(authorizers=ApiAuthorizers(jwt_authorizer=...),
default_authorization=AuthorizationMode.JWT)` (the token in the Authorization header, with or
without ``Bearer``) and as the ``$connect`` authorizer of a `WebSocketApi` (the token in the
`token_query_parameter` query parameter: a browser cannot set headers on a WebSocket handshake).
One JwtAuthorizer can serve both.

Defaults: 60 s of clock skew; query parameter ``token``; the function's defaults (arm64, 256 MB,
logs for a year) with a 5 s timeout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from aws_cdk import Annotations, Duration, Token
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._logs import DEFAULT_LOG_RETENTION
from constructs_lib._validation import PropErrors, check_whole_seconds
from constructs_lib.runtime.hosts import is_loopback
from constructs_lib.serverless_function import ServerlessFunction

ENTRY = Path(__file__).resolve().parent / "functions" / "jwt_authorizer"
# Clock skew between the issuer and Lambda; RFC 7519 suggests "a few minutes" at most.
DEFAULT_LEEWAY = _resolved.seconds(60)
MAX_LEEWAY = _resolved.minutes(5)
DEFAULT_TOKEN_QUERY_PARAMETER = "token"  # noqa: S105 - a parameter name, not a secret
# API Gateway waits at most 10 s for an authorizer; a cold fetch of the keys takes well under 1 s.
DEFAULT_TIMEOUT = _resolved.seconds(5)
# A compact JWS, with or without the Bearer scheme: anything else is refused by API Gateway
# itself with a 401, without invoking the function.
TOKEN_VALIDATION_EXPRESSION = r"^([Bb]earer )?[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]*$"  # noqa: S105
_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")


class JwtAuthorizer(Construct):
    """Verifies bearer tokens of one OIDC issuer (Auth0, Okta, Entra ID, Google, Cognito...).

    `issuer` is the issuer identifier exactly as tokens carry it in ``iss`` (Auth0's ends in
    "/", Okta's does not); its discovery document must be at
    ``<issuer>/.well-known/openid-configuration``. `audiences`: a token must name at least one
    in ``aud``. `required_scopes`: a token must carry every one (``scope`` or ``scp``), else the
    caller gets 403. Missing, forged, expired or foreign tokens get 401.

    Attributes: `function` (the `ServerlessFunction`), `issuer`, `audiences`, `required_scopes`,
    `token_query_parameter`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        issuer: str,
        audiences: Sequence[str],
        required_scopes: Sequence[str] = (),
        leeway: Duration = DEFAULT_LEEWAY,
        token_query_parameter: str = DEFAULT_TOKEN_QUERY_PARAMETER,
        timeout: Duration = DEFAULT_TIMEOUT,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        loopback = _validate_issuer(errors, issuer)
        # A lone string is a Sequence[str] too: "my-api" would become the audiences m, y, -, a, p, i.
        for prop, given in (("audiences", audiences), ("required_scopes", required_scopes)):
            errors.check(not isinstance(given, str), prop, f"'{given}' is a string; pass a list: ['{given}']")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        required_scopes = [required_scopes] if isinstance(required_scopes, str) else required_scopes
        # Their milliseconds, None from a token (not judged: it resolves at deploy).
        leeway_millis = check_whole_seconds(errors, "leeway", leeway)
        timeout_millis = check_whole_seconds(errors, "timeout", timeout)
        errors.check(
            bool(audiences),
            "audiences",
            "name at least one audience (the API identifier or client id your tokens carry in 'aud'); "
            "without one, tokens minted for any other application of the issuer would be accepted",
        )
        for audience in audiences:
            errors.check(
                bool(audience.strip()) and "," not in audience,
                "audiences",
                f"'{audience}' is not an audience; give non-empty values without commas",
            )
        for required in required_scopes:
            errors.check(
                bool(required) and not any(character.isspace() for character in required),
                "required_scopes",
                f"'{required}' is not a scope; scopes are single words such as 'images:read'",
            )
        errors.check(
            leeway_millis is None or 0 <= leeway_millis <= _resolved.to_milliseconds(MAX_LEEWAY),
            "leeway",
            "must be between 0 and 5 minutes; a larger skew would keep expired tokens working",
        )
        errors.check(
            bool(_NAME.match(token_query_parameter)),
            "token_query_parameter",
            f"'{token_query_parameter}' is not a query parameter name (letters, digits, '.', '_', '~', '-')",
        )
        errors.check(
            timeout_millis is None or 1000 <= timeout_millis <= 10000,
            "timeout",
            "must be between 1 and 10 seconds; API Gateway waits at most 10 s for an authorizer",
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self.issuer = issuer
        self.audiences = list(audiences)
        self.required_scopes = list(required_scopes)
        self.token_query_parameter = token_query_parameter
        if loopback:
            Annotations.of(self).add_warning_v2(
                "constructs-lib:jwt-loopback-issuer",
                f"issuer {issuer} is on this machine: fine for make local and tests, but deployed, "
                "the authorizer cannot reach it and refuses every token",
            )
        self.function = ServerlessFunction(
            self,
            "Function",
            entry=ENTRY,
            handler="handler.handler",
            include_runtime_helpers=True,  # the handler imports constructs_lib.runtime.hosts
            description=f"Verifies tokens of {issuer} for API Gateway",
            timeout=timeout,
            log_retention=log_retention,
            environment={
                "JWT_ISSUER": issuer,
                "JWT_AUDIENCES": ",".join(self.audiences),
                "JWT_REQUIRED_SCOPES": " ".join(self.required_scopes),
                "JWT_LEEWAY_SECONDS": Token.as_string(leeway.to_seconds())
                if leeway_millis is None
                else str(int(leeway_millis // 1000)),
                "JWT_TOKEN_QUERY_PARAMETER": token_query_parameter,
            },
        )


def _validate_issuer(errors: PropErrors, issuer: str) -> bool:
    """Problems with `issuer`; True when it is an http:// URL on this machine (local runs, tests)."""
    if _resolved.is_unresolved_str(issuer):
        return False  # e.g. a user pool's provider URL: resolved at deployment
    parts = urlsplit(issuer)
    loopback = parts.scheme == "http" and is_loopback(parts.hostname or "")
    errors.check(
        (parts.scheme == "https" or loopback) and bool(parts.hostname),
        "issuer",
        f"'{issuer}' must be an https:// URL: the keys that verify every token are fetched from it "
        "(http:// is accepted only on a loopback host: localhost, 127.0.0.0/8 or ::1, "
        "for local runs and tests)",
    )
    errors.check(
        not parts.query and not parts.fragment,
        "issuer",
        f"'{issuer}' has a query or fragment; an OIDC issuer identifier has neither",
    )
    return loopback
