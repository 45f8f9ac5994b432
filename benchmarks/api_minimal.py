"""The minimal handlers of budget 3: each REST route's AWS calls with boto3, and the same JSON.

No framework, no validation beyond what the route needs to make its calls, no logging, metrics
or tracing: the least a Lambda function needs to answer the route. ``handler`` dispatches on
API Gateway's resource path, as one function per route would.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")
_signing: dict[str, Any] = {}


def _s3() -> Any:
    # Signed with the presign role's credentials, as the app's handlers sign.
    if "s3" not in _signing:
        credentials = boto3.client("sts").assume_role(
            RoleArn=os.environ["IMAGE_STORE_PRESIGN_ROLE_ARN"], RoleSessionName="minimal"
        )["Credentials"]
        _signing["s3"] = boto3.client(
            "s3",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return _signing["s3"]


def _url(method: str, bucket: str, key: str, ttl: str) -> str:
    http_method = "PUT" if method == "put_object" else "GET"
    url: str = _s3().generate_presigned_url(
        method, Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(ttl), HttpMethod=http_method
    )
    return url


def _with_urls(image: dict[str, str]) -> dict[str, str]:
    ttl = os.environ["IMAGE_STORE_DOWNLOAD_URL_TTL"]
    return {
        **image,
        "imageUrl": _url(
            "get_object",
            os.environ["IMAGE_STORE_BUCKET"],
            os.environ["IMAGE_STORE_UPLOAD_PREFIX"] + image["imageId"],
            ttl,
        ),
        "thumbnailUrl": _url(
            "get_object",
            os.environ["IMAGE_STORE_THUMBNAIL_BUCKET"],
            os.environ["IMAGE_STORE_THUMBNAIL_PREFIX"] + image["imageId"] + ".jpeg",
            ttl,
        ),
    }


def _strings(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, str]:
    return {name: item[name]["S"] for name in fields if name in item}


GROUP_FIELDS = ("id", "userId", "name", "description", "timestamp")
IMAGE_FIELDS = ("groupId", "imageId", "title", "timestamp")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _answer(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: PLR0911 -- one return per route
    route = (event["httpMethod"], event["resource"])
    parameters = event.get("pathParameters") or {}
    groups, images = os.environ["GROUPS_TABLE"], os.environ["IMAGES_TABLE"]
    if route == ("GET", "/groups"):
        reply = dynamodb.scan(TableName=groups, Limit=20)
        return _answer(200, {"items": [_strings(i, GROUP_FIELDS) for i in reply["Items"]], "nextKey": None})
    if route == ("GET", "/groups/{groupId}"):
        item = dynamodb.get_item(TableName=groups, Key={"id": {"S": parameters["groupId"]}})["Item"]
        return _answer(200, _strings(item, GROUP_FIELDS))
    if route == ("POST", "/groups"):
        body = json.loads(event["body"])
        group = {
            "id": str(uuid.uuid4()),
            "userId": event["requestContext"]["authorizer"]["claims"]["sub"],
            "name": body["name"],
            "description": body["description"],
            "timestamp": _now(),
        }
        dynamodb.put_item(
            TableName=groups,
            Item={k: {"S": v} for k, v in group.items()},
            ConditionExpression="attribute_not_exists(id)",
        )
        return _answer(201, {"newItem": group})
    if route == ("GET", "/groups/{groupId}/images"):
        group_id = parameters["groupId"]
        dynamodb.get_item(TableName=groups, Key={"id": {"S": group_id}})
        reply = dynamodb.query(
            TableName=images,
            KeyConditionExpression="groupId = :groupId",
            ExpressionAttributeValues={":groupId": {"S": group_id}},
            ScanIndexForward=False,
            Limit=20,
        )
        items = [_with_urls(_strings(i, IMAGE_FIELDS)) for i in reply["Items"]]
        return _answer(200, {"items": items, "nextKey": None})
    if route == ("GET", "/images/{imageId}"):
        reply = dynamodb.query(
            TableName=images,
            IndexName=os.environ["IMAGES_ID_INDEX"],
            KeyConditionExpression="imageId = :imageId",
            ExpressionAttributeValues={":imageId": {"S": parameters["imageId"]}},
            Limit=1,
        )
        return _answer(200, _with_urls(_strings(reply["Items"][0], IMAGE_FIELDS)))
    if route == ("POST", "/groups/{groupId}/images"):
        group_id = parameters["groupId"]
        dynamodb.get_item(TableName=groups, Key={"id": {"S": group_id}})
        image = {
            "groupId": group_id,
            "imageId": str(uuid.uuid4()),
            "title": json.loads(event["body"])["title"],
            "timestamp": _now(),
        }
        user = event["requestContext"]["authorizer"]["claims"]["sub"]
        dynamodb.put_item(
            TableName=images,
            Item={k: {"S": v} for k, v in {**image, "userId": user}.items()},
            ConditionExpression="attribute_not_exists(groupId)",
        )
        upload = _url(
            "put_object",
            os.environ["IMAGE_STORE_BUCKET"],
            os.environ["IMAGE_STORE_UPLOAD_PREFIX"] + image["imageId"],
            os.environ["IMAGE_STORE_UPLOAD_URL_TTL"],
        )
        return _answer(201, {"newItem": _with_urls(image), "uploadUrl": upload})
    return _answer(404, {"message": "Not found"})
