"""Grants from stateful constructs to functions in another stack: no dependency cycle, no
unacknowledged cdk-nag finding, and still least privilege (the reference app's layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from constructs_lib import CompositeKeyTable, GlobalIndex, ImageStore, SearchDomain, ServerlessFunction
from constructs_lib.image_store import PRESIGN_TAG_KEY
from tests.cdk import cfn_lint_findings, new_app, new_stack, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    app = new_app()
    data = new_stack(app, "Data")
    table = CompositeKeyTable(
        data,
        "Images",
        partition_key=dynamodb.Attribute(name="groupId", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="timestamp", type=dynamodb.AttributeType.STRING),
        global_indexes=[
            GlobalIndex(
                name="imageId-index",
                partition_key=dynamodb.Attribute(name="imageId", type=dynamodb.AttributeType.STRING),
            )
        ],
    )
    store = ImageStore(data, "Store")
    search = SearchDomain(data, "Search", cognito_domain_prefix="cross-stack-test")

    api = new_stack(app, "Api")
    reader = ServerlessFunction(api, "Reader", entry=ECHO)
    table.grant_read_data(reader.function)
    store.grant_presign(reader.function)
    store.grant_read_uploads(reader.function)
    search.grant_search(reader.function, "images")
    return synth_templates(app)  # a cycle or an unacknowledged finding fails here


def test_presign_role_trusts_tagged_roles_of_this_account(templates: dict[str, dict[str, Any]]) -> None:
    data = Template.from_json(templates["Data"])
    data.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {f"aws:PrincipalTag/{PRESIGN_TAG_KEY}": Match.any_value()}
                            },
                            "Principal": {"AWS": Match.any_value()},
                        }
                    )
                ]
            }
        },
    )


def test_the_granted_role_carries_the_presign_tag(templates: dict[str, dict[str, Any]]) -> None:
    (role,) = Template.from_json(templates["Api"]).find_resources("AWS::IAM::Role").values()
    tags = {tag["Key"]: tag["Value"] for tag in role["Properties"]["Tags"]}
    assert PRESIGN_TAG_KEY in tags


def test_table_grant_names_each_index_without_a_wildcard(templates: dict[str, dict[str, Any]]) -> None:
    policy = Template.from_json(templates["Api"]).find_resources("AWS::IAM::Policy")
    (document,) = [p["Properties"]["PolicyDocument"] for p in policy.values()]
    (statement,) = [s for s in document["Statement"] if "dynamodb:Query" in s["Action"]]
    suffixes = [part["Fn::Join"][1][-1] for part in statement["Resource"] if "Fn::Join" in part]
    assert suffixes == ["/index/imageId-index"]


def test_search_role_mapping_of_the_grantee_lives_in_its_own_stack(
    templates: dict[str, dict[str, Any]],
) -> None:
    (access,) = (
        Template.from_json(templates["Api"]).find_resources("Custom::OpenSearchSecurityRoles").values()
    )
    (role_name,) = access["Properties"]["Roles"]
    assert role_name.startswith("search-reader-images-")
    (backend_role,) = access["Properties"]["Mappings"][role_name]
    assert backend_role["Fn::GetAtt"][0].startswith("ReaderServiceRole")
    assert not Template.from_json(templates["Data"]).find_resources(
        "Custom::OpenSearchSecurityRoles", {"Properties": {"Mappings": {role_name: Match.any_value()}}}
    )


@pytest.mark.parametrize("stack", ["Data", "Api"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_presign_grantee_in_another_stack_must_be_a_role() -> None:
    app = new_app()
    store = ImageStore(new_stack(app, "Data"), "Store")
    user = iam.User(new_stack(app, "Other"), "User")
    with pytest.raises(ValueError, match="Data/Store: grant_presign: Other/User is in another stack"):
        store.grant_presign(user)
