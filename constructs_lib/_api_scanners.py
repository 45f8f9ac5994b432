"""The compliance scanners' findings on the REST and WebSocket APIs that are design choices, with why."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from constructs_lib.compliance import HIPAA_SECURITY, NIST_800_53_R5, PCI_DSS_321, acknowledge, in_packs

_PACKS = (NIST_800_53_R5, HIPAA_SECURITY, PCI_DSS_321)


def acknowledge_rest_stage(stage: IConstruct, *, web_acl: bool, caching: bool) -> None:
    if not web_acl:
        acknowledge(
            stage,
            reason="No web_acl_arn was given: stage throttling and per-route authorization protect this "
            "API, and passing web_acl_arn associates a WAFv2 web ACL with the stage.",
            cdk_nag=["AwsSolutions-APIG3", *in_packs("APIGWAssociatedWithWAF", NIST_800_53_R5, PCI_DSS_321)],
        )
    if not caching:
        acknowledge(
            stage,
            reason="No stage cache by default: a cache keyed on the request alone would serve one caller's "
            "response to another and stale data after writes; cache_cluster_size= enables an encrypted one.",
            cdk_nag=in_packs("APIGWCacheEnabledAndEncrypted", *_PACKS),
            checkov=["CKV_AWS_120"],
        )
    acknowledge(
        stage,
        reason="Every integration is a Lambda function API Gateway invokes with IAM, not an HTTP backend, "
        "so a client certificate would authenticate API Gateway to nothing.",
        cdk_nag=in_packs("APIGWSSLEnabled", *_PACKS),
    )


def acknowledge_invoke_permissions(route: IConstruct, description: str) -> None:
    """The Lambda permissions aws-cdk-lib added under `route` (a method or a WebSocket route)."""
    for child in route.node.find_all():
        if isinstance(child, lambda_.CfnPermission):
            acknowledge(
                child,
                reason=f"SourceArn limits this permission to {description}; the guard rule reads only a "
                "literal or same-template SourceArn, not the Fn::Join that names the API and stage.",
                control_tower=["lambda_function_public_access_prohibited_check"],
            )
