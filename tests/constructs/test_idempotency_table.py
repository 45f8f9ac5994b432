"""IdempotencyTable: Powertools' record table, its environment contract and its exact grant."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk.assertions import Template

from constructs_lib import IdempotencyTable, ServerlessFunction
from constructs_lib.idempotency_table import IDEMPOTENCY_ACTIONS
from constructs_lib.runtime import environment as env
from tests.cdk import new_app, new_stack

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"


def test_table_environment_and_grant() -> None:
    stack: Stack = new_stack(new_app())
    records = IdempotencyTable(stack, "Records")
    function = ServerlessFunction(stack, "Fn", entry=ECHO, environment=records.runtime_environment)
    records.grant_idempotency(function)
    template = Template.from_stack(stack)
    # The key and TTL attributes DynamoDBPersistenceLayer uses by default.
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )
    # The variable the API's handlers read through the runtime contract (env.IDEMPOTENCY_TABLE).
    functions = template.find_resources("AWS::Lambda::Function")
    (properties,) = [resource["Properties"] for resource in functions.values()]
    assert env.IDEMPOTENCY_TABLE in properties["Environment"]["Variables"]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    dynamodb = [statement for statement in statements if str(statement["Action"]).startswith("['dynamodb:")]
    assert [sorted(statement["Action"]) for statement in dynamodb] == [sorted(IDEMPOTENCY_ACTIONS)]
