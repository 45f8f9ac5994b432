"""ImageStore: a private bucket that browsers upload to through presigned URLs, with upload events.

Creates: an images bucket; a server access log bucket; optionally a separate thumbnail bucket
(by default thumbnails live under their own prefix of the images bucket); a presign role that
can only put objects under the upload prefix and read the readable prefixes; an SNS topic
encrypted with its own rotating KMS key that receives ``s3:ObjectCreated:*`` for the upload
prefix; and, per subscriber, an encrypted SQS dead-letter queue.

Defaults: never public (all public access blocked, bucket-owner-enforced ownership, TLS 1.2+
only), S3-managed encryption (a KMS key with bucket keys as an option), versioning with
noncurrent versions expired after 30 days, incomplete multipart uploads aborted after 1 day,
access logs kept 1 year, no CORS, upload URLs valid 300 s, download URLs 1 h, RETAIN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, cast

import jsii
from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IValidation

from constructs_lib import _resolved
from constructs_lib._grants import default_policy, principal_in_another_stack
from constructs_lib._image_store_scanners import (
    acknowledge_image_bucket,
    acknowledge_log_bucket,
    acknowledge_notifications_handler,
    acknowledge_presign_role,
    acknowledge_subscriber_permission,
)
from constructs_lib._image_store_validation import validate_props
from constructs_lib._keys import deny_grants_except_for_aws_resources
from constructs_lib._logical_ids import pin_logical_id
from constructs_lib._logs import DEFAULT_LOG_RETENTION_DAYS
from constructs_lib._nag import acknowledge_wildcard_resource
from constructs_lib._paths import path_of
from constructs_lib._protection import check_disposable, record_reason, weakened_removal_policy
from constructs_lib._queues import dead_letter_queue
from constructs_lib._validation import PropErrors
from constructs_lib.cors_policy import CorsPolicy
from constructs_lib.runtime import environment as env
from constructs_lib.serverless_function import invocation_target

# (Made with _resolved: the validation and the environment read their seconds without jsii round trips.)
DEFAULT_UPLOAD_URL_TTL = _resolved.seconds(300)  # long enough for a phone upload, short enough to leak little
DEFAULT_DOWNLOAD_URL_TTL = _resolved.hours(1)  # an open page keeps showing its images for a session
# The presign role's MaxSessionDuration, and so the longest any URL it signs can work. One hour is the
# IAM minimum and the longest session a Lambda function can get by chaining from its own role.
PRESIGN_SESSION = _resolved.hours(1)
MAX_URL_TTL = _resolved.days(7)  # SigV4 presigned URLs cannot be valid longer
DEFAULT_NONCURRENT_VERSION_RETENTION = _resolved.days(30)  # time to notice and undo an overwrite or delete
DEFAULT_ABORT_INCOMPLETE_UPLOADS = _resolved.days(1)  # a multipart upload not finished in a day was abandoned
DEFAULT_ACCESS_LOG_RETENTION = _resolved.days(DEFAULT_LOG_RETENTION_DAYS)  # the library's one log retention
DEFAULT_CORS_MAX_AGE = _resolved.hours(1)  # a browser may cache the preflight answer this long
_DOWNLOAD_METHODS = (s3.HttpMethods.GET, s3.HttpMethods.HEAD)
MINIMUM_TLS_VERSION = 1.2
DEFAULT_CONTENT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# Raster types browsers display. image/svg+xml is left out on purpose: an SVG can carry script.
KNOWN_CONTENT_TYPES = (
    *DEFAULT_CONTENT_TYPES,
    "image/avif",
    "image/heic",
    "image/heif",
    "image/tiff",
    "image/bmp",
)


def _seconds_text(duration: Duration) -> str:
    """Whole seconds for an environment variable; a token's (a CfnParameter's) as its reference."""
    if _resolved.is_unresolved_duration(duration):
        return Token.as_string(duration.to_seconds())
    return str(int(_resolved.to_milliseconds(duration) / 1000))


@jsii.implements(s3.IBucketNotificationDestination)
class _TopicDestination:
    """Sends bucket notifications to a topic whose policies the ImageStore writes itself.

    s3_notifications.SnsDestination would add an unconditioned statement for s3.amazonaws.com to
    the topic key's policy (feature flag addS3TrustKeyPolicyForSnsSubscriptions); the ImageStore
    instead scopes both the key and the topic policy to its bucket and account.
    """

    def __init__(self, topic: sns.Topic, topic_arn: str) -> None:
        self._topic = topic
        self._topic_arn = topic_arn

    def bind(self, scope: Construct, bucket: Any) -> s3.BucketNotificationDestinationConfig:
        # S3 checks it may publish when the notification is configured: the topic policy must exist first.
        return s3.BucketNotificationDestinationConfig(
            arn=self._topic_arn,
            type=s3.BucketNotificationDestinationType.TOPIC,
            dependencies=[self._topic],
        )


# Roles in other stacks that may assume a store's presign role carry this tag (see grant_presign).
PRESIGN_TAG_KEY = "constructs-lib:presign"


class ImageStore(Construct):
    """Private image storage that browsers upload to directly with presigned URLs.

    Grant a function `grant_presign` and give it `runtime_environment`; its handler then uses
    ``constructs_lib.runtime.presign.Presigner.from_environment()`` to sign URLs with the presign
    role. Subscribe processors (a thumbnailer, an indexer) with `add_upload_subscriber`.

    Attributes: `bucket`, `thumbnail_bucket` (the images bucket unless
    `separate_thumbnail_bucket`), `log_bucket`, `topic`, `topic_key`, `presign_role`,
    `allowed_content_types`, `runtime_environment`, `content_type_environment`.

    Protections: the buckets are versioned and RETAINed. A `removal_policy` other than RETAIN lets
    the images go with the stack, so it needs `disposable_data_reason`: one sentence saying why the
    images are disposable (written into the buckets' template Metadata).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        upload_prefix: str = "uploads/",
        thumbnail_prefix: str = "thumbnails/",
        separate_thumbnail_bucket: bool = False,
        upload_suffixes: Sequence[str] = (),
        upload_url_ttl: Duration = DEFAULT_UPLOAD_URL_TTL,
        download_url_ttl: Duration = DEFAULT_DOWNLOAD_URL_TTL,
        allow_presigned_downloads: bool = True,
        cors_allowed_origins: Sequence[str] = (),
        cors_allow_credentials: bool = False,
        allowed_content_types: Sequence[str] = DEFAULT_CONTENT_TYPES,
        encryption_key: kms.IKey | None = None,
        noncurrent_version_retention: Duration = DEFAULT_NONCURRENT_VERSION_RETENTION,
        access_log_retention: Duration = DEFAULT_ACCESS_LOG_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        check_disposable(
            errors, weakened_removal_policy(removal_policy), disposable_data_reason, "the stored images"
        )
        validate_props(
            errors,
            upload_prefix=upload_prefix,
            thumbnail_prefix=thumbnail_prefix,
            separate_thumbnail_bucket=separate_thumbnail_bucket,
            upload_suffixes=upload_suffixes,
            upload_url_ttl=upload_url_ttl,
            download_url_ttl=download_url_ttl,
            cors_allowed_origins=cors_allowed_origins,
            cors_allow_credentials=cors_allow_credentials,
            allowed_content_types=allowed_content_types,
            noncurrent_version_retention=noncurrent_version_retention,
            access_log_retention=access_log_retention,
            known_content_types=KNOWN_CONTENT_TYPES,
            max_url_ttl=MAX_URL_TTL,
            presign_session=PRESIGN_SESSION,
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)
        self.upload_prefix = upload_prefix
        self.thumbnail_prefix = thumbnail_prefix
        self.allowed_content_types = tuple(allowed_content_types)
        self._encryption_key = encryption_key
        self._subscriber_count = 0
        self._subscribers: set[str] = set()  # construct paths of the targets of add_upload_subscriber

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption S3 log delivery supports
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=MINIMUM_TLS_VERSION,
            # Versioned, so a deleted or overwritten log can be recovered while anyone may still ask.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireAccessLogs", expiration=access_log_retention),
                s3.LifecycleRule(
                    id="ExpireNoncurrentAccessLogs",
                    noncurrent_version_expiration=noncurrent_version_retention,
                ),
            ],
            removal_policy=removal_policy,
        )
        acknowledge_log_bucket(self.log_bucket)

        cors_policy = CorsPolicy(
            allow_origins=cors_allowed_origins,
            allow_credentials=cors_allow_credentials,
            max_age=DEFAULT_CORS_MAX_AGE,
        )
        cors = (
            [
                cors_policy.bucket_cors_rule(
                    "PresignedUploadsAndDownloads",
                    [s3.HttpMethods.PUT, s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    # A presigned PUT may sign Content-Type; everything else travels in the query string.
                    allowed_headers=["content-type"],
                    exposed_headers=["ETag"],
                )
            ]
            if cors_allowed_origins
            else None
        )
        self.bucket = self._private_bucket(
            "Bucket", cors, noncurrent_version_retention, removal_policy, log_prefix="images/"
        )
        record_reason(self.bucket, disposable_data_reason)
        acknowledge_image_bucket(
            self.bucket, kms_encrypted=encryption_key is not None, has_upload_events=True
        )
        self.thumbnail_bucket = self.bucket
        if separate_thumbnail_bucket:
            thumbnail_cors = (
                [
                    cors_policy.bucket_cors_rule(
                        "PresignedDownloads", [s3.HttpMethods.GET, s3.HttpMethods.HEAD]
                    )
                ]
                if cors_allowed_origins
                else None
            )
            self.thumbnail_bucket = self._private_bucket(
                "ThumbnailBucket",
                thumbnail_cors,
                noncurrent_version_retention,
                removal_policy,
                log_prefix="thumbnails/",
            )
            acknowledge_image_bucket(
                self.thumbnail_bucket, kms_encrypted=encryption_key is not None, has_upload_events=False
            )
            record_reason(self.thumbnail_bucket, disposable_data_reason)

        self.presign_role = self._presign_role(allow_presigned_downloads)
        acknowledge_presign_role(self.presign_role)
        self._presign_tag_value = self.node.addr
        self._tag_trust_added = False
        self.topic_key, self.topic = self._upload_topic(upload_suffixes)

        bucket_name = self.bucket.bucket_name
        self.runtime_environment: dict[str, str] = {
            env.IMAGE_STORE_BUCKET: bucket_name,
            env.IMAGE_STORE_UPLOAD_PREFIX: upload_prefix,
            env.IMAGE_STORE_THUMBNAIL_BUCKET: (
                bucket_name if self.thumbnail_bucket is self.bucket else self.thumbnail_bucket.bucket_name
            ),
            env.IMAGE_STORE_THUMBNAIL_PREFIX: thumbnail_prefix,
            env.IMAGE_STORE_PRESIGN_ROLE_ARN: self.presign_role.role_arn,
            env.IMAGE_STORE_UPLOAD_URL_TTL: _seconds_text(upload_url_ttl),
            env.IMAGE_STORE_DOWNLOAD_URL_TTL: _seconds_text(download_url_ttl),
        }
        # S3 has no condition key for Content-Type: the handler binds it when signing, from this list.
        self.content_type_environment: dict[str, str] = {
            env.IMAGE_STORE_ALLOWED_CONTENT_TYPES: ",".join(self.allowed_content_types),
        }
        self.node.add_validation(_PresignGranted(self))

    def _private_bucket(
        self,
        construct_id: str,
        cors: list[s3.CorsRule] | None,
        noncurrent_version_retention: Duration,
        removal_policy: RemovalPolicy,
        *,
        log_prefix: str,
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS if self._encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=self._encryption_key,
            # Bucket keys cut KMS requests (and cost) per object by orders of magnitude.
            bucket_key_enabled=True if self._encryption_key else None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=MINIMUM_TLS_VERSION,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteUploads",
                    abort_incomplete_multipart_upload_after=DEFAULT_ABORT_INCOMPLETE_UPLOADS,
                ),
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=noncurrent_version_retention,
                ),
            ],
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix=log_prefix,
            cors=cors,
            removal_policy=removal_policy,
        )

    def _presign_role(self, allow_presigned_downloads: bool) -> iam.Role:
        # No principal yet: grant_presign adds each grantee to the trust policy, and nobody else.
        role = iam.Role(
            self,
            "PresignRole",
            assumed_by=_NobodyYet(),
            max_session_duration=PRESIGN_SESSION,
            description=f"Signs presigned URLs for {self._path}: put under the upload prefix, get images",
        )
        uploads = self.bucket.arn_for_objects(f"{self.upload_prefix}*")
        role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[uploads]))
        readable = [uploads, self.thumbnail_bucket.arn_for_objects(f"{self.thumbnail_prefix}*")]
        if allow_presigned_downloads:
            role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=readable))
        if self._encryption_key:
            self._encryption_key.grant(role, "kms:GenerateDataKey")
            if allow_presigned_downloads:
                self._encryption_key.grant_decrypt(role)
        policy = role.node.find_child("DefaultPolicy")
        for objects in readable if allow_presigned_downloads else [uploads]:
            acknowledge_wildcard_resource(
                policy,
                objects,
                "Presigned URLs name their key at request time; the role may use only keys under its prefix.",
            )
        return role

    @cached_property
    def _path(self) -> str:
        return path_of(self)

    @cached_property
    def _bucket_arn(self) -> str:
        return self.bucket.bucket_arn

    def _upload_topic(self, upload_suffixes: Sequence[str]) -> tuple[kms.Key, sns.Topic]:
        stack = Stack.of(self)
        self._account = stack.account  # grant_presign's trust for other stacks' roles
        # SNS's AWS-managed key cannot be used: its key policy does not let S3 encrypt messages.
        key = kms.Key(
            self,
            "TopicKey",
            enable_key_rotation=True,
            description=f"Encrypts the upload events topic of {self._path}",
            removal_policy=RemovalPolicy.RETAIN,
        )
        deny_grants_except_for_aws_resources(key)
        source_conditions = {
            "ArnLike": {"aws:SourceArn": self._bucket_arn},
            "StringEquals": {"aws:SourceAccount": self._account},
        }
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowImagesBucketToPublishEncryptedEvents",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions=source_conditions,
            )
        )
        topic = sns.Topic(self, "UploadEvents", master_key=key, enforce_ssl=True)
        self._topic_arn = topic.topic_arn
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowOnlyImagesBucketToPublish",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self._topic_arn],
                conditions=source_conditions,
            )
        )
        destination = _TopicDestination(topic, self._topic_arn)
        for suffix in upload_suffixes or (None,):
            self.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                destination,
                s3.NotificationKeyFilter(prefix=self.upload_prefix, suffix=suffix),
            )
        # The bucket's notification configuration lives in S3: the resource writing it must never move.
        notifications = self.bucket.node.find_child("Notifications")
        pin_logical_id(
            cast(CfnElement, notifications.node.find_child("Resource")), self, "Bucket/Notifications/Resource"
        )
        acknowledge_notifications_handler(stack, notifications)
        return key, topic

    def grant_presign(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` assume the presign role: trusted by the role, and allowed sts:AssumeRole on it.

        A grantee in this construct's stack is named in the role's trust policy. A grantee role in
        another stack cannot be (the two stacks would reference each other), so it is tagged
        ``PRESIGN_TAG_KEY=<this store's id>`` and the trust policy admits principals of this
        account carrying that tag: still only principals passed to `grant_presign`.
        """
        principal = grantee.grant_principal
        trust = self._trust
        foreign = principal_in_another_stack(grantee, self)
        if foreign is not None:
            if not isinstance(principal, iam.Role):
                raise ValueError(
                    f"{self.node.path}: grant_presign: {foreign.node.path} is in another stack and is "
                    "not a role this app creates, so it cannot carry the trust tag; grant a function's "
                    "role, or a grantee in this stack"
                )
            Tags.of(principal).add(PRESIGN_TAG_KEY, self._presign_tag_value)
            if not self._tag_trust_added:
                trust.add_statements(
                    iam.PolicyStatement(
                        actions=["sts:AssumeRole"],
                        principals=[iam.AccountPrincipal(self._account)],
                        conditions={
                            "StringEquals": {f"aws:PrincipalTag/{PRESIGN_TAG_KEY}": self._presign_tag_value}
                        },
                    )
                )
                self._tag_trust_added = True
        else:
            trust.add_statements(iam.PolicyStatement(actions=["sts:AssumeRole"], principals=[principal]))
        return self.presign_role.grant_assume_role(principal)

    @cached_property
    def _trust(self) -> iam.PolicyDocument:
        trust = self.presign_role.assume_role_policy
        assert trust is not None
        return trust

    def grant_read_uploads(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:GetObject on the upload prefix (and decrypt with the bucket key, if any)."""
        return self._grant_objects(grantee, self.bucket, self.upload_prefix, "s3:GetObject", write=False)

    def grant_list_uploads(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:ListBucket limited to the upload prefix: with GetObject alone, S3 answers 403 rather than
        404 for an upload that never arrived, so a caller that must tell "missing" apart lists."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self._bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{self.upload_prefix}*"]}},
        )

    def grant_write_thumbnails(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:PutObject on the thumbnail prefix of the thumbnail bucket."""
        return self._grant_objects(
            grantee, self.thumbnail_bucket, self.thumbnail_prefix, "s3:PutObject", write=True
        )

    def grant_read_thumbnails(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:GetObject on the thumbnail prefix of the thumbnail bucket."""
        return self._grant_objects(
            grantee, self.thumbnail_bucket, self.thumbnail_prefix, "s3:GetObject", write=False
        )

    def grant_delete_images(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:DeleteObject on the upload prefix and the thumbnail prefix: deleting images' files
        (no key grant: deleting reads and writes no data)."""
        objects = [
            self.bucket.arn_for_objects(f"{self.upload_prefix}*"),
            self.thumbnail_bucket.arn_for_objects(f"{self.thumbnail_prefix}*"),
        ]
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:DeleteObject"], resource_arns=objects
        )
        policy = default_policy(grantee)
        if policy is not None:
            for resource, prefix in zip(objects, (self.upload_prefix, self.thumbnail_prefix), strict=True):
                acknowledge_wildcard_resource(
                    policy,
                    resource,
                    f"Object keys are known only at run time; s3:DeleteObject is limited to keys under "
                    f"'{prefix}'.",
                )
        return grant

    def _grant_objects(
        self, grantee: iam.IGrantable, bucket: s3.Bucket, prefix: str, action: str, *, write: bool
    ) -> iam.Grant:
        objects = bucket.arn_for_objects(f"{prefix}*")
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=[action], resource_arns=[objects])
        if self._encryption_key:
            if write:
                grant = grant.combine(self._encryption_key.grant(grantee, "kms:GenerateDataKey"))
            else:
                grant = grant.combine(self._encryption_key.grant_decrypt(grantee))
        policy = default_policy(grantee)
        if policy is not None:
            acknowledge_wildcard_resource(
                policy,
                objects,
                f"Object keys are known only at run time; {action} is limited to keys under '{prefix}'.",
            )
        return grant

    def add_upload_subscriber(
        self,
        target: lambda_.IFunction | sqs.IQueue,
        *,
        filter_policy: Mapping[str, sns.FilterOrPolicy] | None = None,
    ) -> sns.Subscription:
        """Deliver upload events to a Lambda function or an SQS queue, with its own dead-letter queue.

        S3 events carry no SNS message attributes, so `filter_policy` filters the message body,
        e.g. ``{"Records": FilterOrPolicy.policy({"s3": FilterOrPolicy.policy({"object":
        FilterOrPolicy.policy({"key": FilterOrPolicy.filter(SubscriptionFilter.string_filter(
        match_suffixes=[".png"]))})})})}``.
        """
        # Asked of the class first: a property read on the instance would be a jsii round trip.
        is_function = hasattr(type(target), "function_arn") or hasattr(target, "function_arn")
        is_queue = hasattr(type(target), "queue_arn") or hasattr(target, "queue_arn")
        if not (is_function or is_queue):
            errors = PropErrors(self.node.scope, self.node.id)  # type: ignore[arg-type]
            errors.add(
                "add_upload_subscriber.target",
                f"{type(target).__name__} is neither a lambda IFunction nor an sqs IQueue; "
                "pass a function (e.g. ServerlessFunction.function) or a queue",
            )
            errors.raise_if_any()
        # aws-cdk-lib names a subscription after the topic, under its subscriber: a second one of the
        # same target would throw through jsii ("already exists under the scope"), and SNS would
        # deliver every event twice anyway (issue #18).
        target_path = path_of(target)
        if target_path in self._subscribers:
            errors = PropErrors(self.node.scope, self.node.id)  # type: ignore[arg-type]
            errors.add(
                "add_upload_subscriber.target",
                f"'{target_path}' already receives this store's upload events; subscribe it once",
            )
            errors.raise_if_any()
        self._subscribers.add(target_path)
        self._subscriber_count += 1
        subscriber_queue = dead_letter_queue(
            self,
            f"Subscriber{self._subscriber_count}DeadLetterQueue",
            holds="an upload-events subscription",
        )
        subscription: sns.ITopicSubscription
        if is_function:
            target = invocation_target(target)  # type: ignore[arg-type]
            subscription = subscriptions.LambdaSubscription(
                target,
                dead_letter_queue=subscriber_queue,
                filter_policy_with_message_body=filter_policy,
            )
        else:
            subscription = subscriptions.SqsSubscription(
                target,  # type: ignore[arg-type]
                dead_letter_queue=subscriber_queue,
                filter_policy_with_message_body=filter_policy,
            )
        added = self.topic.add_subscription(subscription)
        if is_function:
            acknowledge_subscriber_permission(target, self._topic_arn, f"{self._path}/UploadEvents")
        return added


class _NobodyYet(iam.PrincipalBase):
    """A role principal that adds no trust statement: grants add the trusted principals."""

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return iam.PrincipalPolicyFragment({})

    def add_to_assume_role_policy(self, document: iam.PolicyDocument) -> None:
        """Trust nobody until grant_presign names a principal."""

    def dedupe_string(self) -> str | None:
        return None


@jsii.implements(IValidation)
class _PresignGranted:
    """Fails synthesis while nobody may assume the presign role: IAM rejects an empty trust policy."""

    def __init__(self, store: ImageStore) -> None:
        self._store = store

    def validate(self) -> list[str]:
        trust = self._store.presign_role.assume_role_policy
        if trust is not None and trust.statement_count > 0:
            return []
        return [
            "nobody may assume the presign role; call grant_presign(...) for the function that signs "
            "upload and download URLs"
        ]
