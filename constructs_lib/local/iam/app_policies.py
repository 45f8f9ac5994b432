"""Reads the app's policies from its synthesized templates into an `Authorizer`.

Identity: each ``AWS::IAM::Role`` with its inline ``Policies``, the ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy`` resources attached to it, the AWS managed policies in
`AWS_MANAGED_POLICIES`, its tags and its trust policy. Resources: bucket, topic and queue policies,
key policies, Lambda permissions, OpenSearch domain access policies; and which topics, queues and
buckets encrypt with a customer managed key (`AppResources`, for KMS calls made on a caller's behalf).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from constructs_lib.local._types import TemplateView
from constructs_lib.local.iam.authorizer import Authorizer, Role
from constructs_lib.local.iam.policy import parse_policy

log = logging.getLogger("constructs_lib.local.iam")

_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# The AWS managed policies a Lambda app commonly attaches, as AWS publishes them (their default versions).
AWS_MANAGED_POLICIES: Mapping[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [{"Effect": "Allow", "Action": _LOGS, "Resource": "*"}],
    "service-role/AWSLambdaVPCAccessExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                *_LOGS,
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": "*",
        }
    ],
    "service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
            "Resource": "*",
        }
    ],
    "service-role/AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                *_LOGS,
            ],
            "Resource": "*",
        }
    ],
    "AWSXRayDaemonWriteAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
}


def load(authorizer: Authorizer, stacks: Iterable[TemplateView]) -> AppResources:
    """Add every role and resource policy of `stacks` to `authorizer`; return the resources' facts."""
    stacks = list(stacks)
    resources = AppResources(authorizer.region, authorizer.account)
    managed: dict[str, tuple[str, list[Any]]] = {}  # customer managed policy ARN -> (name, statements)
    for stack in stacks:
        for logical_id, resource in stack.resources_of_type("AWS::IAM::ManagedPolicy").items():
            properties = stack.resolve(resource.get("Properties", {}))
            arn = str(stack.ref(logical_id))
            managed[arn] = (
                f"{stack.stack_name}/{logical_id}",
                parse_policy(properties["PolicyDocument"], logical_id),
            )
    for stack in stacks:
        for logical_id, resource in stack.resources_of_type("AWS::IAM::Role").items():
            authorizer.add_role(_role(stack, logical_id, resource, managed))
    for stack in stacks:
        _attach_policies(authorizer, stack, managed)
        _resource_policies(authorizer, stack, resources)
    return resources


def _role(
    stack: TemplateView, logical_id: str, resource: Mapping[str, Any], managed: Mapping[str, Any]
) -> Role:
    properties = stack.resolve(resource.get("Properties", {}))
    arn = str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))
    role = Role(arn=arn, name=arn.rsplit("/", 1)[-1])
    role.tags = {str(tag["Key"]): str(tag["Value"]) for tag in properties.get("Tags", [])}
    role.trust = parse_policy(properties.get("AssumeRolePolicyDocument", {}), f"{role.name} trust policy")
    for policy in properties.get("Policies", []):
        role.statements.extend(parse_policy(policy["PolicyDocument"], f"{role.name}/{policy['PolicyName']}"))
    for policy_arn in properties.get("ManagedPolicyArns", []):
        _add_managed(role, str(policy_arn), managed)
    return role


def _add_managed(role: Role, policy_arn: str, managed: Mapping[str, Any]) -> None:
    if policy_arn in managed:
        role.statements.extend(managed[policy_arn][1])
        return
    name = policy_arn.split(":policy/", 1)[-1]
    if policy_arn.startswith("arn:aws:iam::aws:policy/") and name in AWS_MANAGED_POLICIES:
        role.statements.extend(parse_policy({"Statement": AWS_MANAGED_POLICIES[name]}, f"{role.name}/{name}"))
        return
    role.unknown_policies.append(policy_arn)
    log.warning(
        "IAM: role %s has managed policy %s, unknown locally: it grants nothing here", role.name, policy_arn
    )


def _attach_policies(authorizer: Authorizer, stack: TemplateView, managed: Mapping[str, Any]) -> None:
    by_name = {role.name: role for role in authorizer.roles.values()}
    for logical_id, resource in stack.resources_of_type("AWS::IAM::Policy").items():
        properties = stack.resolve(resource.get("Properties", {}))
        for role_name in properties.get("Roles", []):
            role = by_name.get(str(role_name).rsplit("/", 1)[-1])
            if role is not None:
                label = f"{role.name}/{properties.get('PolicyName', logical_id)}"
                role.statements.extend(parse_policy(properties["PolicyDocument"], label))
    for logical_id, resource in stack.resources_of_type("AWS::IAM::ManagedPolicy").items():
        properties = stack.resolve(resource.get("Properties", {}))
        for role_name in properties.get("Roles", []):
            role = by_name.get(str(role_name).rsplit("/", 1)[-1])
            if role is not None:
                _add_managed(role, str(stack.ref(logical_id)), managed)


def _resource_policies(  # noqa: PLR0912 -- one block per resource policy type
    authorizer: Authorizer, stack: TemplateView, resources: AppResources
) -> None:
    for resource in stack.resources_of_type("AWS::S3::BucketPolicy").values():
        properties = stack.resolve(resource.get("Properties", {}))
        bucket = str(properties["Bucket"])
        authorizer.add_bucket_policy(
            bucket, parse_policy(properties["PolicyDocument"], f"{bucket} bucket policy")
        )
    for resource in stack.resources_of_type("AWS::SNS::TopicPolicy").values():
        properties = stack.resolve(resource.get("Properties", {}))
        for topic in properties.get("Topics", []):
            label = f"{str(topic).rsplit(':', 1)[-1]} topic policy"
            authorizer.add_resource_policy(str(topic), parse_policy(properties["PolicyDocument"], label))
    for resource in stack.resources_of_type("AWS::SQS::QueuePolicy").values():
        properties = stack.resolve(resource.get("Properties", {}))
        for queue_url in properties.get("Queues", []):
            arn = resources.queue_arn(str(queue_url))
            label = f"{arn.rsplit(':', 1)[-1]} queue policy"
            authorizer.add_resource_policy(arn, parse_policy(properties["PolicyDocument"], label))
    for logical_id, resource in stack.resources_of_type("AWS::KMS::Key").items():
        properties = stack.resolve(resource.get("Properties", {}))
        arn = str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))
        default = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{authorizer.account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ]
        }
        policy = properties.get("KeyPolicy") or default
        authorizer.add_resource_policy(arn, parse_policy(policy, f"{logical_id} key policy"))
        resources.key_ids[str(stack.ref(logical_id))] = arn
    for logical_id, resource in stack.resources_of_type("AWS::Lambda::Permission").items():
        properties = stack.resolve(resource.get("Properties", {}))
        function = str(properties["FunctionName"])
        arn = (
            function
            if function.startswith("arn:")
            else f"arn:aws:lambda:{authorizer.region}:{authorizer.account}:function:{function}"
        )
        authorizer.add_resource_policy(
            arn.rsplit(":", 1)[0] if arn.count(":") == 7 else arn, [_permission(logical_id, arn, properties)]
        )
    for logical_id, resource in stack.resources_of_type("AWS::OpenSearchService::Domain").items():
        properties = stack.resolve(resource.get("Properties", {}))
        if properties.get("AccessPolicies"):
            arn = str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))
            authorizer.add_resource_policy(
                arn, parse_policy(properties["AccessPolicies"], f"{logical_id} access policy")
            )
    for logical_id, resource in stack.resources_of_type("AWS::SNS::Topic", "AWS::SQS::Queue").items():
        properties = stack.resolve(resource.get("Properties", {}))
        if properties.get("KmsMasterKeyId") and not str(properties["KmsMasterKeyId"]).startswith(
            "alias/aws/"
        ):
            attribute = "TopicArn" if resource["Type"] == "AWS::SNS::Topic" else "Arn"
            resources.keys[str(stack.resolve({"Fn::GetAtt": [logical_id, attribute]}))] = str(
                properties["KmsMasterKeyId"]
            )
    for logical_id, resource in stack.resources_of_type("AWS::Kinesis::Stream").items():
        encryption = stack.resolve(resource.get("Properties", {})).get("StreamEncryption", {})
        key = str(encryption.get("KeyId", ""))
        if encryption.get("EncryptionType") == "KMS" and key and not key.startswith("alias/aws/"):
            resources.keys[str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))] = key
    for logical_id, resource in stack.resources_of_type("AWS::S3::Bucket").items():
        properties = stack.resolve(resource.get("Properties", {}))
        for rule in properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get("KMSMasterKeyID"):
                resources.keys[f"arn:aws:s3:::{stack.ref(logical_id)}"] = str(default["KMSMasterKeyID"])


def _permission(logical_id: str, function_arn: str, properties: Mapping[str, Any]) -> Any:
    """A Lambda permission as the statement Lambda adds to the function's resource policy."""
    principal = str(properties["Principal"])
    condition: dict[str, dict[str, str]] = {}
    if properties.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": str(properties["SourceArn"])}
    if properties.get("SourceAccount"):
        condition["StringEquals"] = {"AWS:SourceAccount": str(properties["SourceAccount"])}
    if principal.endswith(".amazonaws.com"):
        principals: dict[str, str] = {"Service": principal}
    else:
        principals = {"AWS": principal if principal != "*" else "*"}
    statement = {
        "Sid": logical_id,
        "Effect": "Allow",
        "Principal": principals,
        "Action": str(properties["Action"]),
        "Resource": function_arn,
        "Condition": condition,
    }
    name = function_arn.split(":function:", 1)[-1]
    return parse_policy({"Statement": [statement]}, f"{name} resource policy")[0]


class AppResources:
    """The `ResourceFacts` of the app: customer managed keys of topics, queues and buckets."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account
        self.keys: dict[str, str] = {}  # resource ARN -> its key (id, alias or ARN as the template says)
        self.key_ids: dict[str, str] = {}  # key id -> key ARN

    def queue_arn(self, queue_url: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{queue_url.rstrip('/').rsplit('/', 1)[-1]}"

    def encryption_key(self, resource_arn: str) -> str | None:
        return self.keys.get(resource_arn)

    def key_arn(self, key_id: str) -> str:
        if key_id.startswith("arn:"):
            return key_id
        return self.key_ids.get(key_id, f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}")
