"""The reference app's stacks: snapshots, cfn-lint, stateful/stateless split, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template
from aws_cdk.cx_api import CloudAssembly
from syrupy.assertion import SnapshotAssertion

from app import Settings
from tests.cdk import CDK_CONTEXT, cfn_lint_findings, normalized

STACKS = ["ImageSharingData-dev", "ImageSharingSearch-dev", "ImageSharingApi-dev"]
Templates = dict[str, dict[str, Any]]


def test_every_stack_is_synthesized(dev_templates: Templates) -> None:
    assert sorted(dev_templates) == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot(dev_templates: Templates, stack: str, snapshot_json: SnapshotAssertion) -> None:
    assert normalized(dev_templates[stack]) == snapshot_json


@pytest.mark.parametrize("stack", STACKS)
def test_cfn_lint_clean(dev_templates: Templates, stack: str) -> None:
    assert cfn_lint_findings(dev_templates[stack]) == []


@pytest.mark.parametrize("stack", [s.replace("-dev", "-prod") for s in STACKS])
def test_prod_cfn_lint_clean(prod_templates: Templates, stack: str) -> None:
    assert cfn_lint_findings(prod_templates[stack]) == []


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_stateful_resources_live_only_in_stateful_stacks(dev_templates: Templates) -> None:
    api = dev_templates["ImageSharingApi-dev"]
    stateful_types = {"AWS::S3::Bucket", "AWS::Cognito::UserPool", "AWS::OpenSearchService::Domain"}
    assert not {r["Type"] for r in api["Resources"].values()} & stateful_types
    # The only table in the stateless stack holds WebSocket connection ids, which expire anyway.
    tables = _resources(api, "AWS::DynamoDB::GlobalTable")
    assert len(tables) == 1
    (connections,) = tables.values()
    assert connections["Properties"]["TimeToLiveSpecification"]["Enabled"] is True


def test_data_is_retained(dev_templates: Templates) -> None:
    data = Template.from_json(dev_templates["ImageSharingData-dev"])
    for resource_type in ("AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::Cognito::UserPool"):
        for resource in data.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Retain", resource_type


def test_images_table_matches_the_contract(dev_templates: Templates) -> None:
    Template.from_json(dev_templates["ImageSharingData-dev"]).has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [
                {"AttributeName": "groupId", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": "imageId-index",
                        "KeySchema": [{"AttributeName": "imageId", "KeyType": "HASH"}],
                    }
                )
            ],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )


def _function_policy_actions(template: dict[str, Any], function_prefix: str) -> set[str]:
    """Every IAM action the execution role of the function `function_prefix` is allowed."""
    actions: set[str] = set()
    for logical_id, policy in _resources(template, "AWS::IAM::Policy").items():
        if not logical_id.startswith(f"{function_prefix}ServiceRole"):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    assert actions, f"no policy found for {function_prefix}"
    return actions


def test_groups_reader_cannot_write(dev_templates: Templates) -> None:
    actions = _function_policy_actions(dev_templates["ImageSharingApi-dev"], "GroupsRead")
    assert "dynamodb:GetItem" in actions
    assert not {
        a for a in actions if a.startswith("dynamodb:") and ("Put" in a or "Update" in a or "Delete" in a)
    }
    assert not {a for a in actions if a.startswith(("s3:", "sts:", "es:"))}


def test_groups_writer_cannot_read_images_or_sign_urls(dev_templates: Templates) -> None:
    actions = _function_policy_actions(dev_templates["ImageSharingApi-dev"], "GroupsWrite")
    assert "dynamodb:PutItem" in actions
    assert not {a for a in actions if a.startswith(("s3:", "sts:", "es:"))}


def test_image_functions_sign_urls_through_the_presign_role_only(dev_templates: Templates) -> None:
    for function in ("ImagesRead", "ImagesWrite", "ImageSearch"):
        actions = _function_policy_actions(dev_templates["ImageSharingApi-dev"], function)
        assert "sts:AssumeRole" in actions
        assert not {a for a in actions if a.startswith("s3:")}, function


def test_stateful_stacks_have_termination_protection(dev_assembly: CloudAssembly) -> None:
    protection = {stack.stack_name: stack.termination_protection for stack in dev_assembly.stacks}
    assert protection == {
        "ImageSharingData-dev": True,
        "ImageSharingSearch-dev": True,
        "ImageSharingApi-dev": False,
    }


def test_prod_differs_where_production_needs_it(dev_templates: Templates, prod_templates: Templates) -> None:
    def domain(templates: Templates, stage: str) -> dict[str, Any]:
        (resource,) = _resources(
            templates[f"ImageSharingSearch-{stage}"], "AWS::OpenSearchService::Domain"
        ).values()
        return dict(resource["Properties"]["ClusterConfig"])

    assert domain(dev_templates, "dev")["ZoneAwarenessEnabled"] is False
    production = domain(prod_templates, "prod")
    assert production["ZoneAwarenessEnabled"] is True
    assert production["DedicatedMasterEnabled"] is True
    assert production["DedicatedMasterCount"] == 3

    def retention(templates: Templates, stage: str) -> set[int]:
        groups = _resources(templates[f"ImageSharingApi-{stage}"], "AWS::Logs::LogGroup").values()
        return {group["Properties"]["RetentionInDays"] for group in groups}

    assert retention(dev_templates, "dev") == {30}
    assert retention(prod_templates, "prod") == {365}


def test_unknown_stage_is_a_clear_error() -> None:
    app = App(context={**CDK_CONTEXT, "stage": "qa"})
    with pytest.raises(ValueError, match="stage 'qa' has no settings: add it under context 'image-sharing'"):
        Settings.from_context(app)


def test_upload_sweep_runs_hourly_and_may_only_read_delete_and_list_uploads(dev_templates: Templates) -> None:
    api = dev_templates["ImageSharingApi-dev"]
    (schedule,) = _resources(api, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0].startswith("UploadSweeperFunction")
    actions = _function_policy_actions(api, "UploadSweeper")
    assert {"dynamodb:Scan", "dynamodb:DeleteItem", "s3:ListBucket"} <= actions
    assert not {a for a in actions if a.startswith(("s3:", "sts:", "es:")) and a != "s3:ListBucket"}
    (listing,) = [
        statement
        for logical_id, policy in _resources(api, "AWS::IAM::Policy").items()
        if logical_id.startswith("UploadSweeperServiceRole")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}


def test_upload_sweep_alarms_notify_the_alarm_topic(dev_templates: Templates) -> None:
    api = dev_templates["ImageSharingApi-dev"]
    alarms = _resources(api, "AWS::CloudWatch::Alarm")
    sweep = [alarm for logical_id, alarm in alarms.items() if logical_id.startswith("UploadSweep")]
    others = [alarm for logical_id, alarm in alarms.items() if not logical_id.startswith("UploadSweep")]
    assert len(sweep) == 2
    # The same action as the REST API's alarms: the data stack's alarm topic.
    (topic,) = {json.dumps(alarm["Properties"]["AlarmActions"], sort_keys=True) for alarm in sweep + others}
    assert "Alarms" in topic


def test_websocket_default_route_answers_messages(dev_templates: Templates) -> None:
    api = Template.from_json(dev_templates["ImageSharingApi-dev"])
    api.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "RouteResponseSelectionExpression": "$default"}
    )
    api.has_resource_properties("AWS::ApiGatewayV2::RouteResponse", {"RouteResponseKey": "$default"})
