"""SearchDomain in a VPC: the subnets the domain takes, its default security group, and HTTPS ingress."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from constructs_lib._validation import PropErrors
from constructs_lib.serverless_function import validate_vpc_placement

if TYPE_CHECKING:
    from constructs_lib.search_domain import SearchDomainSize


def domain_subnets(
    errors: PropErrors,
    size: SearchDomainSize,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup],
) -> list[ec2.ISubnet]:
    """Validate the VPC placement; the first selected subnet of each of the first N zones (N from `size`).

    OpenSearch wants exactly one subnet per zone it uses; the functions use the whole selection.
    """
    selected = validate_vpc_placement(errors, vpc, vpc_subnets, security_groups)
    if selected is None:
        return []
    one_per_zone: dict[str, ec2.ISubnet] = {}
    for subnet in selected.subnets:
        one_per_zone.setdefault(subnet.availability_zone, subnet)
    errors.check(
        len(one_per_zone) >= size.availability_zones or bool(selected.is_pending_lookup),
        "vpc_subnets",
        f"selects subnets in {len(one_per_zone)} zone(s) but size.availability_zones is "
        f"{size.availability_zones}; select subnets in more zones or use a size with fewer",
    )
    return list(one_per_zone.values())[: size.availability_zones]


def domain_security_groups(
    scope: Construct, path: str, vpc: ec2.IVpc | None, given: Sequence[ec2.ISecurityGroup]
) -> list[ec2.ISecurityGroup]:
    """`given`, else (in a VPC) one new group in `scope` (the domain at `path`) with no rules: ingress is
    added per client."""
    if vpc is None or given:
        return list(given)
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"OpenSearch domain {path}: HTTPS in from allowed clients only",
        # The domain's network interfaces only answer requests; they open no connections.
        allow_all_outbound=False,
    )
    return [group]


def allow_https(path: str, groups: Sequence[ec2.ISecurityGroup], peer: ec2.IConnectable) -> None:
    """Ingress rules on `groups` (the domain's, at `path`) admitting HTTPS from each of `peer`'s security
    groups."""
    description = f"HTTPS to OpenSearch domain {path}"
    for group in groups:
        for source in peer.connections.security_groups:
            # remote_rule: a peer in another stack holds the rule itself. That stack already refers
            # to this one (grant_search), so a rule here referring back would make a cycle.
            group.add_ingress_rule(source, _https(), description, remote_rule=True)


@cache
def _https() -> ec2.Port:
    """TCP 443, the domain's only port (it enforces HTTPS): made on first use, not at import."""
    return ec2.Port.tcp(443)
