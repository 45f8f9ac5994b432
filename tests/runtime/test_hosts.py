"""The one loopback rule: http:// is accepted only for this machine (JwtAuthorizer's issuer check, the
authorizer handler's key URLs, the OpenSearch client's endpoint)."""

from __future__ import annotations

import pytest

from constructs_lib.functions.jwt_authorizer import handler
from constructs_lib.runtime.hosts import is_loopback
from constructs_lib.runtime.opensearch import OpenSearchClient

HOSTS = [
    ("localhost", True),
    ("127.0.0.1", True),
    ("127.0.0.2", True),  # all of 127.0.0.0/8 is loopback
    ("::1", True),
    ("::ffff:127.0.0.1", True),  # IPv4-mapped: the same answer on every Python version
    ("::ffff:10.0.0.1", False),
    ("10.0.0.1", False),
    ("0.0.0.0", False),
    ("example.com", False),
    ("localhost.example.com", False),
    ("", False),
]


@pytest.mark.parametrize(("host", "loopback"), HOSTS)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "loopback"), [case for case in HOSTS if case[0]])
def test_the_authorizer_handler_and_opensearch_client_follow_the_rule(host: str, loopback: bool) -> None:
    url = f"http://[{host}]:9200" if ":" in host else f"http://{host}:9200"
    if loopback:
        handler.check_url(url, "jwks_uri")
        OpenSearchClient(url, region="us-east-1")
    else:
        with pytest.raises(ValueError, match="must be an https:// URL"):
            handler.check_url(url, "jwks_uri")
        with pytest.raises(ValueError, match="must be https://<host>"):
            OpenSearchClient(url, region="us-east-1")
