from __future__ import annotations

import time
from typing import Any

import pytest

from dockyard.asl.choice import matches, parse_timestamp
from dockyard.asl.errors import StatesError

DATA = {
    "type": "Private",
    "value": 22,
    "rating": 4.5,
    "flag": True,
    "nothing": None,
    "when": "2026-03-14T01:59:00Z",
    "later": "2026-03-14T02:00:00.123456789+00:00",
    "file": "log-2026.txt",
    "star": "a*b",
    "other": 22,
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.type", "StringEquals": "Private"}, True),
        ({"Variable": "$.type", "StringEquals": "Public"}, False),
        ({"Variable": "$.type", "StringLessThan": "Q"}, True),
        ({"Variable": "$.type", "StringGreaterThanEquals": "Private"}, True),
        ({"Variable": "$.value", "NumericEquals": 22}, True),
        ({"Variable": "$.value", "NumericGreaterThan": 22}, False),
        ({"Variable": "$.value", "NumericGreaterThanEquals": 22}, True),
        ({"Variable": "$.value", "NumericLessThan": 22.5}, True),
        ({"Variable": "$.value", "NumericLessThanEquals": 21}, False),
        ({"Variable": "$.value", "NumericEqualsPath": "$.other"}, True),
        ({"Variable": "$.rating", "NumericLessThanPath": "$.value"}, True),
        ({"Variable": "$.type", "NumericEquals": 22}, False),  # wrong type: false, no error
        ({"Variable": "$.flag", "BooleanEquals": True}, True),
        ({"Variable": "$.value", "BooleanEquals": True}, False),
        ({"Variable": "$.when", "TimestampLessThan": "2026-03-14T02:00:00Z"}, True),
        ({"Variable": "$.when", "TimestampEquals": "2026-03-14T02:59:00+01:00"}, True),
        ({"Variable": "$.later", "TimestampGreaterThanPath": "$.when"}, True),
        ({"Variable": "$.type", "TimestampEquals": "2026-03-14T02:00:00Z"}, False),
        ({"Variable": "$.file", "StringMatches": "log-*.txt"}, True),
        ({"Variable": "$.file", "StringMatches": "log-*.csv"}, False),
        ({"Variable": "$.star", "StringMatches": "a\\*b"}, True),
        ({"Variable": "$.file", "StringMatches": "log\\*"}, False),
        ({"Variable": "$.nothing", "IsNull": True}, True),
        ({"Variable": "$.value", "IsNull": False}, True),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.nothing", "IsPresent": True}, True),
        ({"Variable": "$.value", "IsNumeric": True}, True),
        ({"Variable": "$.flag", "IsNumeric": True}, False),
        ({"Variable": "$.type", "IsString": True}, True),
        ({"Variable": "$.flag", "IsBoolean": True}, True),
        ({"Variable": "$.when", "IsTimestamp": True}, True),
        ({"Variable": "$.type", "IsTimestamp": True}, False),
        (
            {
                "And": [
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 30},
                ]
            },
            True,
        ),
        (
            {
                "Or": [
                    {"Variable": "$.type", "StringEquals": "Public"},
                    {"Not": {"Variable": "$.flag", "BooleanEquals": False}},
                ]
            },
            True,
        ),
        ({"Variable": "$$.Execution.Name", "StringEquals": "run"}, True),
        ({"Variable": "$limit", "NumericGreaterThanPath": "$.value"}, True),
    ],
)
def test_rules(rule: dict[str, Any], expected: bool) -> None:
    assert (
        matches(rule, DATA, context={"Execution": {"Name": "run"}}, variables={"limit": 30})
        is expected
    )


@pytest.mark.timeout(30)
def test_string_matches_with_many_stars_answers_at_once() -> None:
    # A regular expression with .* for each star backtracks for minutes on this input.
    rule = {"Variable": "$.name", "StringMatches": "*a" * 12 + "b"}
    started = time.monotonic()
    assert matches(rule, {"name": "a" * 200}, context={}, variables={}) is False
    assert matches(rule, {"name": "a" * 200 + "b"}, context={}, variables={}) is True
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.missing", "StringEquals": "x"},
        {"Variable": "$.value", "NumericEqualsPath": "$.missing"},
    ],
)
def test_a_path_selecting_nothing_is_a_runtime_error(rule: dict[str, Any]) -> None:
    with pytest.raises(StatesError) as caught:
        matches(rule, DATA, context={}, variables={})
    assert caught.value.error == "States.Runtime"
    assert "$.missing" in (caught.value.cause or "")


def test_timestamps_need_a_zone_and_the_t() -> None:
    assert parse_timestamp("2026-03-14T01:59:00Z") is not None
    assert parse_timestamp("2026-03-14 01:59:00Z") is None
    assert parse_timestamp("2026-03-14T01:59:00") is None
    assert parse_timestamp(12) is None
