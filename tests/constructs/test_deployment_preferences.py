"""ServerlessFunction's gradual deployments: the live alias, CodeDeploy, and every trigger on the alias."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn

from constructs_lib import (
    AuthorizationMode,
    CompositeKeyTable,
    DataStream,
    DeploymentPreference,
    EventBus,
    ImageStore,
    QueueWorker,
    ScheduledJob,
    ServerlessApi,
    ServerlessFunction,
    WebSocketApi,
    Workflow,
    lambda_task,
)
from constructs_lib.serverless_function import invocation_target
from tests.cdk import cfn_lint_findings, new_app, new_stack, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
ALIAS = "AWS::Lambda::Alias"


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """One stack where a canary function is the target of every kind of trigger the library wires."""
    app = new_app()
    stack = new_stack(app, "Deploy")
    canary = ServerlessFunction(
        stack, "Canary", entry=ECHO, deployment=DeploymentPreference.canary(10, 5), provisioned_concurrency=2
    )
    hook = ServerlessFunction(stack, "Hook", entry=ECHO)
    linear = ServerlessFunction(
        stack,
        "Linear",
        entry=ECHO,
        invoked_asynchronously=True,
        deployment=DeploymentPreference.linear(20, 4),
        pre_traffic_hook=hook,
        post_traffic_hook=hook.function,
        snap_start=True,
    )
    ServerlessFunction(stack, "Plain", entry=ECHO)  # all at once: no alias

    api = ServerlessApi(stack, "Api")
    api.add_route("GET", "/proxy", canary.function)  # the L2 function resolves too
    api.add_route("GET", "/mapped", canary.invocation_target, request_templates={"application/json": "{}"})
    # By literal names: an alarm on api.stage itself would reference the stage, whose methods reference
    # the alias, whose update policy references the deployment group: a cycle (docs: gradual deployments).
    canary.add_deployment_alarm(
        cloudwatch.Alarm(
            stack,
            "Api5xx",
            metric=cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5XXError",
                dimensions_map={"ApiName": api.api.rest_api_name, "Stage": "dev"},
                statistic="Sum",
                period=Duration.minutes(1),
            ),
            threshold=1,
            evaluation_periods=1,
        )
    )
    sockets = WebSocketApi(stack, "Sockets")
    sockets.add_route("$default", canary.function)
    images = CompositeKeyTable(
        stack,
        "Images",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=True,
    )
    images.add_stream_consumer(canary.function)
    DataStream(stack, "Clicks").add_consumer(canary.function)
    QueueWorker(stack, "Jobs", function=canary)
    EventBus(stack, "Bus").add_rule("Placed", event_pattern={"source": ["shop"]}, targets=[linear])
    ScheduledJob(stack, "Sweep", function=linear, schedule="rate(1 hour)")
    store = ImageStore(stack, "Store")
    store.grant_presign(canary.function)
    store.add_upload_subscriber(linear.function)
    Workflow(stack, "Flow", definition=lambda_task(stack, "Run", canary).next(sfn.Succeed(stack, "Done")))
    return synth_templates(app)["Deploy"]


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == type_}


def _logical_id(template: dict[str, Any], type_: str, prefix: str) -> str:
    (match,) = [key for key in _resources(template, type_) if key.startswith(prefix)]
    return match


def _canary_alias(template: dict[str, Any]) -> str:
    return _logical_id(template, ALIAS, "CanaryLiveAlias")


def _linear_alias(template: dict[str, Any]) -> str:
    return _logical_id(template, ALIAS, "LinearLiveAlias")


def test_the_live_alias_points_at_the_current_version(template: dict[str, Any]) -> None:
    alias = template["Resources"][_canary_alias(template)]
    version = _logical_id(template, "AWS::Lambda::Version", "CanaryFunctionCurrentVersion")
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["DeploymentGroupName"] == _ref(
        _logical_id(template, "AWS::CodeDeploy::DeploymentGroup", "Canary")
    )


def test_a_function_deployed_all_at_once_has_no_alias(template: dict[str, Any]) -> None:
    assert not [key for key in _resources(template, ALIAS) if key.startswith("Plain")]
    assert not [key for key in _resources(template, "AWS::Lambda::Version") if key.startswith("Plain")]


def test_a_predefined_canary_uses_codedeploys_configuration(template: dict[str, Any]) -> None:
    group = template["Resources"][_logical_id(template, "AWS::CodeDeploy::DeploymentGroup", "Canary")]
    assert group["Properties"]["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"


def test_other_shifts_get_a_custom_configuration(template: dict[str, Any]) -> None:
    config = template["Resources"][_logical_id(template, "AWS::CodeDeploy::DeploymentConfig", "Linear")]
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedLinear",
        "TimeBasedLinear": {"LinearInterval": 4, "LinearPercentage": 20},
    }


def test_the_group_rolls_back_on_failure_and_on_its_alarms(template: dict[str, Any]) -> None:
    group = template["Resources"][_logical_id(template, "AWS::CodeDeploy::DeploymentGroup", "Canary")]
    assert group["Properties"]["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarms = group["Properties"]["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    assert alarms["Alarms"] == [
        {"Name": _ref(_logical_id(template, "AWS::CloudWatch::Alarm", "CanaryDeploymentErrorsAlarm"))},
        {"Name": _ref(_logical_id(template, "AWS::CloudWatch::Alarm", "Api5xx"))},
    ]


def test_the_error_alarm_watches_the_alias_every_minute(template: dict[str, Any]) -> None:
    alarm = template["Resources"][
        _logical_id(template, "AWS::CloudWatch::Alarm", "CanaryDeploymentErrorsAlarm")
    ]
    properties = alarm["Properties"]
    assert properties["MetricName"] == "Errors"
    assert {
        "Name": "Resource",
        "Value": {
            "Fn::Join": [
                "",
                [_ref(_logical_id(template, "AWS::Lambda::Function", "CanaryFunction")), ":live"],
            ]
        },
    } in properties["Dimensions"]
    assert (properties["Period"], properties["Threshold"], properties["EvaluationPeriods"]) == (60, 1, 1)
    assert properties["TreatMissingData"] == "notBreaching"


def test_hooks_run_before_and_after_traffic_and_may_only_report_to_their_group(
    template: dict[str, Any],
) -> None:
    update = template["Resources"][_linear_alias(template)]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    hook = _logical_id(template, "AWS::Lambda::Function", "HookFunction")
    assert update["BeforeAllowTrafficHook"] == _ref(hook)
    assert update["AfterAllowTrafficHook"] == _ref(hook)
    policy = template["Resources"][_logical_id(template, "AWS::IAM::Policy", "HookServiceRoleDefaultPolicy")]
    (statement,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"
    ]
    group = _logical_id(template, "AWS::CodeDeploy::DeploymentGroup", "Linear")
    assert _ref(group) in statement["Resource"]["Fn::Join"][1]


def test_snap_start_applies_to_published_versions(template: dict[str, Any]) -> None:
    function = template["Resources"][_logical_id(template, "AWS::Lambda::Function", "LinearFunction")]
    assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}


def test_async_invocations_of_the_alias_keep_retries_and_the_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    configs = [
        c["Properties"]
        for c in _resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"]
        == _ref(_logical_id(template, "AWS::Lambda::Function", "LinearFunction"))
    ]
    alias_config = next(c for c in configs if c["Qualifier"] != "$LATEST")
    assert alias_config["Qualifier"]["Fn::Select"][1]["Fn::Split"][1] == _ref(_linear_alias(template))
    assert alias_config["MaximumRetryAttempts"] == 2
    queue = _logical_id(template, "AWS::SQS::Queue", "LinearDeadLetterQueue")
    assert alias_config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue, "Arn"]}


def test_api_routes_invoke_the_alias(template: dict[str, Any]) -> None:
    alias = _canary_alias(template)
    methods = _resources(template, "AWS::ApiGateway::Method")
    lambda_methods = [
        m for m in methods.values() if m["Properties"]["Integration"].get("Type") in ("AWS_PROXY", "AWS")
    ]
    assert len(lambda_methods) == 2
    for method in lambda_methods:
        assert _ref(alias) in method["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    permissions = [
        p["Properties"]["FunctionName"] for p in _resources(template, "AWS::Lambda::Permission").values()
    ]
    assert permissions.count(_ref(alias)) >= 2
    assert _ref(_logical_id(template, "AWS::Lambda::Function", "CanaryFunction")) not in permissions


def test_websocket_routes_invoke_the_alias(template: dict[str, Any]) -> None:
    (integration,) = _resources(template, "AWS::ApiGatewayV2::Integration").values()
    assert _ref(_canary_alias(template)) in integration["Properties"]["IntegrationUri"]["Fn::Join"][1]


def test_stream_and_queue_consumers_map_to_the_alias(template: dict[str, Any]) -> None:
    mappings = list(_resources(template, "AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == 3  # table stream, Kinesis stream, queue
    qualified_name = {
        "Fn::Join": ["", [{"Fn::Select": [6, {"Fn::Split": [":", _ref(_canary_alias(template))]}]}, ":live"]]
    }
    assert all(m["Properties"]["FunctionName"] == qualified_name for m in mappings)


def test_rule_targets_schedules_and_subscriptions_invoke_the_alias(template: dict[str, Any]) -> None:
    alias = _ref(_linear_alias(template))
    (rule,) = _resources(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["Targets"][0]["Arn"] == alias
    (schedule,) = _resources(template, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["Target"]["Arn"] == alias
    lambda_subscriptions = [
        s
        for s in _resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
    ]
    assert [s["Properties"]["Endpoint"] for s in lambda_subscriptions] == [alias]


def test_workflow_tasks_invoke_the_alias(template: dict[str, Any]) -> None:
    (machine,) = _resources(template, "AWS::StepFunctions::StateMachine").values()
    assert _ref(_canary_alias(template)) in machine["Properties"]["DefinitionString"]["Fn::Join"][1]


def test_cfn_lint_finds_nothing(template: dict[str, Any]) -> None:
    assert cfn_lint_findings(template) == []


@pytest.fixture
def stack() -> Stack:
    return new_stack(new_app())


def _bad(stack: Stack, **props: Any) -> None:
    ServerlessFunction(stack, "Bad", entry=ECHO, **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"deployment": DeploymentPreference.canary(0, 5)},
            "deployment: canary percent 0 must be a whole number from 1 to 99 (100 is all_at_once)",
        ),
        (
            {"deployment": DeploymentPreference.linear(10, 2881)},
            "deployment: linear minutes 2881 must be a whole number from 1 to 2880 (CodeDeploy's 2 days "
            "between traffic shifts)",
        ),
        (
            {"pre_traffic_hook": "hook"},
            "pre_traffic_hook: only applies with a gradual deployment (the 'live' alias); set "
            "deployment=DeploymentPreference.canary(...) or .linear(...), or remove it",
        ),
        (
            {"deployment": DeploymentPreference.all_at_once(), "provisioned_concurrency": 1},
            "provisioned_concurrency: only applies with a gradual deployment",
        ),
        (
            {"deployment": DeploymentPreference.canary(), "provisioned_concurrency": 0},
            "provisioned_concurrency: 0 must be a whole number of 1 or more; leave it unset for none",
        ),
        (
            {
                "deployment": DeploymentPreference.canary(),
                "provisioned_concurrency": 5,
                "reserved_concurrent_executions": 2,
            },
            "provisioned_concurrency: 5 is more than reserved_concurrent_executions (2); Lambda refuses "
            "that: lower it or raise the reservation",
        ),
        (
            {"deployment": DeploymentPreference.canary(), "provisioned_concurrency": 1, "snap_start": True},
            "snap_start: Lambda does not combine SnapStart with provisioned concurrency; choose one",
        ),
        ({"snap_start": True}, "snap_start: only applies with a gradual deployment"),
    ],
)
def test_invalid_deployment_props_are_refused(stack: Stack, props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^Test/Bad: ") as raised:
        _bad(stack, **props)
    assert message in str(raised.value)


def test_deployment_alarms_need_a_gradual_deployment(stack: Stack) -> None:
    alarm = cloudwatch.Alarm.from_alarm_arn(stack, "A", "arn:aws:cloudwatch:us-east-1:111111111111:alarm:x")
    with pytest.raises(ValueError, match=r"^Test/Bad: deployment_alarms: only applies with a gradual"):
        _bad(stack, deployment_alarms=[alarm])
    plain = ServerlessFunction(stack, "Plain", entry=ECHO)
    with pytest.raises(ValueError, match=r"^Test/Plain: add_deployment_alarm: needs a gradual deployment"):
        plain.add_deployment_alarm(alarm)


def test_every_problem_is_reported_at_once(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"^Test/Bad: 2 invalid props:\n  - deployment: canary percent 100"):
        _bad(stack, deployment=DeploymentPreference.canary(100, 0))


def test_invocation_target_is_the_function_without_an_alias(stack: Stack) -> None:
    plain = ServerlessFunction(stack, "Plain", entry=ECHO)
    canary = ServerlessFunction(stack, "Canary", entry=ECHO, deployment=DeploymentPreference.canary())
    assert plain.invocation_target is plain.function
    assert canary.invocation_target is canary.alias
    assert str(DeploymentPreference.canary(10, 5)) == "canary 10% for 5 min"
    # A construct given the L2 function finds its owner's target; any other function is its own.
    assert invocation_target(canary.function) is canary.alias
    assert invocation_target(plain.function) is plain.function
    imported = lambda_.Function.from_function_name(stack, "Imported", "elsewhere")
    assert invocation_target(imported) is imported


@pytest.fixture(scope="module")
def api_rollback_templates() -> dict[str, dict[str, Any]]:
    """An API route to a canary function that rolls back on the API's 5XX: by name (Safe) and by
    reference to the stage (Cyclic), in two stacks of one app."""
    app = new_app()
    for name, by_name in (("Safe", True), ("Cyclic", False)):
        stack = new_stack(app, name)
        api = ServerlessApi(stack, "Api")
        orders = ServerlessFunction(
            stack, "Orders", entry=ECHO, deployment=DeploymentPreference.canary(10, 5)
        )
        api.add_route(
            "GET", "/orders", orders.function, authorization=AuthorizationMode.NONE, public_reason="A test"
        )
        orders.add_deployment_alarm(
            cloudwatch.Alarm(
                stack,
                "Api5xx",
                metric=api.metric("5XXError", statistic="Sum", period=Duration.minutes(1), by_name=by_name),
                threshold=1,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
    return synth_templates(app)


def test_an_api_alarm_by_name_rolls_back_the_apis_functions_without_a_cycle(
    api_rollback_templates: dict[str, dict[str, Any]],
) -> None:
    safe = api_rollback_templates["Safe"]
    (alarm,) = [
        r
        for r in safe["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and "Dimensions" in r["Properties"]
        and r["Properties"]["MetricName"] == "5XXError"
    ]
    assert alarm["Properties"]["Dimensions"] == [
        {"Name": "ApiName", "Value": "Api"},
        {"Name": "Stage", "Value": "dev"},  # ApiStage's default name
    ]
    assert cfn_lint_findings(safe) == []
    # By reference to the stage: the stage's method references the alias, whose deployment group
    # references the alarm, which references the stage.
    assert any(
        finding.startswith("E3004 ") for finding in cfn_lint_findings(api_rollback_templates["Cyclic"])
    )
