"""AlarmTopic: where the library's alarms go.

Creates: one SNS topic encrypted with a customer-managed KMS key (rotation on) whose key
policy lets CloudWatch alarms publish (the AWS-managed SNS key cannot grant that), a topic
policy that lets this account's CloudWatch alarms publish and denies access without TLS, and
an email subscription per address whose undeliverable notifications land in an
encrypted dead-letter queue instead of vanishing.

Defaults: no subscribers; the key is retained on stack deletion like any key holding data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib._keys import deny_grants_except_for_aws_resources
from constructs_lib._paths import path_of
from constructs_lib._protection import check_disposable, record_reason, weakened_removal_policy
from constructs_lib._queues import dead_letter_queue
from constructs_lib._validation import PropErrors

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AlarmTopic(Construct):
    """An encrypted SNS topic that CloudWatch alarms can publish to, with email subscribers.

    Pass `topic` as the `alarm_topic` of the library's constructs. Attributes: `topic`, `key`,
    `dead_letter_queue` (None without subscribers).

    A `removal_policy` other than RETAIN schedules the key's deletion with the stack, after which
    nothing encrypted with it can be read: it needs `disposable_data_reason` (one sentence, written
    into the key's template Metadata).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        email_addresses: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        check_disposable(
            errors,
            weakened_removal_policy(removal_policy),
            disposable_data_reason,
            "the key and what it encrypts",
        )
        for index, address in enumerate(email_addresses):
            errors.check(
                bool(_EMAIL.match(address)),
                f"email_addresses[{index}]",
                f"'{address}' is not an email address like oncall@example.com",
            )
            # aws-cdk-lib names each subscription after its address and throws through jsii on a repeat.
            errors.check(
                address not in email_addresses[:index],
                f"email_addresses[{index}]",
                f"'{address}' is listed twice; list each address once",
            )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the alarm topic {path_of(self)}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        record_reason(self.key, disposable_data_reason)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        deny_grants_except_for_aws_resources(self.key)
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        # The topic policy CloudFormation writes replaces SNS's default one: without this statement
        # only the TLS deny remains and no alarm could publish.
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        self.dead_letter_queue: sqs.Queue | None = None
        if email_addresses:
            self.dead_letter_queue = dead_letter_queue(
                self, "UndeliveredQueue", holds="the alarm topic's undeliverable email notifications"
            )
        for address in email_addresses:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(address, dead_letter_queue=self.dead_letter_queue)
            )
