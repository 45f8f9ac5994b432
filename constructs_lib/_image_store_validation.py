"""ImageStore's validation: key prefixes and suffixes S3 notifications and IAM ARNs accept, URL
lifetimes SigV4 and the presign role allow, CORS origins, content types and lifecycle days.

Kept apart from the construct, which had passed 600 lines (issue #18).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration

from constructs_lib import _resolved
from constructs_lib._validation import PropErrors, check_token_unit
from constructs_lib.cors_policy import origin_problem

# One or more key segments, each followed by "/": "uploads/", "users/photos/". No "*" or "?",
# which IAM resource ARNs would read as wildcards, and no "." or ".." segments.
_PREFIX = re.compile(r"^(?:[A-Za-z0-9!_.'()-]+/)+$")
_SUFFIX = re.compile(r"^[A-Za-z0-9!_.'()-]+$")


def _seconds(duration: Duration) -> float:
    return _resolved.to_milliseconds(duration) / 1000


def _check_prefix(errors: PropErrors, prop: str, prefix: str) -> None:
    segments = prefix.split("/")[:-1]
    errors.check(
        bool(_PREFIX.match(prefix)) and not {".", ".."} & set(segments),
        prop,
        f"'{prefix}' is not a key prefix; use letters, digits and !_.'()- in segments that each end "
        "with '/' (e.g. 'uploads/'), without a leading '/', '*' or '.'/'..' segments",
    )


def _check_ttl(
    errors: PropErrors, prop: str, ttl: Duration, *, max_url_ttl: Duration, presign_session: Duration
) -> None:
    # A TTL from a token (a CfnParameter) is not judged, it resolves at deploy; the handlers read it
    # in seconds, the unit it must come in.
    if not check_token_unit(errors, prop, ttl, "seconds") or _resolved.is_unresolved_duration(ttl):
        return
    seconds = _seconds(ttl)
    if not 1 <= seconds <= _seconds(max_url_ttl):
        errors.add(prop, f"{seconds:g} s is outside 1 second to 7 days, the lifetime SigV4 allows a URL")
    elif seconds > _seconds(presign_session):
        errors.add(
            prop,
            f"{seconds:g} s is longer than the presign role session ({_seconds(presign_session):g} s), "
            "which ends every URL it signs; use at most 1 hour",
        )
    elif seconds != int(seconds):
        errors.add(prop, f"{seconds:g} s is not a whole number of seconds")


def validate_props(
    errors: PropErrors,
    *,
    upload_prefix: str,
    thumbnail_prefix: str,
    separate_thumbnail_bucket: bool,
    upload_suffixes: Sequence[str],
    upload_url_ttl: Duration,
    download_url_ttl: Duration,
    cors_allowed_origins: Sequence[str],
    cors_allow_credentials: bool,
    allowed_content_types: Sequence[str],
    noncurrent_version_retention: Duration,
    access_log_retention: Duration,
    known_content_types: Sequence[str],
    max_url_ttl: Duration,
    presign_session: Duration,
) -> None:
    """Every problem with ImageStore's props, recorded in `errors` with the prop and the fix."""
    _check_prefix(errors, "upload_prefix", upload_prefix)
    _check_prefix(errors, "thumbnail_prefix", thumbnail_prefix)
    if not separate_thumbnail_bucket:
        errors.check(
            not (upload_prefix.startswith(thumbnail_prefix) or thumbnail_prefix.startswith(upload_prefix)),
            "thumbnail_prefix",
            f"'{thumbnail_prefix}' overlaps upload_prefix '{upload_prefix}' in the same bucket, so every "
            "thumbnail would raise an upload event; use disjoint prefixes or separate_thumbnail_bucket=True",
        )
    for index, suffix in enumerate(upload_suffixes):
        errors.check(
            bool(_SUFFIX.match(suffix)),
            f"upload_suffixes[{index}]",
            f"'{suffix}' is not a key suffix; use letters, digits and !_.'()- (e.g. '.jpg')",
        )
        errors.check(
            not any(other != suffix and suffix.endswith(other) for other in upload_suffixes)
            and upload_suffixes.count(suffix) == 1,
            f"upload_suffixes[{index}]",
            f"'{suffix}' overlaps another suffix, which S3 rejects; list each ending once, shortest only",
        )
    for prop, ttl in (("upload_url_ttl", upload_url_ttl), ("download_url_ttl", download_url_ttl)):
        _check_ttl(errors, prop, ttl, max_url_ttl=max_url_ttl, presign_session=presign_session)
    for index, origin in enumerate(cors_allowed_origins):
        problem = origin_problem(origin)  # CorsPolicy's one rule, the same as ServerlessApi's
        if problem is not None:
            errors.add(f"cors_allowed_origins[{index}]", problem)
    errors.check(
        not (cors_allow_credentials and "*" in cors_allowed_origins),
        "cors_allowed_origins",
        "'*' cannot be used with cors_allow_credentials=True: browsers refuse credentialed responses "
        "to any origin; list the origins explicitly",
    )
    errors.check(bool(allowed_content_types), "allowed_content_types", "is empty; list at least one type")
    for index, content_type in enumerate(allowed_content_types):
        errors.check(
            content_type in known_content_types,
            f"allowed_content_types[{index}]",
            f"'{content_type}' is not a known image type; use one of {', '.join(known_content_types)}",
        )
    for prop, retention in (
        ("noncurrent_version_retention", noncurrent_version_retention),
        ("access_log_retention", access_log_retention),
    ):
        # S3 lifecycle rules take it in days; a token (a CfnParameter) is not judged.
        if not check_token_unit(errors, prop, retention, "days") or _resolved.is_unresolved_duration(
            retention
        ):
            continue
        days = _seconds(retention) / 86400
        errors.check(
            days >= 1 and days == int(days),
            prop,
            "S3 lifecycle rules count whole days; use Duration.days(n) with n >= 1",
        )
