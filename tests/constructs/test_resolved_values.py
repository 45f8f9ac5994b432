"""constructs_lib._resolved: `is_unresolved` answers what `Token.is_unresolved` would, in Python for the
values props usually are (None, booleans, strings and numbers) and through aws-cdk-lib for the rest."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack, Token

from constructs_lib._resolved import is_unresolved


def test_is_unresolved_agrees_with_aws_cdk_lib(stack: Stack) -> None:
    text = CfnParameter(stack, "Text").value_as_string
    number = CfnParameter(stack, "Number", type="Number").value_as_number
    items = CfnParameter(stack, "Items", type="CommaDelimitedList").value_as_list
    cases: list[Any] = [
        None,
        True,
        False,
        0,
        -1,
        100,
        0.01,
        2**70,
        "plain",
        "",
        text,
        f"arn:aws:wafv2:{text}:111111111111:regional/webacl/x/1",
        number,
        items,
        ["plain"],
        Token.as_any(text),
        Duration.seconds(5),
    ]
    for value in cases:
        assert is_unresolved(value) is Token.is_unresolved(value), repr(value)
    assert is_unresolved(text) and is_unresolved(number) and is_unresolved(items)


@pytest.mark.parametrize("value", [None, True, 0, 200, 0.5, "method.request.header.Authorization"])
def test_plain_values_never_reach_jsii(value: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """None, booleans, numbers and strings without a token marker are answered in Python."""

    def refuse(_value: Any) -> bool:
        raise AssertionError(f"asked aws-cdk-lib about {value!r}")

    monkeypatch.setattr(Token, "is_unresolved", staticmethod(refuse))
    assert not is_unresolved(value)
