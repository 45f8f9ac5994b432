"""The API calls whose IAM authorization is not ``<prefix>:<Operation>`` on the ARN its parameters name.

Every exception to the Service Authorization Reference's one-action-per-operation rule lives here,
each with a test in tests/local/iam/test_special_cases.py:

- S3: ``ListObjects(V2)`` is ``s3:ListBucket`` (and ``ListObjectVersions`` ``s3:ListBucketVersions``)
  on the bucket; ``HeadObject`` is ``s3:GetObject``, ``HeadBucket`` ``s3:ListBucket``; multipart
  uploads are ``s3:PutObject``; ``CopyObject`` needs ``s3:GetObject`` on the source too;
  ``DeleteObjects`` is ``s3:DeleteObject`` on each key; ``ListBuckets`` is ``s3:ListAllMyBuckets``.
- DynamoDB Streams: ``GetRecords`` is authorized on the stream its shard iterator names.
- DynamoDB: ``Query`` and ``Scan`` with ``IndexName`` are authorized on the index's ARN, not the
  table's; batch calls on every table they name; transactions as their item actions.
- ``*Batch`` operations (``SendMessageBatch``, ``DeleteMessageBatch``, ``PublishBatch``, ...) are
  their single-message action.
- Lambda ``Invoke`` is ``lambda:InvokeFunction``.
- ``apigatewaymanagementapi`` is ``execute-api:ManageConnections`` on
  ``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/@connections/<id>``.
- OpenSearch: ``es:ESHttp<Method>`` on the domain ARN followed by the request's path.
- EventBridge ``PutEvents``: ``events:PutEvents`` on each entry's event bus.
- Scheduler ``CreateSchedule`` / ``UpdateSchedule``: ``iam:PassRole`` on the target's role too.
- STS ``GetCallerIdentity`` needs no permission.
- KMS on the caller's behalf (`on_behalf`): publishing to an SNS topic, sending to or receiving from
  an SQS queue, writing to a Kinesis stream, or writing and reading S3 objects encrypted with a
  customer managed key also needs ``kms:GenerateDataKey`` / ``kms:Decrypt`` on the key for the
  caller, with ``kms:ViaService``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from constructs_lib.local.iam.calls import Access, ApiCall, ResourceFacts
from constructs_lib.local.iam.reference import action_details, iam_prefix

ResourcesOf = Callable[[ApiCall, str], list[str]]

_S3_RENAMED = {
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "HeadObject": "s3:GetObject",
    "HeadBucket": "s3:ListBucket",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "ListParts": "s3:ListMultipartUploadParts",
}
_TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
_NO_AUTHORIZATION = {("sts", "GetCallerIdentity")}


def accesses(call: ApiCall, facts: ResourceFacts, resources_of: ResourcesOf) -> list[Access] | None:  # noqa: PLR0911 -- one return per special case
    """The authorizations of a call that is a special case, or None for one the reference describes."""

    region, account, params = call.region, call.account, call.params
    if (call.signing_name, call.operation) in _NO_AUTHORIZATION:
        return []
    if call.service == "s3":
        return _s3(call, resources_of)
    if call.service == "dynamodb":
        return _dynamodb(call)
    if call.service == "dynamodbstreams" and call.operation == "GetRecords":
        # A shard iterator starts with its stream's ARN: "arn:aws:dynamodb:...:table/T/stream/L|1|...".
        return [Access("dynamodb:GetRecords", str(params.get("ShardIterator", "*")).split("|", 1)[0])]
    if call.service == "apigatewaymanagementapi":
        method = {"PostToConnection": "POST", "GetConnection": "GET", "DeleteConnection": "DELETE"}
        arn = (
            f"arn:aws:execute-api:{region}:{account}:{params.get('ApiId', '*')}/{params.get('Stage', '*')}/"
            f"{method.get(call.operation, 'POST')}/@connections/{params.get('ConnectionId', '*')}"
        )
        return [Access("execute-api:ManageConnections", arn)]
    if call.service == "opensearch-http":
        path = urlsplit(str(params["Path"])).path
        action = f"es:ESHttp{str(params['Method']).capitalize()}"
        return [Access(action, f"{params['DomainArn']}{path.rstrip('/') or ''}")]
    if call.service == "lambda" and call.operation in ("Invoke", "InvokeAsync"):
        return [Access("lambda:InvokeFunction", arn) for arn in _function_arns(call)]
    if call.service == "events" and call.operation == "PutEvents":
        buses = sorted(
            {_bus_arn(entry.get("EventBusName"), region, account) for entry in params.get("Entries", [])}
        )
        return [Access("events:PutEvents", bus) for bus in buses or [_bus_arn(None, region, account)]]
    prefix = iam_prefix(call.signing_name)
    if call.operation.endswith("Batch") and action_details(prefix, call.operation) is None:
        single = call.operation.removesuffix("Batch")
        if action_details(prefix, single) is not None:
            action = f"{prefix}:{action_details(prefix, single)['name']}"  # type: ignore[index]
            return [Access(action, resource) for resource in resources_of(call, action)]
    if call.service == "scheduler" and call.operation in ("CreateSchedule", "UpdateSchedule"):
        found = [
            Access(f"scheduler:{call.operation}", r)
            for r in resources_of(call, f"scheduler:{call.operation}")
        ]
        role = params.get("Target", {}).get("RoleArn")
        return [*found, Access("iam:PassRole", role)] if role else found
    return None


def _s3(call: ApiCall, resources_of: ResourcesOf) -> list[Access] | None:

    params = call.params
    bucket = f"arn:aws:s3:::{params.get('Bucket', '')}"
    if call.operation in ("ListObjects", "ListObjectsV2", "ListObjectVersions", "HeadBucket"):
        prefix = {"s3:prefix": str(params["Prefix"])} if params.get("Prefix") is not None else {}
        return [Access(_S3_RENAMED[call.operation], bucket, prefix)]
    if call.operation == "ListBuckets":
        return [Access("s3:ListAllMyBuckets", "*")]
    if call.operation in _S3_RENAMED:
        return [Access(_S3_RENAMED[call.operation], f"{bucket}/{params.get('Key', '')}")]
    if call.operation == "CopyObject":
        source = unquote(str(params.get("CopySource", ""))).lstrip("/").split("?", 1)[0]
        return [
            Access("s3:PutObject", f"{bucket}/{params.get('Key', '')}"),
            Access("s3:GetObject", f"arn:aws:s3:::{source}"),
        ]
    if call.operation == "DeleteObjects":
        keys = [item.get("Key", "") for item in params.get("Delete", {}).get("Objects", [])]
        return [Access("s3:DeleteObject", f"{bucket}/{key}") for key in keys]
    return None


def _dynamodb(call: ApiCall) -> list[Access] | None:

    params, base = call.params, f"arn:aws:dynamodb:{call.region}:{call.account}:table/"

    def table(name: str) -> str:
        return name if name.startswith("arn:") else f"{base}{name}"

    if call.operation in ("Query", "Scan") and params.get("IndexName"):
        return [
            Access(f"dynamodb:{call.operation}", f"{table(params['TableName'])}/index/{params['IndexName']}")
        ]
    if call.operation in ("BatchGetItem", "BatchWriteItem"):
        return [Access(f"dynamodb:{call.operation}", table(name)) for name in params.get("RequestItems", {})]
    if call.operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                found.append(Access(_TRANSACTION_ITEMS[kind], table(request["TableName"])))
        return found
    return None


def _function_arns(call: ApiCall) -> list[str]:
    name = str(call.params.get("FunctionName", ""))
    if name.startswith("arn:"):
        return [name]
    qualifier = call.params.get("Qualifier")
    arn = f"arn:aws:lambda:{call.region}:{call.account}:function:{name}"
    return [f"{arn}:{qualifier}" if qualifier and ":" not in name else arn]


def _bus_arn(name: Any, region: str, account: str) -> str:
    bus = str(name or "default")
    return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"


# KMS calls a service makes with the caller's credentials: (service, action) -> KMS actions.
_KMS_ON_BEHALF: Mapping[tuple[str, str], Sequence[str]] = {
    ("sns", "sns:Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "sqs:SendMessage"): ("kms:GenerateDataKey",),
    ("sqs", "sqs:ReceiveMessage"): ("kms:Decrypt",),
    ("s3", "s3:PutObject"): ("kms:GenerateDataKey",),
    ("s3", "s3:GetObject"): ("kms:Decrypt",),
    ("kinesis", "kinesis:PutRecord"): ("kms:GenerateDataKey",),
    ("kinesis", "kinesis:PutRecords"): ("kms:GenerateDataKey",),
}


def on_behalf(call: ApiCall, found: Sequence[Access], facts: ResourceFacts) -> list[Access]:
    """The KMS authorizations the called service needs from the caller for these accesses."""

    extra: list[Access] = []
    for access in found:
        kms_actions = _KMS_ON_BEHALF.get((call.signing_name, access.action), ())
        if not kms_actions:
            continue
        resource = access.resource.split("/", 1)[0] if call.signing_name == "s3" else access.resource
        key = facts.encryption_key(resource)
        if key is None:
            continue
        via = f"{call.signing_name}.{call.region}.amazonaws.com"
        context = {"kms:ViaService": via, "kms:CallerAccount": call.account}
        extra.extend(Access(action, facts.key_arn(key), context, via_service=via) for action in kms_actions)
    return extra
