"""CompositeKeyTable: replica settings aws-cdk-lib or CloudFormation would refuse fail at synth (issue #18).

Nothing here synthesizes: each case builds into a fresh stack of one shared App.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms

from constructs_lib import CompositeKeyTable
from tests.cdk import TEST_ENV, new_app

_ids = count()
KEY_IN = "arn:aws:kms:{region}:111111111111:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"replica_regions": ["eu-west"]},
            "replica_regions: 'eu-west' is not a region name like eu-west-1; list concrete region names",
        ),
        (
            {
                "replica_regions": ["eu-west-1"],
                "replica_key_arns": {
                    "eu-west-1": KEY_IN.format(region="eu-west-1"),
                    "us-east-1": KEY_IN.format(region="us-east-1"),
                },
                "encryption_key": True,
            },
            "replica_key_arns: 'us-east-1' is not one of replica_regions (it is the stack's region: "
            "encryption_key encrypts the table there); remove it",
        ),
        (
            {
                "replica_regions": ["eu-west-1"],
                "replica_key_arns": {"eu-west-1": KEY_IN.format(region="eu-central-1")},
                "encryption_key": True,
            },
            "replica_key_arns: the key for 'eu-west-1' is in eu-central-1; a replica is encrypted with a key "
            "of its own region",
        ),
    ],
    ids=["not-a-region", "key-for-the-stack-region", "key-in-another-region"],
)
def test_replica_settings_that_would_fail_raise(app: App, props: dict[str, Any], message: str) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    if props.pop("encryption_key", False):
        props["encryption_key"] = kms.Key(stack, "Key")
    with pytest.raises(ValueError, match=re.escape(f"{stack.node.path}/Bad: {message}")):
        CompositeKeyTable(
            stack,
            "Bad",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            **props,
        )
