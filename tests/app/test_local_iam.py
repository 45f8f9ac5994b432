"""`make local` enforces the app's IAM: a grant or a resource policy statement removed from a copy of
the synthesized templates makes exactly the call or the delivery it allowed fail, as in AWS.

The contract flow passing with enforcement on (tests/app/test_local_run.py, whose runner enforces
by default) shows the app's grants suffice; these tests show the enforcement can fail.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_cdk.cx_api import CloudAssembly

from constructs_lib.local.runner import LocalRunner, RunnerOptions, create_user_token
from tests.polling import FAST_RETRIES

HTTP_TIMEOUT = 30  # seconds: a cold worker imports its handler on the first request
ORIGIN = "http://localhost:3000"


def copy_assembly(
    assembly: CloudAssembly, destination: Path, edit: Callable[[str, dict[str, Any]], None]
) -> Path:
    """The assembly's templates copied (assets linked, not copied), each passed to `edit` first."""
    source = Path(assembly.directory)
    destination.mkdir()
    for entry in source.iterdir():
        if entry.name.endswith(".template.json"):
            template = json.loads(entry.read_text())
            edit(entry.name.removesuffix(".template.json"), template)
            (destination / entry.name).write_text(json.dumps(template))
        elif entry.is_dir():
            (destination / entry.name).symlink_to(entry)
        elif entry.is_file() and not entry.name.startswith("local-"):
            shutil.copy(entry, destination / entry.name)
    return destination


@pytest.fixture
def runner_on(tmp_path: Path, dev_assembly: CloudAssembly) -> Iterator[Callable[..., LocalRunner]]:
    runners: list[LocalRunner] = []

    def start(edit: Callable[[str, dict[str, Any]], None], iam: str = "enforce") -> LocalRunner:
        cdk_out = copy_assembly(dev_assembly, tmp_path / "cdk.out", edit)
        runner = LocalRunner(
            cdk_out,
            RunnerOptions(port=0, websocket_port=0, retry_delays=FAST_RETRIES, iam=iam),
            output=io.StringIO(),
        )
        runners.append(runner)
        return runner.start()

    yield start
    for runner in runners:
        runner.stop()


def statements_of(template: dict[str, Any], logical_id_prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        resource
        for logical_id, resource in template["Resources"].items()
        if logical_id.startswith(logical_id_prefix)
        and resource["Type"] in ("AWS::IAM::Policy", "AWS::SNS::TopicPolicy")
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def report_of(runner: LocalRunner) -> dict[str, Any]:
    runner.stop()
    path = runner.cdk_out.glob("local-iam-report-*.json")
    (report,) = list(path)
    loaded: dict[str, Any] = json.loads(report.read_text())
    return loaded


def remove_put_item(stack: str, template: dict[str, Any]) -> None:
    """GroupsWrite loses dynamodb:PutItem on the groups table."""
    if stack == "ImageSharingApi-dev":
        statements = statements_of(template, "GroupsWriteServiceRoleDefaultPolicy")
        for statement in statements:
            if isinstance(statement["Action"], list) and "dynamodb:PutItem" in statement["Action"]:
                statement["Action"].remove("dynamodb:PutItem")
        statements[:] = [s for s in statements if s["Action"] not in ("dynamodb:PutItem", [])]


def create_group(runner: LocalRunner) -> requests.Response:
    (url,) = runner.rest_apis.values()
    token = create_user_token(runner.state(), "ana@example.com")
    return requests.post(
        f"{url}/dev/groups",
        data=json.dumps({"name": "Harbour", "description": "Boats"}),
        headers={"Authorization": token, "Origin": ORIGIN, "Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )


def test_a_missing_grant_denies_exactly_that_call(
    runner_on: Callable[..., LocalRunner], caplog: pytest.LogCaptureFixture
) -> None:
    runner = runner_on(remove_put_item)
    (url,) = runner.rest_apis.values()
    with caplog.at_level(logging.WARNING, logger="constructs_lib.local.iam"):
        created = create_group(runner)
        listed = requests.get(f"{url}/dev/groups", timeout=HTTP_TIMEOUT)
    assert created.status_code == 500
    assert listed.status_code == 200  # GroupsRead keeps its grants
    report = report_of(runner)
    (denied,) = report["functions"]["GroupsWrite"]["denied"]
    assert denied["action"] == "dynamodb:PutItem"
    assert denied["resource"].startswith(
        "arn:aws:dynamodb:us-east-1:111111111111:table/ImageSharingData-dev-GroupsTable"
    )
    assert denied["reason"] == "because no identity-based policy allows the dynamodb:PutItem action"
    assert all(not entry["denied"] for name, entry in report["functions"].items() if name != "GroupsWrite")
    (line,) = [record.getMessage() for record in caplog.records if "IAM denied" in record.getMessage()]
    assert line.startswith("IAM denied: GroupsWrite dynamodb:PutItem on arn:aws:dynamodb:")
    assert "no statement in the app allows it" in line


def test_a_removed_topic_policy_statement_refuses_the_buckets_delivery(
    runner_on: Callable[..., LocalRunner], caplog: pytest.LogCaptureFixture
) -> None:
    def remove_s3_publish(stack: str, template: dict[str, Any]) -> None:
        if stack == "ImageSharingData-dev":
            statements = statements_of(template, "ImageStoreUploadEventsPolicy")
            statements[:] = [s for s in statements if s.get("Sid") != "AllowOnlyImagesBucketToPublish"]

    runner = runner_on(remove_s3_publish)
    (url,) = runner.rest_apis.values()
    token = create_user_token(runner.state(), "ana@example.com")
    headers = {"Authorization": token, "Origin": ORIGIN, "Content-Type": "application/json"}
    group = requests.post(
        f"{url}/dev/groups",
        data=json.dumps({"name": "G", "description": "D"}),
        headers=headers,
        timeout=HTTP_TIMEOUT,
    ).json()["newItem"]
    image = requests.post(
        f"{url}/dev/groups/{group['id']}/images",
        data=json.dumps({"title": "T"}),
        headers=headers,
        timeout=HTTP_TIMEOUT,
    ).json()
    with caplog.at_level(logging.WARNING):
        uploaded = requests.put(
            image["uploadUrl"],
            data=b"\xff\xd8\xff",
            headers={"Content-Type": "image/jpeg"},
            timeout=HTTP_TIMEOUT,
        )
        assert uploaded.status_code == 200  # the upload itself is allowed: the presign role may put it
        assert runner.events is not None
        assert runner.events.wait_idle(30)
    assert runner.functions is not None
    assert not [name for name, _ in runner.functions.invocations if name in ("Thumbnail", "Notifier")]
    refusals = [record.getMessage() for record in caplog.records if "Delivery refused" in record.getMessage()]
    assert refusals  # one per notification the bucket sends for the upload
    for refusal in refusals:
        assert "s3.amazonaws.com may not sns:Publish" in refusal
        assert "because no resource-based policy allows the sns:Publish action" in refusal
    report = report_of(runner)
    assert {denied["action"] for denied in report["otherDenials"]["s3.amazonaws.com"]} == {"sns:Publish"}
    assert all(not entry["denied"] for entry in report["functions"].values())


def test_report_mode_lets_the_call_through_and_reports_it(
    runner_on: Callable[..., LocalRunner], caplog: pytest.LogCaptureFixture
) -> None:
    runner = runner_on(remove_put_item, iam="report")
    with caplog.at_level(logging.WARNING, logger="constructs_lib.local.iam"):
        created = create_group(runner)
    assert created.status_code == 201, created.text
    assert any("would be denied (report mode)" in record.getMessage() for record in caplog.records)
    report = report_of(runner)
    assert report["mode"] == "report"
    assert [entry["action"] for entry in report["functions"]["GroupsWrite"]["denied"]] == ["dynamodb:PutItem"]


def test_an_alarm_whose_topic_policy_refuses_cloudwatch_is_reported_at_start(
    runner_on: Callable[..., LocalRunner], caplog: pytest.LogCaptureFixture
) -> None:
    def remove_cloudwatch_publish(stack: str, template: dict[str, Any]) -> None:
        if stack == "ImageSharingData-dev":
            statements = statements_of(template, "AlarmsTopicPolicy")
            statements[:] = [s for s in statements if s.get("Sid") != "AllowCloudWatchAlarmsToPublish"]

    with caplog.at_level(logging.WARNING, logger="constructs_lib.local.iam"):
        runner = runner_on(remove_cloudwatch_publish)
    refusals = [record.getMessage() for record in caplog.records if "could not notify" in record.getMessage()]
    assert refusals  # alarms do not run locally: their deliveries are decided when the run starts
    assert all("because no resource-based policy allows the sns:Publish action" in line for line in refusals)
    report = report_of(runner)
    assert {denied["action"] for denied in report["otherDenials"]["cloudwatch.amazonaws.com"]} == {
        "sns:Publish"
    }
