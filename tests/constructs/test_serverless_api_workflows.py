"""ServerlessApi.add_workflow_route: Step Functions as the integration, for Standard and Express workflows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from constructs_lib import ApiAuthorizers
from constructs_lib.serverless_api import AuthorizationMode, CorsPolicy, ServerlessApi
from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.workflow import Workflow, lambda_task
from tests.cdk import cfn_lint_findings, new_app, new_stack, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
APP_ORIGIN = "https://app.example.com"
METHOD = "AWS::ApiGateway::Method"
SCHEMA = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


@pytest.fixture(scope="module")
def template() -> Template:
    app = new_app()
    stack = new_stack(app, "Api")
    pool = cognito.UserPool.from_user_pool_id(stack, "Users", "us-east-1_Example")
    api = ServerlessApi(
        stack,
        "Api",
        cors=CorsPolicy(allow_origins=[APP_ORIGIN]),
        default_authorization=AuthorizationMode.COGNITO,
        authorizers=ApiAuthorizers(user_pools=[pool]),
    )
    step = ServerlessFunction(stack, "Step", entry=ECHO)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    # With a customer-managed key, StartExecution needs no key permission (AWS documents none).
    standard = Workflow(stack, "Cleanup", definition=lambda_task(stack, "Clean", step), encryption_key=key)
    express = Workflow(stack, "Lookup", definition=sfn.Pass(stack, "Answer"), express=True)
    sealed = Workflow(stack, "Sealed", definition=sfn.Pass(stack, "Secret"), express=True, encryption_key=key)
    api.add_workflow_route("PATCH", "/sealed", sealed)
    api.add_workflow_route("DELETE", "/groups/{groupId}", standard)
    api.add_workflow_route(
        "POST",
        "/lookups",
        express,
        authorization=AuthorizationMode.IAM,
        request_schema=SCHEMA,
        required_query_parameters=["mode"],
        error_statuses={"NotFound": 404, "Conflict": 409},
    )
    return Template.from_json(synth_templates(app)["Api"])


def _method(template: Template, verb: str) -> dict[str, Any]:
    (method,) = [m for m in template.find_resources(METHOD).values() if m["Properties"]["HttpMethod"] == verb]
    return dict(method["Properties"])


def _text(value: Any) -> str:
    """A template string, with each token of a Fn::Join written as ARN."""
    if isinstance(value, str):
        return value
    return "".join(part if isinstance(part, str) else "ARN" for part in value["Fn::Join"][1])


def _uri(method: dict[str, Any]) -> str:
    return _text(method["Integration"]["Uri"])


def _role_statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for k, p in template.find_resources("AWS::IAM::Policy").items()
        if k.startswith(f"Api{prefix}WorkflowRole")
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_standard_route_starts_an_execution_with_the_callers_sub(template: Template) -> None:
    method = _method(template, "DELETE")
    assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
    integration = method["Integration"]
    assert integration["Type"] == "AWS"
    assert integration["IntegrationHttpMethod"] == "POST"
    assert _uri(method).endswith(":states:action/StartExecution")
    request = integration["RequestTemplates"]["application/json"]
    text = _text(request)
    assert text.startswith('{"stateMachineArn": "ARN", "input": "{')
    assert "$input.params().path.get('groupId')" in text
    assert "$context.authorizer.claims.sub" in text
    assert "body" not in text  # no schema: the route reads no body


def test_standard_route_answers_202_with_the_execution_id(template: Template) -> None:
    integration = _method(template, "DELETE")["Integration"]
    started, failed = integration["IntegrationResponses"]
    assert started["StatusCode"] == "202"
    assert "$input.path('$.executionArn')" in started["ResponseTemplates"]["application/json"]
    assert '{"executionId": ' in started["ResponseTemplates"]["application/json"]
    assert failed["SelectionPattern"] == "[45]\\d{2}"
    assert failed["StatusCode"] == "500"
    assert failed["ResponseTemplates"]["application/json"].endswith('{"message": "Internal server error"}')
    # CORS on both, for the caller's allowed origin.
    assert f'$origin == "{APP_ORIGIN}"' in started["ResponseTemplates"]["application/json"]
    assert f'$origin == "{APP_ORIGIN}"' in failed["ResponseTemplates"]["application/json"]
    statuses = [response["StatusCode"] for response in _method(template, "DELETE")["MethodResponses"]]
    assert statuses == ["202", "500"]


def test_integration_role_may_start_only_that_workflow(template: Template) -> None:
    (statement,) = _role_statements(template, "DeleteGroupsGroupId")
    assert statement["Action"] == "states:StartExecution"
    assert statement["Resource"]["Ref"].startswith("CleanupStateMachine")
    roles = [
        r
        for k, r in template.find_resources("AWS::IAM::Role").items()
        if k.startswith("ApiDeleteGroupsGroupIdWorkflowRole")
    ]
    (trust,) = roles[0]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_express_route_runs_synchronously_and_maps_errors(template: Template) -> None:
    method = _method(template, "POST")
    assert method["AuthorizationType"] == "AWS_IAM"
    assert _uri(method).endswith(":states:action/StartSyncExecution")
    (statement,) = _role_statements(template, "PostLookups")
    assert statement["Action"] == "states:StartSyncExecution"
    (answer, failed) = method["Integration"]["IntegrationResponses"]
    assert answer["StatusCode"] == "200"
    vtl = answer["ResponseTemplates"]["application/json"]
    assert (
        "#if($status == \"SUCCEEDED\")\n#set($context.responseOverride.status = 200)\n$input.path('$.output')"
        in vtl
    )
    assert (
        '#elseif($status == "FAILED" && $error == "NotFound")\n#set($context.responseOverride.status = 404)'
        in vtl
    )
    assert "#set($context.responseOverride.status = 409)" in vtl
    assert vtl.endswith(
        '#else\n#set($context.responseOverride.status = 500)\n{"message": "Internal server error"}\n#end'
    )
    assert failed["StatusCode"] == "500"
    assert [r["StatusCode"] for r in method["MethodResponses"]] == ["200", "404", "409", "500"]


def test_express_route_with_a_key_may_decrypt_its_answer(template: Template) -> None:
    # StartSyncExecution needs kms:Decrypt (AWS's "Required permissions for API callers"): Step
    # Functions decrypts the output for the caller, under the state machine's encryption context.
    start, decrypt = _role_statements(template, "PatchSealed")
    assert start["Action"] == "states:StartSyncExecution"
    assert start["Resource"]["Ref"].startswith("SealedStateMachine")
    (key,) = template.find_resources("AWS::KMS::Key")
    assert decrypt == {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": {"Fn::GetAtt": [key, "Arn"]},
        "Condition": {
            "StringEquals": {
                "kms:EncryptionContext:aws:states:stateMachineArn": {"Ref": start["Resource"]["Ref"]},
                "kms:ViaService": "states.us-east-1.amazonaws.com",
            }
        },
    }


def test_express_route_validates_the_body_and_passes_body_and_query(template: Template) -> None:
    method = _method(template, "POST")
    assert method["RequestParameters"] == {"method.request.querystring.mode": True}
    assert "application/json" in method["RequestModels"]
    assert method["RequestValidatorId"]
    request = method["Integration"]["RequestTemplates"]["application/json"]
    text = _text(request)
    assert "$input.json('$')" in text
    assert "$input.params().querystring.get('mode')" in text
    assert "$context.identity.userArn" in text


def test_cfn_lint_clean(template: Template) -> None:
    assert cfn_lint_findings(dict(template.to_json())) == []


@pytest.fixture(scope="module")
def bad() -> dict[str, Any]:
    stack = new_stack(new_app(), "Bad")
    api = ServerlessApi(stack, "Api")
    standard = Workflow(stack, "Standard", definition=sfn.Pass(stack, "A"))
    express = Workflow(stack, "Express", definition=sfn.Pass(stack, "B"), express=True)
    return {"api": api, "standard": standard, "express": express}


@pytest.mark.parametrize(
    ("workflow", "statuses", "message"),
    [
        pytest.param(
            "standard",
            {"NotFound": 404},
            "Bad/Api/add_workflow_route(POST /things): error_statuses: only an Express workflow answers with "
            "its result; a Standard one answers 202 when it starts, so its errors cannot choose the status "
            "(use express=True or remove error_statuses)",
            id="standard",
        ),
        pytest.param(
            "express",
            {"NotFound": 200},
            "Bad/Api/add_workflow_route(POST /things): error_statuses: 200 for 'NotFound' is not an error "
            "status; use 400-599",
            id="status",
        ),
        pytest.param(
            "express",
            {"States.ALL": 500},
            "Bad/Api/add_workflow_route(POST /things): error_statuses: 'States.ALL' is not an error name a "
            "Fail state or a task of yours raises (1-128 letters, digits, '_', '.' or '-', not a States.* "
            "error)",
            id="name",
        ),
    ],
)
def test_invalid_workflow_route(
    bad: dict[str, Any], workflow: str, statuses: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        bad["api"].add_workflow_route("POST", "/things", bad[workflow], error_statuses=statuses)
    assert str(raised.value) == message


def test_success_status_must_be_2xx(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as raised:
        bad["api"].add_workflow_route("PUT", "/moved", bad["express"], success_status=302)
    assert str(raised.value) == (
        "Bad/Api/add_workflow_route(PUT /moved): success_status: 302 is not a success status; use 200-299"
    )


def test_route_errors_are_those_of_add_route(bad: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError, match=r"add_workflow_route\(GET /x/\{a\}/\{a\}\): path: parameter 'a' appears twice"
    ):
        bad["api"].add_workflow_route("GET", "/x/{a}/{a}", bad["standard"])
