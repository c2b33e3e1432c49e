"""Values that hold one part many times over: a state's data is measured before it is written.

A template may name ``$`` in many fields, a Map's iterations may all return one shared item, a
variable may be assigned an array of itself. Held, such a value costs one copy; written out,
each time. Each case here would have written tens of megabytes (or, grown further, gigabytes)
before the 256 KiB limit was checked; each now fails with the limit's error while memory stays
near the limit.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dockyard.asl import history
from dockyard.asl.errors import StatesError
from dockyard.asl.history import MAX_PAYLOAD_BYTES, checked_text
from tests.asl.shell import Run, chain, execute
from tests.asl.test_intrinsics import run as intrinsic

BIG = "a" * 100_000
#: What a case may allocate at its peak: a few payloads, far below what writing it out takes.
PEAK_BYTES = 8 * 1024 * 1024


@pytest.fixture
def peak() -> Iterator[Callable[[], int]]:
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_longer_than_counts_each_repeat_and_stops_past_the_limit() -> None:
    longer_than = history.longer_than
    assert not longer_than({"a": [1, "xy"], "b": None}, 100)
    assert longer_than("x" * 99, 100)  # with its quotes
    assert longer_than([BIG] * 3, 250_000)
    assert not longer_than([BIG] * 2, 250_000)
    shared: list[Any] = [BIG]
    for _ in range(60):  # 2**60 copies of BIG, written out
        shared = [shared, shared]
    assert longer_than(shared, MAX_PAYLOAD_BYTES)


def test_a_result_repeating_a_part_fails_without_being_written(peak: Callable[[], int]) -> None:
    with pytest.raises(StatesError) as caught:
        checked_text({"items": [BIG] * 500}, "Gather")
    assert caught.value.error == "States.DataLimitExceeded"
    assert "'Gather'" in (caught.value.cause or "")
    assert peak() < PEAK_BYTES


def test_a_template_naming_a_large_input_many_times(peak: Callable[[], int]) -> None:
    fields = {f"f{i}.$": "$.big" for i in range(500)}
    result = execute(chain(("Copy", {"Type": "Pass", "Parameters": fields})), {"big": BIG})
    assert result.step.error == "States.DataLimitExceeded"
    assert peak() < PEAK_BYTES


def test_a_map_whose_iterations_share_one_large_item(peak: Callable[[], int]) -> None:
    # Distributed: its iterations write no events, so what it holds is the items it gathers.
    items = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"b.$": "$.big"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Keep",
            "States": {"Keep": {"Type": "Pass", "End": True}},
        },
    }
    result = execute(chain(("Fan", items)), {"big": BIG, "items": [0] * 500})
    assert result.step.error == "States.DataLimitExceeded"
    assert "'Fan'" in (result.step.cause or "")
    assert peak() < PEAK_BYTES


def _doubling(query_language: str) -> Run:
    """A variable assigned an array of itself 22 times round a loop: 2**22 copies of "x"."""
    if query_language == "JSONata":
        grow = {"Type": "Pass", "Assign": {"v": "{% [$v, $v] %}", "i": "{% $i + 1 %}"}}
        again = {"Condition": "{% $i < 22 %}", "Next": "Grow"}
    else:
        grow = {
            "Type": "Pass",
            "Assign": {"v.$": "States.Array($v, $v)", "i.$": "States.MathAdd($i, 1)"},
        }
        again = {"Variable": "$i", "NumericLessThan": 22, "Next": "Grow"}
    definition = chain(
        ("Init", {"Type": "Pass", "Assign": {"v": "x", "i": 0}}),
        ("Grow", grow),
        ("Again", {"Type": "Choice", "Choices": [again], "Default": "Done"}),
        ("Done", {"Type": "Pass"}),
        QueryLanguage=query_language,
    )
    return execute(definition, {}, max_calls=10)


@pytest.mark.parametrize("query_language", ["JSONPath", "JSONata"])
def test_a_variable_cannot_grow_past_the_limit(
    query_language: str, peak: Callable[[], int]
) -> None:
    result = _doubling(query_language)
    assert result.step.error == "States.DataLimitExceeded"
    assert "the variable 'v'" in (result.step.cause or "")
    # It failed once past 256 KiB: 2**17 copies of "x" (and the arrays holding them).
    grown = [e for e in result.events if e.type == "PassStateExited"]
    assert 16 <= len(grown) <= 18
    if query_language == "JSONPath":  # JSONata's arrays are copies, not shared: they cost
        assert peak() < PEAK_BYTES


def test_a_catcher_assigning_too_much_fails_the_state() -> None:
    catcher = {
        "ErrorEquals": ["States.ALL"],
        "Assign": {f"v{i}.$": "$$.Execution.Input.big" for i in range(5)},
        "Next": "After",
    }
    failing = {"Type": "Fail", "Error": "Oops"}
    parallel = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "F", "States": {"F": {**failing}}}],
        "Catch": [catcher],
        "Next": "After",
    }
    result = execute(
        {
            "StartAt": "P",
            "States": {"P": parallel, "After": {"Type": "Pass", "End": True}},
        },
        {"big": BIG},
    )
    assert result.step.error == "States.DataLimitExceeded"
    assert "assigned variables larger together" in (result.step.cause or "")


def test_format_stops_once_its_text_passes_the_limit(peak: Callable[[], int]) -> None:
    template = "{}" * 500
    arguments = ", ".join(["$.big"] * 500)
    with pytest.raises(StatesError) as caught:
        intrinsic(f"States.Format('{template}', {arguments})", {"big": BIG})
    assert caught.value.error == "States.IntrinsicFailure"
    assert "States.Format" in (caught.value.cause or "")
    assert peak() < PEAK_BYTES
    # An object rendered by Format is bounded as it is written, too.
    with pytest.raises(StatesError):
        intrinsic("States.Format('{}', States.Array($, $, $, $, $))", {"big": BIG})


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        ("States.JsonToString(States.Array($, $, $, $, $))", "argument 1 (value)"),
        ("States.ArrayUnique(States.Array($, $, $, $, $))", "argument 1 (array)"),
        ("States.ArrayContains($.list, States.Array($, $, $, $, $))", "argument 2 (lookingFor)"),
    ],
)
def test_functions_that_write_or_compare_a_value_refuse_one_past_the_limit(
    call: str, argument: str, peak: Callable[[], int]
) -> None:
    with pytest.raises(StatesError) as caught:
        intrinsic(call, {"big": BIG, "list": [1]})
    assert caught.value.error == "States.IntrinsicFailure"
    assert argument in (caught.value.cause or "")
    assert peak() < PEAK_BYTES


def test_a_history_holds_at_most_its_bound_of_payload_text() -> None:
    # A loop of Pass states runs in one step: each turn writes four events with the 250 KB
    # input in them. 25,000 events of that would be 6 GB, held by that one step.
    definition = chain(
        ("Init", {"Type": "Pass", "Assign": {"i": 0}}),
        ("Turn", {"Type": "Pass", "Assign": {"i.$": "States.MathAdd($i, 1)"}}),
        (
            "Again",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$i", "NumericLessThan": 100, "Next": "Turn"}],
                "Default": "Done",
            },
        ),
        ("Done", {"Type": "Pass"}),
    )
    result = execute(definition, {"big": "a" * 250_000})
    assert (result.step.status, result.step.error) == ("FAILED", "States.Runtime")
    assert "maximum size of its payloads" in (result.step.cause or "")
    held = sum(len(history.json_text(event.details)) for event in result.events)
    assert history.MAX_HISTORY_BYTES - 1_000_000 < held <= history.MAX_HISTORY_BYTES + 1_000_000


def _sharing_map(selector: dict[str, Any] | None, processor_state: dict[str, Any]) -> Run:
    fan: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {**processor_state, "End": True}},
        },
        # Whatever the results held, the state's output would be small.
        "ResultSelector": {"n.$": "States.ArrayLength($)"},
    }
    if selector is not None:
        fan["ItemSelector"] = selector
    return execute(chain(("Fan", fan)), {"big": BIG, "items": [0] * 1000})


def test_a_map_holds_its_items_within_a_bound(peak: Callable[[], int]) -> None:
    # 1,000 items, each given the 100 KB part by the ItemSelector: 100 MB written out, held
    # by the execution's state and rewritten by each of its transitions.
    result = _sharing_map({"b.$": "$.big"}, {"Type": "Pass"})
    assert result.step.error == "States.DataLimitExceeded"
    assert "has items larger than" in (result.step.cause or "")
    assert peak() < PEAK_BYTES


def test_a_map_holds_its_results_within_a_bound(peak: Callable[[], int]) -> None:
    # Each iteration returns the 100 KB part of the execution's input: the results gathered
    # so far are held in the execution's state until the Map ends.
    result = _sharing_map(None, {"Type": "Pass", "Parameters": {"x.$": "$$.Execution.Input.big"}})
    assert result.step.error == "States.DataLimitExceeded"
    assert "gathered results larger than" in (result.step.cause or "")
    assert result.types[-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    assert peak() < PEAK_BYTES


def test_an_execution_whose_history_is_full_keeps_no_threads() -> None:
    import json

    from dockyard.asl import redrive
    from dockyard.errors import Conflict
    from tests.asl.shell import NOW

    # 1,000 branches, each holding the 100 KB input: the history fills up after a few hundred
    # of them; the failed execution's state, written with it, held every branch's input.
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
    fan = {"Type": "Parallel", "Branches": [branch] * 1000}
    result = execute(chain(("Fan", fan)), {"big": BIG})
    assert (result.step.status, result.step.error) == ("FAILED", "States.Runtime")
    assert len(json.dumps(result.step.state)) < 2_000_000
    with pytest.raises(Conflict):
        redrive(result.step.state, now=NOW)
