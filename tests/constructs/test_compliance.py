"""compliance.acknowledge: one reason, written for every scanner that names the concern; acknowledge_all:
several, on one construct, checked and written at once."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, CfnResource, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import constructs_lib
from constructs_lib.compliance import (
    COMPLIANCE_PACKS,
    Acknowledged,
    _acknowledge_created,
    acknowledge,
    acknowledge_all,
    in_packs,
)
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
    assert constructs_lib.acknowledge_all is acknowledge_all
    assert constructs_lib.Acknowledged is Acknowledged


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


# Three reasons on one queue, overlapping as a construct's do: the second repeats a checkov id.
_BATCH = (
    Acknowledged(
        "Dead-letter queue: no DLQ of its own.",
        cdk_nag=["AwsSolutions-SQS3"],
        control_tower=["sqs_dlq_check"],
    ),
    Acknowledged("SSE-SQS, which checkov does not count.", checkov=["CKV_AWS_27", "CKV2_AWS_73"]),
    Acknowledged(
        "A second reason for one check.",
        cdk_nag=in_packs("SQSQueueSSE", *COMPLIANCE_PACKS),
        checkov=["CKV_AWS_27", "CKV_AWS_999"],
    ),
)


def _written(queue: sqs.Queue) -> tuple[list[Any], Any]:
    """The acknowledgment entries recorded on `queue`, in order, and its resource's checkov metadata."""
    entries = [
        entry.data
        for entry in queue.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    return entries, queue.node.default_child.get_metadata("checkov")  # type: ignore[union-attr]


def test_a_batch_writes_what_sequential_acknowledgments_write() -> None:
    stack = new_stack(new_app())
    one_by_one, batched = sqs.Queue(stack, "OneByOne"), sqs.Queue(stack, "Batched")
    for entry in _BATCH:
        acknowledge(
            one_by_one,
            reason=entry.reason,
            cdk_nag=entry.cdk_nag,
            checkov=entry.checkov,
            control_tower=entry.control_tower,
        )
    acknowledge_all(batched, *_BATCH)
    assert _written(batched) == _written(one_by_one)
    entries, checkov = _written(batched)
    assert len(entries) == 5
    assert checkov == {
        "skip": [
            {"id": "CKV_AWS_27", "comment": "SSE-SQS, which checkov does not count."},
            {"id": "CKV2_AWS_73", "comment": "SSE-SQS, which checkov does not count."},
            {"id": "CKV_AWS_999", "comment": "A second reason for one check."},
        ]
    }


def test_a_batch_is_one_validation_call_and_one_metadata_update(monkeypatch: pytest.MonkeyPatch) -> None:
    queue = sqs.Queue(new_stack(new_app()), "Queue")
    calls: list[str] = []
    validations_of, add_metadata = Validations.of, CfnResource.add_metadata

    def counted_of(scope: Construct) -> Validations:
        calls.append("Validations.of")
        return validations_of(scope)

    def counted_add(resource: CfnResource, key: str, value: Any) -> None:
        calls.append(f"add_metadata {key}")
        add_metadata(resource, key, value)

    monkeypatch.setattr(Validations, "of", staticmethod(counted_of))
    monkeypatch.setattr(CfnResource, "add_metadata", counted_add)
    acknowledge_all(queue, *_BATCH)
    assert calls == ["Validations.of", "add_metadata checkov"]


def test_a_batch_checks_every_entry_into_one_error_and_writes_nothing() -> None:
    queue = sqs.Queue(new_stack(new_app()), "Queue")
    with pytest.raises(ValueError, match=r"^Test/Queue: 3 invalid props:\n") as raised:
        acknowledge_all(
            queue,
            Acknowledged(REASON, cdk_nag=["AwsSolutions-SQS3"]),
            Acknowledged(" ", control_tower=["CT.SQS.PR.1"]),
            Acknowledged(REASON, checkov=["ckv-aws-27"]),
        )
    assert str(raised.value).splitlines()[1:] == [
        "  - acknowledge_all[1].reason: is empty; say in one sentence why the finding does not apply, so a "
        "reviewer can check it",
        "  - acknowledge_all[1].control_tower[0]: 'CT.SQS.PR.1' is not a CfnGuardValidator rule name; use "
        "the name its report prints (e.g. 's3_bucket_versioning_enabled_check' for CT.S3.PR.11)",
        "  - acknowledge_all[2].checkov[0]: 'ckv-aws-27' is not a checkov check id like 'CKV_AWS_117'",
    ]
    assert _written(queue) == ([], None)


@pytest.mark.parametrize(
    ("construct", "entries", "message"),
    [
        ("queue", (), r"^Test/Queue: acknowledge_all: names no acknowledgment; pass one Acknowledged"),
        ("queue", (Acknowledged(REASON),), r"^Test/Queue: acknowledge_all\[0\]: names no finding"),
        (
            "group",
            (
                Acknowledged(REASON, cdk_nag=["AwsSolutions-SQS3"]),
                Acknowledged(REASON, checkov=["CKV_AWS_27"]),
            ),
            r"^Test/Group: acknowledge_all\[1\].checkov: Test/Group has no CloudFormation resource",
        ),
        ("app", (Acknowledged(REASON, cdk_nag=["AwsSolutions-S1"]),), r"^App: acknowledge_all: an app-wide"),
    ],
)
def test_invalid_batches_raise(construct: str, entries: tuple[Acknowledged, ...], message: str) -> None:
    app = new_app()
    stack = new_stack(app)
    target = {"queue": sqs.Queue(stack, "Queue"), "group": Construct(stack, "Group"), "app": app}[construct]
    with pytest.raises(ValueError, match=message):
        acknowledge_all(target, *entries)


def test_a_new_resource_gets_the_same_skips_without_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = new_stack(new_app())
    read, unread = sqs.Queue(stack, "Read"), sqs.Queue(stack, "Unread")
    acknowledge_all(read, *_BATCH)
    reads: list[str] = []
    get_metadata = CfnResource.get_metadata

    def counted(resource: CfnResource, key: str) -> Any:
        reads.append(key)
        return get_metadata(resource, key)

    monkeypatch.setattr(CfnResource, "get_metadata", counted)
    _acknowledge_created(unread, *_BATCH)
    assert reads == []
    monkeypatch.undo()
    assert _written(unread) == _written(read)
