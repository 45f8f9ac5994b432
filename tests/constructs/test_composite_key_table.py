"""CompositeKeyTable: the library's DynamoDB table with indexes, streams and safe stream consumers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import StreamConsumer
from constructs_lib._nag import acknowledge
from constructs_lib.composite_key_table import (
    AutoscaledCapacity,
    CompositeKeyTable,
    GlobalIndex,
    LocalIndex,
)
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
STRING = dynamodb.AttributeType.STRING
NUMBER = dynamodb.AttributeType.NUMBER
BINARY = dynamodb.AttributeType.BINARY
REPLICA_KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
TABLE = "AWS::DynamoDB::GlobalTable"
MAPPING = "AWS::Lambda::EventSourceMapping"
ALARM = "AWS::CloudWatch::Alarm"


def _key(name: str, type_: dynamodb.AttributeType = STRING) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=type_)


def _build_images(stack: Stack) -> dict[str, Any]:
    """The reference app's images table: groupId + timestamp, a GSI on imageId, a stream consumer."""
    images = CompositeKeyTable(
        stack,
        "Images",
        partition_key=_key("groupId"),
        sort_key=_key("timestamp"),
        global_indexes=[GlobalIndex("imageId-index", _key("imageId"))],
        stream=True,
    )
    reader = ServerlessFunction(stack, "Reader", entry=ECHO)
    images.grant_read_data(reader.function)
    notifier = ServerlessFunction(stack, "Notifier", entry=ECHO)
    consumer = images.add_stream_consumer(notifier.function, event_names=["INSERT", "MODIFY"])
    return {"table": images, "consumer": consumer}


def _build_full(stack: Stack) -> dict[str, Any]:
    """A table using every option."""
    key = kms.Key(stack, "TableKey", enable_key_rotation=True)
    topic_key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    topic = sns.Topic(stack, "Alarms", master_key=topic_key, enforce_ssl=True)
    table = CompositeKeyTable(
        stack,
        "Orders",
        table_name="orders",
        partition_key=_key("pk"),
        sort_key=_key("sk"),
        global_indexes=[
            GlobalIndex(
                "by-customer",
                _key("customerId"),
                sort_key=_key("createdAt", NUMBER),
                projection=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=["total", "currency"],
                read_capacity=AutoscaledCapacity(
                    min_capacity=2, max_capacity=20, target_utilization_percent=50
                ),
                write_capacity=AutoscaledCapacity(min_capacity=3, max_capacity=30),
            ),
            GlobalIndex(
                "by-checksum", _key("checksum", BINARY), projection=dynamodb.ProjectionType.KEYS_ONLY
            ),
        ],
        local_indexes=[LocalIndex("by-status", _key("status"), projection=dynamodb.ProjectionType.KEYS_ONLY)],
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        time_to_live_attribute="expiresAt",
        billing_mode=dynamodb.BillingMode.PROVISIONED,
        read_capacity=AutoscaledCapacity(min_capacity=5, max_capacity=50, target_utilization_percent=60),
        write_capacity=AutoscaledCapacity(min_capacity=4, max_capacity=40),
        encryption_key=key,
        replica_regions=["us-west-2"],
        replica_key_arns={"us-west-2": REPLICA_KEY_ARN},
        contributor_insights=True,
        table_class=dynamodb.TableClass.STANDARD_INFREQUENT_ACCESS,
        alarms=True,
        alarm_topic=topic,
        iterator_age_threshold=Duration.minutes(5),
    )
    writer = ServerlessFunction(stack, "Writer", entry=ECHO)
    table.grant_write_data(writer.function)
    table.grant_read_write_data(writer.role)
    auditor = ServerlessFunction(stack, "Auditor", entry=ECHO)
    shared_queue = sqs.Queue(
        stack,
        "SharedFailures",
        encryption=sqs.QueueEncryption.KMS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),  # explicit, as cfn-lint's I3013 asks
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(shared_queue, rule, "Test queue: it is the on-failure destination of a stream consumer.")
    created = table.add_stream_consumer(
        auditor.function,
        batch_size=25,
        max_batching_window=Duration.seconds(30),
        retry_attempts=3,
        max_record_age=Duration.hours(1),
        parallelization_factor=4,
        consumer_id="Audit",
    )
    archiver = ServerlessFunction(stack, "Archiver", entry=ECHO)
    passed = table.add_stream_consumer(
        archiver.function, event_names=["REMOVE"], on_failure_queue=shared_queue, consumer_id="Archive"
    )
    return {"table": table, "created": created, "passed": passed, "queue": shared_queue}


def _build_relaxed(stack: Stack) -> CompositeKeyTable:
    """Every safety default switched off, to show each switch works."""
    table = CompositeKeyTable(
        stack,
        "Scratch",
        partition_key=_key("id"),
        stream=dynamodb.StreamViewType.KEYS_ONLY,
        removal_policy=RemovalPolicy.DESTROY,
        point_in_time_recovery=False,
        deletion_protection=False,
        disposable_data_reason="A scratch table for this test; nothing in it outlives the run.",
    )
    table.add_stream_consumer(ServerlessFunction(stack, "Cleaner", entry=ECHO).function)
    return table


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    CompositeKeyTable(new_stack(app, "Defaults"), "Table", partition_key=_key("id"))
    images = _build_images(new_stack(app, "Images"))
    full = _build_full(new_stack(app, "Full"))
    relaxed = _build_relaxed(new_stack(app, "Relaxed"))
    shared = CompositeKeyTable(
        new_stack(app, "Data"), "Events", partition_key=_key("id"), stream=True, alarms=True
    )
    shared.add_stream_consumer(
        ServerlessFunction(new_stack(app, "Consumers"), "Indexer", entry=ECHO).function
    )
    return {"templates": synth_templates(app), "images": images, "full": full, "relaxed": relaxed}


@pytest.fixture(scope="module")
def images(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Images"])


@pytest.fixture(scope="module")
def relaxed(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Relaxed"])


def _only(template: Template, type_: str) -> dict[str, Any]:
    (resource,) = template.find_resources(type_).values()
    return dict(resource)


# Defaults: one call with only a partition key.


def test_default_table_is_a_global_table_billed_on_demand(defaults: Template) -> None:
    defaults.resource_count_is(TABLE, 1)
    defaults.has_resource_properties(
        TABLE,
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        },
    )


def test_default_table_recovers_to_any_second_and_resists_deletion(defaults: Template) -> None:
    (replica,) = _only(defaults, TABLE)["Properties"]["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True
    assert replica["TableClass"] == "STANDARD"
    assert "ContributorInsightsSpecification" not in replica


def test_default_table_outlives_the_stack(defaults: Template) -> None:
    table = _only(defaults, TABLE)
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_default_table_is_encrypted_with_an_aws_owned_key(defaults: Template) -> None:
    # SSEEnabled false is DynamoDB's spelling of "AWS-owned key": tables are always encrypted at rest.
    defaults.has_resource_properties(TABLE, {"SSESpecification": {"SSEEnabled": False}})
    defaults.resource_count_is("AWS::KMS::Key", 0)


def test_default_table_has_no_stream_ttl_indexes_or_alarms(defaults: Template) -> None:
    props = _only(defaults, TABLE)["Properties"]
    for absent in ("StreamSpecification", "TimeToLiveSpecification", "GlobalSecondaryIndexes", "TableName"):
        assert absent not in props
    defaults.resource_count_is(ALARM, 0)


def test_attributes_expose_the_table(built: dict[str, Any]) -> None:
    images = built["images"]["table"]
    assert isinstance(images.table, dynamodb.TableV2)
    assert images.table_name == images.table.table_name
    assert images.table_arn == images.table.table_arn
    assert images.table_stream_arn == images.table.table_stream_arn
    assert images.encryption_key is None
    assert images.stream_view_type == dynamodb.StreamViewType.NEW_AND_OLD_IMAGES
    assert (images.throttle_alarm, images.system_errors_alarm) == (None, None)
    assert built["relaxed"].table_stream_arn is not None


def test_table_without_stream_has_no_stream_arn(streamed: dict[str, Any]) -> None:
    assert streamed["without"].table_stream_arn is None
    assert streamed["without"].stream_view_type is None


# The reference app's images table.


def test_images_table_keys_and_imageid_index(images: Template) -> None:
    images.has_resource_properties(
        TABLE,
        {
            "KeySchema": [
                {"AttributeName": "groupId", "KeyType": "HASH"},
                {"AttributeName": "timestamp", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "groupId", "AttributeType": "S"},
                {"AttributeName": "timestamp", "AttributeType": "S"},
                {"AttributeName": "imageId", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "imageId-index",
                    "KeySchema": [{"AttributeName": "imageId", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )


def test_stream_true_means_new_and_old_images(images: Template) -> None:
    images.has_resource_properties(TABLE, {"StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}})


def test_stream_consumer_loses_nothing(images: Template) -> None:
    images.resource_count_is(MAPPING, 1)
    images.has_resource_properties(
        MAPPING,
        {
            "StartingPosition": "TRIM_HORIZON",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 10,
            "MaximumRecordAgeInSeconds": 6 * 3600,
            "BatchSize": 100,
            "ParallelizationFactor": 1,
            "MaximumBatchingWindowInSeconds": Match.absent(),
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}},
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^ImagesTable"), "StreamArn"]},
        },
    )


def test_stream_consumer_filters_event_names(images: Template) -> None:
    images.has_resource_properties(
        MAPPING, {"FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["INSERT","MODIFY"]}'}]}}
    )


def test_created_failure_queue_is_encrypted_tls_only_kept_14_days_and_retained(images: Template) -> None:
    queue = _only(images, "AWS::SQS::Queue")
    assert queue["Properties"] == {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}
    assert queue["DeletionPolicy"] == "Retain"
    images.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                    )
                ]
            }
        },
    )


def test_consumer_reads_the_stream_and_sends_failures_only(images: Template) -> None:
    policies = images.find_resources("AWS::IAM::Policy")
    (notifier,) = [p for name, p in policies.items() if name.startswith("Notifier")]
    statements = notifier["Properties"]["PolicyDocument"]["Statement"]
    by_service = {s["Action"][0].split(":")[0]: s for s in statements}
    assert sorted(by_service["dynamodb"]["Action"]) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ]
    assert by_service["dynamodb"]["Resource"]["Fn::GetAtt"][1] == "StreamArn"
    assert by_service["sqs"]["Action"] == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]


def test_read_grant_covers_the_indexes(images: Template) -> None:
    policies = images.find_resources("AWS::IAM::Policy")
    (reader,) = [p for name, p in policies.items() if name.startswith("Reader")]
    (statement,) = [
        s for s in reader["Properties"]["PolicyDocument"]["Statement"] if "dynamodb:Query" in s["Action"]
    ]
    assert "dynamodb:PutItem" not in statement["Action"]
    # Each index by name: no wildcard, nothing to acknowledge in any stack.
    assert statement["Resource"][1]["Fn::Join"][1][1] == "/index/imageId-index"


def test_stream_consumer_result(built: dict[str, Any]) -> None:
    consumer = built["images"]["consumer"]
    assert isinstance(consumer, StreamConsumer)
    assert isinstance(consumer.dead_letter_queue, sqs.Queue)
    assert consumer.event_source.event_source_mapping_id
    assert built["images"]["table"].stream_consumers == [consumer]


# Every option.


def test_table_name_ttl_and_table_class(full: Template) -> None:
    full.has_resource_properties(
        TABLE,
        {
            "TableName": "orders",
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "Replicas": Match.array_with(
                [Match.object_like({"Region": "us-east-1", "TableClass": "STANDARD_INFREQUENT_ACCESS"})]
            ),
        },
    )


def test_provisioned_billing_autoscales_reads_and_writes(full: Template) -> None:
    props = _only(full, TABLE)["Properties"]
    assert props["BillingMode"] == "PROVISIONED"
    assert props["WriteProvisionedThroughputSettings"] == {
        "WriteCapacityAutoScalingSettings": {
            "MinCapacity": 4,
            "MaxCapacity": 40,
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70},
        }
    }
    for replica in props["Replicas"]:
        assert replica["ReadProvisionedThroughputSettings"] == {
            "ReadCapacityAutoScalingSettings": {
                "MinCapacity": 5,
                "MaxCapacity": 50,
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 60},
            }
        }


def test_global_index_capacity_overrides_and_inheritance(full: Template) -> None:
    props = _only(full, TABLE)["Properties"]
    customer, checksum = props["GlobalSecondaryIndexes"]
    assert (
        customer["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]["MaxCapacity"]
        == 30
    )
    assert (
        checksum["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]["MaxCapacity"]
        == 40
    )
    replica_indexes = {index["IndexName"]: index for index in props["Replicas"][0]["GlobalSecondaryIndexes"]}
    assert replica_indexes["by-customer"]["ReadProvisionedThroughputSettings"] == {
        "ReadCapacityAutoScalingSettings": {
            "MinCapacity": 2,
            "MaxCapacity": 20,
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50},
        }
    }
    assert (
        replica_indexes["by-checksum"]["ReadProvisionedThroughputSettings"][
            "ReadCapacityAutoScalingSettings"
        ]["MaxCapacity"]
        == 50
    )


def test_index_projections_and_key_types(full: Template) -> None:
    props = _only(full, TABLE)["Properties"]
    customer, checksum = props["GlobalSecondaryIndexes"]
    assert customer["KeySchema"] == [
        {"AttributeName": "customerId", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]
    assert customer["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "currency"]}
    assert checksum["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert {"AttributeName": "checksum", "AttributeType": "B"} in props["AttributeDefinitions"]
    assert props["LocalSecondaryIndexes"] == [
        {
            "IndexName": "by-status",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "status", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ]


def test_customer_managed_key_encrypts_every_replica(full: Template) -> None:
    props = _only(full, TABLE)["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    keys = {replica["Region"]: replica["SSESpecification"]["KMSMasterKeyId"] for replica in props["Replicas"]}
    assert keys["us-west-2"] == REPLICA_KEY_ARN
    assert keys["us-east-1"]["Fn::GetAtt"][0].startswith("TableKey")


def test_replica_region_keeps_the_safety_settings(full: Template) -> None:
    replicas = {r["Region"]: r for r in _only(full, TABLE)["Properties"]["Replicas"]}
    assert set(replicas) == {"us-east-1", "us-west-2"}
    west = replicas["us-west-2"]
    assert west["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert west["DeletionProtectionEnabled"] is True


def test_contributor_insights_on_table_and_indexes(full: Template) -> None:
    for replica in _only(full, TABLE)["Properties"]["Replicas"]:
        assert replica["ContributorInsightsSpecification"] == {"Enabled": True}
        for index in replica["GlobalSecondaryIndexes"]:
            assert index["ContributorInsightsSpecification"] == {"Enabled": True}


def test_alarms_notify_the_topic(full: Template) -> None:
    # Throttles, system errors, two iterator ages, and dead letters of the one created queue.
    full.resource_count_is(ALARM, 5)
    full.all_resources_properties(
        ALARM,
        {
            "AlarmActions": [{"Ref": Match.string_like_regexp("^Alarms")}],
            "TreatMissingData": "notBreaching",
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_throttle_alarm_counts_read_and_write_throttles(full: Template) -> None:
    full.has_resource_properties(
        ALARM,
        {
            "Threshold": 1,
            "Metrics": Match.array_with(
                [
                    Match.object_like({"Expression": "reads + writes"}),
                    Match.object_like(
                        {
                            "MetricStat": Match.object_like(
                                {"Metric": Match.object_like({"MetricName": "ReadThrottleEvents"})}
                            )
                        }
                    ),
                ]
            ),
        },
    )


def test_system_errors_alarm_stays_within_the_10_metric_limit(full: Template) -> None:
    (alarm,) = [
        a
        for a in full.find_resources(ALARM).values()
        if any("SystemErrors" in str(m.get("MetricStat")) for m in a["Properties"].get("Metrics", []))
    ]
    metrics = [m for m in alarm["Properties"]["Metrics"] if "MetricStat" in m]
    assert len(metrics) == 10


def test_iterator_age_alarm_uses_the_threshold(full: Template) -> None:
    full.resource_properties_count_is(
        ALARM, {"MetricName": "IteratorAge", "Statistic": "Maximum", "Threshold": 300_000}, 2
    )


def test_dead_letter_alarm_only_for_created_queues(built: dict[str, Any], full: Template) -> None:
    full.resource_properties_count_is(ALARM, {"MetricName": "ApproximateNumberOfMessagesVisible"}, 1)
    assert built["full"]["created"].dead_letter_alarm is not None
    assert built["full"]["passed"].dead_letter_alarm is None
    assert built["full"]["passed"].iterator_age_alarm is not None


def test_consumer_options(full: Template) -> None:
    full.has_resource_properties(
        MAPPING,
        {
            "BatchSize": 25,
            "MaximumBatchingWindowInSeconds": 30,
            "MaximumRetryAttempts": 3,
            "MaximumRecordAgeInSeconds": 3600,
            "ParallelizationFactor": 4,
            "FilterCriteria": Match.absent(),
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {"Fn::GetAtt": [Match.string_like_regexp("^OrdersAudit"), "Arn"]}
                }
            },
        },
    )


def test_consumer_with_a_passed_queue_creates_none(built: dict[str, Any], full: Template) -> None:
    assert built["full"]["passed"].dead_letter_queue is built["full"]["queue"]
    full.resource_count_is("AWS::SQS::Queue", 2)  # the shared one and the Audit consumer's
    full.has_resource_properties(
        MAPPING,
        {
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["REMOVE"]}'}]},
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {"Fn::GetAtt": [Match.string_like_regexp("^SharedFailures"), "Arn"]}
                }
            },
        },
    )


def test_write_grants_encrypt_with_the_table_key(full: Template) -> None:
    policies = full.find_resources("AWS::IAM::Policy")
    (writer,) = [p for name, p in policies.items() if name.startswith("Writer")]
    (kms_statement,) = [
        s for s in writer["Properties"]["PolicyDocument"]["Statement"] if "kms:Encrypt" in s["Action"]
    ]
    assert kms_statement["Resource"]["Fn::GetAtt"][0].startswith("TableKey")


# Every safety default switched off.


def test_removal_policy_and_safety_switches(relaxed: Template) -> None:
    table = _only(relaxed, TABLE)
    assert table["DeletionPolicy"] == "Delete"
    (replica,) = table["Properties"]["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}
    assert replica["DeletionProtectionEnabled"] is False
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}
    assert _only(relaxed, "AWS::SQS::Queue")["DeletionPolicy"] == "Delete"


def test_consumer_without_event_names_gets_every_record(relaxed: Template) -> None:
    relaxed.has_resource_properties(MAPPING, {"FilterCriteria": Match.absent()})


def test_consumer_in_another_stack_keeps_its_queue_and_alarm_beside_it(
    templates: dict[str, dict[str, Any]],
) -> None:
    # In the table's stack they would reference the function while the function references the stream.
    data, consumers = Template.from_json(templates["Data"]), Template.from_json(templates["Consumers"])
    data.resource_count_is("AWS::SQS::Queue", 0)
    consumers.resource_count_is("AWS::SQS::Queue", 1)
    consumers.resource_properties_count_is(ALARM, {"MetricName": "IteratorAge"}, 1)
    consumers.resource_count_is(MAPPING, 1)


# Gates.


@pytest.mark.parametrize("stack", ["Defaults", "Images", "Full", "Relaxed", "Data", "Consumers"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_snapshot_of_every_feature(
    templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion
) -> None:
    assert normalized(templates["Full"]) == snapshot_json


def test_snapshot_of_the_images_table(
    templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion
) -> None:
    assert normalized(templates["Images"]) == snapshot_json


# Bad input: every problem is a ValueError naming the construct path, the prop and the fix.


@pytest.fixture(scope="module")
def bad_stack() -> Stack:
    return new_stack(new_app(), "Test")


def _gsis(count: int) -> list[GlobalIndex]:
    return [GlobalIndex(f"index-{i}", _key(f"attr{i}")) for i in range(count)]


def _lsis(count: int) -> list[LocalIndex]:
    return [LocalIndex(f"local-{i}", _key(f"attr{i}")) for i in range(count)]


SORTED = {"sort_key": _key("sk")}
PROVISIONED = {
    "billing_mode": dynamodb.BillingMode.PROVISIONED,
    "read_capacity": AutoscaledCapacity(max_capacity=10),
    "write_capacity": AutoscaledCapacity(max_capacity=10),
}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        pytest.param(
            {"table_name": "a b"},
            "Test/Bad: table_name: 'a b' must be 3-255 characters of A-Z, a-z, 0-9, '_', '-' and '.'",
            id="table-name",
        ),
        pytest.param(
            {"partition_key": _key("")},
            "Test/Bad: partition_key.name: '' must be 1-255 bytes long",
            id="key-name",
        ),
        pytest.param(
            {"global_indexes": [GlobalIndex("ix", _key("a"))]},
            "global_indexes[0].name: 'ix' must be 3-255 characters",
            id="index-name",
        ),
        pytest.param(
            {**SORTED, "global_indexes": _gsis(1), "local_indexes": [LocalIndex("index-0", _key("b"))]},
            "local_indexes[0].name: 'index-0' is already the name of global_indexes[0]; "
            "index names must be unique",
            id="duplicate-index-name",
        ),
        pytest.param(
            {
                "global_indexes": [
                    GlobalIndex(
                        "by-a", _key("a"), projection=dynamodb.ProjectionType.INCLUDE, non_key_attributes=[""]
                    )
                ]
            },
            "global_indexes[0].non_key_attributes: '' must be 1-255 bytes long",
            id="non-key-attribute-name",
        ),
        pytest.param(
            {"global_indexes": _gsis(21)},
            "global_indexes: 21 indexes exceed DynamoDB's 20 per table; overload fewer indexes",
            id="too-many-gsis",
        ),
        pytest.param(
            {**SORTED, "local_indexes": _lsis(6)},
            "local_indexes: 6 indexes exceed DynamoDB's 5 per table; use global indexes for the rest",
            id="too-many-lsis",
        ),
        pytest.param(
            {"local_indexes": _lsis(1)},
            "local_indexes: a local index needs a table with a sort_key; add sort_key or use a global index",
            id="lsi-without-sort-key",
        ),
        pytest.param(
            {"global_indexes": [GlobalIndex("by-a", _key("a"), projection=dynamodb.ProjectionType.INCLUDE)]},
            "global_indexes[0].non_key_attributes: "
            "an INCLUDE projection needs at least one non-key attribute",
            id="include-without-attributes",
        ),
        pytest.param(
            {"global_indexes": [GlobalIndex("by-a", _key("a"), non_key_attributes=["b"])]},
            "global_indexes[0].non_key_attributes: only apply to ProjectionType.INCLUDE, not ALL",
            id="attributes-without-include",
        ),
        pytest.param(
            {
                "global_indexes": [
                    GlobalIndex(
                        f"by-{i}",
                        _key("a"),
                        projection=dynamodb.ProjectionType.INCLUDE,
                        non_key_attributes=[f"n{j}" for j in range(30)],
                    )
                    for i in range(4)
                ]
            },
            "non_key_attributes: 120 projected attributes over all indexes exceed DynamoDB's 100",
            id="too-many-projected",
        ),
        pytest.param(
            {**SORTED, "global_indexes": [GlobalIndex("by-sk", _key("sk", NUMBER))]},
            "global_indexes[0].partition_key.type: attribute 'sk' is NUMBER here but STRING in sort_key; "
            "an attribute has one type",
            id="two-types",
        ),
        pytest.param(
            {"billing_mode": dynamodb.BillingMode.PROVISIONED},
            "2 invalid props:\n  - read_capacity: provisioned billing needs it; pass AutoscaledCapacity",
            id="provisioned-without-capacity",
        ),
        pytest.param(
            {"read_capacity": AutoscaledCapacity(max_capacity=5)},
            "read_capacity: applies only to provisioned billing; set billing_mode=BillingMode.PROVISIONED",
            id="capacity-on-demand",
        ),
        pytest.param(
            {**PROVISIONED, "write_capacity": AutoscaledCapacity(min_capacity=20, max_capacity=10)},
            "write_capacity.min_capacity: 20 is above max_capacity 10; lower it or raise max_capacity",
            id="min-above-max",
        ),
        pytest.param(
            {**PROVISIONED, "read_capacity": AutoscaledCapacity(min_capacity=0, max_capacity=10)},
            "read_capacity.min_capacity: must be at least 1",
            id="min-below-one",
        ),
        pytest.param(
            {
                **PROVISIONED,
                "global_indexes": [
                    GlobalIndex(
                        "by-a",
                        _key("a"),
                        read_capacity=AutoscaledCapacity(max_capacity=10, target_utilization_percent=95),
                    )
                ],
            },
            "global_indexes[0].read_capacity.target_utilization_percent: 95 is outside the 20-90 %",
            id="target-utilization",
        ),
        pytest.param(
            {**SORTED, "time_to_live_attribute": "sk"},
            "time_to_live_attribute: 'sk' is a key attribute (sort_key); use a separate number attribute",
            id="ttl-is-key",
        ),
        pytest.param(
            {"time_to_live_attribute": ""}, "time_to_live_attribute: must be 1-255 bytes long", id="ttl-name"
        ),
        pytest.param(
            {"replica_regions": ["us-east-1"]},
            "replica_regions: 'us-east-1' is the stack's own region, where the primary table lives; "
            "remove it",
            id="replica-in-own-region",
        ),
        pytest.param(
            {"replica_regions": ["eu-west-1", "eu-west-1"]},
            "replica_regions: lists a region twice; list each replica region once",
            id="replica-twice",
        ),
        pytest.param(
            {"replica_regions": ["eu-west-1"], "stream": dynamodb.StreamViewType.NEW_IMAGE},
            "stream: global tables replicate through a NEW_AND_OLD_IMAGES stream",
            id="replica-stream-view",
        ),
        pytest.param(
            {"replica_key_arns": {"eu-west-1": REPLICA_KEY_ARN}},
            "replica_key_arns: apply only with encryption_key; pass encryption_key or remove them",
            id="replica-keys-without-key",
        ),
        pytest.param(
            {"alarm_topic": "topic"},
            "alarm_topic: is the action of the table's alarms; set alarms=True or remove it",
            id="topic-without-alarms",
        ),
        pytest.param(
            {"iterator_age_threshold": Duration.seconds(10)},
            "iterator_age_threshold: must be at least 1 minute",
            id="iterator-age-threshold",
        ),
    ],
)
def test_invalid_props_raise(bad_stack: Stack, props: dict[str, Any], message: str) -> None:
    if props.get("alarm_topic") == "topic":
        props = {**props, "alarm_topic": sns.Topic.from_topic_arn(bad_stack, "Topic", REPLICA_KEY_ARN)}
    with pytest.raises(ValueError, match=_literal(message)):
        CompositeKeyTable(bad_stack, "Bad", **{"partition_key": _key("pk"), **props})


def test_customer_key_needs_a_key_for_every_replica(bad_stack: Stack) -> None:
    key = kms.Key.from_key_arn(bad_stack, "Key", REPLICA_KEY_ARN)
    with pytest.raises(
        ValueError, match=_literal("replica_key_arns: a customer-managed key needs a key ARN for")
    ):
        CompositeKeyTable(
            bad_stack, "Bad", partition_key=_key("pk"), encryption_key=key, replica_regions=["eu-west-1"]
        )


def test_replicas_need_a_stack_region() -> None:
    stack = Stack(new_app(), "Agnostic")
    with pytest.raises(ValueError, match=_literal("replica_regions: need a stack with an explicit region")):
        CompositeKeyTable(stack, "Bad", partition_key=_key("pk"), replica_regions=["eu-west-1"])


def test_every_problem_is_reported_at_once(bad_stack: Stack) -> None:
    with pytest.raises(
        ValueError, match=r"Test/Bad: 3 invalid props:\n  - table_name: .*\n  - local_indexes"
    ):
        CompositeKeyTable(
            bad_stack,
            "Bad",
            partition_key=_key("pk"),
            table_name="x",
            local_indexes=_lsis(1),
            time_to_live_attribute="pk",
        )


@pytest.fixture(scope="module")
def streamed(bad_stack: Stack) -> dict[str, Any]:
    return {
        "with": CompositeKeyTable(bad_stack, "Streamed", partition_key=_key("pk"), stream=True),
        "without": CompositeKeyTable(bad_stack, "Plain", partition_key=_key("pk")),
        "function": ServerlessFunction(bad_stack, "Consumer", entry=ECHO).function,
    }


def test_consumer_on_a_table_without_stream_raises(streamed: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError,
        match=_literal("Test/Plain: add_stream_consumer.function: the table has no stream; pass stream="),
    ):
        streamed["without"].add_stream_consumer(streamed["function"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"batch_size": 0}, "add_stream_consumer.batch_size: 0 is outside 1-1000", id="batch-size"
        ),
        pytest.param(
            {"max_batching_window": Duration.minutes(6)},
            "add_stream_consumer.max_batching_window: Lambda waits at most 5 minutes",
            id="batching-window",
        ),
        pytest.param(
            {"retry_attempts": -1},
            "add_stream_consumer.retry_attempts: -1 is outside 0-10000; bounded retries",
            id="retries",
        ),
        pytest.param(
            {"max_record_age": Duration.hours(25)},
            "add_stream_consumer.max_record_age: must be between 1 minute and 24 hours",
            id="record-age",
        ),
        pytest.param(
            {"event_names": ["INSERT", "UPSERT"]},
            "add_stream_consumer.event_names: ['INSERT', 'UPSERT'] "
            "must be distinct values of INSERT, MODIFY, REMOVE",
            id="event-names",
        ),
        pytest.param(
            {"event_names": []},
            "add_stream_consumer.event_names: [] must be distinct values",
            id="no-event-names",
        ),
        pytest.param(
            {"parallelization_factor": 11},
            "add_stream_consumer.parallelization_factor: 11 is outside 1-10",
            id="parallelization",
        ),
    ],
)
def test_invalid_consumer_options_raise(
    streamed: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=_literal(f"Test/Streamed: {message}")):
        streamed["with"].add_stream_consumer(streamed["function"], **options)


def _literal(message: str) -> str:
    return re.escape(message)


def test_grant_gives_exactly_the_named_actions_on_the_table_not_its_indexes() -> None:
    stack = new_stack(new_app(), "Exact")
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=_key("id"),
        global_indexes=[GlobalIndex("by-name", _key("name"))],
    )
    writer = ServerlessFunction(stack, "Writer", entry=ECHO)
    table.grant(writer.function, "dynamodb:PutItem", "dynamodb:DeleteItem")
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (writer_policy,) = [policy for name, policy in policies.items() if name.startswith("Writer")]
    statements = writer_policy["Properties"]["PolicyDocument"]["Statement"]
    (statement,) = [s for s in statements if "dynamodb" in str(s["Action"])]
    assert sorted(statement["Action"]) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    assert statement["Resource"]["Fn::GetAtt"][1] == "Arn"  # the table only: no index, no wildcard
