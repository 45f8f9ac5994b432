"""EventBridge event patterns: validate them and match events against them. No CDK import.

Shared by the constructs (synth-time validation: every problem becomes one PropErrors line), the
local runner's EventBridge rules, and Lambda's event filtering (FilterCriteria), which uses the
same syntax. The rules are EventBridge's ("Event patterns", "Content filtering"):

- A pattern is a non-empty JSON object; each key holds a nested object or a non-empty array.
- An array lists literal values (strings, numbers, booleans, null) and content filters, each an
  object with exactly one operator: ``prefix``, ``suffix`` (a string, or ``{"equals-ignore-case":
  ...}``), ``equals-ignore-case``, ``anything-but`` (a value, a list of values, or an object with
  ``prefix``, ``suffix``, ``equals-ignore-case`` or ``wildcard``), ``numeric`` (one or two
  comparisons, one lower bound and one upper bound at most), ``exists`` (a boolean), ``cidr`` (an
  IP network) and ``wildcard`` (``*`` for any characters, ``\\*`` for a star).
- ``$or`` at any level takes a list of at least two patterns; the node matches when every other
  key and at least one of them match.

Matching follows EventBridge: a field matches when any of its values (arrays in the event are
flattened, so `detail.items[*].kind` is one field) matches any value of the pattern's array, and the
fields of one object pattern must match within one element of an array of objects (EventBridge's
array-consistent matching: ``{"kind": ["a"], "size": [1]}`` does not match ``[{"kind": "a"},
{"size": 1}]``); a
missing field matches only ``{"exists": false}``; ``anything-but`` needs the field; numbers compare
by value (1 matches 1.0), never against strings or booleans.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

OPERATORS = (
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
)
MAX_PATTERN_LENGTH = 4096  # characters: EventBridge's limit on a rule's EventPattern
NUMERIC_LIMIT = 5e9  # EventBridge compares numbers between -5.0e9 and +5.0e9
_ANYTHING_BUT_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_LOWER_BOUNDS = {">": operator.gt, ">=": operator.ge}
_UPPER_BOUNDS = {"<": operator.lt, "<=": operator.le}
_COMPARISONS = {"=": operator.eq, **_LOWER_BOUNDS, **_UPPER_BOUNDS}

Values = list[Any]  # every value a field has in an event (arrays flattened); [] when it is missing
Test = Callable[[Values], bool]


def pattern_errors(pattern: Any) -> list[str]:
    """Every problem with an event pattern (a dict or its JSON text), one line each ([] when valid)."""
    errors: list[str] = []
    _compile(_loaded(pattern, errors), errors)
    return errors


def compile_pattern(pattern: Any) -> Callable[[Any], bool]:
    """A predicate on events (dicts) for a valid pattern; ValueError listing its problems otherwise."""
    errors: list[str] = []
    test = _compile(_loaded(pattern, errors), errors)
    if errors:
        raise ValueError("; ".join(errors))
    return lambda event: test([event])


def matches(pattern: Any, event: Any) -> bool:
    """Whether `event` matches `pattern` (ValueError when the pattern is not valid)."""
    return compile_pattern(pattern)(event)


def _loaded(pattern: Any, errors: list[str]) -> Any:
    if not isinstance(pattern, str):
        return pattern
    if len(pattern) > MAX_PATTERN_LENGTH:
        errors.append(
            f"the pattern is {len(pattern)} characters long, more than EventBridge's {MAX_PATTERN_LENGTH}"
        )
    try:
        return json.loads(pattern)
    except json.JSONDecodeError as error:
        errors.append(f"the pattern is not valid JSON: {error}")
        return {"placeholder": [None]}  # valid, so the JSON error is the only one


def _compile(pattern: Any, errors: list[str], path: str = "") -> Test:
    """The test for an object pattern at `path`; problems go to `errors` (the test is then unused)."""
    where = path or "the pattern"
    if not isinstance(pattern, Mapping):
        errors.append(f"{where} must be a JSON object, not {_kind(pattern)}")
        return _never
    if not pattern:
        errors.append(f"{where} is an empty object; give at least one field to match")
        return _never
    fields: list[tuple[str, Test]] = []
    alternatives: list[Test] = []
    for key, rule in pattern.items():
        child = f"{path}.{key}" if path else str(key)
        if key == "$or":
            alternatives = _compile_or(rule, errors, child, path)
        elif isinstance(rule, Mapping):
            fields.append((key, _compile(rule, errors, child)))
        elif isinstance(rule, list):
            fields.append((key, _compile_leaf(rule, errors, child)))
        else:
            errors.append(
                f"{child} must be an array of values or an object, not {_kind(rule)}: use [{_json(rule)}]"
            )

    def matches_one(item: Mapping[str, Any]) -> bool:
        return all(rule(_field([item], key)) for key, rule in fields) and (
            not alternatives or any(alternative([item]) for alternative in alternatives)
        )

    def test(values: Values) -> bool:
        # Array-consistent, as EventBridge: every field must match within one element of an array of
        # objects, never across two. No object at all: the fields see themselves missing.
        objects = [value for value in values if isinstance(value, Mapping)]
        return any(matches_one(item) for item in objects or [{}])

    return test


def _compile_or(rule: Any, errors: list[str], where: str, path: str) -> list[Test]:
    if not isinstance(rule, list) or len(rule) < 2:
        errors.append(f"{where} must be an array of at least two patterns")
        return []
    return [
        _compile(branch, errors, f"{path}.$or[{index}]" if path else f"$or[{index}]")
        for index, branch in enumerate(rule)
    ]


def _field(objects: Sequence[Mapping[str, Any]], key: str) -> Values:
    """Every value `key` has in `objects`, with arrays flattened as EventBridge does."""
    values: Values = []
    for item in objects:
        if key in item:
            _flatten(item[key], values)
    return values


def _flatten(value: Any, into: Values) -> None:
    if isinstance(value, list):
        for item in value:
            _flatten(item, into)
    else:
        into.append(value)


def _has_leaf(values: Values) -> bool:
    # exists looks at leaves: a field holding only objects does not "exist" as a value.
    return any(not isinstance(value, Mapping) for value in values)


def _never(values: Values) -> bool:
    return False


def _compile_leaf(rules: list[Any], errors: list[str], where: str) -> Test:
    if not rules:
        errors.append(f"{where} is an empty array; list at least one value or filter")
        return _never
    value_tests: list[Callable[[Any], bool]] = []
    field_tests: list[Test] = []  # exists and anything-but look at the field as a whole
    for index, rule in enumerate(rules):
        at = f"{where}[{index}]"
        if isinstance(rule, Mapping):
            _compile_filter(rule, errors, at, value_tests, field_tests)
        elif isinstance(rule, list):
            errors.append(f"{at} is an array inside an array; list the values in one array")
        else:
            value_tests.append(_equals(rule))

    def test(values: Values) -> bool:
        return any(check(values) for check in field_tests) or any(
            check(value) for value in values for check in value_tests
        )

    return test


def _compile_filter(
    rule: Mapping[str, Any],
    errors: list[str],
    at: str,
    value_tests: list[Callable[[Any], bool]],
    field_tests: list[Test],
) -> None:
    if len(rule) != 1:
        errors.append(
            f"{at} has {len(rule)} operators ({', '.join(map(str, rule)) or 'none'}); a filter has one"
        )
        return
    ((name, operand),) = rule.items()
    where = f"{at}.{name}"
    if name == "exists":
        if not isinstance(operand, bool):
            errors.append(f"{where} must be true or false, not {_json(operand)}")
        field_tests.append(lambda values: _has_leaf(values) == operand)
    elif name == "anything-but":
        test = _anything_but(operand, errors, where)
        field_tests.append(lambda values: bool(values) and all(not test(value) for value in values))
    elif name in ("prefix", "suffix"):
        value_tests.append(_affix(name, operand, errors, where))
    elif name == "equals-ignore-case":
        value_tests.append(_string_test(name, operand, errors, where))
    elif name == "numeric":
        value_tests.append(_numeric(operand, errors, where))
    elif name == "cidr":
        value_tests.append(_cidr(operand, errors, where))
    elif name == "wildcard":
        value_tests.append(_string_test(name, operand, errors, where))
    else:
        close = difflib.get_close_matches(str(name), OPERATORS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        errors.append(f"{at} uses unknown operator '{name}': {hint}operators are {', '.join(OPERATORS)}")


def _anything_but(operand: Any, errors: list[str], where: str) -> Callable[[Any], bool]:
    """The test for the values anything-but excludes."""
    if isinstance(operand, Mapping):
        if len(operand) != 1 or next(iter(operand)) not in _ANYTHING_BUT_OPERATORS:
            errors.append(
                f"{where} takes a value, a list of values, or one of {', '.join(_ANYTHING_BUT_OPERATORS)}"
            )
            return _never_value
        ((name, inner),) = operand.items()
        items = inner if isinstance(inner, list) else [inner]
        if not items:
            errors.append(f"{where}.{name} is an empty list")
        tests = [_string_test(name, item, errors, f"{where}.{name}") for item in items]
        return lambda value: any(test(value) for test in tests)
    items = operand if isinstance(operand, list) else [operand]
    if not items:
        errors.append(f"{where} is an empty list")
    for item in items:
        if isinstance(item, Mapping | list):
            errors.append(f"{where} lists {_kind(item)}; list strings or numbers")
    kinds = {"number" if _number(item) else "string" if isinstance(item, str) else "other" for item in items}
    if len(kinds) > 1:
        errors.append(
            f"{where} mixes {' and '.join(sorted(kinds))} values; list only strings or only numbers"
        )
    tests = [_equals(item) for item in items]
    return lambda value: any(test(value) for test in tests)


def _never_value(value: Any) -> bool:
    return False


def _affix(name: str, operand: Any, errors: list[str], where: str) -> Callable[[Any], bool]:
    if isinstance(operand, Mapping):
        if list(operand) != ["equals-ignore-case"] or not isinstance(operand["equals-ignore-case"], str):
            errors.append(f'{where} takes a string or {{"equals-ignore-case": "<string>"}}')
            return _never_value
        lowered = operand["equals-ignore-case"].lower()
        check = str.startswith if name == "prefix" else str.endswith
        return lambda value: isinstance(value, str) and check(value.lower(), lowered)
    return _string_test(name, operand, errors, where)


def _string_test(name: str, operand: Any, errors: list[str], where: str) -> Callable[[Any], bool]:
    if not isinstance(operand, str):
        errors.append(f"{where} takes a string, not {_kind(operand)}")
        return _never_value
    if name == "prefix":
        return lambda value: isinstance(value, str) and value.startswith(operand)
    if name == "suffix":
        return lambda value: isinstance(value, str) and value.endswith(operand)
    if name == "equals-ignore-case":
        lowered = operand.lower()
        return lambda value: isinstance(value, str) and value.lower() == lowered
    if "**" in operand.replace("\\*", ""):
        errors.append(f"{where} {operand!r} has consecutive '*'; one '*' already matches any characters")
    regex = re.compile(_wildcard_regex(operand), re.DOTALL)
    return lambda value: isinstance(value, str) and regex.fullmatch(value) is not None


def _wildcard_regex(pattern: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "*\\":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return "".join(parts)


def _numeric(operand: Any, errors: list[str], where: str) -> Callable[[Any], bool]:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        errors.append(f'{where} takes one or two comparisons such as [">", 0, "<=", 5]')
        return _never_value
    comparisons: list[tuple[Callable[[Any, Any], bool], Any]] = []
    operators = [operand[index] for index in range(0, len(operand), 2)]
    for comparison, bound in zip(operators, operand[1::2], strict=True):
        if not isinstance(comparison, str) or comparison not in _COMPARISONS:
            errors.append(f"{where} has operator {_json(comparison)}; use one of =, <, <=, >, >=")
            return _never_value
        if not _number(bound):
            errors.append(f"{where} compares with {_json(bound)}, which is not a number")
            return _never_value
        if abs(bound) > NUMERIC_LIMIT:
            errors.append(f"{where} compares with {bound}, outside EventBridge's -5e9 to 5e9")
        comparisons.append((_COMPARISONS[comparison], bound))
    if len(operators) == 2 and not (
        sum(op in _LOWER_BOUNDS for op in operators) == 1
        and sum(op in _UPPER_BOUNDS for op in operators) == 1
    ):
        errors.append(
            f"{where} with two comparisons needs one lower bound (> or >=) and one upper bound (< or <=)"
        )
    return lambda value: _number(value) and all(compare(value, bound) for compare, bound in comparisons)


def _cidr(operand: Any, errors: list[str], where: str) -> Callable[[Any], bool]:
    try:
        network = ipaddress.ip_network(operand, strict=False) if isinstance(operand, str) else None
    except ValueError:
        network = None
    if network is None:
        errors.append(f"{where} takes an IP network such as '10.0.0.0/24', not {_json(operand)}")
        return _never_value

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return test


def _equals(expected: Any) -> Callable[[Any], bool]:
    """Exact match of a literal: numbers by value, never a number against a boolean or a string."""
    if _number(expected):
        return lambda value: _number(value) and value == expected
    if isinstance(expected, bool) or expected is None:
        return lambda value: value is expected
    return lambda value: isinstance(value, str) and value == expected


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return _json(value)


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
