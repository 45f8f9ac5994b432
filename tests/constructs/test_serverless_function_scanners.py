"""ServerlessFunction's scanner acknowledgments, written in one batch per construct, and the Python-side
knowledge (retention days, durations) that spares jsii round trips without changing what is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Validations
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from constructs_lib import ServerlessFunction
from constructs_lib._logs import RETENTION_DAYS, retained_log_group
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
RUNTIME = (
    "Python 3.13 is the library's pinned runtime: the Powertools layer and the locally bundled wheels are "
    "chosen and tested for exactly that version."
)


def _acknowledged(construct: IConstruct) -> list[tuple[str, str]]:
    """The (id, reason) of every acknowledgment on `construct`, in the order they were written."""
    return [
        (rule, reason)
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    ]


def _checkov(construct: IConstruct) -> Any:
    return construct.node.default_child.get_metadata("checkov")  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def function() -> ServerlessFunction:
    return ServerlessFunction(
        new_stack(new_app()), "Fn", entry=ECHO, log_retention=logs.RetentionDays.ONE_MONTH
    )


def test_the_function_is_acknowledged_in_the_order_of_its_findings(function: ServerlessFunction) -> None:
    ids = [rule for rule, _ in _acknowledged(function.function)]
    assert ids == [
        "AwsSolutions::AwsSolutions-L1",
        "Serverless::Serverless-LambdaLatestVersion",
        "Serverless::Serverless-LambdaDLQ",
        "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        "HIPAA.Security::HIPAA.Security-LambdaDLQ",
        "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
        "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
        "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
        "cdk-validator-cfnguard::lambda_inside_vpc_check",
        "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
        "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
    ]
    assert _acknowledged(function.function)[:2] == [
        ("AwsSolutions::AwsSolutions-L1", RUNTIME),
        ("Serverless::Serverless-LambdaLatestVersion", RUNTIME),
    ]
    assert [skip["id"] for skip in _checkov(function.function)["skip"]] == [
        "CKV_AWS_116",
        "CKV_AWS_117",
        "CKV_AWS_115",
        "CKV_AWS_173",
    ]


def test_role_and_policy_keep_their_own_acknowledgments(function: ServerlessFunction) -> None:
    assert [rule for rule, _ in _acknowledged(function.role)] == [
        "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
        "HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy",
        "PCI.DSS.321::PCI.DSS.321-IAMNoInlinePolicy",
    ]
    assert [rule for rule, _ in _acknowledged(function.role.node.find_child("DefaultPolicy"))] == [
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
    ]


def test_a_short_retention_names_the_function_that_chose_it(function: ServerlessFunction) -> None:
    assert _acknowledged(function.log_group)[-1] == (
        "cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check",
        "Kept 30 days: the retention its owner chose for Test/Fn (a development stage, say); the library's "
        "default keeps logs one year.",
    )
    assert [skip["id"] for skip in _checkov(function.log_group)["skip"]] == ["CKV_AWS_158"]


def test_retention_days_are_aws_cdk_libs() -> None:
    """The table the library reads a retention's days from, against what aws-cdk-lib writes."""
    stack = new_stack(new_app())
    written = {
        retention: logs.LogGroup(
            stack, retention.name, retention=retention
        ).node.default_child.retention_in_days  # type: ignore[union-attr]
        for retention in logs.RetentionDays
    }
    assert written == RETENTION_DAYS


def test_a_log_group_reads_its_owners_path_when_not_given() -> None:
    owner = Construct(new_stack(new_app()), "Owner")
    group = retained_log_group(owner, "Logs", retention=logs.RetentionDays.ONE_WEEK)
    assert _acknowledged(group)[-1][1].startswith(
        "Kept 7 days: the retention its owner chose for Test/Owner "
    )
    kept = retained_log_group(owner, "Kept", retention=logs.RetentionDays.ONE_YEAR)
    assert [rule for rule, _ in _acknowledged(kept)][-1] == (
        "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check"
    )


def test_a_duration_given_twice_is_judged_each_time() -> None:
    """The milliseconds of a checked duration are kept (no second jsii round trip), not its verdict."""
    stack = new_stack(new_app())
    timeout = Duration.millis(1500)
    for name in ("First", "Second"):
        with pytest.raises(
            ValueError, match=rf"Test/{name}: timeout: 1500 ms is not a whole number of seconds"
        ):
            ServerlessFunction(stack, name, entry=ECHO, timeout=timeout)
