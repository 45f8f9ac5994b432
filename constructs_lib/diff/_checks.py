"""Warnings for changes that lose or expose data, whether or not a resource is replaced.

Categories (the names ``--fail-on`` takes):
- ``data-loss``: a stateful resource removed or replaced; a Retain/Snapshot deletion or
  replacement policy dropped; deletion protection, point-in-time recovery or versioning off.
- ``security``: encryption removed or downgraded; public access opened (S3 public access
  block, resource policies for ``*``, unauthenticated API routes, ingress from anywhere).
- ``iam``: new IAM permissions (each added Allow statement), for review rather than alarm.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from constructs_lib.diff._compare import ResourceChange, StackDiff

CATEGORIES = ("data-loss", "security", "iam")

# Resources whose removal or replacement loses data (or, for a key, the data it encrypts).
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::OpenSearchService::Domain",
        "AWS::Elasticsearch::Domain",
        "AWS::Cognito::UserPool",
        "AWS::KMS::Key",
        "AWS::SQS::Queue",
        "AWS::Logs::LogGroup",
        "AWS::Kinesis::Stream",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::EFS::FileSystem",
    }
)
# Where the library's stateful constructs write their `disposable_data_reason` (_protection.py).
DISPOSABLE_REASON_KEY = "constructs_lib:disposableDataReason"
KEPT = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
PUBLIC_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class Warning:
    category: str
    stack: str
    logical_id: str
    resource_type: str
    message: str

    def line(self) -> str:
        return f"{self.stack}/{self.logical_id} ({self.resource_type}): {self.message}"


def _get(resource: Resource | None, *path: str | int) -> Any:
    value: Any = (resource or {}).get("Properties", {})
    for key in path:
        if isinstance(value, Mapping) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return None
    return value


def _replicas(resource: Resource | None) -> dict[str, Mapping[str, Any]]:
    replicas = _get(resource, "Replicas") or []
    return {
        json.dumps(replica.get("Region")): replica for replica in replicas if isinstance(replica, Mapping)
    }


def _turned_off(old: Any, new: Any, on: Any = True) -> bool:
    return bool(old == on and new != on)


# Flags whose "on" value protects data, per type: (path, on value, what turning it off means).
_PROTECTIONS: dict[str, list[tuple[tuple[str, ...], Any, str]]] = {
    "AWS::DynamoDB::Table": [
        (("DeletionProtectionEnabled",), True, "deletion protection turned off"),
        (
            ("PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"),
            True,
            "point-in-time recovery turned off: no restore to before a bad write",
        ),
    ],
    "AWS::Cognito::UserPool": [(("DeletionProtection",), "ACTIVE", "deletion protection turned off")],
    "AWS::RDS::DBInstance": [(("DeletionProtection",), True, "deletion protection turned off")],
    "AWS::RDS::DBCluster": [(("DeletionProtection",), True, "deletion protection turned off")],
    "AWS::S3::Bucket": [
        (
            ("VersioningConfiguration", "Status"),
            "Enabled",
            "versioning turned off: overwritten and deleted objects are gone",
        )
    ],
}
_ENCRYPTION: dict[str, list[tuple[tuple[str, ...], Any, str]]] = {
    "AWS::OpenSearchService::Domain": [
        (("EncryptionAtRestOptions", "Enabled"), True, "encryption at rest turned off"),
        (("NodeToNodeEncryptionOptions", "Enabled"), True, "node-to-node encryption turned off"),
        (("DomainEndpointOptions", "EnforceHTTPS"), True, "HTTPS no longer enforced"),
    ],
    "AWS::DynamoDB::Table": [
        (("SSESpecification", "SSEEnabled"), True, "KMS encryption replaced by an AWS owned key")
    ],
    "AWS::DynamoDB::GlobalTable": [
        (("SSESpecification", "SSEEnabled"), True, "KMS encryption replaced by an AWS owned key")
    ],
    "AWS::KMS::Key": [(("EnableKeyRotation",), True, "key rotation turned off")],
    "AWS::SQS::Queue": [(("SqsManagedSseEnabled",), True, "SQS-managed encryption turned off")],
}
# A key (or whole encryption setting) whose removal drops encryption or its customer-managed key.
_ENCRYPTION_SETTINGS: dict[str, tuple[str, ...]] = {
    "AWS::S3::Bucket": ("BucketEncryption",),
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::Kinesis::Stream": ("StreamEncryption",),
}
_PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
_RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::OpenSearchService::Domain": "AccessPolicies",
    "AWS::KMS::Key": "KeyPolicy",
}


def _data_loss(change: ResourceChange) -> Iterator[str]:
    old, new, kind = change.old, change.new, change.kind
    if change.type in STATEFUL_TYPES and kind == "removed":
        kept = old is not None and old.get("DeletionPolicy") in KEPT
        yield "REMOVED" + (
            " (DeletionPolicy keeps it, outside the stack)" if kept else ": its data is deleted"
        )
    if change.type in STATEFUL_TYPES and kind in {"replaced", "may-replace"}:
        causes = ", ".join(c.name for c in change.changes if c.replacement)
        verb = "REPLACED" if kind == "replaced" else "MAY BE REPLACED"
        yield f"{verb} (by {causes}): the new resource starts empty"
    if old is None or new is None:
        return
    for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
        if old.get(attribute) in KEPT and new.get(attribute) not in KEPT:
            after = new.get(attribute, "Delete")
            yield f"{attribute} {old[attribute]} -> {after}: deleting the stack or resource deletes the data"
    for path, on, meaning in _PROTECTIONS.get(change.type, []):
        if _turned_off(_get(old, *path), _get(new, *path), on):
            yield meaning
    if change.type == "AWS::DynamoDB::GlobalTable":
        old_replicas, new_replicas = _replicas(old), _replicas(new)
        for region in sorted(old_replicas.keys() & new_replicas.keys()):
            before, after = old_replicas[region], new_replicas[region]
            if _turned_off(before.get("DeletionProtectionEnabled"), after.get("DeletionProtectionEnabled")):
                yield f"deletion protection turned off (replica {json.loads(region)})"
            pitr = "PointInTimeRecoverySpecification"
            if _turned_off(
                (before.get(pitr) or {}).get("PointInTimeRecoveryEnabled"),
                (after.get(pitr) or {}).get("PointInTimeRecoveryEnabled"),
            ):
                yield f"point-in-time recovery turned off (replica {json.loads(region)})"


def _public_statements(document: Any) -> set[str]:
    """Allow statements for anyone (`*`) without a condition, as JSON."""
    statements = (document or {}).get("Statement", []) if isinstance(document, Mapping) else []
    public = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal")
        anyone = principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") in ("*", ["*"]))
        if statement.get("Effect") == "Allow" and anyone and not statement.get("Condition"):
            public.add(json.dumps(statement, sort_keys=True))
    return public


def _ingress_from_anywhere(resource: Resource | None) -> set[str]:
    if resource is None:
        return set()
    rules = _get(resource, "SecurityGroupIngress") or []
    if resource.get("Type") == "AWS::EC2::SecurityGroupIngress":
        rules = [resource.get("Properties", {})]
    return {
        f"{rule.get('IpProtocol')} {rule.get('FromPort', '')}-{rule.get('ToPort', '')}"
        for rule in rules
        if isinstance(rule, Mapping)
        and (rule.get("CidrIp") in PUBLIC_CIDRS or rule.get("CidrIpv6") in PUBLIC_CIDRS)
    }


def _unauthenticated_route(resource: Resource | None) -> bool:
    if resource is None:
        return False
    if resource.get("Type") == "AWS::ApiGateway::Method":
        return (
            _get(resource, "AuthorizationType") in (None, "NONE")
            and _get(resource, "HttpMethod") != "OPTIONS"
        )
    if resource.get("Type") == "AWS::ApiGatewayV2::Route":
        key = str(_get(resource, "RouteKey") or "")
        return _get(resource, "AuthorizationType") in (None, "NONE") and (
            key == "$connect" or not key.startswith("$")
        )
    if resource.get("Type") == "AWS::Lambda::Url":
        return bool(_get(resource, "AuthType") == "NONE")
    return False


def _encryption(change: ResourceChange) -> Iterator[str]:
    old, new = change.old, change.new
    if old is None or new is None:
        return
    for path, on, meaning in _ENCRYPTION.get(change.type, []):
        if _turned_off(_get(old, *path), _get(new, *path), on):
            yield meaning
    for name in _ENCRYPTION_SETTINGS.get(change.type, ()):
        if _get(old, name) is not None and _get(new, name) is None:
            yield f"encryption setting {name} removed"


def _exposure(change: ResourceChange) -> Iterator[str]:
    old, new = change.old, change.new
    if new is None:
        return
    if change.type == "AWS::S3::Bucket":
        block = "PublicAccessBlockConfiguration"
        opened = [
            flag
            for flag in _PUBLIC_ACCESS_BLOCK
            if _turned_off(_get(old, block, flag), _get(new, block, flag))
        ]
        if opened:
            yield f"public access block loosened: {', '.join(opened)} no longer true"
    if change.type in _RESOURCE_POLICIES:
        prop = _RESOURCE_POLICIES[change.type]
        if _public_statements(_get(new, prop)) - _public_statements(_get(old, prop)):
            yield f"{prop} now allows anyone (Principal *) without a condition"
    anyone_before = old is not None and _get(old, "Principal") == "*"
    if (
        change.type == "AWS::Lambda::Permission"
        and _get(new, "Principal") == "*"
        and not _get(new, "SourceArn")
        and not anyone_before
    ):
        yield "the function may be invoked by anyone (Principal *, no SourceArn)"
    opened_ports = _ingress_from_anywhere(new) - _ingress_from_anywhere(old)
    if opened_ports:
        yield f"ingress from anywhere (0.0.0.0/0 or ::/0): {', '.join(sorted(opened_ports))}"
    if _unauthenticated_route(new) and not _unauthenticated_route(old):
        yield "route or URL callable without authorization"


def _security(change: ResourceChange) -> Iterator[str]:
    yield from _encryption(change)
    yield from _exposure(change)


def _allow_statements(resource: Resource | None) -> dict[str, Mapping[str, Any]]:
    """The Allow statements of an IAM policy or role (inline policies), by their JSON."""
    if resource is None or resource.get("Type") not in {
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
    }:
        return {}
    documents = [_get(resource, "PolicyDocument")]
    documents += [policy.get("PolicyDocument") for policy in _get(resource, "Policies") or []]
    found: dict[str, Mapping[str, Any]] = {}
    for document in documents:
        statements = document.get("Statement", []) if isinstance(document, Mapping) else []
        for statement in statements if isinstance(statements, list) else [statements]:
            if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
                found[json.dumps(statement, sort_keys=True)] = statement
    return found


def _managed_policies(resource: Resource | None) -> set[str]:
    if resource is None or resource.get("Type") != "AWS::IAM::Role":
        return set()
    return {json.dumps(arn, sort_keys=True) for arn in _get(resource, "ManagedPolicyArns") or []}


def _iam(change: ResourceChange) -> Iterator[str]:
    before = _allow_statements(change.old)
    for key, statement in _allow_statements(change.new).items():
        if key not in before:
            actions = statement.get("Action", statement.get("NotAction"))
            resources = statement.get("Resource", statement.get("NotResource"))
            yield f"allows {json.dumps(actions)} on {json.dumps(resources)}"
    for arn in sorted(_managed_policies(change.new) - _managed_policies(change.old)):
        yield f"managed policy attached: {arn}"


_RULES: dict[str, Callable[[ResourceChange], Iterator[str]]] = {
    "data-loss": _data_loss,
    "security": _security,
    "iam": _iam,
}


def _acknowledged(change: ResourceChange, category: str) -> str:
    """The construct's written reason for letting this data go, quoted after a data-loss warning."""
    reason = ((change.new or {}).get("Metadata") or {}).get(DISPOSABLE_REASON_KEY)
    return f' (acknowledged: "{reason}")' if reason and category == "data-loss" else ""


def check(stacks: list[StackDiff]) -> list[Warning]:
    return [
        Warning(
            category, stack.name, change.logical_id, change.type, message + _acknowledged(change, category)
        )
        for stack in stacks
        for change in stack.resources
        for category, rule in _RULES.items()
        for message in rule(change)
    ]
