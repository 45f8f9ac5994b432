"""The compliance scanners' findings on SearchDomain's domain that are design choices, with why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_opensearchservice as opensearch

from constructs_lib import compliance
from constructs_lib._nag import acknowledge
from constructs_lib.compliance import COMPLIANCE_PACKS, in_packs

if TYPE_CHECKING:
    from constructs_lib.search_domain import SearchDomainSize


def acknowledge_domain(domain: opensearch.Domain, *, in_vpc: bool, size: SearchDomainSize) -> None:
    """Acknowledge the scanners' findings on `domain` that are design choices of SearchDomain, with why."""
    acknowledge(
        domain,
        "AwsSolutions-OS5",
        "The domain has no resource-based policy, so it allows no anonymous or unsigned access: only "
        "IAM identities of this account granted es:ESHttp* (SigV4-signed) reach it, and fine-grained "
        "access control authorizes each request.",
    )
    compliance.acknowledge(
        domain,
        reason="TLSSecurityPolicy is Policy-Min-TLS-1-2-PFS-2023-10: TLS 1.2 or later with "
        "forward-secret ciphers only, stricter than the Policy-Min-TLS-1-2-2019-07 the rule lists.",
        control_tower=["opensearch_https_required_check"],
    )
    if not in_vpc:
        compliance.acknowledge(
            domain,
            reason="The public endpoint has no resource policy: only IAM roles granted by this construct "
            "can call it (SigV4), fine-grained access control authorizes each request, and "
            "Dashboards requires a Cognito sign-in with MFA.",
            cdk_nag=[
                "AwsSolutions-OS1",
                "AwsSolutions-OS3",
                *in_packs("OpenSearchInVPCOnly", *COMPLIANCE_PACKS),
            ],
            control_tower=["opensearch_in_vpc_only_check"],
        )
    else:
        acknowledge(
            domain,
            "AwsSolutions-OS3",
            "The endpoint is inside the VPC, where its security group admits HTTPS only from the "
            "clients allowed with allow_from, and IAM (SigV4) plus fine-grained access control "
            "authorize each request: an IP allowlist would add nothing.",
        )
    if size.master_nodes == 0:
        acknowledge(
            domain,
            "AwsSolutions-OS4",
            "This size has no dedicated master nodes by the caller's choice (the dev preset); "
            "SearchDomainSize.production() uses three.",
        )
    if size.availability_zones == 1:
        compliance.acknowledge(
            domain,
            reason="This size runs in one zone by the caller's choice (the dev preset); "
            "SearchDomainSize.production() spreads over three zones.",
            cdk_nag=["AwsSolutions-OS7"],
            control_tower=["opensearch_data_node_fault_tolerance_check"],
        )
