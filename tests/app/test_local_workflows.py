"""Workflows under the local runner: moto's ASL interpreter runs them, tasks run the local functions,
the state machine's role is enforced, and API routes start them (Standard: 202; Express: its output)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from botocore.config import Config

from constructs_lib.local.__main__ import main
from constructs_lib.local.runner import LocalRunner, RunnerOptions
from constructs_lib.local.stepfunctions.executions import executions, history
from constructs_lib.serverless_api import AuthorizationMode, CorsPolicy, ServerlessApi
from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.workflow import Workflow, lambda_task
from tests.cdk import new_app, new_stack
from tests.polling import FAST_RETRIES, eventually

TASKS = Path(__file__).resolve().parent.parent / "fixtures" / "workflow_function"
ORIGIN = "https://app.example.com"
PUBLIC = "A test API: anyone may start the test workflows."
FINISHED = 30.0


def _build(outdir: Path) -> None:
    app = new_app(outdir)
    stack = new_stack(app, "Flows")

    def function(name: str) -> ServerlessFunction:
        return ServerlessFunction(
            stack, name.title().replace("_", ""), entry=TASKS, handler=f"handler.{name}"
        )

    double, flaky, look_up = function("double"), function("flaky_once"), function("look_up")
    items = sfn.Map(stack, "EachKey", items_path="$.keys", max_concurrency=2, result_path="$.flaky")
    items.item_processor(
        lambda_task(stack, "TryIt", flaky, payload=sfn.TaskInput.from_object({"key.$": "$"})).add_retry(
            errors=["Flaky"], interval=Duration.seconds(1), max_attempts=2
        )
    )
    both = sfn.Parallel(stack, "Both", result_path="$.parallel")
    both.branch(sfn.Wait(stack, "Pause", time=sfn.WaitTime.duration(Duration.seconds(1))))
    both.branch(sfn.Pass(stack, "Mark", result=sfn.Result.from_object({"marked": True})))
    refused = sfn.Fail(stack, "TooBig", error="TooBig", cause="the doubled value is over 100")
    recovered = sfn.Pass(stack, "Recovered", result=sfn.Result.from_object({"recovered": True}))
    definition = (
        sfn.Pass(stack, "Start", parameters={"value.$": "$.body.value", "keys.$": "$.body.keys"})
        .next(lambda_task(stack, "DoubleIt", double, result_path="$.doubled").add_catch(recovered))
        .next(items)
        .next(both)
        .next(
            sfn.Choice(stack, "Small?")
            .when(sfn.Condition.number_greater_than("$.doubled.value", 100), refused)
            .otherwise(sfn.Succeed(stack, "Done"))
        )
    )
    jobs = Workflow(stack, "Jobs", definition=definition)
    lookups = Workflow(
        stack,
        "Lookups",
        express=True,
        definition=lambda_task(stack, "LookItUp", look_up).next(
            sfn.Pass(stack, "Answer", parameters={"found.$": "$.id", "caller.$": "$.caller"})
        ),
    )
    # Fire and forget: the task queues the event (Lambda's Event invocation type) and the workflow goes on;
    # the function fails, is retried once, and the event ends in the function's dead-letter queue.
    never = ServerlessFunction(
        stack,
        "Never",
        entry=TASKS,
        handler="handler.always_fails",
        invoked_asynchronously=True,
        async_retry_attempts=1,
    )
    queue_it = tasks.LambdaInvoke(
        stack,
        "QueueIt",
        lambda_function=never.invocation_target,
        invocation_type=tasks.LambdaInvocationType.EVENT,
        retry_on_service_exceptions=False,
    )
    Workflow(stack, "Notify", definition=queue_it)
    # A workflow whose role may not invoke its function: the template is edited after synth.
    Workflow(stack, "Unallowed", definition=lambda_task(stack, "Forbidden", double))
    # A workflow whose role trusts another service: edited after synth too.
    Workflow(stack, "Untrusted", definition=sfn.Pass(stack, "Nothing"))
    api = ServerlessApi(stack, "Api", cors=CorsPolicy(allow_origins=[ORIGIN]))
    schema = {
        "type": "object",
        "required": ["value", "keys"],
        "properties": {"value": {"type": "integer"}, "keys": {"type": "array", "items": {"type": "string"}}},
    }
    none = AuthorizationMode.NONE
    api.add_workflow_route(
        "POST", "/jobs", jobs, request_schema=schema, authorization=none, public_reason=PUBLIC
    )
    api.add_workflow_route(
        "GET",
        "/things/{id}",
        lookups,
        error_statuses={"NotFound": 404},
        authorization=none,
        public_reason=PUBLIC,
    )
    app.synth()
    _remove_invoke_permission(outdir / "Flows.template.json", "UnallowedStateMachineRole")
    _trust_another_service(outdir / "Flows.template.json", "UntrustedStateMachineRole")


def _remove_invoke_permission(template_file: Path, role_prefix: str) -> None:
    template = json.loads(template_file.read_text())
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Policy" and logical_id.startswith(role_prefix):
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if s["Action"] != "lambda:InvokeFunction"]
    template_file.write_text(json.dumps(template))


def _trust_another_service(template_file: Path, role_prefix: str) -> None:
    template = json.loads(template_file.read_text())
    (role,) = [
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(role_prefix)
    ]
    for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        statement["Principal"] = {"Service": "lambda.amazonaws.com"}
    template_file.write_text(json.dumps(template))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRunner]:
    outdir = tmp_path_factory.mktemp("workflows") / "cdk.out"
    _build(outdir)
    options = RunnerOptions(port=0, websocket_port=0, retry_delays=FAST_RETRIES)
    with LocalRunner(outdir, options, output=io.StringIO()) as runner:
        yield runner


def _url(run: LocalRunner) -> str:
    (url,) = run.state()["restApiUrls"].values()
    return str(url)


def _arn(run: LocalRunner, prefix: str) -> str:
    (arn,) = [arn for path, arn in run.state()["stateMachines"].items() if path.startswith(f"Flows/{prefix}")]
    return str(arn)


def _client(run: LocalRunner) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=run.aws.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        # StartSyncExecution's endpoint is sync-states.<region>: locally, the one endpoint.
        config=Config(inject_host_prefix=False),
    )


def _finished(run: LocalRunner, execution_arn: str) -> dict[str, Any]:
    client = _client(run)
    deadline = time.monotonic() + FINISHED
    while time.monotonic() < deadline:
        described: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError(f"{execution_arn} still running after {FINISHED} s")


def test_api_starts_a_standard_workflow_that_runs_every_state_with_the_local_functions(
    run: LocalRunner,
) -> None:
    reply = requests.post(
        f"{_url(run)}jobs",
        json={"value": 21, "keys": ["a", "b", "c"]},
        headers={"Origin": ORIGIN},
        timeout=10,
    )
    assert reply.status_code == 202, reply.text
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    execution_arn = reply.json()["executionId"]
    assert execution_arn.startswith(_arn(run, "Jobs").replace(":stateMachine:", ":execution:"))
    described = _finished(run, execution_arn)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["doubled"] == {"value": 42}  # the Lambda task ran the real handler
    # Map: each key's task failed once (Flaky) and succeeded on its retry.
    assert output["flaky"] == [{"key": key, "attempts": 2} for key in ("a", "b", "c")]
    assert output["parallel"][1] == {"marked": True}
    events = [
        event["type"] for event in _client(run).get_execution_history(executionArn=execution_arn)["events"]
    ]
    assert "MapStateEntered" in events and "ParallelStateEntered" in events and "WaitStateEntered" in events
    assert events.count("LambdaFunctionFailed") == 3  # the three first attempts, retried


def test_an_event_task_queues_the_invocation_which_is_retried_then_dead_lettered(run: LocalRunner) -> None:
    started = _client(run).start_execution(stateMachineArn=_arn(run, "Notify"), input='{"n": 7}')
    assert (
        _finished(run, started["executionArn"])["status"] == "SUCCEEDED"
    )  # it did not wait for the function
    sqs = boto3.client(
        "sqs",
        endpoint_url=run.aws.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    (dead_letters,) = [url for url in sqs.list_queues()["QueueUrls"] if "NeverDeadLetterQueue" in url]
    (message,) = eventually(lambda: sqs.receive_message(QueueUrl=dead_letters).get("Messages"))
    record = json.loads(message["Body"])  # Lambda's invocation record, as its on-failure destination gets it
    assert record["requestPayload"] == {"n": 7}
    assert (record["requestContext"]["condition"], record["requestContext"]["approximateInvokeCount"]) == (
        "RetriesExhausted",
        2,  # the first attempt and its one retry
    )
    assert record["responsePayload"]["errorMessage"] == "cannot handle {'n': 7}"


def test_choice_leads_to_a_fail_state(run: LocalRunner) -> None:
    reply = requests.post(f"{_url(run)}jobs", json={"value": 60, "keys": []}, timeout=10)
    described = _finished(run, reply.json()["executionId"])
    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == ("TooBig", "the doubled value is over 100")


def test_express_route_answers_with_the_output_or_the_mapped_error(run: LocalRunner) -> None:
    found = requests.get(f"{_url(run)}things/t-1", headers={"Origin": ORIGIN}, timeout=10)
    assert found.status_code == 200, found.text
    assert found.json() == {"found": "t-1", "caller": None}  # a public route: no caller
    assert found.headers["Access-Control-Allow-Origin"] == ORIGIN
    missing = requests.get(f"{_url(run)}things/missing", headers={"Origin": ORIGIN}, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"message": "no thing 'missing'"}
    assert missing.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_path_values_reach_the_workflow_intact(run: LocalRunner) -> None:
    hostile = "a\"b'c\\d"
    found = requests.get(f"{_url(run)}things/{quote(hostile, safe='')}", timeout=10)
    assert found.status_code == 200, found.text
    assert found.json()["found"] == hostile


def test_request_validation_runs_before_the_workflow(run: LocalRunner) -> None:
    reply = requests.post(f"{_url(run)}jobs", json={"value": "not a number"}, timeout=10)
    assert reply.status_code == 400
    assert "message" in reply.json()


def test_state_machine_role_is_enforced_on_its_lambda_tasks(run: LocalRunner) -> None:
    started = _client(run).start_execution(stateMachineArn=_arn(run, "Unallowed"), input="{}")
    described = _finished(run, started["executionArn"])
    assert described["status"] == "FAILED"
    assert "is not authorized to perform: lambda:InvokeFunction" in described["cause"], described
    assert "no identity-based policy allows" in described["cause"]


def test_a_workflow_whose_role_does_not_trust_step_functions_is_refused_and_not_run(run: LocalRunner) -> None:
    # AWS refuses CreateStateMachine: states.amazonaws.com may not assume the role.
    assert not any(path.startswith("Flows/Untrusted") for path in run.state()["stateMachines"])
    banner = "\n".join(run.banner())
    assert "not run: Flows/Untrusted" in banner
    assert "states.amazonaws.com may not assume its role" in banner
    assert "is not authorized to perform: sts:AssumeRole" in banner


def test_executions_command_lists_executions_and_history(
    run: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    requests.post(f"{_url(run)}jobs", json={"value": 1, "keys": []}, timeout=10)
    listed = executions(run.state())
    assert any(item["stateMachine"].startswith("Flows/Jobs") for item in listed)
    one = next(item for item in listed if item["stateMachine"].startswith("Flows/Jobs"))
    assert history(run.state(), one["executionArn"])[0]["type"] == "ExecutionStarted"
    assert run.state_file is not None
    cdk_out = str(run.state_file.parent)
    port = str(run.port)
    assert main(["executions", "--cdk-out", cdk_out, "--port", port]) == 0
    assert "Flows/Jobs" in capsys.readouterr().out
    assert main(["executions", "--cdk-out", cdk_out, "--port", port, "--history", one["executionArn"]]) == 0
    assert "ExecutionStarted" in capsys.readouterr().out


def test_banner_names_the_workflows_and_what_is_not_emulated(run: LocalRunner) -> None:
    banner = "\n".join(run.banner())
    assert "Workflows (4)" in banner
    assert "STANDARD Flows/Jobs" in banner and "EXPRESS  Flows/Lookups" in banner
    assert "moto's ASL interpreter runs them" in banner
