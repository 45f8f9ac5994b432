"""AlarmTopic: an encrypted topic CloudWatch alarms can publish to."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.alarm_topic import AlarmTopic
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates


@pytest.fixture(scope="module")
def template_json() -> dict[str, Any]:
    app = new_app()
    AlarmTopic(new_stack(app, "Alarms"), "Alarms", email_addresses=["oncall@example.com"])
    return synth_templates(app)["Alarms"]


@pytest.fixture(scope="module")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


def test_topic_is_encrypted_with_a_rotating_customer_managed_key(template: Template) -> None:
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^AlarmsKey"), "Arn"]}}
    )


def test_cloudwatch_may_use_the_key(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_key_allows_grants_only_for_aws_resources(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "DenyGrantsExceptForAwsResources",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "kms:CreateGrant",
                            "Resource": "*",
                            "Condition": {
                                "BoolIfExists": {
                                    "kms:GrantIsForAWSResource": "false",
                                    "aws:PrincipalIsAWSService": "false",
                                }
                            },
                        }
                    ]
                )
            }
        },
    )


def test_topic_denies_insecure_transport(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_email_subscribers_with_a_dead_letter_queue(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "oncall@example.com",
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
        },
    )
    template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})


def test_key_is_retained(template: Template) -> None:
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})


def test_cfn_lint_clean(template_json: dict[str, Any]) -> None:
    assert cfn_lint_findings(template_json) == []


def test_snapshot(template_json: dict[str, Any], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(template_json) == snapshot_json


def test_invalid_email_raises() -> None:
    with pytest.raises(ValueError, match=r"Test/Alarms: email_addresses\[1\]: 'oncall' is not an email"):
        AlarmTopic(new_stack(new_app()), "Alarms", email_addresses=["a@example.com", "oncall"])
