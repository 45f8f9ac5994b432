"""Creates a template's data resources in moto and names the rest as CloudFormation would.

Created in moto: DynamoDB tables (with streams, indexes and TTL), S3 buckets (with CORS and
versioning), SNS topics, SQS queues, KMS keys, SSM parameters, Cognito user pools and their app
clients. Everything else (functions, roles, APIs, log groups, ...) gets the physical name, id and
attributes CloudFormation would give it, so references to it resolve, without being created.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.local._assembly import (
    AWS_URL_SUFFIX,
    Physical,
    StackTemplate,
    cfn_text,
    generated_name,
    stable_suffix,
)
from constructs_lib.local._provision_events import (
    event_archive,
    event_bus,
    event_rule,
    kinesis_consumer,
    kinesis_stream,
    schedule,
    schedule_group,
)
from constructs_lib.local._types import function_arn

log = logging.getLogger("constructs_lib.local")

CREATED_IN_MOTO = (
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::SSM::Parameter",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Kinesis::Stream",
    "AWS::Kinesis::StreamConsumer",
    "AWS::Events::EventBus",
    "AWS::Events::Archive",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::Scheduler::Schedule",
)


class MotoProvisioner:
    """The `Provision` callable of a CloudAssembly: creates resources in the moto server at `endpoint_url`."""

    def __init__(self, endpoint_url: str, *, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._clients: dict[str, Any] = {}
        self._creators: dict[str, Callable[[StackTemplate, str, dict[str, Any]], Physical]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::DynamoDB::GlobalTable": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SNS::Topic": self._topic,
            "AWS::SQS::Queue": self._queue,
            "AWS::KMS::Key": self._key,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            # The event sources' resources (_provision_events).
            "AWS::Kinesis::Stream": partial(kinesis_stream, self.client),
            "AWS::Kinesis::StreamConsumer": partial(kinesis_consumer, self.client),
            "AWS::Events::EventBus": partial(event_bus, self.client),
            "AWS::Events::Archive": partial(event_archive, self.client),
            "AWS::Scheduler::ScheduleGroup": partial(schedule_group, self.client),
            "AWS::Scheduler::Schedule": partial(schedule, self.client),
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 -- moto accepts any credentials
                config=Config(account_id_endpoint_mode="disabled"),
            )
        return self._clients[service]

    def __call__(
        self, stack: StackTemplate, logical_id: str, resource_type: str, resource: dict[str, Any]
    ) -> Physical:
        creator = self._creators.get(resource_type)
        if creator is None:
            return named_only(stack, logical_id, resource_type, resource)
        properties = stack.resolve(resource.get("Properties", {}))
        return creator(stack, logical_id, properties)

    def _table(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        name = properties.get("TableName") or generated_name(stack.stack_name, logical_id, max_length=255)
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            # Capacity is not emulated: every table is on demand locally.
            "BillingMode": "PAY_PER_REQUEST",
        }
        if properties.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                for index in properties["GlobalSecondaryIndexes"]
            ]
        if properties.get("LocalSecondaryIndexes"):
            request["LocalSecondaryIndexes"] = [
                {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                for index in properties["LocalSecondaryIndexes"]
            ]
        stream = properties.get("StreamSpecification", {}).get("StreamViewType")
        if stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        attributes = {"Arn": table["TableArn"], "TableId": table.get("TableId", name)}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Physical(name, attributes)

    def _bucket(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        name = properties.get("BucketName") or generated_name(
            stack.stack_name, logical_id, max_length=63, lowercase=True
        )
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        cors = properties.get("CorsConfiguration", {}).get("CorsRules")
        if cors:
            s3.put_bucket_cors(
                Bucket=name, CORSConfiguration={"CORSRules": [_cors_rule(rule) for rule in cors]}
            )
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return Physical(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{self.region}.amazonaws.com",
            },
        )

    def _topic(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        fifo = bool(properties.get("FifoTopic"))
        name = properties.get("TopicName") or generated_name(
            stack.stack_name, logical_id, max_length=251 if fifo else 256
        ) + (".fifo" if fifo else "")
        attributes = {"FifoTopic": "true"} if fifo else {}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return Physical(arn, {"TopicArn": arn, "TopicName": name})

    def _queue(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        fifo = bool(properties.get("FifoQueue"))
        name = properties.get("QueueName") or generated_name(
            stack.stack_name, logical_id, max_length=75 if fifo else 80
        ) + (".fifo" if fifo else "")
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else cfn_text(value)
            for key, value in properties.items()
            if key
            in (
                "DelaySeconds",
                "MaximumMessageSize",
                "MessageRetentionPeriod",
                "ReceiveMessageWaitTimeSeconds",
                "VisibilityTimeout",
                "FifoQueue",
                "ContentBasedDeduplication",
                "RedrivePolicy",
            )
        }
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _key(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        key = self.client("kms").create_key(Description=properties.get("Description", logical_id))[
            "KeyMetadata"
        ]
        return Physical(key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})

    def _parameter(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        name = properties.get("Name") or f"CFN-{logical_id}-{stable_suffix(stack.stack_name, logical_id)}"
        self.client("ssm").put_parameter(Name=name, Value=str(properties["Value"]), Type=properties["Type"])
        return Physical(name, {"Type": properties["Type"], "Value": properties["Value"]})

    def _user_pool(self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]) -> Physical:
        name = properties.get("UserPoolName") or generated_name(stack.stack_name, logical_id, max_length=128)
        request: dict[str, Any] = {"PoolName": name}
        for key in (
            "Policies",
            "UsernameAttributes",
            "AliasAttributes",
            "AutoVerifiedAttributes",
            "MfaConfiguration",
        ):
            if key in properties:
                request[key] = properties[key]
        if "Schema" in properties:
            request["Schema"] = [
                {"AttributeDataType": "String", **attribute} for attribute in properties["Schema"]
            ]
        pool = self.client("cognito-idp").create_user_pool(**request)["UserPool"]
        provider = f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}"
        return Physical(
            pool["Id"],
            {
                "Arn": pool["Arn"],
                "UserPoolId": pool["Id"],
                "ProviderName": provider,
                "ProviderURL": f"https://{provider}",
            },
        )

    def _user_pool_client(
        self, stack: StackTemplate, logical_id: str, properties: dict[str, Any]
    ) -> Physical:
        request = {
            "UserPoolId": properties["UserPoolId"],
            "ClientName": properties.get("ClientName", logical_id),
            "GenerateSecret": bool(properties.get("GenerateSecret", False)),
            "ExplicitAuthFlows": properties.get("ExplicitAuthFlows", []),
        }
        client = self.client("cognito-idp").create_user_pool_client(**request)["UserPoolClient"]
        return Physical(
            client["ClientId"], {"ClientSecret": client.get("ClientSecret", ""), "Name": client["ClientName"]}
        )


def named_only(  # noqa: PLR0911 -- one return per resource type CloudFormation names differently
    stack: StackTemplate, logical_id: str, resource_type: str, resource: dict[str, Any]
) -> Physical:
    """The physical identity CloudFormation would give a resource the runner does not create."""
    properties = resource.get("Properties", {})
    region, account = stack.region, stack.account
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "custom"
    if resource_type == "AWS::Lambda::Function":
        name = stack.resolve(properties.get("FunctionName")) or generated_name(stack.stack_name, logical_id)
        return Physical(name, {"Arn": function_arn(region, account, name)})
    if resource_type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        # Both Ref to the qualified function ARN; the local runner runs the function's only code.
        function = str(stack.resolve(properties["FunctionName"]))
        unqualified = function if function.startswith("arn:") else function_arn(region, account, function)
        qualifier = str(stack.resolve(properties["Name"])) if resource_type == "AWS::Lambda::Alias" else "1"
        arn = f"{unqualified}:{qualifier}"
        return Physical(arn, {"Arn": arn, "AliasArn": arn, "Version": qualifier, "FunctionArn": unqualified})
    if resource_type == "AWS::Events::Rule":
        return event_rule(stack, logical_id, stack.resolve(properties))
    if resource_type == "AWS::IAM::Role":
        name = stack.resolve(properties.get("RoleName")) or generated_name(stack.stack_name, logical_id)
        return Physical(
            name,
            {
                "Arn": f"arn:aws:iam::{account}:role/{name}",
                "RoleId": f"AROA{stable_suffix(stack.stack_name, logical_id)}",
            },
        )
    if resource_type == "AWS::StepFunctions::StateMachine":
        name = stack.resolve(properties.get("StateMachineName")) or generated_name(
            stack.stack_name, logical_id
        )
        arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
        return Physical(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": "INITIAL"})
    if resource_type == "AWS::Logs::LogGroup":
        name = stack.resolve(properties.get("LogGroupName")) or generated_name(stack.stack_name, logical_id)
        return Physical(name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"})
    if resource_type in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
        api_id = stable_suffix(stack.stack_name, logical_id)[:10].lower()
        scheme = "wss" if properties.get("ProtocolType") == "WEBSOCKET" else "https"
        return Physical(
            api_id,
            {
                "RootResourceId": stable_suffix(stack.stack_name, f"{logical_id}/root")[:10].lower(),
                "ApiId": api_id,
                "ApiEndpoint": f"{scheme}://{api_id}.execute-api.{region}.{AWS_URL_SUFFIX}",
            },
        )
    if resource_type in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
        return Physical(str(stack.resolve(properties.get("StageName"))))
    if resource_type == "AWS::ApiGateway::Model":
        return Physical(str(stack.resolve(properties.get("Name") or logical_id)))
    if resource_type == "AWS::OpenSearchService::Domain":
        name = stack.resolve(properties.get("DomainName")) or generated_name(
            stack.stack_name, logical_id, max_length=28, lowercase=True
        ).replace("_", "-")
        suffix = stable_suffix(stack.stack_name, logical_id).lower()
        endpoint = f"search-{name}-{suffix}.{region}.es.{AWS_URL_SUFFIX}"
        arn = f"arn:aws:es:{region}:{account}:domain/{name}"
        return Physical(
            name, {"Arn": arn, "DomainArn": arn, "DomainEndpoint": endpoint, "Id": f"{account}/{name}"}
        )
    identifier = f"{logical_id}-{stable_suffix(stack.stack_name, logical_id)}"
    return Physical(identifier, {"Arn": f"arn:aws:{service}:{region}:{account}:{identifier}"})


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation CorsRule in the S3 API's shape."""
    renamed = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}
    return {renamed.get(key, key): value for key, value in rule.items()}
