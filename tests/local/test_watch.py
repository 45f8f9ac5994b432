"""``run --watch``: an edited handler reloads on its next invocation; an edited app re-synthesizes."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from constructs_lib.local.runner import LocalRunner, RunnerOptions
from tests.polling import eventually

HANDLER = """
import boto3, os

VERSION = "v1"

def handler(event, context):
    queue = boto3.client("sqs").get_queue_url(QueueName=os.environ["QUEUE"])["QueueUrl"]
    return {"version": VERSION, "queue": queue}
"""
STACK = "Watched"


def template(*queues: str) -> dict[str, Any]:
    """A function (its code an asset staged from src/hello) and `queues`; the function names the first."""
    resources: dict[str, Any] = {name: {"Type": "AWS::SQS::Queue", "Properties": {}} for name in queues}
    resources["Hello"] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Code": {"S3Bucket": "assets", "S3Key": "hello.zip"},
            "Environment": {"Variables": {"QUEUE": {"Fn::GetAtt": [queues[0], "QueueName"]}}},
        },
    }
    return {"Resources": resources}


def write_assembly(directory: Path, source: Path, resources: dict[str, Any]) -> None:
    """What cdk synth writes: the template, the manifests, and the asset staged from `source`."""
    directory.mkdir(exist_ok=True)
    shutil.copytree(source, directory / "asset.hello", dirs_exist_ok=True)
    (directory / f"{STACK}.template.json").write_text(json.dumps(resources))
    destination = {"current": {"bucketName": "assets", "objectKey": "hello.zip"}}
    assets = {
        "files": {
            "hello": {"source": {"path": "asset.hello", "packaging": "zip"}, "destinations": destination}
        }
    }
    (directory / f"{STACK}.assets.json").write_text(json.dumps(assets))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://222222222222/eu-west-1",
        "properties": {"templateFile": f"{STACK}.template.json"},
    }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": {STACK: stack}}))


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An app folder: its handler's source, cdk.json, and its synthesized cdk.out."""
    source = tmp_path / "src" / "hello"
    source.mkdir(parents=True)
    (source / "index.py").write_text(HANDLER)
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "python app.py"}))
    (tmp_path / "app.py").write_text("QUEUES = ['Jobs']\n")
    write_assembly(tmp_path / "cdk.out", source, template("Jobs"))
    return tmp_path


@pytest.fixture
def watching(app: Path) -> Iterator[LocalRunner]:
    options = RunnerOptions(port=0, websocket_port=0, watch=True, iam="off")
    with LocalRunner(app / "cdk.out", options, output=io.StringIO()) as runner:
        yield runner


def invoke(runner: LocalRunner) -> dict[str, Any]:
    assert runner.functions is not None
    (spec,) = runner.functions.functions.values()
    invocation = runner.invoke(spec.arn, {})
    assert invocation.error is None, invocation.error
    payload: dict[str, Any] = invocation.payload
    return payload


def sqs(runner: LocalRunner) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=runner.aws_url,
        region_name=runner.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_an_edited_handler_runs_its_new_code_on_the_next_invocation_with_the_data_kept(
    app: Path, watching: LocalRunner, caplog: pytest.LogCaptureFixture
) -> None:
    first = invoke(watching)
    assert first["version"] == "v1"
    sqs(watching).send_message(QueueUrl=first["queue"], MessageBody="kept")
    pool = watching.functions
    source = app / "src" / "hello" / "index.py"
    with caplog.at_level(logging.INFO, "constructs_lib.local"):
        source.write_text(HANDLER.replace('"v1"', '"v2"'))
        assert eventually(lambda: invoke(watching)["version"] == "v2", timeout=20)
    assert watching.functions is pool  # no restart: the same workers' pool, the same moto
    messages = sqs(watching).receive_message(QueueUrl=first["queue"]).get("Messages", [])
    assert [message["Body"] for message in messages] == ["kept"]
    assert "Watch: hello changed: Hello reload on their next invocation" in caplog.text


def test_an_edited_app_is_re_synthesized_and_re_provisioned_keeping_unchanged_data(
    app: Path, watching: LocalRunner, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for the CDK CLI: `cdk synth --output DIR` writes the app with a second queue.
    bin_directory = app / "bin"
    bin_directory.mkdir()
    cdk = bin_directory / "cdk"
    cdk.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "sys.path.insert(0, '.')\n"
        f"sys.path.insert(0, {str(Path(__file__).parent.parent.parent)!r})\n"
        "from tests.local.test_watch import template, write_assembly\n"
        "from pathlib import Path\n"
        "output = Path(sys.argv[sys.argv.index('--output') + 1])\n"
        "write_assembly(output, Path('src/hello'), template('Jobs', 'More'))\n"
    )
    cdk.chmod(cdk.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_directory}{os.pathsep}{os.environ['PATH']}")
    first = invoke(watching)
    sqs(watching).send_message(QueueUrl=first["queue"], MessageBody="kept")
    port = watching.port
    watching.aws.checks.append(lambda request: None)  # as a service's start adds one (IAM's)
    with caplog.at_level(logging.INFO, "constructs_lib.local"):
        (app / "app.py").write_text("QUEUES = ['Jobs', 'More']\n")
        eventually(lambda: "re-synthesized" in caplog.text, timeout=20)
    assert "Watch: app.py changed: re-synthesized in" in caplog.text
    assert f"created {STACK}/More; kept the other resources and their data" in caplog.text
    queues = sqs(watching).list_queues()["QueueUrls"]
    assert any("More" in url for url in queues)
    assert watching.port == port  # the APIs' ports, and so the state file, stay
    assert watching.aws.checks == []  # the stopped services' checks do not outlive them
    again = invoke(watching)
    assert again["queue"] == first["queue"]
    messages = sqs(watching).receive_message(QueueUrl=first["queue"]).get("Messages", [])
    assert [message["Body"] for message in messages] == ["kept"]


def test_re_provisioning_serves_each_api_on_its_port_again_even_when_a_rest_and_a_websocket_api_share_a_name(
    app: Path,
) -> None:
    resources = template("Jobs")["Resources"]
    resources["Rest"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "Api"}}
    resources["RestStage"] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {"RestApiId": {"Ref": "Rest"}, "StageName": "dev"},
    }
    resources["Socket"] = {
        "Type": "AWS::ApiGatewayV2::Api",
        "Properties": {
            "Name": "Api",
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": "$request.body.action",
        },
    }
    resources["SocketStage"] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {"ApiId": {"Ref": "Socket"}, "StageName": "dev"},
    }
    write_assembly(app / "cdk.out", app / "src" / "hello", {"Resources": resources})
    options = RunnerOptions(port=0, websocket_port=0, iam="off")
    with LocalRunner(app / "cdk.out", options, output=io.StringIO()) as runner:
        before = (dict(runner.rest_apis), dict(runner.websocket_apis))
        assert runner.reprovision().startswith("created nothing; kept the other resources and their data")
        assert (runner.rest_apis, runner.websocket_apis) == before
