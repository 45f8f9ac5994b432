"""The one rule for a Lambda function's unqualified ARN or name (local runner, Step Functions, redrive)."""

from __future__ import annotations

import pytest

from constructs_lib.runtime.function_arns import unqualified, unqualified_arn

ARN = "arn:aws:lambda:us-east-1:111111111111:function:orders"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (ARN, ARN),  # already unqualified
        (f"{ARN}:live", ARN),  # an alias
        (f"{ARN}:$LATEST", ARN),
        (f"{ARN}:7", ARN),  # a version
        (
            "arn:aws-cn:lambda:cn-north-1:111111111111:function:orders:live",
            "arn:aws-cn:lambda:cn-north-1:111111111111:function:orders",
        ),
        ("orders", "orders"),  # a name
        ("orders:live", "orders"),
        ("orders:$LATEST", "orders"),
        # A partial ARN, which Lambda accepts as FunctionName too.
        ("111111111111:function:orders", "111111111111:function:orders"),
        ("111111111111:function:orders:live", "111111111111:function:orders"),
        ("111111111111:function:orders:$LATEST", "111111111111:function:orders"),
        ("111111111111:function:orders:7", "111111111111:function:orders"),
    ],
)
def test_unqualified_drops_only_the_qualifier(given: str, expected: str) -> None:
    assert unqualified(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "orders",
        "orders:live",
        "111111111111:function:orders",
        "111111111111:function:orders:7",
        ARN,
        f"{ARN}:live",
    ],
)
def test_unqualified_arn_of_every_form_lambda_accepts(given: str) -> None:
    assert unqualified_arn(given, region="us-east-1", account="111111111111") == ARN


def test_unqualified_arn_keeps_the_account_a_partial_arn_names() -> None:
    assert unqualified_arn(
        "222222222222:function:orders:live", region="us-east-1", account="111111111111"
    ) == ("arn:aws:lambda:us-east-1:222222222222:function:orders")
