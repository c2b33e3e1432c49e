"""SageMaker's JSONPath subset for input and output filters."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dockyard.api.batch._jsonpath import JsonPath, JsonPathError

ROW = ["id7", "1.5", "2.5", "3.5", "0.9"]
RECORD = {"id": 7, "features": [1.5, 2.5, 3.5], "meta": {"source": "web"}, "SageMakerOutput": 0.9}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", ROW),
        ("$[1:]", ["1.5", "2.5", "3.5", "0.9"]),
        ("$[:2]", ["id7", "1.5"]),
        ("$[1:3]", ["1.5", "2.5"]),
        ("$[0,2]", ["id7", "2.5"]),
        ("$[0,-1]", ["id7", "0.9"]),
        ("$[0,3:]", ["id7", "3.5", "0.9"]),
        ("$[*]", ROW),
        ("$[-2]", "3.5"),
        (" $[ 0 , -1 ] ", ["id7", "0.9"]),
    ],
)
def test_selecting_fields_of_a_row(path: str, expected: Any) -> None:
    assert JsonPath.parse(path).select(list(ROW)) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.features", [1.5, 2.5, 3.5]),
        ("$['features']", [1.5, 2.5, 3.5]),
        ('$["id"]', 7),
        ("$.meta.source", "web"),
        ("$.features[1:]", [2.5, 3.5]),
        ("$.features[0]", 1.5),
        ("$['id','SageMakerOutput']", {"id": 7, "SageMakerOutput": 0.9}),
        ("$.*", RECORD),
    ],
)
def test_selecting_from_json_records(path: str, expected: Any) -> None:
    assert JsonPath.parse(path).select(RECORD) == expected


@pytest.mark.parametrize(
    ("width", "path", "positions"),
    [
        (5, "$", [0, 1, 2, 3, 4]),
        (5, "$[1:]", [1, 2, 3, 4]),
        (5, "$[0,-1]", [0, 4]),
        (5, "$[-2:]", [3, 4]),
        (3, "$[0,5:]", [0]),  # a slice past the end is empty, as in Python
        (4, "$[2]", [2]),
    ],
)
def test_positions_for_a_row_width(width: int, path: str, positions: list[int]) -> None:
    assert JsonPath.parse(path).positions(width) == positions


def test_positions_by_column_name() -> None:
    path = JsonPath.parse("$['c','a']")
    assert path.positions(3, ["a", "b", "c"]) == [2, 0]
    with pytest.raises(JsonPathError, match="no column 'z'"):
        JsonPath.parse("$.z").positions(3, ["a", "b", "c"])


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("$[5]", ROW, "index 5 is outside a record of 5 fields"),
        ("$[-6]", ROW, "index -6 is outside a record of 5 fields"),
        ("$.missing", RECORD, "the record has no key 'missing'"),
        ("$.features.x", RECORD, "key 'x' needs an object, found an array"),
        ("$.id[0]", RECORD, "index 0 needs an array, found a scalar"),
        ("$['id','nope']", RECORD, "the record has no key 'nope'"),
        ("$[0,1]", RECORD, "an object has no index 0"),
    ],
)
def test_records_a_filter_does_not_fit(path: str, value: Any, message: str) -> None:
    with pytest.raises(JsonPathError) as raised:
        JsonPath.parse(path).select(value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("features", "a filter starts with $"),
        ("$[1:", "is never closed"),
        ("$[1:2:3]", "a slice is [start:end]"),
        ("$[a]", "is not an index, slice"),
        ("$[]", "empty selector"),
        ("$['a',1]", "do not mix keys with indexes"),
        ("$[1:].x", "must be the last step"),
        ("$.", "expected a key name"),
        ("$x", "unexpected 'x'"),
        ("$['a]", "never closed"),
    ],
)
def test_malformed_filters(path: str, message: str) -> None:
    with pytest.raises(JsonPathError, match=re.escape(message)):
        JsonPath.parse(path)


def test_what_each_format_can_use() -> None:
    assert JsonPath.parse("$[1:]").selects_by_position()
    assert JsonPath.parse("$").selects_by_position()
    assert not JsonPath.parse("$.a").selects_by_position()
    assert not JsonPath.parse("$.a[0]").selects_columns()
    assert JsonPath.parse("$['a','b']").selects_columns()
