"""The compliance scanners' findings on SearchDomain's domain that are design choices, with why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_opensearchservice as opensearch

from constructs_lib.compliance import COMPLIANCE_PACKS, Acknowledged, acknowledge_all, in_packs

if TYPE_CHECKING:
    from constructs_lib.search_domain import SearchDomainSize


def acknowledge_domain(domain: opensearch.Domain, *, in_vpc: bool, size: SearchDomainSize) -> None:
    """Acknowledge the scanners' findings on `domain` that are design choices of SearchDomain, with why."""
    findings = [
        Acknowledged(
            "The domain has no resource-based policy, so it allows no anonymous or unsigned access: only "
            "IAM identities of this account granted es:ESHttp* (SigV4-signed) reach it, and fine-grained "
            "access control authorizes each request.",
            cdk_nag=["AwsSolutions-OS5"],
        ),
        Acknowledged(
            "TLSSecurityPolicy is Policy-Min-TLS-1-2-PFS-2023-10: TLS 1.2 or later with "
            "forward-secret ciphers only, stricter than the Policy-Min-TLS-1-2-2019-07 the rule lists.",
            control_tower=["opensearch_https_required_check"],
        ),
    ]
    if not in_vpc:
        findings.append(
            Acknowledged(
                "The public endpoint has no resource policy: only IAM roles granted by this construct "
                "can call it (SigV4), fine-grained access control authorizes each request, and "
                "Dashboards requires a Cognito sign-in with MFA.",
                cdk_nag=[
                    "AwsSolutions-OS1",
                    "AwsSolutions-OS3",
                    *in_packs("OpenSearchInVPCOnly", *COMPLIANCE_PACKS),
                ],
                control_tower=["opensearch_in_vpc_only_check"],
            )
        )
    else:
        findings.append(
            Acknowledged(
                "The endpoint is inside the VPC, where its security group admits HTTPS only from the "
                "clients allowed with allow_from, and IAM (SigV4) plus fine-grained access control "
                "authorize each request: an IP allowlist would add nothing.",
                cdk_nag=["AwsSolutions-OS3"],
            )
        )
    if size.master_nodes == 0:
        findings.append(
            Acknowledged(
                "This size has no dedicated master nodes by the caller's choice (the dev preset); "
                "SearchDomainSize.production() uses three.",
                cdk_nag=["AwsSolutions-OS4"],
            )
        )
    if size.availability_zones == 1:
        findings.append(
            Acknowledged(
                "This size runs in one zone by the caller's choice (the dev preset); "
                "SearchDomainSize.production() spreads over three zones.",
                cdk_nag=["AwsSolutions-OS7"],
                control_tower=["opensearch_data_node_fault_tolerance_check"],
            )
        )
    # One policy-validation call for all of them, in this order.
    acknowledge_all(domain, *findings)
