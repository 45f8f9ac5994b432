"""The resource policy of a PRIVATE ServerlessApi: invocable only through the given VPC endpoints."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam


def private_api_policy(vpc_endpoints: Sequence[ec2.IVpcEndpoint]) -> iam.PolicyDocument:
    endpoint_ids = [endpoint.vpc_endpoint_id for endpoint in vpc_endpoints]
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="DenyOutsideVpcEndpoints",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*"],
                conditions={"StringNotEquals": {"aws:SourceVpce": endpoint_ids}},
            ),
            iam.PolicyStatement(
                sid="AllowThroughVpcEndpoints",
                effect=iam.Effect.ALLOW,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*"],
                conditions={"StringEquals": {"aws:SourceVpce": endpoint_ids}},
            ),
        ]
    )
