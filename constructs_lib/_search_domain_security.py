"""SearchDomain's role mapping: the deploy-time function (the domain's master user) and the custom
resources through which it creates OpenSearch security roles and maps IAM roles to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import CfnElement, CustomResource, Duration, IStableAnyProducer, Lazy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._logical_ids import pin_logical_id
from constructs_lib._nag import acknowledge_wildcard_resource
from constructs_lib.serverless_function import ServerlessFunction

SECURITY_ENTRY = Path(__file__).resolve().parent / "functions" / "search_security"
_RESOURCE_TYPE = "Custom::OpenSearchSecurityRoles"


@jsii.implements(IStableAnyProducer)
class _Produce:
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()


def role_mapping_function(
    scope: Construct,
    path: str,
    log_retention: logs.RetentionDays,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
) -> ServerlessFunction:
    """The function whose role is the domain's master user (in `scope`, the SearchDomain at `path`)."""
    return ServerlessFunction(
        scope,
        "SecurityConfig",
        entry=SECURITY_ENTRY,
        include_runtime_helpers=True,
        description=f"Maps IAM roles to OpenSearch security roles in {path}",
        timeout=_security_timeout(),
        # CloudFormation invokes custom resource functions asynchronously.
        invoked_asynchronously=True,
        log_retention=log_retention,
        vpc=vpc,
        vpc_subnets=vpc_subnets,
    )


@cache
def _security_timeout() -> Duration:
    """Five minutes: the role-mapping function retries for about four while a new domain's security
    warms up. Made on first use, not at import."""
    return _resolved.minutes(5)


def role_mapping(
    scope: Construct,
    security: ServerlessFunction,
    domain: opensearch.Domain,
    domain_arn: str,
    endpoint: str,
    *,
    roles: Callable[[], Mapping[str, Any]],
    mappings: Callable[[], Mapping[str, list[str]]],
    security_groups: Sequence[ec2.ISecurityGroup],
) -> CustomResource:
    """The custom resource applying `roles` and `mappings` (read at synth: grants add to them later);
    `domain_arn` is `domain`'s, read once by the caller."""
    security.role.add_to_principal_policy(
        iam.PolicyStatement(
            # GET: whose a role is, and what a built-in mapping holds; PATCH: add to that mapping.
            actions=["es:ESHttpGet", "es:ESHttpPut", "es:ESHttpPatch", "es:ESHttpDelete"],
            resources=[
                f"{domain_arn}/_plugins/_security/api/roles/*",
                f"{domain_arn}/_plugins/_security/api/rolesmapping/*",
            ],
        )
    )
    security_config = CustomResource(
        scope,
        "SecurityRoles",
        service_token=security.function.function_arn,
        resource_type=_RESOURCE_TYPE,
        properties={
            "Endpoint": endpoint,
            # Lazy: index_table and grant_search add roles after the construct exists.
            "Roles": Lazy.any(_Produce(roles)),
            "Mappings": Lazy.any(_Produce(mappings)),
        },
    )
    # OpenSearch holds what it creates, by role name: its logical id must never move.
    node = security_config.node
    pin_logical_id(cast(CfnElement, node.default_child), scope, "SecurityRoles")
    # In a VPC also on the domain's security groups, whose rules let the function reach the domain.
    node.add_dependency(domain, *security_groups)
    policy = security.role.node.find_child("DefaultPolicy")
    for path in ("roles", "rolesmapping"):
        acknowledge_wildcard_resource(
            policy,
            f"{domain_arn}/_plugins/_security/api/{path}/*",
            f"The domain's master user creates and deletes security {path} by name under this API path; "
            "the names are only known when index_table and grant_search are called.",
        )
    return security_config


def role_mapping_in(
    stack: Stack,
    construct_id: str,
    security: ServerlessFunction,
    endpoint: str,
    *,
    role: str,
    body: Any,
    arn: str,
) -> CustomResource:
    """One role mapped to `arn`, applied by a custom resource in `stack` (a grantee's own stack)."""
    access = CustomResource(
        stack,
        construct_id,
        service_token=security.function.function_arn,
        resource_type=_RESOURCE_TYPE,
        properties={"Endpoint": endpoint, "Roles": {role: body}, "Mappings": {role: [arn]}},
    )
    pin_logical_id(cast(CfnElement, access.node.default_child), stack, construct_id)
    return access


def security_role(
    index_name: str, index_actions: Sequence[str], cluster_actions: Sequence[str]
) -> dict[str, Any]:
    """An OpenSearch security role body allowing `index_actions` on one index."""
    return {
        "cluster_permissions": list(cluster_actions),
        "index_permissions": [{"index_patterns": [index_name], "allowed_actions": list(index_actions)}],
    }
