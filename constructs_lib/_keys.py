"""Key-policy hardening every customer-managed KMS key of the library gets."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms


def deny_grants_except_for_aws_resources(key: kms.Key) -> None:
    """Deny kms:CreateGrant unless the grant is for an AWS resource or made by an AWS service.

    Grants delegate use of a key outside its policy; the services the library's keys serve (SNS,
    S3, CloudWatch) never need one from a person or an application (Control Tower CT.KMS.PR.3).
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
        )
    )
