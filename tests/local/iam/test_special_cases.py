"""Requests as boto3 sends them -> the IAM action and resource AWS authorizes; each special case once."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.local.iam.actions import accesses
from constructs_lib.local.iam.calls import ApiCall
from constructs_lib.local.iam.wire import api_call, signature
from tests.local.iam.wire_requests import ACCOUNT, ENDPOINT, REGION, presigned, sdk_request

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Images"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:UploadEvents"
QUEUE_URL = f"{ENDPOINT}/{ACCOUNT}/jobs"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd"


def mapped(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    return [(access.action, access.resource) for access in accesses(call_of(service, operation, **params))]


def call_of(service: str, operation: str, **params: Any) -> ApiCall:
    request = sdk_request(service, operation, **params)
    signer = signature(request.headers, request.query)
    assert signer is not None
    call = api_call(request, signing_name=signer.service, region=REGION, account=ACCOUNT)
    assert call is not None, f"{service}.{operation} not recognized"
    return call


# The rule, from the reference: <prefix>:<Operation> on the ARN the parameters name.
@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "dynamodb",
            "put_item",
            {"TableName": "Images", "Item": {"id": {"S": "1"}}},
            [("dynamodb:PutItem", TABLE)],
        ),
        (
            "dynamodb",
            "get_item",
            {"TableName": TABLE, "Key": {"id": {"S": "1"}}},
            [("dynamodb:GetItem", TABLE)],
        ),
        ("sns", "publish", {"TopicArn": TOPIC, "Message": "m"}, [("sns:Publish", TOPIC)]),
        ("sqs", "send_message", {"QueueUrl": QUEUE_URL, "MessageBody": "m"}, [("sqs:SendMessage", QUEUE)]),
        ("kms", "generate_data_key", {"KeyId": KEY, "KeySpec": "AES_256"}, [("kms:GenerateDataKey", KEY)]),
        (
            "stepfunctions",
            "start_execution",
            {"stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Flow"},
            [("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Flow")],
        ),
        (
            "sts",
            "assume_role",
            {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/Presign", "RoleSessionName": "fn"},
            [("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/Presign")],
        ),
        (
            "s3",
            "put_object",
            {"Bucket": "images", "Key": "uploads/a.jpg", "Body": b"x"},
            [("s3:PutObject", "arn:aws:s3:::images/uploads/a.jpg")],
        ),
        (
            "s3",
            "get_object",
            {"Bucket": "images", "Key": "a b/ü.jpg"},
            [("s3:GetObject", "arn:aws:s3:::images/a b/ü.jpg")],
        ),
        (
            "ssm",
            "get_parameter",
            {"Name": "/app/flag"},
            [("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/flag")],
        ),
        (
            "cloudwatch",
            "put_metric_data",
            {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1}]},
            [("cloudwatch:PutMetricData", "*")],
        ),
    ],
)
def test_the_reference_names_the_action_and_resource(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert mapped(service, operation, **params) == expected


def test_s3_list_objects_v2_is_list_bucket_on_the_bucket_with_its_prefix() -> None:
    (access,) = accesses(call_of("s3", "list_objects_v2", Bucket="images", Prefix="uploads/"))
    assert (access.action, access.resource) == ("s3:ListBucket", "arn:aws:s3:::images")
    assert access.context == {"s3:prefix": "uploads/"}


def test_s3_head_object_is_get_object() -> None:
    assert mapped("s3", "head_object", Bucket="images", Key="k") == [
        ("s3:GetObject", "arn:aws:s3:::images/k")
    ]


def test_s3_head_bucket_is_list_bucket() -> None:
    assert mapped("s3", "head_bucket", Bucket="images") == [("s3:ListBucket", "arn:aws:s3:::images")]


def test_s3_multipart_uploads_are_put_object() -> None:
    assert mapped("s3", "create_multipart_upload", Bucket="images", Key="big") == [
        ("s3:PutObject", "arn:aws:s3:::images/big")
    ]
    assert mapped("s3", "upload_part", Bucket="images", Key="big", PartNumber=1, UploadId="u", Body=b"x") == [
        ("s3:PutObject", "arn:aws:s3:::images/big")
    ]


def test_s3_copy_object_reads_the_source_and_writes_the_target() -> None:
    assert mapped(
        "s3", "copy_object", Bucket="images", Key="thumbnails/a", CopySource="images/uploads/a"
    ) == [
        ("s3:PutObject", "arn:aws:s3:::images/thumbnails/a"),
        ("s3:GetObject", "arn:aws:s3:::images/uploads/a"),
    ]


def test_s3_delete_objects_is_delete_object_on_each_key() -> None:
    assert mapped(
        "s3", "delete_objects", Bucket="images", Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}]}
    ) == [
        ("s3:DeleteObject", "arn:aws:s3:::images/a"),
        ("s3:DeleteObject", "arn:aws:s3:::images/b/c"),
    ]


def test_s3_list_buckets_is_list_all_my_buckets() -> None:
    assert mapped("s3", "list_buckets") == [("s3:ListAllMyBuckets", "*")]


def test_a_presigned_url_is_the_signers_call() -> None:
    request = presigned("put_object", Bucket="images", Key="uploads/a.jpg")
    signer = signature(request.headers, request.query)
    assert signer is not None
    assert (signer.access_key, signer.service, signer.presigned) == ("ASIAPRESIGN", "s3", True)
    call = api_call(request, signing_name="s3", region=REGION, account=ACCOUNT)
    assert call is not None
    assert [(a.action, a.resource) for a in accesses(call)] == [
        ("s3:PutObject", "arn:aws:s3:::images/uploads/a.jpg")
    ]


def test_dynamodb_query_on_an_index_is_authorized_on_the_index() -> None:
    params = {"KeyConditionExpression": "id = :id", "ExpressionAttributeValues": {":id": {"S": "1"}}}
    assert mapped("dynamodb", "query", TableName="Images", IndexName="imageId-index", **params) == [
        ("dynamodb:Query", f"{TABLE}/index/imageId-index")
    ]
    assert mapped("dynamodb", "query", TableName="Images", **params) == [("dynamodb:Query", TABLE)]
    assert mapped("dynamodb", "scan", TableName="Images", IndexName="by-title") == [
        ("dynamodb:Scan", f"{TABLE}/index/by-title")
    ]


def test_dynamodb_batches_name_every_table_and_transactions_their_item_actions() -> None:
    item = {"id": {"S": "1"}}
    assert mapped(
        "dynamodb",
        "batch_write_item",
        RequestItems={
            "Images": [{"PutRequest": {"Item": item}}],
            "Groups": [{"DeleteRequest": {"Key": item}}],
        },
    ) == [("dynamodb:BatchWriteItem", TABLE), ("dynamodb:BatchWriteItem", TABLE.replace("Images", "Groups"))]
    assert mapped(
        "dynamodb",
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": "Images", "Item": item}},
            {"Delete": {"TableName": "Groups", "Key": item}},
        ],
    ) == [("dynamodb:PutItem", TABLE), ("dynamodb:DeleteItem", TABLE.replace("Images", "Groups"))]


def test_dynamodb_streams_calls_are_dynamodb_actions_on_the_stream() -> None:
    stream = f"{TABLE}/stream/2026-12-06T07:00:00.000"
    assert mapped("dynamodbstreams", "describe_stream", StreamArn=stream) == [
        ("dynamodb:DescribeStream", stream)
    ]
    assert mapped("dynamodbstreams", "get_records", ShardIterator=f"{stream}|1|AAAA") == [
        ("dynamodb:GetRecords", stream)
    ]


def test_batch_operations_are_their_single_message_action() -> None:
    entries = [{"Id": "1", "MessageBody": "m"}]
    assert mapped("sqs", "send_message_batch", QueueUrl=QUEUE_URL, Entries=entries) == [
        ("sqs:SendMessage", QUEUE)
    ]
    assert mapped(
        "sns", "publish_batch", TopicArn=TOPIC, PublishBatchRequestEntries=[{"Id": "1", "Message": "m"}]
    ) == [("sns:Publish", TOPIC)]


def test_lambda_invoke_is_invoke_function() -> None:
    assert mapped("lambda", "invoke", FunctionName="Thumbnail") == [
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Thumbnail")
    ]


def test_apigatewaymanagementapi_is_manage_connections_on_the_connection() -> None:
    call = ApiCall(
        "apigatewaymanagementapi",
        "execute-api",
        "PostToConnection",
        {"ConnectionId": "abc=", "ApiId": "a1b2c3", "Stage": "dev"},
        REGION,
        ACCOUNT,
    )
    assert [(a.action, a.resource) for a in accesses(call)] == [
        (
            "execute-api:ManageConnections",
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3/dev/POST/@connections/abc=",
        )
    ]
    # The SDK's own request is recognized as that operation.
    assert call_of(
        "apigatewaymanagementapi", "post_to_connection", ConnectionId="abc=", Data=b"x"
    ).operation == ("PostToConnection")


def test_opensearch_requests_are_es_http_actions_on_the_domain_path() -> None:
    domain = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/search"
    call = ApiCall(
        "opensearch-http",
        "es",
        "HttpRequest",
        {"Method": "GET", "Path": "/images/_search?q=x", "DomainArn": domain},
        REGION,
        ACCOUNT,
    )
    assert [(a.action, a.resource) for a in accesses(call)] == [("es:ESHttpGet", f"{domain}/images/_search")]


def test_put_events_is_authorized_on_each_entrys_bus() -> None:
    entries = [
        {"Source": "app", "DetailType": "t", "Detail": "{}"},
        {"Source": "app", "DetailType": "t", "Detail": "{}", "EventBusName": "orders"},
    ]
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"
    assert mapped("events", "put_events", Entries=entries) == [
        ("events:PutEvents", f"{bus}/default"),
        ("events:PutEvents", f"{bus}/orders"),
    ]


def test_creating_a_schedule_passes_its_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/SchedulerRole"
    target = {"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", "RoleArn": role}
    found = mapped(
        "scheduler",
        "create_schedule",
        Name="nightly",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
    )
    assert found == [
        ("scheduler:CreateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/nightly"),
        ("iam:PassRole", role),
    ]


def test_get_caller_identity_needs_no_permission() -> None:
    assert mapped("sts", "get_caller_identity") == []


STREAM = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"


class EncryptedTopic:
    def encryption_key(self, resource_arn: str) -> str | None:
        return KEY if resource_arn in (TOPIC, QUEUE, STREAM) else None

    def key_arn(self, key_id: str) -> str:
        return key_id


def test_kms_calls_made_on_the_callers_behalf_by_sns_and_sqs() -> None:
    publish = accesses(call_of("sns", "publish", TopicArn=TOPIC, Message="m"), EncryptedTopic())
    assert [(a.action, a.resource) for a in publish] == [
        ("sns:Publish", TOPIC),
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    ]
    assert publish[1].context == {
        "kms:ViaService": f"sns.{REGION}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
    }
    receive = accesses(call_of("sqs", "receive_message", QueueUrl=QUEUE_URL), EncryptedTopic())
    assert [(a.action, a.resource) for a in receive] == [("sqs:ReceiveMessage", QUEUE), ("kms:Decrypt", KEY)]
    plain = accesses(
        call_of("sns", "publish", TopicArn=TOPIC.replace("Upload", "Other"), Message="m"), EncryptedTopic()
    )
    assert [a.action for a in plain] == ["sns:Publish"]


def test_writing_to_an_encrypted_stream_needs_its_key() -> None:
    put = accesses(
        call_of("kinesis", "put_record", StreamName="clicks", Data=b"x", PartitionKey="p"), EncryptedTopic()
    )
    assert [(a.action, a.resource) for a in put] == [
        ("kinesis:PutRecord", STREAM),
        ("kms:GenerateDataKey", KEY),
    ]
    assert put[1].context["kms:ViaService"] == f"kinesis.{REGION}.amazonaws.com"
