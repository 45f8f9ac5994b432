"""The vocabulary between a request and IAM: one API call, and the authorizations it needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ApiCall:
    """One request to an AWS API: the botocore service and operation and the request's parameters."""

    service: str  # botocore's service name: "s3", "dynamodbstreams", "apigatewaymanagementapi"
    signing_name: str  # the SigV4 service: "s3", "dynamodb", "execute-api"
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Access:
    """One authorization a call needs: `action` on `resource`, with these request context keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    via_service: str = ""  # set when a service makes this call on the caller's behalf (KMS for SNS)


class ResourceFacts(Protocol):
    """What the mapping needs to know about the app's resources."""

    def encryption_key(self, resource_arn: str) -> str | None:
        """The KMS key ARN a topic, queue or bucket encrypts with, or None."""
        ...

    def key_arn(self, key_id: str) -> str:
        """A key id, alias or ARN as the key's ARN."""
        ...


class NoFacts:
    """No resource is encrypted with a customer managed key; key ids are taken as given."""

    def encryption_key(self, resource_arn: str) -> str | None:
        return None

    def key_arn(self, key_id: str) -> str:
        return key_id
