"""Workflow: Step Functions state machines with logs, tracing, retried Lambda tasks, alarms and validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.workflow import TRANSIENT_LAMBDA_ERRORS, Workflow, lambda_task
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
MACHINE = "AWS::StepFunctions::StateMachine"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    defaults = new_stack(app, "Defaults")
    step = ServerlessFunction(defaults, "Step", entry=ECHO)
    flow = Workflow(
        defaults,
        "Flow",
        definition=lambda_task(defaults, "Run", step).next(sfn.Succeed(defaults, "Done")),
    )
    caller = iam.Role(defaults, "Caller", assumed_by=iam.AccountRootPrincipal())
    grants = {"start": flow.grant_start_execution(caller), "read": flow.grant_read(caller)}

    full = new_stack(app, "Full")
    key = kms.Key(full, "Key", enable_key_rotation=True)
    check = ServerlessFunction(full, "Check", entry=ECHO)
    each = ServerlessFunction(full, "Each", entry=ECHO)
    items = sfn.Map(
        full, "EachItem", items_path="$.items", max_concurrency=5, result_path=sfn.JsonPath.DISCARD
    )
    items.item_processor(lambda_task(full, "Process", each))
    both = sfn.Parallel(full, "Both", result_path=sfn.JsonPath.DISCARD)
    both.branch(sfn.Pass(full, "Left"))
    both.branch(sfn.Wait(full, "Pause", time=sfn.WaitTime.duration(Duration.seconds(1))))
    failed = sfn.Fail(full, "Refused", error="Refused", cause="the check said no")
    definition = (
        lambda_task(full, "CheckIt", check, result_path="$.check")
        .add_catch(failed, errors=["States.ALL"])
        .next(
            sfn.Choice(full, "Allowed?")
            .when(sfn.Condition.boolean_equals("$.check.allowed", True), items.next(both))
            .otherwise(failed)
        )
    )
    fast = Workflow(
        full,
        "Fast",
        definition=definition,
        express=True,
        timeout=Duration.minutes(2),
        encryption_key=key,
        log_retention=logs.RetentionDays.ONE_MONTH,
        include_execution_data=True,
        alarm_topic=sns.Topic.from_topic_arn(full, "Alarms", TOPIC_ARN),
    )
    starter = iam.Role(full, "Starter", assumed_by=iam.AccountRootPrincipal())
    grants["sealed_start"] = fast.grant_start_execution(starter)
    reader = iam.Role(full, "Reader", assumed_by=iam.AccountRootPrincipal())
    grants["sealed_read"] = fast.grant_read(reader)
    return {"templates": synth_templates(app), "flow": flow, "fast": fast, "grants": grants}


@pytest.fixture(scope="module")
def defaults(built: dict[str, Any]) -> Template:
    return Template.from_json(built["templates"]["Defaults"])


@pytest.fixture(scope="module")
def full(built: dict[str, Any]) -> Template:
    return Template.from_json(built["templates"]["Full"])


def _machine(template: Template) -> dict[str, Any]:
    (machine,) = template.find_resources(MACHINE).values()
    return dict(machine["Properties"])


def _definition(template: Template) -> dict[str, Any]:
    """The ASL with each token replaced by a marker (the definition is a Fn::Join)."""
    parts = _machine(template)["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    result: dict[str, Any] = json.loads(text)
    return result


def _policy(template: Template, prefix: str) -> list[dict[str, Any]]:
    (policy,) = [p for k, p in template.find_resources("AWS::IAM::Policy").items() if k.startswith(prefix)]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


# Defaults.


def test_standard_workflow_logs_errors_without_execution_data(defaults: Template) -> None:
    machine = _machine(defaults)
    assert machine["StateMachineType"] == "STANDARD"
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0].startswith(
        "FlowLogs"
    )


def test_own_log_group_kept_one_year(defaults: Template) -> None:
    (group,) = [
        g for k, g in defaults.find_resources("AWS::Logs::LogGroup").items() if k.startswith("FlowLogs")
    ]
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"


def test_traced_encrypted_with_aws_owned_key_and_timed_out_after_an_hour(defaults: Template) -> None:
    machine = _machine(defaults)
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["EncryptionConfiguration"] == {"Type": "AWS_OWNED_KEY"}
    assert _definition(defaults)["TimeoutSeconds"] == 3600


def test_lambda_task_retries_transient_errors_with_backoff_and_jitter(defaults: Template) -> None:
    run = _definition(defaults)["States"]["Run"]
    assert run["Resource"] == "TOKEN"  # the function's ARN: the task's result is its return value
    assert run["Retry"] == [
        {
            "ErrorEquals": list(TRANSIENT_LAMBDA_ERRORS),
            "IntervalSeconds": 2,
            "MaxAttempts": 6,
            "BackoffRate": 2,
            "MaxDelaySeconds": 60,
            "JitterStrategy": "FULL",
        }
    ]


def test_role_invokes_only_the_task_function(defaults: Template) -> None:
    invoke, delivery = _policy(defaults, "FlowStateMachineRole")
    assert invoke["Action"] == "lambda:InvokeFunction"
    targets = [json.dumps(resource) for resource in invoke["Resource"]]
    assert len(targets) == 2 and all("StepFunction" in target for target in targets)
    # Log delivery and X-Ray support no resource-level permissions.
    assert delivery["Resource"] == "*"
    assert all(action.startswith(("logs:", "xray:")) for action in delivery["Action"])


def test_alarms_on_failed_timed_out_and_aborted_executions(defaults: Template, built: dict[str, Any]) -> None:
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        defaults.has_resource_properties(
            ALARM,
            {
                "MetricName": metric,
                "Namespace": "AWS/States",
                "Statistic": "Sum",
                "Threshold": 1,
                "Period": 300,
            },
        )
    defaults.resource_count_is(ALARM, 3)
    assert sorted(built["flow"].alarms) == ["aborted", "failed", "timed_out"]


def test_grants_start_and_read(defaults: Template) -> None:
    statements = _policy(defaults, "CallerDefaultPolicy")
    actions = {action for statement in statements for action in _actions(statement)}
    assert "states:StartExecution" in actions
    assert {"states:DescribeExecution", "states:ListExecutions", "states:GetExecutionHistory"} <= actions
    assert "states:StartSyncExecution" not in actions


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


# Options.


def test_express_workflow_logs_everything_within_its_timeout(full: Template) -> None:
    machine = _machine(full)
    assert machine["StateMachineType"] == "EXPRESS"
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert _definition(full)["TimeoutSeconds"] == 120


def test_customer_managed_key_encrypts_machine_and_logs(full: Template) -> None:
    machine = _machine(full)
    assert machine["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert machine["EncryptionConfiguration"]["KmsKeyId"]["Fn::GetAtt"][0].startswith("Key")
    full.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]}, "RetentionInDays": 30},
    )
    (key,) = full.find_resources("AWS::KMS::Key").values()
    principals = {
        json.dumps(statement["Principal"], sort_keys=True)
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
    }
    assert json.dumps({"Service": "logs.us-east-1.amazonaws.com"}) in principals
    assert json.dumps({"Service": "delivery.logs.amazonaws.com"}) in principals


def test_role_may_use_the_key_for_the_machine_only(full: Template) -> None:
    statements = _policy(full, "FastStateMachineRole")
    kms_statements = [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]
    assert kms_statements
    assert all("Condition" in statement for statement in kms_statements)


def test_nested_states_and_catch_are_rendered(full: Template) -> None:
    states = _definition(full)["States"]
    assert states["EachItem"]["ItemProcessor"]["States"]["Process"]["Retry"][0]["JitterStrategy"] == "FULL"
    assert len(states["Both"]["Branches"]) == 2
    assert states["CheckIt"]["Catch"][0]["Next"] == "Refused"


def test_express_alarms_on_throttling_too_and_notify_the_topic(full: Template, built: dict[str, Any]) -> None:
    full.has_resource_properties(ALARM, {"MetricName": "ExecutionThrottled", "Namespace": "AWS/States"})
    full.resource_properties_count_is(ALARM, {"AlarmActions": [TOPIC_ARN]}, 4)
    assert "throttled" in built["fast"].alarms


def test_express_grant_allows_synchronous_starts(full: Template) -> None:
    actions = {a for s in _policy(full, "StarterDefaultPolicy") for a in _actions(s)}
    assert {"states:StartExecution", "states:StartSyncExecution"} <= actions


# A customer-managed key: AWS's "Required permissions for API callers"
# (https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html) lists kms:Decrypt
# for StartSyncExecution, DescribeStateMachine(ForExecution), DescribeExecution and
# GetExecutionHistory, and nothing for StartExecution; Step Functions calls KMS for the caller under
# the encryption context aws:states:stateMachineArn.


def _key_statement(template: Template, machine_prefix: str) -> dict[str, Any]:
    """The statement a caller needs on the key: kms:Decrypt through Step Functions, for one machine."""
    (machine,) = [k for k in template.find_resources(MACHINE) if k.startswith(machine_prefix)]
    (key,) = template.find_resources("AWS::KMS::Key")
    return {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": {"Fn::GetAtt": [key, "Arn"]},
        "Condition": {
            "StringEquals": {
                "kms:EncryptionContext:aws:states:stateMachineArn": {"Ref": machine},
                "kms:ViaService": "states.us-east-1.amazonaws.com",
            }
        },
    }


def _key_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]


@pytest.mark.parametrize("policy", ["StarterDefaultPolicy", "ReaderDefaultPolicy"])
def test_callers_decrypt_with_the_key_for_this_machine_only(full: Template, policy: str) -> None:
    # Express start: StartSyncExecution returns the decrypted output. Read: Describe* and the history.
    assert _key_statements(_policy(full, policy)) == [_key_statement(full, "FastStateMachine")]


@pytest.mark.parametrize("grant", ["sealed_start", "sealed_read"])
def test_returned_grant_holds_the_key_statement(built: dict[str, Any], grant: str) -> None:
    stack = Stack.of(built["fast"])
    statements = [stack.resolve(s.to_json()) for s in built["grants"][grant].principal_statements]
    full = Template.from_json(built["templates"]["Full"])
    assert _key_statement(full, "FastStateMachine") in statements


def test_without_a_key_no_kms_permission(defaults: Template, built: dict[str, Any]) -> None:
    assert _key_statements(_policy(defaults, "CallerDefaultPolicy")) == []
    for name in ("start", "read"):
        statements = [s.to_json() for s in built["grants"][name].principal_statements]
        assert _key_statements(statements) == [], name


def test_standard_start_needs_no_key_permission() -> None:
    stack = new_stack(new_app(), "Sealed")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    flow = Workflow(stack, "Flow", definition=sfn.Pass(stack, "Only"), encryption_key=key)
    grant = flow.grant_start_execution(iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal()))
    (statement,) = [s.to_json() for s in grant.principal_statements]
    assert statement["Action"] == "states:StartExecution"


# Gates.


@pytest.mark.parametrize("stack", ["Defaults", "Full"])
def test_cfn_lint_clean(built: dict[str, Any], stack: str) -> None:
    assert cfn_lint_findings(built["templates"][stack]) == []


def test_snapshot(built: dict[str, Any], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(built["templates"]["Full"]) == snapshot_json


# Bad input.


def _loop(stack: Stack) -> sfn.IChainable:
    first = sfn.Pass(stack, "First")
    again = sfn.Wait(stack, "Again", time=sfn.WaitTime.duration(Duration.seconds(5)))
    first.next(again)
    again.next(first)
    return first


def _parallel_loop(stack: Stack) -> sfn.IChainable:
    inner = sfn.Pass(stack, "Inner")
    inner.next(inner)
    parallel = sfn.Parallel(stack, "Fan")
    parallel.branch(inner)
    return parallel


def _waiting_task(stack: Stack) -> sfn.IChainable:
    return tasks.StepFunctionsStartExecution(
        stack,
        "Child",
        state_machine=sfn.StateMachine.from_state_machine_arn(
            stack, "Other", "arn:aws:states:us-east-1:111111111111:stateMachine:other"
        ),
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
    )


@pytest.mark.parametrize(
    ("build", "props", "message"),
    [
        pytest.param(
            _loop,
            {},
            "Test/Bad: definition: the workflow has no reachable end state (every path from 'First' loops "
            "back); give one branch an end: a Succeed or Fail state, a state without .next(), or a Choice "
            ".otherwise() that leaves the loop",
            id="loop",
        ),
        pytest.param(
            _parallel_loop,
            {},
            "Test/Bad: definition: branch 0 of 'Fan' has no reachable end state (every path from 'Inner' "
            "loops back); give one branch an end: a Succeed or Fail state, a state without .next(), or a "
            "Choice .otherwise() that leaves the loop",
            id="branch-loop",
        ),
        pytest.param(
            _waiting_task,
            {"express": True},
            "Test/Bad: definition: state 'Child' uses 'states:startExecution.sync:2', which "
            "waits for a job or a callback; an Express workflow cannot wait: use "
            "IntegrationPattern.REQUEST_RESPONSE or a Standard workflow",
            id="express-waits",
        ),
        pytest.param(
            None,
            {"express": True, "timeout": Duration.minutes(6)},
            "Test/Bad: timeout: 360 s is outside what an Express workflow allows (1 s to 5 minutes); use a "
            "Standard workflow (express=False) for longer runs",
            id="express-timeout",
        ),
        pytest.param(
            None,
            {"timeout": Duration.days(400)},
            "Test/Bad: timeout: 3.456e+07 s is outside what a Standard workflow allows (1 s to 365 days)",
            id="standard-timeout",
        ),
        pytest.param(
            None,
            {"log_retention": logs.RetentionDays.INFINITE},
            "Test/Bad: log_retention: logs must expire; pick a finite RetentionDays (the default keeps them "
            "one year)",
            id="retention",
        ),
        pytest.param(
            None,
            {"log_level": sfn.LogLevel.OFF},
            "Test/Bad: log_level: OFF leaves failed executions without a trace; use ERROR (the Standard "
            "default) or FATAL",
            id="log-level",
        ),
        pytest.param(
            None,
            {"alarms": False, "alarm_topic": "topic"},
            "Test/Bad: alarm_topic: is the action of the workflow's alarms; set alarms=True or remove it",
            id="alarm-topic",
        ),
    ],
)
def test_invalid_props_raise_one_error(build: Any, props: dict[str, Any], message: str) -> None:
    stack = new_stack(new_app(), "Test")
    if props.get("alarm_topic") == "topic":
        props = {**props, "alarm_topic": sns.Topic.from_topic_arn(stack, "T", TOPIC_ARN)}
    definition = build(stack) if build is not None else sfn.Pass(stack, "Only")
    with pytest.raises(ValueError) as raised:
        Workflow(stack, "Bad", definition=definition, **props)
    assert str(raised.value) == message


def test_standard_workflow_cannot_be_granted_synchronous_starts() -> None:
    stack = new_stack(new_app(), "Test")
    flow = Workflow(stack, "Flow", definition=sfn.Pass(stack, "Only"))
    with pytest.raises(ValueError) as raised:
        flow.grant_start_sync_execution(iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal()))
    assert str(raised.value) == (
        "Test/Flow: grant_start_sync_execution: a Standard workflow cannot be started synchronously; "
        "use grant_start_execution, or express=True"
    )


def test_all_problems_in_one_error() -> None:
    stack = new_stack(new_app(), "Test")
    with pytest.raises(
        ValueError, match=r"^Test/Bad: 2 invalid props:\n  - timeout: .*\n  - log_retention: "
    ):
        Workflow(
            stack,
            "Bad",
            definition=sfn.Pass(stack, "Only"),
            express=True,
            timeout=Duration.minutes(10),
            log_retention=logs.RetentionDays.INFINITE,
        )
