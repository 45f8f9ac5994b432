"""QueueWorker: an SQS queue worked off by a Lambda function, losing no message.

Creates: the work queue (encrypted, TLS-only queue policy); its dead-letter queue (receives a message
after `max_receive_count` failed receives, keeps it 14 days, longer than the work queue keeps messages,
and accepts redrives from this work queue only); an event source mapping from the queue to the
function that lets the function report partial batch failures (``batchItemFailures``); and alarms on
the age of the oldest message and on any message in the dead-letter queue.

Defaults: a standard queue; SQS-managed encryption (SSE-SQS): no key policy to keep in step with every
producer, AWS services such as EventBridge and SNS can deliver to it without a key grant, and no KMS
request charges; pass `encryption_key` when a customer-managed key is required (both queues use it);
batches of 10 messages without a batching window; messages kept 4 days; a message is dead-lettered
after 5 receives; the visibility timeout is 6 x the function's timeout plus the batching window (AWS's
advice); alarms on, RETAIN on stack deletion (queued messages are data).
"""

from __future__ import annotations

import re
from dataclasses import replace

from aws_cdk import ArnFormat, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
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
from constructs_lib._nag import acknowledge, acknowledge_key_grant
from constructs_lib._paths import path_of
from constructs_lib._protection import check_disposable, record_reason, weakened_removal_policy
from constructs_lib._queues import DEAD_LETTER_RETENTION, dead_letter_queue, messages_waiting
from constructs_lib._validation import PropErrors, check_whole_seconds
from constructs_lib.serverless_function import ServerlessFunction

# AWS recommends a visibility timeout of at least six times the function's timeout (plus the batching
# window): a batch throttled or retried by Lambda must not reappear to another worker while in flight.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_VISIBILITY_TIMEOUT = _resolved.hours(12)  # SQS's limit
# Lambda's own default: small batches keep one failed message from delaying many others.
DEFAULT_BATCH_SIZE = 10
MAX_BATCH_SIZE = 10000  # Lambda's limit for standard queues
MAX_FIFO_BATCH_SIZE = 10  # Lambda's limit for FIFO queues
MAX_UNWINDOWED_BATCH_SIZE = 10  # above this, Lambda requires a batching window of at least 1 second
MAX_BATCHING_WINDOW = _resolved.minutes(5)
MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY = 2, 1000  # Lambda's limits for SQS event source mappings
# SQS's default. It must stay below the dead-letter queue's 14 days: a dead-lettered message keeps the
# time it was first sent, so it would expire from the dead-letter queue as early as from this one.
DEFAULT_RETENTION = _resolved.days(4)
MIN_RETENTION = _resolved.minutes(1)
# AWS's advice for Lambda consumers: receives Lambda throttles count too, and 5 rides out a burst
# without letting a poison message cycle for long.
DEFAULT_MAX_RECEIVE_COUNT = 5
MAX_RECEIVE_COUNT = 1000  # SQS's limit
# A worker takes seconds per message: a message waiting 15 minutes means the worker is failing,
# throttled or too slow, with days of retention left to act.
DEFAULT_OLDEST_MESSAGE_AGE_THRESHOLD = _resolved.minutes(15)
_MIN_OLDEST_MESSAGE_AGE_SECONDS = 60
# The alarms by name, with their defaults (`alarm_settings` changes them). A late message may still be
# worked off (warning); a dead-lettered one waits for a person (critical). No data means no messages.
ALARMS = {
    "oldest_message": AlarmDefault(
        threshold=_resolved.to_seconds(DEFAULT_OLDEST_MESSAGE_AGE_THRESHOLD), level=AlarmLevel.WARNING
    ),
    "dead_letter": AlarmDefault(threshold=1, level=AlarmLevel.CRITICAL),
}
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_SUFFIX = ".fifo"
_MAX_GENERATED_NAME = 80 - len(_FIFO_SUFFIX)


class QueueWorker(Construct):
    """An SQS queue consumed by a `ServerlessFunction`, with a dead-letter queue and alarms.

    The function receives batches (``event["Records"]``) and returns
    ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`` for the messages it could not
    process: only those return to the queue; after `max_receive_count` receives a message moves to
    the dead-letter queue. A FIFO queue (`fifo=True`) delivers each message group in order, one batch
    at a time; `content_based_deduplication` drops a message whose body was sent in the last 5 minutes.
    A `removal_policy` other than RETAIN lets queued messages go with the stack, so it needs
    `disposable_data_reason` (one sentence, written into both queues' template Metadata).

    Attributes: `queue`, `dead_letter_queue`, `event_source`, `function`, `visibility_timeout`,
    `oldest_message_alarm` and `dead_letter_alarm` (None without alarms or turned off).

    Alarms (`alarm_settings` changes them by name; `ALARMS` holds the defaults):
    ``oldest_message`` (warning: a message has waited `oldest_message_age_threshold`, in seconds;
    missing data healthy) and ``dead_letter`` (critical: one message or more in the dead-letter
    queue; missing data healthy).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: ServerlessFunction,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        max_concurrency: int | None = None,
        visibility_timeout: Duration | None = None,
        retention_period: Duration = DEFAULT_RETENTION,
        max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
        fifo: bool = False,
        content_based_deduplication: bool = False,
        queue_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
        alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        oldest_message_age_threshold: Duration = DEFAULT_OLDEST_MESSAGE_AGE_THRESHOLD,
        alarm_settings: AlarmSettings | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        # SQS and Lambda take these in whole seconds, and to_seconds() throws through jsii on a
        # fraction of one, so the checks below could not even run: report fractions first (issue #18).
        for prop, duration in (
            ("max_batching_window", max_batching_window),
            ("visibility_timeout", visibility_timeout),
            ("retention_period", retention_period),
            ("oldest_message_age_threshold", oldest_message_age_threshold),
        ):
            check_whole_seconds(errors, prop, duration)
        errors.raise_if_any()
        function_timeout = function.function.timeout or Duration.seconds(3)  # Lambda's default
        # The visibility timeout follows from durations only when none of them comes from a token.
        derived_from = (function_timeout, max_batching_window)
        visibility_known = not any(
            d is not None and _resolved.is_unresolved_duration(d) for d in derived_from
        )
        required_visibility = (
            _resolved.seconds(  # whole seconds, checked above
                int(
                    VISIBILITY_TIMEOUT_FACTOR * _resolved.to_seconds(function_timeout)
                    + (_resolved.to_seconds(max_batching_window) if max_batching_window else 0)
                )
            )
            if visibility_known
            else None
        )
        _validate_batching(errors, batch_size, max_batching_window, max_concurrency, fifo=fifo)
        _validate_queue(
            errors,
            queue_name=queue_name,
            fifo=fifo,
            content_based_deduplication=content_based_deduplication,
            retention_period=retention_period,
            max_receive_count=max_receive_count,
        )
        if (
            visibility_timeout is not None
            and not _resolved.is_unresolved_duration(visibility_timeout)
            and required_visibility is not None
        ):
            errors.check(
                (given := _resolved.to_seconds(visibility_timeout))
                >= (required := _resolved.to_seconds(required_visibility)),
                "visibility_timeout",
                f"{given:g} s is shorter than {VISIBILITY_TIMEOUT_FACTOR} x the function's "
                f"{_resolved.to_seconds(function_timeout):g} s timeout plus the batching window "
                f"({required:g} s): a message would reappear while it is still being processed; raise it or "
                "leave it unset",
            )
        visibility = visibility_timeout or required_visibility
        if visibility is None:
            errors.add(
                "visibility_timeout",
                "cannot be derived from the function's timeout or max_batching_window when one comes "
                "from a token (a CfnParameter); set visibility_timeout to at least "
                f"{VISIBILITY_TIMEOUT_FACTOR} x the timeout plus the batching window",
            )
        elif not _resolved.is_unresolved_duration(visibility) and (
            seconds := _resolved.to_seconds(visibility)
        ) > _resolved.to_seconds(MAX_VISIBILITY_TIMEOUT):
            errors.add(
                "visibility_timeout", f"{seconds:g} s exceeds SQS's 12 hours; shorten the function's timeout"
            )
        errors.check(
            alarms or alarm_topic is None,
            "alarm_topic",
            "is the action of the worker's alarms; set alarms=True or remove it",
        )
        check_alarm_settings(
            errors, alarm_settings, ALARMS, alarms_on=alarms, topic=alarm_topic, what="the worker's"
        )
        errors.check(
            _resolved.is_unresolved_duration(oldest_message_age_threshold)
            or _resolved.is_unresolved_duration(retention_period)
            or _MIN_OLDEST_MESSAGE_AGE_SECONDS
            <= _resolved.to_seconds(oldest_message_age_threshold)
            < _resolved.to_seconds(retention_period),
            "oldest_message_age_threshold",
            "must be at least 1 minute and shorter than retention_period, or messages expire unnoticed",
        )
        check_disposable(
            errors, weakened_removal_policy(removal_policy), disposable_data_reason, "the queued messages"
        )
        errors.raise_if_any()
        assert visibility is not None  # a visibility timeout that cannot be derived was reported above
        super().__init__(scope, construct_id)

        self.function = function.function
        self.visibility_timeout: Duration = visibility
        self._encryption_key = encryption_key
        name = queue_name or _generated_name(self, fifo=fifo)
        path = path_of(self)
        stack = Stack.of(self)
        # The dead-letter queue names the work queue by ARN, built from its name: referencing the queue
        # itself would be a cycle, since the work queue's redrive policy references the dead-letter queue.
        source_arn = stack.format_arn(service="sqs", resource=name, arn_format=ArnFormat.NO_RESOURCE_NAME)
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            holds=f"the queue worker {path}",
            removal_policy=removal_policy,
            encryption_key=encryption_key,
            fifo=fifo,
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "WorkQueueArn", source_arn)],
            ),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=name,
            fifo=fifo or None,
            content_based_deduplication=content_based_deduplication or None,
            encryption=sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.SQS_MANAGED,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=retention_period,
            visibility_timeout=visibility,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=max_receive_count, queue=self.dead_letter_queue
            ),
            removal_policy=removal_policy,
        )
        record_reason(self.queue, disposable_data_reason)
        record_reason(self.dead_letter_queue, disposable_data_reason)
        if encryption_key is None:
            compliance.acknowledge(
                self.queue,
                reason="Encrypted at rest with SQS-managed keys (SSE-SQS), which producers can write to "
                "without a key policy; encryption_key= switches the queue to a KMS key, and checkov counts "
                "only KMS keys as encryption.",
                checkov=["CKV_AWS_27"],
            )
        self.event_source = event_sources.SqsEventSource(
            self.queue,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            max_concurrency=max_concurrency,
            report_batch_item_failures=True,
        )
        target = function.invocation_target  # the live alias with a gradual deployment
        target.add_event_source(self.event_source)
        acknowledge(
            target.node.find_child(f"SqsEventSource:{Names.node_unique_id(self.queue.node)}"),
            "Serverless-LambdaEventSourceMappingDestination",
            "Lambda takes no on-failure destination for SQS: a message the function fails returns to the "
            "queue, whose redrive policy moves it to the dead-letter queue after max_receive_count receives.",
        )

        self.oldest_message_alarm: cloudwatch.Alarm | None = None
        self.dead_letter_alarm: cloudwatch.Alarm | None = None
        if alarms:
            self.oldest_message_alarm = threshold_alarm(
                self,
                "OldestMessageAlarm",
                self.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD),
                threshold=_resolved.to_seconds(oldest_message_age_threshold),
                description=f"{path}: a message has waited "
                f"{_resolved.to_human_string(oldest_message_age_threshold)} or more: the worker is failing, "
                "throttled or too slow; look at its errors and concurrency.",
                topic=alarm_topic,
                name="oldest_message",
                settings=alarm_settings,
                default=replace(
                    ALARMS["oldest_message"], threshold=_resolved.to_seconds(oldest_message_age_threshold)
                ),
            )
            self.dead_letter_alarm = threshold_alarm(
                self,
                "DeadLetterAlarm",
                self.metric_dead_letter_messages(period=ALARM_PERIOD),
                threshold=1,
                description=f"{path}: messages failed {max_receive_count} times and were "
                "dead-lettered; fix the cause, then redrive them to the queue within 14 days.",
                topic=alarm_topic,
                name="dead_letter",
                settings=alarm_settings,
                default=ALARMS["dead_letter"],
            )

    @property
    def queue_url(self) -> str:
        return self.queue.queue_url

    @property
    def queue_arn(self) -> str:
        return self.queue.queue_arn

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """The work queue's AWS/SQS metric `metric_name` (dimension ``QueueName``), over `period` (five
        minutes by default). Every alarm and dashboard graph of this worker gets its metric here."""
        return _metrics.queue(self.queue).metric(metric_name, statistic=statistic, period=period, label=label)

    def metric_approximate_age_of_oldest_message(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """How long the oldest message has waited (seconds), at most: the oldest-message alarm's metric."""
        return self.metric("ApproximateAgeOfOldestMessage", statistic=statistic, period=period, label=label)

    def metric_number_of_messages_sent(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Messages sent to the work queue, summed."""
        return self.metric("NumberOfMessagesSent", statistic=statistic, period=period, label=label)

    def metric_number_of_messages_deleted(
        self, *, statistic: str = "Sum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Messages the worker finished (deleted), summed."""
        return self.metric("NumberOfMessagesDeleted", statistic=statistic, period=period, label=label)

    def metric_approximate_number_of_messages_visible(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Messages waiting in the work queue, at most."""
        return self.metric(
            "ApproximateNumberOfMessagesVisible", statistic=statistic, period=period, label=label
        )

    def metric_dead_letter_messages(
        self, *, statistic: str = "Maximum", period: Duration | None = None, label: str | None = None
    ) -> cloudwatch.Metric:
        """Messages waiting in the dead-letter queue, at most: the dead-letter alarm's metric."""
        return messages_waiting(self.dead_letter_queue, statistic=statistic, period=period, label=label)

    def grant_send_messages(self, grantee: iam.IGrantable) -> iam.Grant:
        """Send messages to the work queue (and encrypt them with its key, if any)."""
        grant = self.queue.grant_send_messages(grantee)
        if self._encryption_key is not None:
            # The key actions aws-cdk-lib's send grant already gave (rendered once): the Grant holds them.
            grant = grant.combine(self._encryption_key.grant(grantee, *_SEND_KEY_ACTIONS))
            acknowledge_key_grant(grantee, f"send grant for the KMS-encrypted queue of {path_of(self)}")
        return grant


# What aws-cdk-lib's QueueGrants.sendMessages grants on the queue's key.
_SEND_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")


def _generated_name(worker: Construct, *, fifo: bool) -> str:
    """A stable name unique to the construct path (the dead-letter queue's redrive-allow policy needs it)."""
    name = Names.unique_resource_name(worker, max_length=_MAX_GENERATED_NAME, separator="-")
    return name + _FIFO_SUFFIX if fifo else name


def _validate_batching(
    errors: PropErrors,
    batch_size: int,
    max_batching_window: Duration | None,
    max_concurrency: int | None,
    *,
    fifo: bool,
) -> None:
    if fifo:
        errors.check(
            _resolved.is_unresolved_number(batch_size) or 1 <= batch_size <= MAX_FIFO_BATCH_SIZE,
            "batch_size",
            f"{batch_size} is outside 1-{MAX_FIFO_BATCH_SIZE}, Lambda's limit for FIFO queues",
        )
        errors.check(
            max_batching_window is None,
            "max_batching_window",
            "FIFO queues take no batching window; remove it",
        )
    else:
        errors.check(
            _resolved.is_unresolved_number(batch_size) or 1 <= batch_size <= MAX_BATCH_SIZE,
            "batch_size",
            f"{batch_size} is outside 1-{MAX_BATCH_SIZE}",
        )
        errors.check(
            batch_size <= MAX_UNWINDOWED_BATCH_SIZE
            or (
                max_batching_window is not None
                and (
                    _resolved.is_unresolved_duration(max_batching_window)
                    or _resolved.to_seconds(max_batching_window) >= 1
                )
            ),
            "batch_size",
            f"{batch_size} is above {MAX_UNWINDOWED_BATCH_SIZE}, which needs a max_batching_window of at "
            "least 1 second; set one or take batches of 10",
        )
    errors.check(
        max_batching_window is None
        or _resolved.is_unresolved_duration(max_batching_window)
        or _resolved.to_seconds(max_batching_window) <= _resolved.to_seconds(MAX_BATCHING_WINDOW),
        "max_batching_window",
        "Lambda waits at most 5 minutes to fill a batch",
    )
    errors.check(
        max_concurrency is None
        or _resolved.is_unresolved_number(max_concurrency)
        or MIN_MAX_CONCURRENCY <= max_concurrency <= MAX_MAX_CONCURRENCY,
        "max_concurrency",
        f"{max_concurrency} is outside {MIN_MAX_CONCURRENCY}-{MAX_MAX_CONCURRENCY}; "
        "leave it unset for no limit",
    )


def _validate_queue(
    errors: PropErrors,
    *,
    queue_name: str | None,
    fifo: bool,
    content_based_deduplication: bool,
    retention_period: Duration,
    max_receive_count: int,
) -> None:
    if queue_name is not None and not _resolved.is_unresolved_str(queue_name):
        base = queue_name.removesuffix(_FIFO_SUFFIX)
        errors.check(
            bool(_QUEUE_NAME.match(base)) and len(queue_name) <= 80,
            "queue_name",
            f"'{queue_name}' must be 1-80 characters of A-Z, a-z, 0-9, '-' and '_' (a FIFO queue's "
            "included, with its '.fifo' suffix)",
        )
        errors.check(
            queue_name.endswith(_FIFO_SUFFIX) == fifo,
            "queue_name",
            f"'{queue_name}' must end in '.fifo' for a FIFO queue; add the suffix"
            if fifo
            else f"'{queue_name}' ends in '.fifo', which only a FIFO queue's name may; "
            "set fifo=True or rename it",
        )
    errors.check(
        fifo or not content_based_deduplication,
        "content_based_deduplication",
        "applies only to FIFO queues; set fifo=True or remove it",
    )
    errors.check(
        _resolved.is_unresolved_duration(retention_period)
        or _resolved.to_seconds(MIN_RETENTION)
        <= _resolved.to_seconds(retention_period)
        < _resolved.to_seconds(DEAD_LETTER_RETENTION),
        "retention_period",
        "must be at least 1 minute and shorter than the dead-letter queue's 14 days: a dead-lettered "
        "message keeps the time it was first sent, so it must outlive its retention here",
    )
    errors.check(
        _resolved.is_unresolved_number(max_receive_count) or 1 <= max_receive_count <= MAX_RECEIVE_COUNT,
        "max_receive_count",
        f"{max_receive_count} is outside 1-{MAX_RECEIVE_COUNT}",
    )
