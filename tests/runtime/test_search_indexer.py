"""The search indexer Lambda: stream records to bulk requests, and bulk errors to batchItemFailures."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from constructs_lib.functions.search_indexer import indexer
from constructs_lib.runtime.opensearch import OpenSearchClient
from tests.runtime.test_opensearch import RecordingOpenSearch, recording_opensearch


@dataclass
class FakeContext:
    function_name: str = "indexer"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:indexer"
    aws_request_id: str = "request-1"


CONTEXT = cast(LambdaContext, FakeContext())


def _record(
    event_name: str,
    sequence_number: str,
    keys: dict[str, Any],
    new_image: dict[str, Any] | None = None,
    old_image: dict[str, Any] | None = None,
) -> dict[str, Any]:
    change: dict[str, Any] = {"Keys": keys, "SequenceNumber": sequence_number}
    if new_image is not None:
        change["NewImage"] = new_image
    if old_image is not None:
        change["OldImage"] = old_image
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": change}


IMAGE = {
    "groupId": {"S": "g1"},
    "timestamp": {"N": "1700000000"},
    "imageId": {"S": "img-1"},
    "title": {"S": "A cat"},
    "score": {"N": "4.5"},
    "tags": {"SS": ["cat", "animal"]},
    "sizes": {"NS": ["2", "1"]},
    "public": {"BOOL": True},
    "caption": {"NULL": True},
    "thumbnail": {"B": base64.b64encode(b"\x00\x01").decode()},
    "meta": {"M": {"width": {"N": "640"}, "labels": {"L": [{"S": "pet"}, {"N": "0.25"}, {"B": "AQ=="}]}}},
    "hashes": {"BS": ["Ag==", "AQ=="]},
}
KEYS = {"groupId": {"S": "g1"}, "timestamp": {"N": "1700000000"}}


@pytest.fixture
def opensearch() -> Iterator[RecordingOpenSearch]:
    with recording_opensearch() as server:
        yield server


@pytest.fixture
def client(opensearch: RecordingOpenSearch) -> OpenSearchClient:
    return OpenSearchClient(opensearch.endpoint)


def test_insert_indexes_the_new_image_as_a_plain_json_document() -> None:
    assert indexer.bulk_operations(_record("INSERT", "1", KEYS, IMAGE), "imageId") == [
        {"index": {"_id": "img-1"}},
        {
            "groupId": "g1",
            "timestamp": 1700000000,
            "imageId": "img-1",
            "title": "A cat",
            "score": 4.5,
            "tags": ["animal", "cat"],
            "sizes": [1, 2],
            "public": True,
            "caption": None,
            "thumbnail": "AAE=",
            "meta": {"width": 640, "labels": ["pet", 0.25, "AQ=="]},
            "hashes": ["AQ==", "Ag=="],
        },
    ]


def test_modify_reindexes_the_whole_new_image() -> None:
    changed = {**IMAGE, "title": {"S": "Two cats"}}

    action, document = indexer.bulk_operations(_record("MODIFY", "2", KEYS, changed, IMAGE), "imageId")

    assert action == {"index": {"_id": "img-1"}}
    assert document["title"] == "Two cats"


def test_numeric_ids_become_their_decimal_text() -> None:
    action, _ = indexer.bulk_operations(_record("INSERT", "1", KEYS, IMAGE), "timestamp")

    assert action == {"index": {"_id": "1700000000"}}


# Numbers the inline path (plain digits) and _number (sign, exponent, fraction) each take, with what the
# indexer produced before the inline path existed (7a83964: every attribute through to_json): exact
# ints for whole numbers however written, floats only for fractions, NS sorted by their text.
NUMBERS = ["-5", "1E+3", "12345678901234567890123456789012345678", "10.0", "0.1", "-0", "7"]
BIG = 12345678901234567890123456789012345678
CONVERTED = [-5, 1000, BIG, 10, 0.1, 0, 7]


def test_numbers_convert_as_before_at_the_top_level_in_lists_maps_and_sets() -> None:
    image = {
        "id": {"S": "n"},
        **{f"n{index}": {"N": text} for index, text in enumerate(NUMBERS)},
        "list": {"L": [{"N": text} for text in NUMBERS]},
        "map": {"M": {f"k{index}": {"N": text} for index, text in enumerate(NUMBERS)}},
        "set": {"NS": NUMBERS},
    }

    _, document = indexer.bulk_operations(_record("INSERT", "1", KEYS, image), "id")

    expected = {
        "id": "n",
        **{f"n{index}": number for index, number in enumerate(CONVERTED)},
        "list": CONVERTED,
        "map": {f"k{index}": number for index, number in enumerate(CONVERTED)},
        "set": [-5, 0, 0.1, 10, 1000, BIG, 7],
    }
    # Compared as JSON text: 10 == 10.0 in Python, but OpenSearch maps an int and a float differently.
    assert json.dumps(document) == json.dumps(expected)


def test_remove_deletes_by_a_key_attribute() -> None:
    record = _record("REMOVE", "3", {"id": {"S": "group-7"}})

    assert indexer.bulk_operations(record, "id") == [{"delete": {"_id": "group-7"}}]


def test_remove_finds_a_non_key_id_in_the_old_image() -> None:
    record = _record("REMOVE", "3", KEYS, old_image=IMAGE)

    assert indexer.bulk_operations(record, "imageId") == [{"delete": {"_id": "img-1"}}]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (_record("INSERT", "1", KEYS), "INSERT record has no NewImage"),
        (_record("INSERT", "1", KEYS, {"groupId": {"S": "g1"}}), "no 'imageId' attribute"),
        (_record("REMOVE", "1", KEYS), "no 'imageId' attribute"),
        ({"eventName": "TRUNCATE", "dynamodb": {"SequenceNumber": "1"}}, "unknown eventName 'TRUNCATE'"),
        (
            _record("INSERT", "1", KEYS, {"imageId": {"S": "i1"}, "odd": {"X": "1"}}),
            "unknown DynamoDB attribute type 'X'",
        ),
    ],
)
def test_records_that_cannot_be_indexed_are_rejected(record: dict[str, Any], message: str) -> None:
    with pytest.raises(indexer.UnindexableRecordError, match=message):
        indexer.bulk_operations(record, "imageId")


def test_one_bulk_request_carries_the_whole_batch_in_order(
    opensearch: RecordingOpenSearch, client: OpenSearchClient
) -> None:
    opensearch.reply(
        200,
        {
            "errors": False,
            "items": [
                {"index": {"_id": "img-1", "status": 201}},
                {"index": {"_id": "img-2", "status": 200}},
                {"delete": {"_id": "img-3", "status": 200}},
            ],
        },
    )
    records = [
        _record("INSERT", "1", KEYS, IMAGE),
        _record("MODIFY", "2", KEYS, {**IMAGE, "imageId": {"S": "img-2"}}),
        _record("REMOVE", "3", KEYS, old_image={**IMAGE, "imageId": {"S": "img-3"}}),
    ]

    failed = indexer.index_records(records, client=client, index="images", id_attribute="imageId")

    assert failed == []
    (request,) = opensearch.requests
    assert (request.method, request.path) == ("POST", "/images/_bulk")
    lines = request.ndjson()
    assert [next(iter(line)) for line in lines[::2]] == ["index", "index", "delete"]
    assert lines[0] == {"index": {"_id": "img-1"}}
    assert lines[2] == {"index": {"_id": "img-2"}}
    assert lines[4] == {"delete": {"_id": "img-3"}}
    assert len(lines) == 5


def test_failed_bulk_items_are_mapped_back_to_their_records(
    opensearch: RecordingOpenSearch, client: OpenSearchClient
) -> None:
    opensearch.reply(
        200,
        {
            "errors": True,
            "items": [
                {"index": {"_id": "img-1", "status": 201}},
                {"index": {"_id": "img-2", "status": 400, "error": {"type": "mapper_parsing_exception"}}},
                {"index": {"_id": "img-3", "status": 429, "error": {"type": "es_rejected_execution"}}},
                {"delete": {"_id": "img-4", "status": 404, "result": "not_found"}},
            ],
        },
    )
    records = [
        _record("INSERT", f"{n}00", KEYS, {**IMAGE, "imageId": {"S": f"img-{n}"}}) for n in (1, 2, 3)
    ] + [_record("REMOVE", "400", KEYS, old_image={**IMAGE, "imageId": {"S": "img-4"}})]

    failed = indexer.index_records(records, client=client, index="images", id_attribute="imageId")

    # A delete of a document that is not there leaves the index as wanted: not a failure.
    assert failed == ["200", "300"]


def test_an_unindexable_record_fails_alone(opensearch: RecordingOpenSearch, client: OpenSearchClient) -> None:
    opensearch.reply(200, {"errors": False, "items": [{"index": {"_id": "img-1", "status": 201}}]})
    records = [_record("INSERT", "1", KEYS, {"groupId": {"S": "g1"}}), _record("INSERT", "2", KEYS, IMAGE)]

    failed = indexer.index_records(records, client=client, index="images", id_attribute="imageId")

    assert failed == ["1"]
    assert len(opensearch.requests[0].ndjson()) == 2


def test_a_failed_bulk_request_fails_every_record(
    opensearch: RecordingOpenSearch, client: OpenSearchClient
) -> None:
    opensearch.reply(503, {"message": "cluster unavailable"})
    records = [_record("INSERT", "1", KEYS, IMAGE), _record("REMOVE", "2", KEYS, old_image=IMAGE)]

    failed = indexer.index_records(records, client=client, index="images", id_attribute="imageId")

    assert failed == ["1", "2"]


def test_a_reply_with_the_wrong_item_count_fails_every_record(
    opensearch: RecordingOpenSearch, client: OpenSearchClient
) -> None:
    opensearch.reply(200, {"errors": False, "items": []})

    failed = indexer.index_records(
        [_record("INSERT", "1", KEYS, IMAGE)], client=client, index="images", id_attribute="imageId"
    )

    assert failed == ["1"]


def test_a_batch_with_nothing_to_send_makes_no_request(
    opensearch: RecordingOpenSearch, client: OpenSearchClient
) -> None:
    failed = indexer.index_records(
        [_record("INSERT", "9", KEYS)], client=client, index="images", id_attribute="imageId"
    )

    assert failed == ["9"]
    assert opensearch.requests == []


def test_handler_signs_the_bulk_request_and_reports_partial_failures(
    opensearch: RecordingOpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_DOMAIN_ENDPOINT", opensearch.endpoint)
    monkeypatch.setenv("SEARCH_INDEX", "images")
    monkeypatch.setenv("SEARCH_ID_ATTRIBUTE", "imageId")
    indexer._client.cache_clear()  # the client is cached per container; this test's server is new
    opensearch.reply(
        200,
        {
            "errors": True,
            "items": [
                {"index": {"_id": "img-1", "status": 201}},
                {"delete": {"_id": "img-1", "status": 500, "error": {"type": "exception"}}},
            ],
        },
    )
    event = {
        "Records": [_record("INSERT", "11", KEYS, IMAGE), _record("REMOVE", "12", KEYS, old_image=IMAGE)]
    }

    try:
        result = indexer.handler(event, CONTEXT)
    finally:
        indexer._client.cache_clear()

    assert result == {"batchItemFailures": [{"itemIdentifier": "12"}]}
    (request,) = opensearch.requests
    assert request.path == "/images/_bulk"
    authorization = request.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/es/aws4_request" in authorization


def test_handler_with_an_empty_batch_reports_nothing(
    opensearch: RecordingOpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_DOMAIN_ENDPOINT", opensearch.endpoint)
    monkeypatch.setenv("SEARCH_INDEX", "images")
    monkeypatch.setenv("SEARCH_ID_ATTRIBUTE", "imageId")
    indexer._client.cache_clear()
    try:
        assert indexer.handler({"Records": []}, CONTEXT) == {"batchItemFailures": []}
    finally:
        indexer._client.cache_clear()
    assert opensearch.requests == []
