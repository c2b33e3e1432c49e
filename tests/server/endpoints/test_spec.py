"""Endpoint configs as data: the rollout plan, and an update merged over the current config."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dockyard.api.endpoints import EndpointConfig, Rollout

CURRENT = EndpointConfig.model_validate(
    {
        "name": "wine",
        "variants": [{"name": "v1", "model_uri": "models:/wine/1"}],
        "shadow": {"name": "candidate", "model_uri": "models:/wine/2", "sampling_pct": 5},
        "capture": {"enabled": True, "sampling_pct": 20, "mode": "input"},
        "scaling": {"min_workers": 2, "max_workers": 4},
        "rollout": {
            "strategy": "canary",
            "canary_pct": 5,
            "bake_s": 300,
            "thresholds": {"max_p99_ms": 50, "min_requests": 100},
        },
        "require_api_key": True,
        "request_timeout_s": 10,
    }
)
NEW_MODEL = {"name": "wine", "variants": [{"name": "v2", "model_uri": "models:/wine/3"}]}


@pytest.mark.parametrize(
    ("rollout", "steps"),
    [
        ({}, [(1.0, 0.0)]),
        ({"final_bake_s": 30}, [(1.0, 30.0)]),
        ({"strategy": "canary", "canary_pct": 10, "bake_s": 60}, [(0.1, 60.0), (1.0, 0.0)]),
        (
            {"strategy": "canary", "bake_s": 60, "final_bake_s": 120},
            [(0.1, 60.0), (1.0, 120.0)],
        ),
        (
            {"strategy": "linear", "linear_steps": 4, "bake_s": 10},
            [(0.25, 10.0), (0.5, 10.0), (0.75, 10.0), (1.0, 0.0)],
        ),
    ],
    ids=["all-at-once", "all-at-once-final-bake", "canary", "canary-final-bake", "linear"],
)
def test_bake_holds_each_partial_step_and_100_percent_only_when_asked(
    rollout: dict[str, Any], steps: list[tuple[float, float]]
) -> None:
    assert Rollout.model_validate(rollout).steps() == steps


def test_the_plan_in_words() -> None:
    canary = Rollout(strategy="canary", canary_pct=10, bake_s=60)
    assert canary.describe() == "canary: 10% for 60 s, then 100%"
    final = Rollout(strategy="linear", linear_steps=2, bake_s=5, final_bake_s=20)
    assert final.describe() == "linear: 50% for 5 s, then 100% for 20 s"


def test_a_step_waits_for_traffic_twice_its_bake_unless_told() -> None:
    assert Rollout(bake_s=60).max_hold(60) == 120
    assert Rollout(bake_s=60, max_bake_s=90).max_hold(60) == 90
    with pytest.raises(ValidationError, match=r"max_bake_s \(30 s\) is shorter"):
        Rollout(strategy="canary", bake_s=60, max_bake_s=30)
    with pytest.raises(ValidationError, match="shorter than a step's bake"):
        Rollout(final_bake_s=60, max_bake_s=30)


def test_an_update_that_names_only_models_keeps_everything_else() -> None:
    merged = EndpointConfig.model_validate(NEW_MODEL).merged_over(CURRENT)
    assert [v.model_uri for v in merged.variants] == ["models:/wine/3"]
    expected = CURRENT.model_dump(exclude={"variants"})
    assert merged.model_dump(exclude={"variants"}) == expected


def test_a_section_changes_only_in_the_fields_given() -> None:
    update = EndpointConfig.model_validate(
        {
            **NEW_MODEL,
            "capture": {"sampling_pct": 5},
            "rollout": {"bake_s": 60, "thresholds": {"min_requests": 3}},
        }
    )
    merged = update.merged_over(CURRENT)
    assert merged.capture.enabled is True and merged.capture.mode == "input"
    assert merged.capture.sampling_pct == 5
    assert (merged.rollout.strategy, merged.rollout.canary_pct, merged.rollout.bake_s) == (
        "canary",
        5,
        60,
    )
    assert merged.rollout.thresholds.max_p99_ms == 50
    assert merged.rollout.thresholds.min_requests == 3


def test_turning_something_off_is_said_explicitly() -> None:
    update = EndpointConfig.model_validate(
        {**NEW_MODEL, "capture": {"enabled": False}, "shadow": None, "require_api_key": False}
    )
    merged = update.merged_over(CURRENT)
    assert merged.capture.enabled is False and merged.capture.sampling_pct == 20
    assert merged.shadow is None
    assert merged.require_api_key is False


def test_a_merge_that_breaks_a_rule_names_the_field() -> None:
    update = EndpointConfig.model_validate({**NEW_MODEL, "scaling": {"max_workers": 1}})
    with pytest.raises(ValidationError) as raised:
        update.merged_over(CURRENT)
    assert raised.value.errors()[0]["loc"] == ("scaling",)


def _worker_stats(by_status: dict[str, int], failed: int | None) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "requests": sum(by_status.values()),
        "by_status": by_status,
        "latency_s": {"bounds": [0.1], "counts": [sum(by_status.values()), 0]},
    }
    if failed is not None:
        stats["failed"] = failed
    return {"variants": {"v2": stats}}


def test_a_canary_whose_model_rejects_its_inputs_breaches_the_error_rate() -> None:
    from dockyard.api.endpoints import Thresholds
    from dockyard.server.endpoints._traffic import judge, totals

    # Inputs the model raised on are 400s now: the worker counts them as failed, and the
    # rollout reads that count (a worker without it, started earlier, counts its 5xx).
    thresholds = Thresholds(max_error_rate=0.1, min_requests=10)
    window = totals([_worker_stats({"200": 5, "400": 5}, failed=5)], ["v2"])
    assert window.failed == 5
    assert judge(window, thresholds) == "error rate 50.0% over 10 requests exceeds 10.0%"
    older = totals([_worker_stats({"200": 5, "400": 3, "500": 2}, failed=None)], ["v2"])
    assert older.failed == 2
