"""The compliance scanners' findings on the REST and WebSocket APIs that are design choices, with why."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from constructs_lib._nag import acknowledge as nag_acknowledge
from constructs_lib.compliance import (
    COMPLIANCE_PACKS,
    NIST_800_53_R5,
    PCI_DSS_321,
    Acknowledged,
    _acknowledge_created,
    acknowledge,
    in_packs,
)


def acknowledge_rest_stage(stage: IConstruct, *, web_acl: bool, caching: bool) -> None:
    """The stage's findings; `stage` was created a moment ago, so its resource holds no checkov skips."""
    entries: list[Acknowledged] = []
    if not web_acl:
        entries.append(
            Acknowledged(
                "No web_acl_arn was given: stage throttling and per-route authorization protect this "
                "API, and passing web_acl_arn associates a WAFv2 web ACL with the stage.",
                cdk_nag=[
                    "AwsSolutions-APIG3",
                    *in_packs("APIGWAssociatedWithWAF", NIST_800_53_R5, PCI_DSS_321),
                ],
            )
        )
    if not caching:
        entries.append(
            Acknowledged(
                "No stage cache by default: a cache keyed on the request alone would serve one caller's "
                "response to another and stale data after writes; cache_cluster_size= enables an encrypted "
                "one.",
                cdk_nag=in_packs("APIGWCacheEnabledAndEncrypted", *COMPLIANCE_PACKS),
                checkov=["CKV_AWS_120"],
            )
        )
    entries.append(
        Acknowledged(
            "Every integration is a Lambda function API Gateway invokes with IAM, not an HTTP backend, "
            "so a client certificate would authenticate API Gateway to nothing.",
            cdk_nag=in_packs("APIGWSSLEnabled", *COMPLIANCE_PACKS),
        )
    )
    _acknowledge_created(stage, *entries)


def acknowledge_cloud_watch_role(role: IConstruct) -> None:
    """The account-wide logging role aws-cdk-lib creates for the API, with its AWS managed policy."""
    nag_acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide API Gateway logging role needs write access to every API's log "
        "groups, which is exactly what this AWS managed policy grants.",
    )


def acknowledge_route(
    method: IConstruct, route: str, *, public_reason: str | None, authorized_with: str | None
) -> None:
    """A REST route's findings: its invoke permissions; a public route (`public_reason`: why it may be);
    a route `authorized_with` another mode than a Cognito user pool (e.g. ``"IAM (AWS_IAM)"``).
    `method` was created a moment ago, so its resource holds no checkov skips yet."""
    acknowledge_invoke_permissions(method, f"{route} of this API's stage")
    if public_reason is not None:
        _acknowledge_created(
            method,
            Acknowledged(
                public_reason, cdk_nag=["AwsSolutions-APIG4", "AwsSolutions-COG4"], checkov=["CKV_AWS_59"]
            ),
        )
    elif authorized_with is not None:
        nag_acknowledge(
            method,
            "AwsSolutions-COG4",
            f"{route} is authorized with {authorized_with} instead of a Cognito user pool, as its caller "
            "chose.",
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
