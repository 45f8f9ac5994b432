"""SearchDomain: an OpenSearch domain with Cognito-protected Dashboards, fed from DynamoDB streams.

Creates: one OpenSearch Service domain (OpenSearch 2.19) with encryption at rest, node-to-node
encryption, HTTPS only with TLS 1.2+ and forward secrecy, fine-grained access control whose
master user is an IAM role (never a password), and its four logs (application, slow search, slow
index, audit) in log groups kept one year; a Cognito user pool (no self sign-up, MFA, email
recovery), its hosted domain, an identity pool without guest access, the authenticated role and
the service role OpenSearch uses to configure Cognito; a deploy-time function that maps IAM roles
to OpenSearch security roles; a `CfnOutput` with the Dashboards URL. Optionally CloudWatch
alarms on the domain's health metrics. Optionally placement in a VPC: the domain in one private
subnet per zone behind a security group that admits only HTTPS from the functions allowed in, and
its functions in the same VPC.

`index_table` adds a stream consumer that keeps one index in sync with a `CompositeKeyTable`;
`grant_search` gives a role read-only query access to one index.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import _metrics, _resolved
from constructs_lib._alarms import AlarmSettings, check_alarm_settings
from constructs_lib._grants import principal_in_another_stack
from constructs_lib._logs import DEFAULT_LOG_RETENTION, check_retention, retained_log_group
from constructs_lib._nag import acknowledge_wildcard_resource
from constructs_lib._paths import path_of
from constructs_lib._protection import check_disposable, record_reason, weakened_removal_policy
from constructs_lib._search_domain_alarms import ALARMS, add_alarms
from constructs_lib._search_domain_cognito import dashboards_sign_in
from constructs_lib._search_domain_network import allow_https, domain_security_groups, domain_subnets
from constructs_lib._search_domain_scanners import acknowledge_domain
from constructs_lib._search_domain_security import (
    SECURITY_ENTRY,
    role_mapping,
    role_mapping_function,
    role_mapping_in,
    security_role,
)
from constructs_lib._search_domain_validation import (
    check_index_name,
    check_index_table,
    check_size,
    check_version,
    role_arn_of,
)
from constructs_lib._validation import PropErrors
from constructs_lib.composite_key_table import CompositeKeyTable
from constructs_lib.runtime import environment as env
from constructs_lib.serverless_function import ServerlessFunction

__all__ = ["ALARMS", "SECURITY_ENTRY", "SearchDomain", "SearchDomainSize"]

INDEXER_ENTRY = Path(__file__).resolve().parent / "functions" / "search_indexer"

# 2.19 is the last 2.x release: the newest engine whose APIs the indexer and the security-role
# mapping use unchanged, with standard support for years; 3.x is a major upgrade users opt into.
DEFAULT_ENGINE_VERSION = opensearch.EngineVersion.OPENSEARCH_2_19
# The oldest engine this construct configures: gp3 volumes, the TLS 1.2 PFS policy, audit logs and
# the _plugins/_security API all need OpenSearch 2.x; Elasticsearch and 1.x are on extended support.
MIN_ENGINE_VERSION = (2, 3)
# Dashboards users get read-only access to every index plus the Dashboards UI; map more in Dashboards.
DEFAULT_DASHBOARDS_ROLES = ("kibana_user", "readall")
# The indexer writes documents and creates the index (with dynamic mapping) on the first write.
INDEXER_INDEX_ACTIONS = ("crud", "create_index", "indices:admin/mapping/put")
INDEXER_CLUSTER_ACTIONS = ("indices:data/write/bulk",)
SEARCH_INDEX_ACTIONS = ("read",)
SEARCH_CLUSTER_ACTIONS = ("cluster_composite_ops_ro",)
# Stream batches: 100 records make one bulk request of well under OpenSearch's 10 MB default limit.
DEFAULT_INDEX_BATCH_SIZE = 100
DEFAULT_INDEXER_TIMEOUT = _resolved.seconds(30)  # one bulk request of 100 documents, with headroom
_DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{2,27}$")
_COGNITO_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_COGNITO_RESERVED = ("aws", "amazon", "cognito")
_LOGS_ENCRYPTION_REASON = (
    "CloudWatch Logs encrypts the domain's application, slow and audit logs at rest with keys it manages; "
    "they record requests over documents indexed from the app's own tables, not credentials, and a "
    "customer-managed key would add a key policy for the Logs service without protecting more."
)


@cache
def _index_writes_blocked_period() -> Duration:
    """One minute, aws-cdk-lib's default for that one metric: made on first use, not at import."""
    return Duration.minutes(1)


@dataclass(frozen=True)
class SearchDomainSize:
    """Node counts, instance types and storage of a domain.

    Start from `dev()` or `production()` and change any value with ``dataclasses.replace`` or
    `with_`, e.g. ``SearchDomainSize.production().with_(data_nodes=6)``. `availability_zones` of
    1 turns zone awareness off; 2 or 3 spread the data nodes (a multiple of it) over that many
    zones. `master_nodes` 0 means no dedicated master nodes, otherwise at least 3.
    """

    data_nodes: int
    data_node_instance_type: str
    volume_size_gib: int
    availability_zones: int = 1
    master_nodes: int = 0
    master_node_instance_type: str | None = None
    multi_az_with_standby: bool = False

    @classmethod
    def dev(cls) -> SearchDomainSize:
        """One small burstable node in one zone with 10 GiB of gp3: for development, no redundancy."""
        return cls(data_nodes=1, data_node_instance_type="t3.small.search", volume_size_gib=10)

    @classmethod
    def production(cls) -> SearchDomainSize:
        """Three memory-optimized data nodes over 3 zones with a standby zone and 3 dedicated masters."""
        return cls(
            data_nodes=3,
            data_node_instance_type="r6g.large.search",
            volume_size_gib=100,
            availability_zones=3,
            master_nodes=3,
            master_node_instance_type="m6g.large.search",
            multi_az_with_standby=True,
        )

    def with_(self, **changes: Any) -> SearchDomainSize:
        """A copy with `changes` applied."""
        return dataclasses.replace(self, **changes)


class SearchDomain(Construct):
    """An OpenSearch domain behind IAM and fine-grained access control, with Cognito Dashboards.

    Defaults: OpenSearch 2.19; `SearchDomainSize.dev()`; AWS-owned encryption at rest;
    node-to-node encryption; HTTPS only with ``Policy-Min-TLS-1-2-PFS-2023-10``; no resource
    policy (only roles granted here may call it); fine-grained access control with an IAM master
    role; application, slow search, slow index and audit logs kept one year; RETAIN; Cognito MFA
    required with TOTP, the ESSENTIALS feature plan, email-only recovery; Dashboards users mapped
    to ``kibana_user`` and ``readall``; no alarms.

    `cognito_domain_prefix` names the Cognito hosted sign-in domain (globally unique per region).

    `vpc` places the domain in a VPC (default: public endpoint, IAM-protected). It then sits in
    one subnet per zone of `vpc_subnets` (default: the private subnets with egress) for as many
    zones as `size.availability_zones`, behind `security_groups` (default: one new group with no
    rules but HTTPS ingress from the role-mapping function and each indexer, and no egress). Those
    functions run in the same VPC and subnets. Other clients need to be in the VPC too, and
    admitted with `allow_from`; Dashboards is then reachable only from inside the VPC.

    Attributes: `domain`, `user_pool`, `user_pool_domain`, `identity_pool` (a `CfnIdentityPool`),
    `authenticated_role`, `cognito_service_role`, `master_role` (the role-mapping function's
    role), `log_groups` (by log type), `dashboards_url`, `endpoint` (``https://host``), `alarms`,
    `security_groups` (empty without a VPC), `connections` (only in a VPC).

    Alarms (`alarms=True`; `alarm_settings` changes them by name; `ALARMS` holds the defaults):
    ``cluster_red``, ``free_storage`` (25 % of a node's volume, in MB) and ``index_writes_blocked``
    (critical); ``cluster_yellow``, ``cpu``, ``jvm_memory_pressure`` and ``snapshot_failure``
    (warning). Missing data keeps the alarm's state, except for ``cluster_red``, where it breaches.

    Protections: a `removal_policy` other than RETAIN deletes the indexes with the stack, so it needs
    `disposable_data_reason`: one sentence saying why they are disposable (for instance, rebuilt
    from the tables by the indexers); it is written into the domain's template Metadata.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cognito_domain_prefix: str,
        domain_name: str | None = None,
        version: opensearch.EngineVersion = DEFAULT_ENGINE_VERSION,
        size: SearchDomainSize | None = None,
        mfa: cognito.Mfa = cognito.Mfa.REQUIRED,
        feature_plan: cognito.FeaturePlan = cognito.FeaturePlan.ESSENTIALS,
        dashboards_roles: Sequence[str] = DEFAULT_DASHBOARDS_ROLES,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
        alarms: bool = False,
        alarm_topic: sns.ITopic | None = None,
        alarm_settings: AlarmSettings | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] = (),
    ) -> None:
        size = size or SearchDomainSize.dev()
        errors = PropErrors(scope, construct_id)
        if domain_name is not None:
            errors.check(
                bool(_DOMAIN_NAME.match(domain_name)),
                "domain_name",
                f"'{domain_name}' must be 3-28 characters of a-z, 0-9 and '-', starting with a letter; "
                "or leave it unset for a generated name",
            )
        errors.check(
            bool(_COGNITO_PREFIX.match(cognito_domain_prefix))
            and not any(word in cognito_domain_prefix for word in _COGNITO_RESERVED),
            "cognito_domain_prefix",
            f"'{cognito_domain_prefix}' must be 1-63 characters of a-z, 0-9 and '-' (not at either end) "
            f"without the reserved words {', '.join(_COGNITO_RESERVED)}",
        )
        check_version(errors, version, MIN_ENGINE_VERSION)
        errors.check(
            mfa != cognito.Mfa.OFF,
            "mfa",
            "Dashboards sign-in needs a second factor; use Mfa.REQUIRED or Mfa.OPTIONAL",
        )
        errors.check(
            feature_plan != cognito.FeaturePlan.LITE,
            "feature_plan",
            "use FeaturePlan.ESSENTIALS or FeaturePlan.PLUS (LITE lacks the managed login features "
            "Dashboards users get)",
        )
        check_retention(errors, "log_retention", log_retention)
        errors.check(
            alarms or alarm_topic is None,
            "alarm_topic",
            "is the action of the domain's alarms; set alarms=True or remove it",
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the domain's"
        )
        check_size(errors, size)
        subnets = domain_subnets(errors, size, vpc, vpc_subnets, security_groups)
        check_disposable(
            errors, weakened_removal_policy(removal_policy), disposable_data_reason, "the domain's indexes"
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self.size = size
        # The indexers join the domain's VPC and keep their logs as long as the domain's own.
        self._vpc, self._vpc_subnets, self._log_retention = vpc, vpc_subnets, log_retention
        self._path = self.to_string()  # this construct's path, in one jsii call, for every description
        self.security_groups = domain_security_groups(self, self._path, vpc, security_groups)
        self._roles: dict[str, dict[str, Any]] = {}
        self._mappings: dict[str, list[str]] = {}
        self._indexed: set[str] = set()

        sign_in = dashboards_sign_in(self, self._path, cognito_domain_prefix, mfa, feature_plan)
        self.user_pool, self.user_pool_domain = sign_in.user_pool, sign_in.user_pool_domain
        self.identity_pool = sign_in.identity_pool
        self.authenticated_role = sign_in.authenticated_role
        self.cognito_service_role = sign_in.cognito_service_role

        self.log_groups = {
            kind: retained_log_group(
                self,
                f"{kind}Logs",
                retention=log_retention,
                encryption_reason=_LOGS_ENCRYPTION_REASON,
                scope_path=self._path,
            )
            for kind in ("Application", "SlowSearch", "SlowIndex", "Audit")
        }
        # Our own resource policy instead of the CDK's custom resource: no extra Lambda function, and
        # scoped to exactly these log groups.
        logs_policy = logs.ResourcePolicy(
            self,
            "LogsResourcePolicy",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:PutLogEvents", "logs:CreateLogStream"],
                    resources=[group.log_group_arn for group in self.log_groups.values()],
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                )
            ],
        )

        security = role_mapping_function(self, self._path, log_retention, vpc, vpc_subnets)
        self.master_role = security.role
        self._security = security

        self.domain = opensearch.Domain(
            self,
            "Domain",
            version=version,
            domain_name=domain_name,
            capacity=opensearch.CapacityConfig(
                data_nodes=size.data_nodes,
                data_node_instance_type=size.data_node_instance_type,
                master_nodes=size.master_nodes or None,
                master_node_instance_type=size.master_node_instance_type,
                # Explicit: the repository's feature flag would otherwise turn standby on for every domain.
                multi_az_with_standby_enabled=size.multi_az_with_standby,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=size.availability_zones > 1,
                availability_zone_count=size.availability_zones if size.availability_zones > 1 else None,
            ),
            ebs=opensearch.EbsOptions(
                volume_size=size.volume_size_gib, volume_type=ec2.EbsDeviceVolumeType.GP3
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.master_role.role_arn
            ),
            logging=opensearch.LoggingOptions(
                app_log_enabled=True,
                app_log_group=self.log_groups["Application"],
                slow_search_log_enabled=True,
                slow_search_log_group=self.log_groups["SlowSearch"],
                slow_index_log_enabled=True,
                slow_index_log_group=self.log_groups["SlowIndex"],
                audit_log_enabled=True,
                audit_log_group=self.log_groups["Audit"],
            ),
            suppress_logs_resource_policy=True,
            cognito_dashboards_auth=opensearch.CognitoOptions(
                identity_pool_id=sign_in.identity_pool_id,
                user_pool_id=self.user_pool.user_pool_id,
                role=self.cognito_service_role,
            ),
            enable_auto_software_update=True,
            removal_policy=removal_policy,
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=subnets)] if vpc is not None else None,
            security_groups=self.security_groups or None,
        )
        self._domain_arn = self.domain.domain_arn  # read through jsii once, for every grant and indexer
        self.domain.node.add_dependency(logs_policy)
        record_reason(self.domain, disposable_data_reason)
        acknowledge_domain(self.domain, in_vpc=self._vpc is not None, size=size)
        if vpc is not None:
            self.allow_from(security.function)

        self.endpoint = f"https://{self.domain.domain_endpoint}"
        self.dashboards_url = f"{self.endpoint}/_dashboards/"
        CfnOutput(
            self,
            "DashboardsUrl",
            value=self.dashboards_url,
            description="OpenSearch Dashboards sign-in"
            + (", reachable only from inside the domain's VPC" if vpc is not None else ""),
        )

        self._mappings.update({role: [sign_in.authenticated_role_arn] for role in dashboards_roles})
        role_mapping(
            self,
            security,
            self.domain,
            self._domain_arn,
            self.endpoint,
            roles=lambda: self._roles,
            mappings=lambda: self._mappings,
            security_groups=self.security_groups,
        )

        self.alarms: dict[str, cloudwatch.Alarm] = (
            add_alarms(self, size.volume_size_gib, alarm_topic, alarm_settings) if alarms else {}
        )

    # --- Metrics ---------------------------------------------------------------------------------

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """The domain's AWS/ES metric `metric_name` (dimensions ``DomainName`` and ``ClientId``), over
        `period` (five minutes by default). Every alarm and dashboard graph of this domain gets its
        metric here."""
        return _metrics.search_domain(self.domain).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def metric_cluster_status_red(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """1 while a primary shard is unassigned, at most: the ``cluster_red`` alarm's metric."""
        return self.metric("ClusterStatus.red", statistic=statistic, period=period, label=label)

    def metric_cluster_status_yellow(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """1 while a replica shard is unassigned, at most: the ``cluster_yellow`` alarm's metric."""
        return self.metric("ClusterStatus.yellow", statistic=statistic, period=period, label=label)

    def metric_free_storage_space(
        self, *, statistic: str = "Minimum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Free storage of the fullest node (MB), at least: the ``free_storage`` alarm's metric."""
        return self.metric("FreeStorageSpace", statistic=statistic, period=period, label=label)

    def metric_cluster_index_writes_blocked(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """1 while the cluster blocks writes, at most, over one minute unless `period` says otherwise (as
        aws-cdk-lib's): the ``index_writes_blocked`` alarm's metric."""
        period = period or _index_writes_blocked_period()
        return self.metric("ClusterIndexWritesBlocked", statistic=statistic, period=period, label=label)

    def metric_cpu_utilization(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Data nodes' CPU (%), at most: the ``cpu`` alarm's metric."""
        return self.metric("CPUUtilization", statistic=statistic, period=period, label=label)

    def metric_jvm_memory_pressure(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """JVM memory pressure (%), at most: the ``jvm_memory_pressure`` alarm's metric."""
        return self.metric("JVMMemoryPressure", statistic=statistic, period=period, label=label)

    def metric_automated_snapshot_failure(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """1 when an automated snapshot failed, at most: the ``snapshot_failure`` alarm's metric."""
        return self.metric("AutomatedSnapshotFailure", statistic=statistic, period=period, label=label)

    def metric_threadpool_write_rejected(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Write requests the cluster rejected, summed."""
        return self.metric("ThreadpoolWriteRejected", statistic=statistic, period=period, label=label)

    # --- Access ----------------------------------------------------------------------------------

    @property
    def connections(self) -> ec2.Connections:
        """The domain's security groups, default port 443. Only for a domain in a VPC."""
        self._require_vpc("connections")
        return self.domain.connections

    def allow_from(self, peer: ec2.IConnectable) -> None:
        """Let `peer` (e.g. a function in the domain's VPC) reach the domain on HTTPS (TCP 443) only.

        This opens the network path; `grant_search` gives the permission. A function outside the
        VPC cannot reach a domain inside it at all. Only the domain's ingress rules are added: the
        peer's security groups must allow HTTPS out (`ServerlessFunction`'s own group does).
        """
        self._require_vpc("allow_from")
        allow_https(self._path, self.security_groups, peer)

    def _require_vpc(self, prop: str) -> None:
        errors = PropErrors(self)
        errors.check(
            self._vpc is not None,
            prop,
            "the domain is not in a VPC, so it has no security group: its public endpoint is reached over "
            "HTTPS with IAM; set vpc to place it in one",
        )
        errors.raise_if_any()

    def _add_role(self, name: str, body: dict[str, Any], arn: str) -> None:
        self._roles[name] = body
        self._mappings.setdefault(name, [])
        if arn not in self._mappings[name]:
            self._mappings[name].append(arn)

    def grant_search(self, grantee: iam.IGrantable, index_name: str) -> iam.Grant:
        """Read-only query access to `index_name`: IAM ``es:ESHttpGet``/``es:ESHttpPost`` on the
        index's paths, and an OpenSearch role with ``read`` on that index mapped to `grantee`'s role.

        A grantee in another stack gets its own reader role and mapping, applied by a custom
        resource in the grantee's stack: listing its role in this stack's mappings would make the
        two stacks reference each other.
        """
        errors = PropErrors(self)
        check_index_name(errors, "grant_search.index_name", index_name)
        role_arn = role_arn_of(errors, "grant_search.grantee", grantee)
        errors.raise_if_any()
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["es:ESHttpGet", "es:ESHttpPost"],
            resource_arns=[
                f"{self._domain_arn}/{index_name}/_search",
                f"{self._domain_arn}/{index_name}/_count",
            ],
        )
        reader = security_role(index_name, SEARCH_INDEX_ACTIONS, SEARCH_CLUSTER_ACTIONS)
        principal = principal_in_another_stack(grantee, self)
        if principal is not None:
            principal_id = Names.unique_id(principal)
            role_name = f"search-reader-{index_name}-{principal_id[-8:].lower()}"
            access_id = f"SearchAccess{principal_id}{Names.unique_id(self)}{index_name}"
            access = role_mapping_in(
                Stack.of(principal),
                access_id,
                self._security,
                self.endpoint,
                role=role_name,
                body=reader,
                arn=role_arn,
            )
            access.node.add_dependency(principal)
        else:
            self._add_role(f"search-reader-{index_name}", reader, role_arn)
        return grant

    def search_environment(self, index_name: str) -> dict[str, str]:
        """SEARCH_DOMAIN_ENDPOINT (``https://host``) and SEARCH_INDEX for `OpenSearchClient`."""
        errors = PropErrors(self)
        check_index_name(errors, "search_environment.index_name", index_name)
        errors.raise_if_any()
        return {env.SEARCH_DOMAIN_ENDPOINT: self.endpoint, env.SEARCH_INDEX: index_name}

    def index_table(
        self,
        table: CompositeKeyTable,
        *,
        index_name: str,
        id_attribute: str,
        batch_size: int = DEFAULT_INDEX_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        timeout: Duration = DEFAULT_INDEXER_TIMEOUT,
        construct_id: str | None = None,
    ) -> ServerlessFunction:
        """Keep `index_name` in sync with `table`'s stream; return the indexer function.

        INSERT and MODIFY index the new image under the value of `id_attribute`; REMOVE deletes
        that id. The table needs a stream with new images (NEW_AND_OLD_IMAGES when `id_attribute`
        is not a key attribute, so that deletes can find it). Records the domain rejects are
        retried by the table's safe stream consumer and then land in its on-failure queue.
        """
        construct_id = construct_id or f"Indexer-{index_name}"
        errors = PropErrors(self, construct_id)
        check_index_name(errors, "index_name", index_name)
        check_index_table(
            errors, table, index_name=index_name, id_attribute=id_attribute, indexed=self._indexed
        )
        errors.raise_if_any()

        indexer = ServerlessFunction(
            self,
            construct_id,
            entry=INDEXER_ENTRY,
            handler="indexer.handler",
            include_runtime_helpers=True,
            description=f"Indexes {path_of(table)} into OpenSearch index {index_name}",
            timeout=timeout,
            environment={**self.search_environment(index_name), env.SEARCH_ID_ATTRIBUTE: id_attribute},
            log_retention=self._log_retention,
            vpc=self._vpc,
            vpc_subnets=self._vpc_subnets,
        )
        if self._vpc is not None:
            self.allow_from(indexer.function)
        indexer.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                resources=[
                    f"{self._domain_arn}/{index_name}",
                    f"{self._domain_arn}/{index_name}/*",
                    f"{self._domain_arn}/_bulk",
                ],
            )
        )
        self._add_role(
            f"search-writer-{index_name}",
            security_role(index_name, INDEXER_INDEX_ACTIONS, INDEXER_CLUSTER_ACTIONS),
            indexer.role.role_arn,
        )
        table.add_stream_consumer(
            indexer.function, batch_size=batch_size, max_batching_window=max_batching_window
        )
        acknowledge_wildcard_resource(
            indexer.role.node.find_child("DefaultPolicy"),
            f"{self._domain_arn}/{index_name}/*",
            f"Document paths under index {index_name} (/_doc/<id>, /_bulk) are only known at run time; "
            "the grant stops at this one index.",
        )
        self._indexed.add(index_name)
        return indexer
