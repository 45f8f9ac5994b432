"""The one rule for a Lambda function's unqualified ARN or name (local runner, Step Functions, redrive)."""

from __future__ import annotations

import pytest

from constructs_lib.runtime.function_arns import unqualified

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
    ],
)
def test_unqualified_drops_only_the_qualifier(given: str, expected: str) -> None:
    assert unqualified(given) == expected
