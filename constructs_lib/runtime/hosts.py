"""The one loopback rule: where plain http:// is allowed. Standard library only, no CDK import.

JwtAuthorizer's synth-time issuer check, the authorizer function (issuer and key URLs) and the
OpenSearch client (endpoint) all accept http:// only for this machine (local runs and tests).
The synth imports this module, so it must not pull in anything outside [project].dependencies.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: ``localhost`` or a loopback address (127.0.0.0/8, ``::1``, and
    127.0.0.0/8 written as IPv4-mapped IPv6, ``::ffff:127.0.0.1``)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # Python answers is_loopback for an IPv4-mapped address by its IPv4 part only from 3.12.4 on; the
    # synth (3.11 here) and the functions (Lambda's 3.13) must give the same answer.
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
