"""Integrations of REST API routes other than Lambda proxy: mapped Lambda, and Step Functions itself.

A Step Functions route starts a workflow with no function in between: API Gateway calls
``StartExecution`` (Standard: answers 202 with the execution's id) or ``StartSyncExecution``
(Express: answers with the execution's output), with a role that may start only that workflow.
The mapping template builds the execution input from what the route validated, every value
JSON-escaped: ``{"body": <the JSON body>, "path": {...}, "query": {...}, "caller": "<sub>"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from constructs_lib._paths import path_of
from constructs_lib._validation import PropErrors
from constructs_lib.compliance import COMPLIANCE_PACKS, Acknowledged, acknowledge_all, in_packs

if TYPE_CHECKING:
    from constructs_lib.cors_policy import CorsPolicy
    from constructs_lib.workflow import Workflow

JSON_CONTENT_TYPE = "application/json"
INTERNAL_ERROR = '{"message": "Internal server error"}'
# A JSON string's content, escaped for a JSON string: `escapeJavaScript` also escapes ' as \',
# which JSON does not allow, so that one is undone.
_ESCAPE = '$util.escapeJavaScript({value}).replaceAll("\\\\\'", "\'")'
# Who called, as the route's authorization (an AuthorizationMode value) knows them.
CALLER_EXPRESSIONS = {
    "COGNITO_USER_POOLS": "$context.authorizer.claims.sub",
    "TOKEN": "$context.authorizer.principalId",
    "REQUEST": "$context.authorizer.principalId",
    "AWS_IAM": "$context.identity.userArn",
}
ERROR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def lambda_mapped_integration(
    function: lambda_.IFunction,
    cors: CorsPolicy | None,
    request_templates: Mapping[str, str],
    response_templates: Mapping[str, str],
) -> tuple[apigw.Integration, list[apigw.MethodResponse]]:
    """A non-proxy Lambda integration; CORS headers are added by VTL so they match the origin."""
    cors_prefix = cors.mapped_response_vtl() if cors else ""
    success = {
        content_type: cors_prefix + template
        for content_type, template in (response_templates or {JSON_CONTENT_TYPE: "$input.json('$')"}).items()
    }
    failure = {JSON_CONTENT_TYPE: cors_prefix + INTERNAL_ERROR}
    integration = apigw.LambdaIntegration(
        function,
        proxy=False,
        allow_test_invoke=False,
        request_templates=dict(request_templates) or None,
        # Content types without a template are refused (415) instead of passed through unmapped.
        passthrough_behavior=apigw.PassthroughBehavior.NEVER
        if request_templates
        else apigw.PassthroughBehavior.WHEN_NO_TEMPLATES,
        integration_responses=[
            apigw.IntegrationResponse(status_code="200", response_templates=success),
            # A Lambda error otherwise falls through to the default 200 with the error as body.
            apigw.IntegrationResponse(status_code="500", selection_pattern=".+", response_templates=failure),
        ],
    )
    return integration, [apigw.MethodResponse(status_code="200"), apigw.MethodResponse(status_code="500")]


def workflow_integration(
    scope: Construct,
    route_id: str,
    workflow: Workflow,
    *,
    cors: CorsPolicy | None,
    authorization: str,
    body: bool,
    path_parameters: Sequence[str],
    query_parameters: Sequence[str],
    error_statuses: Mapping[str, int],
    success_status: int | None = None,
) -> tuple[apigw.Integration, list[apigw.MethodResponse]]:
    """An AWS integration starting `workflow` with the route's request as input (see the module doc)."""
    role = iam.Role(
        scope,
        f"{route_id}WorkflowRole",
        description=f"API Gateway starts {path_of(workflow)} with this role",
        assumed_by=iam.ServicePrincipal(
            "apigateway.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
    )
    action = "StartSyncExecution" if workflow.express else "StartExecution"
    # Exactly this action on this state machine, and what it needs of a customer-managed key (the
    # workflow's grants know: StartSyncExecution's caller decrypts the output, StartExecution's nothing).
    if workflow.express:
        workflow.grant_start_sync_execution(role)
    else:
        workflow.grant_start_execution(role)
    acknowledge_all(
        role,
        Acknowledged(
            "No managed policy is attached; the role's inline policy allows only starting this workflow "
            "(and, with its customer-managed key, Step Functions decrypting the answer for it).",
            cdk_nag=["AwsSolutions-IAM4"],
        ),
        Acknowledged(
            "The role's own policy allows only starting this one workflow (and decrypting its answer); "
            "a managed policy would add an attachable copy without narrowing anything.",
            cdk_nag=in_packs("IAMNoInlinePolicy", *COMPLIANCE_PACKS),
        ),
    )
    cors_prefix = cors.mapped_response_vtl() if cors else ""
    request = start_request_template(
        workflow.state_machine_arn,
        caller=CALLER_EXPRESSIONS.get(authorization),
        body=body,
        path_parameters=path_parameters,
        query_parameters=query_parameters,
    )
    status = success_status or (200 if workflow.express else 202)
    success = cors_prefix + (
        sync_response_template(error_statuses, status)
        if workflow.express
        else started_response_template(status)
    )
    integration = apigw.AwsIntegration(
        service="states",
        action=action,
        integration_http_method="POST",
        options=apigw.IntegrationOptions(
            credentials_role=role,
            request_templates={JSON_CONTENT_TYPE: request},
            # Whatever the content type, the same template runs: the body is validated JSON or absent.
            passthrough_behavior=apigw.PassthroughBehavior.WHEN_NO_TEMPLATES,
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code=str(status), response_templates={JSON_CONTENT_TYPE: success}
                ),
                # Step Functions refused (throttled, limits, a misconfigured role): JSON, never its own body.
                apigw.IntegrationResponse(
                    status_code="500",
                    selection_pattern="[45]\\d{2}",
                    response_templates={JSON_CONTENT_TYPE: cors_prefix + INTERNAL_ERROR},
                ),
            ],
        ),
    )
    statuses = sorted({str(status), "500", *(str(error_status) for error_status in error_statuses.values())})
    return integration, [apigw.MethodResponse(status_code=code) for code in statuses]


def check_workflow_route(
    errors: PropErrors, *, express: bool, error_statuses: Mapping[str, int], success_status: int | None = None
) -> None:
    """Record what is wrong with a workflow route's `error_statuses` and `success_status`."""
    errors.check(
        success_status is None or 200 <= success_status <= 299,
        "success_status",
        f"{success_status} is not a success status; use 200-299",
    )
    errors.check(
        express or not error_statuses,
        "error_statuses",
        "only an Express workflow answers with its result; a Standard one answers 202 when it "
        "starts, so its errors cannot choose the status (use express=True or remove error_statuses)",
    )
    for error, status in error_statuses.items():
        errors.check(
            bool(ERROR_NAME.match(error)) and not error.startswith("States."),
            "error_statuses",
            f"'{error}' is not an error name a Fail state or a task of yours raises (1-128 letters, digits, "
            "'_', '.' or '-', not a States.* error)",
        )
        errors.check(
            400 <= status <= 599,
            "error_statuses",
            f"{status} for '{error}' is not an error status; use 400-599",
        )


def _json_string(value: str) -> str:
    """VTL writing `value` (a VTL expression) as the content of a JSON string."""
    return _ESCAPE.format(value=value)


def start_request_template(
    state_machine_arn: str,
    *,
    caller: str | None,
    body: bool,
    path_parameters: Sequence[str],
    query_parameters: Sequence[str],
) -> str:
    """VTL for StartExecution/StartSyncExecution. The execution input is a JSON document inside a
    JSON string: written directly in escaped form (\\" for its quotes), the body (already JSON)
    escaped once, each parameter value twice (once for the input, once for the request)."""
    quote = '\\"'  # a double quote inside the request's "input" string
    fields = []
    if body:
        fields.append(f"{quote}body{quote}: " + _json_string("$input.json('$')"))
    for section, names, getter in (
        ("path", path_parameters, "path"),
        ("query", query_parameters, "querystring"),
    ):
        values = []
        for name in names:
            value = _json_string(_json_string(f"$input.params().{getter}.get('{name}')"))
            values.append(f"{quote}{name}{quote}: {quote}{value}{quote}")
        if values:
            fields.append(f"{quote}{section}{quote}: {{{', '.join(values)}}}")
    if caller:
        fields.append(f"{quote}caller{quote}: {quote}{_json_string(_json_string(caller))}{quote}")
    execution_input = "{" + ", ".join(fields) + "}"
    return f'{{"stateMachineArn": "{state_machine_arn}", "input": "{execution_input}"}}'


def started_response_template(status: int) -> str:
    """VTL for StartExecution's answer: `status` and the execution's id (its ARN)."""
    return "\n".join(
        [
            f"#set($context.responseOverride.status = {status})",
            '{"executionId": "$util.escapeJavaScript($input.path(\'$.executionArn\'))"}',
        ]
    )


def sync_response_template(error_statuses: Mapping[str, int], success_status: int = 200) -> str:
    """VTL for StartSyncExecution's answer: the output when it succeeded; a failed execution whose
    error is in `error_statuses` answers that status with its cause as message (a Lambda task's
    cause is its error document: only its errorMessage is shown, never the stack trace); else 500."""
    lines = [
        "#set($status = $input.path('$.status'))",
        "#set($error = $input.path('$.error'))",
        "#set($cause = \"$!input.path('$.cause')\")",
        '#if($cause.startsWith("{") && $cause.contains("errorMessage"))',
        "#set($cause = $util.parseJson($cause).errorMessage)",
        "#end",
        '#if($status == "SUCCEEDED")',
        f"#set($context.responseOverride.status = {success_status})",
        "$input.path('$.output')",
    ]
    for error, status in sorted(error_statuses.items()):
        lines += [
            f'#elseif($status == "FAILED" && $error == "{error}")',
            f"#set($context.responseOverride.status = {status})",
            '{"message": "' + _json_string("$cause") + '"}',
        ]
    lines += ["#else", "#set($context.responseOverride.status = 500)", INTERNAL_ERROR, "#end"]
    return "\n".join(lines)
