"""`make diff`'s renderer: the CDK diff per stack, IAM changes, summaries, and data-loss warnings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cdk import ROOT

SCRIPT = ROOT / "scripts" / "template-diff.mjs"


def _table(key: str) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "Properties": {
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    }


def _assembly(path: Path, templates: dict[str, dict[str, Any]]) -> Path:
    path.mkdir()
    for stack, resources in templates.items():
        (path / f"{stack}.template.json").write_text(json.dumps({"Resources": resources}))
    return path


def _diff(base: Path, head: Path) -> str:
    node = shutil.which("node")
    assert node is not None, "node is on PATH in `make test`"
    result = subprocess.run(
        [node, str(SCRIPT), str(base), str(head)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("diff")
    queue = {"Type": "AWS::SQS::Queue", "Properties": {}}
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "p",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}],
            },
        },
    }
    base = _assembly(
        root / "base",
        {
            "Data": {"Table": _table("id"), "Queue": queue},
            "Api": {"Role": role},
            "Old": {"Q": queue},
            "Same": {"Table": _table("id")},
        },
    )
    head = _assembly(
        root / "head",
        {
            "Data": {"Table": _table("groupId"), "Queue": queue},
            "Api": {"Role": role, "Policy": policy},
            "New": {},
            "Same": {"Table": _table("id")},
        },
    )
    return _diff(base, head)


def test_each_stack_gets_the_cdk_diff(output: str) -> None:
    assert "==== Stack Data ====" in output
    assert "==== Stack Api ====" in output
    assert "[+] AWS::IAM::Policy Policy" in output


def test_iam_changes_are_called_out(output: str) -> None:
    assert "---- IAM and security-group changes in Api" in output
    assert "dynamodb:GetItem" in output


def test_summary_line_per_stack(output: str) -> None:
    summary = output.split("==== Summary ====")[1]
    assert "Api: 1 added, 0 changed, 0 replaced, 0 removed" in summary
    assert "Data: 0 added, 0 changed, 1 replaced, 0 removed, 1 STATEFUL REPLACEMENT(S)" in summary
    assert "Old: 0 added, 0 changed, 0 replaced, 1 removed, 1 STATEFUL REPLACEMENT(S)" in summary
    assert "New: 0 added, 0 changed, 0 replaced, 0 removed" in summary


def test_replacing_a_table_is_flagged_as_data_loss(output: str) -> None:
    assert (
        "!!!! DATA LOSS: stateful resource replaced or removed in Data: Table (AWS::DynamoDB::Table)"
        in output
    )
    assert "data would be lost" in output


def test_an_unchanged_stack_says_so(output: str) -> None:
    unchanged = output.split("==== Stack Same ====")[1].split("====", maxsplit=1)[0]
    assert "There were no differences" in unchanged
    assert "Same: 0 added, 0 changed, 0 replaced, 0 removed\n" in output
