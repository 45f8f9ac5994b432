"""EventBridge event patterns: the validation messages and EventBridge's matching semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib._event_patterns import compile_pattern, matches, pattern_errors

KNOWN = "operators are prefix, suffix, equals-ignore-case, anything-but, numeric, exists, cidr, wildcard"
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Image Uploaded",
    "source": "images.app",
    "account": "123456789012",
    "time": "2026-03-04T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::images/a.png"],
    "detail": {
        "key": "uploads/Cat.PNG",
        "size": 2048,
        "ratio": 1.5,
        "public": False,
        "owner": None,
        "tags": ["pets", "cats"],
        "sourceIp": "10.1.2.3",
        "variants": [{"kind": "thumb", "width": 128}, {"kind": "full", "width": 4096}],
    },
}


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["images.app"]},
        {"source": ["other", "images.app"], "detail-type": ["Image Uploaded"]},
        {"detail": {"size": [2048]}},
        {"detail": {"size": [2048.0]}},
        {"detail": {"public": [False]}},
        {"detail": {"owner": [None]}},
        {"detail": {"tags": ["cats"]}},
        {"detail": {"key": [{"prefix": "uploads/"}]}},
        {"detail": {"key": [{"prefix": {"equals-ignore-case": "UPLOADS/cat"}}]}},
        {"detail": {"key": [{"suffix": ".PNG"}]}},
        {"detail": {"key": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        {"detail": {"key": [{"equals-ignore-case": "UPLOADS/CAT.png"}]}},
        {"detail": {"key": [{"wildcard": "uploads/*.PNG"}]}},
        {"detail": {"key": [{"anything-but": "other"}]}},
        {"detail": {"key": [{"anything-but": {"prefix": "private/"}}]}},
        {"detail": {"key": [{"anything-but": {"suffix": [".jpg", ".gif"]}}]}},
        {"detail": {"key": [{"anything-but": {"equals-ignore-case": "x"}}]}},
        {"detail": {"key": [{"anything-but": {"wildcard": "*.jpg"}}]}},
        {"detail": {"size": [{"anything-but": [1, 2, 3]}]}},
        {"detail": {"size": [{"numeric": [">", 1024, "<=", 2048]}]}},
        {"detail": {"ratio": [{"numeric": ["=", 1.5]}]}},
        {"detail": {"sourceIp": [{"cidr": "10.0.0.0/8"}]}},
        {"detail": {"key": [{"exists": True}]}},
        {"detail": {"missing": [{"exists": False}]}},
        {"detail": {"variants": {"kind": ["full"]}}},
        {"detail": {"variants": {"kind": ["thumb"], "width": [128]}}},  # both in one element
        {"detail": {"variants": {"kind": ["thumb", "full"], "width": [4096]}}},
        {"source": ["images.app"], "$or": [{"detail": {"size": [1]}}, {"detail": {"size": [2048]}}]},
        {"detail": {"$or": [{"key": [{"prefix": "x"}]}, {"size": [{"numeric": [">", 0]}]}]}},
        {"detail": {"size": ["nope", 2048]}},
    ],
)
def test_matching_patterns(pattern: dict[str, Any]) -> None:
    assert pattern_errors(pattern) == []
    assert matches(pattern, EVENT)
    assert matches(json.dumps(pattern), EVENT)


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["other"]},
        {"source": ["images.app"], "detail-type": ["Image Deleted"]},
        {"detail": {"size": ["2048"]}},  # a string never matches a number
        {"detail": {"public": [0]}},  # a number never matches a boolean
        {"detail": {"owner": ["null"]}},
        {"detail": {"key": [{"prefix": "UPLOADS/"}]}},
        {"detail": {"key": [{"suffix": ".png"}]}},
        {"detail": {"key": [{"wildcard": "uploads/*.jpg"}]}},
        {"detail": {"key": [{"wildcard": "uploads"}]}},  # the whole value must match
        {"detail": {"key": [{"anything-but": "uploads/Cat.PNG"}]}},
        {"detail": {"key": [{"anything-but": {"prefix": "uploads/"}}]}},
        {"detail": {"tags": [{"anything-but": ["cats"]}]}},  # anything-but: no value may be excluded
        {"detail": {"missing": [{"anything-but": "x"}]}},  # anything-but needs the field
        {"detail": {"size": [{"numeric": [">", 2048]}]}},
        {"detail": {"key": [{"numeric": [">", 0]}]}},
        {"detail": {"sourceIp": [{"cidr": "192.168.0.0/16"}]}},
        {"detail": {"key": [{"exists": False}]}},
        {"detail": {"missing": [{"exists": True}]}},
        {"detail": {"variants": [{"exists": True}]}},  # exists looks at leaves, not objects
        {"detail": {"missing": ["x"]}},
        {"detail": {"variants": {"kind": ["none"]}}},
        # Array-consistent (event-ruler's rulesForJSONEvent): fields of two elements never match together
        {"detail": {"variants": {"kind": ["thumb"], "width": [4096]}}},
        {"detail": {"variants": {"$or": [{"kind": ["none"]}, {"width": [128]}], "kind": ["full"]}}},
        {"$or": [{"source": ["a"]}, {"source": ["b"]}]},
        {"detail": {"key": {"nested": ["x"]}}},  # a string is not an object
    ],
)
def test_non_matching_patterns(pattern: dict[str, Any]) -> None:
    assert pattern_errors(pattern) == []
    assert not matches(pattern, EVENT)


def test_a_missing_parent_still_matches_exists_false() -> None:
    assert matches({"detail": {"gone": {"deeper": [{"exists": False}]}}}, EVENT)
    assert matches({"absent": [{"exists": False}], "source": ["images.app"]}, EVENT)


def test_wildcard_escapes_a_literal_star() -> None:
    assert matches({"k": [{"wildcard": "a\\*b"}]}, {"k": "a*b"})
    assert not matches({"k": [{"wildcard": "a\\*b"}]}, {"k": "axxb"})
    assert matches({"k": [{"wildcard": "a*b"}]}, {"k": "axxb"})


def test_ipv6_networks() -> None:
    assert matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"})
    assert not matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "not an address"})


@pytest.mark.parametrize(
    ("pattern", "errors"),
    [
        ([], ["the pattern must be a JSON object, not an array"]),
        ({}, ["the pattern is an empty object; give at least one field to match"]),
        ('{"source": ', ["the pattern is not valid JSON: Expecting value: line 1 column 12 (char 11)"]),
        (
            {"source": "images.app"},
            ['source must be an array of values or an object, not "images.app": use ["images.app"]'],
        ),
        ({"source": []}, ["source is an empty array; list at least one value or filter"]),
        ({"detail": {}}, ["detail is an empty object; give at least one field to match"]),
        ({"source": [["a"]]}, ["source[0] is an array inside an array; list the values in one array"]),
        (
            {"detail": {"key": [{"prefx": "a"}]}},
            ["detail.key[0] uses unknown operator 'prefx': did you mean 'prefix'? " + KNOWN],
        ),
        (
            {"k": [{"regex": "a.*"}]},
            ["k[0] uses unknown operator 'regex': " + KNOWN],
        ),
        (
            {"k": [{"prefix": "a", "suffix": "b"}]},
            ["k[0] has 2 operators (prefix, suffix); a filter has one"],
        ),
        ({"k": [{}]}, ["k[0] has 0 operators (none); a filter has one"]),
        ({"k": [{"prefix": 1}]}, ["k[0].prefix takes a string, not 1"]),
        (
            {"k": [{"prefix": {"equals": "a"}}]},
            ['k[0].prefix takes a string or {"equals-ignore-case": "<string>"}'],
        ),
        ({"k": [{"exists": "yes"}]}, ['k[0].exists must be true or false, not "yes"']),
        ({"k": [{"numeric": [">", "1"]}]}, ['k[0].numeric compares with "1", which is not a number']),
        ({"k": [{"numeric": ["!=", 1]}]}, ['k[0].numeric has operator "!="; use one of =, <, <=, >, >=']),
        (
            {"k": [{"numeric": [">", 1, ">", 2]}]},
            [
                "k[0].numeric with two comparisons needs one lower bound (> or >=) "
                "and one upper bound (< or <=)"
            ],
        ),
        (
            {"k": [{"numeric": [">"]}]},
            ['k[0].numeric takes one or two comparisons such as [">", 0, "<=", 5]'],
        ),
        (
            {"k": [{"numeric": ["<", 6e9]}]},
            ["k[0].numeric compares with 6000000000.0, outside EventBridge's -5e9 to 5e9"],
        ),
        (
            {"k": [{"cidr": "10.0.0.0/33"}]},
            ["k[0].cidr takes an IP network such as '10.0.0.0/24', not \"10.0.0.0/33\""],
        ),
        (
            {"k": [{"wildcard": "a**b"}]},
            ["k[0].wildcard 'a**b' has consecutive '*'; one '*' already matches any characters"],
        ),
        ({"k": [{"anything-but": []}]}, ["k[0].anything-but is an empty list"]),
        (
            {"k": [{"anything-but": ["a", 1]}]},
            ["k[0].anything-but mixes number and string values; list only strings or only numbers"],
        ),
        (
            {"k": [{"anything-but": {"numeric": [">", 1]}}]},
            [
                "k[0].anything-but takes a value, a list of values, "
                "or one of prefix, suffix, equals-ignore-case, wildcard"
            ],
        ),
        ({"k": [{"anything-but": {"prefix": 3}}]}, ["k[0].anything-but.prefix takes a string, not 3"]),
        ({"$or": [{"a": ["b"]}]}, ["$or must be an array of at least two patterns"]),
        ({"d": {"$or": [{"a": ["b"]}, "c"]}}, ['d.$or[1] must be a JSON object, not "c"']),
        (
            {"source": "a", "detail": {"k": [{"bogus": 1}]}},
            [
                'source must be an array of values or an object, not "a": use ["a"]',
                "detail.k[0] uses unknown operator 'bogus': " + KNOWN,
            ],
        ),
        (
            "x" * 5000,
            [
                "the pattern is 5000 characters long, more than EventBridge's 4096",
                "the pattern is not valid JSON: Expecting value: line 1 column 1 (char 0)",
            ],
        ),
    ],
)
def test_invalid_patterns_list_every_problem(pattern: Any, errors: list[str]) -> None:
    assert pattern_errors(pattern) == errors
    with pytest.raises(ValueError) as raised:
        compile_pattern(pattern)
    assert str(raised.value) == "; ".join(errors)


def test_a_compiled_pattern_is_reusable() -> None:
    test = compile_pattern({"detail": {"size": [{"numeric": [">=", 100]}]}})
    assert [test({"detail": {"size": size}}) for size in (99, 100, 1e6)] == [False, True, True]
    assert not test({"detail": "not an object"})
    assert not test("not an event")
