"""`make local`: the reference app run from its synthesized templates, driven over real HTTP and WebSocket.

One runner serves the session's dev assembly on free ports: moto in-process, every handler in its
own worker process from its staged asset, API Gateway's routing, validators, Cognito authorizer and
CORS from the template, S3 -> SNS -> subscriber fan-out and the images table's stream.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
import requests
from aws_cdk.cx_api import CloudAssembly
from PIL import Image
from websockets.sync.client import ClientConnection, connect

from constructs_lib.local.__main__ import main
from constructs_lib.local.iam.service import IamEnforcement
from constructs_lib.local.runner import LocalRunner, create_user_token
from constructs_lib.local.stepfunctions.executions import executions, history
from tests.local_apps import serving
from tests.polling import eventually

ORIGIN = "http://localhost:3000"  # the dev stage's allowed origin (cdk.json)
HTTP_TIMEOUT = 30  # seconds: a cold worker imports its handler on the first request
EVENT_TIMEOUT = 60  # seconds: S3 -> queue -> SNS -> subscriber, each a cold worker the first time


@pytest.fixture(scope="module")
def runner(dev_assembly: CloudAssembly) -> Iterator[LocalRunner]:
    with serving(dev_assembly.directory) as local:
        yield local


@pytest.fixture(scope="module")
def api(runner: LocalRunner) -> str:
    (url,) = runner.rest_apis.values()
    return f"{url}/dev"


@pytest.fixture(scope="module")
def token(runner: LocalRunner) -> str:
    return create_user_token(runner.state(), "ana@example.com")


def invocations_of(runner: LocalRunner, function: str) -> int:
    assert runner.functions is not None
    return sum(1 for name, _ in runner.functions.invocations if name == function)


def jpeg(size: tuple[int, int]) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(output, format="JPEG")
    return output.getvalue()


def post(url: str, body: dict[str, Any], token: str | None) -> requests.Response:
    headers = {"Origin": ORIGIN, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    return requests.post(url, data=json.dumps(body), headers=headers, timeout=HTTP_TIMEOUT)


def test_the_contracts_full_flow_over_http_and_websocket(runner: LocalRunner, api: str, token: str) -> None:
    (websocket_url,) = runner.websocket_apis.values()
    listener: ClientConnection
    with connect(f"{websocket_url}/dev", open_timeout=HTTP_TIMEOUT) as listener:
        created_group = post(f"{api}/groups", {"name": "Harbour", "description": "Boats at dawn"}, token)
        assert created_group.status_code == 201, created_group.text
        assert created_group.headers["Access-Control-Allow-Origin"] == ORIGIN
        group = created_group.json()["newItem"]
        assert group["name"] == "Harbour"

        listed = requests.get(f"{api}/groups", params={"limit": "10"}, timeout=HTTP_TIMEOUT)
        assert [item["id"] for item in listed.json()["items"]] == [group["id"]]

        created_image = post(f"{api}/groups/{group['id']}/images", {"title": "Sunrise"}, token)
        assert created_image.status_code == 201, created_image.text
        image_id = created_image.json()["newItem"]["imageId"]
        photo = jpeg((600, 400))
        uploaded = requests.put(
            created_image.json()["uploadUrl"],
            data=photo,
            headers={"Content-Type": "image/jpeg"},
            timeout=HTTP_TIMEOUT,
        )
        assert uploaded.status_code == 200, uploaded.text

        notification = json.loads(listener.recv(timeout=EVENT_TIMEOUT))
        assert notification == {"imageId": image_id}

    def thumbnail() -> bytes | None:
        image = requests.get(f"{api}/images/{image_id}", timeout=HTTP_TIMEOUT).json()
        download = requests.get(image["thumbnailUrl"], timeout=HTTP_TIMEOUT)
        return download.content if download.status_code == 200 else None

    made = Image.open(io.BytesIO(eventually(thumbnail)))
    assert (made.format, made.size) == ("JPEG", (150, 100))

    images = requests.get(f"{api}/groups/{group['id']}/images", timeout=HTTP_TIMEOUT).json()["items"]
    assert [item["imageId"] for item in images] == [image_id]
    original = requests.get(images[0]["imageUrl"], timeout=HTTP_TIMEOUT)
    assert original.content == photo

    # The images table's stream reached the search indexer (whose OpenSearch calls answer 503).
    assert eventually(lambda: invocations_of(runner, "SearchIndexerimages") or None) >= 1


def test_the_authorizer_and_validator_reject_before_the_handler_runs(
    runner: LocalRunner, api: str, token: str
) -> None:
    before = invocations_of(runner, "GroupsWrite")
    unsigned = post(f"{api}/groups", {"name": "a", "description": "b"}, None)
    forged = post(f"{api}/groups", {"name": "a", "description": "b"}, token[:-4] + "AAAA")
    invalid = post(f"{api}/groups", {"name": "a", "description": "b", "admin": True}, token)
    assert (unsigned.status_code, unsigned.json()) == (401, {"message": "Unauthorized"})
    assert (forged.status_code, forged.json()) == (401, {"message": "Unauthorized"})
    # The validator's explanation, in API Gateway's words (ServerlessApi's BAD_REQUEST_BODY response).
    explanation = '[object instance has properties which are not allowed by the schema: ["admin"]]'
    assert (invalid.status_code, invalid.json()) == (400, {"message": f"Invalid request body: {explanation}"})
    for rejected in (unsigned, forged, invalid):
        assert rejected.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert invocations_of(runner, "GroupsWrite") == before
    accepted = post(f"{api}/groups", {"name": "a", "description": "b"}, token)
    assert accepted.status_code == 201
    assert invocations_of(runner, "GroupsWrite") == before + 1

    missing_query = requests.get(f"{api}/images", timeout=HTTP_TIMEOUT)
    assert missing_query.status_code == 400
    assert missing_query.json() == {"message": "Missing required request parameters: [q]"}


def test_preflights_and_unknown_routes_answer_as_api_gateway(api: str) -> None:
    preflight = requests.options(
        f"{api}/groups",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=HTTP_TIMEOUT,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    unknown = requests.delete(f"{api}/groups", timeout=HTTP_TIMEOUT)
    assert (unknown.status_code, unknown.json()) == (403, {"message": "Missing Authentication Token"})


def test_search_answers_503_because_opensearch_is_not_emulated(api: str) -> None:
    searched = requests.get(f"{api}/images", params={"q": "sunrise"}, timeout=HTTP_TIMEOUT)
    assert searched.status_code == 503
    assert searched.json() == {
        "message": "search is unavailable: OpenSearch is not emulated by the local runner"
    }


def test_the_flow_ran_under_iam_enforcement_and_needed_nothing_it_was_not_granted(
    runner: LocalRunner, api: str, token: str
) -> None:
    created = post(f"{api}/groups", {"name": "Quay", "description": "Cranes"}, token)
    assert created.status_code == 201, created.text
    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement)
    assert iam.authorizer is not None
    assert iam.mode.value == "enforce"
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}
    # The calls were checked: the write went through GroupsWrite's grant on the groups table.
    used = {action for usage in iam.authorizer.usage.values() for action, _, _ in usage.allowed}
    assert "dynamodb:PutItem" in used


def test_the_banner_says_what_runs_and_what_is_not_emulated(runner: LocalRunner) -> None:
    banner = "\n".join(runner.banner())
    assert "POST    /groups/{groupId}/images  (cognito user pools)" in banner
    assert "Thumbnail" in banner
    assert "IAM: the app's policies are enforced" in banner
    assert "permission boundaries, session policies" in banner  # what IAM enforcement leaves out
    assert "OpenSearch: requests to a domain answer 503" in banner


def test_the_token_command_prints_an_id_token_for_the_running_app(
    runner: LocalRunner, api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.state_file is not None and runner.state_file.exists()
    assert main(["--cdk-out", str(runner.cdk_out), "token", "--email", "ben@example.com"]) == 0
    printed = capsys.readouterr().out.strip()
    created = post(f"{api}/groups", {"name": "Bens", "description": "Bikes"}, printed)
    assert created.status_code == 201, created.text


def test_the_token_command_without_a_running_app_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--cdk-out", str(tmp_path), "token", "--email", "ana@example.com"]) == 2
    # Not the reference app's make targets: the command that works for an app in any directory.
    assert f"start one with `python -m constructs_lib.local run --cdk-out {tmp_path}` first" in (
        capsys.readouterr().err
    )


def test_the_state_file_has_each_apis_url_with_its_stage(runner: LocalRunner, api: str) -> None:
    assert runner.state_file is not None
    state = json.loads(runner.state_file.read_text())
    assert list(state["restApiUrls"].values()) == [f"{api}/"]
    (websocket_url,) = runner.websocket_apis.values()
    assert list(state["websocketApiUrls"].values()) == [f"{websocket_url}/dev"]
    banner = "\n".join(runner.banner())
    assert f"ID token for a new user: {runner.commands.token(runner.port)}" in banner


def test_the_default_route_answers_unknown_messages_with_a_json_error(runner: LocalRunner) -> None:
    (websocket_url,) = runner.websocket_apis.values()
    with connect(f"{websocket_url}/dev", open_timeout=HTTP_TIMEOUT) as client:
        client.send(json.dumps({"action": "subscribe", "groupId": "g1"}))
        reply = json.loads(client.recv(timeout=HTTP_TIMEOUT))
        client.send("not json")
        second = json.loads(client.recv(timeout=HTTP_TIMEOUT))
    assert reply == {
        "message": "Unknown action 'subscribe': this API takes no actions; it sends "
        '{"imageId": "<id>"} to every open connection when an image is uploaded.'
    }
    assert second["message"].startswith("Messages are JSON objects with an 'action'")


def test_the_upload_sweep_deletes_an_abandoned_image_when_triggered(
    runner: LocalRunner, api: str, token: str
) -> None:
    group = post(f"{api}/groups", {"name": "Attic", "description": "Old boxes"}, token).json()["newItem"]
    fresh = post(f"{api}/groups/{group['id']}/images", {"title": "Still uploading"}, token)
    assert fresh.status_code == 201, fresh.text
    fresh_id = fresh.json()["newItem"]["imageId"]
    # An item whose upload URL expired an hour ago without an upload: what the sweep is for.
    state = runner.state()
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=state["aws"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # moto takes any credentials
    )
    (images_table,) = [name for name in dynamodb.list_tables()["TableNames"] if "Images" in name]
    abandoned_id = str(uuid.uuid4())
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    dynamodb.put_item(
        TableName=images_table,
        Item={
            "groupId": {"S": group["id"]},
            "timestamp": {"S": an_hour_ago},
            "imageId": {"S": abandoned_id},
            "title": {"S": "Never uploaded"},
            "userId": {"S": "someone"},
        },
    )
    assert requests.get(f"{api}/images/{abandoned_id}", timeout=HTTP_TIMEOUT).status_code == 200
    (sweep,) = [name for name in state["schedules"] if "UploadSweep" in name]
    # The trigger command (`make local-trigger`), told which run by its port.
    assert main(["--cdk-out", str(runner.cdk_out), "trigger", sweep, "--port", str(runner.port)]) == 0

    def gone() -> bool | None:
        return requests.get(f"{api}/images/{abandoned_id}", timeout=HTTP_TIMEOUT).status_code == 404 or None

    assert eventually(gone)
    assert requests.get(f"{api}/images/{fresh_id}", timeout=HTTP_TIMEOUT).status_code == 200
    # Scheduler's role, the sweeper's scan, listing and delete: all granted, none denied.
    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement) and iam.authorizer is not None
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}
    used = {action for usage in iam.authorizer.usage.values() for action, _, _ in usage.allowed}
    assert {"lambda:InvokeFunction", "s3:ListBucket", "dynamodb:DeleteItem"} <= used


def _delete(url: str, token: str) -> requests.Response:
    return requests.delete(url, headers={"Origin": ORIGIN, "Authorization": token}, timeout=HTTP_TIMEOUT)


def _objects_named_after(runner: LocalRunner, image_ids: list[str]) -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=runner.aws.url,
        region_name=runner.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    keys = []
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            keys += [item["Key"] for image_id in image_ids if image_id in item["Key"]]
    return keys


def test_deleting_a_group_removes_every_image_and_only_its_owner_may(
    runner: LocalRunner, api: str, token: str
) -> None:
    group = post(f"{api}/groups", {"name": "Pier", "description": "To be deleted"}, token).json()["newItem"]
    image_ids = []
    for title in ("Gull", "Buoy"):
        created = post(f"{api}/groups/{group['id']}/images", {"title": title}, token).json()
        image_ids.append(created["newItem"]["imageId"])
        put = requests.put(
            created["uploadUrl"],
            data=jpeg((300, 200)),
            headers={"Content-Type": "image/jpeg"},
            timeout=HTTP_TIMEOUT,
        )
        assert put.status_code == 200, put.text
    # Both uploads and both thumbnails exist before the deletion.
    eventually(lambda: True if len(_objects_named_after(runner, image_ids)) == 4 else None)

    stranger = create_user_token(runner.state(), "bo@example.com")
    refused = _delete(f"{api}/groups/{group['id']}", stranger)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {"message": "Only the group's owner may delete it"}
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    unknown = _delete(f"{api}/groups/{uuid.uuid4()}", token)
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Group not found"})
    assert requests.delete(f"{api}/groups/{group['id']}", timeout=HTTP_TIMEOUT).status_code == 401

    accepted = _delete(f"{api}/groups/{group['id']}", token)
    assert accepted.status_code == 202, accepted.text
    execution_id = accepted.json()["executionId"]
    assert ":execution:" in execution_id

    def group_gone() -> bool | None:
        found = requests.get(f"{api}/groups/{group['id']}", timeout=HTTP_TIMEOUT)
        return True if found.status_code == 404 else None

    eventually(group_gone)
    assert _objects_named_after(runner, image_ids) == []  # uploads and thumbnails
    for image_id in image_ids:
        assert requests.get(f"{api}/images/{image_id}", timeout=HTTP_TIMEOUT).status_code == 404
    (execution,) = [item for item in executions(runner.state()) if item["executionArn"] == execution_id]
    assert execution["status"] == "SUCCEEDED"
    events = {event["type"] for event in history(runner.state(), execution_id)}
    assert {"MapStateEntered", "ChoiceStateEntered", "ExecutionSucceeded"} <= events


def test_a_retried_post_with_an_idempotency_key_gets_the_first_group(
    runner: LocalRunner, api: str, token: str
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Retried", "description": "Sent twice"}
    first = requests.post(
        f"{api}/groups", json=body, headers={"Authorization": token, **key}, timeout=HTTP_TIMEOUT
    )
    again = requests.post(
        f"{api}/groups", json=body, headers={"Authorization": token, **key}, timeout=HTTP_TIMEOUT
    )
    other = requests.post(
        f"{api}/groups",
        json={**body, "name": "Other"},
        headers={"Authorization": token, **key},
        timeout=HTTP_TIMEOUT,
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422), other.text
    assert again.json()["newItem"]["id"] == first.json()["newItem"]["id"]
    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement) and iam.authorizer is not None
    # The idempotency record was claimed and completed under GroupsWrite's grant on the idempotency table.
    used = {
        action
        for usage in iam.authorizer.usage.values()
        for action, resource, _ in usage.allowed
        if "Idempotency" in resource
    }
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= used
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}
