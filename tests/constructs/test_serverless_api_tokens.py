"""ServerlessApi: stage limits and alarm thresholds from tokens (CfnParameters) build without a jsii trace.

A token is judged only when CloudFormation resolves it, so the API skips it at synth; a token
latency_p99_threshold in another unit than milliseconds raises our ValueError (issue #18). Nothing here
synthesizes: the stage's method settings and the alarms show the tokens as they will render.
"""

from __future__ import annotations

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2

from constructs_lib import ApiAlarms, ApiAuthorizers, ApiStage, CustomDomain, ServerlessApi
from tests.cdk import number_token


def _alarm(api: ServerlessApi, construct_id: str) -> cloudwatch.CfnAlarm:
    alarm = api.node.find_child(construct_id).node.default_child
    assert isinstance(alarm, cloudwatch.CfnAlarm)
    return alarm


def test_token_stage_limits_and_alarm_thresholds_build(stack: Stack) -> None:
    api = ServerlessApi(
        stack,
        "Tokens",
        stage=ApiStage(
            throttling_rate_limit=number_token(stack, "Rate"),
            throttling_burst_limit=number_token(stack, "Burst"),
        ),
        alarms=ApiAlarms(
            topic=sns.Topic(stack, "Alarms"),
            server_error_rate_threshold=number_token(stack, "ErrorRate"),
            latency_p99_threshold=Duration.millis(number_token(stack, "LatencyMs")),
        ),
    )
    stage = api.stage.node.default_child
    assert isinstance(stage, apigw.CfnStage)
    settings = stack.resolve(stage.method_settings)
    assert settings[0]["throttlingRateLimit"] == {"Ref": "Rate"}
    assert settings[0]["throttlingBurstLimit"] == {"Ref": "Burst"}
    errors = _alarm(api, "ServerErrorRateAlarm")
    assert stack.resolve(errors.threshold) == {"Ref": "ErrorRate"}
    assert "ErrorRate" in str(stack.resolve(errors.alarm_description))
    latency = _alarm(api, "LatencyP99Alarm")
    assert stack.resolve(latency.threshold) == {"Ref": "LatencyMs"}
    assert "LatencyMs" in str(stack.resolve(latency.alarm_description))


def test_token_latency_threshold_in_another_unit_raises(stack: Stack) -> None:
    with pytest.raises(ValueError) as raised:
        ServerlessApi(
            stack,
            "Seconds",
            alarms=ApiAlarms(
                topic=sns.Topic(stack, "SecondsAlarms"),
                latency_p99_threshold=Duration.seconds(number_token(stack, "LatencySeconds")),
            ),
        )
    assert str(raised.value) == (
        "Test/Seconds: alarms.latency_p99_threshold: comes from a token, which aws-cdk-lib cannot convert at "
        "synth; give it in millis (Duration.millis(...)), the unit CloudFormation takes"
    )


def test_token_strings_and_cache_ttls_are_not_judged(stack: Stack) -> None:
    """Strings and durations from tokens pass the checks their concrete values would fail (a web ACL ARN
    of no region, a domain name and base path of no syntax, an identity source of no kind): the checks
    tell a token from a plain string without asking aws-cdk-lib, and must not mistake one for the other."""
    text = {
        name: CfnParameter(stack, name).value_as_string
        for name in ("Acl", "Domain", "CertificateArn", "Base", "Source")
    }
    api = ServerlessApi(
        stack,
        "Strings",
        stage=ApiStage(
            web_acl_arn=text["Acl"],
            cache_cluster_size="0.5",
            cache_ttl=Duration.seconds(number_token(stack, "CacheSeconds")),
        ),
        custom_domain=CustomDomain(
            domain_name=text["Domain"],
            certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", text["CertificateArn"]),
            base_path=text["Base"],
        ),
        authorizers=ApiAuthorizers(
            request_authorizer=lambda_.Function.from_function_arn(
                stack, "Authorizer", "arn:aws:lambda:us-east-1:111111111111:function:authorize"
            ),
            request_identity_sources=[text["Source"]],
            cache_ttl=Duration.seconds(number_token(stack, "AuthorizerSeconds")),
        ),
    )
    assert api.domain is not None
    association = api.node.find_child("WebAclAssociation")
    assert isinstance(association, wafv2.CfnWebACLAssociation)
    assert stack.resolve(association.web_acl_arn) == {"Ref": "Acl"}


@pytest.mark.parametrize(
    ("stage", "problem"),
    [
        (
            ApiStage(web_acl_arn="arn:aws:wafv2:us-east-1:111111111111:global/webacl/x/1"),
            "stage.web_acl_arn: 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/x/1' is not a regional",
        ),
        (
            ApiStage(throttling_burst_limit=2.5, throttling_rate_limit=1),  # type: ignore[arg-type]
            "stage.throttling_burst_limit: 2.5 is not",
        ),
        (
            ApiStage(cache_cluster_size="0.5", cache_ttl=Duration.millis(1500)),
            "stage.cache_ttl: 1.5 s is not a whole number of seconds",
        ),
    ],
)
def test_plain_values_that_look_nothing_like_tokens_are_judged(
    stack: Stack, stage: ApiStage, problem: str
) -> None:
    """The other side: plain strings and numbers are concrete, and checked."""
    with pytest.raises(ValueError) as raised:
        ServerlessApi(stack, "Plain", stage=stage)
    assert problem in str(raised.value)
