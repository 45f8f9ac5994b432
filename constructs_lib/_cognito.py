"""Cognito settings the library's user pools share."""

from __future__ import annotations

from functools import cache

from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito

# NIST 800-63B favours length over rotation rules; 12 is the floor most security teams accept.
DEFAULT_PASSWORD_MIN_LENGTH = 12


def strong_password_policy(min_length: int = DEFAULT_PASSWORD_MIN_LENGTH) -> cognito.PasswordPolicy:
    """Long passwords with every character class; temporary passwords expire in 3 days."""
    return cognito.PasswordPolicy(
        min_length=min_length,
        require_lowercase=True,
        require_uppercase=True,
        require_digits=True,
        require_symbols=True,
        temp_password_validity=_temporary_password_validity(),
    )


@cache
def _temporary_password_validity() -> Duration:
    """Three days: one immutable jsii Duration, made on first use (not at import, not per pool)."""
    return Duration.days(3)
