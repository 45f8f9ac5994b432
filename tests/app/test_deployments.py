"""The reference app's deployments: a canary for the API functions in prod, all at once in dev;
the idempotency table and its grants in every stage."""

from __future__ import annotations

from typing import Any

import pytest

API_FUNCTIONS = ("GroupsRead", "GroupsWrite", "ImagesRead", "ImagesWrite", "ImageSearch")


def _of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == type_}


def _one(template: dict[str, Any], type_: str, prefix: str) -> str:
    (logical_id,) = [key for key in _of_type(template, type_) if key.startswith(prefix)]
    return logical_id


@pytest.fixture(scope="module")
def prod_api(prod_templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return prod_templates["ImageSharingApi-prod"]


def test_prod_deploys_each_api_function_through_a_canary(prod_api: dict[str, Any]) -> None:
    groups = _of_type(prod_api, "AWS::CodeDeploy::DeploymentGroup")
    assert sorted(key.removesuffix(key[-8:]).removesuffix("DeploymentGroup") for key in groups) == sorted(
        API_FUNCTIONS
    )
    for group in groups.values():
        assert (
            group["Properties"]["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        )
        assert group["Properties"]["AutoRollbackConfiguration"] == {
            "Enabled": True,
            "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        }


def test_each_group_rolls_back_on_its_function_errors_and_the_apis_5xx(prod_api: dict[str, Any]) -> None:
    api_alarm = _one(prod_api, "AWS::CloudWatch::Alarm", "ApiServerErrorsDuringDeployment")
    for name in API_FUNCTIONS:
        group = prod_api["Resources"][
            _one(prod_api, "AWS::CodeDeploy::DeploymentGroup", f"{name}DeploymentGroup")
        ]
        own = _one(prod_api, "AWS::CloudWatch::Alarm", f"{name}DeploymentErrorsAlarm")
        assert group["Properties"]["AlarmConfiguration"]["Alarms"] == [
            {"Name": {"Ref": own}},
            {"Name": {"Ref": api_alarm}},
        ]
    dimensions = prod_api["Resources"][api_alarm]["Properties"]["Dimensions"]
    assert {"Name": "Stage", "Value": "prod"} in dimensions  # literal: no cycle through the stage


def test_prod_routes_invoke_the_live_aliases(prod_api: dict[str, Any]) -> None:
    aliases = {_one(prod_api, "AWS::Lambda::Alias", f"{name}LiveAlias") for name in API_FUNCTIONS}
    lambda_methods = [
        method["Properties"]["Integration"]
        for method in _of_type(prod_api, "AWS::ApiGateway::Method").values()
        if method["Properties"]["Integration"].get("Type") == "AWS_PROXY"
    ]
    assert len(lambda_methods) >= 7
    for integration in lambda_methods:
        (reference,) = [part for part in integration["Uri"]["Fn::Join"][1] if isinstance(part, dict)]
        assert reference["Ref"] in aliases


def test_dev_deploys_all_at_once(dev_templates: dict[str, dict[str, Any]]) -> None:
    api = dev_templates["ImageSharingApi-dev"]
    assert not _of_type(api, "AWS::CodeDeploy::DeploymentGroup")
    assert not _of_type(api, "AWS::Lambda::Alias")


def test_the_idempotency_table_keeps_powertools_records(dev_templates: dict[str, dict[str, Any]]) -> None:
    data = dev_templates["ImageSharingData-dev"]
    table = data["Resources"][_one(data, "AWS::DynamoDB::GlobalTable", "IdempotencyTable")]
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", ["GroupsWrite", "ImagesWrite"])
def test_the_writers_get_exactly_the_idempotency_actions(
    dev_templates: dict[str, dict[str, Any]], name: str
) -> None:
    api = dev_templates["ImageSharingApi-dev"]
    policy = api["Resources"][_one(api, "AWS::IAM::Policy", f"{name}ServiceRoleDefaultPolicy")]
    statements = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "dynamodb:UpdateItem" in s["Action"]
    ]
    assert [s["Action"] for s in statements] == [
        ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    ]
    function = api["Resources"][_one(api, "AWS::Lambda::Function", f"{name}Function")]
    assert "IDEMPOTENCY_TABLE" in function["Properties"]["Environment"]["Variables"]
