"""constructs_lib._resolved answers what aws-cdk-lib would, without asking it: each answer is compared
with aws-cdk-lib's own (Token.is_unresolved, Duration.to_milliseconds, to_human_string)."""

from __future__ import annotations

import pytest
from aws_cdk import CfnParameter, Duration, Stack, Token

from constructs_lib import _resolved


def test_strings(stack: Stack) -> None:
    token = CfnParameter(stack, "Name").value_as_string
    cases = [
        "plain",
        "",
        "Token[",
        "${Token[",
        "${Token[TOKEN.1]}",
        "${Token[]}",
        "${Token[A B]}",
        "${Token[A:b.c_d-1]}",
        "x${Token[A]}y",
        "${Token[\u0663]}",  # an Arabic-Indic digit: JavaScript's \d and aws-cdk-lib's key chars are ASCII
        "Token[ -1.1234567890e+289",
        "Token[ -1.123456789e+289",
        "Token[ -1.\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660e+289",
        "-1.1234567890e+289",
        token,
        f"prefix-{token}",
        Token.as_string(Token.as_number(token)),
    ]
    for value in cases:
        assert _resolved.is_unresolved_str(value) is Token.is_unresolved(value), value
    assert _resolved.is_unresolved_str(token)
    assert not _resolved.is_unresolved_str("plain")


def test_numbers(stack: Stack) -> None:
    token = CfnParameter(stack, "Count", type="Number").value_as_number
    cases = [0, 1, -1, 10, 2**48, 1.5, -1e300, 1e308, token, token + 0.0, True]
    for value in cases:
        assert _resolved.is_unresolved_number(value) is Token.is_unresolved(value), value
    assert _resolved.is_unresolved_number(token)
    assert not _resolved.is_unresolved_number(100)
    # Beyond what jsii can pass (JSON has no infinity): no token either.
    assert not _resolved.is_unresolved_number(float("inf"))
    assert not _resolved.is_unresolved_number(10**400)


@pytest.mark.parametrize(
    ("make", "amount"),
    [
        (_resolved.seconds, 0),
        (_resolved.seconds, 1),
        (_resolved.seconds, 3661),
        (_resolved.minutes, 1),
        (_resolved.minutes, 15),
        (_resolved.minutes, 90),
        (_resolved.hours, 1),
        (_resolved.hours, 24),
        (_resolved.hours, 25),
        (_resolved.days, 2),
        (_resolved.days, 400),
    ],
)
def test_known_durations(make: object, amount: int) -> None:
    duration = make(amount)  # type: ignore[operator]
    assert _resolved.known_milliseconds(duration) == duration.to_milliseconds()
    assert _resolved.to_milliseconds(duration) == duration.to_milliseconds()
    assert _resolved.to_seconds(duration) == duration.to_seconds()
    assert _resolved.to_human_string(duration) == duration.to_human_string()
    assert _resolved.is_unresolved_duration(duration) is False


def test_other_durations_are_asked(stack: Stack) -> None:
    token = Duration.seconds(CfnParameter(stack, "Age", type="Number").value_as_number)
    assert _resolved.known_milliseconds(token) is None
    assert _resolved.is_unresolved_duration(token)
    assert _resolved.to_human_string(token) == "<token> seconds"
    concrete = Duration.millis(1500)
    assert _resolved.known_milliseconds(concrete) is None
    assert not _resolved.is_unresolved_duration(concrete)
    assert _resolved.to_milliseconds(concrete) == 1500


def test_other_durations_are_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    duration = Duration.seconds(42)
    asked: list[str] = []
    for method in ("to_milliseconds", "to_seconds", "is_unresolved"):
        original = getattr(Duration, method)

        def counted(self: Duration, _original: object = original, _method: str = method) -> object:
            asked.append(_method)
            return _original(self)  # type: ignore[operator]

        monkeypatch.setattr(Duration, method, counted)
    for _ in range(3):
        assert _resolved.to_milliseconds(duration) == 42_000
        assert _resolved.to_seconds(duration) == 42
        assert _resolved.is_unresolved_duration(duration) is False
    assert asked == ["to_milliseconds", "to_seconds", "is_unresolved"]
