"""SearchDomain: OpenSearch with Cognito Dashboards, stream indexing, read grants and alarms."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.composite_key_table import CompositeKeyTable
from constructs_lib.search_domain import SearchDomain, SearchDomainSize
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import (
    cfn_lint_findings,
    new_app,
    new_isolated_vpc,
    new_stack,
    new_vpc,
    normalized,
    synth_templates,
)

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
SEARCH_ENVIRONMENT: dict[str, dict[str, Any]] = {}  # filled by the module fixture, resolved


def _images_table(stack: Stack, stream: dynamodb.StreamViewType | None) -> CompositeKeyTable:
    return CompositeKeyTable(
        stack,
        "Images",
        partition_key=dynamodb.Attribute(name="groupId", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="timestamp", type=dynamodb.AttributeType.NUMBER),
        stream=stream,
    )


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    app = new_app()

    dev = new_stack(app, "Dev")
    table = _images_table(dev, dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
    search = SearchDomain(dev, "Search", cognito_domain_prefix="images-search-dev")
    search.index_table(table, index_name="images", id_attribute="imageId")
    api = ServerlessFunction(dev, "SearchApi", entry=ECHO, environment=search.search_environment("images"))
    search.grant_search(api.function, "images")
    SEARCH_ENVIRONMENT["Dev"] = dev.resolve(search.search_environment("images"))

    production = new_stack(app, "Production")
    topic = sns.Topic(
        production,
        "Alarms",
        enforce_ssl=True,
        master_key=kms.Alias.from_alias_name(production, "SnsKey", "alias/aws/sns"),
    )
    production_search = SearchDomain(
        production,
        "Search",
        cognito_domain_prefix="images-search",
        domain_name="images-search",
        size=SearchDomainSize.production().with_(data_nodes=6),
        mfa=cognito.Mfa.OPTIONAL,
        feature_plan=cognito.FeaturePlan.PLUS,
        dashboards_roles=("kibana_user",),
        log_retention=logs.RetentionDays.THREE_MONTHS,
        alarms=True,
        alarm_topic=topic,
    )
    production_search.index_table(
        _images_table(production, dynamodb.StreamViewType.NEW_AND_OLD_IMAGES),
        index_name="images",
        id_attribute="imageId",
    )

    # Environment-agnostic VPC stacks: zones stay Fn::GetAZs (two of them) instead of hardcoded dummies,
    # which cfn-lint flags (W3010).
    private = Stack(app, "Private")
    vpc = _test_vpc(private)
    private_search = SearchDomain(private, "Search", cognito_domain_prefix="images-search-vpc", vpc=vpc)
    private_search.index_table(
        _images_table(private, dynamodb.StreamViewType.NEW_AND_OLD_IMAGES),
        index_name="images",
        id_attribute="imageId",
    )
    # A reader in another stack, as in the reference app: its grant and its ingress rule both live there.
    reader = ServerlessFunction(Stack(app, "PrivateApi"), "SearchApi", entry=ECHO, vpc=vpc)
    private_search.grant_search(reader.function, "images")
    private_search.allow_from(reader.function)

    options = Stack(app, "VpcOptions")
    options_vpc = _test_vpc(options, search_subnets=True)
    given = ec2.SecurityGroup(options, "Given", vpc=options_vpc, description="Chosen by the caller")
    SearchDomain(
        options,
        "Search",
        cognito_domain_prefix="images-search-options",
        size=SearchDomainSize.dev().with_(data_nodes=2, availability_zones=2),
        vpc=options_vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="Search"),
        security_groups=[given],
    )
    return synth_templates(app)


def _test_vpc(stack: Stack, *, search_subnets: bool = False) -> ec2.Vpc:
    """A VPC over up to three zones, optionally with extra private subnets for the domain."""
    extra = [ec2.SubnetConfiguration(name="Search", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)]
    return new_vpc(stack, max_azs=3, extra_subnets=extra if search_subnets else ())


@pytest.fixture(scope="module")
def dev(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Dev"])


@pytest.fixture(scope="module")
def production(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Production"])


def _only(template: Template, resource_type: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    found = template.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return dict(next(iter(found.values())))


def _domain(template: Template) -> dict[str, Any]:
    return dict(_only(template, "AWS::OpenSearchService::Domain")["Properties"])


def _logical_id(template: Template, resource_type: str, prefix: str) -> str:
    (logical_id,) = [key for key in template.find_resources(resource_type) if key.startswith(prefix)]
    return logical_id


# --- The domain -----------------------------------------------------------------------------------


def test_current_opensearch_engine(dev: Template) -> None:
    assert _domain(dev)["EngineVersion"] == "OpenSearch_2.19"


def test_encrypted_at_rest_and_between_nodes(dev: Template) -> None:
    props = _domain(dev)
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}


def test_https_only_with_tls_1_2_and_forward_secrecy(dev: Template) -> None:
    assert _domain(dev)["DomainEndpointOptions"] == {
        "EnforceHTTPS": True,
        "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10",
    }


def test_fine_grained_access_control_with_an_iam_master_role_and_no_password(dev: Template) -> None:
    security = _domain(dev)["AdvancedSecurityOptions"]
    assert security["Enabled"] is True
    assert security["InternalUserDatabaseEnabled"] is False
    master = _logical_id(dev, "AWS::IAM::Role", "SearchSecurityConfigServiceRole")
    assert security["MasterUserOptions"] == {"MasterUserARN": {"Fn::GetAtt": [master, "Arn"]}}
    dev.resource_count_is("AWS::SecretsManager::Secret", 0)


def test_no_resource_policy_opens_the_domain(dev: Template, production: Template) -> None:
    for template in (dev, production):
        assert "AccessPolicies" not in _domain(template)


def test_all_four_logs_are_published_to_log_groups_kept_one_year(dev: Template) -> None:
    publishing = _domain(dev)["LogPublishingOptions"]
    assert set(publishing) == {"ES_APPLICATION_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "AUDIT_LOGS"}
    for option in publishing.values():
        assert option["Enabled"] is True
        (group,) = [option["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0]]
        resource = dev.to_json()["Resources"][group]
        assert resource["Properties"]["RetentionInDays"] == 365
        assert resource["DeletionPolicy"] == "Retain"


def test_log_retention_option(production: Template) -> None:
    for option in _domain(production)["LogPublishingOptions"].values():
        group = option["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0]
        assert production.to_json()["Resources"][group]["Properties"]["RetentionInDays"] == 90


def test_log_retention_reaches_the_indexer_and_role_mapping_functions(production: Template) -> None:
    functions = production.find_resources("AWS::Lambda::Function")
    groups = production.find_resources("AWS::Logs::LogGroup")
    function_groups = {
        properties["LoggingConfig"]["LogGroup"]["Ref"]
        for properties in (f["Properties"] for f in functions.values())
        if "LoggingConfig" in properties
    }
    assert {g[: -len("LogGroupXXXXXXXX")] for g in function_groups} == {
        "SearchSecurityConfig",
        "SearchIndexerimages",
    }
    for group in function_groups:
        assert groups[group]["Properties"]["RetentionInDays"] == 90, group


def test_opensearch_may_write_only_to_its_own_log_groups(dev: Template) -> None:
    policy = _only(dev, "AWS::Logs::ResourcePolicy")["Properties"]["PolicyDocument"]
    assert '"Service":"es.amazonaws.com"' in str(policy).replace(" ", "").replace("'", '"')
    assert "logs:PutLogEvents" in str(policy)
    assert '"Resource":"*"' not in str(policy).replace(" ", "").replace("'", '"')
    domain_id = _logical_id(dev, "AWS::OpenSearchService::Domain", "SearchDomain")
    assert dev.to_json()["Resources"][domain_id]["DependsOn"] == [
        _logical_id(dev, "AWS::Logs::ResourcePolicy", "SearchLogsResourcePolicy")
    ]


def test_the_domain_outlives_the_stack(dev: Template) -> None:
    dev.has_resource(
        "AWS::OpenSearchService::Domain", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )


def test_dev_preset_is_one_small_node_without_zone_awareness(dev: Template) -> None:
    props = _domain(dev)
    assert props["ClusterConfig"] == {
        "DedicatedMasterEnabled": False,
        "InstanceCount": 1,
        "InstanceType": "t3.small.search",
        "MultiAZWithStandbyEnabled": False,
        "ZoneAwarenessEnabled": False,
    }
    assert props["EBSOptions"] == {"EBSEnabled": True, "VolumeSize": 10, "VolumeType": "gp3"}


def test_production_preset_spreads_over_three_zones_with_dedicated_masters(production: Template) -> None:
    props = _domain(production)
    assert props["ClusterConfig"] == {
        "DedicatedMasterCount": 3,
        "DedicatedMasterEnabled": True,
        "DedicatedMasterType": "m6g.large.search",
        "InstanceCount": 6,
        "InstanceType": "r6g.large.search",
        "MultiAZWithStandbyEnabled": True,
        "ZoneAwarenessConfig": {"AvailabilityZoneCount": 3},
        "ZoneAwarenessEnabled": True,
    }
    assert props["EBSOptions"]["VolumeSize"] == 100
    assert props["DomainName"] == "images-search"


def test_size_presets_can_be_overridden() -> None:
    size = SearchDomainSize.dev().with_(volume_size_gib=20)
    assert (size.data_nodes, size.volume_size_gib) == (1, 20)
    assert SearchDomainSize.production().availability_zones == 3


def test_dashboards_url_is_a_stack_output(dev: Template) -> None:
    domain_id = _logical_id(dev, "AWS::OpenSearchService::Domain", "SearchDomain")
    outputs = dev.find_outputs("*")
    (output,) = [value for key, value in outputs.items() if key.startswith("SearchDashboardsUrl")]
    assert output["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [domain_id, "DomainEndpoint"]}, "/_dashboards/"]]
    }


# --- Cognito ----------------------------------------------------------------------------------------


def test_user_pool_is_invitation_only_with_a_strong_password_policy(dev: Template) -> None:
    props = _only(dev, "AWS::Cognito::UserPool")["Properties"]
    assert props["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert props["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercase": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert props["AccountRecoverySetting"] == {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }
    assert props["DeletionProtection"] == "ACTIVE"
    dev.has_resource("AWS::Cognito::UserPool", {"DeletionPolicy": "Retain"})


def test_mfa_is_required_by_default_with_totp_and_optional_on_request(
    dev: Template, production: Template
) -> None:
    dev_pool = _only(dev, "AWS::Cognito::UserPool")["Properties"]
    assert (dev_pool["MfaConfiguration"], dev_pool["EnabledMfas"]) == ("ON", ["SOFTWARE_TOKEN_MFA"])
    assert _only(production, "AWS::Cognito::UserPool")["Properties"]["MfaConfiguration"] == "OPTIONAL"


def test_feature_plan_is_explicit_without_advanced_security_mode(dev: Template, production: Template) -> None:
    for template, tier in ((dev, "ESSENTIALS"), (production, "PLUS")):
        props = _only(template, "AWS::Cognito::UserPool")["Properties"]
        assert props["UserPoolTier"] == tier
        assert "UserPoolAddOns" not in props


def test_user_pool_domain_uses_the_prefix(dev: Template) -> None:
    dev.has_resource_properties("AWS::Cognito::UserPoolDomain", {"Domain": "images-search-dev"})


def test_identity_pool_refuses_guests_and_the_classic_flow(dev: Template) -> None:
    dev.has_resource_properties(
        "AWS::Cognito::IdentityPool", {"AllowUnauthenticatedIdentities": False, "AllowClassicFlow": False}
    )


def test_signed_in_users_get_the_authenticated_role(dev: Template) -> None:
    role_id = _logical_id(dev, "AWS::IAM::Role", "SearchAuthenticatedRole")
    pool_id = _logical_id(dev, "AWS::Cognito::IdentityPool", "SearchIdentityPool")
    dev.has_resource_properties(
        "AWS::Cognito::IdentityPoolRoleAttachment",
        {"IdentityPoolId": {"Ref": pool_id}, "Roles": {"authenticated": {"Fn::GetAtt": [role_id, "Arn"]}}},
    )
    trust = dev.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": {"Ref": pool_id}},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        }
    ]


def test_opensearch_configures_cognito_with_its_service_role(dev: Template) -> None:
    role_id = _logical_id(dev, "AWS::IAM::Role", "SearchCognitoServiceRole")
    role = dev.to_json()["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "opensearchservice.amazonaws.com"
    }
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonOpenSearchServiceCognitoAccess"],
            ]
        }
    ]
    cognito_options = _domain(dev)["CognitoOptions"]
    assert cognito_options["Enabled"] is True
    assert cognito_options["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert cognito_options["UserPoolId"] == {
        "Ref": _logical_id(dev, "AWS::Cognito::UserPool", "SearchUserPool")
    }


# --- Access -----------------------------------------------------------------------------------------


def _statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    role_id = _logical_id(template, "AWS::IAM::Role", role_prefix)
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _es_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in _statements(template, role_prefix)
        if any(action.startswith("es:") for action in _as_list(statement["Action"]))
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _domain_path(template: Template, path: str) -> dict[str, Any]:
    domain_id = _logical_id(template, "AWS::OpenSearchService::Domain", "SearchDomain")
    return {"Fn::Join": ["", [{"Fn::GetAtt": [domain_id, "Arn"]}, path]]}


def test_indexer_may_only_write_to_its_index(dev: Template) -> None:
    assert _es_statements(dev, "SearchIndexerimagesServiceRole") == [
        {
            "Action": ["es:ESHttpDelete", "es:ESHttpPost", "es:ESHttpPut"],
            "Effect": "Allow",
            "Resource": [
                _domain_path(dev, "/_bulk"),
                _domain_path(dev, "/images"),
                _domain_path(dev, "/images/*"),
            ],
        }
    ]


def test_indexer_function_runs_the_bundled_handler_with_search_settings(dev: Template) -> None:
    role_id = _logical_id(dev, "AWS::IAM::Role", "SearchIndexerimagesServiceRole")
    props = _only(dev, "AWS::Lambda::Function", {"Role": {"Fn::GetAtt": [role_id, "Arn"]}})["Properties"]
    assert props["Handler"] == "indexer.handler"
    assert props["Timeout"] == 30
    variables = props["Environment"]["Variables"]
    assert variables["SEARCH_INDEX"] == "images"
    assert variables["SEARCH_ID_ATTRIBUTE"] == "imageId"
    assert variables["SEARCH_DOMAIN_ENDPOINT"] == {
        "Fn::Join": [
            "",
            [
                "https://",
                {
                    "Fn::GetAtt": [
                        _logical_id(dev, "AWS::OpenSearchService::Domain", "SearchDomain"),
                        "DomainEndpoint",
                    ]
                },
            ],
        ]
    }


def test_indexer_consumes_the_stream_through_the_safe_consumer(dev: Template) -> None:
    dev.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 100,
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_search_grant_is_read_only_on_one_index(dev: Template) -> None:
    assert _es_statements(dev, "SearchApiServiceRole") == [
        {
            "Action": ["es:ESHttpGet", "es:ESHttpPost"],
            "Effect": "Allow",
            "Resource": [_domain_path(dev, "/images/_count"), _domain_path(dev, "/images/_search")],
        }
    ]


def test_search_environment_names_the_endpoint_and_index() -> None:
    environment = SEARCH_ENVIRONMENT["Dev"]
    assert environment["SEARCH_INDEX"] == "images"
    assert environment["SEARCH_DOMAIN_ENDPOINT"]["Fn::Join"][1][0] == "https://"
    assert set(environment) == {"SEARCH_DOMAIN_ENDPOINT", "SEARCH_INDEX"}


def test_iam_roles_are_mapped_to_least_privilege_opensearch_roles(dev: Template) -> None:
    props = _only(dev, "Custom::OpenSearchSecurityRoles")["Properties"]
    assert props["Roles"] == {
        "search-writer-images": {
            "cluster_permissions": ["indices:data/write/bulk"],
            "index_permissions": [
                {
                    "index_patterns": ["images"],
                    "allowed_actions": ["crud", "create_index", "indices:admin/mapping/put"],
                }
            ],
        },
        "search-reader-images": {
            "cluster_permissions": ["cluster_composite_ops_ro"],
            "index_permissions": [{"index_patterns": ["images"], "allowed_actions": ["read"]}],
        },
    }

    def arn(prefix: str) -> dict[str, Any]:
        return {"Fn::GetAtt": [_logical_id(dev, "AWS::IAM::Role", prefix), "Arn"]}

    assert props["Mappings"] == {
        "kibana_user": [arn("SearchAuthenticatedRole")],
        "readall": [arn("SearchAuthenticatedRole")],
        "search-writer-images": [arn("SearchIndexerimagesServiceRole")],
        "search-reader-images": [arn("SearchApiServiceRole")],
    }


def test_dashboards_roles_option(production: Template) -> None:
    mappings = _only(production, "Custom::OpenSearchSecurityRoles")["Properties"]["Mappings"]
    assert set(mappings) == {"kibana_user", "search-writer-images"}  # no "readall" for Dashboards users


def test_role_mapping_runs_after_the_domain_as_its_master_user(dev: Template) -> None:
    custom = _only(dev, "Custom::OpenSearchSecurityRoles")
    assert custom["DependsOn"] == [_logical_id(dev, "AWS::OpenSearchService::Domain", "SearchDomain")]
    assert _es_statements(dev, "SearchSecurityConfigServiceRole") == [
        {
            "Action": ["es:ESHttpDelete", "es:ESHttpGet", "es:ESHttpPatch", "es:ESHttpPut"],
            "Effect": "Allow",
            "Resource": [
                _domain_path(dev, "/_plugins/_security/api/roles/*"),
                _domain_path(dev, "/_plugins/_security/api/rolesmapping/*"),
            ],
        }
    ]


# --- Alarms -----------------------------------------------------------------------------------------


def test_no_alarms_by_default(dev: Template) -> None:
    dev.resource_count_is("AWS::CloudWatch::Alarm", 0)


@pytest.mark.parametrize(
    ("metric", "threshold", "operator"),
    [
        ("ClusterStatus.red", 1, "GreaterThanOrEqualToThreshold"),
        ("ClusterStatus.yellow", 1, "GreaterThanOrEqualToThreshold"),
        ("FreeStorageSpace", 25600, "LessThanOrEqualToThreshold"),
        ("ClusterIndexWritesBlocked", 1, "GreaterThanOrEqualToThreshold"),
        ("CPUUtilization", 80, "GreaterThanOrEqualToThreshold"),
        ("JVMMemoryPressure", 95, "GreaterThanOrEqualToThreshold"),
        ("AutomatedSnapshotFailure", 1, "GreaterThanOrEqualToThreshold"),
    ],
)
def test_alarms_watch_the_domain_metrics_with_its_dimensions(
    production: Template, metric: str, threshold: float, operator: str
) -> None:
    domain_id = _logical_id(production, "AWS::OpenSearchService::Domain", "SearchDomain")
    topic_id = _logical_id(production, "AWS::SNS::Topic", "Alarms")
    production.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/ES",
            "MetricName": metric,
            "Threshold": threshold,
            "ComparisonOperator": operator,
            "Dimensions": Match.array_with(
                [
                    {"Name": "ClientId", "Value": "111111111111"},
                    {"Name": "DomainName", "Value": {"Ref": domain_id}},
                ]
            ),
            "AlarmActions": [{"Ref": topic_id}],
        },
    )


def test_seven_alarms(production: Template) -> None:
    production.resource_count_is("AWS::CloudWatch::Alarm", 7)


# --- VPC placement --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def private(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Private"])


@pytest.fixture(scope="module")
def vpc_options(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["VpcOptions"])


def _prefixes(refs: list[dict[str, Any]]) -> list[str]:
    """The logical ids behind Ref / Fn::GetAtt values, without their 8-character hash."""
    return [(ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0])[:-8] for ref in refs]


def _function_vpc_config(template: Template, role_prefix: str) -> dict[str, Any]:
    role_id = _logical_id(template, "AWS::IAM::Role", role_prefix)
    function = _only(template, "AWS::Lambda::Function", {"Role": {"Fn::GetAtt": [role_id, "Arn"]}})
    return dict(function["Properties"]["VpcConfig"])


def test_no_vpc_by_default(dev: Template) -> None:
    assert "VPCOptions" not in _domain(dev)
    dev.resource_count_is("AWS::EC2::SecurityGroup", 0)


def test_domain_sits_in_one_private_subnet_per_zone_behind_its_own_group(private: Template) -> None:
    options = _domain(private)["VPCOptions"]
    # The dev size uses one zone: OpenSearch wants exactly one subnet per zone.
    assert _prefixes(options["SubnetIds"]) == ["VpcPrivateSubnet1Subnet"]
    assert _prefixes(options["SecurityGroupIds"]) == ["SearchSecurityGroup"]


def test_domain_group_admits_only_https_from_its_functions_and_sends_nothing(private: Template) -> None:
    group_id = _logical_id(private, "AWS::EC2::SecurityGroup", "SearchSecurityGroup")
    group = private.to_json()["Resources"][group_id]["Properties"]
    assert "SecurityGroupIngress" not in group
    # The CDK's placeholder for "no egress": a rule that matches no traffic.
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    rules = [
        rule["Properties"]
        for rule in private.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert sorted(_prefixes([rule["SourceSecurityGroupId"] for rule in rules])) == [
        "SearchIndexerimagesSecurityGroup",
        "SearchSecurityConfigSecurityGroup",
    ]
    for rule in rules:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    # No egress rules: the functions' own groups already allow HTTPS out.
    private.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)


def test_a_reader_in_another_stack_holds_its_ingress_rule(templates: dict[str, dict[str, Any]]) -> None:
    api = Template.from_json(templates["PrivateApi"])
    (rule,) = [
        resource["Properties"] for resource in api.find_resources("AWS::EC2::SecurityGroupIngress").values()
    ]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    assert _prefixes([rule["SourceSecurityGroupId"]]) == ["SearchApiSecurityGroup"]
    # The domain's group comes from the domain's stack, which refers to nothing in this one.
    assert "SearchSecurityGroup" in str(rule["GroupId"])
    assert "PrivateApi" not in str(templates["Private"])


def test_role_mapping_waits_for_the_rules_that_let_it_reach_the_domain(private: Template) -> None:
    depends_on = _only(private, "Custom::OpenSearchSecurityRoles")["DependsOn"]
    group_id = _logical_id(private, "AWS::EC2::SecurityGroup", "SearchSecurityGroup")
    rule_id = _logical_id(
        private, "AWS::EC2::SecurityGroupIngress", "SearchSecurityGroupfromPrivateSearchSecurityConfig"
    )
    assert {group_id, rule_id} <= set(depends_on)


@pytest.mark.parametrize("role_prefix", ["SearchSecurityConfigServiceRole", "SearchIndexerimagesServiceRole"])
def test_domain_functions_run_in_the_same_vpc_with_their_own_groups(
    private: Template, role_prefix: str
) -> None:
    config = _function_vpc_config(private, role_prefix)
    # All the selected subnets (both zones), for the functions' availability.
    assert _prefixes(config["SubnetIds"]) == ["VpcPrivateSubnet1Subnet", "VpcPrivateSubnet2Subnet"]
    assert _prefixes(config["SecurityGroupIds"]) == [role_prefix.replace("ServiceRole", "SecurityGroup")]


def test_dashboards_output_says_it_is_reachable_only_inside_the_vpc(private: Template) -> None:
    (output,) = [
        value for key, value in private.find_outputs("*").items() if key.startswith("SearchDashboards")
    ]
    assert (
        output["Description"] == "OpenSearch Dashboards sign-in, reachable only from inside the domain's VPC"
    )


def test_vpc_subnets_and_security_groups_options(vpc_options: Template) -> None:
    props = _domain(vpc_options)
    assert props["ClusterConfig"]["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 2}
    assert _prefixes(props["VPCOptions"]["SubnetIds"]) == ["VpcSearchSubnet1Subnet", "VpcSearchSubnet2Subnet"]
    assert _prefixes(props["VPCOptions"]["SecurityGroupIds"]) == ["Given"]
    config = _function_vpc_config(vpc_options, "SearchSecurityConfigServiceRole")
    assert _prefixes(config["SubnetIds"]) == ["VpcSearchSubnet1Subnet", "VpcSearchSubnet2Subnet"]
    vpc_options.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": {
                "Fn::GetAtt": [_logical_id(vpc_options, "AWS::EC2::SecurityGroup", "Given"), "GroupId"]
            },
            "FromPort": 443,
            "ToPort": 443,
        },
    )


def test_connections_and_allow_from_need_a_vpc(validation_stack: tuple[Stack, SearchDomain]) -> None:
    stack, search = validation_stack
    function = ServerlessFunction(stack, "Outside", entry=ECHO)
    message = "Test/Search: allow_from: the domain is not in a VPC, so it has no security group"
    with pytest.raises(ValueError, match=_escape(message)):
        search.allow_from(function.function)
    with pytest.raises(ValueError, match=_escape(message.replace("allow_from", "connections"))):
        search.connections  # noqa: B018 - the property raises


def test_connections_are_the_domain_groups_on_https() -> None:
    stack = Stack(new_app(), "Attributes")
    search = SearchDomain(stack, "Search", cognito_domain_prefix="images-search", vpc=_test_vpc(stack))
    (group,) = search.security_groups
    assert group.node.path == "Attributes/Search/SecurityGroup"
    assert search.connections.security_groups == [group]
    port = search.connections.default_port
    assert port is not None
    assert port.to_string() == "443"


# --- Gates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["Dev", "Production", "Private", "PrivateApi", "VpcOptions"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_dev_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Dev"]) == snapshot_json


def test_production_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Production"]) == snapshot_json


def test_private_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Private"]) == snapshot_json


# --- Validation -------------------------------------------------------------------------------------


def _escape(message: str) -> str:
    return re.escape(message)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"domain_name": "Images"}, "Test/Bad: domain_name: 'Images' must be 3-28 characters of a-z"),
        (
            {"domain_name": "a-domain-name-that-is-far-too-long"},
            "domain_name: 'a-domain-name-that-is-far-too-long'",
        ),
        ({"cognito_domain_prefix": "Images_Search"}, "cognito_domain_prefix: 'Images_Search' must be 1-63"),
        ({"cognito_domain_prefix": "my-cognito-login"}, "without the reserved words aws, amazon, cognito"),
        (
            {"size": SearchDomainSize.dev().with_(data_nodes=4, availability_zones=3)},
            "size.data_nodes: 4 nodes cannot spread evenly over 3 zones; use a multiple of 3",
        ),
        (
            {"size": SearchDomainSize.production().with_(master_nodes=2)},
            "size.master_nodes: 2 dedicated masters cannot keep a quorum after losing one; "
            "use 0 or at least 3",
        ),
        (
            {"size": SearchDomainSize.dev().with_(master_nodes=3)},
            "size.master_node_instance_type: set it exactly when master_nodes is more than 0",
        ),
        ({"size": SearchDomainSize.dev().with_(data_nodes=0)}, "size.data_nodes: must be at least 1"),
        (
            {"size": SearchDomainSize.dev().with_(availability_zones=4)},
            "size.availability_zones: 4 is not 1 (no zone awareness), 2 or 3",
        ),
        (
            {"size": SearchDomainSize.dev().with_(volume_size_gib=5)},
            "size.volume_size_gib: must be 10-16384 GiB",
        ),
        (
            {"size": SearchDomainSize.production().with_(availability_zones=2, data_nodes=4)},
            "size.multi_az_with_standby: needs availability_zones=3 and at least 3 master_nodes",
        ),
        (
            {"size": SearchDomainSize.production().with_(data_node_instance_type="t3.medium.search")},
            "size.multi_az_with_standby: is not available on burstable t3.medium.search",
        ),
        (
            {"version": opensearch.EngineVersion.OPENSEARCH_1_3},
            "version: OpenSearch_1.3 is older than the supported minimum OpenSearch 2.3",
        ),
        (
            {"version": opensearch.EngineVersion.ELASTICSEARCH_7_10},
            "version: Elasticsearch_7.10 is older than the supported minimum OpenSearch 2.3",
        ),
        ({"mfa": cognito.Mfa.OFF}, "mfa: Dashboards sign-in needs a second factor"),
        (
            {"feature_plan": cognito.FeaturePlan.LITE},
            "feature_plan: use FeaturePlan.ESSENTIALS or FeaturePlan.PLUS",
        ),
        ({"log_retention": logs.RetentionDays.INFINITE}, "log_retention: logs must expire"),
        ({"alarm_topic": "TOPIC"}, "alarm_topic: is the action of the domain's alarms; set alarms=True"),
    ],
)
def test_invalid_props_raise(props: dict[str, Any], message: str) -> None:
    stack = new_stack(new_app())
    if props.get("alarm_topic") == "TOPIC":
        props = {"alarm_topic": sns.Topic(stack, "Topic")}
    with pytest.raises(ValueError, match=_escape(message)):
        SearchDomain(stack, "Bad", **{"cognito_domain_prefix": "images-search", **props})


def test_every_problem_is_reported_at_once() -> None:
    stack = new_stack(new_app())
    with pytest.raises(
        ValueError, match=r"Test/Bad: 2 invalid props:\n  - domain_name: .*\n  - cognito_domain"
    ):
        SearchDomain(stack, "Bad", domain_name="X", cognito_domain_prefix="-")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            lambda stack: {
                "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            },
            "Test/Bad: vpc_subnets: only applies in a VPC; set vpc as well, or remove it",
        ),
        (
            lambda stack: {
                "security_groups": [
                    ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-0123456789abcdef0")
                ]
            },
            "Test/Bad: security_groups: only apply in a VPC; set vpc as well, or remove them",
        ),
        (
            lambda stack: {
                "vpc": _test_vpc(stack),
                "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            },
            "Test/Bad: vpc_subnets: selects public subnets",
        ),
        (
            lambda stack: {"vpc": new_isolated_vpc(stack)},
            "Test/Bad: vpc_subnets: ThereSubnetGroups: There are no 'Private' subnet groups in this VPC",
        ),
        (
            # An environment-agnostic stack's VPC has two zones.
            lambda stack: {"vpc": _test_vpc(stack), "size": SearchDomainSize.production()},
            "Test/Bad: vpc_subnets: selects subnets in 2 zone(s) but size.availability_zones is 3; select "
            "subnets in more zones or use a size with fewer",
        ),
    ],
    ids=[
        "subnets-without-vpc",
        "groups-without-vpc",
        "public-subnets",
        "no-private-subnets",
        "too-few-zones",
    ],
)
def test_invalid_vpc_placement_raises(props: Callable[[Stack], dict[str, Any]], message: str) -> None:
    stack = Stack(new_app(), "Test")
    with pytest.raises(ValueError, match=_escape(message)):
        SearchDomain(stack, "Bad", cognito_domain_prefix="images-search", **props(stack))


@pytest.fixture(scope="module")
def validation_stack() -> tuple[Stack, SearchDomain]:
    stack = new_stack(new_app())
    return stack, SearchDomain(stack, "Search", cognito_domain_prefix="images-search")


@pytest.mark.parametrize(
    ("stream", "id_attribute", "message"),
    [
        (None, "imageId", "Test/Search/Indexer-images: table: Test/Images no stream has no stream"),
        (
            dynamodb.StreamViewType.KEYS_ONLY,
            "imageId",
            "table: its KEYS_ONLY stream has no new images to index",
        ),
        (dynamodb.StreamViewType.OLD_IMAGE, "imageId", "table: its OLD_IMAGE stream has no new images"),
        (dynamodb.StreamViewType.NEW_AND_OLD_IMAGES, "", "id_attribute: name the attribute whose value is"),
        (
            dynamodb.StreamViewType.NEW_IMAGE,
            "imageId",
            "id_attribute: 'imageId' is not a key of Test/Images NEW_IMAGE, so deletes need the old image",
        ),
    ],
)
def test_index_table_rejects_tables_it_cannot_index(
    validation_stack: tuple[Stack, SearchDomain],
    stream: dynamodb.StreamViewType | None,
    id_attribute: str,
    message: str,
) -> None:
    stack, search = validation_stack
    table = CompositeKeyTable(
        stack,
        f"Images {stream.name if stream else 'no stream'}",
        partition_key=dynamodb.Attribute(name="groupId", type=dynamodb.AttributeType.STRING),
        stream=stream,
    )
    with pytest.raises(ValueError, match=_escape(message)):
        search.index_table(table, index_name="images", id_attribute=id_attribute)


def test_index_table_accepts_a_key_id_with_a_new_image_stream(
    validation_stack: tuple[Stack, SearchDomain],
) -> None:
    stack, search = validation_stack
    table = CompositeKeyTable(
        stack,
        "Groups",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    indexer = search.index_table(table, index_name="groups", id_attribute="id", timeout=Duration.seconds(60))
    assert indexer.function.node.path == "Test/Search/Indexer-groups/Function"
    with pytest.raises(ValueError, match="index_name: 'groups' already has an indexer"):
        search.index_table(table, index_name="groups", id_attribute="id")


@pytest.mark.parametrize("index_name", ["Images", "_images", ""])
def test_invalid_index_names_are_rejected(
    validation_stack: tuple[Stack, SearchDomain], index_name: str
) -> None:
    stack, search = validation_stack
    function = ServerlessFunction(stack, f"Reader{len(index_name)}{index_name}", entry=ECHO)
    with pytest.raises(ValueError, match=f"grant_search.index_name: '{index_name}' must be lowercase"):
        search.grant_search(function.function, index_name)
    with pytest.raises(ValueError, match=f"search_environment.index_name: '{index_name}' must be lowercase"):
        search.search_environment(index_name)


def test_grant_search_needs_a_role(validation_stack: tuple[Stack, SearchDomain]) -> None:
    stack, search = validation_stack
    with pytest.raises(
        ValueError, match=re.escape("grant_search.grantee: must be (or act through) an IAM role")
    ):
        search.grant_search(iam.User(stack, "Person"), "images")
