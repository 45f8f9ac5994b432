"""The compliance scanners' findings on a ServerlessFunction that are design choices of it, with why.

One batch per construct (`compliance._acknowledge_created`: `acknowledge_all` on a construct made a
moment ago): each costs two jsii round trips, plus three for checkov's metadata, however many rules
it lists.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from constructs_lib._nag import acknowledge as nag_acknowledge
from constructs_lib.compliance import (
    COMPLIANCE_PACKS,
    HIPAA_SECURITY,
    NIST_800_53_R5,
    Acknowledged,
    _acknowledge_created,
    acknowledge,
    in_packs,
)


def acknowledge_function(
    function: lambda_.Function,
    role: iam.Role,
    *,
    invoked_asynchronously: bool,
    in_vpc: bool,
    concurrency_reserved: bool,
) -> None:
    """Acknowledge the findings on `function` and its execution `role`, both just created, that follow
    from its props."""
    acknowledged = [
        Acknowledged(
            "Python 3.13 is the library's pinned runtime: the Powertools layer and the locally bundled "
            "wheels are chosen and tested for exactly that version.",
            cdk_nag=["AwsSolutions-L1", "Serverless-LambdaLatestVersion"],
        ),
        Acknowledged(
            "Failed asynchronous events go to the on-failure destination queue, which keeps the request and "
            "error context; a legacy DLQ on the same events would duplicate it."
            if invoked_asynchronously
            else "Invoked synchronously (API Gateway or an event source mapping with its own failure "
            "destination): errors return to the caller, so there are no async events to dead-letter.",
            cdk_nag=["Serverless-LambdaDLQ", *in_packs("LambdaDLQ", NIST_800_53_R5, HIPAA_SECURITY)],
            checkov=["CKV_AWS_116"],
        ),
    ]
    if not in_vpc:
        acknowledged.append(
            Acknowledged(
                "Not in a VPC: the function reaches only AWS APIs, over TLS with IAM-signed requests, and no "
                "private network resource; pass vpc= to place it in one.",
                cdk_nag=in_packs("LambdaInsideVPC", *COMPLIANCE_PACKS),
                checkov=["CKV_AWS_117"],
                control_tower=["lambda_inside_vpc_check"],
            )
        )
    if not concurrency_reserved:
        acknowledged.append(
            Acknowledged(
                "No reserved concurrency by default: a reservation both caps this function and takes that "
                "capacity from every other function of the account; reserved_concurrent_executions sets one.",
                cdk_nag=in_packs("LambdaConcurrency", NIST_800_53_R5, HIPAA_SECURITY),
                checkov=["CKV_AWS_115"],
            )
        )
    acknowledged.append(
        Acknowledged(
            "The environment holds resource names and settings, never secrets, and Lambda encrypts it at "
            "rest with an AWS managed key; secrets belong in Secrets Manager.",
            checkov=["CKV_AWS_173"],
        )
    )
    _acknowledge_created(function, *acknowledged)
    nag_acknowledge(
        role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
    )
    acknowledge(
        role,
        reason="The grants in this role's own policy name only the resources this function uses; a "
        "managed policy would add an attachable copy without narrowing anything.",
        cdk_nag=in_packs("IAMNoInlinePolicy", *COMPLIANCE_PACKS),
    )
