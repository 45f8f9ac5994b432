"""Opaque page tokens: `nextKey` is the base64url of DynamoDB's LastEvaluatedKey as JSON.

A token is only a position, never trusted: decoding checks it is exactly the key shape the
listing returns, with values of the right form, before DynamoDB sees it. Anything else is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping

from api_common import ApiError

MAX_TOKEN_CHARS = 1024  # a real token is ~100 characters; DynamoDB keys are bounded too
_TOKEN = re.compile(r"[A-Za-z0-9_-]+={0,2}")
BAD_TOKEN = "nextKey is not a value this listing returned"  # noqa: S105 -- a message, not a secret

KeyRules = Mapping[str, Callable[[str], bool]]


def encode_next_key(key: Mapping[str, str] | None) -> str | None:
    """The token for `key` (None when there is no next page)."""
    if key is None:
        return None
    text = json.dumps(dict(key), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_next_key(token: str | None, rules: KeyRules) -> dict[str, str] | None:
    """The key in `token`, whose attributes are exactly `rules`' names and pass their checks."""
    if token is None:
        return None
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
        raise ApiError(400, BAD_TOKEN)
    unpadded = token.rstrip("=")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4)))
    except (binascii.Error, ValueError, RecursionError) as error:
        raise ApiError(400, BAD_TOKEN) from error
    if (
        not isinstance(decoded, dict)
        or set(decoded) != set(rules)
        or not all(isinstance(value, str) and rules[name](value) for name, value in decoded.items())
    ):
        raise ApiError(400, BAD_TOKEN)
    return decoded
