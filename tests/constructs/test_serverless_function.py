"""ServerlessFunction: the Lambda defaults every function of the library and the app uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import ServerlessFunction
from constructs_lib.serverless_function import POWERTOOLS_LAYER_VERSION
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

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
    return synth_templates(app)


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


def test_cfn_lint_clean(templates: dict[str, dict[str, Any]]) -> None:
    assert cfn_lint_findings(templates["Functions"]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Functions"]) == snapshot_json


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
