"""Collects every problem with a construct's props, then raises them together.

Users fix a construct in one round instead of one error per synth: each message names
the construct path, the prop and the fix.
"""

from __future__ import annotations

from aws_cdk import Duration
from constructs import IConstruct

from constructs_lib import _resolved


class PropErrors:
    """Accumulates prop problems for one construct and raises a single ValueError."""

    def __init__(self, scope: IConstruct, construct_id: str | None = None) -> None:
        """Problems with the props of `construct_id`, about to be created in `scope`; without
        `construct_id`, problems with a call on `scope` itself, a construct that exists."""
        self._scope = scope
        self._construct_id = construct_id
        self._problems: list[str] = []

    @property
    def _path(self) -> str:
        # Read only when raising: two jsii calls per construct otherwise spent on valid props.
        # A construct being validated does not exist yet, so its path is built by hand.
        path = self._scope.node.path
        if self._construct_id is None:
            return path
        return f"{path}/{self._construct_id}" if path else self._construct_id

    def add(self, prop: str, problem: str) -> None:
        """Record that `prop` is wrong; `problem` says what is wrong and how to fix it."""
        self._problems.append(f"{prop}: {problem}")

    def check(self, condition: bool, prop: str, problem: str) -> None:
        """Record `problem` for `prop` unless `condition` holds."""
        if not condition:
            self.add(prop, problem)

    def raise_if_any(self) -> None:
        if not self._problems:
            return
        if len(self._problems) == 1:
            raise ValueError(f"{self._path}: {self._problems[0]}")
        listed = "\n".join(f"  - {problem}" for problem in self._problems)
        raise ValueError(f"{self._path}: {len(self._problems)} invalid props:\n{listed}")


def check_token_unit(errors: PropErrors, prop: str, duration: Duration | None, unit: str) -> bool:
    """A duration from a token (a CfnParameter) is given in `unit` ("millis", "seconds", "minutes",
    "hours" or "days"), the unit CloudFormation takes it in.

    Its value is not judged (`Duration.is_unresolved()`: it resolves at deploy), but aws-cdk-lib converts
    a token duration only to its own unit and throws through jsii otherwise. True when `duration`
    converts to `unit`: it is None, concrete, or a token in that unit.
    """
    if duration is None or not _resolved.is_unresolved_duration(duration):
        return True
    # aws-cdk-lib renders a token duration as "<token> <unit>" (Duration.toHumanString).
    convertible = duration.to_human_string().endswith(f" {unit}")
    errors.check(
        convertible,
        prop,
        f"comes from a token, which aws-cdk-lib cannot convert at synth; give it in {unit} "
        f"(Duration.{unit}(...)), the unit CloudFormation takes",
    )
    return convertible


def check_whole_seconds(
    errors: PropErrors,
    prop: str,
    duration: Duration | None,
    *,
    within: tuple[float, float, str] | None = None,
) -> float | None:
    """A duration AWS takes in whole seconds; its milliseconds, or None when it is None or a token.

    A token (a CfnParameter) is not judged, it resolves at deploy, but must come in seconds. A concrete
    one is compared in milliseconds, since aws-cdk-lib's `to_seconds()` throws through jsii on a
    fraction of a second (issue #18): first against `within` (lowest and highest milliseconds, and the
    problem when outside), then for whole seconds.
    """
    if duration is None:
        return None
    if _resolved.is_unresolved_duration(duration):
        check_token_unit(errors, prop, duration, "seconds")
        return None
    millis = _resolved.to_milliseconds(duration)
    if within is not None:
        lowest, highest, problem = within
        errors.check(lowest <= millis <= highest, prop, problem)
    errors.check(millis % 1000 == 0, prop, f"{millis} ms is not a whole number of seconds")
    return millis


# EventBridge's and Scheduler's limits for a target's RetryPolicy (the same for both services).
MAX_TARGET_RETRY_ATTEMPTS = 185
MIN_TARGET_EVENT_AGE_MILLIS = 60_000
MAX_TARGET_EVENT_AGE = _resolved.hours(24)


def check_target_retry_policy(
    errors: PropErrors, retry_attempts: int, max_event_age: Duration, *, service: str
) -> None:
    """A target's RetryPolicy for EventBridge or Scheduler (`service`, named in the problems)."""
    errors.check(
        _resolved.is_unresolved_number(retry_attempts) or 0 <= retry_attempts <= MAX_TARGET_RETRY_ATTEMPTS,
        "retry_attempts",
        f"{retry_attempts} is outside 0-{MAX_TARGET_RETRY_ATTEMPTS}, {service}'s limits",
    )
    check_whole_seconds(
        errors,
        "max_event_age",
        max_event_age,
        within=(
            MIN_TARGET_EVENT_AGE_MILLIS,
            _resolved.to_milliseconds(MAX_TARGET_EVENT_AGE),
            f"must be between 1 minute and 24 hours, {service}'s limits",
        ),
    )
