"""`constructs-lib-diff` (constructs_lib.diff): the template diff consumers and `make diff` run.

Most cases compare small template pairs written to temporary folders (``--base DIR --head DIR``,
no synth); one module fixture synthesizes a tiny CDK app in a temporary git repository, to
compare a ref (through a git worktree) with the working tree.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.diff import main, read_templates
from constructs_lib.diff._checks import DISPOSABLE_REASON_KEY
from tests.cdk import ROOT

Resources = Mapping[str, Mapping[str, Any]]


def _write(path: Path, stacks: Mapping[str, Resources]) -> Path:
    path.mkdir(parents=True)
    for stack, resources in stacks.items():
        (path / f"{stack}.template.json").write_text(json.dumps({"Resources": resources}))
    return path


def _diff(
    tmp_path: Path, base: Mapping[str, Resources], head: Mapping[str, Resources], *options: str
) -> tuple[int, str]:
    """Exit status and output of the diff of two assemblies given as {stack: resources}."""
    base_dir, head_dir = _write(tmp_path / "base", base), _write(tmp_path / "head", head)
    stdout = tmp_path / "stdout.txt"
    with stdout.open("w") as out:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "constructs_lib.diff",
                "--base",
                str(base_dir),
                "--head",
                str(head_dir),
                *options,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    return result.returncode, stdout.read_text()


def _run_in_process(tmp_path: Path, base: Mapping[str, Resources], head: Mapping[str, Resources]) -> str:
    """The output of main() in this process (no interpreter start): for the many warning cases."""
    base_dir, head_dir = _write(tmp_path / "base", base), _write(tmp_path / "head", head)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["--base", str(base_dir), "--head", str(head_dir), "--app-dir", str(ROOT)]) == 0
    return buffer.getvalue()


def _resource(kind: str, properties: Mapping[str, Any] | None = None, **attributes: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": dict(properties or {}), **attributes}


def _table(key: str = "id", **properties: Any) -> dict[str, Any]:
    return _resource(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            **properties,
        },
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )


def _global_table(*, pitr: bool = True, protected: bool = True) -> dict[str, Any]:
    replica = {
        "Region": "eu-west-1",
        "DeletionProtectionEnabled": protected,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": pitr},
    }
    return _resource(
        "AWS::DynamoDB::GlobalTable",
        {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "Replicas": [replica]},
        DeletionPolicy="Retain",
    )


BUCKET = _resource(
    "AWS::S3::Bucket",
    {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "VersioningConfiguration": {"Status": "Enabled"},
    },
    DeletionPolicy="Retain",
)
ROLE = _resource(
    "AWS::IAM::Role",
    {
        "AssumeRolePolicyDocument": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        }
    },
)
POLICY = _resource(
    "AWS::IAM::Policy",
    {
        "PolicyName": "p",
        "Roles": [{"Ref": "Role"}],
        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]},
    },
)
METADATA = {
    "Type": "AWS::CDK::Metadata",
    "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA" + "A" * 2000},
}


def _function(asset_hash: str) -> dict[str, Any]:
    return _resource(
        "AWS::Lambda::Function",
        {"Code": {"S3Bucket": "assets", "S3Key": f"{asset_hash * 64}.zip"}, "Handler": "h.handler"},
        Metadata={"aws:asset:path": f"asset.{asset_hash * 64}"},
    )


# The shared case: several stacks, each kind of change once.
@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("diff")
    queue = _resource("AWS::SQS::Queue")
    base = {
        "Data": {"Table": _table("id"), "Queue": queue, "CDKMetadata": METADATA, "Code": _function("a")},
        "Api": {"Role": ROLE},
        "Old": {"Q": queue},
        "Same": {"Table": _table("id")},
    }
    head = {
        "Data": {
            "Table": _table("groupId"),
            "Queue": queue,
            "CDKMetadata": {**METADATA, "Properties": {"Analytics": "v2:deflate64:other"}},
            "Code": _function("b"),
        },
        "Api": {"Role": ROLE, "Policy": POLICY},
        "New": {},
        "Same": {"Table": _table("id")},
    }
    return _run_in_process(tmp, base, head)


def test_each_changed_stack_lists_its_resource_changes(output: str) -> None:
    assert "==== Stack Api ====\n[+] AWS::IAM::Policy Policy\n" in output
    assert "==== Stack Old (stack removed) ====\n[-] AWS::SQS::Queue Q\n" in output
    assert "==== Stack New (new stack) ====\nThere were no differences" in output


def test_a_replacing_property_change_is_marked_with_its_cause(output: str) -> None:
    assert "[~] AWS::DynamoDB::Table Table (replace)\n" in output
    assert (
        "    ~ KeySchema (requires replacement)\n"
        '        - [0].AttributeName: "id"\n        + [0].AttributeName: "groupId"\n'
    ) in output
    assert "    ~ AttributeDefinitions\n" in output  # a change that does not replace: no remark


def test_cdk_metadata_and_asset_hash_only_changes_are_left_out(output: str) -> None:
    assert "CDKMetadata" not in output
    assert "deflate64" not in output
    assert "[~] AWS::Lambda::Function" not in output
    assert (
        "1 resource(s) differ only in asset hashes, i.e. rebuilt code or files, and are not listed: Code"
        in output
    )


def test_summary_line_per_stack_counts_only_real_changes(output: str) -> None:
    summary = output.split("==== Summary ====\n")[1]
    assert summary.splitlines()[:5] == [
        "Api: 1 added, 0 changed, 0 replaced, 0 removed; warnings: 1 iam",
        "Data: 0 added, 0 changed, 1 replaced, 0 removed; warnings: 1 data-loss",
        "New: 0 added, 0 changed, 0 replaced, 0 removed",
        "Old: 0 added, 0 changed, 0 replaced, 1 removed; warnings: 1 data-loss",
        "Same: 0 added, 0 changed, 0 replaced, 0 removed",
    ]
    assert "!!!! 2 change(s) lose or expose data (see above): review before merging." in summary


def test_replacing_or_removing_a_stateful_resource_is_data_loss(output: str) -> None:
    assert (
        "!!!! DATA LOSS: Data/Table (AWS::DynamoDB::Table): REPLACED (by KeySchema): "
        "the new resource starts empty" in output
    )
    assert "!!!! DATA LOSS: Old/Q (AWS::SQS::Queue): REMOVED: its data is deleted" in output


def test_new_iam_permissions_are_listed(output: str) -> None:
    assert '---- IAM: Api/Policy (AWS::IAM::Policy): allows "dynamodb:GetItem" on "*"' in output


def test_an_unchanged_stack_says_so(output: str) -> None:
    unchanged = output.split("==== Stack Same ====\n")[1].split("====", maxsplit=1)[0]
    assert unchanged.startswith("There were no differences\n")


# One case per warning: (base resource, head resource, the expected warning line).
CASES: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None, str]] = {
    "retain to delete": (
        _table(),
        {**_table(), "DeletionPolicy": "Delete"},
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::Table): DeletionPolicy Retain -> Delete: "
        "deleting the stack or resource deletes the data",
    ),
    "retain dropped": (
        _table(),
        {key: value for key, value in _table().items() if key != "UpdateReplacePolicy"},
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::Table): UpdateReplacePolicy Retain -> Delete: "
        "deleting the stack or resource deletes the data",
    ),
    "table deletion protection": (
        _table(DeletionProtectionEnabled=True),
        _table(DeletionProtectionEnabled=False),
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::Table): deletion protection turned off",
    ),
    "table pitr": (
        _table(PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
        _table(),
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::Table): point-in-time recovery turned off: "
        "no restore to before a bad write",
    ),
    "global table deletion protection": (
        _global_table(),
        _global_table(protected=False),
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::GlobalTable): "
        "deletion protection turned off (replica eu-west-1)",
    ),
    "global table pitr": (
        _global_table(),
        _global_table(pitr=False),
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::GlobalTable): "
        "point-in-time recovery turned off (replica eu-west-1)",
    ),
    "user pool deletion protection": (
        _resource("AWS::Cognito::UserPool", {"DeletionProtection": "ACTIVE"}),
        _resource("AWS::Cognito::UserPool", {"DeletionProtection": "INACTIVE"}),
        "!!!! DATA LOSS: S/R (AWS::Cognito::UserPool): deletion protection turned off",
    ),
    "bucket versioning": (
        BUCKET,
        {
            **BUCKET,
            "Properties": {**BUCKET["Properties"], "VersioningConfiguration": {"Status": "Suspended"}},
        },
        "!!!! DATA LOSS: S/R (AWS::S3::Bucket): "
        "versioning turned off: overwritten and deleted objects are gone",
    ),
    "bucket removed": (
        BUCKET,
        None,
        "!!!! DATA LOSS: S/R (AWS::S3::Bucket): REMOVED (DeletionPolicy keeps it, outside the stack)",
    ),
    "key removed": (
        _resource("AWS::KMS::Key", {"EnableKeyRotation": True}),
        None,
        "!!!! DATA LOSS: S/R (AWS::KMS::Key): REMOVED: its data is deleted",
    ),
    "domain replaced": (
        _resource("AWS::OpenSearchService::Domain", {"DomainName": "a"}),
        _resource("AWS::OpenSearchService::Domain", {"DomainName": "b"}),
        "!!!! DATA LOSS: S/R (AWS::OpenSearchService::Domain): "
        "REPLACED (by DomainName): the new resource starts empty",
    ),
    "bucket encryption removed": (
        BUCKET,
        {**BUCKET, "Properties": {k: v for k, v in BUCKET["Properties"].items() if k != "BucketEncryption"}},
        "!!!! SECURITY: S/R (AWS::S3::Bucket): encryption setting BucketEncryption removed",
    ),
    "domain encryption": (
        _resource("AWS::OpenSearchService::Domain", {"EncryptionAtRestOptions": {"Enabled": True}}),
        _resource("AWS::OpenSearchService::Domain", {"EncryptionAtRestOptions": {"Enabled": False}}),
        "!!!! SECURITY: S/R (AWS::OpenSearchService::Domain): encryption at rest turned off",
    ),
    "queue key removed": (
        _resource("AWS::SQS::Queue", {"KmsMasterKeyId": "alias/aws/sqs"}),
        _resource("AWS::SQS::Queue"),
        "!!!! SECURITY: S/R (AWS::SQS::Queue): encryption setting KmsMasterKeyId removed",
    ),
    "public access block": (
        BUCKET,
        {
            **BUCKET,
            "Properties": {
                **BUCKET["Properties"],
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True},
            },
        },
        "!!!! SECURITY: S/R (AWS::S3::Bucket): public access block loosened: "
        "BlockPublicPolicy, RestrictPublicBuckets no longer true",
    ),
    "public bucket policy": (
        _resource("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": []}}),
        _resource(
            "AWS::S3::BucketPolicy",
            {
                "PolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]
                }
            },
        ),
        "!!!! SECURITY: S/R (AWS::S3::BucketPolicy): "
        "PolicyDocument now allows anyone (Principal *) without a condition",
    ),
    "ingress from anywhere": (
        _resource("AWS::EC2::SecurityGroup", {"GroupDescription": "g"}),
        _resource(
            "AWS::EC2::SecurityGroup",
            {
                "GroupDescription": "g",
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
                ],
            },
        ),
        "!!!! SECURITY: S/R (AWS::EC2::SecurityGroup): ingress from anywhere (0.0.0.0/0 or ::/0): tcp 22-22",
    ),
    "unauthenticated route": (
        _resource("AWS::ApiGateway::Method", {"HttpMethod": "GET", "AuthorizationType": "AWS_IAM"}),
        _resource("AWS::ApiGateway::Method", {"HttpMethod": "GET", "AuthorizationType": "NONE"}),
        "!!!! SECURITY: S/R (AWS::ApiGateway::Method): route or URL callable without authorization",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_warning(case: str, tmp_path: Path) -> None:
    old, new, expected = CASES[case]
    output = _run_in_process(tmp_path, {"S": {"R": old} if old else {}}, {"S": {"R": new} if new else {}})
    warnings = [
        line for line in output.splitlines() if line.startswith(("!!!! DATA", "!!!! SEC", "---- IAM"))
    ]
    assert warnings == [expected]


def test_a_constructs_disposable_data_reason_is_quoted_beside_the_warning(tmp_path: Path) -> None:
    reason = "Holds only a cache rebuilt from the images table."
    relaxed = {**_table(), "DeletionPolicy": "Delete", "Metadata": {DISPOSABLE_REASON_KEY: reason}}
    output = _run_in_process(tmp_path, {"S": {"R": _table()}}, {"S": {"R": relaxed}})
    assert (
        "!!!! DATA LOSS: S/R (AWS::DynamoDB::Table): DeletionPolicy Retain -> Delete: deleting the stack "
        f'or resource deletes the data (acknowledged: "{reason}")'
    ) in output


def test_a_cors_preflight_route_without_authorization_is_not_a_warning(tmp_path: Path) -> None:
    options = _resource("AWS::ApiGateway::Method", {"HttpMethod": "OPTIONS", "AuthorizationType": "NONE"})
    output = _run_in_process(tmp_path, {"S": {}}, {"S": {"Preflight": options}})
    assert "!!!!" not in output


# Exit statuses, from the command as CI runs it.
PITR_OFF = ({"S": {"T": _global_table()}}, {"S": {"T": _global_table(pitr=False)}})


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    status, output = _diff(tmp_path, *PITR_OFF)
    assert status == 0, output
    assert "!!!! DATA LOSS" in output


def test_fail_on_data_loss_exits_1(tmp_path: Path) -> None:
    status, output = _diff(tmp_path, *PITR_OFF, "--fail-on", "data-loss,security")
    assert status == 1, output
    assert output.rstrip().endswith(
        "constructs-lib-diff: 1 warning(s) in --fail-on data-loss,security: failing"
    )


def test_fail_on_a_category_without_warnings_exits_0(tmp_path: Path) -> None:
    status, output = _diff(tmp_path, *PITR_OFF, "--fail-on", "security")
    assert status == 0, output


def test_an_unknown_ref_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.diff", "--base", "no-such-ref"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "constructs-lib-diff: error: unknown BASE 'no-such-ref': "
        f"neither a directory nor a git ref in {ROOT}\n"
    )


def test_an_unknown_fail_on_category_is_a_usage_error(tmp_path: Path) -> None:
    status, output = _diff(tmp_path, *PITR_OFF, "--fail-on", "data-los")
    assert status == 2
    assert "unknown categories ['data-los']; choose from data-loss, security, iam" in output


def test_no_cli_is_exit_2_with_the_fix(tmp_path: Path) -> None:
    base = _write(tmp_path / "base", {"S": {}})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "constructs_lib.diff",
            "--base",
            str(base),
            "--head",
            str(base),
            "--app-dir",
            "/",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"constructs-lib-diff: error: no aws-cdk CLI in //node_modules (or above) or in {sys.prefix}: "
        "install the pinned CLI with `python -m constructs_lib.toolchain`\n"
    )


def test_stacks_in_a_stage_are_named_after_it(tmp_path: Path) -> None:
    base = _write(tmp_path / "base", {"Top": {}})
    _write(base / "assembly-Prod", {"ProdData": {"Table": _table()}})
    assert sorted(read_templates(base)) == ["Prod/ProdData", "Top"]


def test_a_missing_head_directory_is_exit_2(tmp_path: Path) -> None:
    base = _write(tmp_path / "base", {"S": {}})
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.diff", "--base", str(base), "--head", str(tmp_path / "nope")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr == f"constructs-lib-diff: error: {tmp_path / 'nope'} is not a directory of templates\n"
    )


# A git ref as BASE: a tiny CDK app in its own repository, synthesized at HEAD and in the working tree.
TINY_APP = """
import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb

app = cdk.App()
stack = cdk.Stack(app, "Tiny")
dynamodb.TableV2(
    stack, "Items",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    removal_policy=cdk.RemovalPolicy.{policy},
)
app.synth()
"""


@pytest.fixture(scope="module")
def git_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("tiny-app")
    (repo / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    (repo / "app.py").write_text(TINY_APP.format(policy="RETAIN"))
    (repo / ".gitignore").write_text("node_modules\ncdk.out\n")
    (repo / "node_modules").symlink_to(ROOT / "node_modules")  # the pinned CLI, as a consumer installs it
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch=main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "retain"], cwd=repo, check=True)
    (repo / "app.py").write_text(TINY_APP.format(policy="DESTROY"))
    return repo


def test_a_git_ref_base_is_synthesized_in_a_worktree(git_app: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.diff", "--base", "HEAD", "--fail-on", "data-loss"],
        cwd=git_app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("Comparing the working tree with HEAD (")
    assert "!!!! DATA LOSS: Tiny/Items" in result.stdout
    assert "DeletionPolicy Retain -> Delete" in result.stdout
    assert "Tiny: 0 added, 1 changed, 0 replaced, 0 removed; warnings: 2 data-loss" in result.stdout
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=git_app, capture_output=True, text=True, check=True
    )
    assert len(worktrees.stdout.splitlines()) == 1  # the temporary worktree is gone
