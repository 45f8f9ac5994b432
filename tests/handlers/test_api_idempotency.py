"""The Idempotency-Key header of POST /groups and POST /groups/{groupId}/images, against moto."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest

from tests.handlers.conftest import (
    GROUPS_TABLE,
    IMAGES_TABLE,
    USER_SUB,
    ApiResponse,
    api_event,
    handler_module,
    invoke,
    seed_group,
)
from tests.handlers.events import create_id_keyed_table

groups_write = handler_module("groups_write")
images_write = handler_module("images_write")
repository = handler_module("repository")
idempotency = handler_module("idempotency")

IDEMPOTENCY_TABLE = "idempotency"
OTHER_USER = "5f1c2d3e-0000-4000-8000-0000000000bb"
GROUP = {"name": "Cats", "description": "Cats only"}


@pytest.fixture(scope="module", autouse=True)
def idempotency_table(api_aws: None) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
        create_id_keyed_table(boto3.client("dynamodb"), IDEMPOTENCY_TABLE)
        yield


def post_group(body: dict[str, Any], key: str | None, *, user: str = USER_SUB) -> ApiResponse:
    headers = {"Content-Type": "application/json", **({"idempotency-key": key} if key else {})}
    return invoke(
        groups_write,
        api_event("POST", "/groups", headers=headers, body=json.dumps(body), claims={"sub": user}),
    )


def post_image(group_id: str, body: dict[str, Any], key: str | None) -> ApiResponse:
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    return invoke(
        images_write,
        api_event(
            "POST",
            f"/groups/{group_id}/images",
            resource="/groups/{groupId}/images",
            path_parameters={"groupId": group_id},
            headers=headers,
            body=json.dumps(body),
            claims={"sub": USER_SUB},
        ),
    )


def _count(table: str, attribute: str, value: str) -> int:
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return sum(1 for item in items if item.get(attribute, {}).get("S") == value)


def test_a_retry_returns_the_first_group_and_stores_no_second() -> None:
    first = post_group({"name": "Retried", "description": "once"}, "key-retry-1")
    again = post_group({"name": "Retried", "description": "once"}, "key-retry-1")
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert _count(GROUPS_TABLE, "name", "Retried") == 1


def test_the_same_key_with_another_body_is_a_422() -> None:
    assert post_group({"name": "First", "description": "body"}, "key-other-body").status == 201
    refused = post_group({"name": "Second", "description": "body"}, "key-other-body")
    assert (refused.status, refused.body) == (422, {"message": idempotency.OTHER_BODY})
    assert _count(GROUPS_TABLE, "name", "Second") == 0


def test_a_retry_while_the_first_request_runs_is_a_409(monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    put_group = repository.put_group

    def slow_put(group: dict[str, str]) -> None:
        entered.set()
        assert release.wait(10)
        put_group(group)

    monkeypatch.setattr(repository, "put_group", slow_put)
    results: list[ApiResponse] = []
    first = threading.Thread(
        target=lambda: results.append(post_group({"name": "Slow", "description": "x"}, "key-slow"))
    )
    first.start()
    assert entered.wait(10)
    monkeypatch.setattr(repository, "put_group", put_group)
    concurrent = post_group({"name": "Slow", "description": "x"}, "key-slow")
    release.set()
    first.join(10)
    assert (concurrent.status, concurrent.body) == (409, {"message": idempotency.IN_PROGRESS})
    assert results[0].status == 201
    assert _count(GROUPS_TABLE, "name", "Slow") == 1
    assert post_group({"name": "Slow", "description": "x"}, "key-slow").body == results[0].body


def test_two_users_keys_never_collide() -> None:
    mine = post_group({"name": "Shared key", "description": "x"}, "key-shared")
    theirs = post_group({"name": "Shared key", "description": "x"}, "key-shared", user=OTHER_USER)
    assert (mine.status, theirs.status) == (201, 201)
    assert mine.body["newItem"]["id"] != theirs.body["newItem"]["id"]
    assert theirs.body["newItem"]["userId"] == OTHER_USER


def test_without_the_header_every_post_creates_a_group() -> None:
    post_group({"name": "No key", "description": "x"}, None)
    post_group({"name": "No key", "description": "x"}, None)
    assert _count(GROUPS_TABLE, "name", "No key") == 2


@pytest.mark.parametrize("key", ["has space", "x" * 256, "é"])
def test_a_malformed_key_is_a_400(key: str) -> None:
    response = post_group(GROUP, key)
    assert (response.status, response.body) == (
        400,
        {"message": "Idempotency-Key must be 1 to 255 visible ASCII characters"},
    )


def test_a_failed_request_frees_its_key() -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert post_image(missing, {"title": "t"}, "key-404").status == 404
    assert post_image(missing, {"title": "t"}, "key-404").status == 404  # not 409: the record was deleted


def test_an_image_retry_returns_the_first_image_with_a_fresh_upload_url() -> None:
    group_id = seed_group("Idempotent images")["id"]
    first = post_image(group_id, {"title": "Sunset"}, "key-image")
    again = post_image(group_id, {"title": "Sunset"}, "key-image")
    assert (first.status, again.status) == (201, 201)
    assert again.body["newItem"]["imageId"] == first.body["newItem"]["imageId"]
    assert again.body["newItem"]["timestamp"] == first.body["newItem"]["timestamp"]
    assert first.body["newItem"]["imageId"] in again.body["uploadUrl"]
    assert _count(IMAGES_TABLE, "groupId", group_id) == 1


def test_the_same_image_key_on_another_group_is_a_422() -> None:
    first_group, second_group = seed_group("One")["id"], seed_group("Two")["id"]
    assert post_image(first_group, {"title": "Same"}, "key-two-groups").status == 201
    refused = post_image(second_group, {"title": "Same"}, "key-two-groups")
    assert (refused.status, refused.body) == (422, {"message": idempotency.OTHER_BODY})
    assert _count(IMAGES_TABLE, "groupId", second_group) == 0


def test_records_expire_through_the_ttl_attribute() -> None:
    post_group({"name": "Expiring", "description": "x"}, "key-expiring")
    items = boto3.client("dynamodb").scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    assert items and all("expiration" in item and item["id"]["S"] for item in items)
    assert all(item["status"]["S"] == "COMPLETED" for item in items)
