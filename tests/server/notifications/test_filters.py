"""Filter policies: SNS semantics, a table of cases, and errors that name the key."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dockyard.errors import InvalidArgument
from dockyard.server.notifications._filters import (
    event_fields,
    matches,
    type_matches,
    validate_policy,
)

EVENT = {
    "id": 7,
    "type": "job.status_changed",
    "resource_type": "job",
    "resource_id": "nightly-xgb",
    "actor": "alice",
    "outcome": "ok",
    "body": {"status": "Failed", "seconds": 42.5, "tags": ["gpu", "prod"]},
}
PUBLISHED = {
    "id": 8,
    "type": "topic.alerts",
    "resource_type": "topic",
    "resource_id": "alerts",
    "actor": "bob",
    "outcome": "ok",
    "body": {"message": "disk", "attributes": {"severity": "high", "score": 0.93}},
}

CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({}, EVENT, True),
    ({"type": ["job.status_changed"]}, EVENT, True),
    ({"type": ["run.status_changed"]}, EVENT, False),
    ({"type": ["run.created", "job.status_changed"]}, EVENT, True),  # OR within a key
    ({"type": ["job.status_changed"], "status": ["Completed"]}, EVENT, False),  # AND across
    ({"status": [{"prefix": "Fail"}]}, EVENT, True),
    ({"status": [{"suffix": "ed"}]}, EVENT, True),
    ({"status": [{"equals-ignore-case": "FAILED"}]}, EVENT, True),
    ({"resource_id": [{"wildcard": "nightly-*"}]}, EVENT, True),
    ({"resource_id": [{"wildcard": "weekly-*"}]}, EVENT, False),
    ({"resource_id": [{"prefix": "nightly."}]}, EVENT, False),
    ({"status": [{"anything-but": ["Completed", "Stopped"]}]}, EVENT, True),
    ({"status": [{"anything-but": "Failed"}]}, EVENT, False),
    ({"status": [{"anything-but": {"prefix": "Fa"}}]}, EVENT, False),
    ({"missing": [{"anything-but": "x"}]}, EVENT, False),  # SNS: needs the key
    ({"seconds": [{"numeric": [">", 40, "<=", 50]}]}, EVENT, True),
    ({"seconds": [{"numeric": [">=", 43]}]}, EVENT, False),
    ({"seconds": [42.5]}, EVENT, True),
    ({"seconds": ["42.5"]}, EVENT, False),  # a string does not equal a number
    ({"status": [{"numeric": [">", 0]}]}, EVENT, False),
    ({"status": [{"exists": True}]}, EVENT, True),
    ({"region": [{"exists": False}]}, EVENT, True),
    ({"region": [{"exists": True}]}, EVENT, False),
    ({"tags": ["prod"]}, EVENT, True),  # a list matches when any element does
    ({"tags": ["dev"]}, EVENT, False),
    ({"actor": ["alice"], "outcome": ["ok"]}, EVENT, True),
    ({"severity": ["high"], "score": [{"numeric": [">=", 0.9]}]}, PUBLISHED, True),
    ({"severity": ["low", {"prefix": "crit"}]}, PUBLISHED, False),
    ({"message": ["disk"]}, PUBLISHED, True),
]


@pytest.mark.parametrize(("policy", "event", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_policy(policy: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(validate_policy(policy), event_fields(event)) is expected


@pytest.mark.timeout(30)
def test_a_wildcard_with_many_stars_answers_at_once() -> None:
    # A regular expression with .* for each star backtracks for minutes on this event.
    policy = validate_policy({"resource_id": [{"wildcard": "*a" * 12 + "b"}]})
    started = time.monotonic()
    assert not matches(policy, event_fields({**EVENT, "resource_id": "a" * 200}))
    assert matches(policy, event_fields({**EVENT, "resource_id": "a" * 200 + "b"}))
    assert time.monotonic() - started < 1


BAD: list[tuple[Any, str, str]] = [
    ([], "filter", "JSON object"),
    ({"status": "Failed"}, "filter.status", "non-empty list"),
    ({"status": []}, "filter.status", "non-empty list"),
    ({"status": [{"prefix": ""}]}, "filter.status", "prefix"),
    ({"status": [{"prefix": "a", "suffix": "b"}]}, "filter.status", "one-key"),
    ({"status": [{"regex": ".*"}]}, "filter.status", "unknown operator"),
    ({"n": [{"numeric": [">", "5"]}]}, "filter.n", "numeric"),
    ({"n": [{"numeric": ["~", 5]}]}, "filter.n", "numeric"),
    ({"n": [{"numeric": ["<", 5, ">", 1]}]}, "filter.n", "range"),
    ({"n": [{"numeric": [">", 5, "<", 1]}]}, "filter.n", "range"),
    ({"n": [{"exists": "yes"}]}, "filter.n", "exists"),
    ({"n": [{"anything-but": {"suffix": "x"}}]}, "filter.n", "anything-but"),
    ({"n": [None]}, "filter.n", "not a string"),
    ({f"k{i}": ["v"] for i in range(11)}, "filter", "at most"),
]


@pytest.mark.parametrize(("policy", "field", "words"), BAD, ids=[str(b[0])[:40] for b in BAD])
def test_a_bad_policy_is_refused_naming_the_key(policy: Any, field: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_policy(policy)
    assert caught.value.field == field
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("patterns", "type", "expected"),
    [
        (["job.*"], "job.status_changed", True),
        (["job.*"], "jobs.x", False),
        (["*"], "topic.alerts", True),
        (["topic.alerts"], "topic.alerts2", False),
        (["run.created", "topic.a*"], "topic.alerts", True),
    ],
)
def test_event_type_patterns(patterns: list[str], type: str, expected: bool) -> None:
    assert type_matches(patterns, type) is expected
