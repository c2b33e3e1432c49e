from __future__ import annotations

from typing import Any

import pytest
from optuna.trial import TrialState

from dockyard.api.tuning import TuningConfig
from dockyard.server.tuning._strategy import Searcher, TrialRecord


def config(**changes: Any) -> TuningConfig:
    body: dict[str, Any] = {
        "strategy": "Random",
        "objective": {"type": "Minimize", "metric_name": "loss"},
        "resource_limits": {"max_jobs": 20},
        "parameter_ranges": {
            "integer": [{"name": "depth", "min_value": 1, "max_value": 9}],
            "continuous": [
                {
                    "name": "momentum",
                    "min_value": 0.5,
                    "max_value": 0.999,
                    "scaling_type": "ReverseLogarithmic",
                }
            ],
            "categorical": [{"name": "booster", "values": ["a", "b"]}],
        },
        "random_seed": 3,
    }
    body.update(changes)
    return TuningConfig.model_validate(body)


def done(number: int, params: dict[str, Any], value: float, **kw: Any) -> TrialRecord:
    return TrialRecord(number, params, TrialState.COMPLETE, value, **kw)


def test_a_seeded_search_proposes_the_same_trials_when_rebuilt() -> None:
    first = Searcher(config(), "t").propose([], 0)
    again = Searcher(config(), "t").propose([], 0)
    assert first is not None and again is not None
    assert first.params == again.params
    assert 0.5 <= float(first.params["momentum"]) <= 0.999
    assert first.params["booster"] in ("a", "b")
    assert isinstance(first.params["depth"], int)
    other = Searcher(config(), "t").propose([], 1)
    assert other is not None and other.params != first.params


def test_a_random_point_depends_on_the_seed_and_number_alone() -> None:
    # What lets a Random search skip rebuilding the study of every trial so far.
    history = [done(i, {"depth": 1 + i % 9, "momentum": 0.6, "booster": "a"}, i) for i in range(50)]
    alone = Searcher(config(), "t").propose([], 50)
    with_history = Searcher(config(), "t").propose(history, 50)
    assert alone is not None and with_history is not None
    assert alone.params == with_history.params


def test_bayesian_and_gp_propose_inside_the_ranges() -> None:
    history = [
        done(i, {"depth": 1 + i % 9, "momentum": 0.6 + i * 0.01, "booster": "ab"[i % 2]}, i * 0.1)
        for i in range(12)
    ]
    for sampler in ("tpe", "gp"):
        searcher = Searcher(config(strategy="Bayesian", bayesian_sampler=sampler), "t")
        proposal = searcher.propose(history, 12)
        assert proposal is not None
        assert 1 <= int(proposal.params["depth"]) <= 9


def test_grid_visits_each_point_once_then_is_exhausted() -> None:
    grid = config(
        strategy="Grid",
        resource_limits={},
        parameter_ranges={
            "integer": [{"name": "depth", "min_value": 1, "max_value": 2}],
            "categorical": [{"name": "booster", "values": ["a", "b"]}],
        },
    )
    searcher = Searcher(grid, "t")
    records: list[TrialRecord] = []
    for number in range(4):
        proposal = searcher.propose(records, number)
        assert proposal is not None
        # Running trials count as visited: parallel trials never share a point.
        records.append(TrialRecord(number, proposal.params, TrialState.RUNNING))
    assert sorted((r.params["depth"], r.params["booster"]) for r in records) == [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
    ]
    assert searcher.propose(records, 4) is None


def test_median_rule_stops_a_trial_worse_than_the_median() -> None:
    searcher = Searcher(config(early_stopping="Auto"), "t")
    params = {"depth": 3, "momentum": 0.9, "booster": "a"}
    history = [done(i, params, 1.0, intermediate={0: 2.0, 1: 1.5, 2: 1.0}) for i in range(3)]
    good = TrialRecord(3, params, TrialState.RUNNING, intermediate={0: 1.9, 1: 1.4})
    bad = TrialRecord(4, params, TrialState.RUNNING, intermediate={0: 5.0, 1: 4.0})
    assert searcher.should_stop([*history, good, bad], 3)[0] is False
    assert searcher.should_stop([*history, good, bad], 4)[0] is True
    off = Searcher(config(), "t")
    assert off.should_stop([*history, bad], 4)[0] is False


def test_successive_halving_keeps_its_rungs_between_rebuilds() -> None:
    searcher = Searcher(config(strategy="Hyperband", hyperband={"min_resource": 1}), "t")
    params = {"depth": 3, "momentum": 0.9, "booster": "a"}
    records = [
        TrialRecord(i, params, TrialState.RUNNING, intermediate={0: float(i), 1: float(i)})
        for i in range(6)
    ]
    decisions: dict[int, bool] = {}
    for record in records:
        stop, attrs = searcher.should_stop(records, record.number)
        decisions[record.number] = stop
        assert any(key.startswith("completed_rung") for key in attrs)
        records[record.number] = TrialRecord(
            record.number,
            params,
            TrialState.RUNNING,
            intermediate=record.intermediate,
            system_attrs=attrs,
        )
    assert decisions[0] is False
    assert decisions[5] is True


def test_warm_start_trials_steer_the_bayesian_search() -> None:
    parents = [
        done(
            -1 - i, {"depth": 4, "momentum": 0.9, "booster": "a", "x": i / 19}, (i / 19 - 0.3) ** 2
        )
        for i in range(20)
    ]
    space = config(
        strategy="Bayesian",
        parameter_ranges={"continuous": [{"name": "x", "min_value": 0, "max_value": 1}]},
    )
    distances = []
    for seed in range(5):
        searcher = Searcher(space.model_copy(update={"random_seed": seed}), "t")
        proposal = searcher.propose(parents, 0)
        assert proposal is not None
        distances.append(abs(float(proposal.params["x"]) - 0.3))
    # Uniform proposals would sit 0.29 away on average; the parents point TPE at 0.3.
    assert sorted(distances)[2] < 0.1


def test_parents_outside_the_ranges_are_left_out() -> None:
    searcher = Searcher(config(strategy="Bayesian"), "t")
    outside = done(-1, {"depth": 40, "momentum": 0.9, "booster": "a"}, 0.0)
    unknown = done(-2, {"other": 1}, 0.0)
    assert searcher._frozen(outside) is None and searcher._frozen(unknown) is None
    assert searcher.propose([outside, unknown], 0) is not None


def test_importance_names_the_hyperparameter_that_matters() -> None:
    searcher = Searcher(config(), "t")
    assert searcher.importance([]) == {}
    records = [
        done(
            i,
            {"depth": 1 + (i * 7) % 9, "momentum": 0.6, "booster": "ab"[i % 2]},
            float((1 + (i * 7) % 9) ** 2),
        )
        for i in range(20)
    ]
    found = searcher.importance(records)
    assert max(found, key=lambda k: found[k]) == "depth"
    assert sum(found.values()) == pytest.approx(1.0)
