from __future__ import annotations

from typing import Any

from tests.asl.shell import Failure, chain, execute

ITERATE = {
    "StartAt": "Work",
    "States": {"Work": {"Type": "Task", "Resource": "dockyard:work", "End": True}},
}


def test_parallel_returns_branch_outputs_in_order() -> None:
    definition = chain(
        (
            "Both",
            {
                "Type": "Parallel",
                "Parameters": {"x.$": "$.x"},
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Pass", "InputPath": "$.x", "End": True}},
                    },
                ],
                "ResultPath": "$.both",
            },
        )
    )
    run = execute(definition, {"x": 5})
    assert run.step.output == {"x": 5, "both": ["a", 5]}
    assert run.types[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert run.types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]


def test_a_failing_branch_stops_the_others_and_fails_with_its_own_error() -> None:
    definition = chain(
        (
            "Both",
            {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Slow",
                        "States": {
                            "Slow": {"Type": "Task", "Resource": "dockyard:slow", "End": True}
                        },
                    },
                    {
                        "StartAt": "Bad",
                        "States": {"Bad": {"Type": "Fail", "Error": "Broke", "Cause": "why"}},
                    },
                ],
            },
        )
    )
    run = execute(definition, {}, lambda resource, payload: None)
    assert (run.step.status, run.step.error, run.step.cause) == ("FAILED", "Broke", "why")
    assert run.cancelled == ["Both/0/Slow#1"]
    assert "ParallelStateFailed" in run.types


def test_map_item_selector_sees_index_and_value() -> None:
    definition = chain(
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {
                    "i.$": "$$.Map.Item.Index",
                    "v.$": "$$.Map.Item.Value",
                    "tag.$": "$.tag",
                },
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            },
        )
    )
    run = execute(definition, {"items": ["a", "b"], "tag": "t"})
    assert run.step.output == [{"i": 0, "v": "a", "tag": "t"}, {"i": 1, "v": "b", "tag": "t"}]
    assert run.details("MapStateStarted") == [{"mapStateStartedEventDetails": {"length": 2}}]
    assert run.details("MapIterationStarted")[1] == {
        "mapIterationStartedEventDetails": {"name": "Each", "index": 1}
    }


def test_legacy_iterator_and_parameters() -> None:
    definition = chain(
        (
            "Each",
            {
                "Type": "Map",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "Iterator": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "OutputPath": "$.v", "End": True}},
                },
            },
        )
    )
    assert execute(definition, [3, 4]).step.output == [3, 4]


def test_max_concurrency_limits_running_iterations() -> None:
    definition = chain(("Each", {"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": ITERATE}))
    from dockyard.asl import TaskSucceeded, advance, start
    from tests.asl.shell import CONTEXT, NOW

    step = start(definition, [1, 2, 3, 4, 5], context=CONTEXT, now=NOW)
    assert [effect.task_id for effect in step.effects] == ["Each/0/Work#1", "Each/1/Work#2"]  # type: ignore[union-attr]
    step = advance(step.state, [TaskSucceeded("Each/1/Work#2", 20)], now=NOW)
    assert [effect.task_id for effect in step.effects] == ["Each/2/Work#3"]  # type: ignore[union-attr]


def test_a_map_without_max_concurrency_runs_a_bounded_number_at_once() -> None:
    # Every running iteration is a thread in the snapshot each transition rewrites: a Map of
    # 10,000 items all running made each of its 10,000 transitions rewrite 3 MB.
    from dockyard.asl import TaskSucceeded, advance, start
    from tests.asl.shell import CONTEXT, NOW

    for mode, bound in (("INLINE", 40), ("DISTRIBUTED", 1000)):
        processor = {**ITERATE, "ProcessorConfig": {"Mode": mode, "ExecutionType": "STANDARD"}}
        definition = chain(("Each", {"Type": "Map", "ItemProcessor": processor}))
        step = start(definition, list(range(bound + 5)), context=CONTEXT, now=NOW)
        started = [effect.task_id for effect in step.effects]  # type: ignore[union-attr]
        assert len(started) == bound, mode
        step = advance(step.state, [TaskSucceeded(started[0], 0)], now=NOW)
        assert [effect.task_id.split("/")[1] for effect in step.effects] == [str(bound)]  # type: ignore[union-attr]


def test_map_results_keep_item_order_whatever_the_completion_order() -> None:
    definition = chain(("Each", {"Type": "Map", "ItemProcessor": ITERATE}))
    from dockyard.asl import TaskSucceeded, advance, start
    from tests.asl.shell import CONTEXT, NOW

    step = start(definition, ["a", "b", "c"], context=CONTEXT, now=NOW)
    ids = [effect.task_id for effect in step.effects]  # type: ignore[union-attr]
    step = advance(step.state, [TaskSucceeded(ids[2], "C"), TaskSucceeded(ids[0], "A")], now=NOW)
    assert step.status == "RUNNING"
    step = advance(step.state, [TaskSucceeded(ids[1], "B")], now=NOW)
    assert step.output == ["A", "B", "C"]


def test_item_batcher_groups_items_with_batch_input() -> None:
    definition = chain(
        (
            "Each",
            {
                "Type": "Map",
                "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}},
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            },
        )
    )
    run = execute(definition, {"items": [1, 2, 3], "run": "r"})
    assert run.step.output == [
        {"BatchInput": {"run": "r"}, "Items": [1, 2]},
        {"BatchInput": {"run": "r"}, "Items": [3]},
    ]


def odd_fails(resource: str, payload: Any) -> Any:
    if payload % 2:
        raise Failure("Odd", str(payload))
    return payload


def test_tolerated_failures_keep_the_map_going() -> None:
    definition = chain(
        ("Each", {"Type": "Map", "ToleratedFailureCount": 2, "ItemProcessor": ITERATE})
    )
    run = execute(definition, [0, 1, 2, 3], odd_fails)
    assert run.step.output == [0, {"Error": "Odd", "Cause": "1"}, 2, {"Error": "Odd", "Cause": "3"}]


def test_failures_past_the_tolerance_fail_the_map() -> None:
    definition = chain(
        ("Each", {"Type": "Map", "ToleratedFailurePercentage": 20, "ItemProcessor": ITERATE})
    )
    run = execute(definition, [0, 1, 2, 3], odd_fails)
    assert run.step.error == "States.ExceedToleratedFailureThreshold"


def test_without_tolerance_the_first_failure_fails_the_map_with_its_error() -> None:
    definition = chain(("Each", {"Type": "Map", "ItemProcessor": ITERATE}))
    run = execute(definition, [0, 1, 2], odd_fails)
    assert (run.step.error, run.step.cause) == ("Odd", "1")
    assert "MapIterationFailed" in run.types and "MapStateFailed" in run.types


def test_a_caught_map_failure_goes_to_the_handler() -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": ITERATE,
                "Catch": [{"ErrorEquals": ["Odd"], "ResultPath": "$.err", "Next": "Handled"}],
                "ResultPath": "$.out",
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    run = execute(definition, {"items": [0, 1]}, odd_fails)
    assert run.step.output == {"items": [0, 1], "err": {"Error": "Odd", "Cause": "1"}}
    assert run.step.state["threads"] == {}


def test_distributed_map_runs_items_without_per_item_events() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    run = execute(chain(("Each", {"Type": "Map", "ItemProcessor": processor})), list(range(10_000)))
    assert run.step.output == list(range(10_000))
    assert run.types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


def test_an_inline_map_past_the_history_limit_fails_the_execution() -> None:
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    run = execute(chain(("Each", {"Type": "Map", "ItemProcessor": processor})), list(range(10_000)))
    assert run.step.status == "FAILED"
    assert len(run.events) == 25_000
    assert run.types[-1] == "ExecutionFailed"


def test_a_retried_map_runs_all_its_iterations_again() -> None:
    calls: list[Any] = []

    def flaky(resource: str, payload: Any) -> Any:
        calls.append(payload)
        if len(calls) == 2:
            raise Failure("Flaky")
        return payload

    definition = chain(
        (
            "Each",
            {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": ITERATE,
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2}],
            },
        )
    )
    run = execute(definition, [1, 2], flaky)
    assert run.step.output == [1, 2]
    assert calls == [1, 2, 1, 2]
    assert run.types.count("MapStateStarted") == 2 and run.types.count("MapStateEntered") == 1


def test_siblings_of_a_failed_iteration_are_recorded_as_aborted() -> None:
    definition = chain(("Each", {"Type": "Map", "ItemProcessor": ITERATE}))
    from dockyard.asl import TaskFailed, advance, start
    from tests.asl.shell import CONTEXT, NOW

    step = start(definition, [1, 2], context=CONTEXT, now=NOW)
    failed = advance(step.state, [TaskFailed("Each/0/Work#1", "Boom", None)], now=NOW)
    assert [event.type for event in failed.events] == [
        "TaskFailed",
        "MapIterationFailed",
        "MapIterationAborted",
        "MapStateFailed",
        "ExecutionFailed",
    ]


def test_batches_respect_max_input_bytes() -> None:
    definition = chain(
        (
            "Each",
            {
                "Type": "Map",
                "ItemBatcher": {"MaxInputBytesPerBatch": 12},
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "OutputPath": "$.Items", "End": True}},
                },
            },
        )
    )
    assert execute(definition, ["aaaa", "bbbb", "cccc"]).step.output == [["aaaa", "bbbb"], ["cccc"]]


def test_item_reader_is_refused_with_a_clear_runtime_error() -> None:
    definition = chain(
        (
            "Each",
            {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket": "b", "Key": "k"},
                },
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            },
        )
    )
    run = execute(definition, {})
    assert run.step.error == "States.Runtime"
    assert "ItemReader" in (run.step.cause or "")


def test_maps_inside_maps_run_a_bounded_number_of_threads_and_all_finish() -> None:
    # 200 items of 100 each: 20,000 iterations of the inner Map, a thread each. They used to
    # start together (two distributed Maps of 1,000: a million threads and tasks at once).
    from dockyard.asl import StartTask, TaskSucceeded, advance, start
    from dockyard.asl.states.fanout import MAX_THREADS
    from tests.asl.shell import CONTEXT, NOW

    distributed = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    inner = {
        "ProcessorConfig": distributed,
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.r",
                "ItemProcessor": {**ITERATE, "ProcessorConfig": distributed},
                "ResultSelector": {"n.$": "States.ArrayLength($)"},
                "End": True,
            }
        },
    }
    outer = {
        "Type": "Map",
        "ItemSelector": {"r.$": "States.ArrayRange(1, 100, 1)"},
        "ItemProcessor": inner,
    }
    step = start(chain(("All", outer)), list(range(200)), context=CONTEXT, now=NOW)
    calls = 0
    while step.status == "RUNNING":
        tasks = [effect for effect in step.effects if isinstance(effect, StartTask)]
        assert 0 < len(tasks) <= MAX_THREADS
        done = [TaskSucceeded(task.task_id, 1) for task in tasks]
        step = advance(step.state, done, now=NOW)
        calls += 1
    assert step.status == "SUCCEEDED" and step.output == [{"n": 100}] * 200
    assert calls >= 2
