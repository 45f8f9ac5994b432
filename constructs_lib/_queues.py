"""The dead-letter queue every failure path of the library ends in."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib._nag import acknowledge

# SQS's maximum: the longest time anyone has to notice and replay a failed event.
DEAD_LETTER_RETENTION = Duration.days(14)


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    holds: str,
    removal_policy: RemovalPolicy | None = None,
    encryption_key: kms.IKey | None = None,
    fifo: bool = False,
    redrive_allow_policy: sqs.RedriveAllowPolicy | None = None,
) -> sqs.Queue:
    """An SQS-encrypted, TLS-only queue keeping messages 14 days, for `holds` (what fails into it).

    With `encryption_key` it is encrypted with that KMS key instead (as the queue it serves);
    `fifo` makes it a FIFO queue (the dead-letter queue of a FIFO queue must be one);
    `redrive_allow_policy` says which queues may use it as their dead-letter queue.

    A dead-letter queue has no dead-letter queue of its own: cdk-nag's SQS3 and
    SQSRedrivePolicy findings are acknowledged on it, saying what it holds.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
        removal_policy=removal_policy,
        fifo=fifo or None,
        redrive_allow_policy=redrive_allow_policy,
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(
            queue, rule, f"This queue is the dead-letter queue of {holds}; a DLQ has no DLQ of its own."
        )
    return queue
