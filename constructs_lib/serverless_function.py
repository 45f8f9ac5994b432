"""ServerlessFunction: a Python Lambda function with the library's operational defaults.

Creates: one Lambda function, its IAM role (no managed policies: only write access to its
own log group, plus what grants add), an explicit log group, and for asynchronously invoked
functions an encrypted SQS dead-letter queue as the on-failure destination. Placed in a VPC, also
a security group (unless given) and a policy with the network-interface actions Lambda needs.

Defaults: Python 3.13 on arm64; the public Powertools for AWS Lambda (Python) v3 layer for
the stack's region; JSON logs at INFO kept for one year; X-Ray active tracing;
POWERTOOLS_SERVICE_NAME and LOG_LEVEL set; 256 MB and 10 s; code staged locally without
Docker (the handler folder, optional runtime helpers, and the folder's requirements.txt
installed for the function's architecture); no VPC. In a VPC: its private subnets with egress,
and a security group that allows only outbound HTTPS. Deployed all at once; with a canary or linear
`deployment`, also a version per change, a `live` alias and a CodeDeploy deployment group that rolls
the alias back on alarms (see constructs_lib/_deployment.py).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _metrics, _resolved
from constructs_lib._bundling import stage_python_code
from constructs_lib._deployment import DeploymentPreference, check_deployment, gradual_deployment
from constructs_lib._function_scanners import acknowledge_function
from constructs_lib._function_validation import (
    DESCRIPTION_MAX_LENGTH,
    check_environment,
    check_handler,
    check_seconds,
)
from constructs_lib._logs import DEFAULT_LOG_RETENTION, check_retention, retained_log_group
from constructs_lib._nag import acknowledge
from constructs_lib._queues import dead_letter_queue
from constructs_lib._validation import PropErrors
from constructs_lib.runtime import environment as env

# Powertools publishes its layer from this account in every commercial region.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
# Layer version 27 carries Powertools 3.x; bump it with aws-lambda-powertools in requirements-dev.txt.
POWERTOOLS_LAYER_VERSION = 27
DEFAULT_MEMORY_SIZE = 256  # MB: enough for boto3 plus Powertools with headroom; 128 MB cold-starts slowly
DEFAULT_TIMEOUT = _resolved.seconds(10)  # API Gateway gives up after 29 s; a handler stuck for 10 s is broken
# Async invocations: Lambda's 2 retries over 6 h, but failures land in a queue instead of vanishing.
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_ASYNC_MAX_EVENT_AGE = _resolved.hours(6)
# Private subnets with a route out (NAT): the function still reaches AWS APIs, and Lambda refuses
# public subnets (a function's network interface never gets a public IP).
DEFAULT_VPC_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
# The EC2 actions Lambda performs with the execution role to attach a function to a VPC: those of the
# AWS managed policy AWSLambdaVPCAccessExecutionRole (v3), without its logs:* on every log group.
VPC_NETWORK_INTERFACE_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What functions of this process already read through jsii: one round trip each, not one per function.
_ARCHITECTURE_NAMES: weakref.WeakKeyDictionary[lambda_.Architecture, str] = weakref.WeakKeyDictionary()
_PARTITION_AND_REGION: weakref.WeakKeyDictionary[Construct, tuple[str, str]] = weakref.WeakKeyDictionary()
# Each ServerlessFunction by its L2 `Function`, which jsii always hands back as the same Python object
# (it was made in Python): `invocation_target(fn.function)` finds its owner without asking Node.js.
_OWNERS: weakref.WeakKeyDictionary[lambda_.IFunction, ServerlessFunction] = weakref.WeakKeyDictionary()
_PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_13
_PYTHON_VERSION = "3.13"


@jsii.implements(iam.IGrantable)
class ServerlessFunction(Construct):
    """A Python Lambda function with secure, observable defaults.

        A grantee itself (``IGrantable``: its execution `role`), so ``table.grant_read_data(fn)``
        works as with ``fn.function``.

        `entry` is the folder holding the handler module (``handler.py`` with a ``handler``
        function by default). Set `include_runtime_helpers` when the handler imports
        ``constructs_lib.runtime``; a ``requirements.txt`` in the folder is installed into the
        asset for the function's architecture. Set `invoked_asynchronously` for functions that
        S3, SNS or EventBridge invoke: failed events then go to `dead_letter_queue`, after
    `async_retry_attempts` retries (default 2) within `async_max_event_age` (default 6 hours); both
    apply only to asynchronous invocations.

        Set `vpc` to reach private resources: the function joins `vpc_subnets` (default: the private
        subnets with egress) with `security_groups` (default: one new group allowing no inbound and only
        outbound HTTPS on TCP 443, which is what AWS APIs and VPC endpoints need; DNS through the VPC
        resolver is not filtered by security groups). Open more with ``connections.allow_to(...)``.

        `deployment` (default all at once) with ``DeploymentPreference.canary(percent, minutes)`` or
        ``.linear(percent, every_minutes)``: each change publishes a version, the `alias` ('live')
        points at it and a CodeDeploy `deployment_group` shifts its traffic, rolling back on
        `deployment_error_alarm` (the alias's errors) and on `deployment_alarms` (or
        `add_deployment_alarm`); `pre_traffic_hook`/`post_traffic_hook` run before and after the shift.
        `provisioned_concurrency` keeps that many environments of the alias initialized;
        `snap_start` restores them from a snapshot of the published version instead.

        Attributes: `function` (the L2 `Function`), `role`, `log_group`, `dead_letter_queue` (None
        for synchronously invoked functions), `security_groups` (empty without a VPC),
        `connections` (only in a VPC), `alias`, `deployment_group` and `deployment_error_alarm`
        (None when deployed all at once) and `invocation_target` (what every trigger invokes).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        entry: str | Path,
        handler: str = "handler.handler",
        description: str | None = None,
        service_name: str | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int = DEFAULT_MEMORY_SIZE,
        timeout: Duration = DEFAULT_TIMEOUT,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        log_level: str = "INFO",
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        reserved_concurrent_executions: int | None = None,
        include_runtime_helpers: bool = False,
        powertools_layer_version: int = POWERTOOLS_LAYER_VERSION,
        invoked_asynchronously: bool = False,
        async_retry_attempts: int | None = None,
        async_max_event_age: Duration | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] = (),
        deployment: DeploymentPreference | None = None,
        deployment_alarms: Sequence[cloudwatch.IAlarm] = (),
        pre_traffic_hook: ServerlessFunction | lambda_.IFunction | None = None,
        post_traffic_hook: ServerlessFunction | lambda_.IFunction | None = None,
        provisioned_concurrency: int | None = None,
        snap_start: bool = False,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        validate_vpc_placement(errors, vpc, vpc_subnets, security_groups)
        deployment = deployment or DeploymentPreference.all_at_once()
        check_deployment(
            errors,
            deployment,
            deployment_alarms=deployment_alarms,
            hooks=(("pre_traffic_hook", pre_traffic_hook), ("post_traffic_hook", post_traffic_hook)),
            provisioned_concurrency=provisioned_concurrency,
            snap_start=snap_start,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        errors.check(
            log_level in _LOG_LEVELS, "log_level", f"'{log_level}' is not one of {', '.join(_LOG_LEVELS)}"
        )
        check_retention(errors, "log_retention", log_retention)
        # Lambda quotas: 128 MB to 10,240 MB in 1-MB increments; timeout 900 seconds (15 minutes), in
        # whole seconds (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
        errors.check(
            # Numbers from tokens (CfnParameters) are not judged: they resolve at deploy.
            _resolved.is_unresolved_number(memory_size)
            or (memory_size == int(memory_size) and 128 <= memory_size <= 10240),
            "memory_size",
            f"{memory_size} MB is outside Lambda's 128-10240 MB (whole MB)",
        )
        check_seconds(
            errors,
            "timeout",
            timeout,
            low_ms=1000,
            high_ms=900_000,
            out_of_range="must be between 1 second and 15 minutes",
        )
        errors.check(
            reserved_concurrent_executions is None
            or _resolved.is_unresolved_number(reserved_concurrent_executions)
            or reserved_concurrent_executions >= 0,
            "reserved_concurrent_executions",
            "must be 0 (disabled) or more; leave it unset for the account's unreserved pool",
        )
        # PutFunctionEventInvokeConfig: MaximumRetryAttempts 0-2, MaximumEventAgeInSeconds 60-21600
        # (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html).
        errors.check(
            async_retry_attempts is None
            or _resolved.is_unresolved_number(async_retry_attempts)
            or 0 <= async_retry_attempts <= 2,
            "async_retry_attempts",
            "Lambda allows 0, 1 or 2 retries",
        )
        if async_max_event_age is not None:
            check_seconds(
                errors,
                "async_max_event_age",
                async_max_event_age,
                low_ms=60_000,
                high_ms=21_600_000,
                out_of_range="Lambda allows 1 minute to 6 hours",
            )
        for prop, value in (
            ("async_retry_attempts", async_retry_attempts),
            ("async_max_event_age", async_max_event_age),
        ):
            errors.check(
                value is None or invoked_asynchronously,
                prop,
                "applies only to asynchronous invocations and would be ignored; "
                "set invoked_asynchronously=True or remove it",
            )
        errors.check(
            description is None
            or len(description) <= DESCRIPTION_MAX_LENGTH
            or _resolved.is_unresolved_str(description),
            "description",
            f"is {len(description or '')} characters, over Lambda's {DESCRIPTION_MAX_LENGTH}; shorten it",
        )
        errors.check(powertools_layer_version >= 1, "powertools_layer_version", "layer versions start at 1")
        errors.check(
            Path(entry).is_dir(), "entry", f"'{entry}' is not a folder; point it at the handler's folder"
        )
        check_handler(errors, Path(entry), handler)
        check_environment(
            errors,
            {
                env.POWERTOOLS_SERVICE_NAME: service_name or construct_id,
                "LOG_LEVEL": log_level,
                **(environment or {}),
            },
        )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        architecture_name = _architecture_name(architecture)  # "arm64" or "x86_64"
        code_folder = stage_python_code(
            Path(entry),
            include_runtime_helpers=include_runtime_helpers,
            architecture=architecture_name,
            python_version=_PYTHON_VERSION,
        )

        path = self.node.path
        self.log_group = retained_log_group(self, "LogGroup", retention=log_retention, scope_path=path)
        self.role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=_lambda_principal(),
            description=f"Execution role of {path}",
        )
        # Only its own log group, instead of AWSLambdaBasicExecutionRole's logs:* on every group.
        self.log_group.grant_write(self.role)

        self.dead_letter_queue: sqs.Queue | None = None
        self.security_groups: list[ec2.ISecurityGroup] = list(security_groups)
        if vpc is not None and not self.security_groups:
            self.security_groups = [self._https_only_security_group(vpc, path)]
        on_failure: lambda_.IDestination | None = None
        if invoked_asynchronously:
            self.dead_letter_queue = dead_letter_queue(
                self, "DeadLetterQueue", holds="the function's failed asynchronous events"
            )
            on_failure = destinations.SqsDestination(self.dead_letter_queue)

        partition, region = _partition_and_region(scope)
        powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            f"arn:{partition}:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-python{_PYTHON_VERSION.replace('.', '')}-{architecture_name}:"
            f"{powertools_layer_version}",
        )
        module, _, function_name = handler.rpartition(".")
        retry_attempts, max_event_age = (
            (
                DEFAULT_ASYNC_RETRY_ATTEMPTS if async_retry_attempts is None else async_retry_attempts,
                async_max_event_age or DEFAULT_ASYNC_MAX_EVENT_AGE,
            )
            if invoked_asynchronously
            else (None, None)
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=_PYTHON_RUNTIME,
            architecture=architecture,
            # The staged folder is named after the hash of its inputs (see _bundling): given as the
            # asset hash, the CDK need not read every file of the bundle again to fingerprint it.
            code=lambda_.Code.from_asset(
                str(code_folder), asset_hash=code_folder.name, asset_hash_type=AssetHashType.CUSTOM
            ),
            handler=f"{module}.{function_name}",
            description=description,
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            layers=[powertools_layer],
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[log_level.replace("WARNING", "WARN")],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrent_executions,
            environment={
                env.POWERTOOLS_SERVICE_NAME: service_name or construct_id,
                "LOG_LEVEL": log_level,
                **(environment or {}),
            },
            on_failure=on_failure,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            vpc=vpc,
            vpc_subnets=(vpc_subnets or DEFAULT_VPC_SUBNETS) if vpc is not None else None,
            security_groups=self.security_groups or None,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
        )
        gradual = (
            gradual_deployment(
                self,
                self.function,
                deployment,
                deployment_alarms=deployment_alarms,
                pre_traffic_hook=_as_function(pre_traffic_hook),
                post_traffic_hook=_as_function(post_traffic_hook),
                provisioned_concurrency=provisioned_concurrency,
                on_failure=on_failure,
                retry_attempts=retry_attempts,
                max_event_age=max_event_age,
                snap_start=snap_start,
                scope_path=path,
            )
            if deployment.gradual
            else None
        )
        self.alias: lambda_.Alias | None = gradual.alias if gradual else None
        self.deployment_group: codedeploy.LambdaDeploymentGroup | None = (
            gradual.deployment_group if gradual else None
        )
        self.deployment_error_alarm: cloudwatch.Alarm | None = gradual.error_alarm if gradual else None
        if vpc is not None:
            self._allow_network_interfaces()
        acknowledge_function(
            self.function,
            self.role,
            invoked_asynchronously=invoked_asynchronously,
            in_vpc=vpc is not None,
            concurrency_reserved=reserved_concurrent_executions is not None,
        )
        _OWNERS[self.function] = self

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The function's execution role: what a grant to this function is written to."""
        return self.role

    @property
    def connections(self) -> ec2.Connections:
        """The function's security groups, e.g. ``database.connections.allow_from(fn.connections, port)``.

        Only in a VPC: outside one, the `Function` raises (it has no security groups).
        """
        return self.function.connections

    def add_environment(self, key: str, value: str) -> None:
        """Add an environment variable to the function."""
        self.function.add_environment(key, value)

    @property
    def invocation_target(self) -> lambda_.IFunction:
        """What API routes, subscriptions, event sources, rules and schedules invoke: the `live` alias
        with a gradual deployment (so a rollback really rolls every caller back), else the function."""
        return self.alias if self.alias is not None else self.function

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """The function's AWS/Lambda metric `metric_name` (dimension ``FunctionName``), over `period`
        (five minutes by default). Every alarm and dashboard graph of this function gets its metric here."""
        return _metrics.lambda_function(self.function).metric(
            metric_name, statistic=statistic, period=period, label=label
        )

    def metric_invocations(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Invocations of the function (Lambda ``Invocations``), summed."""
        return self.metric("Invocations", statistic=statistic, period=period, label=label)

    def metric_errors(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Invocations that failed (``Errors``), summed: alarms and the dashboard use it."""
        return self.metric("Errors", statistic=statistic, period=period, label=label)

    def metric_throttles(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Invocations Lambda refused for lack of concurrency (``Throttles``), summed."""
        return self.metric("Throttles", statistic=statistic, period=period, label=label)

    def metric_duration(
        self, *, statistic: str = "Average", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How long invocations ran (``Duration``, milliseconds), on average."""
        return self.metric("Duration", statistic=statistic, period=period, label=label)

    def metric_concurrent_executions(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Invocations running at once (``ConcurrentExecutions``), at most."""
        return self.metric("ConcurrentExecutions", statistic=statistic, period=period, label=label)

    def metric_async_event_age(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How long asynchronous events waited to be run (``AsyncEventAge``, ms), at most."""
        return self.metric("AsyncEventAge", statistic=statistic, period=period, label=label)

    def metric_async_events_dropped(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Asynchronous events dropped without being run (``AsyncEventsDropped``), summed."""
        return self.metric("AsyncEventsDropped", statistic=statistic, period=period, label=label)

    def metric_iterator_age(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How far a stream consumer is behind (``IteratorAge``, ms), at most."""
        return self.metric("IteratorAge", statistic=statistic, period=period, label=label)

    def add_deployment_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Roll a deployment back also when `alarm` fires during the traffic shift (e.g. an API's 5XX
        alarm). Only with a gradual `deployment`."""
        if self.deployment_group is None:
            errors = PropErrors(self)
            errors.add("add_deployment_alarm", "needs a gradual deployment; set deployment=canary or linear")
            errors.raise_if_any()
            return
        self.deployment_group.add_alarm(alarm)

    def _https_only_security_group(self, vpc: ec2.IVpc, path: str) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"Lambda function {path}: no inbound, outbound HTTPS only",
            allow_all_outbound=False,
        )
        group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs, VPC endpoints and HTTPS services"
        )
        return group

    def _allow_network_interfaces(self) -> None:
        # A policy of its own, which the function depends on: Lambda checks at creation that the role
        # may create network interfaces, and the acknowledgment below then concerns only these actions.
        policy = iam.Policy(
            self,
            "VpcAccessPolicy",
            roles=[self.role],
            statements=[iam.PolicyStatement(actions=list(VPC_NETWORK_INTERFACE_ACTIONS), resources=["*"])],
        )
        self.function.node.add_dependency(policy)
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Lambda creates, describes and deletes the function's VPC network interfaces with these EC2 "
            "actions, whose interface ids are only known at run time; DescribeNetworkInterfaces and "
            "DescribeSubnets support no resource-level permissions (as AWSLambdaVPCAccessExecutionRole).",
        )


def invocation_target(function: ServerlessFunction | lambda_.IFunction) -> lambda_.IFunction:
    """What a construct given `function` should invoke: a `ServerlessFunction`'s (or its L2
    `Function`'s) `invocation_target`, so a function passed as ``fn.function`` still gets the alias;
    any other function as it is."""
    if isinstance(function, ServerlessFunction):
        return function.invocation_target
    owner = _OWNERS.get(function)
    return owner.invocation_target if owner is not None else function


@functools.cache
def _lambda_principal() -> iam.ServicePrincipal:
    # A principal holds no state of its own: every function's role trusts the same one.
    return iam.ServicePrincipal("lambda.amazonaws.com")


def _architecture_name(architecture: lambda_.Architecture) -> str:
    # The default architecture is one object for every function, so its name is read once (jsii makes
    # a new object at each access of Architecture.X86_64: a name given that way is read each time).
    name = _ARCHITECTURE_NAMES.get(architecture)
    if name is None:
        name = _ARCHITECTURE_NAMES[architecture] = architecture.name
    return name


def _partition_and_region(scope: Construct) -> tuple[str, str]:
    # Those of the stack of `scope` (tokens, or literals for a stack with an environment): the same for
    # every function made in it, so read once per scope and per stack.
    known = _PARTITION_AND_REGION.get(scope)
    if known is None:
        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        known = _PARTITION_AND_REGION.get(stack) or (stack.partition, stack.region)
        _PARTITION_AND_REGION[scope] = _PARTITION_AND_REGION[stack] = known
    return known


def _as_function(function: ServerlessFunction | lambda_.IFunction | None) -> lambda_.IFunction | None:
    return function.function if isinstance(function, ServerlessFunction) else function


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> ec2.SelectedSubnets:
    """`vpc.select_subnets` for a `SubnetSelection` value (the Python binding takes its fields only)."""
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnet_type=selection.subnet_type,
        subnets=selection.subnets,
    )


def validate_vpc_placement(
    errors: PropErrors,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup],
) -> ec2.SelectedSubnets | None:
    """Record in `errors` what is wrong with a function's VPC placement; the selected subnets, if any."""
    if vpc is None:
        errors.check(
            vpc_subnets is None, "vpc_subnets", "only applies in a VPC; set vpc as well, or remove it"
        )
        errors.check(
            not security_groups, "security_groups", "only apply in a VPC; set vpc as well, or remove them"
        )
        return None
    try:
        selected = select_subnets(vpc, vpc_subnets or DEFAULT_VPC_SUBNETS)
    except RuntimeError as error:  # jsii reports the CDK's own message, e.g. no subnets of that type
        errors.add("vpc_subnets", f"{error}; select the VPC's private subnets, e.g. by subnet_type")
        return None
    public = {subnet.subnet_id for subnet in vpc.public_subnets}
    errors.check(
        not public.intersection(selected.subnet_ids),
        "vpc_subnets",
        "selects public subnets, where a function gets no public IP and so no internet access; select "
        "private subnets (PRIVATE_WITH_EGRESS, or PRIVATE_ISOLATED with VPC endpoints)",
    )
    errors.check(
        bool(selected.subnet_ids or selected.is_pending_lookup),
        "vpc_subnets",
        "selects no subnets; choose a selection that matches the VPC's private subnets",
    )
    return selected
