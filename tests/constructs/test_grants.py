"""The grant API (issue #25): a grantee in another stack, and the Grant each grant_* returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from constructs_lib import CompositeKeyTable, ServerlessFunction, WebSocketApi
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
    workers = new_stack(app, "Workers")
    notifier = ServerlessFunction(workers, "Notifier", entry=ECHO)
    grants = {
        "manage_connections": chat.grant_manage_connections(notifier.function),
        "read_write_data": table.grant_read_write_data(notifier.function),
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
    return {action for statement in grant.principal_statements for action in statement.to_json()["Action"]}


def test_read_write_grant_holds_the_read_and_the_write_actions(cross_stack: dict[str, Any]) -> None:
    actions = _actions(cross_stack["grants"]["read_write_data"])
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"} <= actions
