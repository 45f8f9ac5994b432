"""An event source mapping as the consumers use it, and Lambda's reading of a batch's outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from constructs_lib.local._types import Invocation
from constructs_lib.local.events._delivery import short
from constructs_lib.local.events._threads import Poller

if TYPE_CHECKING:
    from constructs_lib.local.events._delivery import Deliveries

# MaximumRetryAttempts -1 retries a stream batch until its records expire a day later: locally that
# would block the shard for the whole session, so the retries stop here.
LOCAL_STREAM_RETRY_CAP = 10


@dataclass(frozen=True)
class SourceMapping:
    """An enabled event source mapping of a DynamoDB or Kinesis stream, or an SQS queue."""

    label: str
    source_arn: str
    function: str
    batch_size: int
    starting_position: str
    batching_window: float
    bisect: bool
    report_failures: bool
    max_retries: int  # -1: until the record expires
    max_record_age: int  # seconds, -1: until the record expires
    on_failure: str | None
    matches: Callable[[Mapping[str, Any]], bool]
    starting_timestamp: float | None = None  # StartingPositionTimestamp, for AT_TIMESTAMP
    max_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency, reported (one batch at a time)

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]

    def describe(self) -> str:
        options = [f"batch {self.batch_size}"]
        if self.batching_window:
            options.append(f"window {self.batching_window:g} s")
        if self.service in ("dynamodb", "kinesis"):
            options.append(self.starting_position)
            options.append(f"{'unlimited' if self.max_retries < 0 else self.max_retries} retries")
        if self.bisect:
            options.append("bisect on error")
        if self.report_failures:
            options.append("partial batch responses")
        if self.on_failure:
            options.append(f"on failure -> {short(self.on_failure)}")
        if self.max_concurrency:
            options.append(f"max concurrency {self.max_concurrency}: one batch at a time locally")
        return f"{self.label} ({', '.join(options)})"


class SourceConsumer(Poller):
    """Polls the source of one event source mapping and invokes its function with batches."""

    default_batch_size: ClassVar[int]  # the mapping's BatchSize when the template leaves it out

    def __init__(self, deliveries: Deliveries, mapping: SourceMapping) -> None:
        super().__init__(deliveries, mapping.label)
        self.mapping = mapping


def failed_items(
    invocation: Invocation, identifiers: Sequence[str], report_failures: bool
) -> tuple[set[str], str]:
    """The identifiers of the batch's records that failed, and why ("" when none did).

    With ReportBatchItemFailures, an empty or missing ``batchItemFailures`` is success; a response
    Lambda cannot read, or an identifier that is not in the batch, fails the whole batch.
    """
    everything = set(identifiers)
    if invocation.error is not None:
        return everything, f"{invocation.error.error_type}: {invocation.error.message}"
    if not report_failures:
        return set(), ""
    reported, problem = _reported_failures(invocation.payload)
    unknown = [item for item in reported if not (isinstance(item, str) and item in everything)]
    if problem or unknown:
        return everything, problem or f"batchItemFailures names {unknown[0]!r}, which is not in the batch"
    failed = set(reported)
    return failed, f"{len(failed)} batch item failures reported" if failed else ""


def _reported_failures(payload: Any) -> tuple[list[Any], str]:
    """The itemIdentifiers of a partial batch response, or why Lambda could not read it."""
    if payload is None:
        return [], ""
    if not isinstance(payload, Mapping):
        return [], f"the response {payload!r} is not a batch item failure report"
    failures = payload.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return [], f"batchItemFailures {failures!r} is not a list"
    return [item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in failures], ""
