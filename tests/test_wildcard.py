"""Wildcard patterns (``*`` only): the same answers as a regular expression, in linear time."""

from __future__ import annotations

import itertools
import re
import time

import pytest

from dockyard.wildcard import matches_wildcard


def _reference(pattern: str, text: str) -> bool:
    regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


def test_every_short_pattern_and_text_match_as_a_regular_expression_would() -> None:
    words = ["".join(w) for n in range(5) for w in itertools.product("ab*", repeat=n)]
    texts = ["".join(w) for n in range(5) for w in itertools.product("ab", repeat=n)]
    for pattern in words:
        for text in texts:
            expected = _reference(pattern, text)
            assert matches_wildcard(pattern.split("*"), text) is expected, (pattern, text)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("log-*.txt", "log-2026.txt", True),
        ("a*a", "a", False),  # the first and last pieces do not overlap
        ("*", "", True),
        ("a**b", "ab", True),
        ("x*\n", "x\n", True),
    ],
)
def test_cases(pattern: str, text: str, expected: bool) -> None:
    assert matches_wildcard(pattern.split("*"), text) is expected


@pytest.mark.timeout(30)
def test_many_stars_against_a_long_text_take_no_time() -> None:
    # As a backtracking regular expression: many minutes.
    started = time.monotonic()
    assert not matches_wildcard(("*a" * 30 + "b").split("*"), "a" * 10_000)
    assert time.monotonic() - started < 1
