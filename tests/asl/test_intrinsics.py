"""Intrinsic functions: AWS's documented examples give exact outputs; every bad call fails with
the function and the argument named."""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any

import pytest

from dockyard.asl import evaluate_intrinsic, is_intrinsic, parse_intrinsic
from dockyard.asl.errors import StatesError
from dockyard.asl.intrinsics import IntrinsicSyntaxError
from dockyard.errors import InvalidArgument


def run(text: str, input: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("context", {"Execution": {"Id": "arn:exec", "Name": "e1"}})
    kwargs.setdefault("variables", {})
    return evaluate_intrinsic(text, input=input, **kwargs)


# (call, input, output): the examples of the AWS Step Functions developer guide.
DOCUMENTED = [
    (
        "States.Format('Hello, my name is {}.', $.name)",
        {"name": "Arnav"},
        "Hello, my name is Arnav.",
    ),
    (
        "States.Format($.template, $.name)",
        {"name": "Arnav", "template": "Hello, my name is {}."},
        "Hello, my name is Arnav.",
    ),
    (
        "States.StringToJson($.escapedJsonString)",
        {"escapedJsonString": '{"foo": "bar"}'},
        {"foo": "bar"},
    ),
    ("States.JsonToString($.unescapedJson)", {"unescapedJson": {"foo": "bar"}}, '{"foo":"bar"}'),
    ("States.Array($.Id)", {"Id": 123456}, [123456]),
    (
        "States.ArrayPartition($.inputArray,4)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
    ),
    (
        "States.ArrayContains($.inputArray, $.lookingFor)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5},
        True,
    ),
    ("States.ArrayRange(1, 9, 2)", None, [1, 3, 5, 7, 9]),
    (
        "States.ArrayGetItem($.inputArray, $.index)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5},
        6,
    ),
    ("States.ArrayLength($.inputArray)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9),
    ("States.ArrayUnique($.inputArray)", {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
    ("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
    ("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
    # The guide's page prints this digest with one character dropped (39 hex digits).
    (
        "States.Hash($.Data, $.Algorithm)",
        {"Data": "input data", "Algorithm": "SHA-1"},
        "aaff4a450a104cd177d28d18d74485e8cae074b7",
    ),
    (
        "States.JsonMerge($.json1, $.json2, false)",
        {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
    ),
    ("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110),
    (
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "1,2,3,4,5", "splitter": ","},
        ["1", "2", "3", "4", "5"],
    ),
    (
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "This.is+a,test=string", "splitter": ".+,="},
        ["This", "is", "a", "test", "string"],
    ),
]


@pytest.mark.parametrize(("text", "input", "expected"), DOCUMENTED)
def test_documented_examples(text: str, input: Any, expected: Any) -> None:
    assert run(text, input) == expected


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("MD5", hashlib.md5),
        ("SHA-1", hashlib.sha1),
        ("SHA-256", hashlib.sha256),
        ("SHA-384", hashlib.sha384),
        ("SHA-512", hashlib.sha512),
    ],
)
def test_hash_algorithms_are_the_standard_digests(algorithm: str, digest: Any) -> None:
    expected = digest("input data é".encode()).hexdigest()
    assert run(f"States.Hash('input data é', '{algorithm}')") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Escapes: \' \{ \} \\ stand for the characters; an escaped {} is no placeholder.
        (r"States.Format('it\'s \{\} {}', 'x')", "it's {} x"),
        (r"States.Format('back\\slash {}', 1)", "back\\slash 1"),
        ("States.Format('{} and {}', true, null)", "true and null"),
        ("States.Format('{}', $.o)", "{a=1, b=[x, 2.5]}"),
        ("States.Format('no placeholders')", "no placeholders"),
        ("States.Array()", []),
        ("States.Array('a', 1, -2.5, true, false, null)", ["a", 1, -2.5, True, False, None]),
        ("States.Array($$.Execution.Name, $myVar, $myVar.inner[1])", ["e1", {"inner": [0, 7]}, 7]),
        ("States.ArrayRange(9, 1, -2)", [9, 7, 5, 3, 1]),
        ("States.ArrayRange(1, 2.6, 1)", [1, 2, 3]),
        ("States.ArrayRange(5, 1, 1)", []),
        ("States.ArrayPartition(States.Array(1, 2, 3), 1.6)", [[1, 2], [3]]),
        ("States.ArrayContains(States.Array(1, true), 1.0)", True),
        ("States.ArrayContains(States.Array(true), 1)", False),
        ("States.ArrayUnique(States.Array(1, true, 1.0, 'a', 'a'))", [1, True, "a"]),
        ("States.ArrayUnique($.objs)", [{"a": 1, "b": 2}]),
        ("States.MathAdd(1.5, 2.4)", 4),
        ("States.MathAdd(-2147483648, 2147483647)", -1),
        ("States.StringSplit('a,,b,', ',')", ["a", "b"]),
        ("States.StringToJson('[1, {\"k\": null}]')", [1, {"k": None}]),
        ("States.JsonToString($.o)", '{"a":1,"b":["x",2.5]}'),
        ("States.Base64Encode('héllo')", "aMOpbGxv"),
        ("States.Base64Decode(States.Base64Encode('héllo'))", "héllo"),
        # Nesting, as in the guide's nine-deep example.
        (
            "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
            "States.StringSplit($.arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit("
            "States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 1))",
            "1.0",
        ),
        ("  States.ArrayLength( States.Array( 1 , 2 ) )  ", 2),
    ],
)
def test_calls(text: str, expected: Any) -> None:
    input = {
        "o": {"a": 1, "b": ["x", 2.5]},
        "objs": [{"a": 1, "b": 2}, {"b": 2, "a": 1.0}],
        "arn": "arn:aws:imagebuilder:us-east-1:1:image-recipe/recipe/1.0.2",
    }
    variables = {"myVar": {"inner": [0, 7]}}
    assert run(text, input, variables=variables) == expected


def test_uuid_and_random_come_from_the_generator_passed_in() -> None:
    first = run("States.UUID()", random=random.Random(7))
    assert first == run("States.UUID()", random=random.Random(7))
    assert uuid.UUID(first).version == 4
    assert first != run("States.UUID()", random=random.Random(8))
    values = {run("States.MathRandom(1, 4)", random=random.Random(s)) for s in range(60)}
    assert values == {1, 2, 3}  # the end is exclusive
    seeded = {run("States.MathRandom(1, 1000, 42)", random=random.Random(s)) for s in range(5)}
    assert len(seeded) == 1  # a seed makes the value repeat


def test_without_a_generator_values_derive_from_the_state_visit() -> None:
    visit = {"Execution": {"Id": "arn:e"}, "State": {"Name": "A", "EnteredTime": "t1"}}
    again = run("States.Array(States.UUID(), States.UUID())", context=visit)
    assert again == run("States.Array(States.UUID(), States.UUID())", context=visit)
    assert again[0] != again[1]
    other = {**visit, "State": {"Name": "A", "EnteredTime": "t2"}}
    assert run("States.UUID()", context=other) != run("States.UUID()", context=visit)
    assert run("States.MathRandom(0, 1000)", context=visit) == run(
        "States.MathRandom(0, 1000)", context=visit
    )


@pytest.mark.parametrize(
    ("text", "input", "words"),
    [
        ("States.ArrayRange(1, 1001, 1)", None, ["States.ArrayRange", "1001 items", "1000"]),
        ("States.ArrayRange(1, 5, 0)", None, ["States.ArrayRange", "step", "0"]),
        ("States.ArrayPartition($.a, 0)", {"a": [1]}, ["States.ArrayPartition", "chunkSize"]),
        ("States.ArrayPartition($.a, 2)", {"a": "x"}, ["argument 1 (array)", "array, got string"]),
        ("States.ArrayGetItem($.a, 3)", {"a": [1]}, ["States.ArrayGetItem", "out of bounds"]),
        ("States.ArrayGetItem($.a, 0.5)", {"a": [1]}, ["argument 2 (index)", "integer"]),
        ("States.ArrayLength($.a)", {"a": {}}, ["States.ArrayLength", "array, got object"]),
        ("States.Base64Encode($.s)", {"s": "x" * 10_001}, ["Base64Encode", "10001", "10000"]),
        ("States.Base64Decode('%%%')", None, ["Base64Decode", "not valid Base64"]),
        ("States.Hash('x', 'SHA-3')", None, ["States.Hash", "algorithm", "'SHA-3'"]),
        ("States.Hash($.s, 'MD5')", {"s": "x" * 10_001}, ["States.Hash", "10001"]),
        ("States.Hash($.n, 'MD5')", {"n": 1}, ["argument 1 (data)", "string, got number"]),
        ("States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}, ["deepMerge", "false"]),
        ("States.JsonMerge($.a, $.b, false)", {"a": {}, "b": []}, ["argument 2 (json2)"]),
        ("States.MathAdd($.n, 1)", {"n": 2**31}, ["States.MathAdd", "2147483648"]),
        ("States.MathAdd($.n, 1)", {"n": "1"}, ["argument 1 (value1)", "number"]),
        ("States.MathRandom(5, 5, 1)", None, ["States.MathRandom", "less than"]),
        ("States.StringToJson($.s)", {"s": "{nope"}, ["StringToJson", "not valid JSON"]),
        ("States.Format($.t, 1)", {"t": "no placeholder"}, ["States.Format", "0 placeholder"]),
    ],
)
def test_bad_values_are_intrinsic_failures(text: str, input: Any, words: list[str]) -> None:
    with pytest.raises(StatesError) as caught:
        run(text, input)
    assert caught.value.error == "States.IntrinsicFailure"
    for word in words:
        assert word in caught.value.cause


def test_a_missing_path_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as caught:
        run("States.Array($.nope)", {"a": 1})
    assert caught.value.error == "States.Runtime"
    assert "$.nope" in caught.value.cause
    with pytest.raises(StatesError, match="The variable '\\$ghost' is not defined"):
        run("States.Array($ghost)", {})
    with pytest.raises(StatesError, match="could not be found in the context object"):
        run("States.Array($$.Nope)", {})
    with pytest.raises(StatesError, match="Invalid path"):
        run("States.Array($.a.[0])", {"a": [1]})


def test_the_path_evaluator_can_be_injected() -> None:
    seen = []

    def resolve(path: str, input: Any, context: Any, variables: Any) -> Any:
        seen.append(path)
        return [3, 4]

    assert run("States.ArrayLength($..items[?(@.n > 1, 2)])", {}, resolve_path=resolve) == 2
    assert seen == ["$..items[?(@.n > 1, 2)]"]


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("States.Nope(1)", 1, "unknown intrinsic function 'States.Nope'"),
        ("States.Array(1", 15, "missing ')'"),
        ("States.Array(1,)", 16, "missing argument"),
        ("States.Array(1) x", 17, "unexpected text"),
        ("States.Array('abc)", 14, "unterminated string"),
        (r"States.Array('a\nb')", 16, "backslash"),
        ("States.Array(1 2)", 16, "expected ',' or ')'"),
        ("States.Array(@)", 14, "unexpected character"),
        ("States.ArrayLength()", 1, "takes 1 argument(s), got 0"),
        ("States.MathRandom(1)", 1, "takes 2 to 3 argument(s), got 1"),
        ("States.Format()", 1, "takes at least 1 argument(s), got 0"),
        ("States.Array(States.UUID(1))", 14, "States.UUID takes 0 argument(s), got 1"),
        ("States.ArrayRange(1, 'a', 2)", 1, "argument 2 (end) must be a number, got string"),
        ("States.Format('{} {}', 1)", 1, "2 placeholder(s)"),
        ("States.Format(1)", 1, "argument 1 (template) must be a string"),
        ("States.Array(1.2.3)", 14, "'1.2.3' is not a number"),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        parse_intrinsic(text)
    assert caught.value.column == column
    assert words in caught.value.message
    assert f"column {column}" in caught.value.message
    assert isinstance(caught.value, InvalidArgument)
    with pytest.raises(StatesError) as failed:
        run(text)
    assert failed.value.error == "States.IntrinsicFailure"


def test_nesting_is_limited_to_ten_calls() -> None:
    ten = "States.Array(" * 10 + ")" * 10
    assert parse_intrinsic(ten).name == "States.Array"
    with pytest.raises(IntrinsicSyntaxError, match="more than 10 nested"):
        parse_intrinsic("States.Array(" * 11 + ")" * 11)


def test_parse_tree() -> None:
    call = parse_intrinsic("States.Format('a{}b{}{}', $.x, States.Array($$.y), $v)")
    assert call.name == "States.Format"
    texts = [type(a).__name__ for a in call.arguments]
    assert texts == ["Text", "Path", "Call", "Path"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('x')", True),
        ("  States.UUID ()", True),
        ("States.Unknown(1)", True),
        ("$.States.Format", False),
        ("States.Format", False),
        ("hello", False),
    ],
)
def test_is_intrinsic(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected
