"""``python -m constructs_lib.local run``: serves a synthesized app until Ctrl+C, then cleans up."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from constructs_lib.local.__main__ import _arguments, main
from constructs_lib.local._state import STATE_FILE_PATTERN
from constructs_lib.local.runner import LocalRunner, RunnerOptions

# One Python function (inline code, as CDK writes small handlers) behind GET /hello.
HANDLER = """
import json, os
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"queue": os.environ["QUEUE_URL"], "path": event["path"]})}
"""
FUNCTION_ARN = {"Fn::GetAtt": ["Hello", "Arn"]}
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Hello": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": "index.handler",
                "Code": {"ZipFile": HANDLER},
                "Environment": {"Variables": {"QUEUE_URL": {"Ref": "Jobs"}}},
            },
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "Hello"}},
        # API Gateway may invoke the function only with this permission (the runner enforces IAM).
        "HelloPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": FUNCTION_ARN,
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Join": [
                        "",
                        ["arn:aws:execute-api:eu-west-1:222222222222:", {"Ref": "Api"}, "/*/GET/hello"],
                    ]
                },
            },
        },
        "HelloResource": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "hello",
            },
        },
        "HelloGet": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Ref": "HelloResource"},
                "HttpMethod": "GET",
                "AuthorizationType": "NONE",
                "Integration": {
                    "Type": "AWS_PROXY",
                    "IntegrationHttpMethod": "POST",
                    "Uri": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/",
                                FUNCTION_ARN,
                                "/invocations",
                            ],
                        ]
                    },
                },
            },
        },
        "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "DeploymentId": {"Ref": "Deployment"},
                "StageName": "v1",
            },
        },
    }
}


@pytest.fixture
def cdk_out(tmp_path: Path) -> Path:
    (tmp_path / "Hello.template.json").write_text(json.dumps(TEMPLATE))
    manifest = {
        "artifacts": {
            "Hello": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://222222222222/eu-west-1",
                "properties": {"templateFile": "Hello.template.json"},
            }
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_run_serves_until_interrupted_then_stops_and_cleans_up(
    cdk_out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers: list[requests.Response] = []

    def use_then_interrupt() -> None:
        deadline = time.monotonic() + 30
        while not _state_files(cdk_out) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            (state_file,) = _state_files(cdk_out)
            # Scripts take the URL with its stage from the state file, as from CDK's RestApi.url.
            (url,) = json.loads(state_file.read_text())["restApiUrls"].values()
            answers.append(requests.get(f"{url}hello", timeout=30))
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl+C sends

    handler_before = signal.getsignal(signal.SIGINT)
    client = threading.Thread(target=use_then_interrupt)
    client.start()
    code = main(["--cdk-out", str(cdk_out), "run", "--port", "0", "--websocket-port", "0"])
    client.join()

    assert code == 0
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.json()["path"] == "/hello"
    assert "/222222222222/Hello-Jobs-" in answer.json()["queue"]  # moto's URL of the template's queue
    printed = capsys.readouterr().out
    assert "Local run of" in printed
    assert "account 222222222222, eu-west-1" in printed
    assert "GET     /hello  (none)" in printed
    assert printed.rstrip().endswith("Stopping...")
    assert not _state_files(cdk_out)
    assert signal.getsignal(signal.SIGINT) is handler_before


def _state_files(cdk_out: Path) -> list[Path]:
    return sorted(cdk_out.glob(STATE_FILE_PATTERN))


def test_run_without_a_synthesized_app_says_to_synthesize(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--cdk-out", str(tmp_path), "run", "--port", "0", "--websocket-port", "0"]) == 2
    assert "run `cdk synth` first" in capsys.readouterr().err


def test_run_on_a_port_in_use_says_so(cdk_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--cdk-out", str(cdk_out), "run", "--port", str(port), "--websocket-port", "0"]) == 2
    error = capsys.readouterr().err
    assert "Address already in use" in error
    assert "choose other ports with --port and --websocket-port, or 0 for free ones" in error
    assert not _state_files(cdk_out)


@pytest.mark.parametrize(
    ("argv", "port", "cdk_out"),
    [
        (["--port", "8000", "run"], 8000, "cdk.out"),
        (["token", "--port", "8000", "--email", "ana@example.com"], 8000, "cdk.out"),
        (["token", "--email", "ana@example.com"], None, "cdk.out"),
        (["run", "--port", "9000", "--cdk-out", "build"], 9000, "build"),
        ([], 4000, "cdk.out"),
        (["--cdk-out", "build", "run"], 4000, "build"),
    ],
)
def test_options_go_before_or_after_the_command(argv: list[str], port: int | None, cdk_out: str) -> None:
    arguments = _arguments(argv)
    assert (arguments.port, arguments.cdk_out) == (port, Path(cdk_out))


@pytest.mark.parametrize(
    ("argv", "delays"),
    [
        ([], (1.0, 2.0)),
        (["run", "--retry-delays", "0.1"], (0.1,)),
        (["--retry-delays", "0,0.5", "run"], (0.0, 0.5)),
    ],
)
def test_retry_delays_are_seconds_the_last_repeating(argv: list[str], delays: tuple[float, ...]) -> None:
    assert _arguments(argv).retry_delays == delays


@pytest.mark.parametrize("text", ["", "fast", "1,,2", "-1", "nan", "901"])
def test_retry_delays_that_are_not_seconds_are_refused(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _arguments(["run", "--retry-delays", text])
    assert exit_.value.code == 2
    assert f"'{text}' is not a list of seconds from 0 to 900, such as 1,2" in capsys.readouterr().err


@pytest.mark.parametrize("delays", [(), (-1.0,), (1.0, float("nan")), (901.0,), (1.0, float("inf"))])
def test_retry_delays_built_in_code_are_checked_by_the_same_rule(delays: tuple[float, ...]) -> None:
    with pytest.raises(ValueError) as raised:
        RunnerOptions(retry_delays=delays)
    assert str(raised.value) == (
        f"RunnerOptions: retry_delays {delays!r} must be one or more seconds from 0 to 900, "
        "such as (1.0, 2.0)"
    )


def test_retry_delays_of_zero_and_the_maximum_are_accepted() -> None:
    assert RunnerOptions(retry_delays=(0, 900)).retry_delays == (0, 900)


def test_a_template_that_cannot_run_stops_everything_it_started(
    cdk_out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    broken = json.loads((cdk_out / "Hello.template.json").read_text())
    broken["Resources"]["Jobs"]["Properties"] = {"QueueName": {"Fn::Cidr": ["10.0.0.0/16", 1, 8]}}
    broken["Resources"]["Nested"] = {"Type": "AWS::CloudFormation::Stack", "Properties": {}}
    (cdk_out / "Hello.template.json").write_text(json.dumps(broken))
    assert main(["--cdk-out", str(cdk_out), "run", "--port", "0", "--websocket-port", "0"]) == 2
    assert "the intrinsic function Fn::Cidr is not supported locally" in capsys.readouterr().err
    assert "MOTO_ACCOUNT_ID" not in os.environ
    assert not _state_files(cdk_out)


def test_nested_stacks_are_listed_as_not_run(cdk_out: Path) -> None:
    template = json.loads((cdk_out / "Hello.template.json").read_text())
    template["Resources"]["Nested"] = {"Type": "AWS::CloudFormation::Stack", "Properties": {}}
    (cdk_out / "Hello.template.json").write_text(json.dumps(template))
    with LocalRunner(cdk_out, RunnerOptions(port=0, websocket_port=0), output=io.StringIO()) as runner:
        assert runner.not_run == {"Hello/Nested": "nested stacks are not run locally"}
        assert "Not run: Hello/Nested: nested stacks are not run locally" in list(runner.banner())


def test_token_for_a_run_that_is_gone_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{closed.getsockname()[1]}"
    state = {
        "aws": gone,
        "region": "eu-west-1",
        "userPools": [{"name": "p", "id": "eu-west-1_x", "clients": ["c"]}],
    }
    (tmp_path / "local-runner-4000.json").write_text(json.dumps(state))
    assert main(["token", "--cdk-out", str(tmp_path), "--email", "ana@example.com"]) == 2
    assert f"the local run in {tmp_path} is not reachable" in capsys.readouterr().err


def test_a_function_whose_asset_is_a_zip_file_runs(cdk_out: Path) -> None:
    """``Code.from_asset("bundle.zip")`` stages the archive itself; the runner unpacks it."""
    with zipfile.ZipFile(cdk_out / "asset.bundle.zip", "w") as archive:
        archive.writestr("index.py", HANDLER)
    (cdk_out / "Hello.assets.json").write_text(
        json.dumps(
            {
                "files": {
                    "bundle": {
                        "source": {"path": "asset.bundle.zip", "packaging": "file"},
                        "destinations": {"current": {"bucketName": "assets", "objectKey": "bundle.zip"}},
                    }
                }
            }
        )
    )
    template = json.loads((cdk_out / "Hello.template.json").read_text())
    template["Resources"]["Hello"]["Properties"]["Code"] = {"S3Bucket": "assets", "S3Key": "bundle.zip"}
    (cdk_out / "Hello.template.json").write_text(json.dumps(template))
    with LocalRunner(cdk_out, RunnerOptions(port=0, websocket_port=0), output=io.StringIO()) as runner:
        (url,) = runner.rest_apis.values()
        answer = requests.get(f"{url}/v1/hello", timeout=30)
    assert answer.status_code == 200
    assert answer.json()["path"] == "/hello"


def test_the_runs_retry_delays_space_the_retries_of_failed_deliveries(
    cdk_out: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = RunnerOptions(port=0, websocket_port=0, retry_delays=(0.05, 0.25))
    with (
        LocalRunner(cdk_out, options, output=io.StringIO()) as runner,
        caplog.at_level(logging.WARNING, logger="constructs_lib.local"),
    ):
        assert runner.events is not None and runner.functions is not None
        (arn,) = runner.functions.functions
        runner.events.invoke_async(arn, {})  # no "path": the handler raises KeyError
        assert runner.events.wait_idle(30)
    retries = [record.getMessage() for record in caplog.records if "; retry " in record.getMessage()]
    assert [message.rpartition("; ")[2] for message in retries] == [
        "retry 1 of 2 in 0.05 s",
        "retry 2 of 2 in 0.25 s",
    ]


def test_the_run_knows_its_functions_by_every_name_lambda_takes(cdk_out: Path) -> None:
    with LocalRunner(cdk_out, RunnerOptions(port=0, websocket_port=0), output=io.StringIO()) as runner:
        assert runner.functions is not None
        (arn,) = runner.functions.functions
        name = arn.rpartition(":")[2]
        partial = arn.split(":", 4)[4]
        for form in (name, f"{name}:live", arn, f"{arn}:7", partial, f"{partial}:live"):
            assert runner.runs(form), form
        assert not runner.runs("Elsewhere")
        assert not runner.runs(arn.replace("222222222222", "333333333333"))  # another account's
