from __future__ import annotations

import pytest

from dockyard.asl.retry import delay_seconds, error_matches


@pytest.mark.parametrize(
    ("names", "error", "expected"),
    [
        (["States.ALL"], "Lambda.Unknown", True),
        (["States.ALL"], "States.Timeout", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.ALL"], "States.DataLimitExceeded", False),
        (["States.TaskFailed"], "States.DataLimitExceeded", False),
        (["States.DataLimitExceeded"], "States.DataLimitExceeded", True),
        (["A", "States.DataLimitExceeded"], "States.DataLimitExceeded", True),
        (["States.Runtime"], "States.Runtime", False),
        (["States.TaskFailed"], "CustomError", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.TaskFailed"], "States.HeartbeatTimeout", False),
        (["States.Timeout"], "States.HeartbeatTimeout", True),
        (["A", "B"], "B", True),
        (["A"], "B", False),
    ],
)
def test_error_equals(names: list[str], error: str, expected: bool) -> None:
    assert error_matches(names, error) is expected


def test_a_task_reporting_data_limit_exceeded_fails_as_any_task_does() -> None:
    # AWS records a Lambda result over the limit as the task's failure: States.ALL takes it
    assert error_matches(["States.ALL"], "States.DataLimitExceeded", task=True)
    assert error_matches(["States.TaskFailed"], "States.DataLimitExceeded", task=True)
    assert not error_matches(["States.ALL"], "States.Runtime", task=True)


def test_back_off_sequence_follows_the_documented_formula() -> None:
    # IntervalSeconds 3, BackoffRate 2, MaxAttempts 3: waits of 3, 6 and 12 seconds
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "BackoffRate": 2}
    assert [delay_seconds(retrier, n, seed=1, salt="x") for n in range(3)] == [3.0, 6.0, 12.0]
    defaults = {"ErrorEquals": ["States.ALL"]}
    assert [delay_seconds(defaults, n, seed=1, salt="x") for n in range(3)] == [1.0, 2.0, 4.0]
    capped = {"IntervalSeconds": 10, "BackoffRate": 3, "MaxDelaySeconds": 50}
    assert [delay_seconds(capped, n, seed=1, salt="x") for n in range(3)] == [10.0, 30.0, 50.0]


def test_a_delay_stops_growing_at_the_longest_timer() -> None:
    # A BackoffRate of 1e300 overflowed on the second retry (OverflowError out of the
    # interpreter); a large power of 2 made a delay no timer can hold.
    steep = {"IntervalSeconds": 1, "BackoffRate": 1e300}
    assert [delay_seconds(steep, n, seed=1, salt="x") for n in range(3)] == [
        1.0,
        99999999,
        99999999,
    ]
    long = {"IntervalSeconds": 99999999, "BackoffRate": 2.0}
    assert delay_seconds(long, 40, seed=1, salt="x") == 99999999


def test_full_jitter_draws_below_the_delay_reproducibly() -> None:
    retrier = {"IntervalSeconds": 10, "JitterStrategy": "FULL"}
    draws = [delay_seconds(retrier, 1, seed=7, salt=f"T#{n}") for n in range(20)]
    assert all(0 <= draw <= 20 for draw in draws)
    assert len(set(draws)) == 20
    assert draws == [delay_seconds(retrier, 1, seed=7, salt=f"T#{n}") for n in range(20)]
    assert draws != [delay_seconds(retrier, 1, seed=8, salt=f"T#{n}") for n in range(20)]
