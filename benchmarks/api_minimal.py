"""The minimal handlers of budget 3: each REST route's AWS calls with boto3, and the same JSON.

No framework, no validation beyond what the route needs to make its calls, no logging, metrics
or tracing: the least a Lambda function needs to answer the route. ``handler`` dispatches on
API Gateway's resource path, as one function per route would.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

dynamodb = boto3.client("dynamodb")
_session = boto3.session.Session()
_signing: dict[str, Any] = {}


def _s3() -> Any:
    # Signed with the presign role's credentials and SigV4, as the app's handlers sign (botocore's
    # default for S3 presigning in us-east-1 is still the legacy SigV2 query string: another URL).
    if "s3" not in _signing:
        credentials = boto3.client("sts").assume_role(
            RoleArn=os.environ["IMAGE_STORE_PRESIGN_ROLE_ARN"], RoleSessionName="minimal"
        )["Credentials"]
        _signing["s3"] = boto3.client(
            "s3",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=Config(signature_version="s3v4"),
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
    if route == ("GET", "/images"):
        return _answer(200, {"items": _search(event["queryStringParameters"]["q"])})
    return _answer(404, {"message": "Not found"})


def _search(text: str) -> list[dict[str, Any]]:
    """The same signed ``_search`` request as the app's, and its hits with URLs and highlights."""
    query = {
        "size": 20,
        "query": {"multi_match": {"query": text, "fields": ["title"], "fuzziness": "AUTO"}},
        "highlight": {"fields": {"title": {}}},
        "_source": list(IMAGE_FIELDS),
    }
    body = json.dumps(query).encode()
    url = f"{os.environ['SEARCH_DOMAIN_ENDPOINT']}/{os.environ['SEARCH_INDEX']}/_search"
    headers = {"Content-Type": "application/json", "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(_session.get_credentials().get_frozen_credentials(), "es", os.environ["AWS_REGION"]).add_auth(
        request
    )
    outgoing = urllib.request.Request(  # noqa: S310 -- the benchmark's own loopback endpoint
        url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    with urllib.request.urlopen(outgoing, timeout=10) as response:  # noqa: S310 -- the benchmark's endpoint
        hits = json.loads(response.read())["hits"]["hits"]
    return [
        {**_with_urls(_strings_of(hit["_source"])), "highlights": hit.get("highlight", {})} for hit in hits
    ]


def _strings_of(source: dict[str, Any]) -> dict[str, str]:
    return {name: source[name] for name in IMAGE_FIELDS}
