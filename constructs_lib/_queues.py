"""The dead-letter queue every failure path of the library ends in."""

from __future__ import annotations

import weakref

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _metrics
from constructs_lib.compliance import Acknowledged, _acknowledge_created

# SQS's maximum: the longest time anyone has to notice and replay a failed event.
DEAD_LETTER_RETENTION = Duration.days(14)
# What each dead-letter queue made in this process holds (ServiceDashboard's replay table), kept in
# Python: no jsii round trip to record or read it.
_HOLDS: weakref.WeakKeyDictionary[sqs.Queue, str] = weakref.WeakKeyDictionary()


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

    A dead-letter queue has no dead-letter queue of its own: the scanners' findings saying so
    (cdk-nag SQS3 and SQSRedrivePolicy, Control Tower CT.SQS.PR.1) are acknowledged on it, saying
    what it holds, and so is checkov's wish for a KMS key where SQS-managed encryption serves.
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
    _HOLDS[queue] = holds
    _acknowledge_created(
        queue,
        Acknowledged(
            f"This queue is the dead-letter queue of {holds}; a DLQ has no DLQ of its own.",
            cdk_nag=["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
            control_tower=["sqs_dlq_check"],
        ),
        Acknowledged(
            "Encrypted at rest with SQS-managed keys (SSE-SQS), which SNS, Lambda and EventBridge can "
            "write to without a key policy; checkov counts only KMS keys as encryption.",
            checkov=["CKV_AWS_27"],
        ),
    )
    return queue


def dead_letter_holds(queue: sqs.Queue) -> str | None:
    """What `queue` holds if `dead_letter_queue` made it in this process; None otherwise."""
    return _HOLDS.get(queue)


def messages_waiting(
    queue: sqs.IQueue,
    *,
    statistic: str = "Maximum",
    period: Duration | None = None,
    label: str | None = None,
) -> cloudwatch.Metric:
    """The messages waiting in `queue` (AWS/SQS ``ApproximateNumberOfMessagesVisible``), at most over
    `period` (five minutes by default): every dead-letter alarm and the dashboard's queue graphs use it."""
    return _metrics.queue(queue).metric(
        "ApproximateNumberOfMessagesVisible", statistic=statistic, period=period, label=label
    )
