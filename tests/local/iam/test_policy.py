"""IAM's evaluation rules, on statements shaped like the ones the library synthesizes."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.local.iam.policy import Principal, evaluate, parse_policy

ACCOUNT = "111111111111"
ROLE = Principal(
    "role",
    f"arn:aws:iam::{ACCOUNT}:role/Api-GroupsRead",
    ACCOUNT,
    session_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Api-GroupsRead/GroupsRead",
    tags={"constructs-lib:presign": "c8e9"},
)
S3 = Principal("service", "s3.amazonaws.com", ACCOUNT)
ANONYMOUS = Principal("anonymous", "*", ACCOUNT)
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Groups"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:UploadEvents"
BUCKET = "arn:aws:s3:::images"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"


def policy(*statements: dict[str, Any], label: str = "Role/Policy") -> list[Any]:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, label)


READ_TABLE = policy(
    {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:Query"],
        "Resource": [TABLE, f"{TABLE}/index/*"],
    }
)


def test_an_allow_in_the_identity_policy_allows_and_names_its_statement() -> None:
    decision = evaluate(ROLE, "dynamodb:Query", f"{TABLE}/index/by-name", {}, identity=READ_TABLE)
    assert decision.allowed
    assert decision.statement is not None
    assert decision.statement.label == "Role/Policy statement 0"


def test_nothing_allowing_is_an_implicit_deny_in_aws_words() -> None:
    decision = evaluate(ROLE, "dynamodb:PutItem", TABLE, {}, identity=READ_TABLE)
    assert not decision.allowed
    assert decision.statement is None
    assert decision.reason == "because no identity-based policy allows the dynamodb:PutItem action"


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [
        *READ_TABLE,
        *policy(
            {"Sid": "NoQuery", "Effect": "Deny", "Action": "dynamodb:Query", "Resource": "*"},
            label="Role/Deny",
        ),
    ]
    decision = evaluate(ROLE, "dynamodb:Query", TABLE, {}, identity=statements)
    assert not decision.allowed
    assert decision.explicit_deny
    assert decision.statement is not None
    assert decision.statement.label == "Role/Deny statement 0 (NoQuery)"
    assert decision.reason == "with an explicit deny in a identity-based policy"


@pytest.mark.parametrize(
    ("pattern", "action", "allowed"),
    [
        ("dynamodb:*", "dynamodb:Query", True),
        ("DynamoDB:query", "dynamodb:Query", True),  # actions match case-insensitively
        ("dynamodb:Get*", "dynamodb:GetItem", True),
        ("dynamodb:Get*", "dynamodb:Query", False),
        ("kms:GenerateDataKey*", "kms:GenerateDataKey", True),
        ("dynamodb:?etItem", "dynamodb:GetItem", True),
        ("dynamodb:?etItem", "dynamodb:BatchGetItem", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, allowed: bool) -> None:
    statements = policy({"Effect": "Allow", "Action": pattern, "Resource": "*"})
    assert evaluate(ROLE, action, TABLE, {}, identity=statements).allowed is allowed


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        (f"{BUCKET}/uploads/*", f"{BUCKET}/uploads/a.jpg", True),
        (f"{BUCKET}/uploads/*", f"{BUCKET}/thumbnails/a.jpg", False),
        (f"{BUCKET}/UPLOADS/*", f"{BUCKET}/uploads/a.jpg", False),  # resources match case-sensitively
        (f"{TABLE}/index/*", f"{TABLE}/index/by-name", True),
        (TABLE, f"{TABLE}/index/by-name", False),
        (f"arn:aws:dynamodb:*:{ACCOUNT}:table/Group?", TABLE, True),
        ("*", "*", True),
        (TABLE, "*", False),  # an action without resource types needs "Resource": "*"
    ],
)
def test_resource_wildcards(pattern: str, resource: str, allowed: bool) -> None:
    statements = policy({"Effect": "Allow", "Action": "*", "Resource": pattern})
    assert evaluate(ROLE, "s3:GetObject", resource, {}, identity=statements).allowed is allowed


def test_not_action_and_not_resource_invert_their_match() -> None:
    statements = policy(
        {"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "NotResource": [TABLE]},
    )
    assert evaluate(ROLE, "dynamodb:PutItem", TABLE, {}, identity=statements).allowed
    assert not evaluate(ROLE, "dynamodb:DeleteItem", TABLE, {}, identity=statements).allowed
    assert evaluate(ROLE, "dynamodb:PutItem", f"{TABLE}x", {}, identity=statements).explicit_deny


TLS_ONLY = policy(
    {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
    {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
    },
    label="images bucket policy",
)
PUT_UPLOADS = policy({"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/uploads/*"})


def test_the_tls_only_bucket_policy_denies_plain_http_and_old_tls() -> None:
    https = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
    plain = {"aws:SecureTransport": "false"}
    old_tls = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.0"}
    key = f"{BUCKET}/uploads/a.jpg"
    assert evaluate(ROLE, "s3:PutObject", key, https, identity=PUT_UPLOADS, resource_policy=TLS_ONLY).allowed
    denied = evaluate(ROLE, "s3:PutObject", key, plain, identity=PUT_UPLOADS, resource_policy=TLS_ONLY)
    assert denied.explicit_deny
    assert denied.reason == "with an explicit deny in a resource-based policy"
    assert evaluate(
        ROLE, "s3:PutObject", key, old_tls, identity=PUT_UPLOADS, resource_policy=TLS_ONLY
    ).explicit_deny


TOPIC_POLICY = policy(
    {
        "Sid": "AllowOnlyImagesBucketToPublish",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": TOPIC,
        "Condition": {"ArnLike": {"aws:SourceArn": BUCKET}, "StringEquals": {"aws:SourceAccount": ACCOUNT}},
    },
    label="UploadEvents topic policy",
)


def test_a_service_principal_is_allowed_only_by_the_resource_policy_and_its_conditions() -> None:
    source = {"aws:SourceArn": BUCKET, "aws:SourceAccount": ACCOUNT, "aws:SecureTransport": "true"}
    allowed = evaluate(S3, "sns:Publish", TOPIC, source, resource_policy=TOPIC_POLICY)
    assert allowed.allowed
    assert allowed.statement is not None
    assert allowed.statement.label.endswith("(AllowOnlyImagesBucketToPublish)")
    other_bucket = {**source, "aws:SourceArn": "arn:aws:s3:::other"}
    refused = evaluate(S3, "sns:Publish", TOPIC, other_bucket, resource_policy=TOPIC_POLICY)
    assert not refused.allowed
    assert refused.reason == "because no resource-based policy allows the sns:Publish action"
    assert not evaluate(S3, "sns:Publish", TOPIC, source, resource_policy=None).allowed


def test_a_same_account_role_needs_an_allow_in_either_policy() -> None:
    publish = policy({"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC})
    role_in_topic_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE.arn}, "Action": "sns:Publish", "Resource": TOPIC}
    )
    assert evaluate(ROLE, "sns:Publish", TOPIC, {}, identity=publish, resource_policy=TOPIC_POLICY).allowed
    assert evaluate(ROLE, "sns:Publish", TOPIC, {}, resource_policy=role_in_topic_policy).allowed
    assert not evaluate(ROLE, "sns:Publish", TOPIC, {}, resource_policy=TOPIC_POLICY).allowed


KEY_POLICY = policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    },
    {
        "Sid": "AllowImagesBucketToPublishEncryptedEvents",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:SourceArn": BUCKET}, "StringEquals": {"aws:SourceAccount": ACCOUNT}},
    },
    label="TopicKey key policy",
)


def test_a_key_policy_must_allow_directly_or_delegate_to_iam_through_the_account_root() -> None:
    use_key = policy({"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": KEY})
    via_sns = {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    assert evaluate(
        ROLE, "kms:GenerateDataKey", KEY, via_sns, identity=use_key, resource_policy=KEY_POLICY
    ).allowed
    # The root statement only delegates: without an identity allow there is none.
    assert not evaluate(ROLE, "kms:GenerateDataKey", KEY, via_sns, resource_policy=KEY_POLICY).allowed
    # A key policy without the root statement ignores identity policies altogether.
    service_only = KEY_POLICY[1:]
    refused = evaluate(
        ROLE, "kms:GenerateDataKey", KEY, via_sns, identity=use_key, resource_policy=service_only
    )
    assert refused.reason == "because no resource-based policy allows the kms:GenerateDataKey action"
    source = {"aws:SourceArn": BUCKET, "aws:SourceAccount": ACCOUNT}
    assert evaluate(S3, "kms:GenerateDataKey", KEY, source, resource_policy=KEY_POLICY).allowed


PRESIGN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Data-PresignRole"
TRUST = policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalTag/constructs-lib:presign": "c8e9"}},
    },
    label="PresignRole trust policy",
)


def test_assuming_a_role_needs_its_trust_policy_and_the_callers_tag() -> None:
    assume = policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": PRESIGN_ROLE})
    assert evaluate(ROLE, "sts:AssumeRole", PRESIGN_ROLE, {}, identity=assume, resource_policy=TRUST).allowed
    untagged = Principal("role", ROLE.arn, ACCOUNT, session_arn=ROLE.session_arn)
    assert not evaluate(
        untagged, "sts:AssumeRole", PRESIGN_ROLE, {}, identity=assume, resource_policy=TRUST
    ).allowed


def test_anonymous_callers_are_allowed_only_by_a_public_resource_policy() -> None:
    public = policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    )
    assert evaluate(ANONYMOUS, "s3:GetObject", f"{BUCKET}/a", {}, resource_policy=public).allowed
    assert not evaluate(ANONYMOUS, "s3:GetObject", f"{BUCKET}/a", {}, resource_policy=TLS_ONLY).allowed


def test_not_principal_applies_to_everyone_else() -> None:
    statements = policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE.arn}, "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*"},
    )
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    assert evaluate(ROLE, "sqs:SendMessage", queue, {}, resource_policy=statements).allowed
    assert evaluate(S3, "sqs:SendMessage", queue, {}, resource_policy=statements).explicit_deny
