# botocore has no inline types, and botocore-stubs may be absent: its imports are typed as Any.
# mypy: disable-error-code="import-untyped"
"""A minimal OpenSearch Service client for Lambda: SigV4-signed JSON over HTTPS.

No third-party client: botocore (in every Lambda Python runtime) signs each request with the
function's credentials for service ``es``, and urllib sends it. One client per container:
create it at module level (``OpenSearchClient.from_environment()``) and reuse it.

Every method raises `OpenSearchError` when the domain answers with a status outside 2xx, or
when no answer arrives (status 0). `bulk` returns the response as-is: per-item failures are in
its ``items``, for the caller to map back to its inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from constructs_lib.runtime.environment import SEARCH_DOMAIN_ENDPOINT
from constructs_lib.runtime.hosts import is_loopback

ENDPOINT_VARIABLE = SEARCH_DOMAIN_ENDPOINT
_SERVICE = "es"  # OpenSearch Service domains sign as "es"; serverless collections would be "aoss"
_ERROR_BODY_CHARS = 500  # enough to show OpenSearch's error type and reason in a log line


class OpenSearchError(Exception):
    """The domain answered `status` (0: no answer) to `method` `path`; `body` is its parsed reply."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        shown = body if isinstance(body, str) else json.dumps(body, default=str)
        super().__init__(f"{method} {path} returned {status}: {shown[:_ERROR_BODY_CHARS]}")


class OpenSearchClient:
    """Signed JSON requests to one OpenSearch Service domain.

    `endpoint` is ``https://<domain host>`` (plain ``http://`` is accepted only for a loopback
    host: a local OpenSearch or a test server). `region` defaults to AWS_REGION, which Lambda
    sets. Credentials come from botocore's default chain (the function's role in Lambda) and
    are re-read before each request, so refreshed credentials are picked up.
    """

    def __init__(self, endpoint: str, *, region: str | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(endpoint)
        loopback = is_loopback(parts.hostname or "")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError(f"endpoint '{endpoint}' must be https://<host> (http only for a loopback host)")
        if not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"endpoint '{endpoint}' must be scheme and host only, without a path")
        self._session = botocore.session.get_session()
        resolved_region = (
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or self._session.get_config_variable("region")
        )
        if not resolved_region:
            raise ValueError("no region: pass region= or set AWS_REGION")
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.region: str = resolved_region
        self.timeout = timeout
        self._credentials: Credentials | None = None

    @classmethod
    def from_environment(cls) -> OpenSearchClient:
        """A client for the domain in SEARCH_DOMAIN_ENDPOINT (set by `SearchDomain.search_environment`)."""
        endpoint = os.environ.get(ENDPOINT_VARIABLE)
        if not endpoint:
            raise RuntimeError(f"{ENDPOINT_VARIABLE} is not set; add SearchDomain.search_environment(...)")
        return cls(endpoint)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send a signed request; return the status and the reply (parsed JSON, or text).

        `path` starts with ``/`` and may carry a query string. `body` is sent as JSON unless it
        is already a ``str`` (e.g. newline-delimited JSON for ``_bulk``).
        """
        if not path.startswith("/"):
            raise ValueError(f"path '{path}' must start with '/'")
        data: bytes | None = None
        headers = {"Accept": "application/json"}
        if body is not None:
            text = body if isinstance(body, str) else json.dumps(body, default=str)
            data = text.encode()
            headers["Content-Type"] = "application/x-ndjson" if isinstance(body, str) else "application/json"
        # A signed payload hash: the domain rejects a body altered in transit.
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(data or b"").hexdigest()
        signed = AWSRequest(method=method, url=f"{self.endpoint}{path}", data=data, headers=headers)
        SigV4Auth(self._frozen_credentials(), _SERVICE, self.region).add_auth(signed)
        outgoing = urllib.request.Request(  # noqa: S310 -- the scheme is checked in __init__: https or loopback http
            signed.url, data=data, headers=dict(signed.headers.items()), method=method
        )
        try:
            with urllib.request.urlopen(outgoing, timeout=self.timeout) as response:  # noqa: S310 -- as above
                status, reply = response.status, _parse(response.read())
        except urllib.error.HTTPError as error:
            status, reply = error.code, _parse(error.read())
        except (urllib.error.URLError, TimeoutError) as error:
            raise OpenSearchError(method, path, 0, str(getattr(error, "reason", error))) from error
        if not 200 <= status < 300:
            raise OpenSearchError(method, path, status, reply)
        return status, reply

    def search(self, index: str, query: dict[str, Any]) -> dict[str, Any]:
        """Run a search request body (``{"query": ..., "size": ...}``) against `index`."""
        _, reply = self.request("POST", f"/{_segment(index)}/_search", query)
        return dict(reply)

    def bulk(self, index: str, operations: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Send bulk `operations` for `index`: action lines, each followed by its document if any.

        For example ``[{"index": {"_id": "1"}}, {"title": "a"}, {"delete": {"_id": "2"}}]``.
        The reply's ``items`` hold one result per action, in order; an empty list sends nothing.
        """
        if not operations:
            return {"took": 0, "errors": False, "items": []}
        ndjson = "".join(json.dumps(operation, default=str) + "\n" for operation in operations)
        _, reply = self.request("POST", f"/{_segment(index)}/_bulk", ndjson)
        return dict(reply)

    def _frozen_credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = self._session.get_credentials()
        if self._credentials is None:
            raise RuntimeError("no AWS credentials found to sign OpenSearch requests")
        # Refreshable credentials (assumed roles) renew themselves here when close to expiry.
        frozen = self._credentials.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _segment(index: str) -> str:
    if not index or index.startswith(("_", "-", "+")) or index != index.lower():
        raise ValueError(
            f"index '{index}' is not a valid OpenSearch index name (lowercase, no leading _ - +)"
        )
    return quote(index, safe="")


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
