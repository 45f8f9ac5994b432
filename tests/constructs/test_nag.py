"""_nag.acknowledge_wildcard_resource: the finding ids cdk-nag gives wildcard resources, acknowledged on
their policy at synth, consecutive calls for one policy in one validation and in call order."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Aws, Validations
from aws_cdk import aws_iam as iam
from constructs import Node

from constructs_lib._nag import acknowledge_wildcard_resource
from tests.cdk import new_app, new_stack


def _acknowledged(policy: iam.Policy) -> list[tuple[str, str]]:
    return [
        (rule, reason)
        for entry in policy.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    ]


def test_consecutive_wildcards_of_a_policy_share_one_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    app = new_app()
    stack = new_stack(app)
    resources = {
        "First": [
            f"arn:{Aws.PARTITION}:lambda:*:*:function:a:*",
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::last/*",
        ],
        "Second": ["arn:aws:s3:::other/*"],
    }
    # cdk-nag runs at synth (new_app): it fails the synth unless every id below is the one it reports.
    first, second = (
        iam.Policy(
            stack,
            name,
            statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=names)],
            roles=[iam.Role(stack, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))],
        )
        for name, names in resources.items()
    )
    added: list[Any] = []
    add_validation = Node.add_validation

    def counted(node: Node, validation: Any) -> None:
        added.append(validation)
        add_validation(node, validation)

    monkeypatch.setattr(Node, "add_validation", counted)
    acknowledge_wildcard_resource(first, f"arn:{Aws.PARTITION}:lambda:*:*:function:a:*", "Versions of a.")
    acknowledge_wildcard_resource(first, "arn:aws:s3:::bucket/*", "Objects of the bucket.")
    acknowledge_wildcard_resource(second, "arn:aws:s3:::other/*", "Objects of the other bucket.")
    # Another policy came between: a later wildcard of the first policy gets a validation of its own,
    # so acknowledgments keep the order of the calls.
    acknowledge_wildcard_resource(first, "arn:aws:s3:::last/*", "Objects of the last bucket.")
    assert len(added) == 3
    app.synth()
    assert _acknowledged(first) == [
        (
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:*:function:a:*]",
            "Versions of a.",
        ),
        ("AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]", "Objects of the bucket."),
        ("AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::last/*]", "Objects of the last bucket."),
    ]
    assert _acknowledged(second) == [
        ("AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::other/*]", "Objects of the other bucket.")
    ]
