"""compliance.acknowledge: one reason, written for every scanner that names the concern."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import constructs_lib
from constructs_lib.compliance import acknowledge
from tests.cdk import new_app, new_stack

REASON = "The bucket holds only access logs, which S3 log delivery cannot write with a KMS key."


def _acknowledged(construct: Construct) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    for entry in construct.node.metadata:
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            rules.update(entry.data)
    return rules


def test_exported_from_the_package() -> None:
    assert constructs_lib.acknowledge is acknowledge


def test_one_reason_reaches_every_scanner() -> None:
    bucket = s3.Bucket(new_stack(new_app()), "Logs")
    acknowledge(
        bucket,
        reason=REASON,
        cdk_nag=["NIST.800.53.R5-S3DefaultEncryptionKMS", "AwsSolutions-S1"],
        checkov=["CKV_AWS_145"],
        control_tower=["s3_bucket_default_encryption_kms_check"],
    )
    assert _acknowledged(bucket) == {
        "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS": REASON,
        "AwsSolutions::AwsSolutions-S1": REASON,
        "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check": REASON,
    }
    resource = bucket.node.default_child
    assert isinstance(resource, s3.CfnBucket)
    assert resource.get_metadata("checkov") == {"skip": [{"id": "CKV_AWS_145", "comment": REASON}]}


def test_checkov_skips_accumulate_on_the_resource() -> None:
    queue = sqs.Queue(new_stack(new_app()), "Queue")
    acknowledge(queue, reason="First reason for this queue.", checkov=["CKV_AWS_27"])
    acknowledge(queue.node.default_child, reason="Second reason.", checkov=["CKV_AWS_27", "CKV2_AWS_73"])  # type: ignore[arg-type]
    assert queue.node.default_child.get_metadata("checkov") == {  # type: ignore[union-attr]
        "skip": [
            {"id": "CKV_AWS_27", "comment": "First reason for this queue."},
            {"id": "CKV2_AWS_73", "comment": "Second reason."},
        ]
    }


def test_a_rule_id_with_a_finding_keeps_its_brackets() -> None:
    bucket = s3.Bucket(new_stack(new_app()), "Logs")
    acknowledge(bucket, reason=REASON, cdk_nag=["AwsSolutions-IAM5[Resource::*]"])
    assert _acknowledged(bucket) == {"AwsSolutions::AwsSolutions-IAM5[Resource::*]": REASON}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"reason": "  ", "checkov": ["CKV_AWS_18"]}, r"acknowledge.reason: is empty; say in one sentence"),
        ({"reason": REASON}, r"acknowledge: names no finding; list rule ids"),
        (
            {"reason": REASON, "cdk_nag": ["LambdaInsideVPC"]},
            r"acknowledge.cdk_nag\[0\]: 'LambdaInsideVPC' is not a cdk-nag",
        ),
        (
            {"reason": REASON, "checkov": ["ckv-aws-18"]},
            r"acknowledge.checkov\[0\]: 'ckv-aws-18' is not a checkov check id",
        ),
        (
            {"reason": REASON, "control_tower": ["CT.S3.PR.11"]},
            r"acknowledge.control_tower\[0\]: 'CT.S3.PR.11' is not a CfnGuardValidator rule name",
        ),
    ],
)
def test_invalid_acknowledgments_raise(options: dict[str, Any], message: str) -> None:
    bucket = s3.Bucket(new_stack(new_app()), "Logs")
    with pytest.raises(ValueError, match=f"^Test/Logs: {message}"):
        acknowledge(bucket, **options)


def test_checkov_needs_a_resource() -> None:
    stack = new_stack(new_app())
    group = Construct(stack, "Group")
    with pytest.raises(
        ValueError, match=r"Test/Group: acknowledge.checkov: Test/Group has no CloudFormation"
    ):
        acknowledge(group, reason=REASON, checkov=["CKV_AWS_18"])


def test_an_app_wide_acknowledgment_is_refused() -> None:
    with pytest.raises(ValueError, match="an app-wide acknowledgment would hide findings"):
        acknowledge(App(), reason=REASON, cdk_nag=["AwsSolutions-S1"])
