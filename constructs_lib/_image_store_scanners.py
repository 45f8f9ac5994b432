"""The compliance scanners' findings on an ImageStore that are its design choices, each with why.

Kept apart from image_store.py (which builds the store) so that module stays about one job. The
acknowledgments on one construct are written together (`acknowledge_all`): one jsii round trip for
them all instead of two per acknowledgment.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from constructs_lib.compliance import (
    COMPLIANCE_PACKS,
    Acknowledged,
    acknowledge,
    acknowledge_all,
    in_packs,
)

# The ID aws-cdk-lib gives its one-per-stack S3 notifications handler.
NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def acknowledge_log_bucket(log_bucket: s3.Bucket) -> None:
    acknowledge_all(
        log_bucket,
        Acknowledged(
            reason="This is the server access log bucket of the image buckets; a log bucket does not log "
            "to itself.",
            cdk_nag=["AwsSolutions-S1"],
            checkov=["CKV_AWS_18"],
            control_tower=["s3_bucket_logging_enabled_check"],
        ),
        Acknowledged(
            reason="S3 server access log delivery writes only to target buckets encrypted with SSE-S3.",
            cdk_nag=in_packs("S3DefaultEncryptionKMS", *COMPLIANCE_PACKS),
            control_tower=["s3_bucket_default_encryption_kms_check"],
        ),
        Acknowledged(
            reason="S3 server access logging refuses a target bucket with an Object Lock default retention; "
            "versioning keeps overwritten or deleted logs for noncurrent_version_retention instead.",
            control_tower=["s3_bucket_object_lock_enabled_check"],
        ),
        _replication("these access logs"),
        Acknowledged(
            reason="Nothing reacts to new access-log objects: S3 delivers them in batches for audits, which "
            "read the bucket.",
            control_tower=["s3_event_notifications_enabled_check"],
        ),
    )


def acknowledge_image_bucket(bucket: s3.Bucket, *, kms_encrypted: bool, has_upload_events: bool) -> None:
    encryption = Acknowledged(
        reason="SSE-S3 by default, so presigned browser uploads and downloads need no KMS permission; "
        "encryption_key= switches the store to SSE-KMS with bucket keys.",
        cdk_nag=in_packs("S3DefaultEncryptionKMS", *COMPLIANCE_PACKS),
        control_tower=["s3_bucket_default_encryption_kms_check"],
    )
    acknowledge_all(
        bucket,
        *([] if kms_encrypted else [encryption]),
        Acknowledged(
            reason="Images must stay deletable (by their owners, or a retention policy); versioning keeps "
            "overwritten and deleted versions for noncurrent_version_retention instead of locking them.",
            control_tower=["s3_bucket_object_lock_enabled_check"],
        ),
        _replication("the images"),
        Acknowledged(
            reason="Upload events are configured through aws-cdk-lib's Custom::S3BucketNotifications "
            "resource (to the upload-events topic), which the rule does not read."
            if has_upload_events
            else "Nothing reacts to new thumbnails: the upload processors write them, and upload events "
            "come from the images bucket.",
            control_tower=["s3_event_notifications_enabled_check"],
        ),
    )


def _replication(holds: str) -> Acknowledged:
    return Acknowledged(
        reason="Replication needs a bucket in a second region, which only the app's owner can choose; "
        f"versioning guards {holds} against overwrite and deletion in this region.",
        cdk_nag=in_packs("S3BucketReplicationEnabled", *COMPLIANCE_PACKS),
    )


def acknowledge_presign_role(role: iam.Role) -> None:
    acknowledge(
        role,
        reason="The presign role's own policy allows only s3:PutObject and s3:GetObject under the store's "
        "prefixes; a managed policy would add an attachable copy without narrowing anything.",
        cdk_nag=in_packs("IAMNoInlinePolicy", *COMPLIANCE_PACKS),
    )


def acknowledge_notifications_handler(stack: Stack, notifications: IConstruct) -> None:
    """aws-cdk-lib's S3 notifications handler (one per stack) and the policy it gets for a bucket
    (`notifications`: the bucket's ``Notifications`` construct)."""
    handler = stack.node.find_child(NOTIFICATIONS_HANDLER_ID)
    acknowledge(
        handler.node.find_child("Role"),
        reason="aws-cdk-lib attaches this managed policy to its bucket-notifications handler itself; the "
        "policy only lets the handler write its logs, and the handler runs only during deployments.",
        cdk_nag=[
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]"
        ],
    )
    acknowledge(
        handler,
        reason="aws-cdk-lib's bucket-notifications handler runs only when CloudFormation deploys the stack, "
        "which calls it synchronously and retries the deployment on failure; it reaches only the S3 API.",
        checkov=["CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"],
        control_tower=["lambda_inside_vpc_check"],
    )
    policy: IConstruct = notifications.node.find_child("HandlerPolicy")
    acknowledge(
        policy,
        reason="aws-cdk-lib's policy for its bucket-notifications handler allows only "
        "s3:PutBucketNotification on this bucket, during deployments.",
        cdk_nag=in_packs("IAMNoInlinePolicy", *COMPLIANCE_PACKS),
    )


def acknowledge_subscriber_permission(function: object, topic_arn: str, topic_path: str) -> None:
    """The permission aws-cdk-lib added to `function` so that the topic (`topic_arn`, at `topic_path`)
    may invoke it."""
    if not isinstance(function, Construct):
        return  # an imported function: its permission is not in this app
    for child in function.node.children:
        if isinstance(child, lambda_.CfnPermission) and child.source_arn == topic_arn:
            acknowledge(
                child,
                reason=f"SourceArn limits this permission to the upload-events topic {topic_path}; the "
                "guard rule reads only a literal or same-template SourceArn, not a topic in another stack.",
                control_tower=["lambda_function_public_access_prohibited_check"],
            )
