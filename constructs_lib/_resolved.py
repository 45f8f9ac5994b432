"""Token and duration questions Python can answer exactly, without a jsii round trip.

Every `Token.is_unresolved`, `Duration.to_milliseconds` or `Duration.is_unresolved` is a call into
Node.js (about half a millisecond at synth). Where the answer is already in Python, these helpers
give it the way aws-cdk-lib computes it (core/lib/private/encoding.ts `unresolved`), and ask jsii
for everything else:

- a string is a token if it contains aws-cdk-lib's ``Token[`` marker and a string token (or a
  stringified number token) by aws-cdk-lib's own pattern (STRING_TOKEN_REGEX);
- a number is a token only if it is one of aws-cdk-lib's encoded doubles (the high 16 bits of its
  IEEE 754 representation are 0xFBFF);
- a duration made here (`minutes`, `hours`, ...: the library's own defaults and limits) is concrete,
  and its milliseconds are known; any other duration is asked once (a Duration never changes).
"""

from __future__ import annotations

import re
import struct
import weakref
from collections.abc import Callable
from typing import TypeVar

from aws_cdk import Duration, Token

# aws-cdk-lib's marker in every string token (ANY_TOKEN_MARKER), its string token pattern
# (STRING_TOKEN_REGEX: "${Token[" VALID_KEY_CHARS "]}" or STRINGIFIED_NUMBER_PATTERN; JavaScript's \d is
# ASCII only), and the high bits of a number token (DOUBLE_TOKEN_MARKER_BITS: 0xFBFF << 16 in the
# upper 32-bit word).
_STRING_MARKER = "Token["
_STRING_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}|-1\.[0-9]{10,16}e\+289")
_DOUBLE_MARKER = 0xFBFF

# Durations made here: their amount and unit (as aws-cdk-lib labels it) and milliseconds.
_KNOWN: weakref.WeakKeyDictionary[Duration, tuple[int, str, int]] = weakref.WeakKeyDictionary()
# aws-cdk-lib's TimeUnit labels and sizes, largest first (Duration.components walks them so).
_UNITS = (("days", 86_400_000), ("hours", 3_600_000), ("minutes", 60_000), ("seconds", 1000))
_UNIT_MILLIS = dict(_UNITS)
# Any other duration's answers, once aws-cdk-lib gave them.
_UNRESOLVED: weakref.WeakKeyDictionary[Duration, bool] = weakref.WeakKeyDictionary()
_MILLIS: weakref.WeakKeyDictionary[Duration, float] = weakref.WeakKeyDictionary()
_SECONDS: weakref.WeakKeyDictionary[Duration, float] = weakref.WeakKeyDictionary()
_T = TypeVar("_T")


def is_unresolved_str(value: str) -> bool:
    """`Token.is_unresolved(value)` for a string, answered in Python."""
    return _STRING_MARKER in value and _STRING_TOKEN.search(value) is not None


def is_unresolved_number(value: float) -> bool:
    """`Token.is_unresolved(value)` for a number (an int or a float), answered in Python."""
    try:
        bits: int = struct.unpack("<Q", struct.pack("<d", float(value)))[0]
    except OverflowError:  # beyond any double, so no token (whose doubles are finite)
        return False
    return bits >> 48 == _DOUBLE_MARKER


def is_unresolved(value: object) -> bool:
    """`Token.is_unresolved(value)`, answered in Python for None, booleans, strings and numbers (the
    values most props are); anything else is asked of aws-cdk-lib."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return is_unresolved_str(value)
    if isinstance(value, int | float):
        return is_unresolved_number(value)
    return bool(Token.is_unresolved(value))


def _known(duration: Duration, amount: int, unit: str) -> Duration:
    _KNOWN[duration] = (amount, unit, amount * _UNIT_MILLIS[unit])
    return duration


def seconds(amount: int) -> Duration:
    """`Duration.seconds(amount)`, known to this module (`amount`: a whole number, not a token)."""
    return _known(Duration.seconds(amount), amount, "seconds")


def minutes(amount: int) -> Duration:
    """`Duration.minutes(amount)`, known to this module (`amount`: a whole number, not a token)."""
    return _known(Duration.minutes(amount), amount, "minutes")


def hours(amount: int) -> Duration:
    """`Duration.hours(amount)`, known to this module (`amount`: a whole number, not a token)."""
    return _known(Duration.hours(amount), amount, "hours")


def days(amount: int) -> Duration:
    """`Duration.days(amount)`, known to this module (`amount`: a whole number, not a token)."""
    return _known(Duration.days(amount), amount, "days")


def _asked(duration: Duration, answers: weakref.WeakKeyDictionary[Duration, _T], ask: Callable[[], _T]) -> _T:
    """aws-cdk-lib's answer about `duration`, asked once: a Duration never changes."""
    answer = answers.get(duration)
    if answer is None:
        answer = answers[duration] = ask()
    return answer


def known_milliseconds(duration: Duration) -> int | None:
    """The milliseconds of a duration made here (a whole number of seconds); None for any other."""
    known = _KNOWN.get(duration)
    return known[2] if known is not None else None


def is_unresolved_duration(duration: Duration) -> bool:
    """`duration.is_unresolved()`: False for a duration made here."""
    return duration not in _KNOWN and _asked(duration, _UNRESOLVED, duration.is_unresolved)


def to_milliseconds(duration: Duration) -> float:
    """`duration.to_milliseconds()`: known for a duration made here."""
    known = known_milliseconds(duration)
    return known if known is not None else _asked(duration, _MILLIS, duration.to_milliseconds)


def to_seconds(duration: Duration) -> float:
    """`duration.to_seconds()`: known for a duration made here (always whole seconds)."""
    known = known_milliseconds(duration)
    return known // 1000 if known is not None else _asked(duration, _SECONDS, duration.to_seconds)


def to_human_string(duration: Duration) -> str:
    """`duration.to_human_string()`: for a duration made here, its two largest whole units, as
    aws-cdk-lib writes them ("1 hour 30 minutes", "15 minutes", "1 day")."""
    known = _KNOWN.get(duration)
    if known is None:
        return duration.to_human_string()
    amount, unit, millis = known
    if amount == 0:
        return _unit_text(0, unit)
    parts: list[str] = []
    for name, size in _UNITS:
        count, millis = divmod(millis, size)
        if count:
            parts.append(_unit_text(count, name))
    return " ".join(parts[:2])


def _unit_text(amount: int, unit: str) -> str:
    return f"{amount} {unit[:-1] if amount == 1 else unit}"
