"""The one loopback rule: where plain http:// is allowed. Standard library only, no CDK import.

JwtAuthorizer's synth-time issuer check, the authorizer function (issuer and key URLs) and the
OpenSearch client (endpoint) all accept http:// only for this machine (local runs and tests).
The synth imports this module, so it must not pull in anything outside [project].dependencies.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: ``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
