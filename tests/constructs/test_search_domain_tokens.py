"""SearchDomain and its indexers with durations and numbers from tokens (CfnParameters) build without a
jsii trace.

data_nodes, volume_size_gib and an indexer's options are judged only when CloudFormation resolves them,
so the domain skips them at synth; availability_zones and master_nodes shape the domain at synth, so a
token there raises our ValueError (issue #18). One synth checks the tokens reach the template.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match, Template

from constructs_lib import CompositeKeyTable, SearchDomain, SearchDomainSize
from tests.cdk import number_token

PRODUCTION = SearchDomainSize.production()


def test_token_zones_and_masters_raise(stack: Stack) -> None:
    size = PRODUCTION.with_(
        availability_zones=number_token(stack, "Zones"), master_nodes=number_token(stack, "Masters")
    )
    with pytest.raises(ValueError) as raised:
        SearchDomain(stack, "Shape", cognito_domain_prefix="images-shape", size=size)
    problem = (
        "comes from a token (a CfnParameter), but it decides the domain's zone awareness and dedicated "
        "masters at synth; give a number"
    )
    assert str(raised.value) == (
        "Test/Shape: 2 invalid props:\n"
        f"  - size.availability_zones: {problem}\n"
        f"  - size.master_nodes: {problem}"
    )


def test_token_durations_and_numbers_build(stack: Stack) -> None:
    size = PRODUCTION.with_(
        data_nodes=number_token(stack, "DataNodes"), volume_size_gib=number_token(stack, "Volume")
    )
    domain = SearchDomain(stack, "Search", cognito_domain_prefix="images-search", size=size)
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    domain.index_table(
        table,
        index_name="images",
        id_attribute="pk",
        batch_size=number_token(stack, "BatchSize"),
        max_batching_window=Duration.seconds(number_token(stack, "Window")),
        timeout=Duration.seconds(number_token(stack, "Timeout")),
    )
    # One synth (last in this module): the tokens reach the template as references to their parameters.
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "ClusterConfig": Match.object_like({"InstanceCount": {"Ref": "DataNodes"}}),
            "EBSOptions": Match.object_like({"VolumeSize": {"Ref": "Volume"}}),
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": {"Ref": "BatchSize"}, "MaximumBatchingWindowInSeconds": {"Ref": "Window"}},
    )
    template.has_resource_properties("AWS::Lambda::Function", {"Timeout": {"Ref": "Timeout"}})
