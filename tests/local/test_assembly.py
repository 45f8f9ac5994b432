"""The local runner's reading of a cloud assembly: stack order, assets, and every intrinsic function."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.local._assembly import (
    AssemblyError,
    CloudAssembly,
    Physical,
    StackTemplate,
    generated_name,
)
from constructs_lib.local._provision import named_only

REGION, ACCOUNT = "eu-west-1", "111111111111"


class RecordingProvisioner:
    """Gives every resource ``<logicalId>-id`` and an Arn, recording each creation."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def __call__(
        self, stack: StackTemplate, logical_id: str, resource_type: str, resource: dict[str, Any]
    ) -> Physical:
        properties = stack.resolve(resource.get("Properties", {}))
        self.created.append(logical_id)
        return Physical(f"{logical_id}-id", {"Arn": f"arn:{logical_id}", "Name": properties.get("Name", "")})


def write_assembly(
    directory: Path, stacks: dict[str, dict[str, Any]], dependencies: dict[str, list[str]]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for name, template in stacks.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{ACCOUNT}/{REGION}",
            "properties": {"templateFile": f"{name}.template.json"},
            "dependencies": dependencies.get(name, []),
        }
    (directory / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return directory


def load(directory: Path) -> tuple[CloudAssembly, RecordingProvisioner]:
    provisioner = RecordingProvisioner()
    return CloudAssembly(directory, region=REGION, account=ACCOUNT, provision=provisioner), provisioner


TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "BootstrapVersion": {"Type": "String", "Default": "/cdk-bootstrap/version"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Port": {"Type": "Number", "Default": 8080},
        "Secret": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/secret"},
        "Required": {"Type": "String"},
    },
    "Conditions": {
        "IsIreland": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
        "NotIreland": {"Fn::Not": [{"Condition": "IsIreland"}]},
    },
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"Name": "orders"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Name": {"Fn::GetAtt": ["Table", "Arn"]}}},
        "ProdOnly": {"Type": "AWS::SQS::Queue", "Condition": "NotIreland", "Properties": {}},
    },
    "Outputs": {
        "TableArn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]}, "Export": {"Name": "Producer:TableArn"}},
        "Queue": {"Value": {"Ref": "Queue"}},
    },
}


@pytest.fixture
def stack(tmp_path: Path) -> StackTemplate:
    assembly, _ = load(write_assembly(tmp_path, {"Producer": TEMPLATE}, {}))
    return assembly.stack("Producer")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Region"}, REGION),
        ({"Ref": "AWS::AccountId"}, ACCOUNT),
        ({"Ref": "AWS::StackName"}, "Producer"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "BootstrapVersion"}, "/cdk-bootstrap/version"),
        ({"Ref": "Table"}, "Table-id"),
        ({"Fn::GetAtt": ["Table", "Arn"]}, "arn:Table"),
        ({"Fn::GetAtt": "Table.Arn"}, "arn:Table"),
        ({"Fn::Join": ["/", ["a", {"Ref": "Table"}, 3]]}, "a/Table-id/3"),
        (
            {"Fn::Sub": "${AWS::Region}:${Table}:${Table.Arn}:${!Literal}"},
            "eu-west-1:Table-id:arn:Table:${Literal}",
        ),
        ({"Fn::Sub": ["${Prefix}-${Table}", {"Prefix": {"Ref": "AWS::AccountId"}}]}, f"{ACCOUNT}-Table-id"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::If": ["IsIreland", "yes", "no"]}, "yes"),
        ({"Fn::If": ["NotIreland", "yes", "no"]}, "no"),
        ({"Fn::And": [True, {"Condition": "IsIreland"}]}, True),
        ({"Fn::Or": [False, {"Condition": "NotIreland"}]}, False),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::ToJsonString": {"a": {"Ref": "Table"}}}, '{"a":"Table-id"}'),
        ({"Fn::Select": [0, {"Fn::GetAZs": ""}]}, "eu-west-1a"),
        ({"Key": {"Ref": "AWS::NoValue"}, "Kept": [1, {"Ref": "AWS::NoValue"}]}, {"Kept": [1]}),
        ({"Fn::If": ["NotIreland", "named", {"Ref": "AWS::NoValue"}]}, None),
        ({"Fn::Select": [1, {"Ref": "Zones"}]}, "b"),
        ({"Fn::Equals": [{"Ref": "Port"}, "8080"]}, True),
    ],
)
def test_intrinsics_resolve_as_cloudformation_does(stack: StackTemplate, value: Any, expected: Any) -> None:
    assert stack.resolve(value) == expected


def test_resources_whose_condition_is_false_are_not_there(stack: StackTemplate) -> None:
    assert list(stack.resources_of_type("AWS::SQS::Queue")) == ["Queue"]


def test_a_resource_is_provisioned_once_after_what_it_references(tmp_path: Path) -> None:
    assembly, provisioner = load(write_assembly(tmp_path, {"Producer": TEMPLATE}, {}))
    stack = assembly.stack("Producer")
    assert stack.resolve({"Fn::GetAtt": ["Queue", "Name"]}) == "arn:Table"
    assert stack.ref("Queue") == "Queue-id"
    assert stack.ref("Table") == "Table-id"
    assert provisioner.created == ["Table", "Queue"]


def test_cross_stack_references_resolve_through_exports_and_stack_outputs(tmp_path: Path) -> None:
    consumer = {
        "Resources": {},
        "Outputs": {
            "Imported": {"Value": {"Fn::ImportValue": "Producer:TableArn"}},
            "FromOutput": {
                "Value": {
                    "Fn::GetStackOutput": {"StackName": "Producer", "Region": REGION, "OutputName": "Queue"}
                }
            },
        },
    }
    directory = write_assembly(
        tmp_path, {"Consumer": consumer, "Producer": TEMPLATE}, {"Consumer": ["Producer"]}
    )
    assembly, _ = load(directory)
    assert [stack.stack_name for stack in assembly.stacks] == ["Producer", "Consumer"]
    assert assembly.stack("Consumer").output("Imported") == "arn:Table"
    assert assembly.stack("Consumer").output("FromOutput") == "Queue-id"


def test_nested_assemblies_of_stages_are_read(tmp_path: Path) -> None:
    write_assembly(tmp_path / "assembly-Prod", {"Prod-Producer": TEMPLATE}, {})
    write_assembly(tmp_path, {"Root": {"Resources": {}}}, {})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["artifacts"]["Prod"] = {
        "type": "cdk:cloud-assembly",
        "properties": {"directoryName": "assembly-Prod"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assembly, _ = load(tmp_path)
    assert [stack.stack_name for stack in assembly.stacks] == ["Root", "Prod-Producer"]


def test_a_function_asset_is_found_by_its_object_key(tmp_path: Path) -> None:
    write_assembly(tmp_path, {"Producer": TEMPLATE}, {"Producer": ["Producer.assets"]})
    # A stack whose name differs from its artifact id (a Stage's, or stack_name=...).
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["artifacts"]["Producer"]["properties"]["stackName"] = "prod-producer"
    manifest["artifacts"]["Producer.assets"] = {
        "type": "cdk:asset-manifest",
        "properties": {"file": "ProducerArtifact.assets.json"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "ProducerArtifact.assets.json").write_text(
        json.dumps(
            {
                "files": {
                    "abc": {
                        "source": {"path": "asset.abc", "packaging": "zip"},
                        "destinations": {"current": {"bucketName": "assets", "objectKey": "abc.zip"}},
                    }
                }
            }
        )
    )
    assembly, _ = load(tmp_path)
    stack = assembly.stack("prod-producer")
    assert stack.asset_directory("abc.zip") == tmp_path / "asset.abc"
    with pytest.raises(AssemblyError, match=r"prod-producer: no file asset with object key 'other\.zip'"):
        stack.asset_directory("other.zip")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Missing"}, "Producer: no resource 'Missing' in the template"),
        (
            {"Fn::GetAtt": ["Table", "StreamArn"]},
            "Producer/Table: attribute 'StreamArn' of AWS::DynamoDB::Table",
        ),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "the intrinsic function Fn::Cidr is not supported locally"),
        ({"Fn::ImportValue": "Nobody:Exports"}, "no stack exports 'Nobody:Exports'"),
        ({"Fn::If": ["Unknown", 1, 2]}, "Producer: no condition 'Unknown'"),
        ({"Ref": "ProdOnly"}, "Producer/ProdOnly is not created: its condition NotIreland is false"),
        ({"Ref": "Secret"}, "parameter 'Secret' is read from SSM parameter /app/secret at deploy time"),
        ({"Ref": "Required"}, "Producer: parameter 'Required' has no default to run with locally"),
    ],
)
def test_what_cannot_be_resolved_is_named(stack: StackTemplate, value: Any, message: str) -> None:
    with pytest.raises(AssemblyError, match=message.replace("(", r"\(")):
        stack.resolve(value)


def test_a_resource_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    def refuse(
        stack: StackTemplate, logical_id: str, resource_type: str, resource: dict[str, Any]
    ) -> Physical:
        raise ValueError("KeySchema is required")

    write_assembly(tmp_path, {"Producer": TEMPLATE}, {})
    assembly = CloudAssembly(tmp_path, region=REGION, account=ACCOUNT, provision=refuse)
    with pytest.raises(
        AssemblyError,
        match=r"Producer/Table \(AWS::DynamoDB::Table\) could not be created locally: KeySchema is required",
    ):
        assembly.stack("Producer").ref("Table")


def test_circular_references_are_reported(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "A": {"Type": "AWS::SQS::Queue", "Properties": {"Name": {"Ref": "B"}}},
            "B": {"Type": "AWS::SQS::Queue", "Properties": {"Name": {"Ref": "A"}}},
        }
    }
    assembly, _ = load(write_assembly(tmp_path, {"Loop": template}, {}))
    with pytest.raises(AssemblyError, match="Loop: circular reference A -> B -> A"):
        assembly.stack("Loop").ref("A")


def test_a_directory_without_a_manifest_says_to_synthesize(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match=r"no manifest\.json\): run `cdk synth` first"):
        load(tmp_path)


def test_generated_names_are_stable_and_within_limits() -> None:
    name = generated_name(
        "ImageSharingData-dev", "ImageStoreBucketF57D958E" * 3, max_length=63, lowercase=True
    )
    assert name == generated_name(
        "ImageSharingData-dev", "ImageStoreBucketF57D958E" * 3, max_length=63, lowercase=True
    )
    assert len(name) == 63
    assert name == name.lower()
    assert name.startswith("imagesharingdata-dev-imagestorebucket")


def test_the_runner_loads_without_the_cdk() -> None:
    """The runner reads templates only: importing it must not start the CDK's Node.js process."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, constructs_lib.local.__main__; "
            "print(sorted(name for name in sys.modules if name.startswith(('aws_cdk', 'jsii'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


def test_aliases_and_versions_ref_to_the_qualified_function_arn(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Handler": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "orders"}},
            "Live": {
                "Type": "AWS::Lambda::Alias",
                "Properties": {"FunctionName": {"Ref": "Handler"}, "Name": "live", "FunctionVersion": "1"},
            },
            "Current": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Handler"}}},
        }
    }
    write_assembly(tmp_path, {"Functions": template}, {})
    stack = CloudAssembly(tmp_path, region=REGION, account=ACCOUNT, provision=named_only).stack("Functions")
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
    assert stack.ref("Live") == f"{function_arn}:live"
    assert stack.ref("Current") == f"{function_arn}:1"
    assert stack.resolve({"Fn::GetAtt": ["Current", "Version"]}) == "1"
