"""Typed hyperparameters from SageMaker's strings."""

from __future__ import annotations

import pytest

from dockyard.algorithms._hyperparameters import (
    Hyperparameter,
    Hyperparameters,
    HyperparameterSet,
    Value,
    boolean,
    choice,
    integer,
    number,
    refuse,
    text,
)
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(
    ("spec", "given", "value"),
    [
        (integer("n", 1), "5", 5),
        (integer("n", 1), " 5.0 ", 5),  # tuners write whole numbers as floats
        (integer("n", auto=True), "auto", None),
        (number("x", 0, 1), "1", 1.0),
        (number("x", 0, 1), "1e-3", 0.001),
        (boolean("b"), "TRUE", True),
        (boolean("b"), "0", False),
        (choice("c", "a", "b"), "b", "b"),
        (Hyperparameter("l", "list", choices=("a", "b")), "a, b", ("a", "b")),
        (text("t"), "(1,0,-1)", "(1,0,-1)"),
    ],
    ids=[
        "int",
        "int-float",
        "auto",
        "float-edge",
        "float-exp",
        "true",
        "false",
        "choice",
        "list",
        "text",
    ],
)
def test_reads_values(spec: Hyperparameter, given: str, value: Value) -> None:
    assert spec.parse(given) == value


@pytest.mark.parametrize(
    ("spec", "given", "expected"),
    [
        (integer("n", 1), "5.5", "an integer >= 1"),
        (integer("n", 1), "0", "an integer >= 1"),
        (integer("n", 0, 3), "4", "an integer in [0, 3]"),
        (number("x", 0, 1, min_open=True), "0", "a number in (0, 1]"),
        (number("x", 1, 2, min_open=True, max_open=True), "2", "a number in (1, 2)"),
        (number("x", 0, min_open=True), "-1", "a number > 0"),
        (number("x"), "nan", "a number"),
        (number("x"), "inf", "a number"),
        (number("x", 0, auto=True), "automatic", 'a number >= 0 or "auto"'),
        (boolean("b"), "yes", "true or false"),
        (choice("c", "hist", "exact"), "hits", "one of hist, exact"),
        (Hyperparameter("l", "list", choices=("a",)), "a,,a", "a comma-separated list of a"),
    ],
    ids=[
        "fraction",
        "below",
        "above",
        "open-low",
        "open-both",
        "positive",
        "nan",
        "inf",
        "auto-typo",
        "bool",
        "choice",
        "empty-item",
    ],
)
def test_refuses_values_naming_the_hyperparameter(
    spec: Hyperparameter, given: str, expected: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        spec.parse(given)
    assert caught.value.field == f"hyperparameters.{spec.name}"
    assert caught.value.message.startswith(
        f"hyperparameter {spec.name!r} must be {expected}, got {given!r}"
    )
    assert caught.value.details["value"] == given


def test_choice_suggests_the_closest() -> None:
    with pytest.raises(InvalidArgument, match=r"\(did you mean 'hist'\?\)"):
        choice("c", "hist", "exact").parse("hits")


def _no_both(hps: Hyperparameters) -> None:
    if "a" in hps.given and "b" in hps.given:
        raise refuse("b", "give a or b, not both")


SET = HyperparameterSet(
    algorithm="demo",
    specs=(
        integer("rounds", 1, required=True),
        number("a", default=0.5),
        number("b"),
        boolean("old", ignored="it is gone"),
        integer("cv", refused="no cross-validation"),
    ),
    aliases={"alpha": "a"},
    rules=(_no_both,),
)


def test_parse_fills_defaults_and_reads_aliases() -> None:
    parsed = SET.parse({"rounds": "3", "alpha": "0.25"})
    assert parsed.values == {"rounds": 3, "a": 0.25, "b": None, "old": None, "cv": None}
    assert parsed.given == {"rounds", "a"}
    assert parsed.integer("rounds") == 3 and parsed.number("a") == 0.25
    assert parsed.optional_number("b") is None
    assert parsed.warnings == ()


def test_non_string_values_and_json_encoded_strings() -> None:
    # SageMaker's framework estimators JSON-encode each value once more.
    parsed = SET.parse({"rounds": 3, "a": '"0.75"', "old": True})
    assert parsed.values["rounds"] == 3 and parsed.values["a"] == 0.75
    assert parsed.values["old"] is True


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({}, "rounds", "hyperparameter 'rounds' is required by the demo algorithm"),
        ({"rounds": "1", "round": "2"}, "round", "unknown hyperparameter for the demo"),
        ({"rounds": "1", "x": "1", "y": "2"}, "x", "unknown hyperparameters for the demo"),
        ({"rounds": "1", "a": "1", "alpha": "2"}, "alpha", "'a' and 'alpha' are the same"),
        ({"rounds": "1", "cv": "5"}, "cv", "'cv' is not supported: no cross-validation"),
        ({"rounds": "1", "a": "1", "b": "2"}, "b", "give a or b, not both"),
    ],
    ids=["required", "unknown", "several-unknown", "alias-twice", "refused", "rule"],
)
def test_parse_refuses(given: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        SET.parse(given)
    assert caught.value.field == f"hyperparameters.{field}"
    assert message in caught.value.message


def test_unknown_names_get_suggestions() -> None:
    with pytest.raises(InvalidArgument) as caught:
        SET.parse({"rounds": "1", "round": "2", "zzz": "3"})
    assert "'round' (did you mean 'rounds'?), 'zzz'" in caught.value.message
    assert caught.value.details["unknown"] == ["round", "zzz"]


def test_ignored_hyperparameters_warn() -> None:
    parsed = SET.parse({"rounds": "1", "old": "true"})
    assert parsed.warnings == ("hyperparameter 'old' has no effect here: it is gone",)
