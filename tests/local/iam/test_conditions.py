"""Condition operators and keys the library's policies use, and IAM's rules for absent keys and sets."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.local.iam.conditions import UnsupportedConditionError, conditions_hold

ACCOUNT = "111111111111"
BUCKET = "arn:aws:s3:::images"


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, True),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": "true"}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),  # absent key: the operator fails
        ({"BoolIfExists": {"aws:SecureTransport": "false"}}, {}, True),  # ...unless IfExists
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": ACCOUNT}, True),
        (
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            {"aws:sourceaccount": ACCOUNT},
            True,
        ),  # keys: any case
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": "222222222222"}, False),
        ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": "222222222222"}, True),
        # absent key: a negated operator holds (IAM: "the right key is not present, the condition is true")
        ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {}, True),
        ({"ArnNotLike": {"aws:SourceArn": BUCKET}}, {}, True),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}, {}, False),  # ...but not ForAnyValue
        ({"StringLike": {"aws:PrincipalTag/team": "ima*"}}, {"aws:PrincipalTag/team": "images"}, True),
        ({"ArnLike": {"aws:SourceArn": BUCKET}}, {"aws:SourceArn": BUCKET}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::ima*"}}, {"aws:SourceArn": BUCKET}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:topic"}}, {"aws:SourceArn": BUCKET}, False),
        (
            {"ArnEquals": {"aws:SourceArn": [BUCKET, "arn:aws:s3:::b"]}},
            {"aws:SourceArn": "arn:aws:s3:::b"},
            True,
        ),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {"s3:TlsVersion": "1.0"}, True),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {"s3:TlsVersion": "1.3"}, False),
        (
            {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}},
            {"kms:ViaService": "sns.us-east-1.amazonaws.com"},
            True,
        ),
        ({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, {"kms:CallerAccount": ACCOUNT}, True),
        (
            {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}},
            {"cognito-identity.amazonaws.com:amr": ["authenticated", "cognito-idp"]},
            True,
        ),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a", "c"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),  # an empty set: vacuously
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {}, False),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2026-12-06T07:00:00Z"},
            True,
        ),
        ({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"}, True),
        # Two operators, two keys: all must hold.
        (
            {"ArnLike": {"aws:SourceArn": BUCKET}, "StringEquals": {"aws:SourceAccount": ACCOUNT}},
            {"aws:SourceArn": BUCKET},
            False,
        ),
    ],
)
def test_condition(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    assert conditions_hold(condition, context) is holds


def test_an_unknown_operator_is_reported_not_guessed() -> None:
    with pytest.raises(UnsupportedConditionError, match="StringSounds"):
        conditions_hold({"StringSounds": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": ACCOUNT})
