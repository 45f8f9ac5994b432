"""The grant API (issue #25): a grantee in another stack, and the Grant each grant_* returns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template

from constructs_lib import (
    CompositeKeyTable,
    DataStream,
    EventBus,
    IdempotencyTable,
    QueueWorker,
    ServerlessFunction,
    WebSocketApi,
    Workflow,
    lambda_task,
)
from tests.cdk import new_app, new_stack, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


@pytest.fixture(scope="module")
def cross_stack() -> dict[str, Any]:
    app = new_app()
    sockets = new_stack(app, "Sockets")
    chat = WebSocketApi(sockets, "Chat")
    chat.add_route("$default", ServerlessFunction(sockets, "OnMessage", entry=ECHO).function)
    table = CompositeKeyTable(
        sockets, "Items", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    sealed = CompositeKeyTable(
        sockets,
        "Sealed",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        encryption_key=kms.Key(sockets, "SealedKey", enable_key_rotation=True),
    )
    workers = new_stack(app, "Workers")
    notifier = ServerlessFunction(workers, "Notifier", entry=ECHO)
    setting = ssm.StringParameter(workers, "Setting", string_value="on")
    grants = {
        "manage_connections": chat.grant_manage_connections(notifier.function),
        "read_write_data": table.grant_read_write_data(notifier.function),
        # A ServerlessFunction is itself a grantee, for the library's grants and aws-cdk-lib's alike.
        "read_data": table.grant_read_data(notifier),
        "read_setting": setting.grant_read(notifier),
        "read_sealed": sealed.grant_read_data(notifier),
    }
    # cdk-nag runs as a validation plugin: an unacknowledged finding fails this synth.
    return {"templates": synth_templates(app), "grants": grants}


def test_manage_connections_granted_to_a_function_in_another_stack(cross_stack: dict[str, Any]) -> None:
    policies = Template.from_json(cross_stack["templates"]["Workers"]).find_resources("AWS::IAM::Policy")
    actions = [
        statement["Action"]
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert "execute-api:ManageConnections" in actions


def _actions(grant: iam.Grant) -> set[str]:
    actions: set[str] = set()
    for statement in grant.principal_statements:
        action = statement.to_json()["Action"]
        actions.update([action] if isinstance(action, str) else action)
    return actions


def test_read_write_grant_holds_the_read_and_the_write_actions(cross_stack: dict[str, Any]) -> None:
    actions = _actions(cross_stack["grants"]["read_write_data"])
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"} <= actions


def test_a_serverless_function_is_a_grantee(cross_stack: dict[str, Any]) -> None:
    workers = Template.from_json(cross_stack["templates"]["Workers"])
    (role_id,) = workers.find_resources("AWS::IAM::Role")
    for policy in workers.find_resources("AWS::IAM::Policy").values():
        assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    assert "ssm:GetParameter" in _actions(cross_stack["grants"]["read_setting"])
    assert "dynamodb:GetItem" in _actions(cross_stack["grants"]["read_data"])


def test_a_grant_holds_its_key_grant_too(cross_stack: dict[str, Any]) -> None:
    assert {"dynamodb:GetItem", "kms:Decrypt"} <= _actions(cross_stack["grants"]["read_sealed"])


def test_websocket_metrics_are_scoped_to_the_stage() -> None:
    stack = new_stack(new_app(), "Metrics")
    chat = WebSocketApi(stack, "Chat")

    metric = chat.metric("ConnectCount")

    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "AWS/ApiGateway",
        "ConnectCount",
        "Sum",
    )
    assert stack.resolve(metric.dimensions) == {"ApiId": stack.resolve(chat.api.api_id), "Stage": "dev"}


@pytest.fixture(scope="module")
def sealed_grants() -> dict[str, set[str]]:
    """The actions of the Grant each grant_* returns on resources encrypted with a customer key."""
    stack = new_stack(new_app(), "Sealed")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    reader = ServerlessFunction(stack, "Reader", entry=ECHO)
    stream = DataStream(stack, "Clicks", encryption_key=key)
    worker = QueueWorker(
        stack, "Jobs", function=ServerlessFunction(stack, "Worker", entry=ECHO), encryption_key=key
    )
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        encryption_key=key,
        stream=True,
    )
    flow = Workflow(
        stack,
        "Flow",
        definition=lambda_task(stack, "Run", ServerlessFunction(stack, "Step", entry=ECHO)),
        encryption_key=key,
    )
    grants = {
        "stream.grant_write": stream.grant_write(reader),
        "stream.grant_read": stream.grant_read(reader),
        "worker.grant_send_messages": worker.grant_send_messages(reader),
        "table.grant_stream_read": table.grant_stream_read(reader),
        "table.grant_write_data": table.grant_write_data(reader),
        "flow.grant_read": flow.grant_read(reader),
    }
    return {name: _actions(grant) for name, grant in grants.items()}


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        ("stream.grant_write", {"kinesis:PutRecords", "kms:Encrypt", "kms:GenerateDataKey*"}),
        ("stream.grant_read", {"kinesis:GetRecords", "kms:Decrypt"}),
        ("worker.grant_send_messages", {"sqs:SendMessage", "kms:Encrypt", "kms:GenerateDataKey*"}),
        ("table.grant_stream_read", {"dynamodb:GetRecords", "kms:Decrypt"}),
        ("table.grant_write_data", {"dynamodb:PutItem", "kms:Encrypt"}),
        # All its statements: list and describe the state machine, describe its executions, and
        # decrypt what those return with the workflow's key (through Step Functions).
        ("flow.grant_read", {"states:ListExecutions", "states:DescribeExecution", "kms:Decrypt"}),
    ],
)
def test_every_grant_returns_one_grant_covering_all_it_granted(
    sealed_grants: dict[str, set[str]], grant: str, expected: set[str]
) -> None:
    assert expected <= sealed_grants[grant], sorted(sealed_grants[grant])


Permission = tuple[str, str, str, str]


def _permissions(statements: Iterable[Mapping[str, Any]]) -> set[Permission]:
    """Each (effect, action, resource, condition) that resolved policy statements allow: the same set
    however CDK merges or repeats the statements."""
    found: set[Permission] = set()
    for statement in statements:
        actions, resources = statement["Action"], statement["Resource"]
        condition = json.dumps(statement.get("Condition"), sort_keys=True)
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, (str, dict)) else resources:
                found.add((statement["Effect"], action, json.dumps(resource, sort_keys=True), condition))
    return found


# Arguments beyond the grantee, for the grant_* methods that take some.
EXTRA_ARGUMENTS: dict[str, tuple[str, ...]] = {"grant": ("dynamodb:GetItem", "dynamodb:PutItem")}


@pytest.fixture(scope="module")
def granted_and_returned() -> dict[str, tuple[set[Permission], set[Permission]]]:
    """For every grant_* of each construct (with and without a customer-managed key), called on a
    grantee of its own: what the grantee's policy gained, and what the returned Grant holds."""
    stack = new_stack(new_app(), "Granted")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    pk = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)

    def flow(name: str, **props: Any) -> Workflow:
        step = lambda_task(stack, f"{name}Run", ServerlessFunction(stack, f"{name}Step", entry=ECHO))
        return Workflow(stack, name, definition=step, express=True, **props)

    constructs: dict[str, Any] = {
        "table": CompositeKeyTable(stack, "Table", partition_key=pk, stream=True),
        "sealed_table": CompositeKeyTable(
            stack, "SealedTable", partition_key=pk, stream=True, encryption_key=key
        ),
        "stream": DataStream(stack, "Clicks"),
        "sealed_stream": DataStream(stack, "SealedClicks", encryption_key=key),
        "worker": QueueWorker(stack, "Jobs", function=ServerlessFunction(stack, "Worker", entry=ECHO)),
        "sealed_worker": QueueWorker(
            stack,
            "SealedJobs",
            function=ServerlessFunction(stack, "SealedWorker", entry=ECHO),
            encryption_key=key,
        ),
        "flow": flow("Flow"),
        "sealed_flow": flow("SealedFlow", encryption_key=key),
        "sockets": WebSocketApi(stack, "Chat"),
        "bus": EventBus(stack, "Bus", alarms=False),
        "idempotency": IdempotencyTable(stack, "Idempotency"),
    }
    results: dict[str, tuple[set[Permission], set[Permission]]] = {}
    for owner, construct in constructs.items():
        methods = [name for name in dir(construct) if name == "grant" or name.startswith("grant_")]
        assert methods, owner
        for method in methods:
            grantee = iam.Role(
                stack,
                f"{owner}-{method}",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            )
            grant: iam.Grant = getattr(construct, method)(grantee, *EXTRA_ARGUMENTS.get(method, ()))
            policy = grantee.node.try_find_child("DefaultPolicy")
            added = stack.resolve(policy.document)["Statement"] if isinstance(policy, iam.Policy) else []
            returned = [stack.resolve(statement.to_json()) for statement in grant.principal_statements]
            results[f"{owner}.{method}"] = (_permissions(added), _permissions(returned))
    return results


def test_every_grant_returns_all_it_added_to_the_grantee(
    granted_and_returned: dict[str, tuple[set[Permission], set[Permission]]],
) -> None:
    """A Grant that holds less than it granted misleads whoever combines it, attaches it to a
    condition or hands it on; one that holds more claims permissions nobody has."""
    wrong = {
        name: {
            "added, not returned": sorted(added - returned),
            "returned, not added": sorted(returned - added),
        }
        for name, (added, returned) in granted_and_returned.items()
        if added != returned
    }
    assert not wrong, json.dumps(wrong, indent=1)
    assert len(granted_and_returned) >= 20  # every grant_* of the constructs above was called
