"""ImageStore: private buckets, the presign role, and upload events through an encrypted topic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib._nag import acknowledge
from constructs_lib.image_store import ImageStore
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
STORES: dict[str, ImageStore] = {}


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    app = new_app()
    defaults = new_stack(app, "Defaults")
    store = ImageStore(defaults, "Images")
    api = ServerlessFunction(defaults, "Api", entry=ECHO, environment=store.runtime_environment)
    store.grant_presign(api.function)
    thumbnailer = ServerlessFunction(defaults, "Thumbnailer", entry=ECHO, invoked_asynchronously=True)
    store.grant_read_uploads(thumbnailer.function)
    store.grant_write_thumbnails(thumbnailer.function)
    store.add_upload_subscriber(thumbnailer.function)
    STORES["Defaults"] = store

    options = new_stack(app, "Options")
    key = kms.Key(options, "ImagesKey", enable_key_rotation=True)
    store = ImageStore(
        options,
        "Images",
        upload_prefix="incoming/photos/",
        thumbnail_prefix="small/",
        separate_thumbnail_bucket=True,
        upload_suffixes=[".jpg", ".png"],
        upload_url_ttl=Duration.seconds(120),
        download_url_ttl=Duration.minutes(10),
        allow_presigned_downloads=False,
        cors_allowed_origins=["https://app.example.com", "http://localhost:3000"],
        cors_allow_credentials=True,
        allowed_content_types=["image/jpeg", "image/avif"],
        encryption_key=key,
        noncurrent_version_retention=Duration.days(7),
        access_log_retention=Duration.days(90),
    )
    api = ServerlessFunction(options, "Api", entry=ECHO)
    store.grant_presign(api.function)
    store.grant_read_thumbnails(api.function)
    # Retention explicit, as cfn-lint's I3013 asks.
    dead_letters = sqs.Queue(options, "IndexingDlq", enforce_ssl=True, retention_period=Duration.days(14))
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(dead_letters, rule, "The test queue's dead-letter queue; a DLQ has no DLQ.")
    queue_with_dlq = sqs.Queue(
        options,
        "Indexing",
        enforce_ssl=True,
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=3),
    )
    store.add_upload_subscriber(
        queue_with_dlq,
        filter_policy={
            "Records": sns.FilterOrPolicy.policy(
                {
                    "eventName": sns.FilterOrPolicy.filter(
                        sns.SubscriptionFilter.string_filter(match_prefixes=["ObjectCreated:"])
                    )
                }
            )
        },
    )
    STORES["Options"] = store
    return synth_templates(app)


@pytest.fixture(scope="module")
def options(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Options"])


def _images_bucket(template: Template, name: str = "ImagesBucket") -> dict[str, Any]:
    (props,) = [
        resource["Properties"]
        for logical_id, resource in template.find_resources("AWS::S3::Bucket").items()
        if logical_id.startswith(name)
    ]
    return dict(props)


def _statements(
    template: Template, logical_prefix: str, resource_type: str = "AWS::IAM::Policy"
) -> list[Any]:
    return [
        statement
        for logical_id, resource in template.find_resources(resource_type).items()
        if logical_id.startswith(logical_prefix)
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _arn_suffix(resource: Any) -> str:
    return str(resource["Fn::Join"][1][1])


def test_buckets_are_never_public(defaults: Template, options: Template) -> None:
    for template, count in ((defaults, 2), (options, 3)):
        template.resource_count_is("AWS::S3::Bucket", count)
        template.all_resources_properties(
            "AWS::S3::Bucket",
            {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
        )


def test_buckets_refuse_plain_http_and_old_tls(defaults: Template) -> None:
    statements = _statements(defaults, "Images", "AWS::S3::BucketPolicy")
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denies]
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in [s["Condition"] for s in denies]
    assert len(denies) == 4  # two per bucket: images and access logs


def test_s3_managed_encryption_by_default(defaults: Template) -> None:
    assert _images_bucket(defaults)["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }


def test_kms_key_with_bucket_keys_as_an_option(options: Template) -> None:
    for name in ("ImagesBucket", "ImagesThumbnailBucket"):
        (rule,) = _images_bucket(options, name)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0].startswith(
            "ImagesKey"
        )


def test_versioning_and_lifecycle_defaults(defaults: Template) -> None:
    bucket = _images_bucket(defaults)
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["LifecycleConfiguration"]["Rules"] == [
        {
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "Id": "AbortIncompleteUploads",
            "Status": "Enabled",
        },
        {
            "Id": "ExpireNoncurrentVersions",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "Status": "Enabled",
        },
    ]


def test_noncurrent_and_log_retention_options(options: Template) -> None:
    rules = _images_bucket(options)["LifecycleConfiguration"]["Rules"]
    assert rules[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert _images_bucket(options, "ImagesAccessLogs")["LifecycleConfiguration"]["Rules"] == [
        {"ExpirationInDays": 90, "Id": "ExpireAccessLogs", "Status": "Enabled"},
        {
            "Id": "ExpireNoncurrentAccessLogs",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "Status": "Enabled",
        },
    ]


def test_access_logs_go_to_a_separate_bucket_with_its_own_retention(defaults: Template) -> None:
    logging = _images_bucket(defaults)["LoggingConfiguration"]
    assert logging["LogFilePrefix"] == "images/"
    assert logging["DestinationBucketName"]["Ref"].startswith("ImagesAccessLogs")
    log_bucket = _images_bucket(defaults, "ImagesAccessLogs")
    assert log_bucket["LifecycleConfiguration"]["Rules"] == [
        {"ExpirationInDays": 365, "Id": "ExpireAccessLogs", "Status": "Enabled"},
        {
            "Id": "ExpireNoncurrentAccessLogs",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "Status": "Enabled",
        },
    ]
    # Versioned, so a deleted or overwritten log can be recovered until its noncurrent version expires.
    assert log_bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]


def test_topic_key_allows_grants_only_for_aws_resources(defaults: Template) -> None:
    (key,) = [
        k for name, k in defaults.find_resources("AWS::KMS::Key").items() if name.startswith("ImagesTopicKey")
    ]
    assert {
        "Sid": "DenyGrantsExceptForAwsResources",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {
            "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
        },
    } in key["Properties"]["KeyPolicy"]["Statement"]


def test_stateful_resources_are_retained(defaults: Template) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        for resource in defaults.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Retain"


def test_no_cors_by_default(defaults: Template) -> None:
    assert "CorsConfiguration" not in _images_bucket(defaults)


def test_cors_for_configured_origins_only(options: Template) -> None:
    assert _images_bucket(options)["CorsConfiguration"] == {
        "CorsRules": [
            {
                "AllowedHeaders": ["content-type"],
                "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
                "AllowedOrigins": ["https://app.example.com", "http://localhost:3000"],
                "ExposedHeaders": ["ETag"],
                "Id": "PresignedUploadsAndDownloads",
                "MaxAge": 3600,
            }
        ]
    }
    thumbnail_rules = _images_bucket(options, "ImagesThumbnailBucket")["CorsConfiguration"]["CorsRules"]
    assert thumbnail_rules[0]["AllowedMethods"] == ["GET", "HEAD"]


def test_presign_role_trusts_only_granted_principals(defaults: Template) -> None:
    (role,) = [
        r["Properties"]
        for logical_id, r in defaults.find_resources("AWS::IAM::Role").items()
        if logical_id.startswith("ImagesPresignRole")
    ]
    assert role["MaxSessionDuration"] == 3600
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Effect"]) == ("sts:AssumeRole", "Allow")
    assert statement["Principal"]["AWS"]["Fn::GetAtt"][0].startswith("ApiServiceRole")
    assert "Condition" not in statement
    grant = _statements(defaults, "ApiServiceRole")[-1]
    assert grant["Action"] == "sts:AssumeRole"
    assert grant["Resource"]["Fn::GetAtt"][0].startswith("ImagesPresignRole")


def test_presign_role_may_only_put_uploads_and_get_images(defaults: Template) -> None:
    statements = _statements(defaults, "ImagesPresignRole")
    assert [s["Action"] for s in statements] == ["s3:PutObject", "s3:GetObject"]
    assert _arn_suffix(statements[0]["Resource"]) == "/uploads/*"
    assert sorted(_arn_suffix(r) for r in statements[1]["Resource"]) == ["/thumbnails/*", "/uploads/*"]


def test_presign_role_without_downloads_only_puts_and_uses_the_bucket_key(options: Template) -> None:
    statements = _statements(options, "ImagesPresignRole")
    assert [s["Action"] for s in statements] == ["s3:PutObject", "kms:GenerateDataKey"]
    assert _arn_suffix(statements[0]["Resource"]) == "/incoming/photos/*"


def test_upload_events_go_to_the_topic_for_the_upload_prefix(defaults: Template) -> None:
    defaults.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "TopicConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                        "TopicArn": {"Ref": Match.string_like_regexp("ImagesUploadEvents")},
                    }
                ]
            }
        },
    )


def test_one_notification_per_suffix(options: Template) -> None:
    (notifications,) = options.find_resources("Custom::S3BucketNotifications").values()
    rules = [
        config["Filter"]["Key"]["FilterRules"]
        for config in notifications["Properties"]["NotificationConfiguration"]["TopicConfigurations"]
    ]
    assert rules == [
        [{"Name": "suffix", "Value": ".jpg"}, {"Name": "prefix", "Value": "incoming/photos/"}],
        [{"Name": "suffix", "Value": ".png"}, {"Name": "prefix", "Value": "incoming/photos/"}],
    ]


def test_topic_key_rotates_and_lets_only_this_bucket_use_it(defaults: Template) -> None:
    (key,) = defaults.find_resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    (s3_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    assert s3_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert s3_statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("ImagesBucket")
    assert s3_statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "111111111111"}
    defaults.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("ImagesTopicKey"), "Arn"]}},
    )


def test_topic_policy_allows_only_this_bucket_and_denies_plain_http(defaults: Template) -> None:
    statements = _statements(defaults, "ImagesUploadEventsPolicy", "AWS::SNS::TopicPolicy")
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allows[0]["Action"] == "sns:Publish"
    assert allows[0]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("ImagesBucket")
    assert allows[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "111111111111"}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_lambda_subscriber_gets_its_own_encrypted_dead_letter_queue(defaults: Template) -> None:
    (subscription,) = defaults.find_resources("AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert props["Protocol"] == "lambda"
    assert props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0].startswith(
        "ImagesSubscriber1DeadLetterQueue"
    )
    (queue,) = [
        q
        for logical_id, q in defaults.find_resources("AWS::SQS::Queue").items()
        if logical_id.startswith("ImagesSubscriber1")
    ]
    assert queue["Properties"] == {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}


def test_queue_subscriber_with_body_filter_policy(options: Template) -> None:
    options.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": {"Records": {"eventName": [{"prefix": "ObjectCreated:"}]}},
            "RedrivePolicy": {"deadLetterTargetArn": Match.any_value()},
        },
    )


def test_grants_are_scoped_to_their_prefix(defaults: Template, options: Template) -> None:
    thumbnailer = _statements(defaults, "ThumbnailerServiceRole")[-2:]
    assert [(s["Action"], _arn_suffix(s["Resource"])) for s in thumbnailer] == [
        ("s3:GetObject", "/uploads/*"),
        ("s3:PutObject", "/thumbnails/*"),
    ]
    api = _statements(options, "ApiServiceRole")
    reads = [s for s in api if s["Action"] == "s3:GetObject"]
    assert [_arn_suffix(s["Resource"]) for s in reads] == ["/small/*"]
    assert reads[0]["Resource"]["Fn::Join"][1][0]["Fn::GetAtt"][0].startswith("ImagesThumbnailBucket")
    assert any(s["Action"] == "kms:Decrypt" for s in api)  # the thumbnail bucket uses the KMS key


def test_runtime_environment_names_every_setting() -> None:
    defaults, options = STORES["Defaults"], STORES["Options"]
    assert set(defaults.runtime_environment) == {
        "IMAGE_STORE_BUCKET",
        "IMAGE_STORE_UPLOAD_PREFIX",
        "IMAGE_STORE_THUMBNAIL_BUCKET",
        "IMAGE_STORE_THUMBNAIL_PREFIX",
        "IMAGE_STORE_PRESIGN_ROLE_ARN",
        "IMAGE_STORE_UPLOAD_URL_TTL",
        "IMAGE_STORE_DOWNLOAD_URL_TTL",
    }
    assert defaults.runtime_environment["IMAGE_STORE_UPLOAD_URL_TTL"] == "300"
    assert defaults.runtime_environment["IMAGE_STORE_DOWNLOAD_URL_TTL"] == "3600"
    assert options.runtime_environment["IMAGE_STORE_UPLOAD_PREFIX"] == "incoming/photos/"
    assert options.runtime_environment["IMAGE_STORE_UPLOAD_URL_TTL"] == "120"
    assert options.runtime_environment["IMAGE_STORE_DOWNLOAD_URL_TTL"] == "600"
    assert options.content_type_environment == {"IMAGE_STORE_ALLOWED_CONTENT_TYPES": "image/jpeg,image/avif"}
    assert defaults.thumbnail_bucket is defaults.bucket
    assert options.thumbnail_bucket is not options.bucket


def test_api_function_receives_the_environment(defaults: Template) -> None:
    defaults.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "IMAGE_STORE_UPLOAD_PREFIX": "uploads/",
                        "IMAGE_STORE_PRESIGN_ROLE_ARN": {
                            "Fn::GetAtt": [Match.string_like_regexp("ImagesPresignRole"), "Arn"]
                        },
                    }
                )
            }
        },
    )


def test_cfn_lint_clean(templates: dict[str, dict[str, Any]]) -> None:
    assert cfn_lint_findings(templates["Defaults"]) == []
    assert cfn_lint_findings(templates["Options"]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Defaults"]) == snapshot_json


def test_options_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Options"]) == snapshot_json


def _escaped(message: str) -> str:
    return "".join("\\" + c if c in "()[]*.?+^$|{}\\" else c for c in message)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"upload_prefix": "/uploads"}, "Test/Bad: upload_prefix: '/uploads' is not a key prefix"),
        ({"upload_prefix": "uploads/*/"}, "upload_prefix: 'uploads/*/' is not a key prefix"),
        ({"thumbnail_prefix": "thumbs"}, "thumbnail_prefix: 'thumbs' is not a key prefix"),
        ({"thumbnail_prefix": "../"}, "thumbnail_prefix: '../' is not a key prefix"),
        (
            {"thumbnail_prefix": "uploads/small/"},
            "thumbnail_prefix: 'uploads/small/' overlaps upload_prefix 'uploads/' in the same bucket",
        ),
        ({"upload_suffixes": ["*.jpg"]}, "upload_suffixes[0]: '*.jpg' is not a key suffix"),
        ({"upload_suffixes": [".jpg", "g"]}, "upload_suffixes[0]: '.jpg' overlaps another suffix"),
        (
            {"upload_url_ttl": Duration.seconds(0)},
            "upload_url_ttl: 0 s is outside 1 second to 7 days, the lifetime SigV4 allows a URL",
        ),
        ({"download_url_ttl": Duration.days(8)}, "download_url_ttl: 691200 s is outside 1 second to 7 days"),
        (
            {"download_url_ttl": Duration.hours(2)},
            "download_url_ttl: 7200 s is longer than the presign role session (3600 s)",
        ),
        ({"upload_url_ttl": Duration.millis(1500)}, "upload_url_ttl: 1.5 s is not a whole number of seconds"),
        (
            {"cors_allowed_origins": ["example.com"]},
            "cors_allowed_origins[0]: 'example.com' is not an origin; use scheme://host[:port]",
        ),
        (
            {"cors_allowed_origins": ["https://example.com/app"]},
            "cors_allowed_origins[0]: 'https://example.com/app' is not an origin",
        ),
        (
            {"cors_allowed_origins": ["*"], "cors_allow_credentials": True},
            "cors_allowed_origins: '*' cannot be used with cors_allow_credentials=True",
        ),
        (
            {"allowed_content_types": ["image/svg+xml"]},
            "allowed_content_types[0]: 'image/svg+xml' is not a known image type",
        ),
        ({"allowed_content_types": []}, "allowed_content_types: is empty"),
        (
            {"noncurrent_version_retention": Duration.hours(12)},
            "noncurrent_version_retention: S3 lifecycle rules count whole days",
        ),
        (
            {"access_log_retention": Duration.hours(36)},
            "access_log_retention: S3 lifecycle rules count whole days",
        ),
    ],
)
def test_invalid_props_raise(props: dict[str, Any], message: str) -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError, match=_escaped(message)):
        ImageStore(stack, "Bad", **props)


def test_every_problem_is_reported_at_once() -> None:
    stack = new_stack(new_app())
    with pytest.raises(
        ValueError, match=r"Test/Bad: 2 invalid props:\n  - upload_prefix: .*\n  - upload_url_ttl"
    ):
        ImageStore(stack, "Bad", upload_prefix="x", upload_url_ttl=Duration.days(30))


def test_overlapping_prefixes_are_fine_in_separate_buckets() -> None:
    stack = new_stack(new_app())
    store = ImageStore(stack, "Images", thumbnail_prefix="uploads/", separate_thumbnail_bucket=True)
    assert store.thumbnail_prefix == store.upload_prefix


def test_subscriber_must_be_a_function_or_queue() -> None:
    stack = new_stack(new_app())
    store = ImageStore(stack, "Images")
    with pytest.raises(
        ValueError,
        match=r"Test/Images: add_upload_subscriber.target: Key is neither a lambda IFunction nor an sqs "
        "IQueue",
    ):
        store.add_upload_subscriber(kms.Key(stack, "Key"))  # type: ignore[arg-type]


def test_synth_fails_until_someone_may_presign() -> None:
    app = new_app()
    ImageStore(new_stack(app), "Images")
    with pytest.raises(RuntimeError, match="nobody may assume the presign role; call grant_presign"):
        app.synth()
