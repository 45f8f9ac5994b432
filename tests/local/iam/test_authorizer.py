"""The app's policies read from a template, decided per mode, logged once, and reported at the end."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from constructs_lib.local.iam import app_policies
from constructs_lib.local.iam.authorizer import Authorizer, Mode
from constructs_lib.local.iam.calls import Access
from constructs_lib.local.iam.policy import Principal, parse_policy
from constructs_lib.local.iam.report import least_privilege_report, summary_lines

ACCOUNT = "111111111111"
REGION = "us-east-1"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Notes"
QUEUE_URL = f"http://127.0.0.1:5000/{ACCOUNT}/Jobs"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:Jobs"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:Events"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Notes"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/NotesRole"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/WriterRole"
# What each logical id resolves to: (Ref, {attribute: value}).
PHYSICAL: dict[str, tuple[str, dict[str, str]]] = {
    "NotesRole": ("NotesRole", {"Arn": ROLE}),
    "WriterRole": ("WriterRole", {"Arn": OTHER_ROLE}),
    "Table": ("Notes", {"Arn": TABLE}),
    "Jobs": (QUEUE_URL, {"Arn": QUEUE}),
    "Events": (TOPIC, {"TopicArn": TOPIC}),
    "Key": ("k-1", {"Arn": KEY}),
    "Bucket": ("attachments", {"Arn": "arn:aws:s3:::attachments"}),
    "Notes": ("Notes", {"Arn": FUNCTION}),
}
LAMBDA_TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}
TEMPLATE: dict[str, dict[str, Any]] = {
    "NotesRole": {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": LAMBDA_TRUST,
            "ManagedPolicyArns": [
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws:iam::aws:policy/SomethingElse",
            ],
            "Policies": [
                {
                    "PolicyName": "Inline",
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Resource": {"Fn::GetAtt": ["Jobs", "Arn"]},
                            }
                        ]
                    },
                }
            ],
            "Tags": [{"Key": "team", "Value": "notes"}],
        },
    },
    "WriterRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST}},
    "NotesPolicy": {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "NotesRoleDefaultPolicy",
            "Roles": [{"Ref": "NotesRole"}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                        "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                    }
                ]
            },
        },
    },
    "WriterPolicy": {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "WriterPolicy",
            "Roles": [{"Ref": "WriterRole"}],
            "PolicyDocument": {
                "Statement": [
                    {"Sid": "Write", "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}
                ]
            },
        },
    },
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}},
    "JobsPolicy": {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": "Jobs"}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": QUEUE,
                        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Events"}}},
                    }
                ]
            },
        },
    },
    "Events": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
    "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
    "BucketPolicy": {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "Bucket"},
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::attachments", "arn:aws:s3:::attachments/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ]
            },
        },
    },
    "Notes": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["NotesRole", "Arn"]}}},
    "NotesInvoke": {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": ["Notes", "Arn"]},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api1/*/GET/notes",
        },
    },
}


class FakeTemplate:
    """A `TemplateView` of `TEMPLATE`, with Ref and GetAtt resolved from `PHYSICAL`."""

    stack_name = "Notes"

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        return {key: value for key, value in TEMPLATE.items() if value["Type"] in resource_types}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "Ref" in value:
                return PHYSICAL[value["Ref"]][0]
            if "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                return PHYSICAL[logical_id][1][attribute]
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def ref(self, logical_id: str) -> str:
        return PHYSICAL[logical_id][0]


@pytest.fixture
def authorizer() -> Authorizer:
    found = Authorizer(account=ACCOUNT, region=REGION)
    resources = app_policies.load(found, [FakeTemplate()])
    assert resources.encryption_key(TOPIC) == KEY
    return found


def test_a_role_gets_its_inline_attached_and_aws_managed_policies_and_its_tags(
    authorizer: Authorizer,
) -> None:
    role = authorizer.roles[ROLE]
    labels = {statement.label for statement in role.statements}
    assert labels == {
        "NotesRole/Inline statement 0",
        "NotesRole/NotesRoleDefaultPolicy statement 0",
        "NotesRole/service-role/AWSLambdaBasicExecutionRole statement 0",
    }
    assert role.unknown_policies == ["arn:aws:iam::aws:policy/SomethingElse"]
    assert role.tags == {"team": "notes"}


def test_resource_policies_are_found_for_their_resources(authorizer: Authorizer) -> None:
    assert authorizer.resource_policy("arn:aws:s3:::attachments/uploads/a.png") is not None  # the bucket's
    assert authorizer.resource_policy(QUEUE) is not None  # the queue policy named the queue by its URL
    assert authorizer.resource_policy(KEY) is not None  # a key without KeyPolicy: the default root statement
    assert authorizer.resource_policy(f"{FUNCTION}:live") is not None  # a qualified ARN: the function's
    assert authorizer.resource_policy(TABLE) is None


def test_credentials_act_as_the_role_their_resolver_names(authorizer: Authorizer) -> None:
    sessions = {"ASIANOTES": (ROLE, "Notes"), "ASIAWRITER": (OTHER_ROLE, "Writer")}

    def resolve(access_key: str) -> Principal | None:
        role, session = sessions.get(access_key, ("", ""))
        return authorizer.role_principal(role, session)

    authorizer.add_resolver(resolve)
    principal = authorizer.principal_for("ASIANOTES")
    assert principal is not None
    assert (principal.arn, principal.session_arn) == (
        ROLE,
        f"arn:aws:sts::{ACCOUNT}:assumed-role/NotesRole/Notes",
    )
    assert principal.context()["aws:PrincipalTag/team"] == "notes"
    assert authorizer.principal_for("AKIDUNKNOWN") is None
    anonymous = authorizer.principal_for(None)
    assert anonymous is not None
    assert anonymous.kind == "anonymous"


def test_enforce_denies_logs_once_with_the_statement_that_would_allow_and_reports(
    authorizer: Authorizer, caplog: pytest.LogCaptureFixture
) -> None:
    principal = authorizer.roles[ROLE].principal(ACCOUNT, "Notes")
    authorizer.callers[ROLE] = "Notes"
    with caplog.at_level(logging.WARNING, logger="constructs_lib.local.iam"):
        allowed = authorizer.check(principal, [Access("dynamodb:Query", TABLE)])
        denied = authorizer.check(principal, [Access("dynamodb:PutItem", TABLE)])
        authorizer.check(principal, [Access("dynamodb:PutItem", TABLE)])
    assert allowed.allowed
    assert not denied.allowed
    assert denied.denied is not None
    assert denied.denied.action == "dynamodb:PutItem"
    (line,) = [record.getMessage() for record in caplog.records]
    assert line == (
        f"IAM denied: Notes dynamodb:PutItem on {TABLE} because no identity-based policy allows the "
        "dynamodb:PutItem action; allowed by WriterRole/WriterPolicy statement 0 (Write)"
    )
    report = least_privilege_report(authorizer)
    notes = report["functions"]["Notes"]
    assert notes["used"] == [f"dynamodb:Query {TABLE}"]
    assert {(grant["action"], grant["resource"]) for grant in notes["grantedButUnused"]} == {
        ("dynamodb:GetItem", TABLE),
        ("sqs:SendMessage", QUEUE),
    }
    assert [grant["action"] for grant in notes["notExercisedLocally"]] == [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    (entry,) = notes["denied"]  # one entry per caller, action and resource, with its count
    assert (entry["action"], entry["count"]) == ("dynamodb:PutItem", 2)
    assert notes["denied"][0]["wouldAllow"] == "WriterRole/WriterPolicy statement 0 (Write)"
    assert summary_lines(report)[1] == (
        f"  Notes: 1 used, 2 granted but unused (sqs:SendMessage on {QUEUE}, "
        f"dynamodb:GetItem on {TABLE}), 1 denied"
    )


def test_report_mode_allows_what_it_would_deny_and_says_so(
    authorizer: Authorizer, caplog: pytest.LogCaptureFixture
) -> None:
    authorizer.mode = Mode.REPORT
    principal = authorizer.roles[ROLE].principal(ACCOUNT, "Notes")
    with caplog.at_level(logging.WARNING, logger="constructs_lib.local.iam"):
        outcome = authorizer.check(principal, [Access("dynamodb:PutItem", TABLE)])
    assert outcome.allowed
    assert outcome.denied is not None
    assert "would be denied (report mode)" in caplog.records[0].getMessage()


def test_off_mode_decides_nothing(authorizer: Authorizer) -> None:
    authorizer.mode = Mode.OFF
    principal = authorizer.roles[ROLE].principal(ACCOUNT, "Notes")
    assert authorizer.check(principal, [Access("dynamodb:PutItem", TABLE)]).allowed
    assert authorizer.usage == {}


def test_a_service_delivers_only_as_the_resource_policy_allows(authorizer: Authorizer) -> None:
    sns = Principal("service", "sns.amazonaws.com", ACCOUNT)
    from_topic = {"aws:SourceArn": TOPIC, "aws:SourceAccount": ACCOUNT}
    assert authorizer.check(sns, [Access("sqs:SendMessage", QUEUE, from_topic)]).allowed
    other = {"aws:SourceArn": TOPIC + "2", "aws:SourceAccount": ACCOUNT}
    assert not authorizer.check(sns, [Access("sqs:SendMessage", QUEUE, other)]).allowed
    gateway = Principal("service", "apigateway.amazonaws.com", ACCOUNT)
    method = {"aws:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api1/dev/GET/notes"}
    assert authorizer.check(gateway, [Access("lambda:InvokeFunction", FUNCTION, method)]).allowed
    post = {"aws:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api1/dev/POST/notes"}
    assert not authorizer.check(gateway, [Access("lambda:InvokeFunction", FUNCTION, post)]).allowed


def test_the_tls_only_bucket_policy_denies_a_plain_http_request(authorizer: Authorizer) -> None:
    authorizer.roles[ROLE].statements.extend(
        parse_policy(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::attachments/*"}
                ]
            },
            "NotesRole/Read",
        )
    )
    principal = authorizer.roles[ROLE].principal(ACCOUNT, "Notes")
    key = "arn:aws:s3:::attachments/a.png"
    assert authorizer.check(principal, [Access("s3:GetObject", key, {"aws:SecureTransport": "true"})]).allowed
    plain = authorizer.check(principal, [Access("s3:GetObject", key, {"aws:SecureTransport": "false"})])
    assert plain.denied is not None
    assert plain.denied.reason == "with an explicit deny in a resource-based policy"
