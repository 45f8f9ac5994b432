"""IAM condition operators, evaluated against a request's context keys as IAM does.

Supported: the String*, Numeric*, Date*, Bool, Arn*, IpAddress and Null operators, their ``IfExists``
forms, and the ``ForAnyValue:`` / ``ForAllValues:`` set qualifiers. Within one operator every key
must match (AND), within one key any listed value may match (OR); a key absent from the request
fails the operator, except a negated one (``StringNotEquals``...), which it passes (``IfExists`` makes
any operator pass, ``Null`` tests it), as documented in the IAM JSON
policy reference ("Condition element").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]


class UnsupportedConditionError(ValueError):
    """A condition operator this evaluator does not know: the statement cannot be decided."""


@lru_cache(maxsize=4096)
def wildcard(pattern: str, *, case_sensitive: bool = True) -> re.Pattern[str]:
    """`pattern` with IAM's wildcards (``*`` any run of characters, ``?`` one character) as a regex."""
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(expression, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return wildcard(pattern, case_sensitive=case_sensitive).fullmatch(value) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """ArnLike: the six colon-separated parts each match; wildcards never cross a part boundary."""
    if pattern == "*":
        return True
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(matches(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _number(value: str) -> float:
    return float(value)


def _date(value: str) -> datetime:
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return datetime.fromtimestamp(float(value), tz=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ip(pattern: str, value: str) -> bool:
    return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)


Compare = Callable[[str, str], bool]  # (policy value, request value) -> matches

_COMPARES: dict[str, Compare] = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringNotEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": matches,
    "StringNotLike": matches,
    "NumericEquals": lambda p, v: _number(v) == _number(p),
    "NumericNotEquals": lambda p, v: _number(v) == _number(p),
    "NumericLessThan": lambda p, v: _number(v) < _number(p),
    "NumericLessThanEquals": lambda p, v: _number(v) <= _number(p),
    "NumericGreaterThan": lambda p, v: _number(v) > _number(p),
    "NumericGreaterThanEquals": lambda p, v: _number(v) >= _number(p),
    "DateEquals": lambda p, v: _date(v) == _date(p),
    "DateNotEquals": lambda p, v: _date(v) == _date(p),
    "DateLessThan": lambda p, v: _date(v) < _date(p),
    "DateLessThanEquals": lambda p, v: _date(v) <= _date(p),
    "DateGreaterThan": lambda p, v: _date(v) > _date(p),
    "DateGreaterThanEquals": lambda p, v: _date(v) >= _date(p),
    "Bool": lambda p, v: p.lower() == v.lower(),
    "BinaryEquals": lambda p, v: p == v,
    "IpAddress": _ip,
    "NotIpAddress": _ip,
    "ArnEquals": arn_matches,
    "ArnLike": arn_matches,
    "ArnNotEquals": arn_matches,
    "ArnNotLike": arn_matches,
}
# Negated operators: true when no policy value matches, and true when the key is absent ("If the policy
# condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right key
# is not present, the condition is true": IAM's Condition operators reference), except under ForAnyValue.
_NEGATED = {name for name in _COMPARES if "Not" in name}


def _values(value: object) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


def _lookup(context: Context, key: str) -> list[str] | None:
    """The request's values for `key` (condition keys are case-insensitive), or None if absent."""
    for name, value in context.items():
        if name.lower() == key.lower():
            return [value] if isinstance(value, str) else list(value)
    return None


def operator_matches(operator: str, conditions: Mapping[str, object], context: Context) -> bool:
    """Whether one operator block (``{"StringEquals": {key: values, ...}}``'s value) holds."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name.removesuffix("IfExists") if if_exists else name
    for key, policy_value in conditions.items():
        expected = _values(policy_value)
        actual = _lookup(context, key)
        if base == "Null":
            if (actual is None) != (expected[0].lower() == "true"):
                return False
            continue
        compare = _COMPARES.get(base)
        if compare is None:
            raise UnsupportedConditionError(f"condition operator {operator} is not supported")
        if actual is None:
            negated_holds = base in _NEGATED and qualifier != "ForAnyValue"
            if if_exists or qualifier == "ForAllValues" or negated_holds:
                continue
            return False
        if not _key_matches(compare, base in _NEGATED, qualifier, expected, actual):
            return False
    return True


def _key_matches(
    compare: Compare, negated: bool, qualifier: str, expected: list[str], actual: list[str]
) -> bool:
    def one(value: str) -> bool:
        hit = any(compare(pattern, value) for pattern in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual)
    if qualifier == "ForAnyValue":
        return any(one(value) for value in actual)
    # A single-valued key: a multi-valued request value is matched as ForAnyValue would.
    return any(one(value) for value in actual)


def conditions_hold(block: Mapping[str, Mapping[str, object]], context: Context) -> bool:
    """Whether a statement's whole Condition element holds (every operator block: AND)."""
    return all(operator_matches(operator, keys, context) for operator, keys in block.items())
