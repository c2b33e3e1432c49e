"""``dockyard pipelines graph``: a state machine as Mermaid or DOT text."""

from __future__ import annotations

import pytest

from dockyard.client.cli._graph import (
    by_path,
    containers_of,
    render,
    rule_text,
    status_from_history,
)

DEFINITION = {
    "StartAt": "Train",
    "States": {
        "Train": {
            "Type": "Task",
            "Resource": "dockyard:train.sync",
            "Next": "Good",
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Alert"}],
        },
        "Good": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.rmse", "NumericLessThan": 3, "Next": "Fan"}],
            "Default": "Alert",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        },
        "Alert": {"Type": "Fail", "Error": "Weak"},
    },
}


def test_mermaid_shows_states_edges_rules_and_nesting() -> None:
    text = render(DEFINITION, status={"Train": "succeeded", "Fan/1/A": "running"})
    lines = text.splitlines()

    assert lines[0] == "flowchart TD"
    assert '  s0["Train (Task)"]' in lines
    assert "  style s0 fill:#bbf7d0" in lines
    assert '  s1{"Good (Choice)"}' in lines
    assert '  s5(["Alert (Fail)"])' in lines
    assert '  subgraph s2["Fan (Parallel)"]' in lines
    # the two branches' states share a name but not a node; the second one is running
    assert '  s3["A (Pass)"]' in lines and '  s4["A (Pass)"]' in lines
    assert "  style s4 fill:#bfdbfe" in lines
    assert '  s0 -.->|"catch States.TaskFailed"| s5' in lines
    assert '  s1 -->|"$.rmse < 3"| s2' in lines
    assert '  s1 -->|"otherwise"| s5' in lines
    assert lines[-1] == "  start --> s0"


def test_dot_is_a_digraph_with_clusters_for_nested_machines() -> None:
    text = render(DEFINITION, "dot", status={"Fan": "failed"})

    assert text.startswith("digraph pipeline {\n") and text.endswith("}\n")
    assert '  subgraph cluster_s2 { label="Fan\\n(Parallel)";' in text
    assert '  style=filled; fillcolor="#fecaca";' in text
    assert '  s1 [label="Good\\n(Choice)" shape=diamond];' in text
    assert '  s0 -> s5 [label="catch States.TaskFailed" style=dashed];' in text
    assert "  start -> s0;" in text


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ({"Variable": "$.a", "StringEquals": "x"}, '$.a == "x"'),
        ({"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b"}, "$.a >= $.b"),
        ({"Variable": "$.a", "StringMatches": "log-*"}, '$.a matches "log-*"'),
        ({"Variable": "$.a", "IsPresent": False}, "$.a not present"),
        ({"Not": {"Variable": "$.a", "BooleanEquals": True}}, "not ($.a == true)"),
        (
            {
                "And": [
                    {"Variable": "$.a", "IsNull": True},
                    {"Variable": "$.b", "NumericLessThan": 1},
                ]
            },
            "($.a null) and ($.b < 1)",
        ),
        ({"Condition": "{% $states.input.a > 1 %}"}, "{% $states.input.a > 1 %}"),
    ],
)
def test_choice_rules_read_as_a_few_words(rule: dict, text: str) -> None:
    assert rule_text(rule) == text


def test_status_from_history_marks_caught_failed_and_running_states() -> None:
    def entered(name: str) -> dict:
        return {"type": "TaskStateEntered", "details": {"stateEnteredEventDetails": {"name": name}}}

    def exited(name: str) -> dict:
        return {"type": "TaskStateExited", "details": {"stateExitedEventDetails": {"name": name}}}

    events = [
        entered("Train"),
        {"type": "TaskFailed", "details": {}},
        exited("Train"),
        entered("Alert"),
        exited("Alert"),
        entered("Deploy"),
    ]

    assert status_from_history(events, "RUNNING") == {
        "Train": "caught",
        "Alert": "succeeded",
        "Deploy": "running",
    }
    assert status_from_history(events, "FAILED")["Deploy"] == "failed"
    assert status_from_history(events, "ABORTED")["Deploy"] == "aborted"


def test_a_state_that_succeeded_after_a_redrive_is_not_caught() -> None:
    def event(kind: str, key: str = "", name: str = "") -> dict:
        return {"type": kind, "details": {key: {"name": name}} if key else {}}

    events = [
        event("ParallelStateEntered", "stateEnteredEventDetails", "Fan"),
        event("TaskStateEntered", "stateEnteredEventDetails", "Read"),
        event("TaskFailed"),
        event("ParallelStateFailed"),
        event("ExecutionFailed"),
        event("ExecutionRedriven"),
        event("TaskStateEntered", "stateEnteredEventDetails", "Read"),
        event("TaskStateExited", "stateExitedEventDetails", "Read"),
        event("ParallelStateExited", "stateExitedEventDetails", "Fan"),
    ]
    assert status_from_history(events, "SUCCEEDED") == {"Fan": "succeeded", "Read": "succeeded"}
    nested = by_path(DEFINITION, {"A": "running", "Train": "succeeded"})
    assert nested == {"Train": "succeeded", "Fan/0/A": "running", "Fan/1/A": "running"}


def test_a_state_whose_failure_was_caught_is_not_left_running() -> None:
    """As in Step Functions, a caught state is not exited: its failure is followed by its
    Catch's target entering (here a Task, then a Parallel whose branch ran a Fail state)."""

    def event(kind: str, key: str = "", name: str = "") -> dict:
        return {"type": kind, "details": {key: {"name": name}} if key else {}}

    events = [
        event("TaskStateEntered", "stateEnteredEventDetails", "Train"),
        event("TaskFailed"),
        event("PassStateEntered", "stateEnteredEventDetails", "Alert"),
        event("PassStateExited", "stateExitedEventDetails", "Alert"),
        event("ParallelStateEntered", "stateEnteredEventDetails", "Fan"),
        event("FailStateEntered", "stateEnteredEventDetails", "No"),
        event("ParallelStateFailed"),
        event("PassStateEntered", "stateEnteredEventDetails", "Handle"),
    ]
    caught = {"Train": "caught", "Alert": "succeeded", "Fan": "caught", "No": "caught"}
    assert status_from_history(events, "RUNNING") == {**caught, "Handle": "running"}
    done = [*events, event("PassStateExited", "stateExitedEventDetails", "Handle")]
    assert status_from_history(done, "SUCCEEDED") == {**caught, "Handle": "succeeded"}
    # a later failure of the execution leaves what was caught caught
    failed = [*events, event("ExecutionFailed")]
    assert status_from_history(failed, "FAILED") == {**caught, "Handle": "failed"}
    # a failure the execution did not go on from is the execution's
    unhandled = [*events[:2], event("ExecutionFailed")]
    assert status_from_history(unhandled, "FAILED") == {"Train": "failed"}


def test_a_parallel_whose_branch_fails_again_on_a_retry_is_failed_not_caught() -> None:
    def event(kind: str, key: str = "", name: str = "") -> dict:
        return {"type": kind, "details": {key: {"name": name}} if key else {}}

    inner = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": True}}}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [inner]}}}
    within = containers_of(definition)
    assert within == {"P": frozenset(), "T": frozenset({"P"})}
    attempt = [
        event("TaskStateEntered", "stateEnteredEventDetails", "T"),
        event("TaskFailed"),
        event("ParallelStateFailed"),
    ]
    events = [
        event("ParallelStateEntered", "stateEnteredEventDetails", "P"),
        *attempt,
        *attempt,  # P's Retry runs its branch again: T is entered inside P, not after it
        event("ExecutionFailed"),
    ]
    assert status_from_history(events, "FAILED", within) == {"P": "failed", "T": "failed"}
