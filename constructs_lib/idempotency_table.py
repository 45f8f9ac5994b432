"""IdempotencyTable: the DynamoDB table Powertools' idempotency utility keeps its records in.

Creates: one `CompositeKeyTable` with the schema Powertools' `DynamoDBPersistenceLayer` uses by default
(partition key ``id``, a string; TTL attribute ``expiration``), so handlers need no key settings.
Defaults: those of any `CompositeKeyTable` (on-demand, PITR on, deletion protection on, RETAIN,
AWS-owned encryption). One table serves many functions: Powertools prefixes each record's id with the
function's name and the decorated function, so their keys never meet.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib.composite_key_table import CompositeKeyTable
from constructs_lib.runtime import environment

KEY_ATTRIBUTE = "id"  # DynamoDBPersistenceLayer's key_attr default
EXPIRY_ATTRIBUTE = (
    "expiration"  # DynamoDBPersistenceLayer's expiry_attr default; DynamoDB's TTL deletes expired records
)
# What DynamoDBPersistenceLayer calls (Powertools v3, persistence/dynamodb.py): get_item to read a record,
# put_item (conditional) to claim a key, update_item to store the result, delete_item when the call failed.
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
TABLE_ENVIRONMENT_VARIABLE = environment.IDEMPOTENCY_TABLE  # the handlers read it by the same constant


class IdempotencyTable(Construct):
    """A table for Powertools' idempotency records, shared by any number of functions.

    `grant_idempotency(fn)` gives a function exactly the item actions the utility uses;
    `runtime_environment` is ``{"IDEMPOTENCY_TABLE": <name>}`` for the function's environment.
    `removal_policy`, `alarms` and `alarm_topic` are passed to the `CompositeKeyTable` (the records are
    short-lived, but a stack update must not lose the in-progress ones).

    Attributes: `table` (the `CompositeKeyTable`), `table_name`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
        alarms: bool = False,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = CompositeKeyTable(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=EXPIRY_ATTRIBUTE,
            removal_policy=removal_policy,
            disposable_data_reason=disposable_data_reason,
            alarms=alarms,
            alarm_topic=alarm_topic,
        )

    @property
    def table_name(self) -> str:
        return self.table.table_name

    @property
    def runtime_environment(self) -> dict[str, str]:
        """The environment variable naming the table, for the functions granted access."""
        return {TABLE_ENVIRONMENT_VARIABLE: self.table.table_name}

    def grant_idempotency(self, grantee: iam.IGrantable) -> iam.Grant:
        """GetItem, PutItem, UpdateItem and DeleteItem on the table: what the idempotency utility calls."""
        return self.table.grant(grantee, *IDEMPOTENCY_ACTIONS)
