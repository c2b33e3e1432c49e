"""Definition text: JSON errors name their line and column; the refusal carries every
problem, over the wire too."""

from __future__ import annotations

import pytest

from dockyard.asl import DefinitionInvalid, Problem, parse_definition
from dockyard.asl.validation import check_definition
from dockyard.errors import InvalidArgument, error_from_dict


def test_parses_a_definition() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}'
    assert parse_definition(text)["StartAt"] == "A"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("", "MISSING_DESCRIPTION", "empty"),
        ("   \n", "MISSING_DESCRIPTION", "empty"),
        (
            '{\n  "StartAt": "A",\n  "States": {,}\n}',
            "INVALID_JSON_DESCRIPTION",
            "line 3, column 14",
        ),
        ('{"StartAt": "A"', "INVALID_JSON_DESCRIPTION", "line 1, column 16"),
        ("not a definition", "INVALID_JSON_DESCRIPTION", "line 1, column 1"),
        ("[1, 2]", "SCHEMA_VALIDATION_FAILED", "JSON object"),
        (
            '{"States": {"A": {"Type": "Succeed"}, "A": {"Type": "Fail"}}}',
            "INVALID_JSON_DESCRIPTION",
            'Duplicate field "A"',
        ),
    ],
)
def test_bad_text(text: str, code: str, words: str) -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        parse_definition(text)
    assert [p.code for p in caught.value.problems] == [code]
    assert words in caught.value.problems[0].message
    assert isinstance(caught.value, InvalidArgument)


def test_a_refusal_lists_its_problems_and_survives_the_wire() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    with pytest.raises(DefinitionInvalid) as caught:
        check_definition(definition)
    error = caught.value
    assert "Missing 'Next' target: B at /States/A/Next" in error.message
    rebuilt = error_from_dict(error.to_dict())
    assert isinstance(rebuilt, InvalidArgument)
    problems = [Problem(**p) for p in rebuilt.details["problems"]]
    assert problems == error.problems
    assert {p.location for p in problems} == {"/States", "/States/A/Next"}


def test_warnings_alone_pass() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"x": "$.y"}, "End": True}},
    }
    assert [p.code for p in check_definition(definition)] == ["NO_DOLLAR"]


def test_a_long_refusal_counts_the_rest() -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": f"Missing{i}"} for i in range(8)}
    with pytest.raises(DefinitionInvalid) as caught:
        check_definition({"StartAt": "S0", "States": states})
    assert "more)" in caught.value.message
    assert len(caught.value.problems) > 8
