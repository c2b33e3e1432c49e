"""A corpus of invalid definitions: each names the pointer and the code of the problem it must
produce (and words of its message), starting from a valid pipeline with one thing broken."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dockyard.asl import validate
from dockyard.asl.validation import RULES, Rule

SM = "arn:aws:states:::sagemaker:createTrainingJob.sync"
SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"


def base() -> dict[str, Any]:
    return {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": SM,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.auc", "NumericGreaterThan": 0.8, "Next": "Done"}],
                "Default": "Failed",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "TrainingFailed"},
        },
    }


def state(name: str, body: dict[str, Any], **top: Any) -> dict[str, Any]:
    """The base pipeline with state ``name`` set to ``body`` (reached from Train's Catch)."""
    definition = base()
    definition["States"][name] = body
    if name not in ("Train", "Check", "Done", "Failed"):
        definition["States"]["Train"]["Catch"].insert(0, {"ErrorEquals": ["X"], "Next": name})
    definition.update(top)
    return definition


def train(**fields: Any) -> dict[str, Any]:
    """The base pipeline with fields of the Train state replaced (None removes one)."""
    definition = base()
    body = definition["States"]["Train"]
    for key, value in fields.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return definition


def machine(**fields: Any) -> dict[str, Any]:
    definition = base()
    for key, value in fields.items():
        if value is None:
            definition.pop(key, None)
        else:
            definition[key] = value
    return definition


def choice(rule: dict[str, Any]) -> dict[str, Any]:
    definition = base()
    definition["States"]["Check"]["Choices"] = [rule]
    return definition


def with_map(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {"Type": "Succeed"}}},
        "End": True,
    }
    body.update({k: v for k, v in fields.items() if v is not None})
    for key in [k for k, v in fields.items() if v is None]:
        body.pop(key, None)
    return state("M", body)


def jsonata(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """The base pipeline in JSONata mode (its Choice tests a Condition), with ``name`` set."""
    definition = state(name, body, QueryLanguage="JSONata")
    if name != "Check":
        definition["States"]["Check"] = {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.auc > 0.8 %}", "Next": "Done"}],
            "Default": "Failed",
        }
    return definition


CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # -- the machine --------------------------------------------------------------------------
    ("no StartAt", machine(StartAt=None), "/", SCHEMA, '["StartAt"]'),
    ("StartAt unknown", machine(StartAt="Nope"), "/StartAt", TARGET, "Missing 'Next' target: Nope"),
    ("StartAt not a string", machine(StartAt=3), "/StartAt", SCHEMA, "must be a string"),
    ("no States", machine(States=None), "/", SCHEMA, '["States"]'),
    ("States empty", machine(States={}), "/States", SCHEMA, "at least one state"),
    ("States an array", machine(States=[]), "/States", SCHEMA, "must be an object"),
    ("a state not an object", state("X", 3), "/States/X", SCHEMA, "must be an object"),  # type: ignore[arg-type]
    ("unknown top field", machine(Extra=1), "/Extra", SCHEMA, '"Extra" is not allowed'),
    ("timeout zero", machine(TimeoutSeconds=0), "/TimeoutSeconds", SCHEMA, "at least 1"),
    ("timeout text", machine(TimeoutSeconds="1"), "/TimeoutSeconds", SCHEMA, "must be an integer"),
    ("over 1 MiB", machine(Comment="x" * 1_048_576), "", SCHEMA, "at most 1048576"),
    ("version number", machine(Version=1), "/Version", SCHEMA, "must be a string"),
    (
        "long state name",
        state("S" * 81, {"Type": "Succeed"}),
        "/States/" + "S" * 81,
        "INVALID_STATE_NAME",
        "81 characters",
    ),
    (
        "control character",
        state("A\tB", {"Type": "Succeed"}),
        "/States/A\tB",
        "INVALID_STATE_NAME",
        "control",
    ),
    (
        "no terminal state",
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
        },
        "/States",
        "MISSING_END_STATE",
        "terminal",
    ),
    (
        "unreachable",
        machine(States={**base()["States"], "Orphan": {"Type": "Succeed"}}),
        "/States/Orphan",
        SCHEMA,
        'State "Orphan" is not reachable',
    ),
    (
        "duplicate names across branches",
        state(
            "P",
            {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}],
            },
        ),
        "/States/P/Branches/0/States/Done",
        "DUPLICATE_STATE_NAME",
        "Duplicate State name",
    ),
    # -- transitions and fields ---------------------------------------------------------------
    ("Next unknown", train(Next="Nope"), "/States/Train/Next", TARGET, "Nope"),
    (
        "Catch Next unknown",
        train(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Nope"}]),
        "/States/Train/Catch/0/Next",
        TARGET,
        "Nope",
    ),
    (
        "Default unknown",
        state("Check", {**base()["States"]["Check"], "Default": "Nope"}),
        "/States/Check/Default",
        TARGET,
        "Nope",
    ),
    (
        "Choice Next unknown",
        choice({"Variable": "$.a", "IsNull": True, "Next": "Nope"}),
        "/States/Check/Choices/0/Next",
        TARGET,
        "Nope",
    ),
    ("Next and End", train(End=True), "/States/Train", SCHEMA, '"Next" and "End"'),
    ("neither Next nor End", train(Next=None), "/States/Train", SCHEMA, '["Next"]'),
    (
        "End not boolean",
        state("P", {"Type": "Pass", "End": "yes"}),
        "/States/P/End",
        SCHEMA,
        "must be a boolean",
    ),
    ("no Type", state("P", {"End": True}), "/States/P", SCHEMA, '["Type"]'),
    (
        "unknown Type",
        state("P", {"Type": "Lambda", "End": True}),
        "/States/P/Type",
        SCHEMA,
        "Unknown state type 'Lambda': one of Pass, Task,",
    ),
    (
        "Type not a string",
        state("P", {"Type": 3, "End": True}),
        "/States/P/Type",
        SCHEMA,
        "The state type is a string (one of Pass, Task,",
    ),
    (
        "Pass with Retry",
        state("P", {"Type": "Pass", "End": True, "Retry": []}),
        "/States/P/Retry",
        SCHEMA,
        "not allowed in a Pass state",
    ),
    (
        "Succeed with Next",
        state("S", {"Type": "Succeed", "Next": "Done"}),
        "/States/S/Next",
        SCHEMA,
        "not allowed in a Succeed",
    ),
    (
        "Choice with End",
        state("Check", {**base()["States"]["Check"], "End": True}),
        "/States/Check/End",
        SCHEMA,
        "not allowed in a Choice",
    ),
    (
        "Fail with InputPath",
        state("Failed", {"Type": "Fail", "InputPath": "$"}),
        "/States/Failed/InputPath",
        SCHEMA,
        "not allowed in a Fail",
    ),
    (
        "Fail with Error and ErrorPath",
        state("Failed", {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        "/States/Failed",
        SCHEMA,
        '"Error" and "ErrorPath"',
    ),
    (
        "Fail Cause not a string",
        state("Failed", {"Type": "Fail", "Cause": 1}),
        "/States/Failed/Cause",
        SCHEMA,
        "must be a string",
    ),
    (
        "Fail CausePath bad intrinsic",
        state("Failed", {"Type": "Fail", "CausePath": "States.Nope($.x)"}),
        "/States/Failed/CausePath",
        SCHEMA,
        "unknown intrinsic",
    ),
    ("Comment not a string", train(Comment=3), "/States/Train/Comment", SCHEMA, "must be a string"),
    # -- Task ---------------------------------------------------------------------------------
    ("no Resource", train(Resource=None), "/States/Train", SCHEMA, '["Resource"]'),
    (
        "Resource empty",
        train(Resource=" "),
        "/States/Train/Resource",
        "INVALID_RESOURCE",
        "non-empty string",
    ),
    (
        "Resource object",
        train(Resource={"a": 1}),
        "/States/Train/Resource",
        "INVALID_RESOURCE",
        "an object",
    ),
    (
        "TimeoutSeconds zero",
        train(TimeoutSeconds=0),
        "/States/Train/TimeoutSeconds",
        SCHEMA,
        "at least 1",
    ),
    (
        "TimeoutSeconds float",
        train(TimeoutSeconds=1.5),
        "/States/Train/TimeoutSeconds",
        SCHEMA,
        "integer",
    ),
    (
        "TimeoutSeconds huge",
        train(TimeoutSeconds=100_000_000),
        "/States/Train/TimeoutSeconds",
        SCHEMA,
        "at most 99999999",
    ),
    (
        "Timeout and TimeoutPath",
        train(TimeoutSeconds=5, TimeoutSecondsPath="$.t"),
        "/States/Train",
        SCHEMA,
        '"TimeoutSeconds" and "TimeoutSecondsPath"',
    ),
    (
        "Heartbeat not below timeout",
        train(TimeoutSeconds=60, HeartbeatSeconds=60),
        "/States/Train/HeartbeatSeconds",
        SCHEMA,
        "less than TimeoutSeconds",
    ),
    (
        "HeartbeatSecondsPath bad",
        train(HeartbeatSecondsPath="$.a[*]"),
        "/States/Train/HeartbeatSecondsPath",
        SCHEMA,
        "reference path",
    ),
    (
        "Credentials not an object",
        train(Credentials="role"),
        "/States/Train/Credentials",
        SCHEMA,
        "must be an object",
    ),
    # -- Retry and Catch ----------------------------------------------------------------------
    ("Retry not an array", train(Retry={}), "/States/Train/Retry", SCHEMA, "array of retriers"),
    (
        "retrier not an object",
        train(Retry=[1]),
        "/States/Train/Retry/0",
        SCHEMA,
        "must be an object",
    ),
    (
        "no ErrorEquals",
        train(Retry=[{"MaxAttempts": 1}]),
        "/States/Train/Retry/0",
        SCHEMA,
        '["ErrorEquals"]',
    ),
    (
        "empty ErrorEquals",
        train(Retry=[{"ErrorEquals": []}]),
        "/States/Train/Retry/0/ErrorEquals",
        SCHEMA,
        "non-empty array",
    ),
    (
        "ErrorEquals number",
        train(Retry=[{"ErrorEquals": [1]}]),
        "/States/Train/Retry/0/ErrorEquals/0",
        SCHEMA,
        "must be a string",
    ),
    (
        "States.ALL not alone",
        train(Retry=[{"ErrorEquals": ["States.ALL", "X"]}]),
        "/States/Train/Retry/0/ErrorEquals",
        SCHEMA,
        "alone",
    ),
    (
        "States.ALL not last",
        train(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]),
        "/States/Train/Retry/0/ErrorEquals",
        SCHEMA,
        "must be the last",
    ),
    (
        "States.ALL not last in Catch",
        train(
            Catch=[
                {"ErrorEquals": ["States.ALL"], "Next": "Failed"},
                {"ErrorEquals": ["X"], "Next": "Failed"},
            ]
        ),
        "/States/Train/Catch/0/ErrorEquals",
        SCHEMA,
        "must be the last",
    ),
    (
        "MaxAttempts negative",
        train(Retry=[{"ErrorEquals": ["X"], "MaxAttempts": -1}]),
        "/States/Train/Retry/0/MaxAttempts",
        SCHEMA,
        '"MaxAttempts" must be at least 0',
    ),
    (
        "BackoffRate below 1",
        train(Retry=[{"ErrorEquals": ["X"], "BackoffRate": 0.5}]),
        "/States/Train/Retry/0/BackoffRate",
        SCHEMA,
        "at least 1.0",
    ),
    (
        "IntervalSeconds zero",
        train(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": 0}]),
        "/States/Train/Retry/0/IntervalSeconds",
        SCHEMA,
        "at least 1",
    ),
    (
        "MaxDelaySeconds zero",
        train(Retry=[{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}]),
        "/States/Train/Retry/0/MaxDelaySeconds",
        SCHEMA,
        "at least 1",
    ),
    (
        "MaxDelaySeconds below interval",
        train(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": 10, "MaxDelaySeconds": 5}]),
        "/States/Train/Retry/0/MaxDelaySeconds",
        SCHEMA,
        "not be less than IntervalSeconds",
    ),
    (
        "JitterStrategy bad",
        train(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]),
        "/States/Train/Retry/0/JitterStrategy",
        SCHEMA,
        '"FULL" or "NONE"',
    ),
    (
        "unknown retrier field",
        train(Retry=[{"ErrorEquals": ["X"], "Attempts": 1}]),
        "/States/Train/Retry/0/Attempts",
        SCHEMA,
        "not allowed in Retry",
    ),
    (
        "Catch without Next",
        train(Catch=[{"ErrorEquals": ["States.ALL"]}]),
        "/States/Train/Catch/0",
        SCHEMA,
        '["Next"]',
    ),
    (
        "Catch ResultPath filter",
        train(
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.a[?(@.b)]"}]
        ),
        "/States/Train/Catch/0/ResultPath",
        SCHEMA,
        "reference path",
    ),
    (
        "Catch Output in JSONPath",
        train(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Failed", "Output": {}}]),
        "/States/Train/Catch/0/Output",
        SCHEMA,
        "not supported for JSONPath",
    ),
    # -- Wait ---------------------------------------------------------------------------------
    (
        "Wait without duration",
        state("W", {"Type": "Wait", "End": True}),
        "/States/W",
        SCHEMA,
        "needs one of",
    ),
    (
        "Wait two durations",
        state("W", {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}),
        "/States/W",
        SCHEMA,
        "only one of Seconds, SecondsPath",
    ),
    (
        "Wait Seconds text",
        state("W", {"Type": "Wait", "Seconds": "10", "End": True}),
        "/States/W/Seconds",
        SCHEMA,
        "integer",
    ),
    (
        "Wait Seconds negative",
        state("W", {"Type": "Wait", "Seconds": -1, "End": True}),
        "/States/W/Seconds",
        SCHEMA,
        "at least 0",
    ),
    (
        "Wait Timestamp bad",
        state("W", {"Type": "Wait", "Timestamp": "2026-03-14 01:59:00", "End": True}),
        "/States/W/Timestamp",
        SCHEMA,
        "RFC 3339",
    ),
    (
        "Wait TimestampPath bad",
        state("W", {"Type": "Wait", "TimestampPath": "ts", "End": True}),
        "/States/W/TimestampPath",
        SCHEMA,
        "starts with '$'",
    ),
    # -- Choice -------------------------------------------------------------------------------
    (
        "no Choices",
        state("Check", {"Type": "Choice", "Default": "Done"}),
        "/States/Check",
        SCHEMA,
        '["Choices"]',
    ),
    (
        "empty Choices",
        state("Check", {"Type": "Choice", "Choices": [], "Default": "Done"}),
        "/States/Check/Choices",
        SCHEMA,
        "non-empty",
    ),
    (
        "rule without operator",
        choice({"Variable": "$.a", "Next": "Done"}),
        "/States/Check/Choices/0",
        SCHEMA,
        "exactly one comparison operator",
    ),
    (
        "rule with two operators",
        choice({"Variable": "$.a", "IsNull": True, "IsPresent": True, "Next": "Done"}),
        "/States/Check/Choices/0",
        SCHEMA,
        "exactly one operator, got IsNull, IsPresent",
    ),
    (
        "rule without Variable",
        choice({"StringEquals": "a", "Next": "Done"}),
        "/States/Check/Choices/0",
        SCHEMA,
        '["Variable"]',
    ),
    (
        "rule without Next",
        choice({"Variable": "$.a", "IsNull": True}),
        "/States/Check/Choices/0",
        SCHEMA,
        '["Next"]',
    ),
    (
        "nested rule with Next",
        choice({"Not": {"Variable": "$.a", "IsNull": True, "Next": "Done"}, "Next": "Done"}),
        "/States/Check/Choices/0/Not/Next",
        SCHEMA,
        "cannot have Next",
    ),
    (
        "And empty",
        choice({"And": [], "Next": "Done"}),
        "/States/Check/Choices/0/And",
        SCHEMA,
        "non-empty array",
    ),
    (
        "Not an array",
        choice({"Not": [], "Next": "Done"}),
        "/States/Check/Choices/0/Not",
        SCHEMA,
        "one Choice rule",
    ),
    (
        "boolean rule with Variable",
        choice({"Variable": "$.a", "Or": [{"Variable": "$.a", "IsNull": True}], "Next": "Done"}),
        "/States/Check/Choices/0/Variable",
        SCHEMA,
        "cannot have a Variable",
    ),
    (
        "nested operand type",
        choice({"Or": [{"Variable": "$.a", "NumericEquals": "1"}], "Next": "Done"}),
        "/States/Check/Choices/0/Or/0/NumericEquals",
        SCHEMA,
        "must be a number",
    ),
    (
        "StringEquals number",
        choice({"Variable": "$.a", "StringEquals": 1, "Next": "Done"}),
        "/States/Check/Choices/0/StringEquals",
        SCHEMA,
        "must be a string",
    ),
    (
        "BooleanEquals text",
        choice({"Variable": "$.a", "BooleanEquals": "true", "Next": "Done"}),
        "/States/Check/Choices/0/BooleanEquals",
        SCHEMA,
        "must be a boolean",
    ),
    (
        "TimestampEquals bad",
        choice({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "Done"}),
        "/States/Check/Choices/0/TimestampEquals",
        SCHEMA,
        "RFC 3339",
    ),
    (
        "IsPresent text",
        choice({"Variable": "$.a", "IsPresent": "yes", "Next": "Done"}),
        "/States/Check/Choices/0/IsPresent",
        SCHEMA,
        "must be a boolean",
    ),
    (
        "Path operand not a path",
        choice({"Variable": "$.a", "NumericEqualsPath": "b", "Next": "Done"}),
        "/States/Check/Choices/0/NumericEqualsPath",
        SCHEMA,
        "starts with '$'",
    ),
    (
        "Variable not a path",
        choice({"Variable": "a", "IsNull": True, "Next": "Done"}),
        "/States/Check/Choices/0/Variable",
        SCHEMA,
        "starts with '$'",
    ),
    (
        "Variable wildcard",
        choice({"Variable": "$.a[*]", "IsNull": True, "Next": "Done"}),
        "/States/Check/Choices/0/Variable",
        SCHEMA,
        "reference path",
    ),
    (
        "StringMatches bad escape",
        choice({"Variable": "$.a", "StringMatches": "a\\b", "Next": "Done"}),
        "/States/Check/Choices/0/StringMatches",
        SCHEMA,
        "backslash",
    ),
    (
        "unknown rule field",
        choice({"Variable": "$.a", "IsNull": True, "Next": "Done", "Output": 1}),
        "/States/Check/Choices/0/Output",
        SCHEMA,
        "not allowed in a Choice rule",
    ),
    # -- Map and Parallel ---------------------------------------------------------------------
    (
        "Map without processor",
        with_map(ItemProcessor=None),
        "/States/M",
        SCHEMA,
        '["ItemProcessor"]',
    ),
    (
        "Map with Iterator and ItemProcessor",
        with_map(Iterator={"StartAt": "I2", "States": {"I2": {"Type": "Succeed"}}}),
        "/States/M",
        SCHEMA,
        "not both",
    ),
    (
        "Map Parameters and ItemSelector",
        with_map(Parameters={}, ItemSelector={}),
        "/States/M",
        SCHEMA,
        '"ItemSelector" or "Parameters"',
    ),
    (
        "nested state broken",
        with_map(
            ItemProcessor={
                "StartAt": "X",
                "States": {"X": {"Type": "Pass", "Retry": [], "End": True}},
            }
        ),
        "/States/M/ItemProcessor/States/X/Retry",
        SCHEMA,
        "not allowed in a Pass state",
    ),
    (
        "nested StartAt unknown",
        with_map(ItemProcessor={"StartAt": "Y", "States": {"X": {"Type": "Succeed"}}}),
        "/States/M/ItemProcessor/StartAt",
        TARGET,
        "Y",
    ),
    (
        "nested Next into the parent",
        with_map(ItemProcessor={"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Done"}}}),
        "/States/M/ItemProcessor/States/X/Next",
        TARGET,
        "Done",
    ),
    (
        "ProcessorConfig Mode",
        with_map(
            ItemProcessor={
                "ProcessorConfig": {"Mode": "FAST"},
                "StartAt": "I",
                "States": {"I": {"Type": "Succeed"}},
            }
        ),
        "/States/M/ItemProcessor/ProcessorConfig/Mode",
        SCHEMA,
        "INLINE",
    ),
    (
        "DISTRIBUTED without ExecutionType",
        with_map(
            ItemProcessor={
                "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "I",
                "States": {"I": {"Type": "Succeed"}},
            }
        ),
        "/States/M/ItemProcessor/ProcessorConfig",
        SCHEMA,
        "ExecutionType",
    ),
    (
        "processor unknown field",
        with_map(ItemProcessor={"StartAt": "I", "States": {"I": {"Type": "Succeed"}}, "Extra": 1}),
        "/States/M/ItemProcessor/Extra",
        SCHEMA,
        "not allowed",
    ),
    (
        "ItemsPath filter",
        with_map(ItemsPath="$.items[?(@.ok)]"),
        "/States/M/ItemsPath",
        SCHEMA,
        "reference path",
    ),
    (
        "MaxConcurrency negative",
        with_map(MaxConcurrency=-1),
        "/States/M/MaxConcurrency",
        SCHEMA,
        "at least 0",
    ),
    (
        "MaxConcurrency and Path",
        with_map(MaxConcurrency=1, MaxConcurrencyPath="$.c"),
        "/States/M",
        SCHEMA,
        '"MaxConcurrency" and "MaxConcurrencyPath"',
    ),
    (
        "tolerated percentage over 100",
        with_map(ToleratedFailurePercentage=101),
        "/States/M/ToleratedFailurePercentage",
        SCHEMA,
        "at most 100",
    ),
    (
        "tolerated count negative",
        with_map(ToleratedFailureCount=-2),
        "/States/M/ToleratedFailureCount",
        SCHEMA,
        "at least 0",
    ),
    (
        "ItemBatcher empty",
        with_map(ItemBatcher={}),
        "/States/M/ItemBatcher",
        SCHEMA,
        "MaxItemsPerBatch or MaxInputBytesPerBatch",
    ),
    (
        "ItemBatcher bytes too big",
        with_map(ItemBatcher={"MaxInputBytesPerBatch": 262_145}),
        "/States/M/ItemBatcher/MaxInputBytesPerBatch",
        SCHEMA,
        "at most 262144",
    ),
    (
        "ItemBatcher zero items",
        with_map(ItemBatcher={"MaxItemsPerBatch": 0}),
        "/States/M/ItemBatcher/MaxItemsPerBatch",
        SCHEMA,
        "at least 1",
    ),
    (
        "ItemBatcher unknown field",
        with_map(ItemBatcher={"MaxItemsPerBatch": 1, "Size": 2}),
        "/States/M/ItemBatcher/Size",
        SCHEMA,
        "not allowed in ItemBatcher",
    ),
    (
        "ItemReader without Resource",
        with_map(ItemReader={"Parameters": {}}),
        "/States/M/ItemReader/Resource",
        SCHEMA,
        "Resource",
    ),
    ("Label with space", with_map(Label="my label"), "/States/M/Label", SCHEMA, "must not contain"),
    ("Label too long", with_map(Label="L" * 41), "/States/M/Label", SCHEMA, "at most 40"),
    (
        "Parallel without Branches",
        state("P", {"Type": "Parallel", "End": True}),
        "/States/P",
        SCHEMA,
        '["Branches"]',
    ),
    (
        "Parallel empty Branches",
        state("P", {"Type": "Parallel", "End": True, "Branches": []}),
        "/States/P/Branches",
        SCHEMA,
        "non-empty",
    ),
    (
        "branch not an object",
        state("P", {"Type": "Parallel", "End": True, "Branches": [1]}),
        "/States/P/Branches/0",
        SCHEMA,
        "must be an object",
    ),
    (
        "branch missing StartAt",
        state(
            "P",
            {"Type": "Parallel", "End": True, "Branches": [{"States": {"B": {"Type": "Succeed"}}}]},
        ),
        "/States/P/Branches/0",
        SCHEMA,
        '["StartAt"]',
    ),
    (
        "branch unreachable state",
        state(
            "P",
            {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Succeed"}, "B2": {"Type": "Succeed"}},
                    }
                ],
            },
        ),
        "/States/P/Branches/0/States/B2",
        SCHEMA,
        "not reachable",
    ),
    # -- paths and payload templates ----------------------------------------------------------
    (
        "InputPath not a path",
        train(InputPath="input"),
        "/States/Train/InputPath",
        SCHEMA,
        "starts with '$'",
    ),
    (
        "InputPath intrinsic",
        train(InputPath="States.Array($.a)"),
        "/States/Train/InputPath",
        SCHEMA,
        "starts with '$'",
    ),
    (
        "OutputPath broken bracket",
        train(OutputPath="$.a[0"),
        "/States/Train/OutputPath",
        SCHEMA,
        "not a valid JSONPath",
    ),
    (
        "ResultPath wildcard",
        train(ResultPath="$.a.*"),
        "/States/Train/ResultPath",
        SCHEMA,
        "reference path",
    ),
    (
        "ResultPath context",
        train(ResultPath="$$.Execution"),
        "/States/Train/ResultPath",
        SCHEMA,
        "must start with '$'",
    ),
    (
        "Parameters .$ not a path",
        train(Parameters={"a.$": "x"}),
        "/States/Train/Parameters/a.$",
        SCHEMA,
        "starts with '$'",
    ),
    (
        "Parameters .$ number",
        train(Parameters={"a.$": 1}),
        "/States/Train/Parameters/a.$",
        SCHEMA,
        "must be a JSONPath or an intrinsic",
    ),
    (
        "Parameters intrinsic arity",
        train(Parameters={"n": {"a.$": "States.ArrayLength()"}}),
        "/States/Train/Parameters/n/a.$",
        SCHEMA,
        "takes 1 argument",
    ),
    (
        "Parameters intrinsic syntax",
        train(Parameters={"a": [{"b.$": "States.Format('x', "}]}),
        "/States/Train/Parameters/a/0/b.$",
        SCHEMA,
        "column",
    ),
    (
        "ResultSelector bad path",
        train(ResultSelector={"a.$": "$.."}),
        "/States/Train/ResultSelector/a.$",
        SCHEMA,
        "not a valid JSONPath",
    ),
    (
        "ItemSelector bad path",
        with_map(ItemSelector={"v.$": "$$.Map.Item.Value["}),
        "/States/M/ItemSelector/v.$",
        SCHEMA,
        "not a valid JSONPath",
    ),
    # -- Assign -------------------------------------------------------------------------------
    (
        "Assign not an object",
        train(Assign=[1]),
        "/States/Train/Assign",
        SCHEMA,
        "object of variables",
    ),
    (
        "Assign bad name",
        train(Assign={"1x": 1}),
        "/States/Train/Assign/1x",
        SCHEMA,
        "not a valid variable name",
    ),
    (
        "Assign reserved name",
        train(Assign={"states": 1}),
        "/States/Train/Assign/states",
        SCHEMA,
        "reserved",
    ),
    (
        "Assign long name",
        train(Assign={"v" * 81: 1}),
        "/States/Train/Assign/" + "v" * 81,
        SCHEMA,
        "longer than 80",
    ),
    (
        "Assign .$ bad path",
        train(Assign={"x.$": "$.a b"}),
        "/States/Train/Assign/x.$",
        SCHEMA,
        "not a valid JSONPath",
    ),
    (
        "Catch Assign bad name",
        train(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Failed", "Assign": {"a-b": 1}}]),
        "/States/Train/Catch/0/Assign/a-b",
        SCHEMA,
        "variable name",
    ),
    # -- query languages ----------------------------------------------------------------------
    (
        "unknown QueryLanguage",
        machine(QueryLanguage="XPath"),
        "/QueryLanguage",
        SCHEMA,
        '"JSONPath" or "JSONata"',
    ),
    (
        "unknown state QueryLanguage",
        train(QueryLanguage="jsonata"),
        "/States/Train/QueryLanguage",
        SCHEMA,
        '"JSONPath" or "JSONata"',
    ),
    (
        "JSONPath state in a JSONata machine",
        jsonata("P", {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}),
        "/States/P/QueryLanguage",
        SCHEMA,
        "cannot use JSONPath",
    ),
    (
        "JSONata state with InputPath",
        jsonata("P", {"Type": "Pass", "InputPath": "$", "End": True}),
        "/States/P/InputPath",
        SCHEMA,
        "not supported for JSONata states",
    ),
    (
        "JSONata state with Parameters",
        jsonata("P", {"Type": "Pass", "Parameters": {}, "End": True}),
        "/States/P/Parameters",
        SCHEMA,
        "use Arguments and Output",
    ),
    (
        "JSONata state with ResultSelector",
        jsonata("T", {"Type": "Task", "Resource": SM, "ResultSelector": {}, "End": True}),
        "/States/T/ResultSelector",
        SCHEMA,
        "not supported",
    ),
    (
        "JSONata state with ResultPath",
        jsonata("T", {"Type": "Task", "Resource": SM, "ResultPath": "$.r", "End": True}),
        "/States/T/ResultPath",
        SCHEMA,
        "not supported",
    ),
    (
        "JSONPath state with Arguments",
        state("T", {"Type": "Task", "Resource": SM, "Arguments": {}, "End": True}),
        "/States/T/Arguments",
        SCHEMA,
        '"QueryLanguage": "JSONata"',
    ),
    (
        "JSONPath state with Output",
        state("P", {"Type": "Pass", "Output": {}, "End": True}),
        "/States/P/Output",
        SCHEMA,
        "not supported for JSONPath",
    ),
    (
        "JSONata Map with ItemsPath",
        jsonata(
            "M",
            {
                "Type": "Map",
                "ItemsPath": "$.a",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "End": True,
            },
        ),
        "/States/M/ItemsPath",
        SCHEMA,
        "not supported",
    ),
    (
        "JSONata Catch with ResultPath",
        jsonata(
            "T",
            {
                "Type": "Task",
                "Resource": SM,
                "End": True,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.e"}],
            },
        ),
        "/States/T/Catch/0/ResultPath",
        SCHEMA,
        "not supported for JSONata",
    ),
    (
        "JSONata expression syntax",
        jsonata(
            "T", {"Type": "Task", "Resource": SM, "Arguments": {"a": ["{% 1 + %}"]}, "End": True}
        ),
        "/States/T/Arguments/a/0",
        SCHEMA,
        "is not valid",
    ),
    (
        "JSONata empty expression",
        jsonata("P", {"Type": "Pass", "Output": "{%  %}", "End": True}),
        "/States/P/Output",
        SCHEMA,
        "empty",
    ),
    (
        "JSONata Choice rule with Variable",
        jsonata(
            "Check",
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "Done"}]},
        ),
        "/States/Check/Choices/0/Variable",
        SCHEMA,
        "Condition",
    ),
    (
        "JSONata Choice without Condition",
        jsonata("Check", {"Type": "Choice", "Choices": [{"Next": "Done"}]}),
        "/States/Check/Choices/0",
        SCHEMA,
        '["Condition"]',
    ),
    (
        "JSONata Condition text",
        jsonata("Check", {"Type": "Choice", "Choices": [{"Condition": "yes", "Next": "Done"}]}),
        "/States/Check/Choices/0/Condition",
        SCHEMA,
        "JSONata expression",
    ),
    (
        "JSONata Items not a list",
        jsonata(
            "M",
            {
                "Type": "Map",
                "Items": "$.a",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "End": True,
            },
        ),
        "/States/M/Items",
        SCHEMA,
        "array or a JSONata",
    ),
    (
        "JSONata TimeoutSeconds text",
        jsonata("T", {"Type": "Task", "Resource": SM, "TimeoutSeconds": "10", "End": True}),
        "/States/T/TimeoutSeconds",
        SCHEMA,
        "integer",
    ),
]


@pytest.mark.parametrize(
    ("definition", "path", "code", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_invalid_definitions(definition: dict[str, Any], path: str, code: str, words: str) -> None:
    problems = validate(definition)
    found = [p for p in problems if p.path == path and p.code == code]
    assert found, f"no {code} at {path}; got {[str(p) for p in problems]}"
    assert any(words in p.message for p in found), [p.message for p in found]
    assert all(p.severity == "ERROR" for p in found)


def test_the_base_pipeline_is_valid() -> None:
    # Every case above breaks one thing in it; the rest stays valid.
    assert validate(base()) == []
    assert validate(with_map()) == []
    assert validate(jsonata("P", {"Type": "Pass", "Output": "{% 1 %}", "End": True})) == []


@pytest.mark.parametrize(
    ("definition", "path", "code"),
    [
        (train(Parameters={"Name": "$.name"}), "/States/Train/Parameters/Name", "NO_DOLLAR"),
        (train(Parameters={"Id": "States.UUID()"}), "/States/Train/Parameters/Id", "NO_DOLLAR"),
        (
            state("P", {"Type": "Pass", "Result": {"a.$": "$.x"}, "End": True}),
            "/States/P/Result/a.$",
            "PASS_RESULT_IS_STATIC",
        ),
        (state("F", {"Type": "Fail", "Error": "$.error"}), "/States/F/Error", "NO_PATH"),
        (
            state("F", {"Type": "Fail", "Error": "E", "Cause": "$.why"}),
            "/States/F/Cause",
            "NO_PATH",
        ),
    ],
)
def test_warnings_do_not_refuse(definition: dict[str, Any], path: str, code: str) -> None:
    problems = validate(definition)
    assert [(p.path, p.code, p.severity) for p in problems] == [(path, code, "WARNING")]


def test_a_path_in_a_field_that_takes_a_value_names_the_path_field() -> None:
    """``"Seconds": "$.wait"`` is refused (not a number), naming SecondsPath, which reads it;
    ``"Error": "$.error"`` is legal (the text as written) and warned about: ErrorPath reads it."""
    problems = validate(state("W", {"Type": "Wait", "Seconds": "$.wait", "End": True}))
    assert [(p.code, p.severity) for p in problems] == [("SCHEMA_VALIDATION_FAILED", "ERROR")]
    assert problems[0].message.endswith('to read it from the input, name the field "SecondsPath"')
    problems = validate(state("F", {"Type": "Fail", "Error": "$.error"}))
    assert [(p.code, p.severity) for p in problems] == [("NO_PATH", "WARNING")]
    assert '"ErrorPath"' in problems[0].message


def test_every_problem_is_reported_once_errors_first() -> None:
    definition = train(Retry=[{"ErrorEquals": [], "MaxAttempts": -1}], Parameters={"a": "$.x"})
    problems = validate(definition)
    assert [p.severity for p in problems] == ["ERROR", "ERROR", "WARNING"]
    assert len(set(problems)) == len(problems)


def test_the_definition_is_not_changed() -> None:
    definition = with_map(ItemBatcher={})
    before = copy.deepcopy(definition)
    validate(definition)
    assert definition == before


def test_not_an_object() -> None:
    problems = validate([])  # type: ignore[arg-type]
    assert [(p.code, p.path) for p in problems] == [(SCHEMA, "")]


def test_rules_are_small_and_named_once() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert {r.scope for r in RULES} == {"definition", "machine", "state"}
    assert len(RULES) >= 30


WARNED = [
    train(Parameters={"Name": "$.name"}),
    state("P", {"Type": "Pass", "Result": {"a.$": "$.x"}, "End": True}),
    state("F", {"Type": "Fail", "Error": "$.error"}),
]


def test_every_rule_has_a_case_in_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    # A rule added without a definition that breaks it fails here.
    fired: set[str] = set()

    def watched(rule: Rule) -> Rule:
        def check(subject: Any) -> list[Any]:
            found = list(rule.check(subject))
            if found:
                fired.add(rule.name)
            return found

        return Rule(rule.name, rule.scope, check)

    monkeypatch.setattr("dockyard.asl.validation._validate.RULES", [watched(r) for r in RULES])
    for case in CASES:
        validate(case[1])
    for definition in WARNED:
        validate(definition)
    assert sorted(r.name for r in RULES if r.name not in fired) == []
