"""SigV4 query-string (presigned URL) verification, as S3 checks it: for tests that must prove a
URL's signature, since moto accepts any."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _uri_encode(value: str, *, safe: str = "-_.~") -> str:
    return quote(value, safe=safe)


def sigv4_query_problem(
    method: str, target: str, headers: dict[str, str], secrets: dict[str, str], now: datetime
) -> str | None:
    """Why S3 would refuse this presigned request, or None when its signature and expiry hold."""
    split = urlsplit(target)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    if "X-Amz-Signature" not in query:
        return "not presigned"
    signature = query.pop("X-Amz-Signature")
    access_key, date, region, service, _ = query["X-Amz-Credential"].split("/")
    if access_key not in secrets:
        return "unknown access key"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if now > signed_at + timedelta(seconds=int(query["X-Amz-Expires"])):
        return "expired"
    signed_headers = query["X-Amz-SignedHeaders"].split(";")
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    canonical_headers = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed_headers)
    canonical_query = "&".join(
        f"{_uri_encode(name)}={_uri_encode(value)}" for name, value in sorted(query.items())
    )
    canonical_request = "\n".join(
        [
            method,
            _uri_encode(split.path, safe="/-_.~"),
            canonical_query,
            canonical_headers,
            query["X-Amz-SignedHeaders"],
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secrets[access_key]}".encode()
    for part in (date, region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature) else "signature mismatch"


def signature_matches(url: str, method: str, secret_key: str) -> bool:
    """Whether `url` carries a valid, unexpired SigV4 query signature for `method`, with host the only
    signed header."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if query.get("X-Amz-SignedHeaders") != "host" or "X-Amz-Credential" not in query:
        return False
    access_key = query["X-Amz-Credential"].split("/", 1)[0]
    problem = sigv4_query_problem(
        method,
        f"{parts.path}?{parts.query}",
        {"host": parts.netloc},
        {access_key: secret_key},
        datetime.now(UTC),
    )
    return problem is None
