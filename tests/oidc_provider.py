"""A local OpenID Connect provider for tests: key pairs, a JWKS and a discovery document on 127.0.0.1.

It serves ``/.well-known/openid-configuration`` and ``/jwks`` over HTTP on a free loopback port,
counts the requests for each, and signs tokens with RS256 or ES256 keys it holds. Keys can be added
(rotation) or withheld from the JWKS (an unknown kid).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

AUDIENCE = "https://api.example.com"


class OidcProvider:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        port = server.server_address[1]
        self.issuer = f"http://127.0.0.1:{port}/"
        self.requests: Counter[str] = Counter()
        self.published: dict[str, RSAKey | ECKey] = {}
        self.unpublished: dict[str, RSAKey | ECKey] = {}
        self.add_key("rsa-1", "RS256")
        self.add_key("ec-1", "ES256")

    def add_key(self, kid: str, algorithm: str, *, publish: bool = True) -> None:
        (self.published if publish else self.unpublished)[kid] = _key(kid, algorithm)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + "jwks",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self.published.values()]}

    def token(self, kid: str = "rsa-1", *, lifetime: int = 600, **claims: Any) -> str:
        """A token signed with key `kid`: `claims` override iss/aud/sub/iat/exp (None removes one)."""
        key = self.published.get(kid) or self.unpublished[kid]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "exp": now + lifetime,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        algorithm = "RS256" if isinstance(key, RSAKey) else "ES256"
        return jwt.encode({"alg": algorithm, "kid": kid}, payload, key, algorithms=[algorithm])


@functools.cache
def _key(kid: str, algorithm: str) -> RSAKey | ECKey:
    """A key pair per kid, generated once per test process (an RSA key takes a fraction of a second)."""
    if algorithm == "RS256":
        return RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"})
    return ECKey.generate_key("P-256", {"kid": kid, "use": "sig", "alg": "ES256"})


@contextmanager
def oidc_provider() -> Iterator[OidcProvider]:
    provider: OidcProvider | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert provider is not None
            provider.requests[self.path] += 1
            routes = {"/.well-known/openid-configuration": provider.discovery, "/jwks": provider.jwks}
            answer = routes.get(self.path)
            body = json.dumps(answer() if answer else {"message": "Not Found"}).encode()
            self.send_response(200 if answer else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider = OidcProvider(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
