from __future__ import annotations

from typing import Any

import pytest

from dockyard.asl import paths
from dockyard.asl.errors import StatesError
from dockyard.asl.paths import MISSING, find, parse_path, put

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "price": 12.99},
            {"category": "fiction", "author": "J. R. R. Tolkien", "price": 22.99, "isbn": "0-395"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "my key": 1,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']['price']", 19.95),
        ('$["my key"]', 1),
        ("$.store.book[0].author", "Nigel Rees"),
        ("$.store.book[-1].price", 22.99),
        ("$.store.missing", MISSING),
        ("$.store.book[7]", MISSING),
        ("$.store.bicycle.color.x", MISSING),
    ],
)
def test_definite_paths_select_one_value_or_nothing(path: str, expected: Any) -> None:
    assert parse_path(path).definite
    assert (
        find(path, STORE) == expected if expected is not MISSING else find(path, STORE) is MISSING
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].author", ["Nigel Rees", "Evelyn Waugh", "J. R. R. Tolkien"]),
        ("$.store.book[0,2].price", [8.95, 22.99]),
        ("$.store.book[1:].price", [12.99, 22.99]),
        ("$.store.book[:2].category", ["reference", "fiction"]),
        ("$.store.book[::2].price", [8.95, 22.99]),
        ("$..price", [19.95, 8.95, 12.99, 22.99]),
        ("$..book[2].isbn", ["0-395"]),
        ("$.store.book[?(@.price < 10)].author", ["Nigel Rees"]),
        ("$.store.book[?(@.isbn)].author", ["J. R. R. Tolkien"]),
        ("$.store.book[?(@.category == 'fiction' && @.price > 20)].price", [22.99]),
        ("$.store.book[?(@.price < 9 || @.price > 20)].price", [8.95, 22.99]),
        ("$.store.book[?(!(@.category == 'fiction'))].price", [8.95]),
        ("$.store.book[?(@.price > $.store.bicycle.price)].price", [22.99]),
        ("$.store.nothing[*]", []),
        ("$.store.bicycle.*", ["red", 19.95]),
    ],
)
def test_indefinite_paths_select_a_list(path: str, expected: Any) -> None:
    assert not parse_path(path).definite
    assert find(path, STORE) == expected


def test_context_and_variable_roots() -> None:
    context = {"Execution": {"Name": "run-1"}}
    assert find("$$.Execution.Name", {}, context=context) == "run-1"
    assert find("$threshold", {}, variables={"threshold": 3}) == 3
    assert find("$order.items[0]", {}, variables={"order": {"items": ["a"]}}) == "a"
    assert find("$unknown", {}, variables={}) is MISSING


@pytest.mark.parametrize("path", ["store", "$.a[", "$.a[x]", "$.a[1:2:3:4]", "$.a[?(@.b ==)]"])
def test_malformed_paths_are_runtime_errors_naming_the_path(path: str) -> None:
    with pytest.raises(StatesError) as caught:
        parse_path(path)
    assert caught.value.error == "States.Runtime"
    assert path in (caught.value.cause or "")


def test_put_merges_without_touching_the_input() -> None:
    data = {"a": {"b": 1}, "keep": [1]}
    out = put("$.a.c.d", data, 5)
    assert out == {"a": {"b": 1, "c": {"d": 5}}, "keep": [1]}
    assert data == {"a": {"b": 1}, "keep": [1]}
    assert out["keep"] is data["keep"]
    assert put("$.list[1]", {"list": [0, 0]}, 9) == {"list": [0, 9]}


def test_put_through_a_scalar_is_result_path_match_failure() -> None:
    with pytest.raises(StatesError) as caught:
        put("$.a.b", {"a": "text"}, 1)
    assert caught.value.error == "States.ResultPathMatchFailure"
    assert caught.value.cause == (
        'Unable to apply ReferencePath $.a.b to input {"a":"text"}: the step "b" meets "text", '
        "not an object"
    )


@pytest.mark.timeout(60)
def test_descendants_of_descendants_stop_at_a_million_visited_values() -> None:
    nested: list[Any] = []
    inner = nested
    for _ in range(100):
        inner.append([])
        inner = inner[0]
    # Each list is selected once per ancestor: 161,700 values for three levels, 75 million for five.
    assert len(find("$..*..*..*", nested)) == 161_700
    with pytest.raises(StatesError) as caught:
        find("$..*..*..*..*..*", nested)
    assert caught.value.error == "States.Runtime"
    assert "The path '$..*..*..*..*..*' visits more than 1000000 values" in caught.value.cause


def test_a_filters_paths_spend_the_visits_of_the_path_they_filter_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nested: list[Any] = []
    inner = nested
    for _ in range(10):
        inner.append([])
        inner = inner[0]
    monkeypatch.setattr(paths, "MAX_VISITED", 1_000)
    assert len(find("$..*..*", nested)) < 1_000  # one item's filter is within the limit
    # Each of 50 items within it, together fifty times as many: each filter had its own limit.
    with pytest.raises(StatesError) as caught:
        find("$[?(@..*..*)]", [nested] * 50)
    assert "The path '$[?(@..*..*)]' visits more than 1000 values" in caught.value.cause
    assert len(find("$[?(@..*..*)]", [nested] * 2)) == 2  # the budget is per path, not per thread
    assert len(find("$[?(@..*..*)]", [nested] * 2)) == 2
