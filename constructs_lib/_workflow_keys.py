"""What a Workflow's customer-managed key must allow besides the state machine's own role.

aws-cdk-lib gives the role kms:Decrypt and kms:GenerateDataKey under the state machine's
encryption context, and log delivery (delivery.logs.amazonaws.com) kms:Decrypt. Two more parties
need the key (https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html):

- CloudWatch Logs, to encrypt the workflow's log group: a statement in the key's policy.
- Callers of the Step Functions APIs that return encrypted data: "When an IAM role or user calls
  the Step Functions API, the Step Functions service calls AWS KMS on behalf of the API caller",
  under the encryption context ``aws:states:stateMachineArn``. AWS's table of "Required permissions
  for API callers" lists kms:Decrypt for StartSyncExecution, DescribeStateMachine,
  DescribeStateMachineForExecution, DescribeExecution and GetExecutionHistory, and none for
  StartExecution, StopExecution, RedriveExecution or SendTask*.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn


def grant_decrypt_through_step_functions(
    key: kms.IKey, grantee: iam.IGrantable, state_machine: sfn.IStateMachine
) -> iam.Grant:
    """kms:Decrypt on `key` for `grantee`, only when Step Functions calls KMS for it (kms:ViaService)
    on `state_machine`'s data (its encryption context): what the APIs listed above need."""
    region = Stack.of(state_machine).region
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["kms:Decrypt"],
        resource_arns=[key.key_arn],
        conditions={
            "StringEquals": {
                "kms:EncryptionContext:aws:states:stateMachineArn": state_machine.state_machine_arn,
                "kms:ViaService": f"states.{region}.amazonaws.com",
            }
        },
    )


def allow_logs_to_use_key(key: kms.IKey, log_group: logs.LogGroup) -> None:
    """The key-policy statement CloudWatch Logs needs to encrypt this log group with `key`."""
    stack = Stack.of(log_group)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsForWorkflowLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
