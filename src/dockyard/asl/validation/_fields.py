"""Rules on the fields of each state type: which are allowed in each query language, which
are required, Next versus End, and the values of Task, Wait and Fail fields."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.asl.jsonata import is_jsonata
from dockyard.asl.validation._model import JSONATA, JSONPATH, State, error, rule, warning
from dockyard.asl.validation._problems import INVALID_RESOURCE, PASS_RESULT_IS_STATIC, Problem
from dockyard.asl.validation._syntax import (
    path_or_intrinsic_problem,
    path_problem,
    timestamp_problem,
)
from dockyard.asl.validation._values import describe, integer_problem, string_problem

_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End", "Assign"}
_IO = {"InputPath", "OutputPath"}
_RESULT = {"ResultPath", "Parameters", "ResultSelector"}
_ERRORS = {"Retry", "Catch"}

# type -> (fields in both languages, JSONPath-only fields, JSONata-only fields)
FIELDS: dict[str, tuple[set[str], set[str], set[str]]] = {
    "Pass": (_FLOW, _IO | {"ResultPath", "Parameters", "Result"}, {"Output"}),
    "Task": (
        _FLOW | _ERRORS | {"Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
        _IO | _RESULT | {"TimeoutSecondsPath", "HeartbeatSecondsPath"},
        {"Arguments", "Output"},
    ),
    "Choice": ({"Choices", "Default", "Assign"}, _IO, {"Output"}),
    "Wait": (
        _FLOW | {"Seconds", "Timestamp"},
        _IO | {"SecondsPath", "TimestampPath"},
        {"Output"},
    ),
    "Succeed": (set(), _IO, {"Output"}),
    "Fail": ({"Error", "Cause"}, {"ErrorPath", "CausePath"}, set()),
    "Parallel": (_FLOW | _ERRORS | {"Branches"}, _IO | _RESULT, {"Arguments", "Output"}),
    "Map": (
        _FLOW
        | _ERRORS
        | {
            "ItemProcessor",
            "Iterator",
            "ItemReader",
            "ItemSelector",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "Label",
        },
        _IO
        | _RESULT
        | {
            "ItemsPath",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCountPath",
        },
        {"Items", "Output"},
    ),
}


@rule("state", "allowed-fields")
def allowed_fields(state: State) -> Iterator[Problem]:
    if state.type not in FIELDS:
        return
    both, jsonpath, jsonata = FIELDS[state.type]
    own, other = (jsonata, jsonpath) if state.language == JSONATA else (jsonpath, jsonata)
    for field in state.body:
        if field in _COMMON or field in both or field in own:
            continue
        if field in other:
            yield error(
                state.at(field),
                f'The field "{field}" is not supported for {state.language} states'
                + (
                    ": use Arguments and Output"
                    if state.language == JSONATA
                    else ': set "QueryLanguage": "JSONata" to use it'
                ),
            )
        else:
            yield error(
                state.at(field), f'The field "{field}" is not allowed in a {state.type} state'
            )


@rule("state", "next-or-end")
def next_or_end(state: State) -> Iterator[Problem]:
    body = state.body
    if "Next" in body and (problem := string_problem(body["Next"], empty=False)):
        yield error(state.at("Next"), problem)
    if "End" in body and not isinstance(body["End"], bool):
        yield error(state.at("End"), f"must be a boolean, got {describe(body['End'])}")
    if state.type in ("Choice", "Succeed", "Fail") or state.type not in FIELDS:
        return  # allowed-fields refuses Next and End on these
    ends = body.get("End") is True
    if ends and "Next" in body:
        yield error(state.path, 'A state cannot have both "Next" and "End": true')
    elif not ends and "Next" not in body:
        yield error(state.path, 'These fields are required: ["Next"] (or "End": true)')


@rule("state", "comment")
def comment(state: State) -> Iterator[Problem]:
    if "Comment" in state.body and (problem := string_problem(state.body["Comment"])):
        yield error(state.at("Comment"), problem)


@rule("state", "task-resource")
def task_resource(state: State) -> Iterator[Problem]:
    # Any ARN or Dockyard resource is accepted here; the engine knows which it can run.
    if state.type != "Task":
        return
    if "Resource" not in state.body:
        yield error(state.path, 'These fields are required: ["Resource"]')
        return
    resource = state.body["Resource"]
    if not isinstance(resource, str) or not resource.strip():
        yield error(
            state.at("Resource"),
            f"The Resource must be a non-empty string, got {describe(resource)}",
            INVALID_RESOURCE,
        )
    if "Credentials" in state.body and not isinstance(state.body["Credentials"], dict):
        yield error(state.at("Credentials"), "must be an object")


@rule("state", "task-timeouts")
def task_timeouts(state: State) -> Iterator[Problem]:
    if state.type != "Task":
        return
    body = state.body
    jsonata = state.language == JSONATA
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        path_field = f"{field}Path"
        if field in body and path_field in body:
            yield error(state.path, f'Only one of "{field}" and "{path_field}" may be given')
        if field in body and (problem := integer_problem(body[field], minimum=1, jsonata=jsonata)):
            yield error(state.at(field), problem)
        if path_field in body and (problem := path_problem(body[path_field], reference=True)):
            yield error(state.at(path_field), problem)
    timeout, heartbeat = body.get("TimeoutSeconds"), body.get("HeartbeatSeconds")
    if (
        isinstance(timeout, int)
        and isinstance(heartbeat, int)
        and not isinstance(timeout, bool)
        and not isinstance(heartbeat, bool)
        and heartbeat >= timeout
    ):
        yield error(
            state.at("HeartbeatSeconds"),
            f"HeartbeatSeconds ({heartbeat}) must be less than TimeoutSeconds ({timeout})",
        )


_WAITS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")


@rule("state", "wait-duration")
def wait_duration(state: State) -> Iterator[Problem]:
    if state.type != "Wait":
        return
    given = [field for field in _WAITS if field in state.body]
    if not given:
        choices = (
            '"Seconds" or "Timestamp"'
            if state.language == JSONATA
            else '"Seconds", "SecondsPath", "Timestamp" or "TimestampPath"'
        )
        yield error(state.path, f"A Wait state needs one of {choices}")
    elif len(given) > 1:
        yield error(state.path, f"A Wait state takes only one of {', '.join(given)}")
    jsonata = state.language == JSONATA
    body = state.body
    if "Seconds" in body and (problem := integer_problem(body["Seconds"], jsonata=jsonata)):
        yield error(state.at("Seconds"), problem)
    timestamp = body.get("Timestamp")
    if (
        "Timestamp" in body
        and not (jsonata and is_jsonata(timestamp))
        and (problem := timestamp_problem(timestamp))
    ):
        yield error(state.at("Timestamp"), problem)
    for field in ("SecondsPath", "TimestampPath"):
        if field in body and (problem := path_problem(body[field], reference=True)):
            yield error(state.at(field), problem)


@rule("state", "fail-error-cause")
def fail_error_cause(state: State) -> Iterator[Problem]:
    if state.type != "Fail":
        return
    for field in ("Error", "Cause"):
        path_field = f"{field}Path"
        if field in state.body and path_field in state.body:
            yield error(state.path, f'Only one of "{field}" and "{path_field}" may be given')
        if field in state.body and (problem := string_problem(state.body[field])):
            yield error(state.at(field), problem)
        # ErrorPath and CausePath take a path or an intrinsic function.
        if (
            path_field in state.body
            and state.language == JSONPATH
            and (problem := path_or_intrinsic_problem(state.body[path_field]))
        ):
            yield error(state.at(path_field), problem)


@rule("state", "pass-result-static")
def pass_result_static(state: State) -> Iterator[Problem]:
    if state.type != "Pass" or "Result" not in state.body:
        return
    pending: list[tuple[str, object]] = [(state.at("Result"), state.body["Result"])]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith(".$"):
                    yield warning(
                        f"{path}/{key}",
                        "Result is used as written: paths in it are not evaluated (use Parameters)",
                        PASS_RESULT_IS_STATIC,
                    )
                pending.append((f"{path}/{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{path}/{i}", item) for i, item in enumerate(value))
