"""Event filtering (FilterCriteria): the EventBridge pattern syntax Lambda uses, as a predicate."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "prefix": str.startswith,
    "suffix": str.endswith,
    "equals-ignore-case": lambda value, operand: value.lower() == operand.lower(),
}
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_pattern(pattern: Any) -> Callable[[Any], bool]:
    """A predicate for an event filtering pattern; ValueError for what it cannot evaluate."""
    if isinstance(pattern, Mapping):
        fields = {key: compile_pattern(rule) for key, rule in pattern.items()}
        return lambda value: (
            isinstance(value, Mapping) and all(test(value.get(key, _MISSING)) for key, test in fields.items())
        )
    if isinstance(pattern, list):
        tests = [_compile_rule(rule) for rule in pattern]
        return lambda value: any(
            test(item) for item in (value if isinstance(value, list) else [value]) for test in tests
        )
    raise ValueError(f"{pattern!r} is neither an object nor a list of values")


def _same(value: Any, expected: Any) -> bool:
    # True == 1 in Python, not in a pattern.
    return (
        value is not _MISSING and isinstance(value, bool) == isinstance(expected, bool) and value == expected
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compile_rule(rule: Any) -> Callable[[Any], bool]:
    if not isinstance(rule, Mapping):
        return lambda value: _same(value, rule)
    if len(rule) != 1:
        raise ValueError(f"{rule!r} has more than one operator")
    ((kind, operand),) = rule.items()
    if kind in _STRING_TESTS and isinstance(operand, str):
        test = _STRING_TESTS[kind]
        return lambda value: isinstance(value, str) and test(value, operand)
    if kind == "exists" and isinstance(operand, bool):
        return lambda value: (value is not _MISSING) == operand
    if kind == "anything-but" and not isinstance(operand, Mapping):
        excluded = operand if isinstance(operand, list) else [operand]
        return lambda value: value is not _MISSING and not any(_same(value, item) for item in excluded)
    if kind == "numeric" and isinstance(operand, list) and len(operand) in (2, 4):
        comparisons = list(zip(operand[::2], operand[1::2], strict=True))
        if not all(op in _COMPARISONS and _number(bound) for op, bound in comparisons):
            raise ValueError(f"{rule!r} is not a numeric comparison")
        return lambda value: (
            _number(value) and all(_COMPARISONS[op](value, bound) for op, bound in comparisons)
        )
    raise ValueError(f"operator {kind!r} with {operand!r} is not supported")
