"""JSONata templates: expressions replaced in place, Step Functions' added functions, and
every failure a States.QueryEvaluationError naming the expression and the field."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from random import Random
from typing import Any

import pytest

from dockyard.asl import jsonata as jsonata_module
from dockyard.asl.errors import StatesError
from dockyard.asl.jsonata import (
    is_jsonata,
    jsonata_expression,
    jsonata_syntax_problem,
    resolve_jsonata,
)

BINDINGS = {
    "states": {
        "input": {"items": [1, 2, 3], "name": "train", "none": None},
        "context": {"Execution": {"Name": "e1"}},
    },
    "threshold": 2,
}


def resolve(template: Any, **kwargs: Any) -> Any:
    return resolve_jsonata(template, BINDINGS, **kwargs)


def test_a_template_is_walked_and_only_expressions_change() -> None:
    template = {
        "Count": "{% $count($states.input.items) %}",
        "Big": ["{% $states.input.items[$ > $threshold] %}", "literal", 3, None, True],
        "Nested": {
            "Name": "{% $uppercase($states.input.name) %}",
            "Exec": "{% $states.context.Execution.Name %}",
        },
        "NotWhole": "a {% 1 %} b",
        "Null": "{% $states.input.none %}",
        "Whole": "{% 4 / 2 %}",
        "Half": "{% 1 / 2 %}",
        "Object": "{% {'a': $threshold, 'gone': $nothing} %}",
    }
    assert resolve(template) == {
        "Count": 3,
        "Big": [3, "literal", 3, None, True],
        "Nested": {"Name": "TRAIN", "Exec": "e1"},
        "NotWhole": "a {% 1 %} b",
        "Null": None,
        "Whole": 2,
        "Half": 0.5,
        "Object": {"a": 2},
    }


def test_the_template_is_not_changed() -> None:
    template = {"a": ["{% 1 %}"]}
    resolve(template)
    assert template == {"a": ["{% 1 %}"]}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$partition([1,2,3,4,5], 2)", [[1, 2], [3, 4], [5]]),
        ("$partition($states.input.items, 5)", [[1, 2, 3]]),
        ("$range(0, 10, 5)", [0, 5, 10]),
        ("$range(5, 1, -2)", [5, 3, 1]),
        ("$range(1, 3)", [1, 2, 3]),
        ("$hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("$hash('x', 'SHA-256')", hashlib.sha256(b"x").hexdigest()),
        ("$hash('x', 'MD5')", hashlib.md5(b"x").hexdigest()),
        ("$parse('{\"a\": [1, null]}')", {"a": [1, None]}),
        ("$parse($string({'k': 1})).k", 1),
    ],
)
def test_step_functions_functions(expression: str, expected: Any) -> None:
    assert resolve(f"{{% {expression} %}}") == expected


def test_random_and_uuid_come_from_the_generator_passed_in() -> None:
    first = resolve("{% $uuid() %}", random=Random(3))
    assert uuid.UUID(first).version == 4
    assert first == resolve("{% $uuid() %}", random=Random(3))
    number = resolve("{% $random() %}", random=Random(3))
    assert 0 <= number < 1
    assert number == resolve("{% $random() %}", random=Random(3))
    assert resolve("{% $random(42) %}") == resolve("{% $random(42) %}")
    assert resolve("{% $random(42) %}") != resolve("{% $random(43) %}")


def test_the_clock_comes_from_the_caller() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert resolve("{% $now() %}", now=now) == "2026-01-02T03:04:05.000Z"
    assert resolve("{% $millis() %}", now=now) == 1767323045000


def visit(entered: str) -> dict[str, Any]:
    context = {"Execution": {"Id": "arn:e"}, "State": {"Name": "S", "EnteredTime": entered}}
    return {"states": {"input": {}, "context": context}}


def test_without_a_clock_now_is_when_the_state_was_entered() -> None:
    bindings = visit("2026-05-06T07:08:09.123Z")
    assert resolve_jsonata("{% $now() %}", bindings) == "2026-05-06T07:08:09.123Z"


def test_without_a_generator_values_derive_from_the_state_visit() -> None:
    template = ["{% $uuid() %}", "{% $uuid() %}", "{% $random() %}"]
    first = resolve_jsonata(template, visit("2026-01-01T00:00:00Z"))
    assert first == resolve_jsonata(template, visit("2026-01-01T00:00:00Z"))
    assert first[0] != first[1]
    assert first != resolve_jsonata(template, visit("2026-01-01T00:00:01Z"))


@pytest.mark.parametrize(
    ("template", "words"),
    [
        (
            {"a": "{% $missing %}"},
            "The JSONata expression '$missing' specified for the field 'Arguments/a' "
            "returned nothing (undefined).",
        ),
        (
            {"a": ["{% 1 + %}"]},
            "The JSONata expression '1 +' specified for the field 'Arguments/a/0' "
            "is not valid JSONata",
        ),
        ({"a": "{% 1/0 %}"}, "'Arguments/a' failed: D1001: Number out of range"),
        ({"a": "{% $string(1/0) %}"}, "failed: D1001: Number out of range (a division by 0)"),
        ({"a": "{% $foo() %}"}, "failed: Attempted to invoke a non-function"),
        ({"a": "{% $foo() %}"}, "(code T1006, position 6)"),
        ({"a": "{% 'a' + 1 %}"}, "must evaluate to a number (code T2001)"),
        ({"a": "{% function($x){$x} %}"}, "returned an unsupported result type."),
        ({"a": "{% $partition([1], 0) %}"}, "$partition: the chunk size must be positive, got 0"),
        ({"a": "{% $range(1, 5, 0) %}"}, "$range: the step must not be 0"),
        ({"a": "{% $range(1, 100000000, 1) %}"}, "at most 10000000"),
        ({"a": "{% $hash('a', 'SHA-3') %}"}, "$hash: the algorithm must be one of MD5"),
        ({"a": "{% $parse('{') %}"}, "$parse: the argument is not valid JSON"),
        ({"a": "{% $eval('1 + 1') %}"}, "$eval: is not supported by Step Functions"),
    ],
)
def test_failures_are_query_evaluation_errors(template: Any, words: str) -> None:
    with pytest.raises(StatesError) as caught:
        resolve(template, field="Arguments")
    assert caught.value.error == "States.QueryEvaluationError"
    assert words in caught.value.cause


@pytest.mark.parametrize(
    ("value", "expression"),
    [
        ("{% $x %}", " $x "),
        ("{%%}", ""),
        ("{% a\nb %}", " a\nb "),
        (" {% 1 %}", None),
        ("{% 1", None),
        (1, None),
    ],
)
def test_recognising_expressions(value: Any, expression: str | None) -> None:
    assert jsonata_expression(value) == expression
    assert is_jsonata(value) is (expression is not None)


def test_using_jsonata_leaves_the_interpreters_recursion_limit() -> None:
    # The library raises the whole process's limit when first imported; a server's first
    # JSONata request must not change it for every other request.
    code = (
        "import sys; before = sys.getrecursionlimit(); "
        "from dockyard.asl.jsonata import resolve_jsonata; "
        "assert resolve_jsonata('{% 1 + 1 %}', {}) == 2; "
        "print(before, sys.getrecursionlimit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert after == before


def test_expressions_recurse_as_deep_as_the_librarys_own_limit_allows() -> None:
    before = sys.getrecursionlimit()
    recursive = "( $f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(500) )"
    assert resolve_jsonata("{% " + recursive + " %}", {}) == 500
    chain = "+".join(["1"] * 1000)
    assert jsonata_syntax_problem(chain) is None
    assert resolve_jsonata("{% " + chain + " %}", {}) == 1000
    assert sys.getrecursionlimit() == before  # raised only while the expression ran


@pytest.mark.parametrize("depth", [5_000, 20_000])
def test_an_expression_nested_too_deeply_is_refused_by_name(depth: int) -> None:
    nested = "(" * depth + "1" + ")" * depth
    problem = jsonata_syntax_problem(nested)
    assert problem is not None and "nested too deeply" in problem
    assert len(problem) < 300  # the expression is quoted shortened
    with pytest.raises(StatesError) as raised:
        resolve_jsonata("{% " + nested + " %}", {}, field="Output")
    assert raised.value.error == "States.QueryEvaluationError"
    assert "nested too deeply" in raised.value.cause
    assert "'Output'" in raised.value.cause
    assert len(raised.value.cause) < 300


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(jsonata_module, "EVALUATION_SECONDS", 0.5, raising=False)
    return 0.5


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "expression",
    [
        # a pattern that backtracks catastrophically: hours in Python's re
        "$match('" + "a" * 60 + "!', /(a|aa)+$/)",
        "$replace('" + "a" * 60 + "!', /(a|aa)+$/, 'x')",
        # a hundred million steps, and a recursion that never ends (a tail call: no stack)
        "$count([1..10000].([1..10000]))",
        "($f := function($n){ $f($n + 1) }; $f(0))",
    ],
)
def test_an_expression_running_past_its_deadline_fails_its_state(
    expression: str, short_deadline: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the deadline: a range of ranges would otherwise meet the memory budget first.
    monkeypatch.setattr(jsonata_module, "EVALUATION_MEMORY_BYTES", 2**40)
    started = time.monotonic()
    with pytest.raises(StatesError) as caught:
        resolve({"a": "{% " + expression + " %}"}, field="Output")
    assert caught.value.error == "States.QueryEvaluationError"
    assert "specified for the field 'Output/a' failed: ran longer than 0.5 s" in caught.value.cause
    assert time.monotonic() - started < 10 * short_deadline


def test_a_regular_expression_matches_as_javascript_s_does() -> None:
    assert resolve("{% $replace('abcabc', /(b)/, '[$1]') %}") == "a[b]ca[b]c"
    assert resolve("{% $split('a1b22c', /[0-9]+/) %}") == ["a", "b", "c"]
    assert resolve("{% $contains('abc', /B/i) %}") is True
    assert resolve("{% $match('xaxbx', /[ab]/).index %}") == [1, 3]


def test_an_invalid_regular_expression_is_a_syntax_problem_by_name() -> None:
    problem = jsonata_syntax_problem("$match('a', /a{2,1}/)")
    assert problem is not None
    assert "the regular expression /a{2,1}/ is not valid: min repeat greater than max" in problem
    with pytest.raises(StatesError) as caught:
        resolve({"a": "{% $match('a', /a{2,1}/) %}"}, field="Output")
    assert "'Output/a' is not valid JSONata: the regular expression /a{2,1}/" in caught.value.cause


@pytest.mark.parametrize(
    "expression",
    [
        "($__evaluate_entry := $nothing; $count([1..10000].([1..10000])))",
        "(function($__evaluate_exit){ 1 })(2)",
    ],
)
def test_the_librarys_step_callbacks_cannot_be_rebound(expression: str) -> None:
    problem = jsonata_syntax_problem(expression)
    assert problem is not None
    assert "is reserved" in problem


@pytest.mark.timeout(30)
def test_a_workflow_variable_named_as_the_step_callback_keeps_the_deadline(
    short_deadline: float,
) -> None:
    # Assign may name a variable so (letters, digits, underscores): bound as it is, it would
    # hide the library's callback, and with it the deadline.
    started = time.monotonic()
    with pytest.raises(StatesError) as caught:
        resolve_jsonata(
            {"a": "{% ($f := function($n){ $f($n + 1) }; $f(0)) %}"},
            {"__evaluate_entry": None},
            field="Output",
        )
    assert "ran longer than 0.5 s" in caught.value.cause
    assert time.monotonic() - started < 10 * short_deadline


def test_pad_refuses_a_width_that_would_take_the_servers_memory() -> None:
    with pytest.raises(StatesError) as caught:
        resolve({"a": "{% $pad('x', 10000000000) %}"}, field="Output")
    assert "$pad: the width is 10000000000; at most 10000000 characters" in caught.value.cause
    assert resolve("{% $pad('ab', -5, '#') %}") == "###ab"
    assert resolve("{% 'ab' ~> $pad(4, '-') %}") == "ab--"


def test_an_expression_that_grows_the_process_past_its_budget_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ranges of millions of items take memory at about a gigabyte a second: inside the deadline,
    # enough to take the server's (and again each time the execution resumes at that state).
    monkeypatch.setattr(jsonata_module, "EVALUATION_MEMORY_BYTES", 32 * 2**20)
    ranges = ",".join(["[1..2000000]"] * 8)
    with pytest.raises(StatesError) as caught:
        resolve({"a": f"{{% $count([{ranges}]) %}}"}, field="Output")
    assert caught.value.error == "States.QueryEvaluationError"
    assert (
        "'Output/a'" in caught.value.cause
        and "used more than 32 MB of memory" in caught.value.cause
    )
    assert resolve("{% $count([1..100000]) %}") == 100000  # a large but modest one still runs


@pytest.mark.timeout(30)
@pytest.mark.parametrize("call", ["{}", "$hash({}, 'SHA-256')"])
def test_a_result_holding_itself_over_and_over_is_refused_not_written_out(call: str) -> None:
    # Forty levels of an object holding the one below twice: made in microseconds, and a
    # trillion values written out (after the deadline ended, or in one step of $hash).
    doubled = "$reduce([1..40], function($a, $b){ {'l': $a, 'r': $a} }, 1)"
    with pytest.raises(StatesError) as caught:
        resolve({"a": "{% " + call.replace("{}", doubled) + " %}"}, field="Output")
    assert "'Output/a' failed: a value holds more than 1000000 values" in caught.value.cause
    small = resolve("{% $reduce([1..3], function($a, $b){ {'l': $a, 'r': $a} }, 1) %}")
    assert small["l"]["r"] == {"l": 1, "r": 1}


@pytest.mark.timeout(30)  # without the check, $string runs for days
def test_string_refuses_a_value_too_large_written_out() -> None:
    # One step: neither the deadline nor the memory look could stop $string writing out a
    # value that holds the one before it twice, forty times over (2**40 values).
    doubled = "$reduce([1..40], function($a, $b){ {'l': $a, 'r': $a} }, 1)"
    with pytest.raises(StatesError) as caught:
        resolve({"a": "{% $length($string(" + doubled + ")) %}"}, field="Output")
    assert "holds more than 1000000 values written out" in caught.value.cause
    # ** lists every descendant in one step too
    with pytest.raises(StatesError) as caught:
        resolve({"a": "{% $count((" + doubled + ").**) %}"}, field="Output")
    assert "holds more than 1000000 values written out" in caught.value.cause
    assert resolve("{% $count({'a': {'b': [1, 2]}}.**) %}") == 4
    assert resolve("{% $string({'a': [1, null]}) %}") == '{"a":[1,null]}'
    assert resolve("{% $string('text') %}") == "text"


@pytest.mark.timeout(30)  # the library's comparison took days
def test_equality_compares_each_pair_once() -> None:
    def doubled(leaf: int) -> str:
        return f"$reduce([1..40], function($a, $b){{ {{'l': $a, 'r': $a}} }}, {leaf})"

    same = f"{{% ($x := {doubled(1)}; $y := {doubled(1)}; [$x = $y, $x != $y]) %}}"
    assert resolve(same) == [True, False]
    other = f"{{% ($x := {doubled(1)}; $y := {doubled(2)}; $x = $y) %}}"
    assert resolve(other) is False
    assert resolve(
        "{% [[1, {'a': true}] = [1, {'a': true}], [1] = [true], {'a': 1} = {'b': 1}] %}"
    ) == [
        True,
        False,
        False,
    ]
