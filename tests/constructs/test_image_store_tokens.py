"""ImageStore with durations from tokens (CfnParameters) builds without a jsii trace.

A token is judged only when CloudFormation resolves it, so the store skips it at synth; a token
duration in another unit than the one its handlers or S3 take raises our ValueError (issue #18). One
synth checks the retentions reach the lifecycle rules as references.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from constructs_lib import ImageStore
from constructs_lib.runtime import environment as env
from tests.cdk import TOKEN_UNIT, number_token


def test_token_durations_in_another_unit_raise(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        ImageStore(
            stack,
            "Units",
            upload_url_ttl=Duration.minutes(number_token(stack, "UploadMinutes")),
            access_log_retention=Duration.hours(number_token(stack, "LogHours")),
        )
    assert str(raised.value) == (
        "Test/Units: 2 invalid props:\n"
        f"  - upload_url_ttl: {TOKEN_UNIT.format('seconds')}\n"
        f"  - access_log_retention: {TOKEN_UNIT.format('days')}"
    )


def test_token_durations_build(stack: Stack) -> None:
    store = ImageStore(
        stack,
        "Images",
        upload_url_ttl=Duration.seconds(number_token(stack, "UploadTtl")),
        download_url_ttl=Duration.seconds(number_token(stack, "DownloadTtl")),
        noncurrent_version_retention=Duration.days(number_token(stack, "VersionDays")),
        access_log_retention=Duration.days(number_token(stack, "LogDays")),
    )
    assert stack.resolve(store.runtime_environment[env.IMAGE_STORE_UPLOAD_URL_TTL]) == {"Ref": "UploadTtl"}
    assert stack.resolve(store.runtime_environment[env.IMAGE_STORE_DOWNLOAD_URL_TTL]) == {
        "Ref": "DownloadTtl"
    }
    store.grant_presign(iam.Role(stack, "Signer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    # One synth (last in this module): the retentions reach the lifecycle rules as references.
    template = Template.from_stack(stack)
    for rule in (
        {"Id": "ExpireAccessLogs", "ExpirationInDays": {"Ref": "LogDays"}},
        {"NoncurrentVersionExpiration": {"NoncurrentDays": {"Ref": "VersionDays"}}},
    ):
        template.has_resource_properties(
            "AWS::S3::Bucket",
            {"LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like(rule)])}},
        )
