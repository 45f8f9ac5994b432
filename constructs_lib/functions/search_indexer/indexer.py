# botocore and boto3 have no inline types, and their stubs may be absent: their imports are typed as Any.
# mypy: disable-error-code="import-untyped"
"""Search indexer: keeps an OpenSearch index in sync with a DynamoDB table's stream.

Each batch of stream records becomes one bulk request: INSERT and MODIFY index the item's new
image under the value of its id attribute, REMOVE deletes that id. Records the domain rejects
(per-item bulk errors) and records that cannot be indexed are reported back as
``batchItemFailures``, so the event source mapping retries them and finally hands them to its
on-failure queue instead of losing them or blocking the shard.

Environment: SEARCH_DOMAIN_ENDPOINT, SEARCH_INDEX, SEARCH_ID_ATTRIBUTE (set by
``SearchDomain.index_table``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from constructs_lib.runtime.environment import SEARCH_ID_ATTRIBUTE, SEARCH_INDEX
from constructs_lib.runtime.opensearch import OpenSearchClient, OpenSearchError

ID_ATTRIBUTE_VARIABLE = SEARCH_ID_ATTRIBUTE
INDEX_VARIABLE = SEARCH_INDEX

logger = Logger()


class UnindexableRecordError(ValueError):
    """A stream record that no retry can index (no image, or no id attribute)."""


def _number(text: str) -> int | float:
    # DynamoDB numbers arrive as text; whole numbers stay exact ints (Decimal reads "1e3" as 1000).
    if text.isdigit():  # the common case, without Decimal's parsing
        return int(text)
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def to_json(value: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value (``{"S": "x"}``, ``{"N": "1"}``, ...) as JSON.

    Numbers become int or float, sets sorted lists; binary (B, BS) stays the base64 text Lambda
    delivers, which is also how JSON carries it. Converted directly rather than through boto3's
    TypeDeserializer: a tenth of the time per record, and no boto3 import on a cold start.
    """
    ((kind, content),) = value.items()
    if kind == "S":  # most attributes: no lookup
        return content
    convert = _CONVERTERS.get(kind)
    if convert is None:
        raise UnindexableRecordError(f"unknown DynamoDB attribute type {kind!r}")
    return convert(content)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "S": lambda content: content,
    "B": lambda content: content,
    "BOOL": lambda content: content,
    "NULL": lambda _: None,
    "N": _number,
    "M": lambda content: {name: to_json(item) for name, item in content.items()},
    "L": lambda content: [to_json(item) for item in content],
    "SS": sorted,
    "BS": sorted,
    "NS": lambda content: sorted((_number(item) for item in content), key=str),
}


def deserialize(image: Mapping[str, Any]) -> dict[str, Any]:
    """A stream image (``{"name": {"S": "x"}}``) as a plain JSON document; binary stays base64 text."""
    document: dict[str, Any] = {}
    for name, value in image.items():
        # Strings and whole numbers, most of an item, inline: this loop runs for every attribute of
        # every record, and is most of what the indexer adds to the bulk request (budget 6).
        if len(value) == 1:
            if "S" in value:
                document[name] = value["S"]
                continue
            if "N" in value and value["N"].isdigit():
                document[name] = int(value["N"])
                continue
        document[name] = to_json(value)
    return document


def bulk_operations(record: Mapping[str, Any], id_attribute: str) -> list[dict[str, Any]]:
    """The bulk lines for one stream record: an ``index`` action and its document, or a ``delete``."""
    change = record.get("dynamodb", {})
    event_name = record.get("eventName")
    if event_name in ("INSERT", "MODIFY"):
        image = change.get("NewImage")
        if image is None:
            raise UnindexableRecordError(
                f"{event_name} record has no NewImage: the stream must include new images"
            )
        document = deserialize(image)
        return [{"index": {"_id": _document_id(document, id_attribute)}}, document]
    if event_name == "REMOVE":
        # Keys suffice when the id is a key attribute; otherwise only the old image holds it.
        keys = deserialize({**change.get("OldImage", {}), **change.get("Keys", {})})
        return [{"delete": {"_id": _document_id(keys, id_attribute)}}]
    raise UnindexableRecordError(f"unknown eventName {event_name!r}")


def _document_id(document: Mapping[str, Any], id_attribute: str) -> str:
    value = document.get(id_attribute)
    if value is None or value == "":
        raise UnindexableRecordError(f"the item has no '{id_attribute}' attribute to use as document id")
    return str(value)


def _item_failed(item: Mapping[str, Any]) -> bool:
    ((action, result),) = item.items()
    if "error" in result:
        return True
    # Deleting a document that was never indexed (or already deleted) leaves the index as wanted.
    return not (
        200 <= result.get("status", 500) < 300 or (action == "delete" and result.get("status") == 404)
    )


def index_records(
    records: Sequence[Mapping[str, Any]], *, client: OpenSearchClient, index: str, id_attribute: str
) -> list[str]:
    """Apply `records` to `index` with one bulk request; return the sequence numbers that failed."""
    failed: list[str] = []
    operations: list[dict[str, Any]] = []
    sent: list[str] = []  # sequence number per bulk action, in action order
    for record in records:
        sequence_number = str(record["dynamodb"]["SequenceNumber"])
        try:
            lines = bulk_operations(record, id_attribute)
        except UnindexableRecordError as error:
            logger.error("Record cannot be indexed", sequence_number=sequence_number, reason=str(error))
            failed.append(sequence_number)
            continue
        operations.extend(lines)
        sent.append(sequence_number)
    if not sent:
        return failed
    try:
        reply = client.bulk(index, operations)
    except OpenSearchError:
        logger.exception("Bulk request failed; the whole batch will be retried", records=len(sent))
        return failed + sent
    items = reply.get("items", [])
    if len(items) != len(sent):
        logger.error("Bulk reply does not match the request", sent=len(sent), items=len(items))
        return failed + sent
    for sequence_number, item in zip(sent, items, strict=True):
        if _item_failed(item):
            logger.error("OpenSearch rejected a record", sequence_number=sequence_number, result=item)
            failed.append(sequence_number)
    return failed


@cache
def _client() -> OpenSearchClient:
    return OpenSearchClient.from_environment()


@logger.inject_lambda_context
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records", [])
    failed = index_records(
        records,
        client=_client(),
        index=os.environ[INDEX_VARIABLE],
        id_attribute=os.environ[ID_ATTRIBUTE_VARIABLE],
    )
    logger.info("Indexed stream records", records=len(records), failed=len(failed))
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}
