"""Session-wide settings: no AWS access, fake credentials for moto, fast synths."""

from __future__ import annotations

import os

import pytest
from moto.core.config import default_user_config
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

# Tests never reach AWS: moto answers, with these fake credentials.
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # botocore 1.44.4+ puts the account id in DynamoDB endpoints, which moto's stream mock rejects.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_PROFILE", None)
# moto starts every mock with a new default boto3 session, and each new session re-reads
# botocore's JSON models (~0.15 s per test). Every client of this session is created after moto
# registered its request hook, so one session serves all tests and stays mocked.
default_user_config["core"]["reset_boto3_session"] = False


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots as sorted, indented JSON files: one per test, readable in a pull-request diff."""
    return snapshot.use_extension(JSONSnapshotExtension)
