"""ServerlessFunction: the Lambda defaults every function of the library and the app uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import ServerlessFunction
from constructs_lib.serverless_function import POWERTOOLS_LAYER_VERSION, VPC_NETWORK_INTERFACE_ACTIONS
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


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    app = new_app()
    stack = new_stack(app, "Functions")
    ServerlessFunction(stack, "Api", entry=ECHO, service_name="orders")
    ServerlessFunction(
        stack,
        "Worker",
        entry=ECHO,
        invoked_asynchronously=True,
        reserved_concurrent_executions=5,
        memory_size=512,
        timeout=Duration.seconds(30),
        log_level="DEBUG",
        environment={"TABLE_NAME": "orders"},
    )

    # Environment-agnostic: the VPC's zones stay Fn::GetAZs instead of hardcoded dummies (cfn-lint W3010).
    networked = Stack(app, "VpcFunctions")
    vpc = _test_vpc(networked)
    ServerlessFunction(networked, "Private", entry=ECHO, vpc=vpc)
    database = ec2.SecurityGroup(networked, "Database", vpc=vpc, description="Test database")
    own_group = ec2.SecurityGroup(networked, "Own", vpc=vpc, description="Chosen by the caller")
    isolated = ServerlessFunction(
        networked,
        "Isolated",
        entry=ECHO,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        security_groups=[own_group],
    )
    database.connections.allow_from(isolated.connections, ec2.Port.tcp(5432), "From the isolated function")
    return synth_templates(app)


def _test_vpc(stack: Stack) -> ec2.Vpc:
    """Public, private-with-egress and isolated subnets over two zones."""
    return new_vpc(
        stack,
        extra_subnets=[ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )


@pytest.fixture(scope="module")
def template(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Functions"])


def _function(template: Template, name: str) -> dict[str, Any]:
    found = template.find_resources("AWS::Lambda::Function", {"Properties": {"Description": Match.absent()}})
    (props,) = [r["Properties"] for logical_id, r in found.items() if logical_id.startswith(name)]
    return dict(props)


def test_python_313_on_arm64(template: Template) -> None:
    template.resource_properties_count_is(
        "AWS::Lambda::Function", {"Runtime": "python3.13", "Architectures": ["arm64"]}, 2
    )


def test_powertools_v3_layer_for_the_stack_region(template: Template) -> None:
    props = _function(template, "Api")
    assert props["Layers"] == [
        "arn:aws:lambda:us-east-1:017000801446:layer:"
        f"AWSLambdaPowertoolsPythonV3-python313-arm64:{POWERTOOLS_LAYER_VERSION}"
    ]


def test_logs_go_to_an_explicit_group_with_one_year_retention_as_json(template: Template) -> None:
    template.resource_count_is("AWS::Logs::LogGroup", 2)
    template.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})
    props = _function(template, "Api")
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    assert "Ref" in props["LoggingConfig"]["LogGroup"]


def test_log_groups_outlive_the_stack(template: Template) -> None:
    for resource in template.find_resources("AWS::Logs::LogGroup").values():
        assert resource["DeletionPolicy"] == "Retain"


def test_active_tracing(template: Template) -> None:
    template.all_resources_properties("AWS::Lambda::Function", {"TracingConfig": {"Mode": "Active"}})


def test_powertools_environment(template: Template) -> None:
    assert _function(template, "Api")["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "orders",
        "LOG_LEVEL": "INFO",
    }
    assert _function(template, "Worker")["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "Worker",
        "LOG_LEVEL": "DEBUG",
        "TABLE_NAME": "orders",
    }


def test_memory_and_timeout_defaults_and_overrides(template: Template) -> None:
    api, worker = _function(template, "Api"), _function(template, "Worker")
    assert (api["MemorySize"], api["Timeout"]) == (256, 10)
    assert (worker["MemorySize"], worker["Timeout"]) == (512, 30)
    assert "ReservedConcurrentExecutions" not in api
    assert worker["ReservedConcurrentExecutions"] == 5


def test_role_has_no_managed_policies(template: Template) -> None:
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_role_writes_only_its_own_log_group(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::Policy")
    log_statements = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(action.startswith("logs:") for action in statement["Action"])
    ]
    assert len(log_statements) == 2
    for statement in log_statements:
        assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert list(statement["Resource"]) == ["Fn::GetAtt"]


def test_async_function_sends_failures_to_an_encrypted_queue(template: Template) -> None:
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({"Effect": "Deny"})])}},
    )
    template.resource_count_is("AWS::Lambda::EventInvokeConfig", 1)
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 21600,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_code_asset_holds_only_the_handler_folder(templates: dict[str, dict[str, Any]]) -> None:
    # The asset is staged from the handler folder alone: no tests, caches or requirements file.
    props = _function(Template.from_json(templates["Functions"]), "Api")
    assert props["Code"]["S3Key"].endswith(".zip")


# --- VPC placement ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vpc_template(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["VpcFunctions"])


def _vpc_function(template: Template, name: str) -> dict[str, Any]:
    (props,) = [
        resource["Properties"]
        for logical_id, resource in template.find_resources("AWS::Lambda::Function").items()
        if logical_id.startswith(f"{name}Function")
    ]
    return dict(props)


def _ref_prefixes(refs: list[dict[str, Any]]) -> list[str]:
    """The logical ids behind a list of Ref / Fn::GetAtt values, without their hash suffix."""
    ids = [ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0] for ref in refs]
    return [logical_id[:-8] for logical_id in ids]


def test_functions_are_outside_any_vpc_by_default(template: Template) -> None:
    for props in template.find_resources("AWS::Lambda::Function").values():
        assert "VpcConfig" not in props["Properties"]
    template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    assert "ec2:" not in str(template.find_resources("AWS::IAM::Policy"))


def test_vpc_function_joins_the_private_subnets_with_egress_by_default(vpc_template: Template) -> None:
    config = _vpc_function(vpc_template, "Private")["VpcConfig"]
    assert _ref_prefixes(config["SubnetIds"]) == ["VpcPrivateSubnet1Subnet", "VpcPrivateSubnet2Subnet"]
    assert _ref_prefixes(config["SecurityGroupIds"]) == ["PrivateSecurityGroup"]


def test_own_security_group_allows_no_inbound_and_only_https_out(vpc_template: Template) -> None:
    groups = vpc_template.find_resources(
        "AWS::EC2::SecurityGroup", {"Properties": {"GroupDescription": Match.string_like_regexp("Private")}}
    )
    ((logical_id, group),) = groups.items()
    assert logical_id.startswith("PrivateSecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to AWS APIs, VPC endpoints and HTTPS services",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert not [
        rule
        for rule in vpc_template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [logical_id, "GroupId"]}
    ]


@pytest.mark.parametrize("name", ["Private", "Isolated"])
def test_vpc_function_role_may_manage_its_network_interfaces_before_creation(
    vpc_template: Template, name: str
) -> None:
    policies = {
        logical_id: policy
        for logical_id, policy in vpc_template.find_resources("AWS::IAM::Policy").items()
        if logical_id.startswith(f"{name}VpcAccessPolicy")
    }
    ((policy_id, policy),) = policies.items()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": list(VPC_NETWORK_INTERFACE_ACTIONS), "Effect": "Allow", "Resource": "*"}
    ]
    assert _ref_prefixes(policy["Properties"]["Roles"]) == [f"{name}ServiceRole"]
    (function,) = [
        resource
        for logical_id, resource in vpc_template.find_resources("AWS::Lambda::Function").items()
        if logical_id.startswith(f"{name}Function")
    ]
    assert policy_id in function["DependsOn"]


def test_vpc_role_still_has_no_managed_policies(vpc_template: Template) -> None:
    for logical_id, role in vpc_template.find_resources("AWS::IAM::Role").items():
        if logical_id.startswith(("Private", "Isolated")):
            assert "ManagedPolicyArns" not in role["Properties"]


def test_vpc_subnets_and_security_groups_options(vpc_template: Template) -> None:
    config = _vpc_function(vpc_template, "Isolated")["VpcConfig"]
    assert _ref_prefixes(config["SubnetIds"]) == ["VpcIsolatedSubnet1Subnet", "VpcIsolatedSubnet2Subnet"]
    assert _ref_prefixes(config["SecurityGroupIds"]) == ["Own"]
    vpc_template.resource_properties_count_is(
        "AWS::EC2::SecurityGroup", {"GroupDescription": Match.string_like_regexp("Lambda function")}, 1
    )


def test_connections_let_other_groups_admit_the_function(vpc_template: Template) -> None:
    rule = _only_ingress(vpc_template)
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (5432, 5432, "tcp")
    assert _ref_prefixes([rule["GroupId"], rule["SourceSecurityGroupId"]]) == ["Database", "Own"]


def _only_ingress(template: Template) -> dict[str, Any]:
    (rule,) = template.find_resources("AWS::EC2::SecurityGroupIngress").values()
    return dict(rule["Properties"])


def test_security_groups_and_connections_attributes() -> None:
    stack = Stack(new_app(), "Attributes")
    vpc = _test_vpc(stack)
    outside = ServerlessFunction(stack, "Outside", entry=ECHO)
    inside = ServerlessFunction(stack, "Inside", entry=ECHO, vpc=vpc)
    group = ec2.SecurityGroup.from_security_group_id(stack, "Given", "sg-0123456789abcdef0")
    given = ServerlessFunction(stack, "Given Group", entry=ECHO, vpc=vpc, security_groups=[group])
    assert outside.security_groups == []
    (own,) = inside.security_groups
    assert own.node.path == "Attributes/Inside/SecurityGroup"
    assert inside.connections.security_groups == [own]
    assert given.security_groups == [group]
    # jsii returns a new proxy for an imported group: compare ids.
    assert [g.security_group_id for g in given.connections.security_groups] == ["sg-0123456789abcdef0"]


@pytest.mark.parametrize("stack_name", ["Functions", "VpcFunctions"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack_name: str) -> None:
    assert cfn_lint_findings(templates[stack_name]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Functions"]) == snapshot_json


def test_vpc_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["VpcFunctions"]) == snapshot_json


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"log_level": "LOUD"}, "Test/Bad: log_level: 'LOUD' is not one of DEBUG, INFO"),
        ({"memory_size": 64}, "Test/Bad: memory_size: 64 MB is outside Lambda's 128-10240 MB"),
        ({"timeout": Duration.minutes(20)}, "Test/Bad: timeout: must be between 1 second and 15 minutes"),
        ({"reserved_concurrent_executions": -1}, "reserved_concurrent_executions: must be 0 (disabled)"),
        ({"async_retry_attempts": 3}, "async_retry_attempts: Lambda allows 0, 1 or 2 retries"),
        (
            {"async_max_event_age": Duration.hours(7)},
            "async_max_event_age: Lambda allows 1 minute to 6 hours",
        ),
        ({"entry": "/does/not/exist"}, "entry: '/does/not/exist' is not a folder"),
        ({"log_retention": logs.RetentionDays.INFINITE}, "Test/Bad: log_retention: logs must expire"),
    ],
)
def test_invalid_props_raise(props: dict[str, Any], message: str) -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ServerlessFunction(stack, "Bad", **{"entry": ECHO, **props})


def test_every_problem_is_reported_at_once() -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError, match=r"Test/Bad: 2 invalid props:\n  - log_level: .*\n  - memory_size"):
        ServerlessFunction(stack, "Bad", entry=ECHO, log_level="LOUD", memory_size=1)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            lambda stack: {"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)},
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
            "Test/Bad: vpc_subnets: selects public subnets, where a function gets no public IP and so no "
            "internet access; select private subnets",
        ),
        (
            lambda stack: {"vpc": new_isolated_vpc(stack)},
            "Test/Bad: vpc_subnets: ThereSubnetGroups: There are no 'Private' subnet groups in this VPC. "
            "Available types: Isolated",
        ),
        (
            lambda stack: {
                "vpc": _test_vpc(stack),
                "vpc_subnets": ec2.SubnetSelection(availability_zones=["nowhere-1a"]),
            },
            "Test/Bad: vpc_subnets: selects no subnets; choose a selection that matches the VPC's private",
        ),
    ],
    ids=["subnets-without-vpc", "groups-without-vpc", "public-subnets", "no-such-subnets", "empty-selection"],
)
def test_invalid_vpc_placement_raises(props: Callable[[Stack], dict[str, Any]], message: str) -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError, match=re.escape(message)):
        ServerlessFunction(stack, "Bad", entry=ECHO, **props(stack))


def _entry(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "handler", "message"),
    [
        (
            {"handler.py": "def handler(event, context): ...\n"},
            "app.main",
            "handler: module 'app' is not in '{entry}' (no app.py); Lambda would fail every invocation with "
            "Runtime.ImportModuleError: point handler at a module of the entry folder",
        ),
        (
            {"app.py": "def handle(event, context): ...\n"},
            "app.main",
            "handler: 'main' is not defined at the top level of {entry}/app.py; Lambda would fail every "
            "invocation with Runtime.HandlerNotFound: define it or name the function that handles events",
        ),
        (
            {"pkg/jobs.py": "def main(event, context): ...\n"},
            "pkg.tasks.main",
            "handler: module 'pkg.tasks' is not in '{entry}' (no pkg/tasks.py)",
        ),
        (
            {"app.py": "def main(event, context)\n"},
            "app.main",
            "handler: {entry}/app.py does not parse as Python (expected ':'",
        ),
        (
            {"handler.py": ""},
            "handler",
            "handler: 'handler' is not '<module>.<function>' (Python identifiers, at most 128 "
            "characters), e.g. 'handler.handler' for def handler() in handler.py",
        ),
    ],
    ids=["no-module", "no-function", "no-submodule", "syntax-error", "not-dotted"],
)
def test_handler_must_exist_in_the_entry(
    tmp_path: Path, files: dict[str, str], handler: str, message: str
) -> None:
    entry = _entry(tmp_path, files)
    stack = new_stack(new_app())
    with pytest.raises(ValueError, match=re.escape("Test/Bad: " + message.format(entry=entry))):
        ServerlessFunction(stack, "Bad", entry=entry, handler=handler)


@pytest.mark.parametrize(
    "source",
    [
        "from api_common import api\nhandler = api.handler\n",  # assigned, as lambda/api's modules do
        "async def handler(event, context): ...\n",
        "try:\n    from fast import handler\nexcept ImportError:\n    from slow import handler\n",
        "from somewhere import *\n",  # cannot tell: not rejected
        "def __getattr__(name): ...\n",
    ],
    ids=["assigned", "async", "conditional-import", "star-import", "module-getattr"],
)
def test_handler_defined_in_any_top_level_way_is_accepted(tmp_path: Path, source: str) -> None:
    entry = _entry(tmp_path, {"app.py": source})
    ServerlessFunction(new_stack(new_app()), "Good", entry=entry, handler="app.handler")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"async_retry_attempts": 0},
            "Test/Bad: async_retry_attempts: applies only to asynchronous invocations and would be ignored; "
            "set invoked_asynchronously=True or remove it",
        ),
        (
            {"async_max_event_age": Duration.hours(1)},
            "Test/Bad: async_max_event_age: applies only to asynchronous invocations and would be ignored; "
            "set invoked_asynchronously=True or remove it",
        ),
        (
            {"timeout": Duration.millis(1500)},
            "Test/Bad: timeout: 1500 ms is not a whole number of seconds; round it",
        ),
        (
            {"invoked_asynchronously": True, "async_max_event_age": Duration.millis(90_500)},
            "Test/Bad: async_max_event_age: 90500 ms is not a whole number of seconds; round it",
        ),
        (
            {"memory_size": 256.5},
            "Test/Bad: memory_size: 256.5 MB is outside Lambda's 128-10240 MB (whole MB)",
        ),
        (
            {"description": "x" * 257},
            "Test/Bad: description: is 257 characters, over Lambda's 256; shorten it",
        ),
        (
            {"environment": {"AWS_REGION": "eu-west-1"}},
            "Test/Bad: environment: key 'AWS_REGION' is reserved by Lambda, which sets it itself; "
            "use another name",
        ),
        (
            {"environment": {"1ST": "x"}},
            "Test/Bad: environment: key '1ST' is not a valid name; start with a letter and use letters, "
            "digits and underscores (at least 2 characters)",
        ),
        (
            {"environment": {"BIG": "x" * 4096}},
            "Test/Bad: environment: the variables take 4138 bytes, over Lambda's 4096 bytes (4 KB) for all "
            "keys and values; keep large settings in SSM Parameter Store or S3",
        ),
        ({"powertools_layer_version": 0}, "Test/Bad: powertools_layer_version: layer versions start at 1"),
    ],
    ids=[
        "retries-without-async",
        "event-age-without-async",
        "fractional-timeout",
        "fractional-event-age",
        "fractional-memory",
        "long-description",
        "reserved-variable",
        "invalid-variable-name",
        "environment-over-4kb",
        "layer-version",
    ],
)
def test_props_lambda_would_refuse_raise(props: dict[str, Any], message: str) -> None:
    stack = new_stack(new_app())
    with pytest.raises(ValueError, match=re.escape(message)):
        ServerlessFunction(stack, "Bad", entry=ECHO, **props)


def test_a_timeout_from_a_parameter_is_not_judged_at_synth() -> None:
    stack = new_stack(new_app())
    seconds = CfnParameter(stack, "TimeoutSeconds", type="Number", default=30).value_as_number
    ServerlessFunction(stack, "Parameterised", entry=ECHO, timeout=Duration.seconds(seconds))
