"""Workflow: a Step Functions state machine that orchestrates functions, observable and retried.

Creates: one `StateMachine` from a chain of aws-cdk-lib's own state classes (Standard by default,
Express on request); its own log group; its role (CDK adds exactly what the tasks need); alarms on
failed, timed-out and aborted executions (and throttled ones for Express), sent to the alarm topic.
`lambda_task` makes a Lambda task from a `ServerlessFunction` with the retries AWS recommends.

Defaults: logs kept one year at level ERROR (Standard: only what failed) or ALL (Express: its
executions have no history other than its logs), without execution data (inputs and outputs can
hold personal data); X-Ray tracing on; encryption with an AWS-owned key (`encryption_key` switches
state machine and log group to a customer-managed key); an overall timeout of one hour (Standard)
or five minutes (Express, its maximum).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib import _metrics, _resolved, compliance
from constructs_lib._alarms import (
    ALARM_PERIOD,
    AlarmDefault,
    AlarmLevel,
    AlarmSettings,
    check_alarm_settings,
    threshold_alarm,
)
from constructs_lib._grants import default_policy
from constructs_lib._logs import (
    DEFAULT_LOG_RETENTION,
    SERVICE_KEY_REASON,
    check_retention,
    retained_log_group,
)
from constructs_lib._nag import acknowledge, acknowledge_wildcard_resource
from constructs_lib._paths import path_of
from constructs_lib._validation import PropErrors, check_token_unit
from constructs_lib._workflow_keys import allow_logs_to_use_key, grant_decrypt_through_step_functions
from constructs_lib.serverless_function import ServerlessFunction

# A Standard workflow may run a year; one that has not finished in an hour is stuck, not busy.
DEFAULT_STANDARD_TIMEOUT = _resolved.hours(1)
MAX_EXPRESS_TIMEOUT = _resolved.minutes(5)  # Step Functions' limit for Express workflows
MAX_STANDARD_TIMEOUT = _resolved.days(365)  # Step Functions' limit for Standard workflows
# The transient errors of the Lambda service itself (not of the function's code), which AWS
# recommends retrying: https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
TRANSIENT_LAMBDA_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# 2 s, 4 s, 8 s ... with full jitter: six attempts ride out a minute of throttling, and jitter keeps
# the executions a burst throttled from retrying in lockstep.
DEFAULT_TASK_RETRY_INTERVAL = _resolved.seconds(2)
DEFAULT_TASK_MAX_ATTEMPTS = 6
DEFAULT_TASK_BACKOFF_RATE = 2.0
DEFAULT_TASK_MAX_DELAY = _resolved.seconds(60)
_TERMINAL_TYPES = ("Succeed", "Fail")
_STATE_MACHINE_NAME = re.compile(r"[A-Za-z0-9+!@.()\-=_']{1,80}")
# Integration patterns an Express workflow cannot use: it cannot wait for a job or a callback.
_WAITING_SUFFIXES = (".sync", ".sync:2", ".waitForTaskToken")


def lambda_task(
    scope: Construct,
    construct_id: str,
    function: ServerlessFunction,
    *,
    payload: sfn.TaskInput | None = None,
    result_path: str | None = None,
    result_selector: Mapping[str, Any] | None = None,
    max_attempts: int = DEFAULT_TASK_MAX_ATTEMPTS,
    comment: str | None = None,
) -> tasks.LambdaInvoke:
    """A task invoking `function` with `payload` (the state's input by default), its result being
    the function's return value; the transient Lambda errors are retried with exponential backoff
    and full jitter (errors of the function's own code are not: Catch them, or let the execution fail).
    """
    task = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=function.invocation_target,
        payload=payload,
        payload_response_only=True,
        retry_on_service_exceptions=False,  # replaced by the retry below, which adds throttling and jitter
        result_path=result_path,
        result_selector=dict(result_selector) if result_selector is not None else None,
        comment=comment,
    )
    task.add_retry(
        errors=list(TRANSIENT_LAMBDA_ERRORS),
        interval=DEFAULT_TASK_RETRY_INTERVAL,
        max_attempts=max_attempts,
        backoff_rate=DEFAULT_TASK_BACKOFF_RATE,
        max_delay=DEFAULT_TASK_MAX_DELAY,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


# The alarms by name, with their defaults (`alarm_settings` changes them): a failed or timed-out
# execution needs a person (critical); aborts are usually deliberate and throttles are retried
# (warning). No data means no executions.
ALARMS = {
    "failed": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
    "timed_out": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
    "aborted": AlarmDefault(threshold=1, level=AlarmLevel.WARNING),
    "throttled": AlarmDefault(threshold=1, level=AlarmLevel.WARNING),
}


class Workflow(Construct):
    """A state machine running `definition` (a chain of aws-cdk-lib's `aws_stepfunctions` states).

    `express=True` makes an Express workflow (at most 5 minutes, at-least-once, started
    synchronously by `ServerlessApi.add_workflow_route`); the default is Standard (exactly once,
    up to a year, with an execution history). `log_level` and `include_execution_data` override
    the logging defaults; `encryption_key` encrypts the state machine's data and its log group with a
    customer-managed key, whose policy is given the statements Step Functions and CloudWatch Logs need;
    the grants then include the kms:Decrypt AWS requires of their callers (`_workflow_keys`).

    Attributes: `state_machine`, `role`, `log_group`, `express`, `encryption_key`, `alarms`
    (by name: failed, timed_out, aborted, throttled; an alarm turned off is absent), `state_machine_arn`.

    Alarms (`alarm_settings` changes them by name; `ALARMS` holds the defaults): ``failed`` and
    ``timed_out`` (critical: an execution failed or timed out in 5 minutes), ``aborted`` and, for
    Express, ``throttled`` (warning). Missing data is healthy: no executions, no failures.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: sfn.IChainable,
        express: bool = False,
        timeout: Duration | None = None,
        state_machine_name: str | None = None,
        comment: str | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        log_level: sfn.LogLevel | None = None,
        include_execution_data: bool = False,
        tracing: bool = True,
        encryption_key: kms.IKey | None = None,
        alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_settings: AlarmSettings | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        limit = MAX_EXPRESS_TIMEOUT if express else MAX_STANDARD_TIMEOUT
        chosen_timeout = timeout or (MAX_EXPRESS_TIMEOUT if express else DEFAULT_STANDARD_TIMEOUT)
        # A timeout from a token (a CfnParameter) is not judged, it resolves at deploy; the state
        # machine's TimeoutSeconds takes it in seconds, the unit it must come in.
        convertible = check_token_unit(errors, "timeout", chosen_timeout, "seconds")
        concrete_timeout = not _resolved.is_unresolved_duration(chosen_timeout)
        # Milliseconds: to_seconds() throws through jsii on a fraction of a second (issue #18).
        millis = _resolved.to_milliseconds(chosen_timeout) if concrete_timeout else 1000
        seconds = millis / 1000
        errors.check(
            not concrete_timeout or 0 < seconds <= _resolved.to_seconds(limit),
            "timeout",
            f"{seconds:g} s is outside what {'an Express' if express else 'a Standard'} workflow allows "
            f"(1 s to {_resolved.to_human_string(limit)})"
            + ("; use a Standard workflow (express=False) for longer runs" if express else ""),
        )
        errors.check(millis % 1000 == 0, "timeout", f"{millis} ms is not a whole number of seconds")
        # aws-cdk-lib throws through jsii outside 1-80 characters of this pattern (StateMachine's
        # validateStateMachineName, after CreateStateMachine's name rules).
        name_ok = (
            state_machine_name is None
            or _resolved.is_unresolved_str(state_machine_name)
            or bool(_STATE_MACHINE_NAME.fullmatch(state_machine_name))
        )
        errors.check(
            name_ok,
            "state_machine_name",
            f"'{state_machine_name}' must be 1-80 characters of letters, digits and +!@.()-=_'; "
            "or leave it unset for a generated name",
        )
        check_retention(errors, "log_retention", log_retention)
        errors.check(
            log_level != sfn.LogLevel.OFF,
            "log_level",
            "OFF leaves failed executions without a trace; use ERROR (the Standard default) or FATAL",
        )
        errors.check(
            alarms or alarm_topic is None,
            "alarm_topic",
            "is the action of the workflow's alarms; set alarms=True or remove it",
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the workflow's"
        )
        super().__init__(scope, construct_id)

        self.express = express
        self._alarm_settings = alarm_settings
        self.encryption_key = encryption_key
        self.log_group = retained_log_group(
            self,
            "Logs",
            retention=log_retention,
            encryption_key=encryption_key,
            encryption_reason=SERVICE_KEY_REASON
            if encryption_key is not None
            else "CloudWatch Logs encrypts this log group with keys it manages; without "
            "execution data it holds state names, errors and causes; pass encryption_key to use a "
            "customer-managed key.",
        )
        if encryption_key is not None:
            allow_logs_to_use_key(encryption_key, self.log_group)
        chosen_level = log_level or (sfn.LogLevel.ALL if express else sfn.LogLevel.ERROR)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.EXPRESS if express else sfn.StateMachineType.STANDARD,
            # Definition problems are reported with the props' (below), so the state machine is built
            # even when a prop is wrong: with values aws-cdk-lib accepts, since nothing of it deploys.
            state_machine_name=state_machine_name if name_ok else None,
            comment=comment,
            timeout=chosen_timeout
            if convertible and millis % 1000 == 0
            else Duration.seconds(round(seconds)),
            tracing_enabled=tracing,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=chosen_level,
                include_execution_data=include_execution_data,
            ),
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(encryption_key)
            if encryption_key is not None
            else sfn.AwsOwnedEncryptionConfiguration(),
            removal_policy=RemovalPolicy.DESTROY,  # it holds no data: executions are in its logs
        )
        # Checked once the state machine has bound the states: only then do Parallel and Map render
        # their branches. Nothing is deployed from a construct that raises.
        graph = _graph(definition)
        for problem in _definition_problems(graph, express=express):
            errors.add("definition", problem)
        errors.raise_if_any()
        self.role: iam.IRole = self.state_machine.role  # read once: each read is a jsii round trip
        if chosen_level != sfn.LogLevel.ALL:
            compliance.acknowledge(
                self.state_machine,
                reason=f"Logged at {chosen_level.value}: a Standard workflow's every transition is already "
                "in its execution history (kept 90 days); its logs carry what failed.",
                cdk_nag=["AwsSolutions-SF1"],
            )
        self._acknowledge_role_wildcards(tracing=tracing, functions=_lambda_targets(graph))
        compliance.acknowledge(
            self.role,
            reason="The grants in this role's own policy name only what the workflow's states call and its "
            "logs; a managed policy would add an attachable copy without narrowing anything.",
            cdk_nag=compliance.in_packs(
                "IAMNoInlinePolicy",
                compliance.NIST_800_53_R5,
                compliance.HIPAA_SECURITY,
                compliance.PCI_DSS_321,
            ),
        )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if alarms:
            self._add_alarms(alarm_topic)

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """The state machine's AWS/States metric `metric_name` (dimension ``StateMachineArn``), over
        `period` (five minutes by default). Every alarm and dashboard graph of this workflow gets its
        metric here."""
        return _metrics.state_machine(self.state_machine).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def metric_started(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Executions started, summed."""
        return self.metric("ExecutionsStarted", statistic=statistic, period=period, label=label)

    def metric_succeeded(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Executions that succeeded, summed."""
        return self.metric("ExecutionsSucceeded", statistic=statistic, period=period, label=label)

    def metric_failed(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Executions that failed, summed: the ``failed`` alarm's metric."""
        return self.metric("ExecutionsFailed", statistic=statistic, period=period, label=label)

    def metric_timed_out(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Executions that timed out, summed: the ``timed_out`` alarm's metric."""
        return self.metric("ExecutionsTimedOut", statistic=statistic, period=period, label=label)

    def metric_aborted(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Executions that were aborted, summed: the ``aborted`` alarm's metric."""
        return self.metric("ExecutionsAborted", statistic=statistic, period=period, label=label)

    def metric_throttled(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Throttled state transitions, summed: the ``throttled`` alarm's metric (express)."""
        return self.metric("ExecutionThrottled", statistic=statistic, period=period, label=label)

    def metric_time(
        self, *, statistic: str = "Average", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How long executions ran (milliseconds), on average."""
        return self.metric("ExecutionTime", statistic=statistic, period=period, label=label)

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to start executions (for an Express workflow, synchronously too: see
        `grant_start_sync_execution`). StartExecution needs no permission on a customer-managed key."""
        sync = self.grant_start_sync_execution(grantee) if self.express else None
        grant = self.state_machine.grant_start_execution(grantee)
        return sync.combine(grant) if sync is not None else grant

    def grant_start_sync_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to run this Express workflow synchronously (StartSyncExecution only), and,
        with a customer-managed key, to have Step Functions decrypt the execution's output for it."""
        if not self.express:
            raise ValueError(
                f"{self.node.path}: grant_start_sync_execution: a Standard workflow cannot be started "
                "synchronously; use grant_start_execution, or express=True"
            )
        return self._with_key(grantee, self.state_machine.grant_start_sync_execution(grantee))

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to list this workflow's executions and describe them and their history
        (with a customer-managed key, decrypted for it by Step Functions).

        Narrower than CDK's grant_read, which adds list and describe actions on every state machine
        and activity of the account ('*').
        """
        machine = self.state_machine
        machine_grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["states:ListExecutions", "states:DescribeStateMachine"],
            resource_arns=[machine.state_machine_arn],
        )
        executions = Stack.of(self).format_arn(
            service="states",
            resource="express" if self.express else "execution",
            resource_name=f"{machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "states:DescribeExecution",
                "states:DescribeStateMachineForExecution",
                "states:GetExecutionHistory",
            ],
            resource_arns=[executions],
        )
        policy = default_policy(grantee)
        if policy is not None:
            acknowledge_wildcard_resource(
                policy,
                executions,
                f"The executions of {path_of(self)} only: their names are chosen at start time.",
            )
        return self._with_key(grantee, machine_grant.combine(grant))

    def _with_key(self, grantee: iam.IGrantable, grant: iam.Grant) -> iam.Grant:
        """`grant`, and kms:Decrypt on the customer-managed key for this workflow's data, if it has one
        (the caller's permission AWS requires for the APIs that return encrypted data)."""
        if self.encryption_key is None:
            return grant
        key_grant = grant_decrypt_through_step_functions(self.encryption_key, grantee, self.state_machine)
        return grant.combine(key_grant)

    def _acknowledge_role_wildcards(self, *, tracing: bool, functions: list[str]) -> None:
        policy = default_policy(self.state_machine)
        if policy is None:
            return
        for function_arn in functions:
            acknowledge_wildcard_resource(
                policy,
                f"{function_arn}:*",
                "CDK's Lambda task grant: the versions and aliases of this one function, which a task "
                "may name.",
            )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions' log delivery (logs:CreateLogDelivery and the other delivery actions) "
            + ("and X-Ray's PutTraceSegments and sampling calls " if tracing else "")
            + "support no resource-level permissions: AWS documents '*' as their only resource.",
        )

    def _add_alarms(self, topic: sns.ITopic | None) -> None:
        path = path_of(self)
        metrics: list[tuple[str, str, cloudwatch.IMetric, str]] = [
            ("failed", "FailedAlarm", self.metric_failed(period=ALARM_PERIOD), "failed"),
            (
                "timed_out",
                "TimedOutAlarm",
                self.metric_timed_out(period=ALARM_PERIOD),
                "timed out",
            ),
            (
                "aborted",
                "AbortedAlarm",
                self.metric_aborted(period=ALARM_PERIOD),
                "was aborted",
            ),
        ]
        if self.express:
            metrics.append(
                (
                    "throttled",
                    "ThrottledAlarm",
                    self.metric_throttled(period=ALARM_PERIOD),
                    "was throttled",
                )
            )
        where = "its log group" if self.express else "its execution history and log group"
        for key, construct_id, metric, what in metrics:
            alarm = threshold_alarm(
                self,
                construct_id,
                metric,
                threshold=1,
                description=f"{path}: an execution {what}; look at {where} for the state and the cause.",
                topic=topic,
                name=key,
                settings=self._alarm_settings,
                default=ALARMS[key],
            )
            if alarm is not None:
                self.alarms[key] = alarm


def _graph(definition: sfn.IChainable) -> dict[str, Any]:
    """The definition as Amazon States Language, without binding its states to a graph of ours
    (a state belongs to one graph: the state machine's)."""
    start = definition.start_state
    start_id = start.state_id
    states = sfn.State.find_reachable_states(start, include_error_handlers=True)
    # jsii hands back the same Python object for the same state: the start's id is not read twice.
    return {
        "StartAt": start_id,
        "States": {
            (start_id if state is start else state.state_id): state.to_state_json() for state in states
        },
    }


def _definition_problems(graph: Mapping[str, Any], *, express: bool) -> list[str]:
    """Problems Step Functions would refuse at deploy time (or that would run forever)."""
    problems: list[str] = []
    _check_graph(graph, "the workflow", problems)
    if express:
        for name, resource in _resources(graph):
            if resource.endswith(_WAITING_SUFFIXES):
                integration = resource.split(":::", 1)[-1]
                problems.append(
                    f"state '{name}' uses '{integration}', which waits for a job or a callback; an Express "
                    "workflow cannot wait: use IntegrationPattern.REQUEST_RESPONSE or a Standard workflow"
                )
    return problems


def _check_graph(graph: Mapping[str, Any], where: str, problems: list[str]) -> None:
    states: Mapping[str, Mapping[str, Any]] = graph.get("States", {})
    start = graph.get("StartAt")
    reachable: set[str] = set()
    pending = [start] if isinstance(start, str) else []
    while pending:
        name = pending.pop()
        if name in reachable or name not in states:
            continue
        reachable.add(name)
        pending.extend(_successors(states[name]))
    if not any(_is_terminal(states[name]) for name in reachable):
        problems.append(
            f"{where} has no reachable end state (every path from '{start}' loops back); give one "
            "branch an end: a Succeed or Fail state, a state without .next(), or a Choice .otherwise() "
            "that leaves the loop"
        )
    for name in sorted(reachable):
        state = states[name]
        for index, branch in enumerate(state.get("Branches", [])):
            _check_graph(branch, f"branch {index} of '{name}'", problems)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                _check_graph(state[key], f"the item processor of '{name}'", problems)


def _successors(state: Mapping[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [choice["Next"] for choice in state.get("Choices", []) if "Next" in choice]
    if "Default" in state:
        found.append(state["Default"])
    found += [catch["Next"] for catch in state.get("Catch", []) if "Next" in catch]
    return found


def _is_terminal(state: Mapping[str, Any]) -> bool:
    return state.get("Type") in _TERMINAL_TYPES or state.get("End") is True


def _lambda_targets(graph: Mapping[str, Any]) -> list[str]:
    """The functions the definition's Lambda tasks invoke (unresolved ARNs), in either task form."""
    found: list[str] = []
    for _name, state in _named_states(graph):
        resource = state.get("Resource")
        parameters = state.get("Parameters")
        name = parameters.get("FunctionName") if isinstance(parameters, Mapping) else None
        if isinstance(resource, str) and resource.endswith(":lambda:invoke") and isinstance(name, str):
            found.append(name)
        elif isinstance(resource, str) and _resolved.is_unresolved_str(resource):
            found.append(resource)
    return sorted(set(found))


def _resources(graph: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(state name, Resource) of every task, nested ones included."""
    found: list[tuple[str, str]] = []
    for name, state in _named_states(graph):
        resource = state.get("Resource")
        if isinstance(resource, str):
            found.append((name, resource))
    return found


def _named_states(graph: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    found: list[tuple[str, Mapping[str, Any]]] = []
    for name, state in graph.get("States", {}).items():
        found.append((name, state))
        for branch in state.get("Branches", []):
            found += _named_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found += _named_states(state[key])
    return found
